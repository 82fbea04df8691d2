import { Invalid } from './errors.js';

/**
 * ISO 8601 durations in the exact subset that has a fixed length: weeks, days, hours, minutes,
 * seconds (`PT30M`, `P1D`, `PT1H30M`, `P2W`). Years and months are refused: their length depends
 * on the calendar, and an access window must have one meaning.
 */
const RE = /^P(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,8}(?:\.\d{1,3})?)S)?)?$/;

export function parseDuration(raw: unknown, field = 'duration'): number {
  if (typeof raw !== 'string') throw new Invalid('invalid_duration', `${field} must be an ISO 8601 duration such as PT30M`, { field });
  const m = RE.exec(raw);
  if (!m || raw === 'P' || raw.endsWith('T')) {
    throw new Invalid('invalid_duration', `${field} must be an ISO 8601 duration such as PT30M (weeks, days, hours, minutes, seconds)`, { field });
  }
  const [, w, d, h, min, s] = m;
  const ms =
    Number(w ?? 0) * 604_800_000 +
    Number(d ?? 0) * 86_400_000 +
    Number(h ?? 0) * 3_600_000 +
    Number(min ?? 0) * 60_000 +
    Math.round(Number(s ?? 0) * 1000);
  if (ms <= 0) throw new Invalid('invalid_duration', `${field} must be longer than zero`, { field });
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms <= 0) return 'PT0S';
  let rest = ms;
  const d = Math.floor(rest / 86_400_000);
  rest -= d * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  let out = 'P';
  if (d) out += `${d}D`;
  if (h || m || s) out += 'T';
  if (h) out += `${h}H`;
  if (m) out += `${m}M`;
  if (s) out += `${s}S`;
  return out;
}
