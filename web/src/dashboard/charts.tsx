import { useEffect, useId, useRef, useState, type ReactNode, type RefObject } from 'react';

/**
 * Plain SVG charts drawn by React. No inline styles (the CSP allows stylesheets from this origin
 * only): sizes are SVG attributes, colours come from classes in styles.css. Each chart carries a
 * text summary for screen readers and its figures as a table.
 */

export interface Series {
  name: string;
  /** A class from styles.css that sets the fill (c-activation, c-standing, …). */
  className: string;
  values: number[];
}

/** The width of an element, followed as it changes (charts are drawn at their real pixel size). */
function useWidth<T extends HTMLElement>(fallback: number): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(200, Math.floor(el.getBoundingClientRect().width)));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

/** A "nice" top for an axis and its step: 1, 2 or 5 × 10ⁿ, about four ticks. */
export function niceScale(max: number, ticks = 4, integers = false): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 1 };
  const raw = integers ? Math.max(1, max / ticks) : max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

/** 2026-03-02 → "2 Mar" (the day is a UTC day). */
export const shortDay = (date: string): string =>
  new Date(`${date}T00:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

/** The series' colours; a series with nothing to show (all zero) is left out. */
export function Legend({ series }: { series: Series[] }) {
  return (
    <ul className="legend" aria-hidden="true">
      {series.filter((s) => s.values.some((v) => v > 0)).map((s) => (
        <li key={s.name}>
          <svg width="12" height="12" className="swatch">
            <rect width="12" height="12" rx="2" className={s.className} />
          </svg>
          {s.name}
        </li>
      ))}
    </ul>
  );
}

/**
 * Columns per day, stacked when there are several series. `percent` draws each day's share of its
 * total (100 % stacked); titles then give both the share and the value.
 */
export function ColumnChart({
  summary,
  labels,
  series,
  yLabel,
  unit = (v: number) => String(v),
  percent = false,
  height = 220,
}: {
  summary: string;
  labels: string[];
  series: Series[];
  yLabel: string;
  unit?: (v: number) => string;
  percent?: boolean;
  height?: number;
}) {
  const titleId = useId();
  const [ref, width] = useWidth<HTMLDivElement>(640);
  const m = { top: 12, right: 8, bottom: 28, left: 48 };
  const plotW = Math.max(10, width - m.left - m.right);
  const plotH = height - m.top - m.bottom;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const { top, step } = percent ? { top: 100, step: 25 } : niceScale(Math.max(0, ...totals), 4, true);
  const y = (v: number) => m.top + plotH - (v / top) * plotH;
  const slot = labels.length > 0 ? plotW / labels.length : plotW;
  const bar = Math.max(1, Math.min(40, slot * 0.7));
  const every = Math.max(1, Math.ceil(labels.length / Math.max(1, Math.floor(plotW / 56))));
  const ticks: number[] = [];
  for (let v = 0; v <= top + 1e-9; v += step) ticks.push(Math.round(v * 1000) / 1000);

  return (
    <div ref={ref} className="chart">
      <svg width={width} height={height} role="img" aria-labelledby={titleId} className="chart-svg">
        <title id={titleId}>{summary}</title>
        <g className="axis">
          {ticks.map((t) => (
            <g key={t}>
              <line x1={m.left} x2={m.left + plotW} y1={y(t)} y2={y(t)} className={t === 0 ? 'baseline' : 'grid'} />
              <text x={m.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
                {percent ? `${t}%` : t}
              </text>
            </g>
          ))}
          <text transform={`translate(12 ${m.top + plotH / 2}) rotate(-90)`} textAnchor="middle" className="axis-title">
            {yLabel}
          </text>
          {labels.map((l, i) =>
            i % every === 0 ? (
              <text key={l} x={m.left + slot * i + slot / 2} y={m.top + plotH + 18} textAnchor="middle">
                {shortDay(l)}
              </text>
            ) : null,
          )}
        </g>
        {labels.map((l, i) => {
          let base = 0;
          const total = totals[i] ?? 0;
          return (
            <g key={l}>
              {series.map((s) => {
                const v = s.values[i] ?? 0;
                if (v <= 0) return null;
                const h = percent ? (total > 0 ? (v / total) * 100 : 0) : v;
                const y0 = y(base + h);
                const rect = (
                  <rect key={s.name} x={m.left + slot * i + (slot - bar) / 2} y={y0} width={bar} height={Math.max(0.5, y(base) - y0)} className={s.className}>
                    <title>{`${shortDay(l)}: ${s.name} ${unit(v)}${percent ? ` (${Math.round((v / total) * 100)}%)` : ''}`}</title>
                  </rect>
                );
                base += h;
                return rect;
              })}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** Horizontal bars for categories (reasons, roles): the label is HTML (wraps), the bar is SVG. */
export function BarList({ summary, items, className, unit = (v: number) => String(v) }: { summary: string; items: { key: string; label: ReactNode; value: number }[]; className: string; unit?: (v: number) => string }) {
  const max = Math.max(0, ...items.map((x) => x.value));
  return (
    <ul className="barlist" aria-label={summary}>
      {items.map((x) => (
        <li key={x.key}>
          <span className="barlist-label">{x.label}</span>
          <svg className="barlist-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
            <rect width={max > 0 ? Math.max(0.5, (x.value / max) * 100) : 0} height="10" rx="1" className={className} />
          </svg>
          <span className="barlist-value">{unit(x.value)}</span>
        </li>
      ))}
    </ul>
  );
}

/** A chart's figures as a table, folded away under the chart. */
export function FiguresTable({ caption, head, rows }: { caption: string; head: string[]; rows: (string | number)[][] }) {
  return (
    <details className="figures">
      <summary>Show the figures as a table</summary>
      <div className="table-wrap" role="region" aria-label={`${caption} (table)`} tabIndex={0}>
        <table>
          <caption className="visually-hidden">{caption}</caption>
          <thead>
            <tr>
              {head.map((h, i) => (
                <th key={h} scope="col" className={i > 0 ? 'num' : undefined}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={String(r[0])}>
                {r.map((c, i) =>
                  i === 0 ? (
                    <th key={i} scope="row">
                      {c}
                    </th>
                  ) : (
                    <td key={i} className="num">
                      {c}
                    </td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
