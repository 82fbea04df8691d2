import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { covers, isValidScope, MAX_SCOPE_LENGTH, parseScope } from '../../src/core/scope.js';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { normalizeId, parseId } from '../../src/core/ids.js';
import { checkJustification } from '../../src/core/justification.js';
import { DEFAULT_SETTINGS, effectiveSettings, normalizeSettings } from '../../src/core/settings.js';
import { Invalid } from '../../src/core/errors.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Assert that `fn` throws an Invalid with `code` whose details.field is `field`. */
function assertInvalid(fn: () => unknown, code: string, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Invalid, `expected Invalid, got ${String(e)}`);
    assert.equal(e.kind, 'invalid');
    assert.equal(e.code, code);
    if (field !== undefined) assert.equal(e.details.field, field, `error was: ${e.message}`);
    return true;
  });
}

// ------------------------------------------------------------------------------------ scopes

describe('parseScope', () => {
  for (const ok of ['/', '/prod', '/prod/payments', '/dev/a/b', '/prod/payments-eu_1.x:y']) {
    it(`accepts ${JSON.stringify(ok)}`, () => {
      assert.equal(parseScope(ok), ok);
      assert.equal(isValidScope(ok), true);
    });
  }

  const rejected: [string, unknown][] = [
    ['double slash', '//'],
    ['trailing slash', '/prod/'],
    ['empty segment', '/prod//x'],
    ['dot-dot at the end', '/prod/..'],
    ['dot-dot at the start', '/../x'],
    ['single dot', '/prod/./x'],
    ['dot-dot inside a segment', '/prod/a..b'],
    ['relative path', 'prod'],
    ['empty string', ''],
    ['space in a segment', '/prod/pay ments'],
    ['backslash', '/prod\\payments'],
    ['segment starting with a dash', '/-prod'],
    ['segment longer than 64 characters', '/' + 'a'.repeat(65)],
    ['non-string', 42],
    ['null', null],
  ];
  for (const [name, raw] of rejected) {
    it(`rejects ${name} (${JSON.stringify(raw)})`, () => {
      assertInvalid(() => parseScope(raw), 'invalid_scope', 'scope');
      if (typeof raw === 'string') assert.equal(isValidScope(raw), false);
    });
  }

  it('names the field it was given', () => {
    assertInvalid(() => parseScope('/prod/', 'eligibility.scope'), 'invalid_scope', 'eligibility.scope');
  });

  it(`accepts a path of exactly ${MAX_SCOPE_LENGTH} characters and rejects one character more`, () => {
    // 8 segments of 63 characters, each with its leading slash: 8 * 64 = 512.
    const exact = ('/' + 'a'.repeat(63)).repeat(8);
    assert.equal(exact.length, MAX_SCOPE_LENGTH);
    assert.equal(parseScope(exact), exact);
    const overByOne = ('/' + 'a'.repeat(63)).repeat(7) + '/' + 'a'.repeat(64);
    assert.equal(overByOne.length, MAX_SCOPE_LENGTH + 1);
    assertInvalid(() => parseScope(overByOne), 'invalid_scope');
    assertInvalid(() => parseScope('/a'.repeat(1000)), 'invalid_scope');
  });
});

describe('covers', () => {
  const table: [string, string, boolean][] = [
    ['/', '/', true],
    ['/', '/prod/payments', true],
    ['/prod', '/prod', true],
    ['/prod', '/prod/payments', true],
    ['/prod', '/prod/payments/eu', true],
    ['/prod/payments', '/prod/paymentsX', false], // the sibling-prefix trap
    ['/prod/payments', '/prod/payments-eu', false],
    ['/prod', '/production', false],
    ['/prod/payments', '/prod', false], // a grant below never covers above
    ['/prod', '/', false],
    ['/prod', '/dev', false],
  ];
  for (const [granted, target, expected] of table) {
    it(`${granted} ${expected ? 'covers' : 'does not cover'} ${target}`, () => {
      assert.equal(covers(granted, target), expected);
    });
  }

  // Segments chosen so that prefixes collide often: a, ab, prod, prodX.
  const segment = fc.constantFrom('a', 'ab', 'b', 'prod', 'prodX', 'p');
  const scope = fc.array(segment, { maxLength: 4 }).map((segs) => (segs.length === 0 ? '/' : '/' + segs.join('/')));

  it('covers(a, b) iff b === a, or b starts with a + "/", or a is the root (property)', () => {
    fc.assert(
      fc.property(scope, scope, (a, b) => {
        const expected = a === '/' || b === a || b.startsWith(a + '/');
        assert.equal(covers(a, b), expected, `covers(${a}, ${b})`);
      }),
      { numRuns: 2000 },
    );
  });

  it('is reflexive and transitive on valid scopes (property)', () => {
    fc.assert(
      fc.property(scope, scope, scope, (a, b, c) => {
        assert.equal(covers(a, a), true);
        if (covers(a, b) && covers(b, c)) assert.equal(covers(a, c), true);
        if (covers(a, b) && covers(b, a)) assert.equal(a, b);
      }),
      { numRuns: 2000 },
    );
  });
});

// ------------------------------------------------------------------------------------ durations

describe('parseDuration', () => {
  const accepted: [string, number][] = [
    ['PT30M', 30 * MIN],
    ['PT1H30M', 90 * MIN],
    ['PT1H', HOUR],
    ['P1D', DAY],
    ['P2W', 14 * DAY],
    ['P1DT2H', DAY + 2 * HOUR],
    ['PT0.5S', 500],
    ['PT90S', 90_000],
  ];
  for (const [raw, ms] of accepted) {
    it(`accepts ${raw} as ${ms} ms`, () => assert.equal(parseDuration(raw), ms));
  }

  for (const raw of ['P1Y', 'P1M', 'PT', 'P', '30m', 'PT-5M', 'PT0S', 'P0D', 'pt30m', ' PT30M', 'PT30M ', '', 'P1DT', 'PT1.5H']) {
    it(`rejects ${JSON.stringify(raw)}`, () => assertInvalid(() => parseDuration(raw), 'invalid_duration', 'duration'));
  }
  it('rejects non-strings', () => {
    assertInvalid(() => parseDuration(1800), 'invalid_duration');
    assertInvalid(() => parseDuration(null, 'maxActivation'), 'invalid_duration', 'maxActivation');
  });

  it('formatDuration round-trips through parseDuration (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 * 86_400 }), (seconds) => {
        const ms = seconds * 1000;
        assert.equal(parseDuration(formatDuration(ms)), ms);
      }),
    );
  });
});

// ------------------------------------------------------------------------------------ identifiers

describe('normalizeId', () => {
  it('makes "Alice ", "ALICE", "alice" and fullwidth "ａｌｉｃｅ" the same principal', () => {
    const forms = ['Alice ', 'ALICE', 'alice', ' alice', 'ａｌｉｃｅ', 'ＡＬＩＣＥ'];
    for (const f of forms) assert.equal(normalizeId(f), 'alice', JSON.stringify(f));
    for (const f of forms) assert.equal(parseId(f), 'alice');
  });

  it('parseId rejects what is not a slug', () => {
    for (const raw of ['', ' ', 'al ice', '-alice', 'alice/bob', 'a'.repeat(129), 7]) {
      assertInvalid(() => parseId(raw, 'principalId'), 'invalid_request', 'principalId');
    }
  });
});

// ------------------------------------------------------------------------------------ justification

describe('checkJustification', () => {
  const weak = ['work', 'n/a', 'N/A', 'test', 'asdf', 'TEST test test', 'aaaaaaaaaaaaa', 'qwertyuiop', 'Need access', 'abababababab', '1234567890', '!!!!!!!!!!!!!!'];
  for (const text of weak) {
    it(`refuses ${JSON.stringify(text)} as too weak`, () => assert.equal(checkJustification(text, true, 10), 'justification_too_weak'));
  }

  it('refuses text shorter than minLength when required', () => {
    assert.equal(checkJustification('fix db', true, 10), 'justification_too_weak');
    assert.equal(checkJustification('INC-1 lag', true, 10), 'justification_too_weak'); // 9 characters
    assert.equal(checkJustification('INC-12 lag', true, 10), null); // 10 characters
  });

  it('requires text when required, and not otherwise', () => {
    for (const empty of ['', '   ', undefined, null]) {
      assert.equal(checkJustification(empty, true, 10), 'justification_required');
      assert.equal(checkJustification(empty, false, 10), null);
    }
  });

  it('refuses placeholders even when justification is optional', () => {
    assert.equal(checkJustification('n/a', false, 10), 'justification_too_weak');
  });

  it('accepts a real reason', () => {
    assert.equal(checkJustification('Investigating INC-1234 replication lag', true, 10), null);
    assert.equal(checkJustification('Rotate the payments DB password after INC-77', true, 10), null);
  });
});

// ------------------------------------------------------------------------------------ settings

describe('normalizeSettings', () => {
  const MIN_ACTIVATION = 5 * MIN;

  it('accepts a complete example and keeps what it says', () => {
    // The shape of a settings document covering every section (the one an admin writes for a
    // production database role).
    const example = {
      maxActivation: 'PT4H',
      justification: { required: true, minLength: 20 },
      ticket: { required: true, pattern: '^(INC|CHG)-\\d{3,8}$' },
      approval: {
        required: true,
        approvers: [{ group: 'DBA-Leads' }, { principal: 'Carol' }, { manager: true }],
        minApprovals: 2,
        distinctAdminUnits: true,
        timeout: 'PT8H',
      },
      eligibility: { allowPermanent: false, maxDuration: 'P90D' },
      activeAssignment: { allowPermanent: false, maxDuration: 'P7D' },
      windows: [
        { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00', timeZone: 'Europe/Berlin' },
        { days: ['sat'], from: '22:00', to: '04:00', timeZone: 'America/New_York' },
      ],
    };
    const s = normalizeSettings(example, 'critical', MIN_ACTIVATION);
    assert.equal(s.maxActivation, 'PT4H');
    assert.deepEqual(s.justification, { required: true, minLength: 20 });
    assert.deepEqual(s.ticket, { required: true, pattern: '^(INC|CHG)-\\d{3,8}$' });
    assert.equal(s.approval.required, true);
    // identifiers are normalized
    assert.deepEqual(s.approval.approvers, [{ group: 'dba-leads' }, { principal: 'carol' }, { manager: true }]);
    assert.equal(s.approval.minApprovals, 2);
    assert.equal(s.approval.distinctAdminUnits, true);
    assert.equal(s.approval.timeout, 'PT8H');
    assert.deepEqual(s.eligibility, { allowPermanent: false, maxDuration: 'P90D' });
    assert.deepEqual(s.activeAssignment, { allowPermanent: false, maxDuration: 'P7D' });
    assert.equal(s.windows.length, 2);

    const eff = effectiveSettings(s);
    assert.equal(eff.maxActivationMs, 4 * HOUR);
    assert.equal(eff.approval.timeoutMs, 8 * HOUR);
    assert.equal(eff.approval.stages.length, 1);
    assert.equal(eff.approval.stages[0]!.minApprovals, 2);
    assert.equal(eff.ticket.pattern!.test('INC-1234'), true);
    assert.equal(eff.ticket.pattern!.test('JIRA-1234'), false);
    assert.equal(eff.eligibility.maxDurationMs, 90 * DAY);

    // Normalizing the normalized form is a fixed point (what is stored reads back the same).
    assert.deepEqual(normalizeSettings(s, 'critical', MIN_ACTIVATION), s);
  });

  it('accepts sequential approval stages', () => {
    const s = normalizeSettings(
      { approval: { required: true, stages: [{ approvers: [{ principal: 'bob' }] }, { approvers: [{ group: 'security' }], minApprovals: 2 }] } },
      'high',
      MIN_ACTIVATION,
    );
    const eff = effectiveSettings(s);
    assert.equal(eff.approval.stages.length, 2);
    assert.equal(eff.approval.stages[1]!.minApprovals, 2);
  });

  it('fills in the safe defaults when settings are omitted', () => {
    for (const input of [undefined, null, {}]) {
      const s = normalizeSettings(input, 'low', MIN_ACTIVATION);
      assert.equal(s.justification.required, true);
      assert.equal(s.approval.required, false);
      assert.equal(s.maxActivation, 'PT1H');
      assert.deepEqual(s.windows, []);
      assert.equal(s.activeAssignment.allowPermanent, false);
      assert.deepEqual(s, DEFAULT_SETTINGS);
      const eff = effectiveSettings(s);
      assert.equal(eff.maxActivationMs, HOUR);
      assert.deepEqual(eff.approval.stages, []);
    }
  });

  const contradictions: { name: string; input: unknown; tier?: 'low' | 'medium' | 'high' | 'critical'; field: string }[] = [
    { name: 'approval required without approvers', input: { approval: { required: true } }, field: 'settings.approval.approvers' },
    { name: 'approval required with an empty approver list', input: { approval: { required: true, approvers: [] } }, field: 'settings.approval.approvers' },
    { name: 'permanent eligibility refused without a maximum', input: { eligibility: { allowPermanent: false } }, field: 'settings.eligibility.maxDuration' },
    { name: 'permanent eligibility allowed and a maximum given', input: { eligibility: { allowPermanent: true, maxDuration: 'P30D' } }, field: 'settings.eligibility.maxDuration' },
    {
      name: 'minApprovals 3 with two named principals',
      input: { approval: { required: true, approvers: [{ principal: 'bob' }, { principal: 'carol' }], minApprovals: 3 } },
      field: 'settings.approval.minApprovals',
    },
    {
      name: 'minApprovals 2 with the same principal named twice (distinct people)',
      input: { approval: { required: true, approvers: [{ principal: 'bob' }, { principal: 'BOB ' }], minApprovals: 2 } },
      field: 'settings.approval.minApprovals',
    },
    { name: 'an unknown key', input: { maxActivaton: 'PT1H' }, field: 'settings.maxActivaton' },
    { name: 'a ticket pattern that is not a regular expression', input: { ticket: { required: true, pattern: '([A-Z' } }, field: 'settings.ticket.pattern' },
    {
      name: 'a window in a time zone that does not exist',
      input: { windows: [{ days: ['mon'], from: '09:00', to: '17:00', timeZone: 'Europe/Atlantis' }] },
      field: 'settings.windows[0].timeZone',
    },
    {
      name: 'a window with equal from and to',
      input: { windows: [{ days: ['mon'], from: '09:00', to: '17:00', timeZone: 'UTC' }, { days: ['tue'], from: '09:00', to: '09:00', timeZone: 'UTC' }] },
      field: 'settings.windows[1].to',
    },
    { name: 'a window with an unknown weekday', input: { windows: [{ days: ['monday'], from: '09:00', to: '17:00', timeZone: 'UTC' }] }, field: 'settings.windows[0].days' },
    { name: 'a critical role without approval', input: {}, tier: 'critical', field: 'settings.approval.required' },
    { name: 'stages without approval required', input: { approval: { stages: [{ approvers: [{ principal: 'bob' }] }] } }, field: 'settings.approval.required' },
    { name: 'a maxActivation in months', input: { maxActivation: 'P1M' }, field: 'settings.maxActivation' },
    { name: 'a maxActivation over seven days', input: { maxActivation: 'P8D' }, field: 'settings.maxActivation' },
    { name: 'a maxActivation under the minimum activation', input: { maxActivation: 'PT1M' }, field: 'settings.maxActivation' },
    { name: 'a manager-only quorum of two', input: { approval: { required: true, approvers: [{ manager: true }], minApprovals: 2 } }, field: 'settings.approval.minApprovals' },
    { name: 'a non-boolean flag', input: { justification: { required: 'yes' } }, field: 'settings.justification.required' },
  ];
  for (const c of contradictions) {
    it(`refuses ${c.name}, naming ${c.field}`, () => {
      assertInvalid(() => normalizeSettings(c.input, c.tier ?? 'medium', MIN_ACTIVATION), 'invalid_settings', c.field);
    });
  }
});
