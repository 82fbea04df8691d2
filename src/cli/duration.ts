import { formatDuration, parseDuration } from '../core/duration.js';
import { usage } from './errors.js';

/**
 * Human durations on the command line: `30m`, `1h`, `1h30m`, `90s`, `2d`, `1w`, `1.5h`, `1h 30m`.
 * ISO 8601 durations (`PT30M`, `P1D`) are accepted as they are. The server only speaks ISO.
 */
const UNIT_MS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };
const HUMAN = /^(?:(\d+(?:\.\d+)?)w)?(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/;

function invalid(raw: string, field: string): never {
  throw usage('invalid_duration', `${field} "${raw}" is not a duration: use e.g. 30m, 1h, 1h30m, 90s, 2d or ISO 8601 such as PT30M`, { field });
}

/** Milliseconds in a human or ISO duration; throws a usage error (exit 2) when it is not one. */
export function durationToMs(raw: string, field = 'duration'): number {
  const s = raw.trim();
  if (/^p/i.test(s)) {
    try {
      return parseDuration(s.toUpperCase(), field);
    } catch {
      return invalid(raw, field);
    }
  }
  const compact = s.replace(/\s+/g, '').toLowerCase();
  const m = HUMAN.exec(compact);
  if (!m || compact === '') invalid(raw, field);
  const units = ['w', 'd', 'h', 'm', 's'] as const;
  let ms = 0;
  units.forEach((u, i) => {
    const v = m[i + 1];
    if (v !== undefined) ms += Number(v) * UNIT_MS[u]!;
  });
  ms = Math.round(ms);
  if (!(ms > 0) || !Number.isSafeInteger(ms)) invalid(raw, field);
  return ms;
}

/** The ISO 8601 form the API takes. ISO input passes through (upper-cased); human input is converted. */
export function toIsoDuration(raw: string, field = 'duration'): string {
  const s = raw.trim();
  if (/^p/i.test(s)) {
    durationToMs(s, field);
    return s.toUpperCase();
  }
  return formatDuration(durationToMs(s, field));
}
