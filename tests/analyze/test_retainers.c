/* test_retainers.c — `leakwatch retainers` end to end on synthetic dumps
 * (ret_gen.c): the global table that retains a site is named by its symbol,
 * the linked list hangs off the thread's stack, dropped blocks are reported
 * definitely / indirectly lost with exact counts and bytes, the .dot output
 * is read back by libcgraph's agread and by `dot -Tsvg`, the .svg is XML
 * naming the root, output files are 0600, bad input exits non-zero.
 *
 * usage: test_retainers LEAKWATCH_EXE   run the real command
 *        test_retainers --inproc        call lw_cmd_retainers in a child
 *        test_retainers --gen DIR [SHAPE]  only write DIR/dump.lwd (SHAPE, e.g.
 *                                       big:2000000) and snap.lwd
 *        test_retainers --app LEAKWATCH_EXE SHIM APP [THREAD_LEAK]
 *                                       real dumps: run ret_app.c (and
 *                                       testapps/thread_leak) under the
 *                                       shim, then check their retainers
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <graphviz/cgraph.h>

#include "args.h"
#include "commands.h"
#include "report.h"
#include "ret_gen.h"
#include "retain.h"
#include "../check.h"

static const char *exe;      /* NULL: in-process */
static char self_name[4096];  /* basename of this binary: the module of the globals */
static char dir[4096];
static char out_buf[8 << 20], err_buf[1 << 16];

static void slurp(const char *path, char *buf, size_t cap)
{
	buf[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
}

static const char *subcommand = "retainers";

/* Runs `retainers ARGS...` (or `subcommand`); stdout/stderr land in
 * out_buf/err_buf. */
static int run(const char *const *args)
{
	char op[4200], ep[4200];
	snprintf(op, sizeof op, "%s/stdout", dir);
	snprintf(ep, sizeof ep, "%s/stderr", dir);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(o, 1);
		dup2(e, 2);
		char *argv[32];
		int n = 0;
		if (exe)
			argv[n++] = (char *)exe;
		argv[n++] = (char *)subcommand;
		for (int i = 0; args[i] && n < 31; i++)
			argv[n++] = (char *)args[i];
		argv[n] = NULL;
		if (exe) {
			execv(exe, argv);
			_exit(127);
		}
		int st = strcmp(subcommand, "retainers") == 0 ? lw_cmd_retainers(n, argv)
							      : lw_cmd_top(n, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(st);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	slurp(op, out_buf, sizeof out_buf);
	slurp(ep, err_buf, sizeof err_buf);
	if (!WIFEXITED(status))
		return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

/* Integer value of the first "key": N at or after `from` in doc; -1 if none. */
static long long json_int(const char *doc, const char *from, const char *key)
{
	char pat[128];
	snprintf(pat, sizeof pat, "\"%s\": ", key);
	const char *p = strstr(from ? from : doc, pat);
	if (!p)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

static int has(const char *doc, const char *s)
{
	return strstr(doc, s) != NULL;
}

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void test_json_table(const char *dump)
{
	const char *a[] = { dump, "--site", "ret_make_session", "--json", NULL };
	int st = run(a);
	CHECK(st == 0, "exit %d, stderr: %s", st, err_buf);
	const char *doc = out_buf;
	CHECK(has(doc, "\"symbol\": \"g_session_table\""), "global root not named: %.2000s", doc);
	char lab[4200];
	snprintf(lab, sizeof lab, "\"label\": \"g_session_table (%s)\"", self_name);
	CHECK(has(doc, lab), "root label %s", lab);
	CHECK(json_int(doc, NULL, "target_blocks") == 8, "target blocks");
	int n_edges_keys = 0;
	for (const char *q = doc; (q = strstr(q, "\"edges\": ")); q++)
		n_edges_keys++;
	CHECK(n_edges_keys == 1, "\"edges\" key appears %d times", n_edges_keys);
	CHECK(json_int(doc, NULL, "target_bytes") == 8 * 256, "target bytes");
	/* whole heap: 4 definitely lost (3 sessions + 1 cycle node), 4 indirectly */
	CHECK(json_int(doc, NULL, "definitely_lost_blocks") == 4, "def lost total");
	CHECK(json_int(doc, NULL, "definitely_lost_bytes") == 3 * 256 + 64, "def lost bytes");
	CHECK(json_int(doc, NULL, "indirectly_lost_blocks") == 4, "ind lost total");
	CHECK(json_int(doc, NULL, "indirectly_lost_bytes") == 3 * 1024 + 64, "ind lost bytes");
	const char *sel = strstr(doc, "\"selected\"");
	CHECK(sel != NULL, "selected");
	if (sel) {
		CHECK(json_int(doc, sel, "blocks") == 11, "session blocks");
		CHECK(json_int(doc, sel, "retained_bytes") == 8 * (256 + 1024 + 48),
		      "session retained %lld", json_int(doc, sel, "retained_bytes"));
		CHECK(json_int(doc, sel, "definitely_lost_blocks") == 3, "session def lost");
		CHECK(json_int(doc, sel, "indirectly_lost_blocks") == 0, "session ind lost");
	}
	/* roots by retained size: the table first (10.4 KiB), then the stack
	 * (list nodes 0..3: 256 B), then g_config (128 B) */
	const char *roots = strstr(doc, "\"roots\": [");
	CHECK(roots != NULL, "roots");
	if (roots) {
		CHECK(json_int(doc, roots, "retained_bytes") == 8 * (256 + 1024 + 48), "top root");
		const char *rl = strstr(roots, "\"label\": ");
		CHECK(rl && strncmp(rl + 9, "\"g_session_table", 16) == 0, "top root label");
	}
	const char *paths = strstr(doc, "\"paths\"");
	CHECK(paths != NULL, "paths");
	if (paths) {
		CHECK(json_int(doc, paths, "blocks") == 8, "path 1 blocks");
		/* the root of path 1 retains sessions, payloads, unsampled blocks */
		const char *st1 = strstr(paths, "\"root_kind\": \"global\"");
		CHECK(st1 != NULL, "path starts at a global");
		if (st1)
			CHECK(json_int(doc, st1, "retained_bytes") == 8 * (256 + 1024 + 48),
			      "root retained");
	}
}

static void test_text_default(const char *dump)
{
	const char *a[] = { dump, NULL };
	int st = run(a);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	/* default: the site with the largest inuse bytes (payloads, 11 KiB) */
	CHECK(has(out_buf, "site: ret_make_payload (ret_gen.c:"), "default site: %s", out_buf);
	char lab[4200];
	snprintf(lab, sizeof lab, "g_session_table (%s)", self_name);
	CHECK(has(out_buf, lab), "root in text: %s", out_buf);
	CHECK(has(out_buf, "-> ret_make_session (ret_gen.c:"), "intermediate site");
	CHECK(has(out_buf, "-> ret_make_payload (ret_gen.c:"), "target step");
	CHECK(has(out_buf, "called from ret_gen_caller"), "caller frame");
	CHECK(has(out_buf, "unreachable: 0 definitely lost (0 B), 3 indirectly lost (3.0 KiB)"),
	      "payload lost line: %s", out_buf);
}

static void test_list_on_stack(const char *dump)
{
	const char *a[] = { dump, "--site", "ret_list_node", "--json", NULL };
	int st = run(a);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	char lab[96];
	snprintf(lab, sizeof lab, "\"label\": \"thread %d stack\"", (int)getpid());
	CHECK(has(out_buf, lab), "stack root %s missing: %.3000s", lab, out_buf);
	snprintf(lab, sizeof lab, "\"label\": \"thread %d registers\"", (int)getpid());
	CHECK(has(out_buf, lab), "register root");
	CHECK(json_int(out_buf, NULL, "target_blocks") == 5, "list targets");
	const char *sel = strstr(out_buf, "\"selected\"");
	if (sel) {
		CHECK(json_int(out_buf, sel, "definitely_lost_blocks") == 1, "cycle def lost");
		CHECK(json_int(out_buf, sel, "indirectly_lost_blocks") == 1, "cycle ind lost");
		/* node 4 is reached from the stack and from a register: no single
		 * list node dominates it, so the group retains nodes 0..4 = 320 B */
		CHECK(json_int(out_buf, sel, "retained_bytes") == 5 * 64, "list retained");
	}
	/* shortest paths: node 4 via the register (1 block), 0..3 via the stack */
	const char *paths = strstr(out_buf, "\"paths\"");
	if (paths)
		CHECK(json_int(out_buf, paths, "blocks") == 4, "stack path blocks");
}

static void test_dot(const char *dump)
{
	char dot[4200], svg[4200];
	path_in(dot, sizeof dot, "ret.dot");
	path_in(svg, sizeof svg, "ret-parsed.svg");
	const char *a[] = { dump, "--site", "ret_make_payload", "-o", dot, NULL };
	int st = run(a);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	struct stat sb;
	CHECK(stat(dot, &sb) == 0 && (sb.st_mode & 0777) == 0600, "dot file mode");
	FILE *f = fopen(dot, "r");
	CHECK(f != NULL, "open dot");
	if (!f)
		return;
	Agraph_t *g = agread(f, NULL);
	fclose(f);
	CHECK(g != NULL, "agread failed");
	if (!g)
		return;
	CHECK(agisdirected(g), "directed");
	int nodes = 0, root_named = 0, edges = 0;
	for (Agnode_t *n = agfstnode(g); n; n = agnxtnode(g, n)) {
		nodes++;
		const char *l = agget(n, "label");
		if (l && strstr(l, "g_session_table") && strstr(l, "retains 10.4 KiB"))
			root_named = 1;
		for (Agedge_t *e = agfstout(g, n); e; e = agnxtout(g, e))
			edges++;
	}
	CHECK(nodes == 3, "nodes %d", nodes);
	CHECK(edges == 2, "edges %d", edges);
	CHECK(root_named, "root label");
	const char *rd = agget(g, "rankdir");
	CHECK(rd && strcmp(rd, "TB") == 0, "rankdir");
	agclose(g);
	/* dot is required (CI installs graphviz): a missing one fails */
	CHECK(access("/usr/bin/dot", X_OK) == 0, "/usr/bin/dot is not installed (graphviz)");
	char cmd[9000];
	snprintf(cmd, sizeof cmd, "/usr/bin/dot -Tsvg '%s' -o '%s'", dot, svg);
	CHECK(system(cmd) == 0, "dot -Tsvg failed");
	slurp(svg, out_buf, sizeof out_buf);
	CHECK(has(out_buf, "g_session_table"), "dot rendering names the root");
}

static void test_svg(const char *dump)
{
	char svg[4200];
	path_in(svg, sizeof svg, "ret.svg");
	const char *a[] = { dump, "--site", "ret_make_payload", "-o", svg, NULL };
	int st = run(a);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	CHECK(has(out_buf, "wrote "), "confirmation: %s", out_buf);
	slurp(svg, out_buf, sizeof out_buf);
	CHECK(strncmp(out_buf, "<?xml", 5) == 0, "xml prolog");
	CHECK(has(out_buf, "<svg") && has(out_buf, "</svg>"), "svg element");
	CHECK(has(out_buf, "g_session_table"), "root in svg");
	/* xmllint is required (CI installs libxml2-utils) */
	CHECK(access("/usr/bin/xmllint", X_OK) == 0, "/usr/bin/xmllint is not installed");
	char cmd[9000];
	snprintf(cmd, sizeof cmd, "/usr/bin/xmllint --noout '%s'", svg);
	CHECK(system(cmd) == 0, "xmllint");
}

/* A random graph (ret_gen "big:N"): with every group selected, every
 * reachable block is a target, and with all paths shown their blocks add up
 * to the targets. Also: DUMP may be the directory holding the dump. */
static void test_random_consistency(void)
{
	char sub[4200];
	path_in(sub, sizeof sub, "rand");
	CHECK(mkdir(sub, 0700) == 0, "mkdir");
	CHECK(ret_gen_write(sub, "dump-000007.lwd", "big:3000") == 0, "gen big");
	const char *a[] = { sub, "--site", ".", "-n", "1000000", "--json", NULL };
	int st = run(a);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	long long reach = json_int(out_buf, NULL, "reachable_blocks");
	long long targets = json_int(out_buf, NULL, "target_blocks");
	CHECK(reach > 0 && reach == targets, "reachable %lld targets %lld", reach, targets);
	long long sum = 0;
	const char *p = strstr(out_buf, "\"paths\"");
	const char *end = p ? strstr(p, "\"nodes\"") : NULL;
	while (p && end) {
		p = strstr(p, "\"rank\": ");
		if (!p || p > end)
			break;
		sum += json_int(out_buf, p, "blocks");
		p++;
	}
	CHECK(sum == targets, "path blocks %lld vs targets %lld", sum, targets);
	char dot[4200];
	path_in(dot, sizeof dot, "rand.dot");
	const char *b[] = { sub, "-o", dot, NULL };
	CHECK(run(b) == 0, "random dot: %s", err_buf);
}

/* `leakwatch top --retained` (cmd_top.c + lw_heap_site_retained): rows
 * ranked by the retained size from the dump's graph. */
static void test_top_cli(const char *dump)
{
	subcommand = "top";
	char cache[4200];
	path_in(cache, sizeof cache, "cache-top");
	setenv("XDG_CACHE_HOME", cache, 1);
	const char *a[] = { dump, "--retained", "--json", NULL };
	int st = run(a);
	CHECK(st == 0, "top --retained exit %d: %s", st, err_buf);
	CHECK(has(out_buf, "\"sort\": \"retained\""), "sorted by retained");
	const char *rows = strstr(out_buf, "\"rows\"");
	CHECK(rows != NULL, "rows");
	if (rows) {
		const char *fn = strstr(rows, "\"function\": ");
		CHECK(fn && strncmp(fn + 12, "\"ret_make_session\"", 18) == 0, "first row");
		CHECK(json_int(out_buf, rows, "retained") == 8 * (256 + 1024 + 48), "retained");
	}
	const char *b[] = { dump, dump, "--retained", NULL };
	CHECK(run(b) == 2 && has(err_buf, "--retained"), "two paths: %s", err_buf);
	subcommand = "retainers";
}

static void test_errors(const char *dump, const char *snap)
{
	const char *a1[] = { snap, NULL };
	CHECK(run(a1) == 1 && has(err_buf, "leakwatch retainers: '") &&
	      has(err_buf, "not a heap dump"), "snapshot: %s", err_buf);
	const char *a2[] = { dump, "-o", "x.png", NULL };
	CHECK(run(a2) == 2 && has(err_buf, "x.png"), "bad -o: %s", err_buf);
	const char *a3[] = { dump, "--site", "(", NULL };
	CHECK(run(a3) == 2 && has(err_buf, "--site"), "bad regex: %s", err_buf);
	const char *a4[] = { dump, "--site", "no_such_function_xyz", NULL };
	CHECK(run(a4) == 1 && has(err_buf, "no site"), "no match: %s", err_buf);
	char missing[4200];
	path_in(missing, sizeof missing, "missing.lwd");
	const char *a5[] = { missing, NULL };
	CHECK(run(a5) == 1 && has(err_buf, "missing.lwd"), "missing file: %s", err_buf);
	const char *a6[] = { NULL };
	CHECK(run(a6) == 2, "no args");
	char nodir[4200];
	path_in(nodir, sizeof nodir, "no/such/dir/x.svg");
	const char *a8[] = { dump, "-o", nodir, NULL };
	CHECK(run(a8) == 1 && has(err_buf, "no/such/dir/x.svg"), "unwritable -o: %s", err_buf);
	char empty[4200];
	path_in(empty, sizeof empty, "empty");
	mkdir(empty, 0700);
	const char *a7[] = { empty, NULL };
	CHECK(run(a7) == 1 && has(err_buf, "no dump-*.lwd"), "empty dir: %s", err_buf);
}

/* Runs APP ARGS... under the shim with LEAKWATCH_DIR=dir/SUB; dump gets
 * the newest dump-*.lwd it wrote. Returns 0 if it exited 0 and dumped. */
static int run_app(const char *shim, const char *app, const char *sub,
		   const char *const *args, char *dump, size_t len)
{
	char out[4200], shim_abs[4096], app_abs[4096];
	snprintf(out, sizeof out, "%s/%s", dir, sub);
	/* LD_PRELOAD needs a path the loader finds from any directory */
	if (!realpath(shim, shim_abs) || !realpath(app, app_abs))
		return 1;
	shim = shim_abs;
	app = app_abs;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setenv("LEAKWATCH_DIR", out, 1);
		setenv("LEAKWATCH_RATE", "1", 1);
		setenv("LEAKWATCH_INTERVAL", "0", 1);
		setenv("LEAKWATCH_SIGNAL", "USR2", 1);
		setenv("LD_PRELOAD", shim, 1);
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, 1);     /* the app's truth lines: not ours to show */
		char *av[16];
		int n = 0;
		av[n++] = (char *)app;
		for (int i = 0; args && args[i] && n < 15; i++)
			av[n++] = (char *)args[i];
		av[n] = NULL;
		execv(app, av);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 1;
	DIR *d = opendir(out);
	if (!d)
		return 1;
	struct dirent *e;
	dump[0] = 0;
	char best[256] = "";
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "dump-", 5) == 0 && strstr(e->d_name, ".lwd") &&
		    strlen(e->d_name) < sizeof best && strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof best, "%s", e->d_name);
	if (best[0])
		snprintf(dump, len, "%s/%s", out, best);
	closedir(d);
	return dump[0] ? 0 : 1;
}

static int test_real(const char *shim, const char *app)
{
	char dump[8400];
	if (run_app(shim, app, "out", NULL, dump, sizeof dump) != 0) {
		fprintf(stderr, "FAIL: %s under the shim wrote no dump\n", app);
		failures++;
		return 1;
	}
	const char *a1[] = { dump, "--site", "ret_app_payload", "--json", NULL };
	int st = run(a1);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	CHECK(has(out_buf, "\"symbol\": \"g_sessions\""), "g_sessions not named: %.3000s", out_buf);
	CHECK(json_int(out_buf, NULL, "target_blocks") == 50, "payload targets %lld",
	      json_int(out_buf, NULL, "target_blocks"));
	const char *paths = strstr(out_buf, "\"paths\"");
	if (paths) {
		CHECK(json_int(out_buf, paths, "blocks") == 50, "all payloads on one path");
		const char *g = strstr(paths, "\"symbol\": ");
		static const char want[] = "\"symbol\": \"g_sessions\"";
		CHECK(g && strncmp(g, want, sizeof want - 1) == 0, "path root is g_sessions");
	}
	const char *a2[] = { dump, "--site", "ret_app_list_node", "--json", NULL };
	st = run(a2);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	CHECK(json_int(out_buf, NULL, "target_blocks") == 20, "list targets");
	paths = strstr(out_buf, "\"paths\"");
	if (paths)
		CHECK(strstr(paths, "\"root_kind\": \"stack\"") != NULL, "list held by a stack");
	const char *a3[] = { dump, "--site", "ret_app_dropped", "--json", NULL };
	st = run(a3);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	const char *sel = strstr(out_buf, "\"selected\"");
	if (sel) {
		CHECK(json_int(out_buf, sel, "reachable_blocks") == 0, "dropped reachable %lld",
		      json_int(out_buf, sel, "reachable_blocks"));
		CHECK(json_int(out_buf, sel, "definitely_lost_blocks") == 10, "dropped def lost %lld",
		      json_int(out_buf, sel, "definitely_lost_blocks"));
	}
	char svg[4200];
	path_in(svg, sizeof svg, "real.svg");
	const char *a4[] = { dump, "--site", "ret_app_payload", "-o", svg, NULL };
	CHECK(run(a4) == 0, "svg: %s", err_buf);
	slurp(svg, out_buf, sizeof out_buf);
	CHECK(has(out_buf, "g_sessions") && has(out_buf, "</svg>"), "real svg");
	return failures ? 1 : 0;
}

/* `top --retained`: the dump is loaded into the store like any input and
 * its blocks are grouped by the model's sites, so lw_heap_site_retained
 * finds every profile site by id; every site with a reachable block gets
 * its group's retained bytes, at least those blocks' bytes. */
static void test_top_retained(const char *dump)
{
	char err[1024];
	char *paths[1] = { (char *)dump };
	lw_db *db = NULL;
	lw_model *m = NULL;
	lw_profile prof;
	lw_proc_choice proc;
	if (lw_cmd_open_profile(paths, 1, -1, NULL, &db, &m, &proc, &prof) != 0) {
		CHECK(0, "open profile of %s", dump);
		return;
	}
	lw_heap *h = NULL;
	CHECK(lw_heap_open(m, dump, NULL, NULL, &h, err, sizeof err) == 0, "heap: %s", err);
	int seen = 0, reachable = 0;
	for (size_t i = 0; h && i < prof.n; i++) {
		const lw_site *st = &prof.sites[i];
		double r = lw_heap_site_retained(st, h);
		long g = lw_heap_find_site(h, st);
		if (g >= 0 && h->groups[g].n_reachable) {
			reachable++;
			CHECK(r == (double)h->groups[g].retained &&
			      r >= (double)h->groups[g].reachable_bytes,
			      "site %s: retained %.0f, group %llu", st->frames[0].function, r,
			      (unsigned long long)h->groups[g].retained);
		}
		const char *fn = st->n_frames ? st->frames[0].function : "";
		if (strcmp(fn, "ret_make_session") == 0) {
			CHECK(r == 8.0 * (256 + 1024 + 48), "session retained %.0f", r);
			seen++;
		} else if (strcmp(fn, "ret_make_payload") == 0) {
			CHECK(r == 8.0 * 1024, "payload retained %.0f", r);
			seen++;
		} else if (strcmp(fn, "ret_list_node") == 0) {
			CHECK(r == 5.0 * 64, "list retained %.0f", r);
			seen++;
		} else if (strcmp(fn, "ret_make_config") == 0) {
			CHECK(r == 128.0, "config retained %.0f", r);
			seen++;
		}
	}
	CHECK(seen == 4, "matched %d of 4 store sites", seen);
	CHECK(reachable >= 4, "%d sites with reachable blocks", reachable);
	/* every group of a site is a profile site */
	for (size_t g = 0; h && g < h->n_groups; g++)
		if (h->groups[g].kind == LW_HEAP_SITE)
			CHECK(lw_model_site(m, h->groups[g].site.id) != NULL, "group %zu's site", g);
	/* a site the dump does not have */
	lw_sym_frame fr = { "no_such_fn", "x.c", 1, "mod", 0, 0, 0 };
	lw_site none = { .id = -999, .n_frames = 1, .frames = &fr };
	CHECK(h && lw_heap_site_retained(&none, h) < 0, "unknown site");
	lw_heap_free(h);
	lw_cmd_close(db, m, &prof);
}

/* testapps/thread_leak: blocks leaked by threads that have exited stay in
 * the graph, held by the global list g_leaked (8 threads x 10 blocks). */
static int test_thread_leak(const char *shim, const char *app)
{
	char dump[8400];
	const char *args[] = { "--threads", "8", "--concurrency", "2", "--points", "--dump", NULL };
	if (run_app(shim, app, "tl", args, dump, sizeof dump) != 0) {
		fprintf(stderr, "FAIL: %s under the shim wrote no dump\n", app);
		failures++;
		return 1;
	}
	const char *a[] = { dump, "--site", "thread_leak_block", "--json", NULL };
	int st = run(a);
	CHECK(st == 0, "exit %d: %s", st, err_buf);
	CHECK(json_int(out_buf, NULL, "target_blocks") == 80, "exited threads' blocks %lld",
	      json_int(out_buf, NULL, "target_blocks"));
	const char *paths = strstr(out_buf, "\"paths\"");
	CHECK(paths && strstr(paths, "\"symbol\": \"g_leaked\""), "held by g_leaked: %.2000s",
	      out_buf);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_retainers LEAKWATCH_EXE|--inproc|--gen DIR\n");
		return 2;
	}
	if (strcmp(argv[1], "--gen") == 0 && argc >= 3) {
		/* --gen DIR [SHAPE]: e.g. big:2000000 for a timing run */
		if (argc == 4) {
			int r2 = ret_gen_write(argv[2], "dump.lwd", argv[3]);
			if (r2)
				fprintf(stderr, "gen: %s\n", strerror(-r2));
			return r2 ? 1 : 0;
		}
		int rc = ret_gen_write(argv[2], "dump.lwd", "basic");
		if (rc == 0)
			rc = ret_gen_write(argv[2], "snap.lwd", "snapshot");
		if (rc)
			fprintf(stderr, "gen: %s\n", strerror(-rc));
		return rc ? 1 : 0;
	}
	int real = strcmp(argv[1], "--app") == 0;
	if (real && argc != 5 && argc != 6) {
		fprintf(stderr, "usage: test_retainers --app LEAKWATCH_EXE SHIM APP [THREAD_LEAK]\n");
		return 2;
	}
	exe = real ? argv[2] : strcmp(argv[1], "--inproc") == 0 ? NULL : argv[1];
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self[sl] = 0;
	snprintf(self_name, sizeof self_name, "%s", strrchr(self, '/') ? strrchr(self, '/') + 1 : self);
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/lw-ret-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (real) {
		int st = test_real(argv[3], argv[4]);
		if (argc == 6)
			st |= test_thread_leak(argv[3], argv[5]);
		if (st)
			fprintf(stderr, "%d failures (files kept in %s)\n", failures, dir);
		else
			printf("ok\n");
		return st;
	}
	int rc = ret_gen_write(dir, "dump.lwd", "basic");
	if (rc == 0)
		rc = ret_gen_write(dir, "snap.lwd", "snapshot");
	if (rc) {
		fprintf(stderr, "cannot write synthetic dumps: %s\n", strerror(-rc));
		return 1;
	}
	char dump[4200], snap[4200];
	path_in(dump, sizeof dump, "dump.lwd");
	path_in(snap, sizeof snap, "snap.lwd");
	test_json_table(dump);
	test_text_default(dump);
	test_list_on_stack(dump);
	test_dot(dump);
	test_svg(dump);
	test_errors(dump, snap);
	test_random_consistency();
	test_top_cli(dump);
	if (!exe) {
		/* own cache dir: the store must not outlive the test */
		char cache[4200];
		path_in(cache, sizeof cache, "cache");
		setenv("XDG_CACHE_HOME", cache, 1);
		test_top_retained(dump);
	}
	if (failures) {
		fprintf(stderr, "%d failures (files kept in %s)\n", failures, dir);
		return 1;
	}
	char cmd[4200 + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "note: could not remove %s\n", dir);
	printf("ok\n");
	return 0;
}
