/* budget.h — the output directory's disk budget (LEAKWATCH_MAX_DISK,
 * LEAKWATCH_KEEP_DUMPS): which files this run made, and which of them to
 * delete so the directory stays within the budget.
 *
 * Policy (lw_budget_plan, pure, unit-tested; docs/FORMAT.md §8.1):
 *   - only files this run published are ever deleted (a registry of name,
 *     sequence, inode); a file that is gone or is no longer that inode is
 *     dropped from the registry, never deleted;
 *   - dumps beyond the newest keep_dumps are deleted;
 *   - while the directory plus room for the next file exceeds the budget,
 *     snapshots are thinned: the first snapshot and the newest
 *     LW_BUDGET_RECENT are kept, and of the others the one whose removal
 *     leaves the smallest gap relative to its age goes first, so what stays
 *     is spaced about logarithmically in time (dense recently, sparse far
 *     back) and `growth` still sees the whole run; each third of the run
 *     (by time) keeps at least LW_BUDGET_THIRD_PCT percent of the
 *     snapshots, which matters only when few fit;
 *   - a snapshot's keyframe and stack file are deleted only after every
 *     kept snapshot that refers to them (dependents first, directory fsynced
 *     in between), so at every moment each file in the directory resolves;
 *   - when snapshots are down to LW_BUDGET_MIN_HISTORY, older dumps go
 *     (all but the newest), then snapshots down to the protected ones; so
 *     far also to make room for the next file; then, only if the kept files
 *     alone exceed the budget, the newest dump, then the protected ones
 *     except the newest snapshot; a budget too small even for that is
 *     reported once.
 *
 * Locks: every function runs with the snapshot I/O lock held (snapshot.h):
 * the writer thread, or a thread writing the exit snapshot.
 */
#ifndef LW_BUDGET_H
#define LW_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#define LW_BUDGET_RECENT 8         /* newest snapshots never thinned */
#define LW_BUDGET_MIN_HISTORY 32   /* snapshots kept before older dumps go */
#define LW_BUDGET_THIRD_PCT 15     /* each third of the run keeps this share */
#define LW_BSEQ_NONE UINT64_MAX

enum lw_bkind { LW_BF_SNAP = 1, LW_BF_DUMP = 2, LW_BF_STACKS = 3 };

struct lw_bfile {
	uint64_t seq;
	uint64_t t_ns;        /* snapshots: capture time (CLOCK_MONOTONIC) */
	uint64_t bytes;       /* charged: size rounded up to 4 KiB, or allocated blocks */
	uint64_t dev, ino;    /* the file this run made */
	uint64_t key_seq;     /* snapshots: the keyframe's seq, or LW_BSEQ_NONE */
	uint64_t stk_seq;     /* snapshots: the stack file's seq, or LW_BSEQ_NONE */
	uint32_t kind;        /* enum lw_bkind */
	uint16_t gone;        /* lw_budget_plan: chosen for deletion */
	uint16_t pad;
	uint32_t refs;        /* lw_budget_plan: kept snapshots referring to it */
	uint32_t pad2;
};

struct lw_bpolicy {
	uint64_t max_bytes;   /* > 0 */
	uint64_t fixed;       /* bytes of the directory not in the list (.owner) */
	uint32_t keep_dumps;  /* 0: no count limit */
};

/* Chooses files to delete from f[0..n) (sorted by seq, none gone yet) so
 * that their bytes + p->fixed (+ room, as far as unprotected files allow)
 * fit p->max_bytes: marks them gone and writes their indices to order[] in
 * a safe deletion order. Returns how many. *over gets LW_BUDGET_OVER when
 * even the minimal set does not fit, LW_BUDGET_DUMP_DROPPED when the newest
 * dump had to go (it alone, or with the newest snapshot, exceeds the
 * budget). now_ns is the current CLOCK_MONOTONIC time. Allocation-free:
 * O(n) per chosen file. */
#define LW_BUDGET_OVER 1
#define LW_BUDGET_DUMP_DROPPED 2
size_t lw_budget_plan(struct lw_bfile *f, size_t n, const struct lw_bpolicy *p, uint64_t room,
		      uint64_t now_ns, size_t *order, int *over);

/* Index of file (seq, kind) in f[0..n) sorted by seq, or LW_BIDX_NONE. */
#define LW_BIDX_NONE ((size_t)-1)
size_t lw_budget_find(const struct lw_bfile *f, size_t n, uint64_t seq, uint32_t kind);

/* Records (or updates: a stack file grows) file `seq` of `kind` that this
 * run just published in dirfd. Snapshots give their time, keyframe and
 * stack file. */
void lw_budget_note(int dirfd, uint32_t kind, uint64_t seq, uint64_t t_ns, uint64_t key_seq,
		    uint64_t stk_seq);
/* Deletes what lw_budget_plan chooses so that `room` more bytes fit. */
void lw_budget_enforce(int dirfd, uint64_t room);
/* Room to keep for the next periodic file: the latest snapshot's size (so
 * a snapshot being written does not push the directory over the budget
 * unless it is larger than the one before). */
uint64_t lw_budget_room(void);
/* Around a dump (writer.c): before, makes room for one as large as the
 * latest dump; after, records it and enforces the budget. Both take the
 * snapshot I/O lock themselves. */
void lw_budget_before_dump(void);
void lw_budget_after_dump(void);

#endif /* LW_BUDGET_H */
