import { Option, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { ApplyFailed, applyDocument, validateApplyDoc, type ApplyResult, type ApplySummary } from '../apply.js';
import type { Eligibility, Principal, Role } from '../client.js';
import { clientFor, emit, isJson, parseIsoTime } from '../context.js';
import { usage } from '../errors.js';
import { isObject, readDocument } from '../files.js';
import { fields, fmtTime, note, out, printJson, str, table } from '../output.js';

export function registerAdmin(program: Command): void {
  registerRoles(program);
  registerPrincipals(program);
  registerEligibilities(program);
  registerApply(program);
}

function registerRoles(program: Command): void {
  const roles = program.command('roles').description('roles and their settings');

  roles
    .command('list', { isDefault: true })
    .description('list roles (the default)')
    .action(async (_o: unknown, cmd: Command) => {
      const res = await clientFor(cmd).listRoles();
      emit(cmd, res, () => printRoles(res.items));
    });

  roles
    .command('show')
    .description('show one role with its settings')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const role = await clientFor(cmd).getRole(id);
      emit(cmd, role, () => printRole(role));
    });

  roles
    .command('create')
    .description('create a role from a YAML/JSON file or from flags (flags override the file)')
    .option('-f, --file <file>', 'role document: {id, name, riskTier, description?, settings?}')
    .option('--id <id>')
    .option('--name <name>')
    .addOption(new Option('--risk-tier <tier>').choices(['low', 'medium', 'high', 'critical']))
    .option('--description <text>')
    .option('--settings <json>', 'role settings as JSON, e.g. \'{"maxActivation":"PT2H"}\'')
    .action(async (o: { file?: string; id?: string; name?: string; riskTier?: string; description?: string; settings?: string }, cmd: Command) => {
      let body: Record<string, unknown> = {};
      if (o.file) {
        const doc = readDocument(o.file);
        if (!isObject(doc)) throw usage('invalid_file', `${o.file} must hold one role as a mapping`);
        body = { ...doc };
      }
      if (o.id !== undefined) body.id = o.id;
      if (o.name !== undefined) body.name = o.name;
      if (o.riskTier !== undefined) body.riskTier = o.riskTier;
      if (o.description !== undefined) body.description = o.description;
      if (o.settings !== undefined) {
        let s: unknown;
        try {
          s = JSON.parse(o.settings);
        } catch {
          throw usage('invalid_settings', '--settings must be a JSON object');
        }
        if (!isObject(s)) throw usage('invalid_settings', '--settings must be a JSON object');
        body.settings = s;
      }
      if (body.id === undefined || body.name === undefined) throw usage('missing_option', 'give --file, or at least --id and --name');
      const role = await clientFor(cmd).createRole(body);
      emit(cmd, role, () => out(`created role ${role.id} (${str(role.riskTier)})`));
    });
}

function printRoles(items: Role[]): void {
  table(
    items.map((r) => {
      const approval = (r.settings?.approval ?? {}) as { required?: boolean };
      return {
        id: r.id,
        name: r.name,
        tier: str(r.riskTier),
        max: str(r.settings?.maxActivation),
        approval: approval.required ? 'required' : 'no',
      };
    }),
    [
      ['id', 'ID'],
      ['name', 'NAME'],
      ['tier', 'RISK'],
      ['max', 'MAX ACTIVATION'],
      ['approval', 'APPROVAL'],
    ],
  );
}

function printRole(r: Role): void {
  fields([
    ['id', r.id],
    ['name', r.name],
    ['risk tier', str(r.riskTier)],
    ...(r.description ? [['description', r.description] as [string, string]] : []),
    ...(r.builtin ? [['builtin', 'yes'] as [string, string]] : []),
  ]);
  out('settings:');
  out(
    toYaml(r.settings ?? {})
      .trimEnd()
      .split('\n')
      .map((l) => '  ' + l)
      .join('\n'),
  );
}

function registerPrincipals(program: Command): void {
  const principals = program.command('principals').description('users, groups and service principals');

  principals
    .command('list', { isDefault: true })
    .description('list principals (the default)')
    .addOption(new Option('--kind <kind>').choices(['user', 'group', 'service']))
    .action(async (o: { kind?: string }, cmd: Command) => {
      const res = await clientFor(cmd).listPrincipals({ kind: o.kind });
      emit(cmd, res, () => printPrincipals(res.items));
    });

  principals
    .command('create')
    .description('create a principal')
    .requiredOption('--id <id>')
    .addOption(new Option('--kind <kind>').choices(['user', 'group', 'service']).makeOptionMandatory())
    .requiredOption('--name <name>')
    .option('--email <email>')
    .option('--manager <principalId>')
    .option('--admin-unit <unit>')
    .action(async (o: { id: string; kind: string; name: string; email?: string; manager?: string; adminUnit?: string }, cmd: Command) => {
      const body: Record<string, unknown> = { id: o.id, kind: o.kind, name: o.name };
      if (o.email !== undefined) body.email = o.email;
      if (o.manager !== undefined) body.managerId = o.manager;
      if (o.adminUnit !== undefined) body.adminUnit = o.adminUnit;
      const p = await clientFor(cmd).createPrincipal(body);
      emit(cmd, p, () => out(`created ${p.kind} ${p.id}`));
    });

  program
    .command('tokens')
    .description('API tokens')
    .command('create')
    .description('create an API token for a principal; the token is printed once, on stdout, and never again')
    .argument('<principalId>')
    .option('--name <name>', 'a label for the token')
    .action(async (principalId: string, o: { name?: string }, cmd: Command) => {
      const res = await clientFor(cmd).createToken(principalId, o.name !== undefined ? { name: o.name } : {});
      if (isJson(cmd)) {
        printJson(res);
        return;
      }
      // The notice goes to stderr so that `T=$(elevate tokens create bob)` captures only the token.
      note(`token ${res.id} for ${principalId} created. It is shown only this once; store it now.`);
      out(res.token);
    });

  program
    .command('groups')
    .description('group membership')
    .command('set-members')
    .description("replace a group's members")
    .argument('<groupId>')
    .argument('<member...>')
    .action(async (groupId: string, members: string[], _o: unknown, cmd: Command) => {
      const res = await clientFor(cmd).setGroupMembers(groupId, members);
      emit(cmd, res ?? { id: groupId, members }, () => out(`group ${groupId} now has ${members.length} member${members.length === 1 ? '' : 's'}: ${members.join(', ')}`));
    });
}

function printPrincipals(items: Principal[]): void {
  table(
    items.map((p) => ({ id: p.id, kind: p.kind, name: p.name, email: str(p.email), manager: str(p.managerId), unit: str(p.adminUnit), status: str(p.status) })),
    [
      ['id', 'ID'],
      ['kind', 'KIND'],
      ['name', 'NAME'],
      ['email', 'EMAIL'],
      ['manager', 'MANAGER'],
      ['unit', 'ADMIN UNIT'],
      ['status', 'STATUS'],
    ],
  );
}

export function printEligibilities(items: Eligibility[], withPrincipal: boolean): void {
  table(
    items.map((e) => ({
      id: e.id,
      principal: e.principalId,
      role: e.roleId,
      scope: e.scope,
      starts: fmtTime(e.startsAt),
      ends: fmtTime(e.endsAt, 'permanent'),
    })),
    [
      ['id', 'ID'],
      ...(withPrincipal ? [['principal', 'PRINCIPAL'] as [string, string]] : []),
      ['role', 'ROLE'],
      ['scope', 'SCOPE'],
      ['starts', 'STARTS'],
      ['ends', 'ENDS'],
    ],
  );
}

function registerEligibilities(program: Command): void {
  program
    .command('eligible')
    .description('the roles you may activate, and where')
    .action(async (_o: unknown, cmd: Command) => {
      const res = await clientFor(cmd).listEligibilities({ mine: true });
      emit(cmd, res, () => printEligibilities(res.items, false));
    });

  const elig = program.command('eligibilities').description('who may activate which role where (administration)');

  elig
    .command('list', { isDefault: true })
    .description('list eligibilities (the default)')
    .option('--principal <id>')
    .option('--role <id>')
    .action(async (o: { principal?: string; role?: string }, cmd: Command) => {
      const res = await clientFor(cmd).listEligibilities({ principal: o.principal, role: o.role });
      emit(cmd, res, () => printEligibilities(res.items, true));
    });

  elig
    .command('create')
    .description('make a principal eligible for a role at a scope')
    .requiredOption('--principal <id>')
    .requiredOption('--role <id>')
    .requiredOption('--scope <scope>')
    .option('--ends-at <iso>', 'when the eligibility ends (default: permanent, where the role allows it)')
    .requiredOption('--reason <text>', 'justification, recorded in the audit log')
    .action(async (o: { principal: string; role: string; scope: string; endsAt?: string; reason: string }, cmd: Command) => {
      const body = {
        principalId: o.principal,
        roleId: o.role,
        scope: o.scope,
        endsAt: o.endsAt !== undefined ? parseIsoTime(o.endsAt, '--ends-at') : null,
        justification: o.reason,
      };
      const e = await clientFor(cmd).createEligibility(body);
      emit(cmd, e, () => out(`${e.principalId} is eligible for ${e.roleId} at ${e.scope} ${e.endsAt ? `until ${fmtTime(e.endsAt)}` : 'permanently'} (${e.id})`));
    });
}

function registerApply(program: Command): void {
  program
    .command('apply')
    .description('create principals, groups, roles and eligibilities from one YAML/JSON document, in that order')
    .requiredOption('-f, --file <file>', 'document with optional lists: principals, groups ({id, members}), roles, eligibilities')
    .action(async (o: { file: string }, cmd: Command) => {
      const doc = validateApplyDoc(readDocument(o.file), o.file);
      const client = clientFor(cmd);
      const json = isJson(cmd);
      const onResult = (r: ApplyResult): void => {
        if (!json) out(resultLine(r));
      };
      try {
        const summary = await applyDocument(client, doc, onResult);
        emit(cmd, summary, () => out(summaryLine(summary)));
      } catch (e) {
        if (e instanceof ApplyFailed && !json) out(summaryLine(e.summary) + ' (stopped at the first error)');
        throw e;
      }
    });
}

function resultLine(r: ApplyResult): string {
  const what = r.section === 'eligibilities' ? 'eligibility' : r.section.replace(/s$/, '');
  switch (r.outcome) {
    case 'created':
      return `created  ${what} ${r.id}`;
    case 'updated':
      return `set      ${what} ${r.id} members`;
    case 'exists':
      return `exists   ${what} ${r.id} (skipped)`;
    case 'failed':
      return `FAILED   ${what} ${r.id}: ${r.error?.message ?? ''} [${r.error?.code ?? ''}]`;
  }
}

function summaryLine(s: ApplySummary): string {
  const parts = Object.entries(s.counts)
    .filter(([, c]) => Object.keys(c).length > 0)
    .map(([section, c]) => `${section}: ${Object.entries(c).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  return parts.length ? `applied: ${parts.join('; ')}` : 'nothing to apply';
}
