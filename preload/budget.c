/* budget.c — the disk budget of the output directory (see budget.h for the
 * policy): a registry of the files this run published, enforcement of the
 * thinning plan (budget_plan.c), and deletion that never follows a symlink
 * and never touches a file this run did not make.
 *
 * Invariants: the registry is sorted by seq and lives in lw_mem_map memory;
 * it belongs to one (run_id, directory inode): a forked child (new run_id)
 * or a re-created directory starts an empty one. With LEAKWATCH_MAX_DISK=0
 * nothing is recorded and nothing is deleted.
 * Deletion: fstatat(AT_SYMLINK_NOFOLLOW) must show the regular file with
 * the inode recorded at publish time, then unlinkat relative to the
 * directory fd; a base (keyframe, stack file) is unlinked only after the
 * files depending on it, with the directory fsynced in between, so a crash
 * or a reader at any moment sees every remaining file resolve.
 * Locks: the snapshot I/O lock (all callers). No malloc, no stdio; errno is
 * clobbered (callers in the shim save it).
 * Cost: per written file, one fstatat and the plan, O(files kept) when
 * something must go.
 */
#include "budget.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd_format.h"
#include "outdir.h"
#include "snapshot.h"
#include "util.h"

#define LW_OWNER_BYTES 4096u   /* the .owner claim file */

/* ---- the registry and deletion (shim) -------------------------------------- */

static struct {
	uint64_t run_id;
	dev_t dev;
	ino_t ino;
	struct lw_bfile *f;
	size_t *order;
	size_t n, cap, bytes_f, bytes_o;
	uint64_t last_snap, last_dump;
	uint64_t scanned;   /* dumps below this seq were looked for */
} reg;

/* Starts a new registry for a new run or a new directory inode. */
static int reg_sync(int dirfd)
{
	struct stat st;

	if (fstat(dirfd, &st) != 0)
		return -1;
	if (reg.run_id != lw_run.run_id || reg.dev != st.st_dev || reg.ino != st.st_ino) {
		reg.run_id = lw_run.run_id;
		reg.dev = st.st_dev;
		reg.ino = st.st_ino;
		reg.n = 0;
		reg.last_snap = reg.last_dump = 0;
		reg.scanned = 0;
	}
	return 0;
}

static int reg_grow(void)
{
	size_t cap = reg.cap ? reg.cap * 2 : 1024;
	size_t bf = cap * sizeof(struct lw_bfile), bo = cap * sizeof(size_t);
	struct lw_bfile *f = lw_mem_map(bf);
	size_t *o = lw_mem_map(bo);

	if (f == NULL || o == NULL) {
		lw_mem_unmap(f, bf);
		lw_mem_unmap(o, bo);
		return -1;
	}
	if (reg.n)
		memcpy(f, reg.f, reg.n * sizeof(*f));
	lw_mem_unmap(reg.f, reg.bytes_f);
	lw_mem_unmap(reg.order, reg.bytes_o);
	reg.f = f;
	reg.order = o;
	reg.cap = cap;
	reg.bytes_f = bf;
	reg.bytes_o = bo;
	return 0;
}

static uint64_t charge(const struct stat *st)
{
	uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
	uint64_t rounded = (size + 4095) & ~(uint64_t)4095;
	uint64_t blocks = (uint64_t)st->st_blocks * 512;

	return blocks > rounded ? blocks : rounded;
}

static uint32_t lwd_kind_of(uint32_t kind)
{
	return kind == LW_BF_SNAP ? LWD_KIND_SNAPSHOT : kind == LW_BF_DUMP ? LWD_KIND_DUMP
									  : LWD_KIND_STACKS;
}

void lw_budget_note(int dirfd, uint32_t kind, uint64_t seq, uint64_t t_ns, uint64_t key_seq,
		    uint64_t stk_seq)
{
	char name[64];
	struct stat st;
	size_t i;

	if (lw_cfg.max_disk == 0 || reg_sync(dirfd) != 0)
		return;
	lw_snap_name(lwd_kind_of(kind), seq, name, sizeof(name));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return;
	if (kind == LW_BF_SNAP)
		reg.last_snap = charge(&st);
	else if (kind == LW_BF_DUMP)
		reg.last_dump = charge(&st);
	i = lw_budget_find(reg.f, reg.n, seq, kind);
	if (i == LW_BIDX_NONE) {
		if (reg.n == reg.cap && reg_grow() != 0)
			return;   /* out of memory: this file is never deleted */
		for (i = reg.n; i > 0 && reg.f[i - 1].seq > seq; i--)
			;
		memmove(&reg.f[i + 1], &reg.f[i], (reg.n - i) * sizeof(reg.f[0]));
		reg.n++;
		memset(&reg.f[i], 0, sizeof(reg.f[i]));
	}
	struct lw_bfile *e = &reg.f[i];
	e->seq = seq;
	e->kind = kind;
	e->t_ns = t_ns;
	e->key_seq = key_seq;
	e->stk_seq = stk_seq;
	e->bytes = charge(&st);
	e->dev = (uint64_t)st.st_dev;
	e->ino = (uint64_t)st.st_ino;
}

/* Unlinks `name` only if it is still the regular file this run made. */
static void remove_ours(int dirfd, const struct lw_bfile *e)
{
	char name[64];
	struct stat st;

	lw_snap_name(lwd_kind_of(e->kind), e->seq, name, sizeof(name));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;   /* already gone */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_dev != e->dev || (uint64_t)st.st_ino != e->ino)
		return;   /* not the file we made: not ours to delete */
	unlinkat(dirfd, name, 0);
}

void lw_budget_enforce(int dirfd, uint64_t room)
{
	struct lw_bpolicy p = { lw_cfg.max_disk, LW_OWNER_BYTES, lw_cfg.keep_dumps };
	int over = 0, unsynced = 0;
	size_t k, w = 0;

	if (lw_cfg.max_disk == 0 || reg_sync(dirfd) != 0 || reg.n == 0)
		return;
	k = lw_budget_plan(reg.f, reg.n, &p, room, lw_now_mono(), reg.order, &over);
	for (size_t j = 0; j < k; j++) {
		const struct lw_bfile *e = &reg.f[reg.order[j]];
		int is_base = e->kind == LW_BF_STACKS || (e->kind == LW_BF_SNAP && e->key_seq == LW_BSEQ_NONE);

		/* dependents' unlinks reach the disk before their base's */
		if (is_base && unsynced) {
			fsync(dirfd);
			unsynced = 0;
		}
		remove_ours(dirfd, e);
		unsynced = 1;
	}
	if (k > 0) {
		for (size_t i = 0; i < reg.n; i++)
			if (!reg.f[i].gone)
				reg.f[w++] = reg.f[i];
		reg.n = w;
	}
	if (over & LW_BUDGET_DUMP_DROPPED)
		lw_warn_once("a dump does not fit LEAKWATCH_MAX_DISK and was deleted; raise the budget "
			     "to keep dumps", (const char *)NULL);
	else if (over & LW_BUDGET_OVER)
		lw_warn_once("LEAKWATCH_MAX_DISK is smaller than the newest snapshot and its base files; "
			     "keeping only those", (const char *)NULL);
}

uint64_t lw_budget_room(void)
{
	return reg.last_snap;
}

void lw_budget_before_dump(void)
{
	const char *step = NULL;
	int dirfd;

	if (lw_cfg.max_disk == 0)
		return;
	lw_snap_io_lock();
	if (lw_outdir_fd(&dirfd, &step) == 0 && reg_sync(dirfd) == 0)
		lw_budget_enforce(dirfd, reg.last_dump);
	lw_snap_io_unlock();
}

void lw_budget_after_dump(void)
{
	const char *step = NULL;
	char name[64];
	struct stat st;
	int dirfd;

	if (lw_cfg.max_disk == 0)
		return;
	lw_snap_io_lock();
	if (lw_outdir_fd(&dirfd, &step) == 0 && reg_sync(dirfd) == 0) {
		uint64_t end = lw_outdir_seq();

		for (uint64_t q = reg.scanned; q < end; q++) {
			lw_snap_name(LWD_KIND_DUMP, q, name, sizeof(name));
			if (lw_budget_find(reg.f, reg.n, q, LW_BF_DUMP) == LW_BIDX_NONE &&
			    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				lw_budget_note(dirfd, LW_BF_DUMP, q, lw_now_mono(), LW_BSEQ_NONE, LW_BSEQ_NONE);
		}
		reg.scanned = end;
		lw_budget_enforce(dirfd, lw_budget_room());
	}
	lw_snap_io_unlock();
}
