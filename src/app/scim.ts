import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Conflict, Forbidden, Invalid, NotFound, Unauthenticated } from '../core/errors.js';
import { ID_PATTERN, normalizeId, RESERVED_PRINCIPAL_IDS } from '../core/ids.js';
import type { Principal, PrincipalKind } from '../core/model.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import { cleanEmail, directoryWrites, hashToken, type PrincipalPatch } from './directory.js';
import { endAssignment } from './grants.js';
import { lockAdmins } from './holders.js';
import type { ScimToken, Tx } from './ports.js';
import { normalizeUsername } from './sessions.js';

/**
 * SCIM 2.0 provisioning (RFC 7643/7644): users and groups pushed by an identity provider.
 *
 * A SCIM User is a principal of kind `user`, a SCIM Group one of kind `group`; the SCIM `id` IS the
 * principal id. userName is the sign-in name (identity link `username`, normalized as password
 * sign-in normalizes it), externalId the IdP's stable id (identity link `scim_external`, which OIDC
 * sign-in also follows). Every write goes through the directory's own writes (create, update,
 * suspend, delete, set members: manager checks, cycle checks, last-admin lockout) in one
 * transaction with its audit events; deactivation (active=false) also revokes every live grant,
 * cancels pending requests and ends every session, in that same transaction.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId' | 'identity'>;
type Json = Record<string, unknown>;

export const SCIM_TOKEN_PREFIX = 'scim_';

export const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  spc: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

/** SCIM error types (RFC 7644 §3.12); a domain error whose code is one of these keeps it as its scimType. */
export const SCIM_TYPES: ReadonlySet<string> = new Set(['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'invalidVers', 'sensitive']);

export const MAX_RESULTS = 200;
const DEFAULT_COUNT = 100;
/** Ids SCIM never derives: the SCIM actor's own name and the system's. */
/** What a SCIM write records with the directory's events. */
const VIA = { via: 'scim' } as const;

const bad = (scimType: string, detail: string) => new Invalid(scimType, detail);

// ================================================================== attribute names

const KNOWN_NAMES = [
  'schemas', 'id', 'externalId', 'meta', 'userName', 'name', 'formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix',
  'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'password', 'emails', 'phoneNumbers',
  'ims', 'photos', 'addresses', 'groups', 'entitlements', 'roles', 'x509Certificates', 'value', 'display', 'type', 'primary', '$ref', 'members', 'manager',
  'employeeNumber', 'costCenter', 'organization', 'division', 'department', 'resourceType', 'created', 'lastModified', 'location', 'version',
  'streetAddress', 'locality', 'region', 'postalCode', 'country', 'Operations', 'op', 'path',
];
const CANON = new Map(KNOWN_NAMES.map((n) => [n.toLowerCase(), n]));
const URNS = [SCHEMA.user, SCHEMA.group, SCHEMA.enterprise] as const;
const MULTI_VALUED = new Set(['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'groups', 'entitlements', 'roles', 'x509Certificates', 'members', 'schemas']);
/** Compared exactly; every other string attribute compares without case (RFC 7643 caseExact). */
const CASE_EXACT = new Set(['id', 'externalId', '$ref', 'value']);
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 16;

/** Attribute names are case-insensitive: known ones are spelled one way from here on. */
function canonKey(k: string): string {
  const lower = k.toLowerCase();
  for (const u of URNS) if (lower === u.toLowerCase()) return u;
  return CANON.get(lower) ?? k;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of parsed JSON with canonical attribute names (and a bounded depth: nothing recurses without end). */
function canon(v: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw bad('invalidSyntax', 'the document is nested too deeply');
  if (Array.isArray(v)) return v.map((x) => canon(x, depth + 1));
  if (!isObj(v)) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) {
    if (FORBIDDEN_NAMES.has(k)) continue;
    out[canonKey(k)] = canon(x, depth + 1);
  }
  return out;
}

/** An own attribute, its name compared without case. */
function getKey(o: Json, name: string): unknown {
  if (Object.hasOwn(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function keyOf(o: Json, name: string): string {
  if (Object.hasOwn(o, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(o).find((k) => k.toLowerCase() === lower) ?? name;
}

// ================================================================== filters (RFC 7644 §3.4.2.2)

export interface AttrPath {
  /** The extension schema the attribute belongs to; null for the resource's core schema. */
  urn: string | null;
  /** The attribute and an optional sub-attribute. */
  names: string[];
}

type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type Filter =
  | { op: 'and' | 'or'; l: Filter; r: Filter }
  | { op: 'not'; f: Filter }
  | { op: 'pr'; path: AttrPath }
  | { op: CompareOp; path: AttrPath; value: string | number | boolean | null }
  | { op: 'vp'; path: AttrPath; f: Filter };

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Tok = { t: '(' | ')' | '[' | ']' } | { t: 'str'; v: string } | { t: 'word'; v: string };

function tokenize(s: string, what: 'invalidFilter' | 'invalidPath'): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      out.push({ t: c });
      i++;
    } else if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(s.slice(i));
      if (!m) throw bad(what, 'unterminated string');
      let v: unknown;
      try {
        v = JSON.parse(m[0]);
      } catch {
        throw bad(what, `bad string ${m[0].slice(0, 40)}`);
      }
      out.push({ t: 'str', v: v as string });
      i += m[0].length;
    } else {
      const m = /^[^\s()[\]"]+/.exec(s.slice(i))!;
      out.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
    if (out.length > 200) throw bad(what, 'the expression is too long');
  }
  return out;
}

/** `urn:...:User:name.givenName`, `emails.value`, `userName`: the schema, attribute and sub-attribute. */
export function parseAttrPath(raw: string, coreUrn: string, what: 'invalidFilter' | 'invalidPath' = 'invalidPath'): AttrPath {
  let urn: string | null = null;
  let rest = raw;
  if (/^urn:/i.test(raw)) {
    const lower = raw.toLowerCase();
    const known = URNS.find((u) => lower.startsWith(u.toLowerCase() + ':'));
    if (known) {
      urn = known;
      rest = raw.slice(known.length + 1);
    } else {
      const at = raw.lastIndexOf(':');
      urn = raw.slice(0, at);
      rest = raw.slice(at + 1);
    }
    if (urn === coreUrn) urn = null;
  }
  const names = rest.split('.');
  if (names.length > 2 || names.some((n) => !/^[A-Za-z$][\w$-]{0,63}$/.test(n) || FORBIDDEN_NAMES.has(n))) throw bad(what, `bad attribute path ${JSON.stringify(raw.slice(0, 80))}`);
  return { urn, names: names.map(canonKey) };
}

class FilterParser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly coreUrn: string,
    private readonly what: 'invalidFilter' | 'invalidPath',
  ) {}

  private peekWord(): string | null {
    const t = this.toks[this.i];
    return t && t.t === 'word' ? t.v.toLowerCase() : null;
  }
  private expect(t: '(' | ')' | '[' | ']'): void {
    if (this.toks[this.i]?.t !== t) throw bad(this.what, `expected ${t}`);
    this.i++;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  next(): Tok | undefined {
    return this.toks[this.i++];
  }
  peek(): Tok | undefined {
    return this.toks[this.i];
  }

  or(): Filter {
    if (++this.depth > 20) throw bad(this.what, 'the filter is nested too deeply');
    let l = this.and();
    while (this.peekWord() === 'or') {
      this.i++;
      l = { op: 'or', l, r: this.and() };
    }
    this.depth--;
    return l;
  }
  private and(): Filter {
    let l = this.unary();
    while (this.peekWord() === 'and') {
      this.i++;
      l = { op: 'and', l, r: this.unary() };
    }
    return l;
  }
  private unary(): Filter {
    const t = this.toks[this.i];
    if (!t) throw bad(this.what, 'the filter ends too early');
    if (t.t === 'word' && t.v.toLowerCase() === 'not' && this.toks[this.i + 1]?.t === '(') {
      this.i++;
      this.expect('(');
      const f = this.or();
      this.expect(')');
      return { op: 'not', f };
    }
    if (t.t === '(') {
      this.i++;
      const f = this.or();
      this.expect(')');
      return f;
    }
    if (t.t !== 'word') throw bad(this.what, 'expected an attribute name');
    this.i++;
    const path = parseAttrPath(t.v, this.coreUrn, this.what);
    if (this.toks[this.i]?.t === '[') {
      this.i++;
      const f = this.or();
      this.expect(']');
      return { op: 'vp', path, f };
    }
    const op = this.peekWord();
    if (op === 'pr') {
      this.i++;
      return { op: 'pr', path };
    }
    if (!op || !COMPARE_OPS.has(op)) throw bad(this.what, `expected an operator after ${t.v.slice(0, 60)}`);
    this.i++;
    const v = this.toks[this.i++];
    if (!v) throw bad(this.what, 'expected a value');
    if (v.t === 'str') return { op: op as CompareOp, path, value: v.v };
    if (v.t !== 'word') throw bad(this.what, 'expected a value');
    const w = v.v.toLowerCase();
    if (w === 'true' || w === 'false') return { op: op as CompareOp, path, value: w === 'true' };
    if (w === 'null') return { op: op as CompareOp, path, value: null };
    if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.v)) return { op: op as CompareOp, path, value: Number(v.v) };
    throw bad(this.what, `bad value ${v.v.slice(0, 40)}: strings are quoted`);
  }
}

export function parseFilter(raw: string, coreUrn: string): Filter {
  if (raw.length > 2000) throw bad('invalidFilter', 'the filter is too long');
  const p = new FilterParser(tokenize(raw, 'invalidFilter'), coreUrn, 'invalidFilter');
  const f = p.or();
  if (!p.done()) throw bad('invalidFilter', 'unexpected text after the filter');
  return f;
}

/** The values at a path, multi-valued attributes flattened; complex values compare by their `value`. */
function valuesAt(o: Json, path: AttrPath): unknown[] {
  let cur: unknown[] = [path.urn ? getKey(o, path.urn) : o];
  for (const n of path.names) {
    cur = cur.flatMap((x) => (Array.isArray(x) ? x : [x])).flatMap((x) => (isObj(x) ? [getKey(x, n)] : []));
  }
  return cur
    .flatMap((x) => (Array.isArray(x) ? x : [x]))
    .map((x) => (isObj(x) && Object.hasOwn(x, 'value') ? x.value : x))
    .filter((x) => x !== undefined && x !== null);
}

/** How a string attribute compares: userName as sign-in compares it, caseExact ones exactly, the rest without case. */
function comparable(path: AttrPath, v: string): string {
  const last = path.names[path.names.length - 1]!;
  if (path.urn === null && path.names.length === 1 && last === 'userName') {
    return usernameKeyOrNull(v) ?? v.toLowerCase();
  }
  return CASE_EXACT.has(last) ? v : v.toLowerCase();
}

function compare(op: CompareOp, path: AttrPath, have: unknown, want: string | number | boolean | null): boolean {
  if (want === null) return op === 'eq' ? have === null : op === 'ne' ? have !== null : false;
  if (typeof want === 'string') {
    if (typeof have !== 'string') return op === 'ne';
    const a = comparable(path, have);
    const b = comparable(path, want);
    switch (op) {
      case 'eq': return a === b;
      case 'ne': return a !== b;
      case 'co': return a.includes(b);
      case 'sw': return a.startsWith(b);
      case 'ew': return a.endsWith(b);
      case 'gt': return a > b;
      case 'ge': return a >= b;
      case 'lt': return a < b;
      case 'le': return a <= b;
    }
  }
  if (typeof want === 'boolean') {
    const h = typeof have === 'string' ? (/^true$/i.test(have) ? true : /^false$/i.test(have) ? false : have) : have;
    return op === 'eq' ? h === want : op === 'ne' ? h !== want : false;
  }
  if (typeof have !== 'number') return op === 'ne';
  switch (op) {
    case 'eq': return have === want;
    case 'ne': return have !== want;
    case 'gt': return have > want;
    case 'ge': return have >= want;
    case 'lt': return have < want;
    case 'le': return have <= want;
    default: return false;
  }
}

export function matches(o: Json, f: Filter): boolean {
  switch (f.op) {
    case 'and': return matches(o, f.l) && matches(o, f.r);
    case 'or': return matches(o, f.l) || matches(o, f.r);
    case 'not': return !matches(o, f.f);
    case 'pr': return valuesAt(o, f.path).some((v) => v !== '' && !(Array.isArray(v) && v.length === 0));
    case 'vp': {
      const base = f.path.urn ? getKey(o, f.path.urn) : o;
      let elems: unknown[] = [base];
      for (const n of f.path.names) elems = elems.flatMap((x) => (Array.isArray(x) ? x : [x])).flatMap((x) => (isObj(x) ? [getKey(x, n)] : []));
      return elems.flatMap((x) => (Array.isArray(x) ? x : [x])).some((x) => isObj(x) && matches(x, f.f));
    }
    default: {
      const vs = valuesAt(o, f.path);
      if (f.op === 'ne') return vs.length === 0 ? f.value !== null : !vs.some((v) => compare('eq', f.path, v, f.value));
      return vs.some((v) => compare(f.op as CompareOp, f.path, v, f.value));
    }
  }
}

/** `attr eq "x"` anywhere along a top-level `and` chain: the value an index can answer. */
function eqOn(f: Filter, attr: string): string | null {
  if (f.op === 'and') return eqOn(f.l, attr) ?? eqOn(f.r, attr);
  if (f.op === 'eq' && f.path.urn === null && f.path.names.length === 1 && f.path.names[0] === attr && typeof f.value === 'string') return f.value;
  return null;
}

// ================================================================== PATCH (RFC 7644 §3.5.2)

export interface PatchOp {
  op: 'add' | 'replace' | 'remove';
  path: { attr: AttrPath; filter: Filter | null; sub: string | null } | null;
  value: unknown;
}

function parsePatchPath(raw: string, coreUrn: string): NonNullable<PatchOp['path']> {
  if (raw.length > 1000) throw bad('invalidPath', 'the path is too long');
  const p = new FilterParser(tokenize(raw, 'invalidPath'), coreUrn, 'invalidPath');
  const first = p.next();
  if (!first || first.t !== 'word') throw bad('invalidPath', `bad path ${JSON.stringify(raw.slice(0, 80))}`);
  const attr = parseAttrPath(first.v, coreUrn, 'invalidPath');
  let filter: Filter | null = null;
  let sub: string | null = null;
  if (p.peek()?.t === '[') {
    if (attr.names.length !== 1) throw bad('invalidPath', 'a value filter applies to an attribute, not a sub-attribute');
    p.next();
    filter = p.or();
    if (p.next()?.t !== ']') throw bad('invalidPath', 'expected ]');
    const rest = p.next();
    if (rest) {
      if (rest.t !== 'word' || !/^\.[A-Za-z$][\w$-]{0,63}$/.test(rest.v) || FORBIDDEN_NAMES.has(rest.v.slice(1))) throw bad('invalidPath', `bad path ${JSON.stringify(raw.slice(0, 80))}`);
      sub = canonKey(rest.v.slice(1));
    }
  } else if (attr.names.length === 2) {
    sub = attr.names[1]!;
    attr.names = [attr.names[0]!];
  }
  if (!p.done()) throw bad('invalidPath', `bad path ${JSON.stringify(raw.slice(0, 80))}`);
  return { attr, filter, sub };
}

/** Validate a PatchOp message before anything is read: every op and path parsed up front. */
export function parsePatch(body: unknown, coreUrn: string): PatchOp[] {
  const doc = canon(body);
  if (!isObj(doc)) throw bad('invalidSyntax', 'the body must be a PatchOp object');
  const schemas = doc.schemas;
  if (schemas !== undefined && !(Array.isArray(schemas) && schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA.patch.toLowerCase()))) {
    throw bad('invalidSyntax', `schemas must contain ${SCHEMA.patch}`);
  }
  const ops = doc.Operations;
  if (!Array.isArray(ops) || ops.length === 0) throw bad('invalidSyntax', 'Operations must be a non-empty array');
  if (ops.length > 1000) throw bad('tooMany', 'at most 1000 operations in one request');
  return ops.map((o, i) => {
    if (!isObj(o)) throw bad('invalidSyntax', `Operations[${i}] must be an object`);
    const op = typeof o.op === 'string' ? o.op.toLowerCase() : null;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw bad('invalidSyntax', `Operations[${i}].op must be add, replace or remove`);
    if (o.path !== undefined && o.path !== null && typeof o.path !== 'string') throw bad('invalidPath', `Operations[${i}].path must be a string`);
    const path = typeof o.path === 'string' && o.path.trim() !== '' ? parsePatchPath(o.path.trim(), coreUrn) : null;
    if (op === 'remove' && path === null) throw bad('noTarget', `Operations[${i}]: remove needs a path`);
    if (op !== 'remove' && o.value === undefined) throw bad('invalidValue', `Operations[${i}]: ${op} needs a value`);
    return { op, path, value: o.value };
  });
}

/** Deep equality of JSON values (bounded by canon's depth). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
  }
  return false;
}

/** Two values of a multi-valued attribute are one when their `value` is (members, emails), else when they are equal. */
function itemKey(x: unknown): string {
  return isObj(x) && x.value !== undefined ? `v:${JSON.stringify(x.value)}` : `j:${JSON.stringify(x)}`;
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** Fields an `eq` filter pins, so a replace that matches nothing can add the value it names (what Entra expects). */
function pinned(f: Filter): Json | null {
  if (f.op === 'and') {
    const l = pinned(f.l);
    const r = pinned(f.r);
    return l && r ? { ...l, ...r } : null;
  }
  if (f.op === 'eq' && f.path.urn === null && f.path.names.length === 1 && f.value !== null) return { [f.path.names[0]!]: f.value };
  return null;
}

function addValues(container: Json, key: string, values: unknown[]): void {
  const arr = asArray(container[key]).slice();
  const at = new Map(arr.map((x, i) => [itemKey(x), i]));
  for (const v of values) {
    const i = at.get(itemKey(v));
    if (i !== undefined) arr[i] = isObj(arr[i]) && isObj(v) ? { ...arr[i], ...v } : v;
    else at.set(itemKey(v), arr.push(v) - 1);
  }
  container[key] = arr;
}

function applyOp(doc: Json, op: PatchOp, coreUrn: string): void {
  const { path, value } = op;
  if (path === null) {
    // add/replace without a path: the value names the attributes (possibly as paths, or under a schema URN).
    if (!isObj(value)) throw bad('invalidValue', `${op.op} without a path needs an object value`);
    for (const [k, v] of Object.entries(value)) {
      const urn = URNS.find((u) => u === k);
      if (urn && isObj(v)) {
        for (const [k2, v2] of Object.entries(v)) {
          if (!/^[A-Za-z$][\w$-]{0,63}$/.test(k2) || FORBIDDEN_NAMES.has(k2)) throw bad('invalidPath', `bad attribute ${JSON.stringify(k2.slice(0, 80))}`);
          applyOp(doc, { op: op.op, path: { attr: { urn: urn === coreUrn ? null : urn, names: [canonKey(k2)] }, filter: null, sub: null }, value: v2 }, coreUrn);
        }
        continue;
      }
      applyOp(doc, { ...op, path: parsePatchPath(k, coreUrn), value: v }, coreUrn);
    }
    return;
  }
  let container: Json;
  if (path.attr.urn) {
    const key = keyOf(doc, path.attr.urn);
    const ext = doc[key];
    if (!isObj(ext)) {
      if (op.op === 'remove') return;
      doc[key] = {};
    }
    container = doc[key] as Json;
  } else {
    container = doc;
  }
  const attr = keyOf(container, path.attr.names[0]!);
  const multi = MULTI_VALUED.has(attr) || Array.isArray(container[attr]);
  const cur = container[attr];

  if (path.filter) {
    const f = path.filter;
    const arr = asArray(cur).slice();
    const hits = arr.map((x, i) => (isObj(x) && matches(x, f) ? i : -1)).filter((i) => i >= 0);
    if (op.op === 'remove') {
      // Removing what is not there is done already (IdPs retry).
      if (path.sub) for (const i of hits) delete (arr[i] as Json)[keyOf(arr[i] as Json, path.sub)];
      const gone = new Set(hits);
      container[attr] = path.sub ? arr : arr.filter((_, i) => !gone.has(i));
      return;
    }
    if (hits.length === 0) {
      const seed = pinned(f);
      if (!seed) throw bad('noTarget', `no value of ${attr} matches the filter`);
      arr.push(path.sub ? { ...seed, [path.sub]: value } : isObj(value) ? { ...seed, ...value } : seed);
    } else {
      for (const i of hits) {
        const x = arr[i] as Json;
        if (path.sub) x[keyOf(x, path.sub)] = value;
        else arr[i] = op.op === 'replace' ? value : isObj(value) ? { ...x, ...value } : value;
      }
    }
    container[attr] = arr;
    return;
  }

  if (path.sub) {
    if (Array.isArray(cur)) {
      // emails.value and the like: every value of the attribute.
      for (const x of cur) {
        if (!isObj(x)) continue;
        if (op.op === 'remove') delete x[keyOf(x, path.sub)];
        else x[keyOf(x, path.sub)] = value;
      }
      return;
    }
    if (op.op === 'remove') {
      if (isObj(cur)) delete cur[keyOf(cur, path.sub)];
      return;
    }
    if (!isObj(cur)) container[attr] = {};
    const obj = container[attr] as Json;
    obj[keyOf(obj, path.sub)] = value;
    return;
  }

  if (op.op === 'remove') {
    // Entra removes members by value: {"op":"remove","path":"members","value":[{"value":"id"}]}.
    if (multi && value !== undefined && value !== null) {
      const gone = new Set(asArray(value).map(itemKey));
      container[attr] = asArray(cur).filter((x) => !gone.has(itemKey(x)));
    } else {
      delete container[attr];
    }
    return;
  }
  if (multi) {
    if (op.op === 'replace') container[attr] = asArray(value);
    else addValues(container, attr, asArray(value));
    return;
  }
  // A complex attribute merges its sub-attributes; anything else is set.
  container[attr] = isObj(cur) && isObj(value) ? { ...cur, ...value } : value;
}

// ================================================================== values

function str(v: unknown, field: string, max: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad('invalidValue', `${field} must be a string`);
  const s = v.trim();
  if (s.length > max) throw bad('invalidValue', `${field} is longer than ${max} characters`);
  return s === '' ? undefined : s;
}

function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw bad('invalidValue', `${field} must be a boolean`);
}

function obj(v: unknown, field: string): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad('invalidValue', `${field} must be an object`);
  return v;
}

function usernameKey(userName: string): string {
  try {
    return normalizeUsername(userName);
  } catch (e) {
    throw bad('invalidValue', e instanceof Error ? `userName: ${e.message}` : 'userName is not valid');
  }
}

/** A stable id from a name when it is free and valid (`alice@example.com`, `platform-admins`), else `u-…`/`g-…`. */
function slug(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase().replace(/[^a-z0-9._@-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/-+$/, '').slice(0, 128);
}

interface UserState {
  userName: string;
  key: string;
  externalId: string | null;
  name: string;
  email: string | null;
  /** undefined when the document does not say (PUT leaves the status as it is). */
  active: boolean | undefined;
  managerId: string | null;
  attrs: Record<string, string>;
}

/** The principal a User document describes; every value validated, nothing written. */
function userState(doc: Json): UserState {
  const userName = str(doc.userName, 'userName', 256);
  if (!userName) throw bad('invalidValue', 'userName is required');
  const key = usernameKey(userName);
  const externalId = str(doc.externalId, 'externalId', 256) ?? null;
  const n = obj(doc.name, 'name') ?? {};
  const givenName = str(n.givenName, 'name.givenName', 200);
  const familyName = str(n.familyName, 'name.familyName', 200);
  const formatted = str(n.formatted, 'name.formatted', 200);
  const displayName = str(doc.displayName, 'displayName', 200);
  const name = (displayName ?? formatted ?? ([givenName, familyName].filter(Boolean).join(' ') || userName)).slice(0, 200);
  let email: string | null = null;
  if (doc.emails !== undefined && doc.emails !== null) {
    if (!Array.isArray(doc.emails)) throw bad('invalidValue', 'emails must be an array');
    const es = doc.emails.map((e, i) => {
      const o = obj(e, `emails[${i}]`) ?? {};
      return { value: str(o.value, `emails[${i}].value`, 320), primary: bool(o.primary, `emails[${i}].primary`) === true };
    });
    email = (es.find((e) => e.primary && e.value) ?? es.find((e) => e.value))?.value ?? null;
    try {
      email = cleanEmail(email);
    } catch {
      throw bad('invalidValue', 'emails: the primary value is not an email address');
    }
  }
  const ent = obj(doc[SCHEMA.enterprise], SCHEMA.enterprise) ?? {};
  const m = ent.manager;
  const managerRaw = typeof m === 'string' ? m : isObj(m) ? m.value : undefined;
  const managerId = typeof managerRaw === 'string' && managerRaw.trim() !== '' ? normalizeId(managerRaw) : null;
  const attrs: Record<string, string> = { 'scim.userName': userName };
  if (givenName) attrs['scim.name.givenName'] = givenName;
  if (familyName) attrs['scim.name.familyName'] = familyName;
  if (formatted) attrs['scim.name.formatted'] = formatted;
  return { userName, key, externalId, name, email, active: bool(doc.active, 'active'), managerId: managerId && ID_PATTERN.test(managerId) ? managerId : null, attrs };
}

interface GroupState {
  displayName: string;
  externalId: string | null;
  /** undefined when the document does not say. */
  members: string[] | undefined;
}

function groupState(doc: Json): GroupState {
  const displayName = str(doc.displayName, 'displayName', 200);
  if (!displayName) throw bad('invalidValue', 'displayName is required');
  const externalId = str(doc.externalId, 'externalId', 256) ?? null;
  let members: string[] | undefined;
  if (doc.members !== undefined && doc.members !== null) {
    if (!Array.isArray(doc.members)) throw bad('invalidValue', 'members must be an array');
    if (doc.members.length > 100_000) throw bad('invalidValue', 'too many members');
    members = [
      ...new Set(
        doc.members.map((x, i) => {
          const v = str(obj(x, `members[${i}]`)?.value, `members[${i}].value`, 128);
          const id = v === undefined ? '' : normalizeId(v);
          if (!ID_PATTERN.test(id)) throw bad('invalidValue', `members[${i}].value is not a principal id`);
          return id;
        }),
      ),
    ];
  }
  return { displayName, externalId, members };
}

const SCIM_ATTR = /^scim\./;

// ================================================================== the use cases

export interface ListQuery {
  filter?: string;
  startIndex?: number;
  count?: number;
}

export interface ListResponse {
  schemas: string[];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: Json[];
}

export interface ScimTokenInfo {
  id: string;
  name: string;
  createdBy: string;
  createdAt: number;
  revokedAt: number | null;
}

const tokenInfo = (t: ScimToken): ScimTokenInfo => ({ id: t.id, name: t.name, createdBy: t.createdBy, createdAt: t.createdAt, revokedAt: t.revokedAt });
const iso = (ms: number) => new Date(ms).toISOString();

export function makeScim(deps: Deps) {
  const { store, clock } = deps;
  const w = directoryWrites(deps);
  const audit = { audit: store.audit, newId: deps.newId };
  const base = deps.identity.publicUrl.replace(/\/+$/, '') + '/scim/v2';

  function requireScim(actor: Actor): void {
    if (actor.auth.method !== 'scim') throw new Forbidden('not_scim', 'SCIM provisioning needs a SCIM token');
  }

  // ------------------------------------------------------------ lookups

  /** The user a sign-in name names: by its link, or a user whose id is that name and who has no sign-in name yet. */
  async function userByName(tx: Tx, key: string): Promise<string | null> {
    const linked = await store.identities.resolve(tx, 'username', key);
    if (linked) return linked;
    if (!ID_PATTERN.test(key)) return null;
    const p = await store.principals.get(tx, key);
    if (!p || p.kind !== 'user') return null;
    return (await store.identities.linksOf(tx, key)).some((l) => l.kind === 'username') ? null : p.id;
  }

  async function getKind(tx: Tx, rawId: string, kind: PrincipalKind): Promise<Principal> {
    const id = normalizeId(rawId);
    const p = ID_PATTERN.test(id) ? await store.principals.get(tx, id) : null;
    if (!p || p.kind !== kind) throw new NotFound('not_found', `${kind === 'user' ? 'User' : 'Group'} ${rawId.slice(0, 128)} not found`);
    return p;
  }

  async function pickId(tx: Tx, candidate: string, prefix: 'u' | 'g'): Promise<string> {
    const c = slug(candidate);
    if (ID_PATTERN.test(c) && !RESERVED_PRINCIPAL_IDS.has(c) && !(await store.principals.get(tx, c))) return c;
    return `${prefix}-${deps.newId()}`;
  }

  async function assertUserNameFree(tx: Tx, key: string, self: string | null): Promise<void> {
    const owner = await userByName(tx, key);
    if (owner && owner !== self) throw new Conflict('uniqueness', 'userName is already in use');
  }

  async function assertExternalFree(tx: Tx, externalId: string, self: string | null): Promise<void> {
    const owner = await store.identities.resolve(tx, 'scim_external', externalId);
    if (owner && owner !== self) throw new Conflict('uniqueness', 'externalId is already in use');
  }

  /** The manager when that user exists (and is not the user itself); otherwise none. */
  async function resolveManager(tx: Tx, managerId: string | null, self: string): Promise<string | null> {
    if (!managerId || managerId === self) return null;
    const m = await store.principals.get(tx, managerId);
    return m && m.kind === 'user' ? m.id : null;
  }

  /** Re-point one identity link of a principal (at most one of each kind is kept). */
  async function relink(tx: Tx, kind: 'username' | 'scim_external', principalId: string, key: string | null, now: number): Promise<boolean> {
    const links = (await store.identities.linksOf(tx, principalId)).filter((l) => l.kind === kind);
    if (key !== null && links.length === 1 && links[0]!.key === key) return false;
    for (const l of links) if (l.key !== key) await store.identities.unlink(tx, kind, l.key);
    if (key !== null && !links.some((l) => l.key === key)) await store.identities.link(tx, kind, key, principalId, now);
    return links.length > 0 || key !== null;
  }

  // ------------------------------------------------------------ resources

  const meta = (p: Principal, type: 'User' | 'Group') => ({
    resourceType: type,
    created: iso(p.createdAt),
    lastModified: iso(p.updatedAt),
    location: `${base}/${type}s/${encodeURIComponent(p.id)}`,
    version: `W/"${p.updatedAt}"`,
  });

  async function renderUser(tx: Tx, p: Principal): Promise<Json> {
    const links = await store.identities.linksOf(tx, p.id);
    const key = links.find((l) => l.kind === 'username')?.key;
    const given = p.attributes['scim.userName'];
    const userName = key === undefined ? p.id : given !== undefined && usernameKeyOrNull(given) === key ? given : key;
    const externalId = links.find((l) => l.kind === 'scim_external')?.key;
    const name: Json = {};
    for (const k of ['formatted', 'givenName', 'familyName']) if (p.attributes[`scim.name.${k}`]) name[k] = p.attributes[`scim.name.${k}`];
    return {
      schemas: p.managerId ? [SCHEMA.user, SCHEMA.enterprise] : [SCHEMA.user],
      id: p.id,
      ...(externalId !== undefined ? { externalId } : {}),
      userName,
      ...(Object.keys(name).length ? { name } : {}),
      displayName: p.name,
      ...(p.email ? { emails: [{ value: p.email, type: 'work', primary: true }] } : {}),
      active: p.status === 'active',
      ...(p.managerId ? { [SCHEMA.enterprise]: { manager: { value: p.managerId, $ref: `${base}/Users/${encodeURIComponent(p.managerId)}` } } } : {}),
      meta: meta(p, 'User'),
    };
  }

  async function renderGroup(tx: Tx, p: Principal, withMembers = true): Promise<Json> {
    const externalId = (await store.identities.linksOf(tx, p.id)).find((l) => l.kind === 'scim_external')?.key;
    const out: Json = { schemas: [SCHEMA.group], id: p.id, ...(externalId !== undefined ? { externalId } : {}), displayName: p.name };
    if (withMembers) {
      const members: Json[] = [];
      for (const m of await store.members.members(tx, p.id)) {
        const q = await store.principals.get(tx, m);
        const type = q?.kind === 'group' ? 'Group' : 'User';
        members.push({ value: m, ...(q ? { display: q.name } : {}), type, $ref: `${base}/${type}s/${encodeURIComponent(m)}` });
      }
      out.members = members;
    }
    out.meta = meta(p, 'Group');
    return out;
  }

  // ------------------------------------------------------------ writes

  /** Deactivation: every live grant the user holds ends now (any source), and every session. Pending requests were cancelled by the suspension. */
  async function deprovision(tx: Tx, actor: Actor, id: string, now: number): Promise<void> {
    const live = await store.assignments.list(tx, { principalId: id, live: true, limit: 100_000 });
    for (const a of live) await endAssignment(deps, tx, actor, a, 'revoked', now, 'deprovisioned');
    const sessions = await store.sessions.revokeAll(tx, id, now);
    // Offboarding ends the person's API tokens too: re-activation must not bring them back.
    const tokens = (await store.tokens.listFor(tx, id)).filter((t) => t.revokedAt === null);
    for (const t of tokens) {
      await store.tokens.revoke(tx, t.id, now);
      await store.changes.publish(tx, { kind: 'token', id: t.id });
    }
    await writeAudit(audit, tx, now, actor, { principalId: id }, [
      draft('principal.deprovisioned', 'info', { ...VIA, revokedAssignments: live.map((a) => a.id), sessionsRevoked: sessions, tokensRevoked: tokens.map((t) => t.id) }, ['deprovisioned']),
    ]);
  }

  /** Bring a user to the state a document describes, in the caller's transaction. */
  async function writeUser(tx: Tx, actor: Actor, p: Principal, st: UserState, now: number): Promise<Principal> {
    await assertUserNameFree(tx, st.key, p.id);
    if (st.externalId !== null) await assertExternalFree(tx, st.externalId, p.id);
    const nameLinked = await relink(tx, 'username', p.id, st.key, now);
    const extLinked = await relink(tx, 'scim_external', p.id, st.externalId, now);
    const patch: PrincipalPatch = {};
    if (st.name !== p.name) patch.name = st.name;
    if (st.email !== p.email) patch.email = st.email;
    const managerId = await resolveManager(tx, st.managerId, p.id);
    if (managerId !== p.managerId) patch.managerId = managerId;
    const attributes = { ...Object.fromEntries(Object.entries(p.attributes).filter(([k]) => !SCIM_ATTR.test(k))), ...st.attrs };
    if (!same(attributes, p.attributes)) patch.attributes = attributes;
    const deactivating = st.active === false && p.status === 'active';
    if (deactivating) patch.status = 'suspended';
    else if (st.active === true && p.status === 'suspended') patch.status = 'active';
    // Grants still held by an already suspended user end too when the IdP says inactive.
    const leftover = st.active === false && !deactivating && (await store.assignments.list(tx, { principalId: p.id, live: true, limit: 1 })).length > 0;
    let next = p;
    if (Object.keys(patch).length > 0 || nameLinked || extLinked) {
      const links = { ...(nameLinked ? { userName: st.userName } : {}), ...(extLinked ? { externalId: st.externalId } : {}) };
      next = await w.updatePrincipal(tx, actor, p.id, patch, now, { audit: { ...VIA, ...links }, suspendReason: 'deprovisioned' });
    }
    if (deactivating || leftover) await deprovision(tx, actor, p.id, now);
    return next;
  }

  async function writeGroup(tx: Tx, actor: Actor, p: Principal, st: GroupState, now: number): Promise<void> {
    if (st.externalId !== null) await assertExternalFree(tx, st.externalId, p.id);
    const extLinked = await relink(tx, 'scim_external', p.id, st.externalId, now);
    if (st.displayName !== p.name || extLinked) {
      await w.updatePrincipal(tx, actor, p.id, st.displayName !== p.name ? { name: st.displayName } : {}, now, { audit: { ...VIA, ...(extLinked ? { externalId: st.externalId } : {}) } });
    }
    if (st.members !== undefined) {
      const before = await store.members.members(tx, p.id);
      const want = st.members;
      if (want.length !== before.length || want.some((m) => !before.includes(m))) await w.setMembers(tx, actor, p.id, want, now, { audit: VIA });
    }
  }

  // ------------------------------------------------------------ lists

  /** Every principal of a kind, page by page. */
  async function* scan(tx: Tx, kind: PrincipalKind): AsyncGenerator<Principal> {
    let after: string | undefined;
    for (;;) {
      const page = await store.principals.list(tx, { kind, limit: 1000, ...(after !== undefined ? { after } : {}) });
      for (const p of page) yield p;
      if (page.length < 1000) return;
      after = page[page.length - 1]!.id;
    }
  }

  async function list(actor: Actor, kind: 'user' | 'group', q: ListQuery & { excludeMembers?: boolean }): Promise<ListResponse> {
    requireScim(actor);
    const core = kind === 'user' ? SCHEMA.user : SCHEMA.group;
    const filter = q.filter !== undefined && q.filter.trim() !== '' ? parseFilter(q.filter, core) : null;
    const startIndex = Math.max(1, Math.floor(q.startIndex ?? 1));
    const count = Math.min(MAX_RESULTS, Math.max(0, Math.floor(q.count ?? DEFAULT_COUNT)));
    const render = (tx: Tx, p: Principal, members: boolean) => (kind === 'user' ? renderUser(tx, p) : renderGroup(tx, p, members));
    const wantMembers = !q.excludeMembers;
    const needMembers = filter !== null && q.filter!.toLowerCase().includes('members');
    return store.transaction(async (tx) => {
      let candidates: Principal[] | null = null;
      if (filter) {
        const byId = eqOn(filter, 'id');
        const byExt = eqOn(filter, 'externalId');
        const byName = kind === 'user' ? eqOn(filter, 'userName') : null;
        const byDisplay = kind === 'group' ? eqOn(filter, 'displayName') : null;
        const ids = new Set<string>();
        if (byId !== null) {
          ids.add(normalizeId(byId));
        } else if (byExt !== null) {
          const pid = await store.identities.resolve(tx, 'scim_external', byExt);
          if (pid) ids.add(pid);
        } else if (byName !== null) {
          let key: string | null = null;
          try {
            key = normalizeUsername(byName);
          } catch {
            key = null;
          }
          const pid = key ? await userByName(tx, key) : null;
          if (pid) ids.add(pid);
        }
        if (byId !== null || byExt !== null || byName !== null) {
          candidates = [];
          for (const id of ids) {
            const p = ID_PATTERN.test(id) ? await store.principals.get(tx, id) : null;
            if (p && p.kind === kind) candidates.push(p);
          }
        } else if (byDisplay !== null) {
          candidates = [];
          const want = byDisplay.toLowerCase();
          for await (const p of scan(tx, kind)) if (p.name.toLowerCase() === want) candidates.push(p);
        }
      }
      const from = startIndex - 1;
      const page: Json[] = [];
      let total = 0;
      if (!filter) {
        // No filter: count everything, render only the page asked for.
        for await (const p of scan(tx, kind)) {
          if (total >= from && page.length < count) page.push(await render(tx, p, wantMembers));
          total++;
        }
      } else {
        const source: AsyncIterable<Principal> | Principal[] = candidates ?? scan(tx, kind);
        for await (const p of source) {
          const r = await render(tx, p, wantMembers || needMembers);
          if (!matches(r, filter)) continue;
          if (total >= from && page.length < count) {
            if (!wantMembers) delete r.members;
            page.push(r);
          }
          total++;
        }
      }
      return { schemas: [SCHEMA.list], totalResults: total, startIndex, itemsPerPage: page.length, Resources: page };
    });
  }

  const asDoc = (body: unknown): Json => {
    const d = canon(body);
    if (!isObj(d)) throw bad('invalidSyntax', 'the body must be a JSON object');
    return d;
  };

  return {
    // ---------------------------------------------------------- authentication

    /**
     * The SCIM caller: the configured token (compared by hash in constant time) or an admin-created
     * one (`scim_…`, found by its SHA-256). API tokens and sessions are never SCIM callers.
     */
    async authenticate(secret: string, envHash: Buffer | null, from: { sourceIp: string | null; userAgent: string | null }): Promise<Actor> {
      const now = clock.now();
      let tokenId: string | null = null;
      if (secret.length > 0 && secret.length <= 512) {
        const h = createHash('sha256').update(secret).digest();
        if (envHash !== null && h.length === envHash.length && timingSafeEqual(h, envHash)) tokenId = 'env';
        else if (secret.startsWith(SCIM_TOKEN_PREFIX)) {
          const t = await store.transaction((tx) => store.scimTokens.byHash(tx, h.toString('hex')));
          if (t && t.revokedAt === null) tokenId = t.id;
        }
      }
      if (tokenId === null) throw new Unauthenticated('invalid_token', 'the SCIM token is not valid');
      return {
        principalId: 'scim',
        auth: { method: 'scim', tokenId, sessionId: null, signIn: null, mfa: [], authenticatedAt: now },
        sourceIp: from.sourceIp,
        userAgent: from.userAgent,
      };
    },

    tokens: {
      /** Admin: a new SCIM token; the secret is returned once and only its SHA-256 is kept. */
      async create(actor: Actor, input: { name?: string }): Promise<ScimTokenInfo & { token: string }> {
        await requireAdmin(deps, actor, 'scim.token.create');
        const now = clock.now();
        const secret = SCIM_TOKEN_PREFIX + randomBytes(32).toString('base64url');
        const t: ScimToken = { id: deps.newId(), name: (input.name ?? 'scim').trim().slice(0, 100) || 'scim', hash: hashToken(secret), createdBy: actor.principalId, createdAt: now, revokedAt: null };
        await store.transaction(async (tx) => {
          await store.scimTokens.insert(tx, t);
          await writeAudit(audit, tx, now, actor, {}, [draft('scim.token.created', 'info', { tokenId: t.id, name: t.name })]);
        });
        return { ...tokenInfo(t), token: secret };
      },

      async list(actor: Actor): Promise<ScimTokenInfo[]> {
        await requireAdmin(deps, actor, 'scim.token.list');
        return (await store.transaction((tx) => store.scimTokens.list(tx))).map(tokenInfo);
      },

      /** Admin: revoke a SCIM token; it stops working at once (SCIM tokens are never cached). */
      async revoke(actor: Actor, id: string): Promise<void> {
        await requireAdmin(deps, actor, 'scim.token.revoke');
        const now = clock.now();
        await store.transaction(async (tx) => {
          const t = (await store.scimTokens.list(tx)).find((x) => x.id === id);
          if (!t) throw new NotFound('not_found', 'SCIM token not found');
          if (t.revokedAt !== null) return;
          await store.scimTokens.revoke(tx, id, now);
          await writeAudit(audit, tx, now, actor, {}, [draft('scim.token.revoked', 'info', { tokenId: id, name: t.name })]);
        });
      },
    },

    // ---------------------------------------------------------- /Users

    users: {
      async create(actor: Actor, body: unknown): Promise<Json> {
        requireScim(actor);
        const st = userState(asDoc(body));
        const now = clock.now();
        return store.transaction(async (tx) => {
          await lockAdmins(store, tx); // SCIM writes serialize: read-modify-write stays consistent
          await assertUserNameFree(tx, st.key, null);
          if (st.externalId !== null) await assertExternalFree(tx, st.externalId, null);
          const id = await pickId(tx, st.key, 'u');
          const p = await w.createPrincipal(
            tx,
            actor,
            { id, kind: 'user', name: st.name, email: st.email, managerId: await resolveManager(tx, st.managerId, id), attributes: st.attrs, status: st.active === false ? 'suspended' : 'active' },
            now,
            { audit: { ...VIA, userName: st.userName, externalId: st.externalId } },
          );
          await store.identities.link(tx, 'username', st.key, id, now);
          if (st.externalId !== null) await store.identities.link(tx, 'scim_external', st.externalId, id, now);
          return renderUser(tx, p);
        });
      },

      async get(actor: Actor, id: string): Promise<Json> {
        requireScim(actor);
        return store.transaction(async (tx) => renderUser(tx, await getKind(tx, id, 'user')));
      },

      list: (actor: Actor, q: ListQuery) => list(actor, 'user', q),

      /** PUT: the document replaces the user (an absent `active` leaves the status as it is). */
      async replace(actor: Actor, id: string, body: unknown): Promise<Json> {
        requireScim(actor);
        const st = userState(asDoc(body));
        const now = clock.now();
        return store.transaction(async (tx) => {
          await lockAdmins(store, tx);
          const next = await writeUser(tx, actor, await getKind(tx, id, 'user'), st, now);
          return renderUser(tx, next);
        });
      },

      async patch(actor: Actor, id: string, body: unknown): Promise<Json> {
        requireScim(actor);
        const ops = parsePatch(body, SCHEMA.user);
        const now = clock.now();
        return store.transaction(async (tx) => {
          await lockAdmins(store, tx);
          const p = await getKind(tx, id, 'user');
          const doc = await renderUser(tx, p);
          const work = structuredClone(doc);
          for (const op of ops) applyOp(work, op, SCHEMA.user);
          if (!same(work.id, doc.id)) throw bad('mutability', 'id cannot be changed');
          const next = await writeUser(tx, actor, p, userState(work), now);
          return renderUser(tx, next);
        });
      },

      /** DELETE: deprovisioned (grants revoked, sessions ended) and deleted, in one transaction. */
      async delete(actor: Actor, id: string): Promise<void> {
        requireScim(actor);
        const now = clock.now();
        await store.transaction(async (tx) => {
          await lockAdmins(store, tx);
          const p = await getKind(tx, id, 'user');
          if (p.status === 'active') await w.updatePrincipal(tx, actor, p.id, { status: 'suspended' }, now, { audit: VIA, suspendReason: 'deprovisioned' });
          await deprovision(tx, actor, p.id, now);
          await w.deletePrincipal(tx, actor, p.id, now, { audit: VIA });
        });
      },
    },

    // ---------------------------------------------------------- /Groups

    groups: {
      async create(actor: Actor, body: unknown): Promise<Json> {
        requireScim(actor);
        const st = groupState(asDoc(body));
        const now = clock.now();
        return store.transaction(async (tx) => {
          await lockAdmins(store, tx);
          if (st.externalId !== null) await assertExternalFree(tx, st.externalId, null);
          const id = await pickId(tx, st.displayName, 'g');
          const p = await w.createPrincipal(tx, actor, { id, kind: 'group', name: st.displayName }, now, { audit: { ...VIA, externalId: st.externalId } });
          if (st.externalId !== null) await store.identities.link(tx, 'scim_external', st.externalId, id, now);
          if (st.members && st.members.length > 0) await w.setMembers(tx, actor, id, st.members, now, { audit: VIA });
          return renderGroup(tx, p);
        });
      },

      async get(actor: Actor, id: string, o: { excludeMembers?: boolean } = {}): Promise<Json> {
        requireScim(actor);
        return store.transaction(async (tx) => renderGroup(tx, await getKind(tx, id, 'group'), !o.excludeMembers));
      },

      list: (actor: Actor, q: ListQuery & { excludeMembers?: boolean }) => list(actor, 'group', q),

      async replace(actor: Actor, id: string, body: unknown): Promise<Json> {
        requireScim(actor);
        const st = groupState(asDoc(body));
        const now = clock.now();
        return store.transaction(async (tx) => {
          await lockAdmins(store, tx);
          const p = await getKind(tx, id, 'group');
          await writeGroup(tx, actor, p, { ...st, members: st.members ?? [] }, now);
          return renderGroup(tx, await getKind(tx, p.id, 'group'));
        });
      },

      /** PATCH: members added/removed/replaced, displayName/externalId replaced. Answers 204 (RFC 7644 §3.5.2): nothing is rendered. */
      async patch(actor: Actor, id: string, body: unknown): Promise<void> {
        requireScim(actor);
        const ops = parsePatch(body, SCHEMA.group);
        const now = clock.now();
        await store.transaction(async (tx) => {
          await lockAdmins(store, tx);
          const p = await getKind(tx, id, 'group');
          const externalId = (await store.identities.linksOf(tx, p.id)).find((l) => l.kind === 'scim_external')?.key;
          // Members as bare values: a membership change needs no member lookups to compute.
          const doc: Json = {
            schemas: [SCHEMA.group],
            id: p.id,
            ...(externalId !== undefined ? { externalId } : {}),
            displayName: p.name,
            members: (await store.members.members(tx, p.id)).map((m) => ({ value: m })),
          };
          const work = structuredClone(doc);
          for (const op of ops) applyOp(work, op, SCHEMA.group);
          if (!same(work.id, doc.id)) throw bad('mutability', 'id cannot be changed');
          const st = groupState(work);
          await writeGroup(tx, actor, p, { ...st, members: st.members ?? [] }, now);
        });
      },

      async delete(actor: Actor, id: string): Promise<void> {
        requireScim(actor);
        const now = clock.now();
        await store.transaction(async (tx) => {
          await lockAdmins(store, tx);
          const p = await getKind(tx, id, 'group');
          await w.deletePrincipal(tx, actor, p.id, now, { audit: VIA });
        });
      },
    },

    // ---------------------------------------------------------- discovery

    serviceProviderConfig(): Json {
      return {
        schemas: [SCHEMA.spc],
        documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: MAX_RESULTS },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: false },
        authenticationSchemes: [
          { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'Authorization: Bearer <SCIM token> (ELEVATE_SCIM_TOKEN, or one an administrator created)', primary: true },
        ],
        meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
      };
    },

    resourceTypes(): Json[] {
      return [
        {
          schemas: [SCHEMA.resourceType], id: 'User', name: 'User', endpoint: '/Users', description: 'People', schema: SCHEMA.user,
          schemaExtensions: [{ schema: SCHEMA.enterprise, required: false }],
          meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
        },
        {
          schemas: [SCHEMA.resourceType], id: 'Group', name: 'Group', endpoint: '/Groups', description: 'Groups', schema: SCHEMA.group,
          meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
        },
      ];
    },

    schemas(): Json[] {
      return SCHEMAS.map((s) => ({ ...s, meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` } }));
    },
  };
}

function usernameKeyOrNull(raw: string): string | null {
  try {
    return normalizeUsername(raw);
  } catch {
    return null;
  }
}

// ================================================================== schemas (RFC 7643 §7, the part Elevate keeps)

type AttrDef = Json;
function attr(name: string, type: string, o: { multi?: boolean; required?: boolean; caseExact?: boolean; mutability?: string; uniqueness?: string; sub?: AttrDef[]; description?: string } = {}): AttrDef {
  return {
    name,
    type,
    multiValued: o.multi ?? false,
    description: o.description ?? name,
    required: o.required ?? false,
    ...(type === 'string' || type === 'reference' ? { caseExact: o.caseExact ?? false } : {}),
    mutability: o.mutability ?? 'readWrite',
    returned: 'default',
    uniqueness: o.uniqueness ?? 'none',
    ...(o.sub ? { subAttributes: o.sub } : {}),
    ...(type === 'reference' ? { referenceTypes: ['User', 'Group'] } : {}),
  };
}

const SCHEMAS: Json[] = [
  {
    schemas: [SCHEMA.schema],
    id: SCHEMA.user,
    name: 'User',
    description: 'User account',
    attributes: [
      attr('userName', 'string', { required: true, uniqueness: 'server', description: 'Sign-in name; unique without case' }),
      attr('name', 'complex', { sub: [attr('formatted', 'string'), attr('familyName', 'string'), attr('givenName', 'string')] }),
      attr('displayName', 'string'),
      attr('emails', 'complex', { multi: true, sub: [attr('value', 'string'), attr('type', 'string'), attr('primary', 'boolean')], description: 'The primary (or first) value is kept' }),
      attr('active', 'boolean', { description: 'false suspends the principal, revokes its grants and ends its sessions' }),
    ],
  },
  {
    schemas: [SCHEMA.schema],
    id: SCHEMA.enterprise,
    name: 'EnterpriseUser',
    description: 'Enterprise user',
    attributes: [attr('manager', 'complex', { sub: [attr('value', 'string'), attr('$ref', 'reference')], description: 'Kept when the manager is a known user' })],
  },
  {
    schemas: [SCHEMA.schema],
    id: SCHEMA.group,
    name: 'Group',
    description: 'Group',
    attributes: [
      attr('displayName', 'string', { required: true }),
      attr('members', 'complex', {
        multi: true,
        sub: [attr('value', 'string', { mutability: 'immutable', caseExact: true }), attr('display', 'string', { mutability: 'readOnly' }), attr('type', 'string', { mutability: 'immutable' }), attr('$ref', 'reference', { mutability: 'immutable' })],
      }),
    ],
  },
];
