import { useEffect, useState } from 'react';

/**
 * Countdowns run on the server's clock: the server decides when a grant ends, and a browser whose
 * clock is off must not show a grant as live (or expired) when it is not. GET /me says what time it
 * is there; the offset is kept until the next call.
 */
let offsetMs = 0;

export function syncClock(serverTime: string): void {
  const t = Date.parse(serverTime);
  if (!Number.isNaN(t)) offsetMs = t - Date.now();
}

export const serverNow = (): number => Date.now() + offsetMs;

/** The server's "now", re-rendered every `everyMs`. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(serverNow);
  useEffect(() => {
    const t = setInterval(() => setNow(serverNow()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "1 h 05 min 09 s", "29 min 59 s", "45 s": what is left of a grant. */
export function formatRemaining(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d} d ${h} h ${pad(m)} min`;
  if (h > 0) return `${h} h ${pad(m)} min ${pad(sec)} s`;
  if (m > 0) return `${m} min ${pad(sec)} s`;
  return `${sec} s`;
}

/** ISO 8601 duration (PT1H30M, P1D) → milliseconds; null when it is not one. */
export function parseDuration(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso);
  if (!m || iso === 'P' || iso.endsWith('T')) return null;
  const [, w, d, h, min, s] = m;
  return ((Number(w ?? 0) * 7 + Number(d ?? 0)) * 86_400 + Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0)) * 1000;
}

/** 5_400_000 → "1 hour 30 minutes"; 1_800_000 → "30 minutes". */
export function formatSpan(ms: number): string {
  const totalMin = Math.round(ms / 60_000);
  if (totalMin < 1) return plural(Math.round(ms / 1000), 'second');
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  return [d ? plural(d, 'day') : '', h ? plural(h, 'hour') : '', m ? plural(m, 'minute') : ''].filter(Boolean).join(' ');
}

/** An ISO duration in words, or the text itself when it cannot be read. */
export function durationWords(iso: string | null | undefined): string {
  const ms = parseDuration(iso);
  return ms === null ? String(iso ?? '') : formatSpan(ms);
}

/** A time for people: "Mon 2 Mar, 10:30". */
export function formatTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export const toMs = (t: string | number | null | undefined): number | null => {
  if (t === null || t === undefined) return null;
  const n = typeof t === 'number' ? t : Date.parse(t);
  return Number.isNaN(n) ? null : n;
};
