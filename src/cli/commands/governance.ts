import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Option, type Command } from 'commander';
import type { Alert, AlertSeverity, AlertStatus, Campaign, ReviewDecision, ReviewItem } from '../client.js';
import { clientFor, emit, isJson, parsePositiveInt } from '../context.js';
import { CliError, EXIT, usage } from '../errors.js';
import { fmtTime, note, out, printJson, str, table } from '../output.js';
import { Counter, timeBound } from './audit.js';

/** Governance: access reviews, detection alerts and the evidence report. */
export function registerGovernance(program: Command): void {
  registerReviews(program);
  registerAlerts(program);
  registerReport(program);
}

/**
 * A download (CSV, JSON, HTML) as received: to stdout, or to a file with a one-line summary (on
 * stderr; with --json, `{file, lines, bytes, …extra}` on stdout).
 */
async function download(cmd: Command, res: Response, output: string | undefined, extra: Record<string, unknown> = {}): Promise<void> {
  if (!res.body) throw new CliError(EXIT.error, 'bad_response', 'the server sent an empty document');
  const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  if (output === undefined) {
    await pipeline(body, process.stdout, { end: false });
    return;
  }
  const c = new Counter();
  await pipeline(body, c, createWriteStream(output));
  if (isJson(cmd)) printJson({ file: output, lines: c.lines, bytes: c.bytes, ...extra });
  else note(`wrote ${c.lines} line${c.lines === 1 ? '' : 's'} (${c.bytes} bytes) to ${output}`);
}

function printCampaigns(items: Campaign[]): void {
  table(
    items.map((c) => ({
      id: c.id,
      status: c.status,
      decided: `${c.counts.decided}/${c.counts.total}`,
      denied: String(c.counts.denied),
      ends: fmtTime(c.endsAt),
      name: c.name,
    })),
    [
      ['id', 'ID'],
      ['status', 'STATUS'],
      ['decided', 'DECIDED'],
      ['denied', 'DENIED'],
      ['ends', 'ENDS'],
      ['name', 'NAME'],
    ],
  );
}

/** What is reviewed: an eligibility, a time-bound assignment, or standing access (a permanent one). */
function accessOf(i: ReviewItem): string {
  if (i.subject.kind === 'eligibility') return 'eligible';
  return i.standing ? 'standing' : 'assigned';
}

function decisionOf(i: ReviewItem): string {
  if (i.decision) return `${i.decision.decision} (${i.decision.by})`;
  if (i.finalDecision) return `${i.finalDecision}${i.byDefault ? ' (default)' : ''}`;
  return 'pending';
}

function printItems(items: ReviewItem[]): void {
  table(
    items.map((i) => ({
      id: i.id,
      principal: i.principalId,
      role: i.roleId,
      scope: i.scope,
      access: accessOf(i),
      recommended: str(i.recommendation?.decision),
      decision: decisionOf(i),
      outcome: str(i.outcome),
    })),
    [
      ['id', 'ID'],
      ['principal', 'PRINCIPAL'],
      ['role', 'ROLE'],
      ['scope', 'SCOPE'],
      ['access', 'ACCESS'],
      ['recommended', 'RECOMMENDED'],
      ['decision', 'DECISION'],
      ['outcome', 'OUTCOME'],
    ],
  );
}

function registerReviews(program: Command): void {
  const reviews = program.command('reviews').description('access reviews: campaigns, your review queue, decisions');

  reviews
    .command('list', { isDefault: true })
    .description('list campaigns (the default): every one for administrators, else those where you review something')
    .action(async (_o: unknown, cmd: Command) => {
      const res = await clientFor(cmd).listReviews();
      emit(cmd, res, () => printCampaigns(res.items));
    });

  reviews
    .command('items')
    .description("a campaign's items with recommendations and decisions (reviewers see their own queue)")
    .argument('<campaignId>')
    .option('--mine', 'only the items you review (always so unless you are an administrator)')
    .option('--pending', 'only items not decided yet')
    .action(async (id: string, o: { mine?: boolean; pending?: boolean }, cmd: Command) => {
      const res = await clientFor(cmd).reviewItems(id, { ...(o.mine ? { mine: true } : {}), ...(o.pending ? { status: 'pending' as const } : {}) });
      emit(cmd, res, () => printItems(res.items));
    });

  reviews
    .command('decide')
    .description('approve (keep) or deny (remove at the end) one item, or several at once: all of them or, if any one is refused, none')
    .argument('<campaignId>')
    .argument('<itemId...>', 'one or more item ids')
    .addOption(new Option('--approve', 'keep the access').conflicts('deny'))
    .addOption(new Option('--deny', 'remove the access when the campaign ends').conflicts('approve'))
    .requiredOption('--reason <text>', 'why; recorded in the audit log')
    .action(async (id: string, itemIds: string[], o: { approve?: boolean; deny?: boolean; reason: string }, cmd: Command) => {
      if (!o.approve && !o.deny) throw usage('missing_option', 'say --approve or --deny');
      const decision: ReviewDecision = o.approve ? 'approve' : 'deny';
      const verb = o.approve ? 'approved' : 'denied';
      const ids = [...new Set(itemIds)];
      const client = clientFor(cmd);
      if (ids.length === 1) {
        const item = await client.decideReviewItem(id, ids[0]!, decision, o.reason);
        emit(cmd, item, () => out(`${verb} item ${item.id}: ${item.principalId} ${item.roleId} at ${item.scope}`));
        return;
      }
      const res = await client.decideReviewItems(id, ids, decision, o.reason);
      emit(cmd, res, () => {
        out(`${verb} ${res.items.length} items`);
        for (const item of res.items) out(`  - ${item.id}: ${item.principalId} ${item.roleId} at ${item.scope}`);
      });
    });

  reviews
    .command('export')
    .description('the items with decisions and outcomes, for auditors (administrators)')
    .argument('<campaignId>')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (id: string, o: { format: 'csv' | 'json'; output?: string }, cmd: Command) => {
      const res = await clientFor(cmd).reviewExport(id, o.format);
      await download(cmd, res, o.output, { format: o.format });
    });
}

function printAlerts(items: Alert[]): void {
  table(
    items.map((a) => ({
      id: a.id,
      severity: a.severity,
      status: a.status,
      rule: a.rule,
      principals: str(a.principals),
      role: str(a.roleId),
      scope: str(a.scope),
      count: String(a.count),
      last: fmtTime(a.lastSeenAt),
      title: a.title,
    })),
    [
      ['id', 'ID'],
      ['severity', 'SEVERITY'],
      ['status', 'STATUS'],
      ['rule', 'RULE'],
      ['principals', 'PRINCIPALS'],
      ['role', 'ROLE'],
      ['scope', 'SCOPE'],
      ['count', 'COUNT'],
      ['last', 'LAST SEEN'],
      ['title', 'TITLE'],
    ],
  );
}

function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('alerts raised by the detection rules (administrators)');

  alerts
    .command('list', { isDefault: true })
    .description('list alerts (the default), most recently seen first')
    .addOption(new Option('--status <status>').choices(['open', 'acknowledged', 'resolved']))
    .addOption(new Option('--severity <severity>').choices(['low', 'medium', 'high', 'critical']))
    .option('--rule <rule>', 'one detection rule, e.g. direct_assignment')
    .option('--limit <n>', 'at most this many alerts')
    .action(async (o: { status?: AlertStatus; severity?: AlertSeverity; rule?: string; limit?: string }, cmd: Command) => {
      const query = {
        status: o.status,
        severity: o.severity,
        rule: o.rule,
        limit: o.limit !== undefined ? parsePositiveInt(o.limit, '--limit', 1000) : undefined,
      };
      const res = await clientFor(cmd).listAlerts(query);
      emit(cmd, res, () => printAlerts(res.items));
    });

  alerts
    .command('ack')
    .description('acknowledge an open alert (audited)')
    .argument('<id>')
    .option('--note <text>', 'what is being done about it')
    .action(async (id: string, o: { note?: string }, cmd: Command) => {
      const a = await clientFor(cmd).acknowledgeAlert(id, o.note);
      emit(cmd, a, () => out(`acknowledged alert ${a.id}: ${a.title}`));
    });

  alerts
    .command('resolve')
    .description('resolve an alert with a note (audited); a later finding opens a new alert')
    .argument('<id>')
    .requiredOption('--note <text>', 'what was found or done')
    .action(async (id: string, o: { note: string }, cmd: Command) => {
      const a = await clientFor(cmd).resolveAlert(id, o.note);
      emit(cmd, a, () => out(`resolved alert ${a.id}: ${a.title}`));
    });
}

function registerReport(program: Command): void {
  const report = program.command('report').description('reports for auditors');

  report
    .command('evidence')
    .description('every assignment held in [from, to) with its justification and approvals (administrators; audited)')
    .requiredOption('--from <time>', 'start, inclusive: ISO 8601, or a duration ago such as 90d')
    .requiredOption('--to <time>', 'end, exclusive: ISO 8601, or a duration ago')
    .option('--role <id>', 'only this role')
    .addOption(new Option('--min-tier <tier>', 'only roles of this risk tier or above').choices(['low', 'medium', 'high', 'critical']))
    .addOption(new Option('--format <format>', 'json, csv, or html (a printable page)').choices(['json', 'csv', 'html']).default('json'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (o: { from: string; to: string; role?: string; minTier?: string; format: 'json' | 'csv' | 'html'; output?: string }, cmd: Command) => {
      const from = timeBound(o.from, '--from');
      const to = timeBound(o.to, '--to');
      if (Date.parse(from) >= Date.parse(to)) throw usage('invalid_period', '--from must be before --to', { flag: '--to' });
      const res = await clientFor(cmd).evidenceExport({ from, to, ...(o.role !== undefined ? { roleId: o.role } : {}), ...(o.minTier !== undefined ? { minTier: o.minTier } : {}) }, o.format);
      const head = res.headers.get('x-elevate-audit-head');
      await download(cmd, res, o.output, { format: o.format, ...(head ? { auditHead: head } : {}) });
    });
}
