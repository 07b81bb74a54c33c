/* lwd_inspect.c — test tool: prints .lwd files as line-oriented text or JSON
 * so shell and python integration tests can assert on their contents.
 *
 *   lwd_inspect [--json] [--no-symbols] [--live] [--recursive] PATH...
 *
 * PATH is a .lwd file or a directory (its *.lwd files, sorted by name;
 * with --recursive also those of subdirectories, such as the ones forked
 * children write). For each file: header fields, the process record, the
 * module map, and per stack its counters (inuse = alloc - free, raw samples
 * and unbiased estimates) and its frames, symbolized offline with
 * analyze/symbols/symbols.c (function, file:line, module, inline chain) unless
 * --no-symbols. "site" is the first frame that is neither allocator nor
 * shim code. --live adds the live blocks of dumps.
 * JSON output is always an array of file objects.
 *
 * Exit status: 0, 1 if any file failed to parse (the error names the file
 * and goes to stderr, the other files are still printed), 2 on bad usage.
 * Not installed; single-threaded; allocates freely.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lwd.h"
#include "symbols.h"

#define MAX_CHAIN 16

struct opts {
	int json, symbols, live, recursive;
};

struct pathlist {
	char **v;
	size_t n, cap;
};

static void pathlist_add(struct pathlist *l, const char *p)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v) {
			perror("lwd_inspect");
			exit(2);
		}
	}
	l->v[l->n] = strdup(p);
	if (!l->v[l->n]) {
		perror("lwd_inspect");
		exit(2);
	}
	l->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Collects the .lwd files of `dir` (not temporaries), sorted, then those of
 * subdirectories when recursive. */
static int collect_dir(const char *dir, int recursive, struct pathlist *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct pathlist files = {0}, dirs = {0};
	struct dirent *e;
	char buf[4096];
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(buf, sizeof buf, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(buf, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (recursive)
				pathlist_add(&dirs, buf);
		} else if (S_ISREG(st.st_mode) && has_suffix(e->d_name, ".lwd")) {
			pathlist_add(&files, buf);
		}
	}
	closedir(d);
	if (files.n)
		qsort(files.v, files.n, sizeof *files.v, cmp_str);
	if (dirs.n)
		qsort(dirs.v, dirs.n, sizeof *dirs.v, cmp_str);
	for (size_t i = 0; i < files.n; i++) {
		pathlist_add(out, files.v[i]);
		free(files.v[i]);
	}
	for (size_t i = 0; i < dirs.n; i++) {
		collect_dir(dirs.v[i], recursive, out);
		free(dirs.v[i]);
	}
	free(files.v);
	free(dirs.v);
	return 0;
}

static void json_str(FILE *o, const char *s)
{
	fputc('"', o);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", o); break;
		case '\\': fputs("\\\\", o); break;
		case '\n': fputs("\\n", o); break;
		case '\t': fputs("\\t", o); break;
		case '\r': fputs("\\r", o); break;
		default:
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(o, "\\u%04x", *p);
			else
				fputc(*p, o);
		}
	}
	fputc('"', o);
}

/* A JSON number; non-finite values (which a hostile file may hold) are
 * printed as null so the output stays valid JSON. */
static void json_num(FILE *o, const char *key, double v)
{
	if (isfinite(v))
		fprintf(o, ", \"%s\": %.17g", key, v);
	else
		fprintf(o, ", \"%s\": null", key);
}

/* Text mode prints strings bare; spaces and controls become '_' so that
 * every line splits on whitespace. */
static void text_str(FILE *o, const char *s)
{
	if (!*s) {
		fputc('-', o);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc(*p <= 0x20 || *p == 0x7f ? '_' : *p, o);
}

static const char *kind_name(uint32_t k)
{
	return k == LWD_KIND_SNAPSHOT ? "snapshot" : k == LWD_KIND_DUMP ? "dump" : "unknown";
}

static const char *reason_name(uint32_t r)
{
	switch (r) {
	case LWD_REASON_INTERVAL: return "interval";
	case LWD_REASON_EXIT: return "exit";
	case LWD_REASON_SIGNAL: return "signal";
	case LWD_REASON_API: return "api";
	default: return "unknown";
	}
}

static void build_id_hex(const lw_module *m, char *out)
{
	static const char hx[] = "0123456789abcdef";
	uint32_t n = m->build_id_len > LWD_MAX_BUILD_ID ? LWD_MAX_BUILD_ID : m->build_id_len;
	for (uint32_t i = 0; i < n; i++) {
		out[2 * i] = hx[m->build_id[i] >> 4];
		out[2 * i + 1] = hx[m->build_id[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Index of the module whose address range holds pc, or -1. */
static long module_of(const lw_file *f, uint64_t pc)
{
	for (size_t i = 0; i < f->n_segments; i++) {
		const lw_segment *s = &f->segments[i];
		if (pc >= s->start && pc < s->end)
			return (long)s->module;
	}
	for (size_t i = 0; i < f->n_modules; i++)
		if (pc >= f->modules[i].start && pc < f->modules[i].end)
			return (long)i;
	return -1;
}

struct sums {
	uint64_t alloc_samples, alloc_sample_bytes, free_samples, free_sample_bytes;
	double alloc_objects, alloc_bytes, free_objects, free_bytes;
	int present;
};

static void print_frames(FILE *o, const struct opts *op, const lw_file *f, lw_sym_session *sym,
			 const lw_stack *st, int *printed_site, char *site, size_t site_len)
{
	int first = 1;
	site[0] = '\0';
	for (uint32_t d = 0; d < st->depth; d++) {
		uint64_t pc = st->pcs[d];
		long mi = module_of(f, pc);
		const char *mpath = mi >= 0 ? f->modules[mi].path : "??";
		uint64_t off = mi >= 0 ? pc - f->modules[mi].load_bias : pc;
		lw_sym_result r[MAX_CHAIN];
		size_t n = 0;
		if (sym)
			n = lw_sym_resolve(sym, pc, 1, r, MAX_CHAIN);
		if (n == 0) {
			memset(&r[0], 0, sizeof r[0]);
			r[0].function = "??";
			r[0].file = "";
			r[0].module = mpath;
			n = 1;
		}
		for (size_t k = 0; k < n; k++) {
			int alloc = sym && lw_sym_is_allocator_frame(r[k].function, mpath);
			if (!site[0] && sym && !alloc && strcmp(r[k].function, "??") != 0)
				snprintf(site, site_len, "%s", r[k].function);
			if (op->json) {
				fprintf(o, "%s\n        {\"depth\": %u, \"pc\": %" PRIu64
					   ", \"module_index\": %ld, \"module\": ",
					first ? "" : ",", d, pc, mi);
				json_str(o, mpath);
				fprintf(o, ", \"offset\": %" PRIu64 ", \"function\": ", off);
				json_str(o, r[k].function);
				fputs(", \"file\": ", o);
				json_str(o, r[k].file);
				fprintf(o, ", \"line\": %d, \"inlined\": %s, \"allocator\": %s}", r[k].line,
					r[k].inlined ? "true" : "false", alloc ? "true" : "false");
			} else {
				fprintf(o, "  frame %u 0x%" PRIx64 " ", d, pc);
				text_str(o, r[k].function);
				fputc(' ', o);
				text_str(o, r[k].file);
				fprintf(o, ":%d ", r[k].line);
				text_str(o, mpath);
				fprintf(o, "+0x%" PRIx64 "%s%s\n", off, r[k].inlined ? " inlined" : "",
					alloc ? " allocator" : "");
			}
			first = 0;
		}
	}
	*printed_site = site[0] != '\0';
}

static void print_file(FILE *o, const struct opts *op, const char *path, const lw_file *f,
		       int first_file)
{
	const lw_process *p = &f->process;
	lw_sym_session *sym = op->symbols ? lw_sym_session_new(f) : NULL;

	/* counters per stack (a stack may have several records: sum them) */
	struct sums *sums = calloc(f->n_stacks ? f->n_stacks : 1, sizeof *sums);
	if (!sums) {
		perror("lwd_inspect");
		exit(2);
	}
	for (size_t i = 0; i < f->n_counters; i++) {
		const lw_counter *c = &f->counters[i];
		struct sums *s = &sums[c->stack];
		s->present = 1;
		s->alloc_samples += c->alloc_samples;
		s->alloc_sample_bytes += c->alloc_sample_bytes;
		s->free_samples += c->free_samples;
		s->free_sample_bytes += c->free_sample_bytes;
		s->alloc_objects += c->alloc_objects_est;
		s->alloc_bytes += c->alloc_bytes_est;
		s->free_objects += c->free_objects_est;
		s->free_bytes += c->free_bytes_est;
	}
	uint64_t live_bytes = 0;
	for (size_t i = 0; i < f->n_live; i++)
		live_bytes += f->live[i].size;

	if (op->json) {
		fprintf(o, "%s{\n  \"path\": ", first_file ? "" : ",\n");
		json_str(o, path);
		fprintf(o, ",\n  \"kind\": \"%s\", \"version_major\": %u, \"version_minor\": %u,"
			   " \"run_id\": %" PRIu64 ", \"seq\": %" PRIu64 ", \"file_size\": %zu,\n",
			kind_name(f->kind), f->version_major, f->version_minor, f->run_id, f->seq,
			f->file_size);
		fprintf(o, "  \"process\": {\"pid\": %u, \"ppid\": %u, \"parent_run_id\": %" PRIu64
			   ", \"wall_ns\": %" PRIu64 ", \"mono_ns\": %" PRIu64 ", \"start_wall_ns\": %" PRIu64
			   ", \"start_mono_ns\": %" PRIu64 ", \"sample_rate\": %" PRIu64
			   ", \"rss_bytes\": %" PRIu64 ", \"peak_rss_bytes\": %" PRIu64
			   ", \"heap_committed\": %" PRIu64 ", \"heap_peak_committed\": %" PRIu64
			   ", \"alloc_calls\": %" PRIu64 ", \"free_calls\": %" PRIu64
			   ", \"reason\": \"%s\", \"exe_module\": %ld, \"exe\": ",
			p->pid, p->ppid, p->parent_run_id, p->wall_ns, p->mono_ns, p->start_wall_ns,
			p->start_mono_ns, p->sample_rate, p->rss_bytes, p->peak_rss_bytes,
			p->heap_committed, p->heap_peak_committed, p->alloc_calls, p->free_calls,
			reason_name(p->reason), p->exe_module == LWD_NONE ? -1L : (long)p->exe_module);
		json_str(o, p->exe);
		fputs(", \"cmdline\": ", o);
		json_str(o, p->cmdline);
		fputs(", \"hostname\": ", o);
		json_str(o, p->hostname);
		/* the status passed to exit(), or null when the file does not say */
		if (p->exit_status & LWD_EXIT_STATUS_KNOWN)
			fprintf(o, ", \"exit_status\": %u", p->exit_status & 0xffu);
		else
			fputs(", \"exit_status\": null", o);
		fputs("},\n  \"modules\": [", o);
		for (size_t i = 0; i < f->n_modules; i++) {
			const lw_module *m = &f->modules[i];
			char bid[2 * LWD_MAX_BUILD_ID + 1];
			build_id_hex(m, bid);
			fprintf(o, "%s\n    {\"index\": %zu, \"path\": ", i ? "," : "", i);
			json_str(o, m->path);
			fprintf(o, ", \"load_bias\": %" PRIu64 ", \"start\": %" PRIu64 ", \"end\": %" PRIu64
				   ", \"build_id\": \"%s\"}",
				m->load_bias, m->start, m->end, bid);
		}
		fprintf(o, "],\n  \"n_segments\": %zu, \"n_live\": %zu, \"live_bytes\": %" PRIu64
			   ",\n  \"stacks\": [",
			f->n_segments, f->n_live, live_bytes);
	} else {
		fprintf(o, "file ");
		text_str(o, path);
		fprintf(o, " kind=%s version=%u.%u run_id=%" PRIu64 " seq=%" PRIu64 " size=%zu\n",
			kind_name(f->kind), f->version_major, f->version_minor, f->run_id, f->seq,
			f->file_size);
		fprintf(o, "process pid=%u ppid=%u parent_run_id=%" PRIu64 " reason=%s rate=%" PRIu64
			   " rss=%" PRIu64 " heap_committed=%" PRIu64 " alloc_calls=%" PRIu64
			   " free_calls=%" PRIu64 " mono_ns=%" PRIu64 " exe=",
			p->pid, p->ppid, p->parent_run_id, reason_name(p->reason), p->sample_rate,
			p->rss_bytes, p->heap_committed, p->alloc_calls, p->free_calls, p->mono_ns);
		text_str(o, p->exe);
		fputc('\n', o);
		for (size_t i = 0; i < f->n_modules; i++) {
			const lw_module *m = &f->modules[i];
			char bid[2 * LWD_MAX_BUILD_ID + 1];
			build_id_hex(m, bid);
			fprintf(o, "module %zu 0x%" PRIx64 "-0x%" PRIx64 " bias=0x%" PRIx64 " build_id=%s ",
				i, m->start, m->end, m->load_bias, bid[0] ? bid : "-");
			text_str(o, m->path);
			fputc('\n', o);
		}
		fprintf(o, "live blocks=%zu bytes=%" PRIu64 "\n", f->n_live, live_bytes);
	}

	int first_stack = 1;
	char site[512];
	for (size_t i = 0; i < f->n_stacks; i++) {
		const struct sums *s = &sums[i];
		const lw_stack *st = &f->stacks[i];
		int has_site = 0;
		if (op->json) {
			fprintf(o, "%s\n    {\"id\": %zu, \"depth\": %u, \"truncated\": %s, \"has_counters\": %s,"
				   " \"alloc_samples\": %" PRIu64 ", \"alloc_sample_bytes\": %" PRIu64
				   ", \"free_samples\": %" PRIu64 ", \"free_sample_bytes\": %" PRIu64,
				first_stack ? "" : ",", i, st->depth,
				(st->flags & LWD_STACKF_TRUNCATED) ? "true" : "false",
				s->present ? "true" : "false", s->alloc_samples, s->alloc_sample_bytes,
				s->free_samples, s->free_sample_bytes);
			json_num(o, "alloc_objects", s->alloc_objects);
			json_num(o, "alloc_bytes", s->alloc_bytes);
			json_num(o, "free_objects", s->free_objects);
			json_num(o, "free_bytes", s->free_bytes);
			json_num(o, "inuse_objects", s->alloc_objects - s->free_objects);
			json_num(o, "inuse_bytes", s->alloc_bytes - s->free_bytes);
			fputs(",\n      \"frames\": [", o);
			print_frames(o, op, f, sym, st, &has_site, site, sizeof site);
			fputs("],\n      \"site\": ", o);
			json_str(o, has_site ? site : "");
			fputc('}', o);
		} else {
			fprintf(o, "stack %zu depth=%u inuse_bytes=%.17g inuse_objects=%.17g alloc_bytes=%.17g"
				   " alloc_objects=%.17g alloc_samples=%" PRIu64 " free_samples=%" PRIu64
				   " inuse_sample_bytes=%" PRIu64 "\n",
				i, st->depth, s->alloc_bytes - s->free_bytes, s->alloc_objects - s->free_objects,
				s->alloc_bytes, s->alloc_objects, s->alloc_samples, s->free_samples,
				s->alloc_sample_bytes - s->free_sample_bytes);
			print_frames(o, op, f, sym, st, &has_site, site, sizeof site);
			if (has_site)
				fprintf(o, "  site %s\n", site);
		}
		first_stack = 0;
	}

	if (op->json) {
		fputs("],\n  \"live\": [", o);
		if (op->live) {
			for (size_t i = 0; i < f->n_live; i++) {
				const lw_live_block *b = &f->live[i];
				fprintf(o, "%s\n    {\"addr\": %" PRIu64 ", \"size\": %" PRIu64
					   ", \"stack\": %u, \"tid\": %u, \"alloc_mono_ns\": %" PRIu64,
					i ? "," : "", b->addr, b->size, b->stack, b->tid, b->alloc_mono_ns);
				json_num(o, "weight", b->weight);
				fputc('}', o);
			}
		}
		fputs("],\n  \"symbol_problems\": [", o);
		if (sym) {
			const char *const *lines;
			size_t n = lw_sym_problems(sym, &lines);
			for (size_t i = 0; i < n; i++) {
				fputs(i ? ", " : "", o);
				json_str(o, lines[i]);
			}
		}
		fputs("]\n}", o);
	} else if (op->live) {
		for (size_t i = 0; i < f->n_live; i++) {
			const lw_live_block *b = &f->live[i];
			fprintf(o, "live 0x%" PRIx64 " size=%" PRIu64 " stack=%u tid=%u weight=%.17g\n",
				b->addr, b->size, b->stack, b->tid, b->weight);
		}
	}
	free(sums);
	if (sym)
		lw_sym_session_free(sym);
}

static void usage(void)
{
	fprintf(stderr, "usage: lwd_inspect [--json] [--no-symbols] [--live] [--recursive] PATH...\n");
}

int main(int argc, char **argv)
{
	struct opts op = {.symbols = 1};
	struct pathlist paths = {0};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			op.json = 1;
		else if (strcmp(argv[i], "--no-symbols") == 0)
			op.symbols = 0;
		else if (strcmp(argv[i], "--live") == 0)
			op.live = 1;
		else if (strcmp(argv[i], "--recursive") == 0 || strcmp(argv[i], "-r") == 0)
			op.recursive = 1;
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "lwd_inspect: unknown option \"%s\"\n", argv[i]);
			usage();
			return 2;
		} else {
			struct stat st;
			if (stat(argv[i], &st) != 0) {
				fprintf(stderr, "lwd_inspect: \"%s\": %s\n", argv[i], strerror(errno));
				return 2;
			}
			if (S_ISDIR(st.st_mode))
				collect_dir(argv[i], op.recursive, &paths);
			else
				pathlist_add(&paths, argv[i]);
		}
	}
	if (argc < 2) {
		usage();
		return 2;
	}
	int status = 0, first = 1;
	if (op.json)
		fputs("[", stdout);
	for (size_t i = 0; i < paths.n; i++) {
		lw_file *f = NULL;
		char err[512];
		err[0] = '\0';
		int rc = lw_file_open(paths.v[i], &f, err, sizeof err);
		if (rc < 0) {
			fprintf(stderr, "lwd_inspect: \"%s\": %s\n", paths.v[i],
				err[0] ? err : strerror(-rc));
			status = 1;
		} else {
			print_file(stdout, &op, paths.v[i], f, first);
			first = 0;
			lw_file_free(f);
		}
		free(paths.v[i]);
	}
	if (op.json)
		fputs("]\n", stdout);
	free(paths.v);
	return status;
}
