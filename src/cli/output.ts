import type { ApiTime } from './client.js';

/** Small formatting helpers for the human-readable output. --json output never goes through here. */

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

export function note(line: string): void {
  process.stderr.write(line + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** `2025-06-01 12:30:00Z`; `-` for none. Accepts ISO strings and epoch milliseconds. */
export function fmtTime(t: ApiTime | undefined, none = '-'): string {
  if (t === null || t === undefined || t === '') return none;
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function str(v: unknown, none = '-'): string {
  if (v === null || v === undefined || v === '') return none;
  if (Array.isArray(v)) return v.length ? v.map((x) => str(x)).join(',') : none;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A plain left-aligned table with a header row; "(none)" when empty. */
export function table(rows: readonly Record<string, string>[], columns: readonly [key: string, header: string][]): void {
  if (rows.length === 0) {
    out('(none)');
    return;
  }
  const widths = columns.map(([k, h]) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  out(line(columns.map(([, h]) => h)));
  for (const r of rows) out(line(columns.map(([k]) => r[k] ?? '')));
}

/** Key/value lines for one object. */
export function fields(pairs: readonly [label: string, value: string][]): void {
  const w = Math.max(...pairs.map(([l]) => l.length));
  for (const [l, v] of pairs) out(`${(l + ':').padEnd(w + 1)} ${v}`);
}

/** Reason codes may be plain strings or {code, message} objects. */
export function reasonLines(reasons: unknown): string[] {
  if (!Array.isArray(reasons)) return [];
  return reasons.map((r) => {
    if (typeof r === 'string') return r;
    if (r && typeof r === 'object') {
      const o = r as Record<string, unknown>;
      const code = typeof o.code === 'string' ? o.code : '';
      const msg = typeof o.message === 'string' ? o.message : '';
      return code && msg ? `${code}: ${msg}` : code || msg || JSON.stringify(r);
    }
    return String(r);
  });
}
