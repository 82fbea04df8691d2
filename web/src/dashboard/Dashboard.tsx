import { useCallback, useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, roles as loadRoles, type Role } from '../api.js';
import { stats as loadStats, type Stats } from '../audit/api.js';
import { formatSpan, formatTime, serverNow } from '../time.js';
import { Empty, Problem, useSession } from '../ui.js';
import { BarList, ColumnChart, FiguresTable, Legend, shortDay } from './charts.js';

const DAY = 86_400_000;
/** A period as UTC dates, both days included; empty = the server's default (the last 30 days). */
type Period = { from: string; to: string };

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const validDay = (s: string | null) => (s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) ? s : '');

function periodFromUrl(): Period {
  const q = new URLSearchParams(location.search);
  return { from: validDay(q.get('from')), to: validDay(q.get('to')) };
}

/** The API's half-open [from, to) from inclusive UTC dates. */
function toQuery(p: Period): { from?: string; to?: string } {
  return {
    ...(p.from ? { from: `${p.from}T00:00:00.000Z` } : {}),
    ...(p.to ? { to: new Date(Date.parse(`${p.to}T00:00:00Z`) + DAY).toISOString() } : {}),
  };
}

const hours = (h: number) => h.toLocaleString(undefined, { maximumFractionDigits: 2 });
const pct = (part: number, whole: number) => (whole > 0 ? `${Math.round((part / whole) * 100)}%` : '—');
const reasonWords = (code: string) => {
  const s = code.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
};
const span = (ms: number | null) => (ms === null ? '—' : formatSpan(ms));

/**
 * The dashboard: for a period (by default the last 30 days), activations per day, approval latency,
 * denials by reason, the roles activated most, and how much privileged access was standing rather
 * than just-in-time. The server computes the figures; this page draws them.
 */
export function Dashboard() {
  const id = useId();
  const { signedOut } = useSession();
  const [period, setPeriod] = useState<Period>(periodFromUrl);
  const [draft, setDraft] = useState<Period>(period);
  const [data, setData] = useState<Stats | null>(null);
  const [roles, setRoles] = useState<Map<string, Role>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(true);

  const load = useCallback(
    async (p: Period) => {
      setBusy(true);
      setError(null);
      try {
        const s = await loadStats(toQuery(p));
        setData(s);
        // Show the period the server used (its default when none was chosen).
        setDraft({ from: s.from.slice(0, 10), to: isoDay(Date.parse(s.to) - 1) });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) signedOut('Your session ended. Sign in again.');
        else setError(e);
      } finally {
        setBusy(false);
      }
    },
    [signedOut],
  );

  useEffect(() => {
    void load(period);
  }, [period, load]);
  useEffect(() => {
    loadRoles().then(setRoles, () => undefined);
  }, []);

  function choose(p: Period) {
    const q = new URLSearchParams();
    if (p.from) q.set('from', p.from);
    if (p.to) q.set('to', p.to);
    history.replaceState(null, '', `${location.pathname}${q.toString() ? `?${q.toString()}` : ''}`);
    setPeriod(p);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    choose({ from: validDay(draft.from), to: validDay(draft.to) });
  }

  const lastDays = (n: number) => choose({ from: isoDay(serverNow() - (n - 1) * DAY), to: '' });
  const roleName = (rid: string) => roles.get(rid)?.name ?? rid;

  return (
    <>
      <h1 tabIndex={-1}>Dashboard</h1>
      <form className="filters panel period" aria-label="Period" onSubmit={submit} noValidate>
        <div className="row period-row">
          <div className="field">
            <label htmlFor={`${id}-from`}>From</label>
            <input id={`${id}-from`} type="date" value={draft.from} onChange={(e) => setDraft((d) => ({ ...d, from: e.target.value }))} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-to`}>To</label>
            <input id={`${id}-to`} type="date" value={draft.to} onChange={(e) => setDraft((d) => ({ ...d, to: e.target.value }))} />
          </div>
          <button type="submit" className="primary">
            Show
          </button>
        </div>
        <div className="row">
          <span className="muted">Quick:</span>
          {[7, 30, 90].map((n) => (
            <button key={n} type="button" className="small" onClick={() => lastDays(n)}>
              Last {n} days
            </button>
          ))}
        </div>
        <p className="hint">Days are UTC days; both dates are included.</p>
      </form>

      <Problem error={error} />
      <p className="muted" role="status">
        {busy ? 'Computing…' : data ? `${shortDay(data.from.slice(0, 10))} to ${shortDay(isoDay(Date.parse(data.to) - 1))}, as of ${formatTime(data.generatedAt)}.` : ''}
      </p>
      {data ? <Figures s={data} roleName={roleName} /> : null}
    </>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="panel chart-panel" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Figures({ s, roleName }: { s: Stats; roleName: (id: string) => string }) {
  const labels = s.days.map((d) => d.date);
  const t = s.totals;
  const privileged = t.standingHours + t.justInTimeHours + t.breakglassHours;
  const lat = s.approvalLatency;
  const activationSeries = [
    { name: 'Activations', className: 'c-activation', values: s.days.map((d) => d.activations) },
    { name: 'Break-glass', className: 'c-breakglass', values: s.days.map((d) => d.breakglass) },
  ];
  const accessSeries = [
    { name: 'Standing (direct)', className: 'c-standing', values: s.days.map((d) => d.standing.hours) },
    { name: 'Just-in-time', className: 'c-jit', values: s.days.map((d) => d.justInTime.hours) },
    { name: 'Break-glass', className: 'c-breakglass', values: s.days.map((d) => d.breakglassAccess.hours) },
  ];

  return (
    <>
      <dl className="tiles" aria-label="Totals">
        <div>
          <dt>Activations</dt>
          <dd>{t.activations}</dd>
          {t.breakglass > 0 ? <dd className="tile-note warn">+ {t.breakglass} break-glass</dd> : null}
        </div>
        <div>
          <dt>Approval time (median)</dt>
          <dd>{span(lat.p50Ms)}</dd>
          <dd className="tile-note">{lat.count} approved</dd>
        </div>
        <div>
          <dt>Denials</dt>
          <dd>{t.denials}</dd>
        </div>
        <div>
          <dt>Standing share</dt>
          <dd>{pct(t.standingHours, privileged)}</dd>
          <dd className="tile-note">of {hours(privileged)} privileged hours</dd>
        </div>
      </dl>

      <Section title="Activations per day">
        <ColumnChart
          summary={`Activations per day: ${t.activations} in all${t.breakglass ? `, and ${t.breakglass} break-glass` : ''}, at most ${Math.max(0, ...s.days.map((d) => d.activations))} on one day.`}
          labels={labels}
          series={activationSeries}
          yLabel="Activations"
        />
        <Legend series={activationSeries} />
        <FiguresTable caption="Activations per day" head={['Day (UTC)', 'Activations', 'Break-glass', 'Denials']} rows={s.days.map((d) => [d.date, d.activations, d.breakglass, d.denials])} />
      </Section>

      <Section title="Approval latency">
        {lat.count === 0 ? (
          <Empty>No request was approved in this period.</Empty>
        ) : (
          <>
            <p>
              From request to final approval, over {lat.count} approved request{lat.count === 1 ? '' : 's'}: half within <strong>{span(lat.p50Ms)}</strong> (p50), nine in ten within{' '}
              <strong>{span(lat.p90Ms)}</strong> (p90).
            </p>
            <BarList
              summary="Approval latency"
              className="c-latency"
              unit={(ms) => formatSpan(ms)}
              items={[
                { key: 'p50', label: 'p50 (median)', value: lat.p50Ms ?? 0 },
                { key: 'p90', label: 'p90', value: lat.p90Ms ?? 0 },
                { key: 'max', label: 'Longest', value: lat.maxMs ?? 0 },
              ]}
            />
          </>
        )}
        <FiguresTable
          caption="Approval latency"
          head={['Measure', 'Time', 'Minutes']}
          rows={[
            ['Approved requests', lat.count, ''],
            ['p50', span(lat.p50Ms), lat.p50Ms === null ? '—' : hours(lat.p50Ms / 60_000)],
            ['p90', span(lat.p90Ms), lat.p90Ms === null ? '—' : hours(lat.p90Ms / 60_000)],
            ['Longest', span(lat.maxMs), lat.maxMs === null ? '—' : hours(lat.maxMs / 60_000)],
          ]}
        />
      </Section>

      <div className="chart-pair">
        <Section title="Denials by reason">
          {s.denialsByReason.length === 0 ? (
            <Empty>No activation was denied in this period.</Empty>
          ) : (
            <BarList
              summary="Denials by reason"
              className="c-denial"
              items={s.denialsByReason.map((r) => ({ key: r.reason, label: reasonWords(r.reason), value: r.count }))}
            />
          )}
          <FiguresTable caption="Denials by reason" head={['Reason', 'Denials']} rows={s.denialsByReason.map((r) => [r.reason, r.count])} />
        </Section>

        <Section title="Top roles by activations">
          {s.topRoles.length === 0 ? (
            <Empty>No role was activated in this period.</Empty>
          ) : (
            <BarList summary="Top roles by activations" className="c-activation" items={s.topRoles.map((r) => ({ key: r.roleId, label: roleName(r.roleId), value: r.activations }))} />
          )}
          <FiguresTable caption="Top roles by activations" head={['Role', 'Activations']} rows={s.topRoles.map((r) => [r.roleId, r.activations])} />
        </Section>
      </div>

      <Section title="Standing vs just-in-time access">
        <p>
          Standing access (direct assignments) gave <strong>{hours(t.standingHours)}</strong> of {hours(privileged)} privileged hours ({pct(t.standingHours, privileged)}); just-in-time activations gave{' '}
          <strong>{hours(t.justInTimeHours)}</strong> ({pct(t.justInTimeHours, privileged)}).
        </p>
        <ColumnChart
          summary={`Share of privileged hours per day: standing ${pct(t.standingHours, privileged)}, just-in-time ${pct(t.justInTimeHours, privileged)} over the period.`}
          labels={labels}
          series={accessSeries}
          yLabel="Share of hours"
          unit={(h) => `${hours(h)} h`}
          percent
        />
        <Legend series={accessSeries} />
        <FiguresTable
          caption="Standing vs just-in-time access per day"
          head={['Day (UTC)', 'Standing grants', 'Standing hours', 'Just-in-time grants', 'Just-in-time hours', 'Break-glass hours', 'Standing share']}
          rows={s.days.map((d) => {
            const all = d.standing.hours + d.justInTime.hours + d.breakglassAccess.hours;
            return [d.date, d.standing.count, hours(d.standing.hours), d.justInTime.count, hours(d.justInTime.hours), hours(d.breakglassAccess.hours), pct(d.standing.hours, all)];
          })}
        />
      </Section>
    </>
  );
}
