import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP, SocketAddress } from 'node:net';
import fc from 'fast-check';
import { type Cidr, ipInCidr, ipInNetworks, normalizeCidr, parseCidr, parseCidrs, parseIp } from '../../src/core/network.js';
import { Invalid } from '../../src/core/errors.js';

const FIELD = 'conditions.networks[2]';

function assertInvalid(fn: () => unknown, field = `settings.${FIELD}`, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Invalid, `expected Invalid, got ${String(e)}`);
    assert.equal(e.code, 'invalid_settings');
    assert.equal(e.details.field, field, `error was: ${e.message}`);
    assert.ok(e.message.startsWith(`${field}: `), e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

const nets = (...xs: string[]): Cidr[] => xs.map((x) => parseCidr(x, FIELD));

// ------------------------------------------------------------------------------------ examples

describe('parseCidr', () => {
  const accepted: [string, string, 4 | 6, number][] = [
    ['10.0.0.0/8', '10.0.0.0/8', 4, 8],
    ['0.0.0.0/0', '0.0.0.0/0', 4, 0],
    ['192.168.1.7/32', '192.168.1.7/32', 4, 32],
    ['192.168.1.7', '192.168.1.7/32', 4, 32],
    ['0.0.0.0', '0.0.0.0/32', 4, 32],
    ['255.255.255.255/32', '255.255.255.255/32', 4, 32],
    ['2001:db8::/32', '2001:db8::/32', 6, 32],
    ['2001:DB8:0:0:0:0:0:0/32', '2001:db8::/32', 6, 32],
    ['2001:0db8:0000:0000:0000:0000:0000:0001/128', '2001:db8::1/128', 6, 128],
    ['::1/128', '::1/128', 6, 128],
    ['::1', '::1/128', 6, 128],
    ['::/0', '::/0', 6, 0],
    ['::', '::/128', 6, 128],
    ['1::/16', '1::/16', 6, 16],
    ['fe80::/10', 'fe80::/10', 6, 10],
    ['1:2:3:4:5:6:7::/128', '1:2:3:4:5:6:7:0/128', 6, 128],
    ['1:0:0:2:0:0:0:3/128', '1:0:0:2::3/128', 6, 128], // longest zero run
    ['1:0:0:2:3:0:0:4/128', '1::2:3:0:0:4/128', 6, 128], // first of equal runs
    ['1:0:2:3:4:5:6:7/128', '1:0:2:3:4:5:6:7/128', 6, 128], // a single zero group is not compressed
    ['64:ff9b::192.0.2.33/128', '64:ff9b::c000:221/128', 6, 128], // embedded IPv4 outside the mapped range
    ['::10.0.0.1/128', '::a00:1/128', 6, 128], // IPv4-compatible (deprecated) stays IPv6
    // IPv4-mapped networks are IPv4 networks (96 bits fewer)
    ['::ffff:10.0.0.0/104', '10.0.0.0/8', 4, 8],
    ['::FFFF:a00:0/104', '10.0.0.0/8', 4, 8],
    ['::ffff:10.1.2.3', '10.1.2.3/32', 4, 32],
    ['::ffff:0:0/96', '0.0.0.0/0', 4, 0],
    // ... but a wider IPv6 network that contains the mapped range stays IPv6
    ['::ffff:0:0/95', '::fffe:0:0/95', 6, 95],
  ];
  for (const [input, text, v, prefix] of accepted) {
    it(`accepts ${input} as ${text}`, () => {
      const c = parseCidr(input, FIELD);
      assert.equal(c.text, text);
      assert.equal(c.v, v);
      assert.equal(c.prefix, prefix);
      assert.equal(c.bytes.length, v === 4 ? 4 : 16);
      assert.equal(normalizeCidr(input), text);
      assert.equal(normalizeCidr(text), text, 'canonical text is a fixed point');
    });
  }

  it('clears host bits beyond the prefix instead of rejecting them', () => {
    assert.equal(normalizeCidr('10.1.2.3/8'), '10.0.0.0/8');
    assert.equal(normalizeCidr('192.168.1.255/23'), '192.168.0.0/23');
    assert.equal(normalizeCidr('10.1.2.3/0'), '0.0.0.0/0');
    assert.equal(normalizeCidr('2001:db8:ffff::1/33'), '2001:db8:8000::/33');
    assert.equal(normalizeCidr('2001:db8::1/0'), '::/0');
    assert.deepEqual([...parseCidr('10.1.2.3/12', FIELD).bytes], [10, 0, 0, 0]);
    assert.ok(ipInNetworks('10.15.255.255', nets('10.1.2.3/12')));
    assert.ok(!ipInNetworks('10.16.0.0', nets('10.1.2.3/12')));
  });

  const rejected: [string, string, RegExp?][] = [
    ['prefix too long for IPv4', '10.0.0.0/33', /0 to 32/],
    ['prefix too long for IPv6', '::/129', /0 to 128/],
    ['three octets', '1.2.3'],
    ['five octets', '1.2.3.4.5'],
    ['octet above 255', '256.0.0.0/8'],
    ['leading zero in an octet', '010.0.0.1', /leading zero/],
    ['leading zero in the last octet', '10.0.0.01/32', /leading zero/],
    ['double zero octet', '10.00.0.0/16', /leading zero/],
    ['leading zero in a mapped octet', '::ffff:010.0.0.1'],
    ['leading zero in the prefix', '10.0.0.0/08', /no leading zeros/],
    ['non-hex group', 'gg::1'],
    ['nine groups', '1:2:3:4:5:6:7:8:9'],
    ['eight groups and ::', '1::2:3:4:5:6:7:8'],
    ['five hex digits', '00000::1'],
    ['two ::', '1::2::3'],
    ['triple colon', '1:::2'],
    ['leading single colon', ':1:2:3:4:5:6:7'],
    ['trailing single colon', '1:2:3:4:5:6:7:'],
    ['IPv4 tail not last', '::1.2.3.4:5'],
    ['IPv4 before ::', '1.2.3.4::'],
    ['too many groups with an IPv4 tail', '1:2:3:4:5:6:7:1.2.3.4'],
    ['empty string', '', /empty/],
    ['slash without a prefix', '10.0.0.0/', /prefix length/],
    ['prefix without an address', '/8'],
    ['two slashes', '10.0.0.0/8/8'],
    ['negative prefix', '10.0.0.0/-1'],
    ['hex prefix', '10.0.0.0/0x8'],
    ['zone id', 'fe80::1%eth0', /zone/],
    ['zone id with a prefix', 'fe80::%eth0/64', /zone/],
    ['leading space', ' 10.0.0.0/8', /whitespace/],
    ['trailing space', '10.0.0.0/8 ', /whitespace/],
    ['inner space', '10.0.0.0 /8', /whitespace/],
    ['trailing newline', '10.0.0.0/8\n', /whitespace/],
    ['hostname', 'example.com'],
    ['integer address', '167772160/8'],
    ['absurdly long input', '1'.repeat(10_000), /too long/],
  ];
  for (const [name, input, message] of rejected) {
    it(`rejects ${name} (${JSON.stringify(input.slice(0, 40))})`, () => {
      assertInvalid(() => parseCidr(input, FIELD), `settings.${FIELD}`, message);
    });
  }

  it('rejects a non-string at runtime', () => {
    assertInvalid(() => parseCidr(42 as unknown as string, FIELD));
    assertInvalid(() => parseCidr(null as unknown as string, FIELD));
  });

  it('parseCidrs names the element that failed', () => {
    assert.deepEqual(
      parseCidrs(['10.0.0.0/8', '::1'], 'conditions.networks').map((c) => c.text),
      ['10.0.0.0/8', '::1/128'],
    );
    assertInvalid(() => parseCidrs(['10.0.0.0/8', '::1', 'nope'], 'conditions.networks'), 'settings.conditions.networks[2]');
    assertInvalid(() => parseCidrs('10.0.0.0/8' as unknown as string[], 'conditions.networks'), 'settings.conditions.networks');
  });

  it('normalizeCidr names a default field', () => {
    assertInvalid(() => normalizeCidr('nope'), 'settings.networks');
  });
});

describe('parseIp', () => {
  it('parses the forms Node reports', () => {
    assert.deepEqual(parseIp('10.1.2.3'), { v: 4, bytes: Uint8Array.from([10, 1, 2, 3]) });
    assert.deepEqual(parseIp('::ffff:10.1.2.3'), { v: 4, bytes: Uint8Array.from([10, 1, 2, 3]) });
    assert.deepEqual(parseIp('::FFFF:a01:203'), { v: 4, bytes: Uint8Array.from([10, 1, 2, 3]) });
    assert.deepEqual(parseIp('::1'), { v: 6, bytes: Uint8Array.from([...Array(15).fill(0), 1]) });
    const zoned = parseIp('fe80::1%eth0');
    assert.equal(zoned?.v, 6);
    assert.deepEqual(zoned?.bytes, parseIp('fe80::1')?.bytes);
    assert.deepEqual(parseIp('fe80::1%2')?.bytes, parseIp('fe80::1')?.bytes);
  });

  for (const bad of ['', ' 10.1.2.3', '10.1.2.3 ', '010.1.2.3', '10.1.2', '10.1.2.3/32', '::1/128', 'fe80::1%', '10.1.2.3%eth0', 'fe80::1%a%b', 'fe80::1%a b', 'gg::1', 'localhost', '1'.repeat(200)]) {
    it(`rejects ${JSON.stringify(bad.slice(0, 40))}`, () => {
      assert.equal(parseIp(bad), null);
    });
  }
});

describe('ipInNetworks', () => {
  it('matches IPv4, IPv6 and single hosts', () => {
    const list = nets('10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1');
    for (const yes of ['10.0.0.0', '10.255.255.255', '192.168.1.7', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '::1', '2001:DB8::1']) {
      assert.equal(ipInNetworks(yes, list), true, yes);
    }
    for (const no of ['11.0.0.0', '9.255.255.255', '192.168.1.8', '2001:db9::', '2001:db7:ffff::', '::2', '::']) {
      assert.equal(ipInNetworks(no, list), false, no);
    }
  });

  it('matches IPv4-mapped client addresses against IPv4 networks (dual-stack sockets)', () => {
    const list = nets('10.0.0.0/8');
    assert.equal(ipInNetworks('::ffff:10.1.2.3', list), true);
    assert.equal(ipInNetworks('::ffff:a01:203', list), true);
    assert.equal(ipInNetworks('0:0:0:0:0:ffff:10.1.2.3', list), true);
    assert.equal(ipInNetworks('::ffff:11.1.2.3', list), false);
    // and an IPv4 client against a mapped network written in IPv6
    assert.equal(ipInNetworks('10.1.2.3', nets('::ffff:10.0.0.0/104')), true);
    assert.equal(ipInNetworks('::ffff:10.1.2.3', nets('::ffff:10.0.0.0/104')), true);
    // IPv4-compatible addresses (::a.b.c.d) are not IPv4 clients
    assert.equal(ipInNetworks('::10.1.2.3', list), false);
  });

  it('keeps the families apart: ::/0 is "any IPv6 client", 0.0.0.0/0 is "any IPv4 client"', () => {
    assert.equal(ipInNetworks('10.1.2.3', nets('::/0')), false);
    assert.equal(ipInNetworks('::ffff:10.1.2.3', nets('::/0')), false);
    assert.equal(ipInNetworks('2001:db8::1', nets('::/0')), true);
    assert.equal(ipInNetworks('2001:db8::1', nets('0.0.0.0/0')), false);
    assert.equal(ipInNetworks('10.1.2.3', nets('0.0.0.0/0')), true);
    assert.equal(ipInNetworks('::ffff:10.1.2.3', nets('0.0.0.0/0')), true);
  });

  it('/32 and /128 are single hosts, /0 is the whole family', () => {
    assert.equal(ipInNetworks('1.2.3.4', nets('1.2.3.4/32')), true);
    assert.equal(ipInNetworks('1.2.3.5', nets('1.2.3.4/32')), false);
    assert.equal(ipInNetworks('2001:db8::1', nets('2001:db8::1/128')), true);
    assert.equal(ipInNetworks('2001:db8::2', nets('2001:db8::1/128')), false);
    assert.equal(ipInNetworks('255.255.255.255', nets('0.0.0.0/0')), true);
    assert.equal(ipInNetworks('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', nets('::/0')), true);
  });

  it('strips the zone of a link-local client', () => {
    assert.equal(ipInNetworks('fe80::1%eth0', nets('fe80::/10')), true);
    assert.equal(ipInNetworks('fe80::1%eth0', nets('fe80::1')), true);
  });

  it('is false for a missing or unparseable address, or no networks', () => {
    const list = nets('0.0.0.0/0', '::/0');
    assert.equal(ipInNetworks(null, list), false);
    assert.equal(ipInNetworks(undefined, list), false);
    assert.equal(ipInNetworks('', list), false);
    assert.equal(ipInNetworks('not-an-ip', list), false);
    assert.equal(ipInNetworks('010.0.0.1', list), false);
    assert.equal(ipInNetworks('10.0.0.1', []), false);
  });

  it('ipInCidr agrees on a parsed address', () => {
    const a = parseIp('::ffff:10.1.2.3')!;
    assert.equal(ipInCidr(a, parseCidr('10.0.0.0/8', FIELD)), true);
    assert.equal(ipInCidr(a, parseCidr('::/0', FIELD)), false);
  });

  it('compiled networks are frozen', () => {
    const c = parseCidr('10.0.0.0/8', FIELD);
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.words));
  });
});

// ------------------------------------------------------------------------------------ properties

type Kind = 'v4' | 'v6' | 'mapped';
/** Biased towards a few values so that random networks and addresses overlap, and zero runs appear. */
const byte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 0, 0, 1, 10, 127, 128, 255) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const bytes = (n: number) => fc.array(byte, { minLength: n, maxLength: n });

const style = fc.record({ pad: fc.boolean(), upper: fc.boolean(), compress: fc.nat({ max: 3 }), mixed: fc.boolean(), bare: fc.boolean(), zone: fc.boolean() });
type Style = { pad: boolean; upper: boolean; compress: number; mixed: boolean; bare: boolean; zone: boolean };

const dotted = (b: readonly number[]): string => b.join('.');
const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function groupsOf(b: readonly number[]): number[] {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  return g;
}

/** Uncompressed lower-case hex: the form handed to the BlockList oracle. */
function fullV6(b: readonly number[]): string {
  return groupsOf(b).map((g) => g.toString(16)).join(':');
}

/** Any valid IPv6 spelling: padded or not, either case, one zero run compressed or none, IPv4 tail or not. */
function renderV6(b: readonly number[], s: Style): string {
  let tokens = groupsOf(b).map((g) => (s.pad ? g.toString(16).padStart(4, '0') : g.toString(16)));
  if (s.upper) tokens = tokens.map((t) => t.toUpperCase());
  const slots = s.mixed ? 6 : 8;
  if (s.mixed) tokens = [...tokens.slice(0, 6), dotted(b.slice(12))];
  const runs: [number, number][] = [];
  for (let i = 0; i < slots; ) {
    if (groupsOf(b)[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < slots && groupsOf(b)[j] === 0) j++;
    runs.push([i, j]);
    i = j;
  }
  const pick = runs[s.compress - 1];
  if (!pick) return tokens.join(':');
  return `${tokens.slice(0, pick[0]).join(':')}::${tokens.slice(pick[1]).join(':')}`;
}

interface NetSpec { kind: Kind; b: number[]; prefix: number; style: Style }
/** v4: 4 bytes; v6 and mapped: 16 bytes (mapped = ::ffff:a.b.c.d with any prefix 0..128). */
const netSpec: fc.Arbitrary<NetSpec> = fc.oneof(
  fc.record({ kind: fc.constant<Kind>('v4'), b: bytes(4), prefix: fc.integer({ min: 0, max: 32 }), style }),
  fc.record({ kind: fc.constant<Kind>('v6'), b: bytes(16), prefix: fc.integer({ min: 0, max: 128 }), style }),
  fc.record({ kind: fc.constant<Kind>('mapped'), b: bytes(4).map((v4) => [...MAPPED, ...v4]), prefix: fc.integer({ min: 0, max: 128 }), style }),
);

function netText(n: NetSpec): string {
  const addr = n.kind === 'v4' ? dotted(n.b) : renderV6(n.b, n.style);
  const full = n.kind === 'v4' ? 32 : 128;
  return n.style.bare && n.prefix === full ? addr : `${addr}/${n.prefix}`;
}

interface AddrSpec { near: boolean; from: number; keep: number; rnd: number[]; kind: Kind; asMapped: boolean; style: Style }
const addrSpec: fc.Arbitrary<AddrSpec> = fc.record({
  near: fc.boolean(),
  from: fc.nat(),
  keep: fc.nat({ max: 128 }),
  rnd: bytes(16),
  kind: fc.constantFrom<Kind>('v4', 'v6', 'mapped'),
  asMapped: fc.boolean(),
  style,
});

interface Addr { kind: Kind; b: number[]; text: string }

/** An address, often sharing a random number of leading bits with one of the networks. */
function makeAddr(a: AddrSpec, specs: readonly NetSpec[]): Addr {
  let kind = a.kind;
  let b: number[];
  const base = specs.length > 0 && a.near ? specs[a.from % specs.length]! : undefined;
  if (base) {
    // v4 and mapped networks both hold IPv4 clients; write them either way
    kind = base.kind === 'v6' ? 'v6' : a.asMapped ? 'mapped' : 'v4';
    const baseBits = base.kind === 'v6' ? base.b : base.kind === 'v4' ? [...MAPPED, ...base.b] : base.b;
    const keep = Math.min(a.keep, 128);
    b = baseBits.map((x, i) => {
      const bits = Math.min(8, Math.max(0, keep - 8 * i));
      const mask = (0xff << (8 - bits)) & 0xff;
      return (x & mask) | (a.rnd[i]! & ~mask & 0xff);
    });
    if (kind !== 'v6') b = [...MAPPED, ...b.slice(12)];
  } else {
    b = kind === 'v6' ? a.rnd : [...MAPPED, ...a.rnd.slice(12)];
  }
  const text =
    kind === 'v4'
      ? dotted(b.slice(12))
      : kind === 'mapped'
        ? a.style.mixed
          ? `::ffff:${dotted(b.slice(12))}`
          : renderV6(b, a.style)
        : renderV6(b, a.style) + (a.style.zone ? '%eth0' : '');
  return { kind, b, text };
}

function isMappedBytes(b: readonly number[]): boolean {
  return MAPPED.every((x, i) => b[i] === x);
}

describe('properties (oracle: node:net BlockList)', () => {
  it('ipInNetworks agrees with BlockList, families kept apart', () => {
    fc.assert(
      fc.property(fc.array(netSpec, { maxLength: 6 }), fc.array(addrSpec, { minLength: 1, maxLength: 8 }), (specs, addrs) => {
        const compiled = specs.map((n) => parseCidr(netText(n), FIELD));
        // IPv4 clients: IPv4 networks, plus IPv6 networks that lie inside ::ffff:0:0/96
        // (BlockList maps an IPv4 address to ::ffff:a.b.c.d when checking it against an IPv6 subnet).
        // IPv6 clients: IPv6 networks only.
        const v4list = new BlockList();
        const v6list = new BlockList();
        for (const n of specs) {
          if (n.kind === 'v4') v4list.addSubnet(dotted(n.b), n.prefix, 'ipv4');
          else {
            v6list.addSubnet(fullV6(n.b), n.prefix, 'ipv6');
            if (n.prefix >= 96) v4list.addSubnet(fullV6(n.b), n.prefix, 'ipv6');
          }
        }
        for (const spec of addrs) {
          const a = makeAddr(spec, specs);
          const ipv4 = a.kind !== 'v6' || isMappedBytes(a.b);
          const expected = ipv4 ? v4list.check(dotted(a.b.slice(12)), 'ipv4') : v6list.check(fullV6(a.b), 'ipv6');
          assert.equal(ipInNetworks(a.text, compiled), expected, `${a.text} in [${specs.map(netText).join(', ')}]`);
          // and one network at a time, through ipInCidr
          const parsed = parseIp(a.text);
          assert.ok(parsed, a.text);
          assert.equal(compiled.some((c) => ipInCidr(parsed, c)), expected);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('canonical text is stable, reparses to the same network, and matches inet_ntop for IPv6', () => {
    fc.assert(
      fc.property(netSpec, (n) => {
        const c = parseCidr(netText(n), FIELD);
        assert.equal(normalizeCidr(c.text), c.text);
        const again = parseCidr(c.text, FIELD);
        assert.deepEqual([...again.bytes], [...c.bytes]);
        assert.equal(again.prefix, c.prefix);
        assert.equal(again.v, c.v);
        // expected network bytes, masked here independently
        const asV4 = n.kind === 'v4' || (n.prefix >= 96 && isMappedBytes(n.b));
        const raw = n.kind === 'v4' ? n.b : asV4 ? n.b.slice(12) : n.b;
        const prefix = n.kind === 'v4' || !asV4 ? n.prefix : n.prefix - 96;
        const masked = raw.map((x, i) => x & ((0xff << (8 - Math.min(8, Math.max(0, prefix - 8 * i)))) & 0xff));
        assert.equal(c.v, asV4 ? 4 : 6);
        assert.equal(c.prefix, prefix);
        assert.deepEqual([...c.bytes], masked);
        if (c.v === 4) {
          assert.equal(c.text, `${dotted(masked)}/${prefix}`);
        } else {
          // libuv's inet_ntop writes ::a.b.c.d / ::ffff:a.b.c.d in mixed notation; RFC 5952 only asks
          // for that in the mapped range, which is IPv4 here. Compare the rest.
          const g = groupsOf(masked);
          const mixedByNode = g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || (g[5] === 0 && g[6] !== 0));
          if (!mixedByNode) {
            assert.equal(c.text, `${new SocketAddress({ address: fullV6(masked), family: 'ipv6' }).address}/${prefix}`);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseIp accepts exactly what net.isIP accepts, and reads the same address', () => {
    const token = fc.oneof(
      fc.constantFrom(':', '::', '.', '%', '%eth0', '0', '00', '1', 'ffff', 'FFFF', '0db8', '12345', 'g', '256'),
      fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
      bytes(4).map(dotted),
    );
    const soup = fc.array(token, { maxLength: 12 }).map((t) => t.join(''));
    // valid spellings, then maybe one edit: most stay near the boundary between valid and not
    const edited = fc
      .tuple(fc.oneof(bytes(4).map(dotted), fc.tuple(bytes(16), style).map(([b, st]) => renderV6(b, st) + (st.zone ? '%eth0' : ''))), fc.nat(), fc.nat({ max: 2 }), token)
      .map(([s, at, op, t]) => {
        const pos = at % (s.length + 1);
        if (op === 0) return s;
        if (op === 1) return s.slice(0, pos) + t + s.slice(pos);
        return s.slice(0, pos) + s.slice(pos + 1);
      });
    fc.assert(
      fc.property(fc.oneof(soup, edited), (s) => {
        const p = parseIp(s);
        const family = isIP(s);
        assert.equal(p !== null, family !== 0, `${JSON.stringify(s)}: parseIp ${p ? 'accepts' : 'rejects'}, isIP says ${family}`);
        if (p === null) return;
        // Node's own rendering of the address must parse to the same bytes. (SocketAddress drops the
        // zone anyway, and rejects a zoned address longer than its 46-byte inet_pton buffer.)
        const unzoned = s.split('%')[0]!;
        const canonical = new SocketAddress({ address: unzoned, family: family === 4 ? 'ipv4' : 'ipv6' }).address;
        assert.deepEqual(parseIp(canonical), p, `${s} vs ${canonical}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('near-miss network text is a clean Invalid naming the field, or an address net.isIP accepts too', () => {
    fc.assert(
      fc.property(netSpec, fc.nat(), fc.constantFrom('x', ':', '.', '/', '::', '1', '%0', ' '), (n, at, junk) => {
        const good = netText(n);
        const pos = at % (good.length + 1);
        const s = good.slice(0, pos) + junk + good.slice(pos);
        let ours: Cidr | null = null;
        try {
          ours = parseCidr(s, FIELD);
        } catch (e) {
          assert.ok(e instanceof Invalid);
          assert.equal(e.details.field, `settings.${FIELD}`);
        }
        // if we accepted it, Node must agree it is an address (with the prefix we read)
        if (ours) {
          const slash = s.indexOf('/');
          const addr = slash === -1 ? s : s.slice(0, slash);
          assert.notEqual(isIP(addr), 0, `accepted ${JSON.stringify(s)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
