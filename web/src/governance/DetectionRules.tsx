import { useEffect, useId, useState } from 'react';
import { useAction } from '../admin/form.js';
import { ApiError } from '../api.js';
import { Problem, useLoad } from '../ui.js';
import { detectionSettings, saveDetectionSettings, type DetectionSettings } from './api.js';
import { capital } from './words.js';

/** What one threshold means, as its label says it; min/max mirror the server's bounds (the server decides). */
interface FieldDoc {
  label: string;
  hint?: string;
  min?: number;
  max?: number;
  /** Whole numbers only, unless a step is given. */
  step?: number;
}

interface RuleDoc {
  title: string;
  text: string;
  fields?: Record<string, FieldDoc>;
}

/** The rules of src/core/detection.ts (DEFAULT_RULES) in plain words. A rule the server knows and this list does not is still shown, by its name. */
const RULES: Record<string, RuleDoc> = {
  direct_assignment: {
    title: 'Direct assignment',
    text: 'An administrator gave someone standing access directly, outside the eligible-then-activate process. Critical for high and critical risk roles.',
  },
  too_many_holders: {
    title: 'Too many holders',
    text: 'Too many people (users and services, groups expanded) are eligible for or hold a role of a high risk tier: more than a number of holders, or more than a share of the active users.',
    fields: {
      minTier: { label: 'Lowest risk tier counted' },
      maxHolders: { label: 'Most holders', min: 1, max: 100_000 },
      maxShare: { label: 'Largest share of active users', hint: 'From 0 to 1: 0.1 is 10%.', min: 0, max: 1, step: 0.01 },
      minUsersForShare: { label: 'Active users before the share counts', min: 1, max: 1_000_000 },
    },
  },
  unused_eligibility: {
    title: 'Unused eligibility',
    text: 'An eligibility that has not been activated for a number of days (and is at least that old).',
    fields: { days: { label: 'Days without use', min: 1, max: 3650 } },
  },
  inactive_account: {
    title: 'Inactive account with access',
    text: 'An active user or service holds an eligibility or a live grant but has not signed in or used a token for a number of days.',
    fields: { days: { label: 'Days without sign-in', min: 1, max: 3650 } },
  },
  frequent_activations: {
    title: 'Frequent activations',
    text: 'One person activates more often than allowed within a window of hours.',
    fields: {
      max: { label: 'Most activations', min: 1, max: 100_000 },
      windowHours: { label: 'Window in hours', min: 1, max: 24 * 90 },
    },
  },
  off_hours_activation: {
    title: 'Activation at an unusual hour',
    text: "An activation at an hour of the day (UTC) far from every hour of the person's own activations in the days before. Needs enough of those activations to judge.",
    fields: {
      baselineDays: { label: 'Days of history', min: 1, max: 365 },
      minHistory: { label: 'Activations needed in the history', min: 1, max: 10_000 },
      toleranceHours: { label: 'Hours of tolerance', min: 0, max: 11 },
    },
  },
  activation_spike: {
    title: 'Activation spike',
    text: "Many activations in 24 hours: several times the person's daily average over the days before.",
    fields: {
      baselineDays: { label: 'Days of baseline', min: 1, max: 365 },
      factor: { label: 'Times the daily average', min: 1, max: 1000, step: 0.1 },
      minActivations: { label: 'Fewest activations in 24 hours', min: 1, max: 100_000 },
      minBaseline: { label: 'Activations needed in the baseline', min: 1, max: 100_000 },
    },
  },
  approver_eligible: {
    title: 'Approver eligible for the role',
    text: 'Someone approved a request for a role they are eligible for themselves (directly or through a group).',
  },
  collusion: {
    title: 'Mutual approvals',
    text: "Two people approved each other's requests within a window of hours.",
    fields: { windowHours: { label: 'Window in hours', min: 1, max: 24 * 90 } },
  },
  escalation_chain: {
    title: 'Escalation chain',
    text: 'Someone activated a high or critical risk role shortly after activating a low or medium risk one.',
    fields: { windowMinutes: { label: 'Window in minutes', min: 1, max: 24 * 60 * 30 } },
  },
  mfa_failures: {
    title: 'Repeated MFA failures',
    text: 'One person failed multi-factor verification several times within a window of minutes (including activations and approvals refused for MFA).',
    fields: {
      failures: { label: 'Failures', min: 1, max: 10_000 },
      windowMinutes: { label: 'Window in minutes', min: 1, max: 24 * 60 * 30 },
    },
  },
  high_risk_without_mfa: {
    title: 'High risk role without MFA',
    text: 'A high or critical risk role whose settings do not require multi-factor verification at activation.',
  },
  breakglass_used: {
    title: 'Break-glass used',
    text: 'Any break-glass activation.',
  },
  service_standing_privilege: {
    title: 'Service with standing privilege',
    text: 'A service principal holds a live direct (standing) grant of a high or critical risk role.',
  },
  approval_fatigue: {
    title: 'Approval fatigue',
    text: 'One approver decides many requests in a short time, or several requests within seconds of their creation: approving without reading.',
    fields: {
      decisions: { label: 'Decisions', min: 1, max: 10_000 },
      windowMinutes: { label: 'Within minutes', min: 1, max: 24 * 60 * 30 },
      fastSeconds: { label: 'Seconds that count as fast', min: 1, max: 3600 },
      fastDecisions: { label: 'Fast decisions', min: 1, max: 10_000 },
      fastWindowMinutes: { label: 'Fast decisions within minutes', min: 1, max: 24 * 60 * 30 },
    },
  },
};

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const TIERS = ['low', 'medium', 'high', 'critical'] as const;

const words = (name: string) => capital(name.replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase());
export const ruleTitle = (rule: string) => RULES[rule]?.title ?? words(rule);
const fieldDoc = (rule: string, field: string): FieldDoc => RULES[rule]?.fields?.[field] ?? { label: words(field) };

/** The form's values: checkboxes as booleans, everything else as typed (numbers are sent as numbers). */
type Draft = Record<string, Record<string, string | boolean>>;

const toDraft = (s: DetectionSettings): Draft =>
  Object.fromEntries(Object.entries(s.rules).map(([rule, v]) => [rule, Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'boolean' ? x : String(x)]))]));

/** The whole document back: numeric fields as numbers; what is no number goes as typed, for the server to refuse by name. */
function fromDraft(d: Draft, saved: DetectionSettings): DetectionSettings {
  const num = (x: string | boolean) => {
    const t = String(x).trim();
    return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
  };
  return {
    rules: Object.fromEntries(
      Object.entries(d).map(([rule, v]) => [rule, Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof saved.rules[rule]?.[k] === 'number' ? num(x) : x]))]),
    ) as DetectionSettings['rules'],
  };
}

/** The field a 400 invalid_settings names (`rules.<rule>.<field>`), and the server's message about it without the field's path. */
function refusal(e: unknown): { rule: string | null; field: string | null; text: string } | null {
  if (!(e instanceof ApiError) || e.code !== 'invalid_settings') return null;
  const path = typeof e.details.field === 'string' ? e.details.field : '';
  const [, rule = null, field = null] = path.split('.');
  const message = e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
  const where = rule && field ? `${ruleTitle(rule)}, “${fieldDoc(rule, field).label}”` : rule ? ruleTitle(rule) : 'The settings';
  return { rule, field, text: `${where}: ${message}${/[.!?]$/.test(message) ? '' : '.'}` };
}

/**
 * The detection rules an administrator tunes: per rule, on or off, the severity of its alerts and its
 * thresholds. Save sends the whole document; the server validates it as a whole and names the field
 * it refuses, which is marked here.
 */
export function DetectionRules() {
  const id = useId();
  const { data, error: loadError } = useLoad(detectionSettings, 3_600_000);
  const [saved, setSaved] = useState<DetectionSettings | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [notice, setNotice] = useState('');
  const { busy, error, setError, run } = useAction();

  useEffect(() => {
    if (data && !saved) {
      setSaved(data);
      setDraft(toDraft(data));
    }
  }, [data, saved]);

  const refused = refusal(error);
  const inputId = (rule: string, field: string) => `${id}-${rule}-${field}`;
  useEffect(() => {
    if (refused?.rule && refused.field) document.getElementById(`${id}-${refused.rule}-${refused.field}`)?.focus();
  }, [id, refused?.rule, refused?.field]);

  if (!saved || !draft)
    return (
      <section className="block" aria-labelledby={`${id}-h`}>
        <h2 id={`${id}-h`}>Detection rules</h2>
        <Problem error={loadError} title="The detection rules cannot be loaded:" />
        {loadError ? null : <p className="muted">Loading…</p>}
      </section>
    );

  const dirty = JSON.stringify(draft) !== JSON.stringify(toDraft(saved));
  const set = (rule: string, field: string, value: string | boolean) => {
    setNotice('');
    setDraft((d) => (d ? { ...d, [rule]: { ...d[rule], [field]: value } } : d));
  };
  const save = () =>
    run(async () => {
      setNotice('');
      const out = await saveDetectionSettings(fromDraft(draft, saved));
      setSaved(out);
      setDraft(toDraft(out));
      setNotice('Saved the detection rules. The next scan uses them.');
    });

  return (
    <section className="block detection-rules" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Detection rules</h2>
      <p className="muted">What the detection scan looks for in the audit log and in who holds what. Each rule raises alerts of its severity; turn off what your organisation does not need.</p>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      <form
        aria-label="Detection rules"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <ul className="cards">
          {Object.entries(draft).map(([rule, values]) => {
            const doc = RULES[rule];
            const on = values.enabled === true;
            const fieldError = (field: string) => (refused && refused.rule === rule && refused.field === field ? refused.text : null);
            return (
              <li key={rule} className={`card detection-rule${on ? '' : ' is-off'}`}>
                <fieldset className="field card-full">
                  <legend className="card-title">{ruleTitle(rule)}</legend>
                  <p>{doc?.text ?? 'A detection rule this page has no description of yet.'}</p>
                  <p className="hint">
                    Rule <code>{rule}</code>
                    {on ? '' : ' · off: it raises no alerts'}
                  </p>
                  <div className="rule-fields">
                    <div className="field">
                      <label className="choice">
                        <input
                          type="checkbox"
                          id={inputId(rule, 'enabled')}
                          checked={on}
                          onChange={(e) => set(rule, 'enabled', e.target.checked)}
                          aria-invalid={fieldError('enabled') ? true : undefined}
                        />
                        Enabled
                      </label>
                    </div>
                    <div className="field">
                      <label htmlFor={inputId(rule, 'severity')}>Severity</label>
                      <select id={inputId(rule, 'severity')} value={String(values.severity)} onChange={(e) => set(rule, 'severity', e.target.value)} aria-invalid={fieldError('severity') ? true : undefined}>
                        {SEVERITIES.map((s) => (
                          <option key={s} value={s}>
                            {capital(s)}
                          </option>
                        ))}
                      </select>
                    </div>
                    {Object.entries(values)
                      .filter(([k]) => k !== 'enabled' && k !== 'severity')
                      .map(([k, v]) => {
                        const f = fieldDoc(rule, k);
                        const fid = inputId(rule, k);
                        const bad = fieldError(k);
                        const describedBy = [f.hint ? `${fid}-hint` : '', bad ? `${fid}-error` : ''].filter(Boolean).join(' ') || undefined;
                        return (
                          <div className="field" key={k}>
                            <label htmlFor={fid}>{f.label}</label>
                            {k === 'minTier' ? (
                              <select id={fid} value={String(v)} onChange={(e) => set(rule, k, e.target.value)} aria-invalid={bad ? true : undefined} aria-describedby={describedBy}>
                                {TIERS.map((t) => (
                                  <option key={t} value={t}>
                                    {capital(t)}
                                  </option>
                                ))}
                              </select>
                            ) : (
                              <input
                                id={fid}
                                type="number"
                                inputMode={f.step ? 'decimal' : 'numeric'}
                                min={f.min}
                                max={f.max}
                                step={f.step ?? 1}
                                value={String(v)}
                                onChange={(e) => set(rule, k, e.target.value)}
                                aria-invalid={bad ? true : undefined}
                                aria-describedby={describedBy}
                              />
                            )}
                            {f.hint ? (
                              <p id={`${fid}-hint`} className="hint">
                                {f.hint}
                              </p>
                            ) : null}
                            {bad ? (
                              <p id={`${fid}-error`} className="hint field-error">
                                {bad}
                              </p>
                            ) : null}
                          </div>
                        );
                      })}
                  </div>
                </fieldset>
              </li>
            );
          })}
        </ul>
        <div className="save-bar">
          {refused ? (
            <div className="problem" role="alert">
              <p className="problem-title">Nothing was saved:</p>
              <ul>
                <li data-reason="invalid_settings">{refused.text}</li>
              </ul>
            </div>
          ) : (
            <Problem error={error} title="Nothing was saved:" />
          )}
          <div className="actions">
            <span className="hint">{dirty ? 'You have unsaved changes.' : 'No unsaved changes.'}</span>
            <button
              type="button"
              disabled={busy || !dirty}
              onClick={() => {
                setDraft(toDraft(saved));
                setError(null);
                setNotice('');
              }}
            >
              Undo changes
            </button>
            <button type="submit" className="primary" disabled={busy}>
              Save detection rules
            </button>
          </div>
        </div>
      </form>
    </section>
  );
}
