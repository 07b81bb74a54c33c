"""Allocation-heavy Python workload for the overhead benchmark.

Run with PYTHONMALLOC=malloc so every object allocation goes through the C
allocator under test. Builds and discards dicts, lists, strings and tuples,
round-trips JSON and sorts; deterministic; prints a checksum.
"""
import json
import random
import sys

def main(rounds):
    rng = random.Random(12345)
    checksum = 0
    keep = []
    for r in range(rounds):
        records = []
        for i in range(4000):
            rec = {
                "id": i,
                "name": "user-%d-%d" % (r, rng.randrange(1 << 30)),
                "tags": [str(rng.random())[:8] for _ in range(rng.randrange(1, 6))],
                "score": rng.random() * 100.0,
                "pair": (i, str(i)),
            }
            records.append(rec)
        text = json.dumps(records)
        back = json.loads(text)
        back.sort(key=lambda d: (d["score"], d["name"]))
        words = " ".join(d["name"] for d in back).split()
        index = {}
        for w in words:
            index.setdefault(w[-3:], []).append(w)
        checksum += len(text) + len(index)
        keep.append(back[:50])        # a little retained state, like a service
        if len(keep) > 20:
            keep.pop(0)
    print("checksum", checksum)

if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
