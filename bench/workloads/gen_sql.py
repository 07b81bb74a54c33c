"""Writes a deterministic SQL script for the sqlite3 workload of the
overhead benchmark: inserts, an index, joins, group-bys and updates, so
SQLite's page cache and statement machinery allocate and free heavily.

usage: gen_sql.py ROWS > script.sql
"""
import random
import sys

def main(rows):
    rng = random.Random(7)
    out = sys.stdout
    out.write("PRAGMA cache_size=-65536;\n")
    out.write("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, city TEXT, score REAL);\n")
    out.write("CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER, item TEXT, qty INTEGER, note TEXT);\n")
    out.write("BEGIN;\n")
    cities = ["city%d" % i for i in range(200)]
    for i in range(rows):
        out.write("INSERT INTO users VALUES(%d,'user%d_%x','%s',%.3f);\n"
                  % (i, i, rng.randrange(1 << 40), rng.choice(cities), rng.random() * 1000))
    for i in range(rows * 2):
        note = "n" * rng.randrange(0, 200)
        out.write("INSERT INTO orders VALUES(%d,%d,'item%d',%d,'%s');\n"
                  % (i, rng.randrange(rows), rng.randrange(5000), rng.randrange(1, 20), note))
    out.write("COMMIT;\n")
    out.write("CREATE INDEX orders_user ON orders(user_id);\n")
    out.write("CREATE INDEX users_city ON users(city, score);\n")
    for _ in range(20):
        out.write("SELECT city, count(*), avg(score) FROM users GROUP BY city ORDER BY 2 DESC LIMIT 3;\n")
        out.write("SELECT u.city, sum(o.qty) FROM users u JOIN orders o ON o.user_id = u.id "
                  "WHERE u.score > %d GROUP BY u.city ORDER BY 2 DESC LIMIT 2;\n" % rng.randrange(900))
    out.write("UPDATE orders SET note = note || 'x' WHERE qty > 10;\n")
    out.write("SELECT count(*), sum(length(note)) FROM orders;\n")

if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100000)
