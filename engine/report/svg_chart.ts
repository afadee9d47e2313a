/**
 * Small static SVG charts for the lab's reports (sweep, walk-forward): line charts over time and
 * histograms. Drawn on the server as plain SVG, so a report is one self-contained file that reads
 * without JavaScript or any library.
 */

import { formatDate, formatNumber } from "../core/format.ts";

/** One line of a line chart. */
export interface LineSeries {
  readonly label: string;
  readonly color: string;
  /** One value per time (NaN leaves a gap). */
  readonly values: ArrayLike<number>;
}

const W = 960;
const H = 300;
const PAD = { left: 70, right: 12, top: 12, bottom: 28 };

/** A line chart of `series` over `timesMs` (at most ~1,000 points per line are drawn). */
export function lineChart(timesMs: ArrayLike<number>, series: readonly LineSeries[]): string {
  const n = timesMs.length;
  if (n === 0) return '<p class="note">No data.</p>';
  const stride = Math.max(1, Math.ceil(n / 1000));
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (let i = 0; i < n; i++) {
      const v = s.values[i]!;
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (!(hi > lo)) {
    hi = lo + 1;
    lo -= 1;
  }
  const t0 = timesMs[0]!;
  const t1 = timesMs[n - 1]! > t0 ? timesMs[n - 1]! : t0 + 1;
  const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + ((hi - v) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const paths = series.map((s) => {
    let d = "";
    let pen = "M";
    for (let i = 0; i < n; i += stride) {
      const j = Math.min(n - 1, i);
      const v = s.values[j]!;
      if (!Number.isFinite(v)) {
        pen = "M";
        continue;
      }
      d += `${pen}${x(timesMs[j]!).toFixed(1)},${y(v).toFixed(1)}`;
      pen = "L";
    }
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`;
  });
  const ticks = [lo, (lo + hi) / 2, hi].map((v) =>
    `<text x="${PAD.left - 6}" y="${
      y(v).toFixed(1)
    }" text-anchor="end" dominant-baseline="middle">${formatNumber(v, { decimals: 0 })}</text>`
  );
  const dates = [t0, (t0 + t1) / 2, t1].map((t, k) =>
    `<text x="${x(t).toFixed(1)}" y="${H - 8}" text-anchor="${["start", "middle", "end"][k]}">${
      formatDate(t)
    }</text>`
  );
  return svg([axes(), ...ticks, ...dates, ...paths].join("")) + legend(series);
}

/** A histogram of `values` in `bins` bins, with optional vertical markers (e.g. buy-and-hold). */
export function histogram(
  values: readonly number[],
  options: { readonly bins?: number; readonly markers?: readonly LineSeries[] },
): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '<p class="note">No finite values.</p>';
  const marks = (options.markers ?? []).map((m) => ({ ...m, at: m.values[0]! }));
  let lo = Math.min(...finite, ...marks.map((m) => m.at).filter(Number.isFinite));
  let hi = Math.max(...finite, ...marks.map((m) => m.at).filter(Number.isFinite));
  if (!(hi > lo)) {
    hi = lo + 1;
    lo -= 1;
  }
  const bins = options.bins ?? 30;
  const counts = new Array<number>(bins).fill(0);
  for (const v of finite) counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]!++;
  const top = Math.max(...counts);
  const x = (v: number) => PAD.left + ((v - lo) / (hi - lo)) * (W - PAD.left - PAD.right);
  const bw = (W - PAD.left - PAD.right) / bins;
  const bars = counts.map((c, i) => {
    const h = (c / top) * (H - PAD.top - PAD.bottom);
    return `<rect x="${(PAD.left + i * bw + 1).toFixed(1)}" y="${
      (H - PAD.bottom - h).toFixed(1)
    }" width="${(bw - 2).toFixed(1)}" height="${
      h.toFixed(1)
    }" fill="#93c5fd"><title>${c}</title></rect>`;
  });
  const lines = marks.filter((m) => Number.isFinite(m.at)).map((m) =>
    `<line x1="${x(m.at).toFixed(1)}" x2="${x(m.at).toFixed(1)}" y1="${PAD.top}" y2="${
      H - PAD.bottom
    }" stroke="${m.color}" stroke-width="2"/>`
  );
  const labels = [lo, (lo + hi) / 2, hi].map((v, k) =>
    `<text x="${x(v).toFixed(1)}" y="${H - 8}" text-anchor="${["start", "middle", "end"][k]}">${
      formatNumber(v, { decimals: 2 })
    }</text>`
  );
  const count = `<text x="${PAD.left - 6}" y="${PAD.top + 8}" text-anchor="end">${top}</text>`;
  return svg([axes(), ...bars, ...lines, ...labels, count].join("")) + legend(marks);
}

function axes(): string {
  return `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${
    H - PAD.bottom
  }" stroke="#cbd5e1"/><line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${
    H - PAD.bottom
  }" stroke="#cbd5e1"/>`;
}

function svg(body: string): string {
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" style="font:11px system-ui,sans-serif;fill:#475569">${body}</svg>`;
}

function legend(series: readonly { label: string; color: string }[]): string {
  if (series.length === 0) return "";
  return `<p class="legend">${
    series.map((s) => `<span><i style="background:${s.color}"></i>${escapeHtml(s.label)}</span>`)
      .join("")
  }</p>`;
}

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
