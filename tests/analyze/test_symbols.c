/* test_symbols.c — unit test of analyze/symbols/symbols.c against a known program.
 *
 * Runs symtest_target (built with -g), reads the module map and the runtime
 * addresses it prints, builds an lw_file module map from them (build-ids read
 * from the files on disk, as the shim records them) and checks function,
 * file, line and inline chains against the LINE_* markers in the target's
 * source. Then records a wrong build-id for the executable and checks that
 * the mismatch is reported and its pcs resolve to "??".
 *
 * Usage: test_symbols TARGET SOURCE_DIR
 */
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols.h"
#include "../check.h"

/* Line number of the marker in file, or 0. */
static int marker_line(const char *path, const char *marker)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char buf[512];
	int n = 0, found = 0;
	while (fgets(buf, sizeof(buf), f)) {
		n++;
		const char *p = strstr(buf, marker);
		/* exact marker: not a prefix of a longer one */
		if (p && (p[strlen(marker)] == ' ' || p[strlen(marker)] == '\n')) {
			found = n;
			break;
		}
	}
	fclose(f);
	return found;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static uint32_t read_build_id(const char *path, uint8_t *out)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	uint32_t n = 0;
	if (elf) {
		const void *id;
		ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
		if (len > 0 && len <= LWD_MAX_BUILD_ID) {
			memcpy(out, id, (size_t)len);
			n = (uint32_t)len;
		}
		elf_end(elf);
	}
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	unsetenv("DEBUGINFOD_URLS");   /* hermetic: no network lookups */
	if (argc != 3) {
		fprintf(stderr, "usage: test_symbols TARGET SOURCE_DIR\n");
		return 2;
	}
	/* Modules are recorded with absolute paths. */
	char *target = realpath(argv[1], NULL);
	if (!target) {
		perror(argv[1]);
		return 1;
	}
	char csrc[1024], cxxsrc[1024];
	snprintf(csrc, sizeof(csrc), "%s/symtest_target.c", argv[2]);
	snprintf(cxxsrc, sizeof(cxxsrc), "%s/symtest_target_cxx.cpp", argv[2]);
	elf_version(EV_CURRENT);

	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "'%s' </dev/null", target);
	FILE *p = popen(cmd, "r");
	if (!p) {
		perror("popen");
		return 1;
	}
	lw_module mods[64];
	size_t n_mods = 0;
	char paths[64][512];
	uint64_t plain = 0, outer = 0, caller_ra = 0, inl_ra = 0, cxx_ra = 0, global = 0;
	char field_want[8][512];
	uint64_t field_addr[8];
	size_t n_fields = 0;
	char line[1024];
	while (fgets(line, sizeof(line), p)) {
		char name[512];
		unsigned long a, b, c;
		if (sscanf(line, "module %511s %lx %lx %lx", name, &a, &b, &c) == 4 && n_mods < 64) {
			lw_module *m = &mods[n_mods];
			memset(m, 0, sizeof(*m));
			snprintf(paths[n_mods], sizeof(paths[n_mods]), "%s",
				 strcmp(name, "exe") == 0 ? target : name);
			m->path = paths[n_mods];
			m->load_bias = a;
			m->start = b;
			m->end = c;
			m->build_id_len = read_build_id(m->path, m->build_id);
			n_mods++;
		} else if (sscanf(line, "%511s %lx", name, &a) == 2) {
			if (!strcmp(name, "symtest_plain")) plain = a;
			else if (!strcmp(name, "symtest_outer")) outer = a;
			else if (!strcmp(name, "caller_ra")) caller_ra = a;
			else if (!strcmp(name, "inl_caller_ra")) inl_ra = a;
			else if (!strcmp(name, "cxx_ra")) cxx_ra = a;
			else if (!strcmp(name, "global")) global = a;
			else if (!strncmp(name, "field:", 6) && n_fields < 8) {
				snprintf(field_want[n_fields], sizeof field_want[0], "%s", name + 6);
				field_addr[n_fields++] = a;
			}
		}
	}
	int st = pclose(p);
	CHECK(st == 0, "target exit status %d", st);
	CHECK(n_mods >= 2 && plain && caller_ra && inl_ra && cxx_ra && global,
	      "target output incomplete (%zu modules)", n_mods);
	CHECK(mods[0].build_id_len > 0, "target has no build-id");
	if (failures)
		return 1;

	lw_file f;
	memset(&f, 0, sizeof(f));
	f.modules = mods;
	f.n_modules = n_mods;

	lw_sym_session *s = lw_sym_session_new(&f);
	CHECK(s != NULL, "session");
	if (!s)
		return 1;
	const char *const *probs;
	size_t np = lw_sym_problems(s, &probs);
	for (size_t i = 0; i < np; i++)
		fprintf(stderr, "note: problem: %s\n", probs[i]);
	for (size_t i = 0; i < np; i++)
		CHECK(strstr(probs[i], target) == NULL, "unexpected problem with target: %s", probs[i]);

	lw_sym_result r[8];
	size_t n;

	/* A function entry (not a return address). */
	n = lw_sym_resolve(s, plain, 0, r, 8);
	CHECK(n >= 1 && strcmp(r[0].function, "symtest_plain") == 0, "plain: got '%s'", r[0].function);
	CHECK(ends_with(r[0].file, "symtest_target.c"), "plain file '%s'", r[0].file);
	CHECK(strcmp(r[0].module, target) == 0, "plain module '%s'", r[0].module);
	CHECK(r[0].module_offset == plain - mods[0].load_bias, "module offset");
	n = lw_sym_resolve(s, outer, 0, r, 8);
	CHECK(n >= 1 && strcmp(r[n - 1].function, "symtest_outer") == 0, "outer: got '%s'", r[n - 1].function);

	/* A return address: the call line in the caller. */
	int want = marker_line(csrc, "LINE_CALLER");
	n = lw_sym_resolve(s, caller_ra, 1, r, 8);
	CHECK(n == 1, "caller chain length %zu", n);
	CHECK(strcmp(r[0].function, "symtest_caller") == 0, "caller: '%s'", r[0].function);
	CHECK(r[0].line == want && want > 0, "caller line %d, want %d", r[0].line, want);
	CHECK(ends_with(r[0].file, "symtest_target.c"), "caller file '%s'", r[0].file);
	CHECK(r[0].inlined == 0, "caller inlined flag");

	/* Memoized: same answer again. */
	lw_sym_result r2[8];
	size_t n2 = lw_sym_resolve(s, caller_ra, 1, r2, 8);
	CHECK(n2 == n && r2[0].function == r[0].function && r2[0].line == r[0].line, "memo");

	/* An inlined call: the inlined function at its line, then its caller
	 * at the line where it was inlined. */
	n = lw_sym_resolve(s, inl_ra, 1, r, 8);
	int want_in = marker_line(csrc, "LINE_INL_RA"), want_out = marker_line(csrc, "LINE_INL_CALLER");
	CHECK(n == 2, "inline chain length %zu", n);
	if (n == 2) {
		CHECK(strcmp(r[0].function, "symtest_inl_ra") == 0, "inl[0] '%s'", r[0].function);
		CHECK(r[0].line == want_in, "inl[0] line %d want %d", r[0].line, want_in);
		CHECK(r[0].inlined == 1, "inl[0] flag");
		CHECK(strcmp(r[1].function, "symtest_inl_caller") == 0, "inl[1] '%s'", r[1].function);
		CHECK(r[1].line == want_out, "inl[1] line %d want %d", r[1].line, want_out);
		CHECK(ends_with(r[1].file, "symtest_target.c"), "inl[1] file '%s'", r[1].file);
		CHECK(r[1].inlined == 0, "inl[1] flag");
	}
	/* max smaller than the chain: truncated, innermost kept. */
	n = lw_sym_resolve(s, inl_ra, 1, r, 1);
	CHECK(n == 1 && strcmp(r[0].function, "symtest_inl_ra") == 0, "truncated chain");

	/* C++: demangled, namespaced. */
	n = lw_sym_resolve(s, cxx_ra, 1, r, 8);
	want = marker_line(cxxsrc, "LINE_CXX");
	CHECK(n >= 1 && strcmp(r[n - 1].function, "symtest::Cache::grow") == 0,
	      "cxx: '%s'", r[n - 1].function);
	CHECK(r[n - 1].line == want, "cxx line %d want %d", r[n - 1].line, want);
	CHECK(ends_with(r[n - 1].file, "symtest_target_cxx.cpp"), "cxx file '%s'", r[n - 1].file);

	/* An address in no module. */
	n = lw_sym_resolve(s, 0x10, 1, r, 8);
	CHECK(n == 1 && strcmp(r[0].function, "??") == 0 && strcmp(r[0].module, "??") == 0,
	      "unmapped: '%s' in '%s'", r[0].function, r[0].module);

	/* Data symbol lookup (roots, vtables). */
	uint64_t start = 0;
	const char *ds = lw_sym_data_symbol(s, global, &start);
	CHECK(ds && strcmp(ds, "symtest_table") == 0, "data symbol '%s'", ds ? ds : "(null)");
	CHECK(start == global - 3 * sizeof(int), "data symbol start %#" PRIx64, start);

	/* Member paths inside globals, from DWARF. */
	CHECK(n_fields == 7, "target printed %zu field addresses", n_fields);
	for (size_t i = 0; i < n_fields; i++) {
		char path[256];
		int rc = lw_sym_data_field(s, field_addr[i], path, sizeof path);
		CHECK(rc == 0 && strcmp(path, field_want[i]) == 0, "field %#" PRIx64 ": %d '%s', want '%s'",
		      field_addr[i], rc, rc == 0 ? path : "", field_want[i]);
	}
	char small[12];
	CHECK(lw_sym_data_field(s, field_addr[2], small, sizeof small) == 0 &&
	      strlen(small) == sizeof small - 1, "a short buffer: '%s'", small);
	CHECK(lw_sym_data_field(s, 0x10, small, sizeof small) != 0, "a field at an unmapped address");
	lw_sym_session_free(s);

	/* Build-id mismatch: reported once, never mis-symbolized. */
	mods[0].build_id[0] ^= 0xff;
	s = lw_sym_session_new(&f);
	CHECK(s != NULL, "session 2");
	if (!s)
		return 1;
	np = lw_sym_problems(s, &probs);
	int seen = 0;
	for (size_t i = 0; i < np; i++)
		if (strstr(probs[i], target) && strstr(probs[i], "build-id mismatch"))
			seen++;
	CHECK(seen == 1, "mismatch reported %d times", seen);
	n = lw_sym_resolve(s, caller_ra, 1, r, 8);
	CHECK(n == 1 && strcmp(r[0].function, "??") == 0 && r[0].line == 0 && r[0].file[0] == 0,
	      "mismatched module resolved to '%s' %s:%d", r[0].function, r[0].file, r[0].line);
	CHECK(strcmp(r[0].module, target) == 0, "mismatch module '%s'", r[0].module);
	CHECK(lw_sym_data_symbol(s, global, NULL) == NULL, "data symbol in mismatched module");
	char fp[64];
	CHECK(n_fields > 0 && lw_sym_data_field(s, field_addr[0], fp, sizeof fp) != 0,
	      "a member path in a mismatched module");
	np = lw_sym_problems(s, &probs);
	CHECK(np == (size_t)seen + (np - (size_t)seen), "problem count stable");
	lw_sym_session_free(s);

	/* The binary moved (not at its recorded path) but is found by build-id
	 * in a .build-id directory of LEAKWATCH_DEBUGINFO_PATH: used, and said. */
	mods[0].build_id[0] ^= 0xff;   /* back to the true build-id */
	char bdir[] = "/tmp/lw-symtest-bid-XXXXXX";
	if (mkdtemp(bdir)) {
		char sub[256], link[512], hex[2 * LWD_MAX_BUILD_ID + 1];
		for (uint32_t i = 0; i < mods[0].build_id_len; i++)
			sprintf(hex + 2 * i, "%02x", mods[0].build_id[i]);
		snprintf(sub, sizeof(sub), "%s/.build-id", bdir);
		mkdir(sub, 0700);
		snprintf(sub, sizeof(sub), "%s/.build-id/%.2s", bdir, hex);
		mkdir(sub, 0700);
		snprintf(link, sizeof(link), "%s/%s", sub, hex + 2);
		CHECK(symlink(target, link) == 0, "symlink %s", link);
		char moved[] = "/nonexistent-lw-dir/analyze_symtest_target";
		const char *saved = mods[0].path;
		mods[0].path = moved;
		char env[600];
		snprintf(env, sizeof(env), "%s:/usr/lib/debug", bdir);
		setenv("LEAKWATCH_DEBUGINFO_PATH", env, 1);
		s = lw_sym_session_new(&f);
		CHECK(s != NULL, "session 3");
		if (s) {
			np = lw_sym_problems(s, &probs);
			int used = 0;
			for (size_t i = 0; i < np; i++)
				if (strstr(probs[i], moved) && strstr(probs[i], "found by build-id") &&
				    strstr(probs[i], "cannot open"))
					used++;
			CHECK(used == 1, "lookup by build-id not reported (%zu problems)", np);
			n = lw_sym_resolve(s, caller_ra, 1, r, 8);
			CHECK(n == 1 && strcmp(r[0].function, "symtest_caller") == 0 &&
			      r[0].line == marker_line(csrc, "LINE_CALLER"),
			      "by build-id: '%s' line %d", r[0].function, r[0].line);
			lw_sym_session_free(s);
		}
		/* without the directory: unresolved, and said */
		unsetenv("LEAKWATCH_DEBUGINFO_PATH");
		s = lw_sym_session_new(&f);
		if (s) {
			n = lw_sym_resolve(s, caller_ra, 1, r, 8);
			CHECK(n == 1 && strcmp(r[0].function, "??") == 0, "moved file resolved '%s'",
			      r[0].function);
			np = lw_sym_problems(s, &probs);
			int said = 0;
			for (size_t i = 0; i < np; i++)
				if (strstr(probs[i], moved) && strstr(probs[i], "not symbolizing"))
					said++;
			CHECK(said == 1, "missing file not reported");
			lw_sym_session_free(s);
		}
		mods[0].path = saved;
		unlink(link);
		rmdir(sub);
		snprintf(sub, sizeof(sub), "%s/.build-id", bdir);
		rmdir(sub);
		rmdir(bdir);
	}

	/* Hostile module paths (from an untrusted file): a FIFO and a device
	 * must neither block nor be read. */
	char fifo[] = "/tmp/lw-symtest-fifo-XXXXXX";
	int tfd = mkstemp(fifo);
	if (tfd >= 0) {
		close(tfd);
		unlink(fifo);
		CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
		lw_module hostile[2];
		memset(hostile, 0, sizeof(hostile));
		hostile[0].path = fifo;
		hostile[0].start = 0x1000;
		hostile[0].end = 0x2000;
		hostile[1].path = "/dev/zero";
		hostile[1].start = 0x3000;
		hostile[1].end = 0x4000;
		lw_file hf;
		memset(&hf, 0, sizeof(hf));
		hf.modules = hostile;
		hf.n_modules = 2;
		s = lw_sym_session_new(&hf);
		CHECK(s != NULL, "hostile session");
		if (s) {
			np = lw_sym_problems(s, &probs);
			CHECK(np == 2 && strstr(probs[0], "not a regular file") &&
			      strstr(probs[1], "not a regular file"), "hostile problems: %zu", np);
			n = lw_sym_resolve(s, 0x1800, 1, r, 8);
			CHECK(n == 1 && strcmp(r[0].function, "??") == 0, "hostile resolve");
			lw_sym_session_free(s);
		}
		unlink(fifo);
	}

	/* Allocator frames. */
	CHECK(lw_sym_is_allocator_frame("malloc", "/lib/x86_64-linux-gnu/libc.so.6"), "malloc");
	CHECK(lw_sym_is_allocator_frame("operator new(unsigned long)", "/usr/lib/libstdc++.so.6"), "new");
	CHECK(lw_sym_is_allocator_frame("mi_malloc", "x"), "mi_malloc");
	CHECK(lw_sym_is_allocator_frame("anything", "/usr/lib/libleakwatch.so"), "shim module");
	CHECK(lw_sym_is_allocator_frame("??", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2.0"), "mimalloc module");
	CHECK(lw_sym_is_allocator_frame("std::__new_allocator<int>::allocate(unsigned long, void const*)", "app"),
	      "std allocator");
	CHECK(!lw_sym_is_allocator_frame("std::__new_allocator<int>::construct", "app"), "construct");
	CHECK(!lw_sym_is_allocator_frame("symtest_caller", "app"), "user function");
	CHECK(!lw_sym_is_allocator_frame("mallocate_things", "app"), "prefix of malloc");
	CHECK(!lw_sym_is_allocator_frame("??", "app"), "unknown");

	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	free(target);
	printf("ok\n");
	return 0;
}
