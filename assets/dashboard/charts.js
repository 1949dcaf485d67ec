// DOM helpers and the charts, drawn as plain SVG (no charting library: the
// dashboard needs four small chart kinds, and SVG keeps them under the page's
// strict CSP — presentation attributes only, no inline style).

import { fmtCompact, fmtCount, fmtDay, fmtTime } from './format.js';

/** An HTML element: `h('div', {class: 'x', onclick: f}, child, 'text')`. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element, same calling convention as `h`. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const END_STATES = ['SUCCESS', 'FAILURE', 'DROPPED'];
export const END_STATE_LABEL = { SUCCESS: 'Contained', FAILURE: 'Failed / transferred', DROPPED: 'Dropped', '(none)': 'Unknown' };

/** Volume by end state: one stacked bar per bin.
 * `bins`: [{ t: ISO, parts: {SUCCESS: n, …} }], sorted by time. */
export function stackedBars(bins, hourly) {
  const W = 800;
  const H = 190;
  const pad = { l: 44, r: 8, t: 8, b: 22 };
  const keys = [...END_STATES, '(none)'].filter((k) => bins.some((b) => b.parts[k]));
  const totals = bins.map((b) => keys.reduce((a, k) => a + (b.parts[k] || 0), 0));
  const max = Math.max(1, ...totals);
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const bw = iw / Math.max(1, bins.length);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': 'Sessions by end state over time' });
  for (const f of [0, 0.5, 1]) {
    const y = pad.t + ih * (1 - f);
    svg.append(
      s('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'grid' }),
      s('text', { x: pad.l - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, fmtCompact(max * f))
    );
  }
  bins.forEach((b, i) => {
    let y = pad.t + ih;
    const x = pad.l + i * bw;
    const g = s('g', { class: 'bar' });
    for (const k of keys) {
      const v = b.parts[k] || 0;
      if (!v) continue;
      const bh = (v / max) * ih;
      y -= bh;
      g.append(s('rect', { x: x + bw * 0.1, y, width: Math.max(0.5, bw * 0.8), height: bh, class: `es-${k === '(none)' ? 'NONE' : k}` }));
    }
    const label = `${hourly ? fmtTime(b.t) : fmtDay(b.t)}: ${fmtCount(totals[i])} sessions — ` +
      keys.map((k) => `${END_STATE_LABEL[k]} ${fmtCount(b.parts[k] || 0)}`).join(', ');
    g.append(s('title', {}, label));
    svg.append(g);
  });
  const ticks = Math.min(bins.length, 8);
  for (let j = 0; j < ticks; j++) {
    const i = Math.floor((j * bins.length) / ticks);
    const x = pad.l + (i + 0.5) * bw;
    svg.append(s('text', { x, y: H - 6, class: 'axis', 'text-anchor': 'middle' }, hourly ? fmtTime(bins[i].t) : fmtDay(bins[i].t)));
  }
  const legend = h('div', { class: 'legend' }, keys.map((k) => h('span', {}, s('svg', { viewBox: '0 0 10 10', class: 'swatch' }, s('rect', { width: 10, height: 10, class: `es-${k === '(none)' ? 'NONE' : k}` })), END_STATE_LABEL[k])));
  return h('div', {}, svg, legend);
}

/** A sparkline of `values` (numbers; null as 0). */
export function sparkline(values, label) {
  const W = 120;
  const H = 28;
  const max = Math.max(1, ...values.map((v) => v || 0));
  const step = values.length > 1 ? W / (values.length - 1) : W;
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(H - 2 - ((v || 0) / max) * (H - 4)).toFixed(1)}`);
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'spark', role: 'img', 'aria-label': label },
    s('polyline', { points: pts.join(' '), class: 'spark-line' }),
    s('title', {}, label));
}

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Weekday × hour grid: `grid[day][hour]` counts, Monday first. */
export function heatmap(grid) {
  const cell = 28;
  const left = 40;
  const top = 18;
  const max = Math.max(1, ...grid.flat());
  const svg = s('svg', { viewBox: `0 0 ${left + 24 * cell} ${top + 7 * cell}`, class: 'heatmap', role: 'img', 'aria-label': 'Sessions by weekday and hour' });
  for (let hr = 0; hr < 24; hr += 3) {
    svg.append(s('text', { x: left + hr * cell + cell / 2, y: 12, class: 'axis', 'text-anchor': 'middle' }, `${String(hr).padStart(2, '0')}h`));
  }
  grid.forEach((row, d) => {
    svg.append(s('text', { x: left - 6, y: top + d * cell + cell / 2 + 4, class: 'axis', 'text-anchor': 'end' }, WEEKDAYS[d]));
    row.forEach((v, hr) => {
      const f = v / max;
      // From a pale to a deep blue; empty cells stay grey.
      const fill = v === 0 ? '#eef0f3' : `hsl(215, 70%, ${Math.round(92 - f * 55)}%)`;
      svg.append(s('rect', { x: left + hr * cell + 1, y: top + d * cell + 1, width: cell - 2, height: cell - 2, rx: 3, fill, class: 'heat-cell', dataset: { day: d, hour: hr, count: v } },
        s('title', {}, `${WEEKDAYS[d]} ${String(hr).padStart(2, '0')}:00–${String(hr).padStart(2, '0')}:59: ${fmtCount(v)} sessions`)));
    });
  });
  return svg;
}

/** One bot's stage funnel: rows of `{ name, count, success, failed, dropped, retry }`. */
export function funnel(rows) {
  const max = Math.max(1, ...rows.map((r) => r.count || 0));
  const W = 420;
  const rowH = 30;
  const svg = s('svg', { viewBox: `0 0 ${W} ${rows.length * rowH}`, class: 'funnel', role: 'img', 'aria-label': 'Intent stage funnel' });
  rows.forEach((r, i) => {
    const w = ((r.count || 0) / max) * (W - 170);
    const sw = r.count ? ((r.success || 0) / r.count) * w : 0;
    const y = i * rowH;
    svg.append(s('g', {},
      s('text', { x: 0, y: y + 19, class: 'axis' }, r.name),
      s('rect', { x: 120, y: y + 5, width: Math.max(1, w), height: rowH - 10, class: 'funnel-all' }),
      s('rect', { x: 120, y: y + 5, width: sw, height: rowH - 10, class: 'es-SUCCESS' }),
      s('text', { x: 126 + w, y: y + 19, class: 'axis' }, fmtCompact(r.count)),
      s('title', {}, `${r.name}: ${fmtCount(r.count)} (success ${fmtCount(r.success)}, failed ${fmtCount(r.failed)})`)
    ));
  });
  return svg;
}

/** A small horizontal bar for a share in [0, 1] (null: an empty track),
 * filled with `fill` (a class: `es-SUCCESS` green, `meter-fill` the accent). */
export function meter(fraction, label, fill = 'es-SUCCESS') {
  const W = 80;
  const H = 8;
  const f = fraction == null ? 0 : Math.max(0, Math.min(1, fraction));
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'meter', role: 'img', 'aria-label': label },
    s('rect', { width: W, height: H, rx: 2, class: 'funnel-all' }),
    f ? s('rect', { width: Math.max(1, f * W), height: H, rx: 2, class: fill }) : null,
    s('title', {}, label));
}
