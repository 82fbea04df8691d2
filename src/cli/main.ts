import { Command, CommanderError } from 'commander';
import { ApplyFailed } from './apply.js';
import { ApiError } from './client.js';
import { registerAccess } from './commands/access.js';
import { registerAdmin } from './commands/admin.js';
import { registerAudit } from './commands/audit.js';
import { registerGovernance } from './commands/governance.js';
import { registerSession } from './commands/session.js';
import { version } from './context.js';
import { describeError, EXIT } from './errors.js';
import { note, printJson, reasonLines } from './output.js';

/**
 * `elevate`: a thin client over the HTTP API. Every command takes --json (raw JSON results, errors
 * as {"error":{…}} on stdout) and the exit status means something:
 *   0 ok · 1 error · 2 usage · 3 denied · 4 still pending after activate --wait
 */

/** --json is known before commander has parsed anything, so that usage errors can be JSON too. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

export function buildProgram(json: boolean): Command {
  const program = new Command('elevate');
  program
    .description('Elevate: just-in-time privileged access')
    .version(version(), '-V, --version')
    .option('--json', 'print raw JSON results (errors as {"error":{…}} on stdout)')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      // With --json, usage errors are printed once, as JSON, by main(); commander stays quiet.
      outputError: (str, write) => {
        if (!json) write(str);
      },
    })
    .addHelpText(
      'after',
      `
Configuration: ELEVATE_URL (default http://127.0.0.1:8080) and ELEVATE_TOKEN, or \`elevate login\`
(stored in $ELEVATE_CONFIG or ~/.config/elevate/config.json); the environment wins over the file.

Exit status: 0 ok, 1 error, 2 usage, 3 denied, 4 still pending after activate --wait.`,
    );
  // Settings above (exitOverride, output) are copied to every subcommand created from here on.
  registerSession(program);
  registerAdmin(program);
  registerAccess(program);
  registerAudit(program);
  registerGovernance(program);
  return program;
}

function printHumanError(e: unknown, code: string, message: string, details: Record<string, unknown>): void {
  if (e instanceof ApiError && e.status === 403) {
    note(`denied: ${message}`);
    for (const r of reasonLines(details.reasons)) note(`  - ${r}`);
    return;
  }
  note(`error: ${message} [${code}]`);
  if (typeof details.field === 'string') note(`  field: ${details.field}`);
  for (const r of reasonLines(details.reasons)) if (r !== code) note(`  - ${r}`);
  if (code === 'unreachable') note('  is the server running? start one with `elevate server`, or set ELEVATE_URL');
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // `elevate audit export | head`: a reader that stops early is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const json = wantsJson(argv.slice(2));
  const program = buildProgram(json);
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; anything else commander refuses is usage.
      if (e.exitCode === 0) {
        process.exitCode = EXIT.ok;
        return;
      }
      process.exitCode = EXIT.usage;
      if (json) printJson({ error: { code: 'usage', message: e.message.replace(/^error:\s*/, ''), details: { reason: e.code } } });
      return;
    }
    const inner = e instanceof ApplyFailed ? e.error : e;
    const { exitCode, body } = describeError(inner);
    process.exitCode = exitCode;
    if (json) {
      printJson(e instanceof ApplyFailed ? { error: body, ...e.summary } : { error: body });
    } else {
      printHumanError(inner, body.code, body.message, body.details);
    }
  }
}

await main();
