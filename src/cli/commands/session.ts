import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ElevateClient } from '../client.js';
import { DEFAULT_URL, configPath, normalizeUrl, readConfig, writeConfig } from '../config.js';
import { clientFor, emit, version } from '../context.js';
import { usage } from '../errors.js';
import { fields, note, out, str } from '../output.js';

export function registerSession(program: Command): void {
  program
    .command('server')
    .description('run the Elevate server in this process (configured by its own environment variables)')
    .action(async () => {
      // Resolved at run time so the CLI never loads server code unless asked to. The module listens when imported.
      await import(new URL('../../server/main.js', import.meta.url).href);
    });

  program
    .command('login')
    .description('store the server URL and an API token in the config file (mode 0600)')
    .option('--url <url>', `server URL (default: $ELEVATE_URL, the stored URL, or ${DEFAULT_URL})`)
    .requiredOption('--token <token>', 'API token; "-" reads it from standard input (keeps it out of shell history)')
    .option('--no-verify', 'store without asking the server who the token belongs to')
    .action(async (o: { url?: string; token: string; verify: boolean }, cmd: Command) => {
      const path = configPath();
      const stored = readConfig(path);
      const url = normalizeUrl(o.url ?? process.env.ELEVATE_URL ?? stored.url ?? DEFAULT_URL);
      const token = (o.token === '-' ? readFileSync(0, 'utf8') : o.token).trim();
      if (!token) throw usage('missing_token', 'the token is empty');
      let principal: unknown = null;
      if (o.verify) {
        const me = await new ElevateClient({ baseUrl: url, token, userAgent: `elevate-cli/${version()}` }).me();
        principal = me.principal;
      }
      writeConfig(path, { url, token });
      if (process.env.ELEVATE_TOKEN) note('note: ELEVATE_TOKEN is set in the environment and overrides the stored token');
      emit(cmd, { url, configPath: path, verified: o.verify, principal }, () => {
        const who = principal as { id?: string; kind?: string } | null;
        out(who ? `logged in to ${url} as ${str(who.id)} (${str(who.kind)})` : `stored ${url} (token not verified)`);
        out(`config: ${path}`);
      });
    });

  program
    .command('whoami')
    .description('show the principal the token authenticates as')
    .action(async (_o: unknown, cmd: Command) => {
      const me = await clientFor(cmd).me();
      emit(cmd, me, () => {
        const p = me.principal;
        fields([
          ['principal', p.id],
          ['kind', p.kind],
          ['name', p.name],
          ...(p.email ? [['email', String(p.email)] as [string, string]] : []),
          ['auth', str(me.auth?.method)],
        ]);
      });
    });
}
