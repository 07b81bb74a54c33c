#!/usr/bin/python3
"""test_realprograms.py — real programs behave the same under the shim.

Each program runs twice, without and with LD_PRELOAD=libleakwatch.so
(periodic snapshots every 0.2 s, a small sampling rate so that many samples
and stacks are recorded, and once at LEAKWATCH_RATE=1): stdout and the exit
code must be identical, and the files written must parse and belong to the
program.

Tests (run as `test_realprograms.py NAME --inspect BIN --apps DIR`):
  python3       Debian's /usr/bin/python3 with PYTHONMALLOC=malloc on a
                generated script (dicts, lists, strings, json, sorting, a
                deliberately failing child exit code checked too)
  sqlite3       /usr/bin/sqlite3 on a generated SQL script
  cpp_workload  a C++ program leaning on std::map/std::string
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import *  # noqa: E402,F401,F403

PY_SCRIPT = r'''
import hashlib, json, random, sys
random.seed(1234)
words = [''.join(random.choice('abcdefghij') for _ in range(random.randint(1, 8)))
         for _ in range(60000)]
freq = {}
for w in words:
    freq[w] = freq.get(w, 0) + 1
top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
print('distinct', len(freq))
for w, c in top:
    print(w, c)
blob = json.dumps({'words': words[:5000], 'freq': dict(top)}, sort_keys=True)
print('json', len(blob), hashlib.sha256(blob.encode()).hexdigest())
objs = [{'i': i, 's': str(i) * (i % 13), 'l': list(range(i % 17))} for i in range(40000)]
print('objs', sum(len(o['s']) + len(o['l']) for o in objs))
class Node:
    def __init__(self, v, nxt):
        self.v, self.nxt = v, nxt
head = None
for i in range(20000):
    head = Node(i, head)
n, total = head, 0
while n:
    total += n.v
    n = n.nxt
print('chain', total)
sys.exit(3)
'''


def gen_sql(path):
    lines = [
        'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL);',
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000) '
        "INSERT INTO t SELECT x, 'name-' || (x * 7919 % 10007), x % 97, (x * 31 % 1000) / 7.0 FROM c;",
        'CREATE INDEX t_name ON t(name);',
        'CREATE INDEX t_grp ON t(grp, val);',
        'SELECT grp, count(*), round(sum(val), 3), min(name), max(name) FROM t '
        'GROUP BY grp ORDER BY grp LIMIT 20;',
        'SELECT name, count(*) AS c FROM t GROUP BY name ORDER BY c DESC, name LIMIT 10;',
        "UPDATE t SET name = upper(name) || '-' || grp WHERE id % 3 = 0;",
        'DELETE FROM t WHERE id % 5 = 0;',
        'SELECT count(*), round(avg(val), 6), group_concat(substr(name, 1, 3), \'\') '
        'FROM (SELECT * FROM t ORDER BY name LIMIT 200);',
        'CREATE TABLE u AS SELECT a.id AS a, b.id AS b FROM t a JOIN t b ON a.grp = b.grp '
        'WHERE a.id < 2000 AND b.id < 2000;',
        'SELECT count(*), sum(a), sum(b) FROM u;',
        'VACUUM;',
        'SELECT sqlite_version() IS NOT NULL;',
    ]
    with open(path, 'w') as fh:
        fh.write('\n'.join(lines) + '\n')


def compare(ctx, name, cmd, extra_env=None, stdin_path=None, rates=(4096, 1), min_stacks=10):
    data = None
    if stdin_path:
        with open(stdin_path) as fh:
            data = fh.read()
    ref = ctx.run(cmd, ctx.env(shim=False, extra=extra_env), stdin_data=data, expect_rc=None)
    log('%s: reference exit %d, %d bytes of stdout' % (name, ref.returncode, len(ref.stdout)))
    for rate in rates:
        out = ctx.path('lw-%s' % rate)
        p = ctx.run(cmd, ctx.env(out, rate=rate, interval=0.2, extra=extra_env), stdin_data=data,
                    expect_rc=None)
        check(p.returncode == ref.returncode, '%s at rate %s: exit %d, without the shim %d'
              % (name, rate, p.returncode, ref.returncode))
        check(p.stdout == ref.stdout, '%s at rate %s: stdout differs under the shim' % (name, rate))
        check(p.stderr == ref.stderr, '%s at rate %s: stderr differs: %r vs %r'
              % (name, rate, p.stderr[-500:], ref.stderr[-500:]))
        files = ctx.inspect(out, symbols=False)
        check_common(files)
        final = exit_file(files)
        pr = final['process']
        log('%s rate %s: %d files, %d stacks, %d allocation calls, rss %d'
            % (name, rate, len(files), len(final['stacks']), pr['alloc_calls'], pr['rss_bytes']))
        check(pr['sample_rate'] == rate, 'sample_rate %d, expected %d' % (pr['sample_rate'], rate))
        check(pr['alloc_calls'] > 1000, 'only %d allocation calls counted' % pr['alloc_calls'])
        check(len(final['stacks']) >= min_stacks, 'only %d stacks recorded, expected >= %d'
              % (len(final['stacks']), min_stacks))
        check(final['modules'] and final['process']['exe_module'] >= 0,
              'no module map / executable module')
        alloc = sum(s['alloc_bytes'] for s in final['stacks'])
        check(alloc > 0, 'no allocation recorded')


def t_python3(ctx):
    script = ctx.path('work.py')
    with open(script, 'w') as fh:
        fh.write(PY_SCRIPT)
    compare(ctx, 'python3', ['/usr/bin/python3', script], extra_env={'PYTHONMALLOC': 'malloc'},
            rates=(4096,))


def t_sqlite3(ctx):
    sql = ctx.path('work.sql')
    gen_sql(sql)
    compare(ctx, 'sqlite3', ['/usr/bin/sqlite3', ':memory:'],
            stdin_path=sql, rates=(4096,))


def t_cpp_workload(ctx):
    # few call sites allocate here (map nodes, strings, vectors): >= 3 stacks
    compare(ctx, 'cpp_workload', [ctx.app('cpp_workload'), '--words', '150000'], rates=(4096, 1),
            min_stacks=3)


if __name__ == '__main__':
    main(globals())
