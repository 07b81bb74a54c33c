// flame.js — flame graphs (icicle layout: the outermost frame on top, the
// allocation call site at the bottom of each tower), drawn as SVG.
//
// Frames merge by function and module (as pprof's default granularity), so
// calls from different lines of one function are one box; the tooltip lists
// the lines. Boxes narrower than MIN_PX are not drawn (their value is still
// in their parent's width), which bounds the work for thousands of stacks.
// Click a box to zoom into it, click an ancestor bar (above) to zoom out;
// the search box highlights matching functions and sums their value.

const ROW_H = 18;
const MIN_PX = 0.6;
const CHAR_W = 6.4;          // average width of the 11px label font

// One node of the merged call tree.
function flameNode(key, frame, parent) {
  return { key: key, frame: frame, parent: parent, v: 0, o: 0, b: 0, a: 0,
    lines: null, kids: new Map(), list: null };
}

// Builds the tree of `items`: [{site, v, o, b, a}] where v (the width) is the
// value, o objects, and b/a before/after in a diff. frameKey(fi) names the
// merge key of a frame; D.sites[site] lists frames call site first.
function flameTree(D, items, frameKey) {
  const root = flameNode('', -1, null);
  for (const it of items) {
    const fr = D.sites[it.site];
    let n = root;
    add(n, it);
    for (let k = fr.length - 1; k >= 0; k--) {
      const fi = fr[k], key = frameKey(fi);
      let c = n.kids.get(key);
      if (!c) { c = flameNode(key, fi, n); n.kids.set(key, c); }
      add(c, it);
      const line = D.frames[fi][2];
      if (line > 0) {
        if (!c.lines) c.lines = new Set();
        if (c.lines.size < 8) c.lines.add(line);
      }
      n = c;
    }
  }
  (function sort(n) {
    n.list = Array.from(n.kids.values()).sort((x, y) => y.v - x.v || (x.key < y.key ? -1 : 1));
    n.kids = null;
    for (const c of n.list) sort(c);
  })(root);
  return root;
  function add(n, it) {
    n.v += it.v; n.o += it.o || 0; n.b += it.b || 0; n.a += it.a || 0;
  }
}

function hashStr(str) {
  let x = 2166136261;
  for (let i = 0; i < str.length; i++) { x ^= str.charCodeAt(i); x = Math.imul(x, 16777619); }
  return x >>> 0;
}

// opts: {label(frame) -> text, detail(frame) -> [file:line, module],
//   isMain(frame) -> bool, fmt(v), fmtObj(o), unit: 'bytes'}
function FlameGraph(container, opts) {
  this.box = container;
  this.opts = opts;
  this.root = null;
  this.zoom = null;
  this.re = null;
  this.diff = false;
  this.svg = null;
  this.info = h('div', { class: 'flame-info' });
  this.holder = h('div', { class: 'flame-holder' });
  container.appendChild(this.info);
  container.appendChild(this.holder);
  let t = 0;
  window.addEventListener('resize', () => {
    clearTimeout(t);
    t = setTimeout(() => this.render(), 120);
  });
}

FlameGraph.prototype.setTree = function (root, diff, caption) {
  this.root = root;
  this.diff = !!diff;
  this.zoom = null;
  this.caption = caption || '';
  this.render();
};

FlameGraph.prototype.resetZoom = function () {
  this.zoom = null;
  this.render();
};

FlameGraph.prototype.search = function (text) {
  this.re = null;
  if (text) {
    try {
      this.re = new RegExp(text, 'i');
    } catch (e) {
      this.re = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    }
  }
  this.render();
};

FlameGraph.prototype.matches = function (n) {
  if (!this.re || n.frame < 0) return false;
  return this.re.test(this.opts.label(n.frame)) || this.re.test(this.opts.detail(n.frame)[0]);
};

FlameGraph.prototype.color = function (n) {
  if (n.frame < 0) return '#cfd4dc';
  if (this.diff) {
    const d = n.a - n.b, m = Math.max(n.a, n.b);
    if (m <= 0 || d === 0) return '#dfe3e8';
    const r = Math.min(1, Math.abs(d) / m);
    const l = 88 - 36 * Math.sqrt(r);
    return d > 0 ? 'hsl(2, 78%, ' + l + '%)' : 'hsl(214, 72%, ' + l + '%)';
  }
  const hs = hashStr(n.key);
  if (this.opts.isMain(n.frame))
    return 'hsl(' + (8 + hs % 38) + ', 82%, ' + (58 + (hs >> 8) % 14) + '%)';
  return 'hsl(' + (195 + hs % 30) + ', 28%, ' + (70 + (hs >> 8) % 12) + '%)';
};

FlameGraph.prototype.render = function () {
  const root = this.root;
  this.holder.textContent = '';
  this.info.textContent = '';
  if (!root || root.v <= 0) {
    this.holder.appendChild(h('p', { class: 'note' }, 'Nothing to show: every value is zero.'));
    return;
  }
  const W = Math.max(320, this.holder.clientWidth || this.box.clientWidth || 900);
  const view = this.zoom || root;
  const chain = [];
  for (let a = view.parent; a; a = a.parent) chain.unshift(a);
  // visible nodes: [node, x, w, depth]
  const vis = [];
  let maxDepth = 0, matchSum = 0, matchN = 0;
  const walk = (n, x, w, depth, under) => {
    vis.push([n, x, w, depth]);
    if (depth > maxDepth) maxDepth = depth;
    const hit = this.matches(n);
    if (hit) { matchN++; if (!under) matchSum += n.v; }
    let cx = x;
    for (const c of n.list) {
      const cw = w * c.v / n.v;
      if (cw >= MIN_PX) walk(c, cx, cw, depth + 1, under || hit);
      cx += cw;
    }
  };
  chain.forEach((a, i) => vis.push([a, 0, W, i, 'anc']));
  walk(view, 0, W, chain.length, false);
  const H = (maxDepth + 1) * ROW_H + 2;
  const svg = s('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, class: 'flame',
    role: 'img', 'aria-label': 'flame graph' });
  const o = this.opts;
  vis.forEach((e, idx) => {
    const n = e[0], x = e[1], w = e[2], depth = e[3];
    const hit = this.matches(n);
    const g = s('g', { class: 'frame' + (e[4] ? ' anc' : '') + (hit ? ' match' : '') +
      (this.re && !hit ? ' dim' : ''), 'data-i': idx,
      transform: 'translate(' + x.toFixed(2) + ',' + (depth * ROW_H) + ')' }, svg);
    s('rect', { width: Math.max(0.5, w - 0.6).toFixed(2), height: ROW_H - 1,
      fill: hit ? '#d63fd0' : this.color(n), rx: 1.5 }, g);
    if (w > 3 * CHAR_W) {
      let label = n.frame < 0 ? 'all' : o.label(n.frame);
      const fit = Math.floor((w - 6) / CHAR_W);
      if (label.length > fit) label = fit > 2 ? label.slice(0, fit - 1) + '…' : '';
      if (label) s('text', { x: 3, y: ROW_H - 5 }, g, label);
    }
  });
  svg.addEventListener('mousemove', (ev) => {
    const g = ev.target.closest('g.frame');
    if (!g) { tip.hide(); return; }
    const n = vis[+g.getAttribute('data-i')][0];
    tip.show(ev, n.frame < 0 ? 'all' : o.label(n.frame), this.tipRows(n, view));
  });
  svg.addEventListener('mouseleave', () => tip.hide());
  svg.addEventListener('click', (ev) => {
    const g = ev.target.closest('g.frame');
    if (!g) return;
    const e = vis[+g.getAttribute('data-i')];
    this.zoom = e[0] === root ? null : e[0];
    tip.hide();
    this.render();
  });
  this.svg = svg;
  this.holder.appendChild(svg);
  const parts = [];
  if (this.caption) parts.push(this.caption);
  if (view !== root)
    parts.push('zoomed into ' + o.label(view.frame) + ': ' + o.fmt(this.diff ? view.a : view.v) +
      ' (' + fmtPct(view.v / root.v) + ' of all); click the top bar to zoom out');
  else
    parts.push('click a box to zoom in');
  if (this.re)
    parts.push(matchN ? 'search: ' + matchN + ' box' + (matchN === 1 ? '' : 'es') + ' match, ' +
      o.fmt(matchSum) + ' (' + fmtPct(matchSum / view.v) + ' of the view)' : 'search: no match');
  this.info.textContent = parts.join(' · ');
};

FlameGraph.prototype.tipRows = function (n, view) {
  const o = this.opts, rows = [];
  if (n.frame >= 0) {
    const d = o.detail(n.frame);
    let where = d[0];
    if (n.lines && n.lines.size > 1)
      where = where.replace(/:\d+$/, '') + ' lines ' + Array.from(n.lines).sort((a, b) => a - b).join(', ');
    rows.push(['where', where]);
    rows.push(['module', d[1]]);
  }
  if (this.diff) {
    rows.push(['before', o.fmt(n.b)]);
    rows.push(['after', o.fmt(n.a)]);
    rows.push(['change', fmtSBytes(n.a - n.b) + (n.b > 0 ? ' (' + (n.a >= n.b ? '+' : '') +
      fmtPct((n.a - n.b) / n.b) + ')' : n.a > 0 ? ' (new)' : '')]);
  } else {
    rows.push([o.unit, o.fmt(n.v)]);
    rows.push(['objects', fmtCount(n.o)]);
    rows.push(['share', fmtPct(n.v / this.root.v) + ' of all' +
      (view !== this.root ? ', ' + fmtPct(n.v / view.v) + ' of the view' : '')]);
  }
  return rows;
};
