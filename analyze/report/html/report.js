// report.js — reads the page's data document (#lw-data, written by
// analyze/report/html_data.c; shape in docs/CLI.md "report") and draws the
// sections: summary, memory over time, growth ranking, flame graphs,
// retainers. Tables of figures show the numbers of the CLI's own JSON
// (growth, top, diff, retainers), formatted with units.js.

const D = JSON.parse(document.getElementById('lw-data').textContent);
const MAIN_MODULE = D.processes.length ? baseName(D.processes[0].exe) : '';
const COLORS = { rss: '#3b6fd8', committed: '#e8912d', inuse: '#d23c3c', trend: '#222' };

// ---- frames and sites ---------------------------------------------------------------

function str(i) { return i >= 0 ? D.strings[i] : ''; }
function fnName(fi) { return str(D.frames[fi][0]); }
function fileOf(fi) { return str(D.frames[fi][1]); }
function lineOf(fi) { return D.frames[fi][2]; }
function moduleOf(fi) { return str(D.frames[fi][3]); }

// Labels of CLI JSON frames (top, diff, retainers documents), as lw_frame_label
// writes them without a width limit: "f (file.c:12)", "f (file.c)", "f (module)".
function labelParts(fn, file, line, mod) {
  if (file && line > 0) return fn + ' (' + baseName(file) + ':' + line + ')';
  if (file) return fn + ' (' + baseName(file) + ')';
  return fn + ' (' + baseName(mod) + ')';
}

// A frame of the tables: [function, file, line, module, inlined, label,
// short label or -1, offset]. The label is lw_frame_label's; long ones have
// the short form the terminal prints.
function frameLabel(fi) {
  const f = D.frames[fi];
  return str(f[6] >= 0 ? f[6] : f[5]);
}
function fullLabel(fi) { return str(D.frames[fi][5]); }
function unknownFn(fi) { return fnName(fi) === '??'; }

function frameWhere(fi) {
  const file = fileOf(fi), line = lineOf(fi);
  if (!file) return baseName(moduleOf(fi));
  return baseName(file) + (line > 0 ? ':' + line : '');
}

function siteLabel(si) {
  const fr = D.sites[si];
  return fr && fr.length ? frameLabel(fr[0]) : '(no frames)';
}

function docFrameLabel(f) {
  if (!f.file && f.function === '??' && f.offset && f.module !== '??')
    return '?? (' + baseName(f.module) + '+0x' + f.offset.toString(16) + ')';
  return labelParts(f.function, f.file, f.line, f.module);
}

function callersText(si, k) {
  const fr = D.sites[si] || [];
  const out = [];
  for (let i = 1; i < fr.length && i <= k; i++) out.push(frameLabel(fr[i]));
  return out.length ? '← ' + out.join(' ← ') + (fr.length > k + 1 ? ' ← …' : '') : '';
}

function procOfPid(pid) {
  for (const p of D.processes) if (p.pid === pid) return p;
  return null;
}

function plural(n, one, many) { return n + ' ' + (n === 1 ? one : (many || one + 's')); }
function num(n) { return Number(n).toLocaleString('en-US'); }

function section(id, title, intro) {
  const sec = document.getElementById(id);
  const keep = Array.from(sec.childNodes);
  sec.textContent = '';
  sec.appendChild(h('h2', null, title));
  if (intro) sec.appendChild(h('p', { class: 'intro' }, intro));
  return { sec: sec, keep: keep };
}

function verdictBadge(v) { return h('span', { class: 'badge v-' + v }, v); }

function tableOf(head, rows, cls) {
  const t = h('table', { class: cls || 'grid-table' });
  t.appendChild(h('thead', null, h('tr', null, head.map((c) =>
    h('th', { class: c.num ? 'num' : null }, c.t || c)))));
  const tb = h('tbody');
  for (const r of rows) tb.appendChild(r);
  t.appendChild(tb);
  return t;
}

function td(text, cls, title) { return h('td', { class: cls, title: title }, text); }

// ---- summary ---------------------------------------------------------------------------

// "since the start of pid 123 (11:02:03)" or "since 11:05:10 (3m07s after pid 123 started)".
function sinceText(row) {
  const on = row.detail ? row.onset : null;
  const p = procOfPid(row.process.pid);
  if (!on || !p) return null;
  const long = p.last_wall_ns - p.start_wall_ns > 86400e9;
  const day = fmtWall(on.wall_ns, true).slice(0, 10);
  if (on.seq === firstSeq(row.process.pid))
    return { when: fmtWall(p.start_wall_ns, long), how: 'when pid ' + p.pid + ' started, ' + day };
  return { when: fmtWall(on.wall_ns, long),
    how: fmtDuration(on.t_s) + ' after pid ' + p.pid + ' started, ' + day };
}

function firstSeq(pid) {
  for (const tp of D.timeline.processes) if (tp.pid === pid && tp.seq.length) return tp.seq[0];
  return -1;
}

// The root that reaches most of the explained site's blocks, with its kind.
function keeperOf() {
  const R = D.retainers;
  if (!R || !R.doc.reaching_roots.length) return null;
  const rr = R.doc.reaching_roots[0];
  let kind = '';
  for (const n of R.doc.nodes) if (n.kind === 'root' && n.label === rr.root) kind = n.root_kind;
  return { root: rr, kind: kind, of: R.doc.target_blocks };
}

function renderSummary() {
  const { sec } = section('summary', 'leakwatch report: ' + D.title);
  const g = D.growth, rows = g.rows, c = g.counts;
  const leaks = rows.filter((r) => r.verdict === 'leak');
  const growing = rows.filter((r) => r.verdict === 'growing');
  const box = h('div', { class: 'verdict' });
  sec.appendChild(box);
  let head, cls, top = null;
  const multi = D.processes.length > 1;
  if (c.leak > 0) {
    // one site leaking in several processes (restarts) is one site
    const distinct = new Set(leaks.map((r) => r.site)).size;
    const procs = new Set(leaks.map((r) => r.process.pid)).size;
    const n = leaks.length === c.leak ? distinct : c.leak;
    head = (n === 1 ? '1 site leaks' : n + ' sites leak') +
      (leaks.length === c.leak && procs > 1 ? ', in ' + procs + ' processes' : '');
    cls = 'bad';
    top = leaks[0];
  } else if (c.growing > 0) {
    head = 'No steady leak, but ' + plural(c.growing, 'site') + ' growing';
    cls = 'warn';
    top = growing[0];
  } else if (g.note) {
    head = 'Not enough snapshots to judge growth';
    cls = 'neutral';
  } else {
    head = 'No leak found';
    cls = 'good';
  }
  box.classList.add(cls);
  box.appendChild(h('div', { class: 'headline', id: 'verdict-headline' }, head));
  if (top) {
    const since = sinceText(top);
    const keep = keeperOf();
    const R = D.retainers;
    const kept = keep && R.site === top.site;
    const fr = D.sites[top.site] || [];
    const tile = (id, k, v, sub) => h('div', { class: 'tile', id: id }, [h('div', { class: 'k' }, k),
      h('div', { class: 'v' }, v), h('div', { class: 'sub' }, sub)]);
    box.appendChild(h('div', { class: 'tiles' }, [
      tile('tile-where', top.verdict === 'leak' ? 'leaking site' : 'growing site',
        h('code', { class: 'site' }, siteLabel(top.site)),
        fr.length > 1 ? 'called from ' + frameLabel(fr[1]) : ''),
      tile('tile-rate', 'how fast', fmtPerHour(top.slope_bytes_per_s),
        fmtSlope(top.slope_bytes_per_s) + ' · ' + fmtBytes(top.inuse_bytes) + ' in use now'),
      tile('tile-since', 'since', since ? since.when : '?', since ? since.how : ''),
      kept ? tile('tile-keeper', 'kept alive by', h('code', { class: 'root' }, keep.root.root),
        (keep.kind ? keep.kind + ' · ' : '') + 'reaches ' + num(keep.root.blocks) + ' of ' +
          num(keep.of) + ' blocks')
        : tile('tile-keeper', 'kept alive by', '?', R ? 'the dump has no blocks of this site'
          : 'no heap dump: take one with leakwatch snapshot PID'),
    ]));
    const lead = h('p', { class: 'lead', id: 'verdict-sentence' }, [
      h('code', { class: 'site' }, siteLabel(top.site)),
      top.verdict === 'leak' ? ' leaks ' : ' grows by ',
      h('strong', null, fmtPerHour(top.slope_bytes_per_s)),
      ' (' + fmtSlope(top.slope_bytes_per_s) + ')',
      since ? [' since ', h('strong', null, since.when), ' (' + since.how.replace(/, \d{4}-.*$/, '') + ')'] : null,
      ' and holds ', h('strong', null, fmtBytes(top.inuse_bytes)), ' now.',
    ].flat());
    box.appendChild(lead);
    if (fr.length > 1)
      box.appendChild(h('p', { class: 'stackline' }, 'Allocated at ' + siteLabel(top.site) + ' ' +
        callersText(top.site, 3)));
    if (kept) {
      box.appendChild(h('p', { id: 'verdict-keeper' }, [
        'Kept alive by the ' + (keep.kind ? keep.kind + ' ' : 'root '),
        h('strong', null, keep.root.root),
        ': it reaches ' + num(keep.root.blocks) + ' of the ' + num(keep.of) +
          ' reachable blocks of the site in ' + baseName(R.dump) + ' (see ',
        h('a', { href: '#retainers' }, 'retainers'), ').']));
    } else if (D.retainers_note) {
      box.appendChild(h('p', { class: 'note' }, 'No retainer graph: ' + D.retainers_note + '.'));
    }
    const more = (top.verdict === 'leak' ? leaks : growing).slice(1, 4);
    if (more.length) {
      box.appendChild(h('p', null, 'Also ' + (top.verdict === 'leak' ? 'leaking' : 'growing') + ': ' +
        more.map((r) => siteLabel(r.site) + (multi ? ' in pid ' + r.process.pid : '') + ' ' +
          fmtPerHour(r.slope_bytes_per_s)).join('; ') +
        ((top.verdict === 'leak' ? c.leak : c.growing) > more.length + 1 ? '; …' : '') + '.'));
    }
  } else {
    const span = spanOf();
    box.appendChild(h('p', { class: 'lead', id: 'verdict-sentence' }, g.note ? g.note + '.' :
      'Over ' + fmtDuration(span) + ', no site grew steadily: ' + c.plateau + ' plateau, ' +
      c.stable + ' stable.'));
  }
  sec.appendChild(facts());
}

function spanOf() {
  let lo = Infinity, hi = -Infinity;
  for (const p of D.processes) {
    if (!p.snapshots) continue;
    lo = Math.min(lo, p.first_wall_ns);
    hi = Math.max(hi, p.last_wall_ns);
  }
  return Number.isFinite(lo) ? (hi - lo) / 1e9 : 0;
}

function facts() {
  const dl = h('dl', { class: 'facts' });
  const add = (k, v, title) => {
    dl.appendChild(h('dt', null, k));
    dl.appendChild(h('dd', { title: title }, v));
  };
  const p0 = D.processes[0];
  if (p0) {
    add('program', p0.exe, p0.exe);
    add('build-id', p0.build_id || 'unknown');
    add('processes', D.processes.map((p) => 'pid ' + p.pid +
      (p.role !== 'first' ? ' (' + p.role + ')' : '') + ': ' + plural(p.snapshots, 'snapshot') +
      (p.dumps ? ', ' + plural(p.dumps, 'dump') : '')).join('; '));
    add('host', p0.hostname);
    add('command', p0.cmdline, p0.cmdline);
    let lo = Infinity, hi = -Infinity;
    for (const p of D.processes) if (p.snapshots) {
      lo = Math.min(lo, p.first_wall_ns); hi = Math.max(hi, p.last_wall_ns);
    }
    if (Number.isFinite(lo))
      add('time span', fmtWall(lo, true) + ' → ' + fmtWall(hi, hi - lo > 86400e9) +
        ' (' + fmtDuration((hi - lo) / 1e9) + ')');
    const rates = Array.from(new Set(D.processes.map((p) => p.sample_rate)));
    add('sampling', rates.map((r) => r <= 1 ? 'every allocation' :
      'one sample per ' + fmtBytes(r) + ' allocated (on average)').join(', '));
  }
  add('files', plural(D.n_snapshots, 'snapshot') + ', ' + plural(D.n_dumps, 'heap dump'));
  const c = D.growth.counts;
  add('sites judged', num(D.growth.n_sites) + ': ' + c.leak + ' leak, ' + c.growing +
    ' growing, ' + c.plateau + ' plateau, ' + c.stable + ' stable');
  add('inputs', D.inputs.join(', '));
  return dl;
}

// ---- memory over time ---------------------------------------------------------------------

function renderMemory() {
  const { sec } = section('memory', 'Memory over time',
    'Resident set size and the bytes the allocator had committed, as the process reported ' +
    'them, and leakwatch\'s estimate of the live heap from its samples (sampled in-use). ' +
    'Heap dumps are marked; each process (a restart, a child) is its own line.');
  const T = D.timeline, t0 = T.t0_wall_ns;
  const series = [], markers = [];
  T.processes.forEach((p, i) => {
    const first = i === 0;
    const dots = p.t.length <= 30;
    series.push({ name: 'RSS', color: COLORS.rss, x: p.t, y: p.rss, legend: first, dots: dots });
    series.push({ name: 'allocator committed', color: COLORS.committed, x: p.t, y: p.committed,
      legend: first, dots: dots });
    series.push({ name: 'sampled in-use', color: COLORS.inuse, x: p.t, y: p.inuse, legend: first,
      width: 2.5, dots: dots });
    for (const d of p.dumps) markers.push({ x: d[0], label: 'dump ' + d[1], cls: 'dump', row: 1 });
    if (i > 0 && p.t.length) {
      const pr = procOfPid(p.pid);
      markers.push({ x: p.t[0], label: 'pid ' + p.pid + (pr ? ' (' + pr.role + ')' : ''),
        cls: 'restart' });
    }
  });
  const off = (t0 / 1e9 - new Date(t0 / 1e6).getTimezoneOffset() * 60) % 86400;
  const box = h('div', { class: 'chart-box', id: 'memory-chart' });
  sec.appendChild(box);
  const draw = () => {
    box.textContent = '';
    box.appendChild(lineChart({
      title: 'memory over time', width: Math.max(480, box.clientWidth), height: 300,
      series: series, markers: markers,
      // ticks on round local clock times
      xTicks: (lo, hi, n) => timeTicks(lo + off, hi + off, n).map((v) => v - off),
      xLabel: (v) => fmtWall(t0 + v * 1e9, false),
      hover: memoryHover,
    }));
  };
  draw();
  let timer = 0;
  window.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(draw, 120); });
  const n = T.processes.reduce((a, p) => a + p.n, 0), kept = T.processes.reduce((a, p) => a + p.kept, 0);
  if (kept < n)
    sec.appendChild(h('p', { class: 'small' }, num(n) + ' snapshots; ' + num(kept) +
      ' points drawn (per stretch the first, last, smallest and largest of each line).'));
}

function memoryHover(x) {
  const T = D.timeline;
  let best = null;
  for (const p of T.processes) {
    if (!p.t.length) continue;
    const i = nearest(p.t, x);
    const d = Math.abs(p.t[i] - x);
    if (!best || d < best.d) best = { p: p, i: i, d: d };
  }
  if (!best) return null;
  const p = best.p, i = best.i;
  return {
    x: p.t[i],
    title: fmtWall(T.t0_wall_ns + p.t[i] * 1e9, true),
    rows: [['process', 'pid ' + p.pid + ', snapshot ' + p.seq[i] + ' at ' + fmtClock(p.t_s[i])],
      ['RSS', fmtBytes(p.rss[i])], ['committed', fmtBytes(p.committed[i])],
      ['sampled in-use', fmtBytes(p.inuse[i])]],
  };
}

// ---- growth ranking ---------------------------------------------------------------------------

function renderGrowth() {
  const g = D.growth, c = g.counts;
  const { sec } = section('growth', 'Growth ranking',
    'Every allocation site\'s sampled in-use bytes over time, judged as `leakwatch growth` ' +
    'judges them (a trend test, a robust slope, whether the growth continues; see ' +
    'docs/GROWTH.md), most suspect first. Click a row for its chart, its stack and the ' +
    'reasons for its verdict.');
  if (g.note) {
    sec.appendChild(h('p', { class: 'note' }, g.note + '.'));
    return;
  }
  sec.appendChild(h('p', { class: 'counts' }, [
    num(g.n_sites) + ' sites: ', verdictBadge('leak'), ' ' + c.leak + '  ', verdictBadge('growing'),
    ' ' + c.growing + '  ', verdictBadge('plateau'), ' ' + c.plateau + '  ', verdictBadge('stable'),
    ' ' + c.stable]));
  const multi = new Set(g.rows.map((r) => r.process.pid)).size > 1;
  const head = ['#', 'verdict', 'trend', 'allocation site', { t: 'slope', num: 1 },
    { t: 'per hour', num: 1 }, { t: 'in use now', num: 1 }, { t: 'q', num: 1 }];
  if (multi) head.push({ t: 'pid', num: 1 });
  const trs = [];
  g.rows.forEach((r) => {
    const tr = h('tr', { class: 'grow-row', tabindex: 0, 'data-rank': r.rank,
      'aria-expanded': 'false' }, [
      td(String(r.rank), 'num'), h('td', null, verdictBadge(r.verdict)),
      h('td', { class: 'spark-cell' }, sparkline(r.series.t_s, r.series.y, 120, 26, 'v-' + r.verdict)),
      h('td', { class: 'site-cell' }, [h('div', { class: 'site' }, siteLabel(r.site)),
        h('div', { class: 'callers' }, callersText(r.site, 2))]),
      td(fmtSlope(r.slope_bytes_per_s), 'num'), td(fmtPerHour(r.slope_bytes_per_s), 'num'),
      td(fmtBytes(r.inuse_bytes), 'num'), td(fmtQ(r.q_value), 'num'),
      multi ? td(String(r.process.pid), 'num') : null]);
    const detail = h('tr', { class: 'grow-detail', hidden: true },
      h('td', { colspan: head.length }, h('div', { class: 'detail' })));
    const toggle = () => {
      const open = detail.hidden;
      detail.hidden = !open;
      tr.setAttribute('aria-expanded', open ? 'true' : 'false');
      tr.classList.toggle('open', open);
      if (open && !detail.dataset.drawn) {
        detail.dataset.drawn = '1';
        drawSiteDetail(detail.firstChild.firstChild, r);
      }
    };
    tr.addEventListener('click', toggle);
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(); }
    });
    trs.push(tr, detail);
    r._toggle = toggle;
  });
  sec.appendChild(tableOf(head, trs, 'grid-table growth-table'));
  if (g.n_sites > g.rows.length)
    sec.appendChild(h('p', { class: 'small' }, num(g.n_sites - g.rows.length) +
      ' more sites (leakwatch report -n N shows more).'));
  const first = g.rows[0];
  if (first && (first.verdict === 'leak' || first.verdict === 'growing')) first._toggle();
}

function drawSiteDetail(box, r) {
  const d = r.detail, ser = r.series;
  const left = h('div', { class: 'detail-chart' }), right = h('div', { class: 'detail-why' });
  box.appendChild(h('div', { class: 'detail-top' }, [left, right]));
  const x0 = ser.t_s[0], x1 = ser.t_s[ser.t_s.length - 1];
  const lines = [];
  if (r.slope_per_s !== null && d.intercept !== null)
    lines.push({ name: 'trend ' + fmtPerHour(r.slope_per_s), color: COLORS.trend, dash: '5 4',
      x0: x0, y0: d.intercept + r.slope_per_s * x0, x1: x1, y1: d.intercept + r.slope_per_s * x1 });
  const markers = [];
  if (r.onset) markers.push({ x: r.onset.t_s, label: 'grows from here', cls: 'onset' });
  left.appendChild(lineChart({
    title: 'in use over time', width: 560, height: 250,
    series: [{ name: 'sampled in-use of this site', color: COLORS.inuse, x: ser.t_s, y: ser.y,
      dots: ser.t_s.length <= 120 }],
    lines: lines, markers: markers, xTicks: timeTicks, xLabel: (v) => fmtClock(v),
    hover: (x) => {
      const i = nearest(ser.t_s, x);
      if (i < 0) return null;
      return { x: ser.t_s[i], title: fmtClock(ser.t_s[i]) + ' after pid ' + r.process.pid + ' started',
        rows: [['in use', fmtBytes(ser.y[i])],
          lines.length ? ['trend', fmtBytes(d.intercept + r.slope_per_s * ser.t_s[i])] : null] };
    },
  }));
  left.firstChild.classList.add('site-chart');
  if (ser.kept < ser.n)
    left.appendChild(h('p', { class: 'small' }, num(ser.n) + ' snapshots, ' + num(ser.kept) + ' drawn.'));
  right.appendChild(h('h3', null, ['Why ', verdictBadge(r.verdict)]));
  right.appendChild(h('ul', { class: 'reasons' }, reasons(r).map((t) => h('li', null, t))));
  const fr = D.sites[r.site] || [];
  box.appendChild(h('h3', null, 'Stack (allocation call site first)'));
  box.appendChild(tableOf(['#', 'function', 'file:line', 'module'], fr.map((fi, k) =>
    h('tr', null, [td(String(k), 'num'),
      td((unknownFn(fi) ? fullLabel(fi) : fnName(fi)) + (D.frames[fi][4] ? ' (inlined)' : ''), 'mono'),
      td(fileOf(fi) ? fileOf(fi) + (lineOf(fi) > 0 ? ':' + lineOf(fi) : '') : '?', 'mono', fileOf(fi)),
      td(moduleOf(fi), 'mono')])), 'grid-table stack-table'));
}

// Plain-language reasons for a verdict, from the statistics growth computed
// (the rules of docs/GROWTH.md, "Decision rules").
function reasons(r) {
  const d = r.detail, P = D.growth.params, out = [];
  const ch = r.checks;
  if (r.p_value === null) {
    out.push('The series never changes: there is no trend to test.');
    return out;
  }
  const eq = (v) => { const t = fmtQ(v); return t[0] === '<' ? ' < ' + t.slice(1) : ' = ' + t; };
  out.push('Trend test (Mann–Kendall over ' + r.n_snapshots + ' snapshots): p' + eq(r.p_value) +
    ', q' + eq(r.q_value) + ' after adjusting for all ' + num(D.growth.n_sites) +
    ' sites; a leak needs q < ' + P.alpha + '.');
  out.push('Slope (Theil–Sen): ' + fmtPerHour(r.slope_per_s) + (r.slope_ci[0] !== null ?
    ', 95% interval ' + fmtPerHour(r.slope_ci[0]) + ' to ' + fmtPerHour(r.slope_ci[1]) : '') + '.');
  if (d.screened) {
    out.push('No significant upward trend, so the recent-window checks were skipped.');
    return out;
  }
  out.push('It rose ' + fmtSBytes(r.rise) + ' from the first to the last tenth of the window; the ' +
    'noise between snapshots is ±' + fmtBytes(d.noise_sd) + ' and the sampling error of the rise ±' +
    fmtBytes(d.sampling_sd) + (ch.material ? ', so the rise is real.' : ': the rise is within noise.'));
  if (ch.staircase)
    out.push('It grows in steps: ' + ch.steps + ' steps, about one every ' + fmtDuration(d.gap_s) +
      ', the last ' + fmtDuration(d.flat_s) + ' before the end.');
  if (r.recent_slope_per_s !== null)
    out.push('Over the last third (' + fmtDuration(d.recent_s) + ') it grew ' +
      fmtPerHour(r.recent_slope_per_s) + ' against ' + fmtPerHour(d.ref_slope) + ' before: ' +
      (ch.continuing ? 'still growing.' : ch.stopped ? 'it has stopped.' : 'it has slowed down.'));
  out.push(ch.sawtooth ? 'It falls back repeatedly (' + ch.drawdowns + ' drops): a sawtooth, not a leak.'
    : 'It never fell back by much (' + plural(ch.drawdowns, 'large drop') + ').');
  if (!ch.staircase)
    out.push(d.linear ? 'The rise is well beyond the scatter around the trend line.'
      : 'The rise is not clearly beyond the scatter around the trend line.');
  const v = r.verdict;
  out.push(v === 'leak' ? 'Verdict leak: a significant, real, continuing, steady rise.'
    : v === 'plateau' ? 'Verdict plateau: it grew earlier and has stopped (a cache that filled, a warm-up).'
      : v === 'growing' ? 'Verdict growing: it grows, but not every condition for a leak holds.'
        : 'Verdict stable: no trend beyond noise.');
  return out;
}

// ---- flame graphs ------------------------------------------------------------------------------

const FL = { mode: 'inuse', snap: D.shown, before: D.diff ? D.diff.before : D.shown,
  after: D.diff ? D.diff.after : D.shown, graph: null, cache: new Map() };

function snapName(i) {
  const s = D.snapshots[i];
  const role = s.role === 'shown' ? 'latest' : s.role === 'base' ? 'first' : s.role;
  return (D.processes.length > 1 ? 'pid ' + s.pid + ' · ' : '') + s.kind + ' ' + s.seq + ' at ' +
    fmtClock(s.t_s) + ', ' + fmtBytes(s.total[0]) + (role ? ' (' + role + ')' : '');
}

function snapSelect(id, value, onchange) {
  const sel = h('select', { id: id });
  D.snapshots.forEach((sn, i) => {
    const o = h('option', { value: i }, snapName(i));
    if (i === value) o.selected = true;
    sel.appendChild(o);
  });
  sel.addEventListener('change', () => onchange(+sel.value));
  return sel;
}

function renderFlame() {
  const { sec } = section('flame', 'Flame graphs',
    'Who allocated the memory, by call stack: each box is a function, as wide as the bytes ' +
    'allocated beneath it; callers above callees. In use = live now; allocated = since the ' +
    'process started; diff = what changed between two snapshots (red grew, blue shrank).');
  if (!D.snapshots.length) return;
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const modes = [['inuse', 'In use'], ['alloc', 'Allocated'], ['diff', 'Diff']];
  for (const [m, label] of modes) {
    const b = h('button', { type: 'button', class: 'tab', 'data-mode': m, role: 'tab' }, label);
    if (m === 'diff' && D.snapshots.length < 2) b.disabled = true;
    b.addEventListener('click', () => { FL.mode = m; flameUpdate(); });
    tabs.appendChild(b);
  }
  const snapSel = h('label', { class: 'ctl', id: 'flame-snap' }, ['snapshot ',
    snapSelect('flame-snapshot', FL.snap, (v) => { FL.snap = v; flameUpdate(); })]);
  const diffSel = h('span', { class: 'ctl', id: 'flame-diffsel' }, [
    h('label', null, ['before ', snapSelect('flame-before', FL.before, (v) => { FL.before = v; flameUpdate(); })]),
    h('label', null, [' after ', snapSelect('flame-after', FL.after, (v) => { FL.after = v; flameUpdate(); })])]);
  const search = h('input', { type: 'search', id: 'flame-search', placeholder: 'search functions (regex)',
    'aria-label': 'search functions' });
  let st = 0;
  search.addEventListener('input', () => {
    clearTimeout(st);
    st = setTimeout(() => FL.graph.search(search.value.trim()), 150);
  });
  const reset = h('button', { type: 'button', id: 'flame-reset' }, 'reset zoom');
  reset.addEventListener('click', () => FL.graph.resetZoom());
  sec.appendChild(h('div', { class: 'controls' }, [tabs, snapSel, diffSel, search, reset]));
  const box = h('div', { class: 'flame-box', id: 'flame-graph' });
  sec.appendChild(box);
  FL.graph = new FlameGraph(box, {
    label: (fi) => (unknownFn(fi) ? fullLabel(fi) : fnName(fi)),
    detail: (fi) => [frameWhere(fi), baseName(moduleOf(fi))],
    isMain: (fi) => baseName(moduleOf(fi)) === MAIN_MODULE,
    fmt: fmtBytes, unit: 'bytes',
  });
  FL.table = h('div', { class: 'flame-table', id: 'flame-table' });
  sec.appendChild(FL.table);
  FL.tabs = tabs;
  FL.snapSel = snapSel;
  FL.diffSel = diffSel;
  flameUpdate();
}

// Boxes merge by function and module; unknown functions by their offset.
function flameKey(fi) {
  return unknownFn(fi) ? fullLabel(fi) : fnName(fi) + '\u0000' + moduleOf(fi);
}

function flameUpdate() {
  for (const b of FL.tabs.children) b.classList.toggle('on', b.getAttribute('data-mode') === FL.mode);
  FL.snapSel.hidden = FL.mode === 'diff';
  FL.diffSel.hidden = FL.mode !== 'diff';
  FL.table.textContent = '';
  if (FL.mode === 'diff') {
    const b = D.snapshots[FL.before], a = D.snapshots[FL.after];
    const m = new Map();
    b.sites.forEach((si, k) => m.set(si, { site: si, b: b.v[4 * k], a: 0 }));
    a.sites.forEach((si, k) => {
      const e = m.get(si) || { site: si, b: 0, a: 0 };
      e.a = a.v[4 * k];
      m.set(si, e);
    });
    const items = [];
    for (const e of m.values()) { e.v = Math.max(e.a, e.b); if (e.v > 0) items.push(e); }
    FL.graph.setTree(flameTree(D, items, flameKey), true, 'in use: ' + fmtBytes(b.total[0]) +
      ' → ' + fmtBytes(a.total[0]) + ' (' + fmtSBytes(a.total[0] - b.total[0]) + ')');
    FL.table.appendChild(diffTable(items));
    return;
  }
  const sn = D.snapshots[FL.snap], off = FL.mode === 'alloc' ? 2 : 0;
  const key = FL.mode + ' ' + FL.snap;
  if (!FL.cache.has(key)) {
    const items = [];
    sn.sites.forEach((si, k) => {
      const v = sn.v[4 * k + off];
      if (v > 0) items.push({ site: si, v: v, o: sn.v[4 * k + off + 1] });
    });
    FL.cache.set(key, flameTree(D, items, flameKey));
  }
  FL.graph.setTree(FL.cache.get(key), false, (FL.mode === 'alloc' ? 'allocated: ' :
    'in use: ') + fmtBytes(sn.total[off]) + ' in ' + fmtCount(sn.total[off + 1]) + ' objects');
  FL.table.appendChild(topTable(sn.top[FL.mode === 'alloc' ? 'alloc_space' : 'inuse_space']));
}

// `top --json` as a table.
function topTable(doc) {
  const box = h('div');
  box.appendChild(h('h3', null, 'Top functions'));
  box.appendChild(h('p', { class: 'small' }, 'Showing ' + doc.rows.length + ' of ' + doc.n_rows +
    ' functions, ' + doc.sample + ' ' + fmtBytes(doc.total) + ' total (as `leakwatch top --snapshot ' +
    doc.snapshot.seq + (doc.sample !== 'inuse_space' ? ' --sample ' + doc.sample : '') + '` prints it).'));
  // percentages from the raw figures, summed in rank order, as top prints them
  const pct = (v) => fmtPct(doc.total > 0 ? v / doc.total : 0);
  let sum = 0;
  box.appendChild(tableOf([{ t: 'flat', num: 1 }, { t: 'flat%', num: 1 }, { t: 'sum%', num: 1 },
    { t: 'cum', num: 1 }, { t: 'cum%', num: 1 }, 'function'], doc.rows.map((r) => {
    sum += r.flat;
    return h('tr', null, [td(fmtBytes(r.flat), 'num'), td(pct(r.flat), 'num'), td(pct(sum), 'num'),
      td(fmtBytes(r.cum), 'num'), td(pct(r.cum), 'num'),
      td(labelParts(r.function, r.file, 0, r.module), 'mono')]);
  }), 'grid-table top-table'));
  return box;
}

// The diff between the two chosen snapshots: `diff --json` when they are
// the pair the command compared, else the same ranking from the offered values.
function diffTable(items) {
  const box = h('div');
  box.appendChild(h('h3', null, 'What changed'));
  let rows;
  if (D.diff && FL.before === D.diff.before && FL.after === D.diff.after) {
    const doc = D.diff.doc;
    box.appendChild(h('p', { class: 'small' }, 'inuse_space: before ' + fmtBytes(doc.total_before) +
      ', after ' + fmtBytes(doc.total_after) + ', delta ' + fmtSBytes(doc.delta) +
      (doc.per_hour !== null ? '; growth ' + fmtSBytes(doc.per_hour) + '/h over ' + fmtDuration(doc.seconds) : '') +
      ' (as `leakwatch diff` prints it; ' + doc.n_new + ' new, ' + doc.n_gone + ' gone).'));
    rows = doc.rows.map((r) => ({ delta: r.delta, b: r.before.inuse_bytes, a: r.after.inuse_bytes,
      objs: r.delta_objects, status: r.status, label: docFrameLabel(r.frames[0] || {}),
      callers: r.frames.slice(1, 3).map(docFrameLabel).join(' ← ') }));
  } else {
    box.appendChild(h('p', { class: 'small' }, 'Computed in the page from the values of the two ' +
      'snapshots (`leakwatch diff` compares the first and the latest).'));
    rows = items.filter((e) => e.a !== e.b).sort((x, y) => (y.a - y.b) - (x.a - x.b)).slice(0, D.n)
      .map((e) => ({ delta: e.a - e.b, b: e.b, a: e.a, objs: null, status: e.b === 0 ? 'new' :
        e.a === 0 ? 'gone' : 'both', label: siteLabel(e.site), callers: callersText(e.site, 2) }));
  }
  box.appendChild(tableOf([{ t: 'delta', num: 1 }, { t: 'before', num: 1 }, { t: 'after', num: 1 },
    { t: 'objects', num: 1 }, 'allocation site'], rows.map((r) => h('tr', null, [
    td(fmtSBytes(r.delta), 'num ' + (r.delta > 0 ? 'up' : r.delta < 0 ? 'down' : '')),
    td(fmtBytes(r.b), 'num'), td(fmtBytes(r.a), 'num'),
    td(r.objs === null ? '' : (r.objs > 0 ? '+' : '') + fmtCount(r.objs), 'num'),
    h('td', { class: 'site-cell' }, [h('div', { class: 'site' }, [r.label,
      r.status !== 'both' ? h('span', { class: 'tag' }, r.status.toUpperCase()) : null]),
    h('div', { class: 'callers' }, r.callers ? (r.callers.startsWith('←') ? r.callers : '← ' + r.callers) : '')])])),
  'grid-table diff-table'));
  return box;
}

// ---- retainers --------------------------------------------------------------------------------------

function renderRetainers() {
  const { sec, keep } = section('retainers', 'What keeps it alive',
    'From a full heap dump: every live block and the pointers between blocks and from the ' +
    'roots (globals, thread stacks, registers), as `leakwatch retainers` reads it ' +
    '(docs/RETAINERS.md).');
  const R = D.retainers;
  if (!R) {
    sec.appendChild(h('p', { class: 'note', id: 'retainers-note' }, 'No retainer graph: ' +
      (D.retainers_note || 'no dump') + '.'));
    return;
  }
  const doc = R.doc, site = doc.selected[0];
  const kindWord = site.sampled ? 'sampled' : 'unsampled';
  const targets = (n, sampled, bytes, est) => num(n) + (sampled === n ? ' sampled' : sampled ? ' (' + num(sampled) + ' sampled)' : ' unsampled') +
    ' blocks, ' + fmtBytes(bytes) + (sampled ? ', est. ' + fmtBytes(est) : '');
  sec.appendChild(h('p', { class: 'lead' }, [
    'In ', h('code', null, baseName(R.dump)), ' (pid ' + doc.pid + '), the ' + R.why + ' ',
    h('code', { class: 'site' }, site.frames && site.frames.length ? docFrameLabel(site.frames[0]) : site.label),
    ' has ' + num(site.blocks) + ' ' + kindWord + ' blocks (' + fmtBytes(site.bytes) + ') in the dump' +
    (site.inuse_bytes_est !== undefined ? ', an estimated ' + fmtBytes(site.inuse_bytes_est) + ' in use over all its blocks' : '') +
    '; ' + num(site.reachable_blocks) + ' ' + kindWord + ' blocks are reachable and retain ' + fmtBytes(site.retained_bytes) +
    ' (all blocks they dominate).']));
  sec.appendChild(h('p', { class: 'small', id: 'ret-figures' }, 'Sampled blocks are those the sampler recorded with ' +
    'their stack; est. scales them by the site\u2019s sampling estimate. Held and retained sizes, the heap totals and ' +
    'the graph\u2019s edges count all blocks in the dump.'));
  const rr = doc.reaching_roots;
  const head = h('div', { class: 'keepers' });
  head.appendChild(h('h3', null, 'Roots that keep it alive'));
  if (!rr.length) head.appendChild(h('p', null, 'None: no block of the site is reachable from a root.'));
  else head.appendChild(tableOf(['root', { t: 'holds', num: 1 }, { t: 'share', num: 1 }, { t: 'bytes', num: 1 },
    { t: 'reaches', num: 1 }],
    rr.slice(0, 10).map((x, i) => h('tr', { class: i === 0 && x.held_blocks ? 'keeper' : null }, [
      td(x.root, 'mono'), td(num(x.held_blocks) + ' of ' + num(doc.target_blocks) + ' ' + kindWord, 'num'),
      td(fmtPct(doc.target_blocks ? x.held_blocks / doc.target_blocks : 0), 'num'), td(fmtBytes(x.held_bytes), 'num'),
      td(num(x.blocks), 'num')])),
  'grid-table narrow'));
  head.appendChild(h('p', { class: 'small' }, 'A root holds the blocks whose retainer path starts at it; one that ' +
    'reaches blocks without holding any reaches them only through a structure another root holds.'));
  if (!doc.reach_complete) head.appendChild(h('p', { class: 'small' }, 'Search budget reached: other roots were not examined.'));
  sec.appendChild(head);

  const src = keep.find((n) => n.id === 'ret-graph-src');
  const svg = src ? src.querySelector('svg') : null;
  if (svg) {
    sec.appendChild(h('h3', null, 'Retainer graph'));
    const w = parseFloat(svg.getAttribute('width')), hh = parseFloat(svg.getAttribute('height'));
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    svg.classList.add('ret-svg');
    const gbox = h('div', { class: 'ret-graph', id: 'retainer-graph', title: 'click: actual size / fit' });
    if (w > 0) svg.style.maxWidth = Math.round(w) + 'px';
    gbox.appendChild(svg);
    gbox.addEventListener('click', () => {
      gbox.classList.toggle('actual');
      if (gbox.classList.contains('actual') && w > 0) { svg.style.width = w + 'pt'; svg.style.height = hh + 'pt'; svg.style.maxWidth = 'none'; }
      else { svg.style.width = ''; svg.style.height = ''; svg.style.maxWidth = Math.round(w) + 'px'; }
    });
    sec.appendChild(gbox);
    sec.appendChild(h('p', { class: 'small' }, 'Roots are blue, the site red; edges are labelled with the ' +
      'pointers and the bytes they reach (all blocks); a box names the links among its own blocks. ' +
      'Click the graph for its actual size.'));
  } else if (D.retainers_note) {
    sec.appendChild(h('p', { class: 'note' }, D.retainers_note + '.'));
  }

  sec.appendChild(h('h3', null, 'Top retainer paths (root → … → site)'));
  sec.appendChild(h('ol', { class: 'paths' }, doc.paths.map((p) => h('li', null, [
    h('span', { class: 'pfig' }, targets(p.blocks, p.sampled_blocks, p.bytes, p.bytes_est) +
      (p.all_blocks > p.blocks ? ' (with their unsampled chain ' + num(p.all_blocks) + ' blocks, ' + fmtBytes(p.all_bytes) + ')' : '') + ': '),
    p.steps.map((st, i) => [i ? ' → ' : '', h('code', { class: st.kind === 'root' ? 'root' : st.target ? 'site' : '' },
      st.label)]).flat()].flat()))));
  if (!doc.paths.length) sec.appendChild(h('p', null, 'None: no block of the site is reachable from a root.'));

  sec.appendChild(h('h3', null, 'Unreachable memory (lost)'));
  sec.appendChild(h('p', { id: 'lost-summary' }, 'Whole heap, all blocks: ' + num(doc.blocks) + ' blocks, ' + fmtBytes(doc.bytes) +
    '; reachable ' + num(doc.reachable_blocks) + ' blocks, ' + fmtBytes(doc.reachable_bytes) + '. Unreachable: ' +
    num(doc.definitely_lost_blocks) + ' definitely lost (' + fmtBytes(doc.definitely_lost_bytes) + '), ' +
    num(doc.indirectly_lost_blocks) + ' indirectly lost (' + fmtBytes(doc.indirectly_lost_bytes) + ').'));
  if (doc.lost.length)
    sec.appendChild(h('p', { class: 'small' }, 'By site: a site\u2019s sampled blocks, a size class\u2019s unsampled ones.'));
  if (doc.lost.length)
    sec.appendChild(tableOf([{ t: 'def. lost', num: 1 }, { t: 'bytes', num: 1 }, { t: 'ind. lost', num: 1 },
      { t: 'bytes', num: 1 }, 'site'], doc.lost.map((g) => h('tr', null, [
      td(num(g.definitely_lost_blocks), 'num'), td(fmtBytes(g.definitely_lost_bytes), 'num'),
      td(num(g.indirectly_lost_blocks), 'num'), td(fmtBytes(g.indirectly_lost_bytes), 'num'),
      td(g.label + (g.frames && g.frames.length > 1 ? ' ← ' + g.frames[1].function : ''), 'mono')])),
    'grid-table narrow'));
  sec.appendChild(h('h3', null, 'Roots by memory held (whole heap, all blocks)'));
  sec.appendChild(tableOf([{ t: 'holds', num: 1 }, { t: 'blocks', num: 1 }, { t: 'retains', num: 1 }, 'kind', 'root'],
    doc.roots.map((n) => h('tr', null, [
      td(fmtBytes(n.held_bytes), 'num'), td(num(n.held_blocks), 'num'), td(fmtBytes(n.retained_bytes), 'num'),
      td(n.root_kind), td(n.via && n.symbol !== undefined ? n.via + ' (' + (n.symbol ? n.module : 'unnamed data') + ')' : n.label, 'mono')])),
    'grid-table narrow'));
}

// ---- start ---------------------------------------------------------------------------------------

function start() {
  const parts = [renderSummary, renderMemory, renderGrowth, renderFlame, renderRetainers];
  for (const f of parts) {
    try {
      f();
    } catch (e) {
      const id = { renderSummary: 'summary', renderMemory: 'memory', renderGrowth: 'growth',
        renderFlame: 'flame', renderRetainers: 'retainers' }[f.name];
      const sec = document.getElementById(id);
      if (sec) sec.appendChild(h('p', { class: 'note' }, 'This section could not be drawn: ' + e.message));
      throw e;
    }
  }
  document.body.dataset.drawnMs = String(Math.round(performance.now()));
  document.body.classList.add('ready');
}

start();
