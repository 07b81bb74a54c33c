/* lwd_base.c — resolving a snapshot's base files (format minor 2): its
 * run's stack file (STACK_BASE) and its keyframe (COUNTER_BASE).
 *
 * Role: the second half of the reader's security boundary. A file parsed
 * alone (lwd_reader.c) was fully checked but shows no stacks or counters;
 * lw_file_resolve reads each base through a callback, checks that it is
 * exactly the file referred to, and fills the stacks, counters and (when
 * the keyframe's are used) modules.
 * Invariants:
 *   - a stack base must match the reference byte for byte on its prefix
 *     (length, CRC-32 of those bytes) and then parse as a stack file of the
 *     same run and seq holding exactly n_stacks stacks;
 *   - a keyframe must have the referred size, seq and CCOUNTERS CRC, be a
 *     snapshot of the same run without a keyframe of its own (one level, so
 *     resolution never recurses), use no more stacks than the file does,
 *     and pass every check of the reader itself;
 *   - any mismatch or a missing base is LWD_EBASE with a message that names
 *     the base file; nothing of f changes unless everything succeeded.
 * Memory: a base is read into memory once per resolution (the stack file
 * prefix, the keyframe); the keyframe's bytes are kept only when its module
 * paths are used. No global state: safe for concurrent use on different
 * files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd_priv.h"

#define LW_ULL(x) ((unsigned long long)(x))

int lw_base_read_dir(void *arg, const char *name, uint64_t want, uint8_t **buf, size_t *len,
		     char *err, size_t errlen)
{
	int dfd = *(const int *)arg, fd, e;
	char eb[128];
	struct stat st;
	uint64_t size;
	uint8_t *b;
	size_t got = 0;

	*buf = NULL;
	*len = 0;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		return lw_msg_fail(err, errlen, -e, "%s", strerror_r(e, eb, sizeof(eb)));
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return lw_msg_fail(err, errlen, -e, "cannot stat: %s", strerror_r(e, eb, sizeof(eb)));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return lw_msg_fail(err, errlen, -EINVAL, "not a regular file");
	}
	size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
	if (want > LWD_MAX_FILE_SIZE)
		want = LWD_MAX_FILE_SIZE;
	if (size > want)
		size = want + 1;   /* enough to tell "longer than referred to" */
	b = malloc(size ? (size_t)size : 1);
	if (!b) {
		close(fd);
		return lw_msg_fail(err, errlen, -ENOMEM, "out of memory reading %llu bytes", LW_ULL(size));
	}
	while (got < size) {
		ssize_t r = read(fd, b + got, (size_t)size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			free(b);
			close(fd);
			return lw_msg_fail(err, errlen, -e, "read error: %s", strerror_r(e, eb, sizeof(eb)));
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = got;
	return 0;
}

/* Reads base `name`; a read failure becomes a message naming it. */
static int lw_base_get(const lw_base_ref *ref, lw_base_read_fn read, void *arg, uint8_t **buf,
		       size_t *len, char *err, size_t errlen)
{
	char msg[256];
	int rc = read(arg, ref->name, ref->length, buf, len, msg, sizeof(msg));

	if (rc == -ENOENT)
		return lw_msg_fail(err, errlen, LWD_EBASE, "base file '%s' is missing (%s)",
				    ref->name, msg);
	if (rc < 0)
		return lw_msg_fail(err, errlen, rc, "base file '%s': %s", ref->name, msg);
	return 0;
}

/* The run's stack file: prefix bytes, CRC, then the stack-file parse. */
static int lw_resolve_stacks(const lw_file *f, const lw_base_ref *ref, lw_base_read_fn read,
			     void *arg, lw_stack **stacks, uint64_t **pcs, char *err, size_t errlen)
{
	char msg[256];
	uint8_t *buf;
	size_t len;
	uint32_t crc;
	int rc = lw_base_get(ref, read, arg, &buf, &len, err, errlen);

	if (rc)
		return rc;
	if (len < ref->length) {
		free(buf);
		return lw_msg_fail(err, errlen, LWD_EBASE,
				    "base file '%s' holds %zu bytes, fewer than the %llu this file refers to",
				    ref->name, len, LW_ULL(ref->length));
	}
	crc = lw_crc32(0, buf, (size_t)ref->length);
	if (crc != ref->crc) {
		free(buf);
		return lw_msg_fail(err, errlen, LWD_EBASE,
				    "base file '%s' is not the stack file this file refers to (CRC of its first %llu bytes is 0x%08x, expected 0x%08x)",
				    ref->name, LW_ULL(ref->length), crc, ref->crc);
	}
	rc = lw_parse_stackfile(buf, (size_t)ref->length, f->run_id, ref->seq, ref->n_stacks,
				stacks, pcs, msg, sizeof(msg));
	free(buf);
	if (rc == -ENOMEM)
		return lw_msg_fail(err, errlen, rc, "out of memory");
	if (rc)
		return lw_msg_fail(err, errlen, LWD_EBASE, "base file '%s': %s", ref->name, msg);
	return 0;
}

/* The keyframe, parsed alone and matched against the reference. */
static int lw_resolve_key(const lw_file *f, const lw_base_ref *ref, lw_base_read_fn read,
			  void *arg, lw_file **key, char *err, size_t errlen)
{
	const lw_file_priv *pv = f->priv_, *kp;
	char msg[256];
	uint8_t *buf;
	size_t len;
	lw_file *k;
	int rc = lw_base_get(ref, read, arg, &buf, &len, err, errlen);

	if (rc)
		return rc;
	if (len != ref->length) {
		free(buf);
		return lw_msg_fail(err, errlen, LWD_EBASE,
				    "base file '%s' is %s bytes, not the %llu this file refers to (replaced or truncated)",
				    ref->name, len > ref->length ? "more" : "fewer", LW_ULL(ref->length));
	}
	rc = lw_parse_owned(buf, len, &k, msg, sizeof(msg));
	if (rc == -ENOMEM)
		return lw_msg_fail(err, errlen, rc, "out of memory");
	if (rc)
		return lw_msg_fail(err, errlen, LWD_EBASE, "base file '%s': %s", ref->name, msg);
	kp = k->priv_;
	if (k->kind != LWD_KIND_SNAPSHOT || k->run_id != f->run_id || k->seq != ref->seq)
		rc = lw_msg_fail(err, errlen, LWD_EBASE,
				  "base file '%s' is not the keyframe this file refers to (kind %u, run %llu, seq %llu; expected a snapshot of run %llu, seq %llu)",
				  ref->name, k->kind, LW_ULL(k->run_id), LW_ULL(k->seq),
				  LW_ULL(f->run_id), LW_ULL(ref->seq));
	else if (!kp->sec[LWD_SEC_CCOUNTERS].hdr || kp->cc_crc != ref->crc)
		rc = lw_msg_fail(err, errlen, LWD_EBASE,
				  "base file '%s' is not the keyframe this file refers to (its CCOUNTERS CRC is 0x%08x, expected 0x%08x)",
				  ref->name, kp->cc_crc, ref->crc);
	else if (kp->sec[LWD_SEC_COUNTER_BASE].hdr)
		rc = lw_msg_fail(err, errlen, LWD_EBASE,
				  "base file '%s' has a keyframe of its own; a keyframe must not", ref->name);
	else if (kp->n_stacks_used > pv->n_stacks_used)
		rc = lw_msg_fail(err, errlen, LWD_EBASE,
				  "base file '%s' uses %u stacks, more than the %u of this file",
				  ref->name, kp->n_stacks_used, pv->n_stacks_used);
	if (rc) {
		lw_file_free(k);
		return rc;
	}
	*key = k;
	return 0;
}

static int lw_copy_modules(lw_file *k, lw_module **mods, lw_segment **segs)
{
	*mods = NULL;
	*segs = NULL;
	if (k->n_modules && !(*mods = malloc(k->n_modules * sizeof(**mods))))
		return -ENOMEM;
	if (k->n_segments && !(*segs = malloc(k->n_segments * sizeof(**segs)))) {
		free(*mods);
		*mods = NULL;
		return -ENOMEM;
	}
	if (k->n_modules)
		memcpy(*mods, k->modules, k->n_modules * sizeof(**mods));
	if (k->n_segments)
		memcpy(*segs, k->segments, k->n_segments * sizeof(**segs));
	return 0;
}

int lw_file_resolve(lw_file *f, lw_base_read_fn read, void *arg, char *err, size_t errlen)
{
	lw_file_priv *pv;
	const lw_base_ref *sref = NULL, *cref = NULL;
	lw_stack *stacks = NULL;
	uint64_t *pcs = NULL;
	lw_module *mods = NULL;
	lw_segment *segs = NULL;
	lw_file *key = NULL;
	int use_mods, rc = 0;

	if (!f || !f->priv_)
		return lw_msg_fail(err, errlen, -EINVAL, "invalid arguments");
	if (!f->unresolved)
		return 0;
	if (!read)
		return lw_msg_fail(err, errlen, -EINVAL, "invalid arguments");
	pv = f->priv_;
	for (size_t i = 0; i < f->n_bases; i++) {
		if (f->bases[i].type == LWD_SEC_STACK_BASE)
			sref = &f->bases[i];
		else
			cref = &f->bases[i];
	}
	use_mods = cref && (cref->flags & LWD_CBASEF_MODULES);
	if (sref)
		rc = lw_resolve_stacks(f, sref, read, arg, &stacks, &pcs, err, errlen);
	if (rc == 0 && cref)
		rc = lw_resolve_key(f, cref, read, arg, &key, err, errlen);
	if (rc == 0 && use_mods) {
		rc = lw_copy_modules(key, &mods, &segs);
		if (rc)
			lw_msg_fail(err, errlen, rc, "out of memory");
		else if (pv->exe_module != LWD_NONE && pv->exe_module >= key->n_modules)
			rc = lw_msg_fail(err, errlen, LWD_EBASE,
					  "PROCESS exe_module %u outside the %zu modules of base file '%s'",
					  pv->exe_module, key->n_modules, cref->name);
	}
	/* the last step that can fail: counters (it commits them itself) */
	if (rc == 0 && cref) {
		char msg[200];

		rc = lw_cc_materialize(f, key->priv_, msg, sizeof(msg));
		if (rc == -ENOMEM)
			lw_msg_fail(err, errlen, rc, "out of memory");
		else if (rc)
			lw_msg_fail(err, errlen, rc, "with keyframe '%s': %s", cref->name, msg);
	}
	if (rc) {
		free(stacks);
		free(pcs);
		free(mods);
		free(segs);
		lw_file_free(key);
		return rc;
	}
	if (sref) {
		f->stacks = stacks;
		f->n_stacks = sref->n_stacks;
		free(pv->pcs);
		pv->pcs = pcs;
	}
	if (!cref)
		f->n_counters = pv->n_counters_ready;
	if (use_mods) {
		lw_file_priv *kp = key->priv_;

		f->modules = mods;
		f->n_modules = key->n_modules;
		f->segments = segs;
		f->n_segments = key->n_segments;
		f->process.exe_module = pv->exe_module;
		pv->adopted = kp->bytes;   /* module paths point into it */
		kp->bytes = NULL;
	}
	lw_file_free(key);
	f->unresolved = 0;
	if (err && errlen)
		err[0] = '\0';
	return 0;
}
