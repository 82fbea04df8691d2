/** Dependencies point inward: core ← app ← (storage, server, cli, jobs, adapters); web → cli/client.ts only. */
module.exports = {
  forbidden: [
    { name: 'core-is-pure', severity: 'error', comment: 'core imports nothing outside itself (no I/O, no frameworks)',
      from: { path: '^src/core' }, to: { pathNot: ['^src/core', '^node:crypto$', '^crypto$'] } },
    { name: 'app-uses-core-only', severity: 'error', comment: 'use cases depend on core and on narrow ports they declare, not on adapters or frameworks',
      from: { path: '^src/app' }, to: { path: '^src/(storage|server|cli|jobs|adapters)' } },
    { name: 'adapters-are-independent', severity: 'error', comment: 'an adapter never imports another adapter',
      from: { path: '^src/adapters/([^/]+)/' }, to: { path: '^src/adapters/([^/]+)/', pathNot: '^src/adapters/$1/' } },
    { name: 'storage-not-upward', severity: 'error', from: { path: '^src/storage' }, to: { path: '^src/(server|cli|jobs|adapters)' } },
    { name: 'cli-talks-http-only', severity: 'error', comment: 'the CLI is a thin client over the API (it may start the server)',
      from: { path: '^src/cli' }, to: { path: '^src/(storage|app|jobs|adapters)' } },
    { name: 'web-uses-the-api-only', severity: 'error', comment: 'the portal talks to the server over HTTP through the typed client the CLI uses; it imports no server code',
      from: { path: '^web/' }, to: { pathNot: ['^web/', '^src/cli/client\\.ts$', '^node_modules/'] } },
    { name: 'web-no-node-builtins', severity: 'error', comment: 'the portal runs in the browser',
      from: { path: '^web/src/' }, to: { dependencyTypes: ['core'] } },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
