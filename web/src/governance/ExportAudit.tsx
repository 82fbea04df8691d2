import { useId, useState } from 'react';
import { useAction } from '../admin/form.js';
import { ApiError } from '../api.js';
import { Empty, Problem, useLoad } from '../ui.js';
import { deadLetters as loadDeadLetters, replayDeadLetter, selfAudit as loadSelfAudit, siemSinks, type SiemDeadLetter } from './api.js';
import { Cell } from './Cell.js';
import { ago, capital, when } from './words.js';

const SINK: Record<string, string> = { syslog: 'Syslog', webhook: 'Webhook' };
const sinkName = (s: string) => SINK[s] ?? capital(s);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const span = (d: SiemDeadLetter) => (d.fromSeq === d.toSeq ? `#${d.fromSeq}` : `#${d.fromSeq}–#${d.toSeq}`);

/**
 * Where the audit log goes and whether Elevate's own answers hold up: each SIEM output (how far it
 * has delivered, its retries), the batches it gave up on (sent again on request), and the runs of
 * the false-allow self-audit.
 */
export function ExportAudit() {
  return (
    <>
      <SiemOutputs />
      <DeadLetters />
      <SelfAudit />
    </>
  );
}

function SiemOutputs() {
  const id = useId();
  const { data, error } = useLoad(siemSinks, 15_000);
  return (
    <section className="block" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>SIEM outputs</h2>
      <Problem error={error} />
      {data === null ? (
        error ? null : <p className="muted">Loading…</p>
      ) : data.length === 0 ? (
        <Empty>
          No outputs configured: the audit log is not streamed anywhere. Set <code>ELEVATE_SYSLOG_URL</code> or <code>ELEVATE_SIEM_WEBHOOK_URL</code> on the server to send it to a SIEM.
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="siem">
            <thead>
              <tr>
                <th scope="col">Output</th>
                <th scope="col">Delivered</th>
                <th scope="col" className="num">
                  Behind
                </th>
                <th scope="col">Last delivery</th>
                <th scope="col" className="num">
                  Failures
                </th>
                <th scope="col">Last error</th>
                <th scope="col" className="num">
                  Dead letters
                </th>
              </tr>
            </thead>
            <tbody>
              {data.map((s) => (
                <tr key={s.name} className={s.attempts > 0 || s.deadLetters > 0 ? 'is-failing' : undefined}>
                  <Cell label="Output">
                    <strong>{sinkName(s.name)}</strong>
                    <p>
                      <code>{s.target}</code>
                    </p>
                  </Cell>
                  <Cell label="Delivered">
                    up to #{s.deliveredSeq} of #{s.headSeq}
                  </Cell>
                  <Cell label="Behind" className="num">
                    {s.lag === 0 ? 'Up to date' : plural(s.lag, 'event')}
                  </Cell>
                  <Cell label="Last delivery" title={when(s.lastDeliveredAt)}>
                    {ago(s.lastDeliveredAt)}
                  </Cell>
                  <Cell label="Failures" className="num">
                    {s.attempts === 0 ? 'None' : `${plural(s.attempts, 'failed attempt')}${s.nextAttemptAt ? `, next try ${when(s.nextAttemptAt)}` : ''}`}
                  </Cell>
                  <Cell label="Last error">{s.lastError ? <span className="field-error">{s.lastError}</span> : '—'}</Cell>
                  <Cell label="Dead letters" className="num">
                    {s.deadLetters}
                  </Cell>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DeadLetters() {
  const id = useId();
  const { data, error, reload } = useLoad(loadDeadLetters, 15_000);
  const [notice, setNotice] = useState('');
  const [failed, setFailed] = useState<SiemDeadLetter | null>(null);
  const { busy, error: replayError, run } = useAction();
  const waiting = (data ?? []).filter((d) => !d.replayedAt).length;

  const replay = (d: SiemDeadLetter) =>
    run(async () => {
      setNotice('');
      setFailed(d);
      try {
        await replayDeadLetter(d.id);
      } finally {
        await reload();
      }
      setFailed(null);
      setNotice(`Sent events ${span(d)} to ${sinkName(d.sink)} again.`);
    });

  return (
    <section className="block" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Dead letters{data && data.length > 0 ? ` (${waiting} waiting)` : ''}</h2>
      <p className="muted">Batches of audit events an output refused too many times. The export moved on without them; send them again once the output works.</p>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      <Problem error={error} />
      {replayError && failed ? (
        <>
          <Problem error={replayError} title={`Events ${span(failed)} were not sent again to ${sinkName(failed.sink)}:`} />
          {replayError instanceof ApiError && replayError.code === 'replay_failed' ? <p className="hint">The output said: {replayError.message}</p> : null}
        </>
      ) : null}
      {data === null ? (
        error ? null : <p className="muted">Loading…</p>
      ) : data.length === 0 ? (
        <Empty>No dead letters: every batch of events was delivered (or there is no output).</Empty>
      ) : (
        <div className="table-wrap">
          <table className="dead-letters">
            <thead>
              <tr>
                <th scope="col">Output</th>
                <th scope="col">Events</th>
                <th scope="col">Error</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Given up</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {data.map((d) => (
                <tr key={d.id} className={d.replayedAt ? 'is-done' : undefined}>
                  <Cell label="Output">{sinkName(d.sink)}</Cell>
                  <Cell label="Events">
                    {span(d)} ({plural(d.toSeq - d.fromSeq + 1, 'event')})
                  </Cell>
                  <Cell label="Error">{d.error}</Cell>
                  <Cell label="Attempts" className="num">
                    {d.attempts}
                  </Cell>
                  <Cell label="Given up" title={when(d.createdAt)}>
                    {ago(d.createdAt)}
                  </Cell>
                  <Cell label="State">
                    {d.replayedAt ? (
                      <span title={when(d.replayedAt)}>Sent again {ago(d.replayedAt)}</span>
                    ) : (
                      <button type="button" className="small" disabled={busy} aria-label={`Replay events ${span(d)} to ${sinkName(d.sink)}`} onClick={() => void replay(d)}>
                        Replay
                      </button>
                    )}
                  </Cell>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function SelfAudit() {
  const id = useId();
  const { data, error } = useLoad(loadSelfAudit, 15_000);
  const runs = data?.runs.slice(0, 20) ?? [];
  const bad = (data?.falseAllowTotal ?? 0) > 0;
  return (
    <section className="block" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>False-allow self-audit</h2>
      <p className="muted">Every five minutes the server takes a sample of its recent access-check answers and works each one out again from the grant history. An allow the history does not support is a false allow, and raises a critical alert.</p>
      <Problem error={error} />
      {data === null ? (
        error ? null : <p className="muted">Loading…</p>
      ) : (
        <>
          <div className={`chain self-audit-result ${bad ? 'chain-bad' : 'chain-ok'}`}>
            <p className="chain-line">
              <span aria-hidden="true">{bad ? '✗ ' : '✓ '}</span>
              <strong>{bad ? `${plural(data.falseAllowTotal, 'false allow')} found` : 'No false allows'}</strong>
              {bad
                ? ': the server allowed access that the grant history does not support. See the critical alerts on the Alerts tab.'
                : data.runs.length > 0
                  ? ': every sampled answer agreed with the grant history, or could not be judged.'
                  : ' so far: the self-audit has not run yet.'}
            </p>
          </div>
          {runs.length === 0 ? (
            <Empty>No self-audit run yet. It runs every five minutes once the server has answered access checks.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="self-audit-runs" aria-label="Recent self-audit runs">
                <thead>
                  <tr>
                    <th scope="col">Run</th>
                    <th scope="col" className="num">
                      Sampled
                    </th>
                    <th scope="col" className="num">
                      Disagreements
                    </th>
                    <th scope="col" className="num">
                      False allows
                    </th>
                    <th scope="col" className="num">
                      Inconclusive
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {runs.map((r) => {
                    const fa = r.falseAllows ?? 0;
                    return (
                      <tr key={String(r.at)} className={fa > 0 ? 'is-bad' : r.disagreements > 0 ? 'is-warn' : undefined}>
                        <Cell label="Run" title={when(r.at)}>
                          {ago(r.at)}
                        </Cell>
                        <Cell label="Sampled" className="num">
                          {r.sampled}
                        </Cell>
                        <Cell label="Disagreements" className="num">
                          {r.disagreements}
                        </Cell>
                        <Cell label="False allows" className="num">
                          {fa > 0 ? <strong className="field-error">{fa}</strong> : fa}
                        </Cell>
                        <Cell label="Inconclusive" className="num">
                          {r.inconclusive ?? '—'}
                        </Cell>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
