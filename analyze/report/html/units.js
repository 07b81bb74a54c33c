// units.js — human units with exactly the rules of the terminal commands
// (analyze/lib/util.c lw_fmt_*, analyze/cmd/growth.c), so a figure on the page
// reads as the CLI prints it. printf's "%.Nf" rounds an exact tie to the even
// digit while Number.toFixed rounds it up; fixed() does what printf does.

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

// printf("%.{d}f", x) for finite x.
function fixed(x, d) {
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const p = Math.pow(2, d + 1);
  let s;
  // a tie (…5 exactly at digit d+1) is a = odd / 2^(d+1)
  if (a * p < 9007199254740992 && Number.isInteger(a * p) && (a * p) % 2 === 1) {
    const scaled = a * Math.pow(10, d);          // exact: ends in .5
    let n = Math.floor(scaled);
    if (n % 2 === 1) n += 1;
    s = String(n);
    if (d > 0) {
      s = s.padStart(d + 1, '0');
      s = s.slice(0, s.length - d) + '.' + s.slice(s.length - d);
    }
  } else {
    s = a.toFixed(d);
  }
  return (neg ? '-' : '') + s;
}

function fmtBytesAbs(a) {
  if (!Number.isFinite(a)) return '?';
  if (a < 1024) return fixed(a, 0) + ' B';
  let u = 0;
  while (a >= 1024 && u + 1 < BYTE_UNITS.length) { a /= 1024; u++; }
  if (a >= 1023.95 && u + 1 < BYTE_UNITS.length) { a /= 1024; u++; }
  return fixed(a, 1) + ' ' + BYTE_UNITS[u];
}

// lw_fmt_bytes: "12.3 MiB", "512 B", "-1.0 KiB".
function fmtBytes(v) {
  if (v < 0 && Number.isFinite(v)) {
    const t = fmtBytesAbs(-v);
    return t === '0 B' ? '0 B' : '-' + t;
  }
  return fmtBytesAbs(v);
}

// lw_fmt_sbytes: signed, "+1.5 KiB".
function fmtSBytes(v) {
  const t = fmtBytesAbs(Math.abs(v));
  if (t === '0 B' || !Number.isFinite(v)) return t;
  return (v < 0 ? '-' : '+') + t;
}

// lw_fmt_rate: "1.2 KiB/s", or per hour when slower than 10 B/s.
function fmtRate(v) {
  if (!Number.isFinite(v)) return '?';
  const a = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  if (a === 0) return '0 B/s';
  if (a >= 10) return sign + fmtBytesAbs(a) + '/s';
  const t = fmtBytesAbs(a * 3600);
  return (t !== '0 B' ? sign : '') + t + '/h';
}

// growth's "per hour" column: lw_fmt_sbytes(slope * 3600) + "/h".
function fmtPerHour(v) {
  if (v === null || !Number.isFinite(v)) return '?';
  return fmtSBytes(v * 3600) + '/h';
}

// growth's "slope" column.
function fmtSlope(v) {
  return v === null ? '?' : fmtRate(v);
}

// lw_fmt_count: "1234", "12.3k", "4.5M".
function fmtCount(n) {
  if (!Number.isFinite(n)) return '?';
  const a = Math.abs(n);
  const sign = n < 0 ? '-' : '';
  if (a < 9999.5) return (a < 0.5 ? '' : sign) + fixed(a, 0);
  if (a < 999950) return sign + fixed(a / 1e3, 1) + 'k';
  if (a < 999950000) return sign + fixed(a / 1e6, 1) + 'M';
  return sign + fixed(a / 1e9, 1) + 'G';
}

// lw_fmt_pct: fraction -> "12.3%".
function fmtPct(frac) {
  if (!Number.isFinite(frac)) return '-';
  return fixed(frac * 100 + 0, 1) + '%';
}

// lw_fmt_duration: "1.5s", "2m03s", "1h02m", "3d04h".
function fmtDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) {
    const t = fixed(s, 1) + 's';
    if (t !== '60.0s') return t;
  }
  const r = Math.round(s);
  const p2 = (x) => String(x).padStart(2, '0');
  if (r < 3600) return Math.floor(r / 60) + 'm' + p2(r % 60) + 's';
  if (r < 86400) return Math.floor(r / 3600) + 'h' + p2(Math.floor(r % 3600 / 60)) + 'm';
  return Math.floor(r / 86400) + 'd' + p2(Math.floor(r % 86400 / 3600)) + 'h';
}

// lw_report_clock: "HH:MM:SS" since the process started.
function fmtClock(s) {
  if (!Number.isFinite(s) || s < 0) s = 0;
  const r = Math.floor(s + 0.5);
  const p2 = (x) => String(x).padStart(2, '0');
  return p2(Math.floor(r / 3600)) + ':' + p2(Math.floor(r / 60) % 60) + ':' + p2(r % 60);
}

// growth's q column (fmt_p): "-", "<1e-9", "3e-05", "0.012".
function fmtQ(q) {
  if (q === null || !Number.isFinite(q)) return '-';
  if (q < 1e-9) return '<1e-9';
  if (q < 0.001) {
    const m = q.toExponential(0).split('e');
    const e = parseInt(m[1], 10);
    return m[0] + 'e' + (e < 0 ? '-' : '+') + String(Math.abs(e)).padStart(2, '0');
  }
  return fixed(q, 3);
}

// Wall-clock time of a Unix epoch in ns, in the reader's time zone.
function fmtWall(ns, withDate) {
  const d = new Date(ns / 1e6);
  const p2 = (x) => String(x).padStart(2, '0');
  const t = p2(d.getHours()) + ':' + p2(d.getMinutes()) + ':' + p2(d.getSeconds());
  if (!withDate) return t;
  return d.getFullYear() + '-' + p2(d.getMonth() + 1) + '-' + p2(d.getDate()) + ' ' + t;
}

function baseName(path) {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}
