import { Invalid } from './errors.js';

/** An activation window: weekdays and a time-of-day range in an IANA time zone. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export interface ActivationWindow {
  days: Weekday[];
  from: string; // HH:MM, inclusive
  to: string; // HH:MM, exclusive; "24:00" means end of day; to < from spans midnight
  timeZone: string;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

export function minutesOf(hhmm: string): number {
  if (hhmm === '24:00') return 1440;
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function validateWindow(w: ActivationWindow, field: string): void {
  if (!Array.isArray(w.days) || w.days.length === 0 || w.days.some((d) => !WEEKDAYS.includes(d))) {
    throw new Invalid('invalid_settings', `${field}.days must list weekdays (mon … sun)`, { field: `${field}.days` });
  }
  if (!HHMM.test(w.from) || w.from === '24:00') throw new Invalid('invalid_settings', `${field}.from must be HH:MM`, { field: `${field}.from` });
  if (!HHMM.test(w.to)) throw new Invalid('invalid_settings', `${field}.to must be HH:MM`, { field: `${field}.to` });
  if (w.from === w.to) throw new Invalid('invalid_settings', `${field}.from and .to are equal: the window would be empty`, { field: `${field}.to` });
  if (!isValidTimeZone(w.timeZone)) throw new Invalid('invalid_settings', `${field}.timeZone is not an IANA time zone`, { field: `${field}.timeZone` });
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

/** Local weekday and minute-of-day of an instant in a time zone. */
export function localTime(ms: number, tz: string): { day: Weekday; minute: number } {
  let day = 'mon';
  let hour = 0;
  let minute = 0;
  for (const p of formatter(tz).formatToParts(ms)) {
    if (p.type === 'weekday') day = p.value.toLowerCase().slice(0, 3);
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day: day as Weekday, minute: hour * 60 + minute };
}

function previousDay(d: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(d) + 6) % 7]!;
}

export function inWindow(ms: number, w: ActivationWindow): boolean {
  const { day, minute } = localTime(ms, w.timeZone);
  const from = minutesOf(w.from);
  const to = minutesOf(w.to);
  if (from < to) return w.days.includes(day) && minute >= from && minute < to;
  // Spans midnight: the evening part belongs to `day`, the morning part to the day before.
  if (minute >= from) return w.days.includes(day);
  if (minute < to) return w.days.includes(previousDay(day));
  return false;
}

/** No windows means any time. */
export function inAnyWindow(ms: number, windows: readonly ActivationWindow[]): boolean {
  return windows.length === 0 || windows.some((w) => inWindow(ms, w));
}
