// charts.js — DOM and SVG helpers, the tooltip, line charts and sparklines.
//
// Every text that comes from the data goes into the page through
// textContent or setAttribute, never through markup, so a function name
// like "operator<" or a hostile string in a dump stays text.

const SVGNS = 'http://www.w3.org/2000/svg';

// HTML element: h('td', {class: 'num'}, 'text' | node | [children]).
function h(tag, attrs, children) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

// SVG element, appended to parent when given.
function s(tag, attrs, parent, text) {
  const e = document.createElementNS(SVGNS, tag);
  setAttrs(e, attrs);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function setAttrs(e, attrs) {
  if (!attrs) return;
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(e, children) {
  if (children === null || children === undefined) return;
  if (!Array.isArray(children)) children = [children];
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number'
      ? document.createTextNode(String(c)) : c);
  }
}

// ---- tooltip ------------------------------------------------------------------

const tip = {
  el: null,
  // rows: [[label, value], ...] or a title string followed by rows
  show(ev, title, rows) {
    if (!this.el) this.el = document.getElementById('tooltip');
    const t = this.el;
    t.textContent = '';
    if (title) t.appendChild(h('div', { class: 'tt-title' }, title));
    if (rows && rows.length) {
      const tb = h('table');
      for (const r of rows) {
        if (!r) continue;
        tb.appendChild(h('tr', null, [h('th', null, r[0]), h('td', null, r[1])]));
      }
      t.appendChild(tb);
    }
    t.hidden = false;
    this.move(ev);
  },
  move(ev) {
    const t = this.el;
    if (!t || t.hidden) return;
    const pad = 14, w = t.offsetWidth, hh = t.offsetHeight;
    let x = ev.clientX + pad, y = ev.clientY + pad;
    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - pad);
    if (y + hh > window.innerHeight - 4) y = Math.max(4, ev.clientY - hh - pad);
    t.style.left = x + 'px';
    t.style.top = y + 'px';
  },
  hide() {
    if (this.el) this.el.hidden = true;
  },
};

// ---- scales and ticks ----------------------------------------------------------

// About n "nice" ticks (1, 2, 5 x 10^k) covering [lo, hi].
function niceTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  const step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

// Byte ticks at nice values of the unit the largest value is shown in.
function byteTicks(lo, hi, n) {
  const a = Math.max(Math.abs(lo), Math.abs(hi));
  let u = 1;
  while (a / u >= 1024 && u < Math.pow(1024, 6)) u *= 1024;
  return niceTicks(lo / u, hi / u, n).map((v) => v * u);
}

// Short byte label for an axis: "20 MiB", "1.5 GiB".
function axisBytes(v) {
  if (v === 0) return '0';
  const t = fmtBytes(v);
  return t.replace('.0 ', ' ');
}

// Time ticks (seconds) at 1/2/5/10/15/30 s, minutes, hours or days: never
// closer than a second, since the labels are clock times.
function timeTicks(lo, hi, n) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    10800, 21600, 43200, 86400, 172800, 604800];
  const raw = (hi - lo) / Math.max(1, n);
  let step = steps[steps.length - 1];
  for (const st of steps) if (st >= raw) { step = st; break; }
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

function linScale(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = (v) => r0 + (v - d0) * k;
  f.invert = (p) => (k === 0 ? d0 : d0 + (p - r0) / k);
  return f;
}

// ---- line chart -------------------------------------------------------------------

// opts: {width, height, series: [{name, color, x: [], y: [], dash, width,
//   dots, segment}], markers: [{x, label, cls}], xLabel(v), yLabel(v),
//   xTicks(lo, hi, n), yTicks(lo, hi, n), hover(x) -> [title, rows],
//   yMin0: true, lines: [{x0, y0, x1, y1, color, dash, name}], legend: true}
// Returns the <svg>. Series with fewer than one point are skipped.
function lineChart(opts) {
  const W = opts.width, H = opts.height;
  const m = { l: 64, r: 34, t: opts.legend === false ? 10 : 28, b: 26 };
  const svg = s('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H,
    class: 'chart', role: 'img', 'aria-label': opts.title || 'chart' });
  let x0 = Infinity, x1 = -Infinity, y0 = opts.yMin0 === false ? Infinity : 0, y1 = -Infinity;
  for (const se of opts.series) {
    for (let i = 0; i < se.x.length; i++) {
      if (se.x[i] < x0) x0 = se.x[i];
      if (se.x[i] > x1) x1 = se.x[i];
      if (se.y[i] === null) continue;
      if (se.y[i] < y0) y0 = se.y[i];
      if (se.y[i] > y1) y1 = se.y[i];
    }
  }
  for (const l of opts.lines || []) {
    y1 = Math.max(y1, l.y0, l.y1);
    y0 = Math.min(y0, l.y0, l.y1);
  }
  if (!Number.isFinite(x0)) { x0 = 0; x1 = 1; }
  if (x1 === x0) x1 = x0 + 1;
  if (!Number.isFinite(y1) || y1 <= y0) y1 = y0 + 1;
  y1 += (y1 - y0) * 0.05;
  const X = linScale(x0, x1, m.l, W - m.r), Y = linScale(y0, y1, H - m.b, m.t);
  const yt = (opts.yTicks || byteTicks)(y0, y1, Math.max(2, Math.floor((H - m.t - m.b) / 40)));
  const xt = (opts.xTicks || niceTicks)(x0, x1, Math.max(2, Math.floor((W - m.l - m.r) / 90)));
  const grid = s('g', { class: 'grid' }, svg);
  for (const v of yt) {
    if (v < y0 || v > y1) continue;
    s('line', { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v) }, grid);
    s('text', { x: m.l - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' }, grid,
      (opts.yLabel || axisBytes)(v));
  }
  for (const v of xt) {
    if (v < x0 || v > x1) continue;
    s('line', { x1: X(v), x2: X(v), y1: m.t, y2: H - m.b, class: 'vgrid' }, grid);
    s('text', { x: X(v), y: H - m.b + 16, 'text-anchor': 'middle', class: 'tick' }, grid,
      (opts.xLabel || String)(v));
  }
  s('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, class: 'axis' }, svg);
  for (const mk of opts.markers || []) {
    const g = s('g', { class: 'marker ' + (mk.cls || '') }, svg);
    s('line', { x1: X(mk.x), x2: X(mk.x), y1: m.t, y2: H - m.b }, g);
    // labels near the right edge go to the left of their line
    const right = X(mk.x) > W - m.r - 120;
    if (mk.label) s('text', { x: X(mk.x) + (right ? -3 : 3), y: m.t + 10 + (mk.row || 0) * 12,
      'text-anchor': right ? 'end' : null }, g, mk.label);
  }
  for (const l of opts.lines || []) {
    s('line', { x1: X(l.x0), y1: Y(l.y0), x2: X(l.x1), y2: Y(l.y1), stroke: l.color,
      'stroke-dasharray': l.dash || null, class: 'trend' }, svg);
  }
  for (const se of opts.series) {
    if (!se.x.length) continue;
    let d = '', pen = false;
    for (let i = 0; i < se.x.length; i++) {
      if (se.y[i] === null || (se.segment && i > 0 && se.segment[i] !== se.segment[i - 1])) {
        pen = false;
        if (se.y[i] === null) continue;
      }
      d += (pen ? 'L' : 'M') + X(se.x[i]).toFixed(1) + ' ' + Y(se.y[i]).toFixed(1);
      pen = true;
    }
    s('path', { d: d, fill: 'none', stroke: se.color, 'stroke-width': se.width || 2,
      'stroke-dasharray': se.dash || null, class: 'line', 'data-name': se.name }, svg);
    if (se.dots || se.x.length < 3) {
      const g = s('g', { fill: se.color, class: 'dots' }, svg);
      for (let i = 0; i < se.x.length; i++)
        if (se.y[i] !== null) s('circle', { cx: X(se.x[i]), cy: Y(se.y[i]), r: 2.2 }, g);
    }
  }
  if (opts.legend !== false) {
    let lx = m.l;
    for (const se of opts.series.concat(opts.lines || [])) {
      if (!se.name || se.legend === false) continue;
      const g = s('g', { class: 'legend' }, svg);
      s('line', { x1: lx, x2: lx + 18, y1: 12, y2: 12, stroke: se.color, 'stroke-width': 3,
        'stroke-dasharray': se.dash || null }, g);
      s('text', { x: lx + 23, y: 16 }, g, se.name);
      lx += 23 + Math.max(40, se.name.length * 6.6) + 16;
    }
  }
  if (opts.hover) {
    const cross = s('line', { y1: m.t, y2: H - m.b, class: 'cross', visibility: 'hidden' }, svg);
    const hit = s('rect', { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b,
      fill: 'transparent', class: 'hit' }, svg);
    hit.addEventListener('mousemove', (ev) => {
      const r = svg.getBoundingClientRect();
      const px = (ev.clientX - r.left) * (W / r.width);
      const res = opts.hover(X.invert(px));
      if (!res) { tip.hide(); return; }
      cross.setAttribute('x1', X(res.x));
      cross.setAttribute('x2', X(res.x));
      cross.setAttribute('visibility', 'visible');
      tip.show(ev, res.title, res.rows);
    });
    hit.addEventListener('mouseleave', () => {
      cross.setAttribute('visibility', 'hidden');
      tip.hide();
    });
  }
  return svg;
}

// Index of the x nearest to v in a sorted array.
function nearest(xs, v) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - v) <= Math.abs(xs[lo] - v)) lo--;
  return lo;
}

// A small trend picture for a table cell.
function sparkline(xs, ys, w, hgt, cls) {
  const svg = s('svg', { width: w, height: hgt, viewBox: '0 0 ' + w + ' ' + hgt,
    class: 'spark ' + (cls || ''), 'aria-hidden': 'true' });
  if (!xs.length) return svg;
  let x0 = xs[0], x1 = xs[xs.length - 1], y0 = Infinity, y1 = -Infinity;
  for (const y of ys) { if (y < y0) y0 = y; if (y > y1) y1 = y; }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 = y0 + 1; }
  const X = linScale(x0, x1, 1, w - 1), Y = linScale(Math.min(0, y0), y1, hgt - 2, 2);
  let d = '';
  for (let i = 0; i < xs.length; i++)
    d += (i ? 'L' : 'M') + X(xs[i]).toFixed(1) + ' ' + Y(ys[i]).toFixed(1);
  s('path', { d: d + 'L' + X(xs[xs.length - 1]).toFixed(1) + ' ' + (hgt - 1) +
    'L' + X(xs[0]).toFixed(1) + ' ' + (hgt - 1) + 'Z', class: 'area' }, svg);
  s('path', { d: d, class: 'stroke' }, svg);
  return svg;
}
