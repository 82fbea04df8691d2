import { Invalid } from './errors.js';

/**
 * Network conditions: "this role may only be activated from these networks".
 *
 * Settings hold networks as canonical CIDR text (`normalizeCidr`); at load they are
 * compiled once (`parseCidr`) into network/mask words so that `ipInNetworks` parses the
 * client address once and then does a few integer compares per network.
 *
 * Choices, all deliberate:
 * - A bare address is a single-host network: `10.1.2.3` is `10.1.2.3/32`, `::1` is `::1/128`.
 * - Host bits beyond the prefix are accepted and cleared: `10.1.2.3/8` is stored as `10.0.0.0/8`.
 *   The prefix says what the admin meant; the stored (canonical) form shows exactly what applies.
 *   (This is also what `node:net` BlockList and most routers do.)
 * - Whitespace is rejected, not trimmed, like every other identifier in settings: a stray space
 *   usually means a templating mistake, and the error names the field so it is a one-line fix.
 * - IPv4 octets with leading zeros (`010.0.0.1`) are rejected: some parsers read them as octal.
 *   Prefix lengths with leading zeros (`/08`) are rejected too. Hex groups in IPv6 may carry
 *   leading zeros (`2001:0db8::`), as RFC 4291 allows.
 * - Zone ids (`fe80::1%eth0`) are rejected in networks; a client address has its zone stripped.
 * - IPv4 and IPv6 are separate families. An IPv4-mapped client address (`::ffff:10.1.2.3`, which is
 *   how Node reports IPv4 clients on a dual-stack socket) IS the IPv4 address `10.1.2.3`, and an
 *   IPv6 network inside `::ffff:0:0/96` (`::ffff:10.0.0.0/104`) IS the IPv4 network `10.0.0.0/8`.
 *   An IPv6 network that merely contains the mapped range (`::/0`, `::/64`) does NOT match IPv4
 *   clients: to allow everything, list `0.0.0.0/0` and `::/0`. This fails closed; note that
 *   BlockList differs here (it matches IPv4 addresses against `::/0`).
 * - Canonical text: IPv4 dotted decimal; IPv6 per RFC 5952 (lower case, no leading zeros, the
 *   longest run of two or more zero groups — the first on a tie — written `::`). Mapped networks
 *   are written in their IPv4 form.
 */

export interface IpAddress {
  readonly v: 4 | 6;
  /** 4 bytes for IPv4 (including IPv4-mapped IPv6), 16 for IPv6. */
  readonly bytes: Uint8Array;
}

export interface Cidr {
  readonly v: 4 | 6;
  /** The network address, host bits cleared: 4 or 16 bytes. */
  readonly bytes: Uint8Array;
  /** 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefix: number;
  /** Canonical text: what `normalizeCidr` returns and what settings store. */
  readonly text: string;
  /** Network address as unsigned big-endian 32-bit words (1 for IPv4, 4 for IPv6), precomputed for matching. */
  readonly words: readonly number[];
  /** The prefix mask in the same layout as `words`. */
  readonly masks: readonly number[];
}

/** The longest valid network text is 45 characters of address plus `/128`. */
const MAX_CIDR_TEXT = 49;
/** Client addresses may carry a zone id; allow some room for it. */
const MAX_IP_TEXT = 96;
const ZONE = /^[0-9A-Za-z.:_-]+$/;

function bad(field: string, message: string): never {
  throw new Invalid('invalid_settings', `settings.${field}: ${message}`, { field: `settings.${field}` });
}

function show(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

// ------------------------------------------------------------------------------------ parsing

/** Strict dotted-quad IPv4 into out[at..at+4]: exactly four decimal octets 0–255, no leading zeros. */
function parseV4(s: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a virtual '.' closes the last octet
    if (c === 46) {
      if (digits === 0 || part === 4) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; // leading zero: "01", "00"
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Colon-separated groups into `words` (16-bit values). The last group may be a dotted IPv4
 * address (two words) when `v4Tail`. Empty groups are malformed here: `::` is split off before.
 */
function parseGroups(s: string, v4Tail: boolean, words: number[]): boolean {
  if (s === '') return true;
  const groups = s.split(':');
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (v4Tail && g === groups.length - 1 && group.includes('.')) {
      const b = new Uint8Array(4);
      if (!parseV4(group, b, 0)) return false;
      words.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      return true;
    }
    if (group.length === 0 || group.length > 4) return false;
    let w = 0;
    for (let i = 0; i < group.length; i++) {
      const h = hexValue(group.charCodeAt(i));
      if (h < 0) return false;
      w = (w << 4) | h;
    }
    words.push(w);
  }
  return true;
}

/** IPv6 text (RFC 4291 section 2.2, without a zone) into 16 bytes. */
function parseV6(s: string, out: Uint8Array): boolean {
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return false; // two '::', or ':::'
  const head: number[] = [];
  const tail: number[] = [];
  if (dbl === -1) {
    if (!parseGroups(s, true, head) || head.length !== 8) return false;
  } else {
    if (!parseGroups(s.slice(0, dbl), false, head) || !parseGroups(s.slice(dbl + 2), true, tail)) return false;
    if (head.length + tail.length > 7) return false; // '::' stands for at least one zero group
  }
  out.fill(0);
  for (let i = 0; i < head.length; i++) {
    out[2 * i] = head[i]! >> 8;
    out[2 * i + 1] = head[i]! & 0xff;
  }
  const start = 16 - 2 * tail.length;
  for (let i = 0; i < tail.length; i++) {
    out[start + 2 * i] = tail[i]! >> 8;
    out[start + 2 * i + 1] = tail[i]! & 0xff;
  }
  return true;
}

/** Is this 16-byte address inside ::ffff:0:0/96? */
function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * A client address as Node reports it (`req.ip`, `socket.remoteAddress`): IPv4, IPv6, or
 * IPv6 with a `%zone` (stripped). IPv4-mapped IPv6 comes back as the IPv4 address (v: 4).
 * Anything else, including surrounding whitespace, is null.
 */
export function parseIp(s: string): IpAddress | null {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_IP_TEXT) return null;
  let addr = s;
  const pct = s.indexOf('%');
  if (pct !== -1) {
    if (!ZONE.test(s.slice(pct + 1))) return null; // interface names and numbers, as Node writes them
    addr = s.slice(0, pct);
    if (!addr.includes(':')) return null; // zones are an IPv6 thing
  }
  if (addr.includes(':')) {
    const b = new Uint8Array(16);
    if (!parseV6(addr, b)) return null;
    return isV4Mapped(b) ? { v: 4, bytes: b.slice(12) } : { v: 6, bytes: b };
  }
  const b = new Uint8Array(4);
  return parseV4(addr, b, 0) ? { v: 4, bytes: b } : null;
}

// ------------------------------------------------------------------------------------ networks

function parsePrefix(s: string): number {
  if (s.length === 0 || s.length > 3) return -1;
  if (s.length > 1 && s.charCodeAt(0) === 48) return -1; // "/08"
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

function maskBytes(b: Uint8Array, prefix: number): void {
  for (let i = 0; i < b.length; i++) {
    const bits = Math.min(8, Math.max(0, prefix - 8 * i));
    b[i] = b[i]! & ((0xff << (8 - bits)) & 0xff);
  }
}

function toWords(b: Uint8Array): number[] {
  const words: number[] = [];
  for (let i = 0; i < b.length; i += 4) words.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  return words;
}

function maskWords(count: number, prefix: number): number[] {
  const masks: number[] = [];
  for (let i = 0; i < count; i++) {
    const bits = Math.min(32, Math.max(0, prefix - 32 * i));
    masks.push(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  }
  return masks;
}

function formatV4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 section 4: lower case, no leading zeros, longest (first on a tie) run of >= 2 zero groups as '::'. */
function formatV6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((w) => w.toString(16)).join(':');
  if (bestAt === -1) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

function compile(v: 4 | 6, bytes: Uint8Array, prefix: number): Cidr {
  maskBytes(bytes, prefix);
  const text = `${v === 4 ? formatV4(bytes) : formatV6(bytes)}/${prefix}`;
  return Object.freeze({ v, bytes, prefix, text, words: Object.freeze(toWords(bytes)), masks: Object.freeze(maskWords(bytes.length / 4, prefix)) });
}

/**
 * A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, `::ffff:10.0.0.0/104`) or a bare
 * address (a single host). `field` names the setting in errors, e.g. `conditions.networks[2]`;
 * errors are `Invalid('invalid_settings', 'settings.<field>: ...', { field: 'settings.<field>' })`.
 */
export function parseCidr(s: string, field: string): Cidr {
  if (typeof s !== 'string') bad(field, 'must be a string like 10.0.0.0/8 or 2001:db8::/32');
  if (s.length === 0) bad(field, 'must not be empty; write a network like 10.0.0.0/8 or 2001:db8::/32');
  if (s.length > MAX_CIDR_TEXT) bad(field, `${show(s)} is too long to be a network`);
  if (/\s/.test(s)) bad(field, `${show(s)} contains whitespace; write the network without spaces`);
  if (s.includes('%')) bad(field, `${show(s)} has a zone id (%...), which a network cannot have`);

  const slash = s.indexOf('/');
  const addr = slash === -1 ? s : s.slice(0, slash);
  const v6 = addr.includes(':');
  const max = v6 ? 128 : 32;
  let prefix = max;
  if (slash !== -1) {
    prefix = parsePrefix(s.slice(slash + 1));
    if (prefix < 0 || prefix > max) {
      bad(field, `${show(s)} needs a prefix length from 0 to ${max} after the slash (no leading zeros)`);
    }
  }

  if (!v6) {
    const b = new Uint8Array(4);
    if (!parseV4(addr, b, 0)) {
      if (/(^|\.)0\d/.test(addr) && /^[\d.]+$/.test(addr)) {
        bad(field, `${show(s)} has an octet with a leading zero, which some systems read as octal; write it without`);
      }
      bad(field, `${show(s)} is not an IPv4 or IPv6 network like 10.0.0.0/8 or 2001:db8::/32`);
    }
    return compile(4, b, prefix);
  }
  const b = new Uint8Array(16);
  if (!parseV6(addr, b)) bad(field, `${show(s)} is not an IPv4 or IPv6 network like 10.0.0.0/8 or 2001:db8::/32`);
  // A network inside ::ffff:0:0/96 holds only IPv4-mapped addresses, which parseIp reports as
  // IPv4: it is the IPv4 network with 96 fewer prefix bits.
  if (prefix >= 96 && isV4Mapped(b)) return compile(4, b.slice(12), prefix - 96);
  return compile(6, b, prefix);
}

/** Parse a list, naming each element `<field>[i]` in errors. */
export function parseCidrs(list: readonly string[], field: string): Cidr[] {
  if (!Array.isArray(list)) bad(field, 'must be a list of networks like ["10.0.0.0/8", "2001:db8::/32"]');
  return list.map((s, i) => parseCidr(s, `${field}[${i}]`));
}

/** Canonical text for storing: `10.1.2.3/8` → `10.0.0.0/8`, `2001:DB8:0:0::/32` → `2001:db8::/32`, `::1` → `::1/128`. */
export function normalizeCidr(s: string, field = 'networks'): string {
  return parseCidr(s, field).text;
}

function contains(net: Cidr, words: readonly number[]): boolean {
  const nw = net.words;
  const nm = net.masks;
  for (let i = 0; i < nw.length; i++) {
    if (((words[i]! & nm[i]!) >>> 0) !== nw[i]) return false;
  }
  return true;
}

/** Is the address in `net`? Families must agree (IPv4-mapped addresses are IPv4, see above). */
export function ipInCidr(ip: IpAddress, net: Cidr): boolean {
  return ip.v === net.v && contains(net, toWords(ip.bytes));
}

/** Is the client address (as Node reports it) in any of `nets`? False for a missing or unparseable address. */
export function ipInNetworks(ip: string | null | undefined, nets: readonly Cidr[]): boolean {
  if (ip == null || nets.length === 0) return false;
  const a = parseIp(ip);
  if (a === null) return false;
  const words = toWords(a.bytes);
  for (const net of nets) {
    if (net.v === a.v && contains(net, words)) return true;
  }
  return false;
}
