/* test_lw_env.c — the LEAKWATCH_* contract (dump/lw_env.h): every parser
 * against valid, invalid and overflowing input, the table-driven reader with
 * its fallback reports, and the output directory names both halves use.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lw_env.h"
#include "lwd_test.h"

static void test_size(void)
{
	uint64_t v = 7;
	CHECK(lw_env_parse_size("524288", &v) == 0 && v == 524288);
	CHECK(lw_env_parse_size("64K", &v) == 0 && v == 65536);
	CHECK(lw_env_parse_size("64k", &v) == 0 && v == 65536);
	CHECK(lw_env_parse_size("2MiB", &v) == 0 && v == 2u << 20);
	CHECK(lw_env_parse_size("1G", &v) == 0 && v == 1u << 30);
	CHECK(lw_env_parse_size("0", &v) == 0 && v == 0);
	CHECK(lw_env_parse_size("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	v = 7;
	const char *bad[] = { "", " 1", "1 ", "-1", "+1", "1.5", "12x", "K", "1KB", "1Ki",
			      "18446744073709551616", "17179869184G", "0x10" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(lw_env_parse_size(bad[i], &v) == -EINVAL && v == 7, "'%s'", bad[i]);
	CHECK(lw_env_parse_size(NULL, &v) == -EINVAL);
}

static void test_seconds(void)
{
	uint64_t ns = 7;
	CHECK(lw_env_parse_seconds("60", &ns) == 0 && ns == 60000000000ull);
	CHECK(lw_env_parse_seconds("0.25", &ns) == 0 && ns == 250000000ull);
	CHECK(lw_env_parse_seconds(".5", &ns) == 0 && ns == 500000000ull);
	CHECK(lw_env_parse_seconds("0", &ns) == 0 && ns == 0);
	CHECK(lw_env_parse_seconds("1.0000000019", &ns) == 0 && ns == 1000000001ull);
	ns = 7;
	const char *bad[] = { "", ".", "-1", "1e3", "inf", "1s", " 1", "100000001", "1,5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(lw_env_parse_seconds(bad[i], &ns) == -EINVAL && ns == 7, "'%s'", bad[i]);
}

static void test_signal(void)
{
	int s = -1;
	CHECK(lw_env_parse_signal("USR2", &s) == 0 && s == SIGUSR2);
	CHECK(lw_env_parse_signal("SIGUSR1", &s) == 0 && s == SIGUSR1);
	CHECK(lw_env_parse_signal("HUP", &s) == 0 && s == SIGHUP);
	CHECK(lw_env_parse_signal("12", &s) == 0 && s == 12);
	CHECK(lw_env_parse_signal("RTMIN", &s) == 0 && s == SIGRTMIN);
	CHECK(lw_env_parse_signal("SIGRTMIN+2", &s) == 0 && s == SIGRTMIN + 2);
	CHECK(lw_env_parse_signal("none", &s) == 0 && s == 0);
	CHECK(lw_env_parse_signal("NONE", &s) == 0 && s == 0);
	CHECK(lw_env_parse_signal("0", &s) == 0 && s == 0);
	s = -1;
	/* KILL/STOP cannot be caught; a returning handler of a synchronous
	 * fault re-runs the faulting instruction forever */
	const char *bad[] = { "KILL", "SIGSTOP", "9", "19", "SEGV", "11", "BUS", "7", "FPE", "8",
			      "ILL", "4", "TRAP", "5", "65", "1000", "usr2", "USR2 ", "", "12x",
			      "RTMIN+99", "RTMIN+", "SIG" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(lw_env_parse_signal(bad[i], &s) == -EINVAL && s == -1, "'%s'", bad[i]);
}

/* A fake environment and a recorder of the values the reader rejected. */
static const char *const *fake_env;
static char rejected[512];

static const char *fake_get(const char *name, void *arg)
{
	(void)arg;
	size_t n = strlen(name);
	for (const char *const *e = fake_env; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static void fake_bad(const struct lw_env_var *v, const char *value, void *arg)
{
	(void)arg;
	size_t n = strlen(rejected);
	snprintf(rejected + n, sizeof(rejected) - n, "%s=%s (%s; %s);", v->name, value, v->expect,
		 v->fallback);
}

static void test_read(void)
{
	struct lw_env e;
	static const char *const none[] = { NULL };
	fake_env = none;
	rejected[0] = '\0';
	lw_env_read(&e, fake_get, fake_bad, NULL);
	CHECK(e.dir == NULL && e.rate == LW_ENV_DEFAULT_RATE &&
	      e.interval_ns == LW_ENV_DEFAULT_INTERVAL_NS && e.signo == SIGUSR2);
	CHECK(rejected[0] == '\0');

	static const char *const good[] = { "LEAKWATCH_DIR=out", "LEAKWATCH_RATE=1",
					    "LEAKWATCH_INTERVAL=0.5", "LEAKWATCH_SIGNAL=none",
					    "LEAKWATCH_RATEX=3", NULL };
	fake_env = good;
	lw_env_read(&e, fake_get, fake_bad, NULL);
	CHECK(e.dir != NULL && strcmp(e.dir, "out") == 0);
	CHECK(e.rate == 1 && e.interval_ns == 500000000ull && e.signo == 0);
	CHECK(rejected[0] == '\0');

	static const char *const zero_rate[] = { "LEAKWATCH_RATE=0", "LEAKWATCH_DIR=", NULL };
	fake_env = zero_rate;
	lw_env_read(&e, fake_get, fake_bad, NULL);
	CHECK(e.rate == 1 && e.dir == NULL);   /* 0 = every allocation; empty = unset */

	static const char *const bad[] = { "LEAKWATCH_RATE=lots", "LEAKWATCH_INTERVAL=-1",
					   "LEAKWATCH_SIGNAL=KILL", NULL };
	fake_env = bad;
	lw_env_read(&e, fake_get, fake_bad, NULL);
	CHECK(e.rate == LW_ENV_DEFAULT_RATE && e.interval_ns == LW_ENV_DEFAULT_INTERVAL_NS &&
	      e.signo == SIGUSR2);
	CHECK(strstr(rejected, "LEAKWATCH_RATE=lots (a number of bytes") != NULL &&
	       strstr(rejected, "; 524288);") != NULL &&
	       strstr(rejected, "LEAKWATCH_INTERVAL=-1 (a number of seconds; 60);") != NULL &&
	       strstr(rejected, "LEAKWATCH_SIGNAL=KILL (") != NULL && strstr(rejected, "; USR2);"),
	       "rejected: %s", rejected);

	static const char *const family[] = {
		"LEAKWATCH_CHILDREN=none", "LEAKWATCH_PARENT=00000000000000ff:/w/make.7", NULL };
	fake_env = family;
	rejected[0] = '\0';
	lw_env_read(&e, fake_get, fake_bad, NULL);
	CHECK(e.children == LW_CHILDREN_NONE && e.parent_run_id == 255 && e.parent_dir != NULL &&
	      strcmp(e.parent_dir, "/w/make.7") == 0 && rejected[0] == '\0');
	static const char *const bad_family[] = {
		"LEAKWATCH_CHILDREN=some", "LEAKWATCH_PARENT=ff:/w", NULL };
	fake_env = bad_family;
	lw_env_read(&e, fake_get, fake_bad, NULL);
	CHECK(e.children == LW_CHILDREN_ALL && e.parent_dir == NULL && e.parent_run_id == 0);
	CHECK(strstr(rejected, "LEAKWATCH_CHILDREN=some (all or none; all);") != NULL &&
	       strstr(rejected, "LEAKWATCH_PARENT=ff:/w (") != NULL, "rejected: %s", rejected);
	const char *bad_parents[] = { "00000000000000FF:/w", "00000000000000ff:w",
				      "00000000000000ff/w", "00000000000000f:/w", "" };
	for (size_t i = 0; i < sizeof(bad_parents) / sizeof(bad_parents[0]); i++) {
		int okp;
		lw_env_check(LW_ENV_PARENT, bad_parents[i], &okp);
		CHECK(!okp, "LEAKWATCH_PARENT '%s' accepted", bad_parents[i]);
	}

	int ok = -1;
	CHECK(lw_env_check(LW_ENV_RATE, "64K", &ok) != NULL && ok == 1);
	CHECK(lw_env_check(LW_ENV_RATE, "64Q", &ok) != NULL && ok == 0);
	CHECK(lw_env_check(LW_ENV_SIGNAL, "KILL", &ok) != NULL && ok == 0);
	CHECK(lw_env_check(LW_ENV_INTERVAL, "", &ok) != NULL && ok == 0);
	CHECK(lw_env_check("LEAKWATCH_NOPE", "1", &ok) == NULL && ok == 0);
}

/* lw_env_outdir with only LEAKWATCH_DIR set (NULL: unset) */
static int outdir(char *buf, size_t cap, const char *cwd, const char *dir, const char *exe,
		  uint64_t pid)
{
	struct lw_env e;
	lw_env_defaults(&e);
	e.dir = dir;
	return lw_env_outdir(buf, cap, cwd, &e, exe, pid);
}

static void test_names(void)
{
	char buf[64];
	CHECK(strcmp(lw_env_exe_base("/usr/bin/python3"), "python3") == 0);
	CHECK(strcmp(lw_env_exe_base("sh"), "sh") == 0);
	CHECK(strcmp(lw_env_exe_base("/usr/bin/"), "unknown") == 0);
	CHECK(strcmp(lw_env_exe_base(""), "unknown") == 0);
	CHECK(strcmp(lw_env_exe_base(NULL), "unknown") == 0);

	CHECK(lw_env_leaf(buf, sizeof(buf), "/bin/ls", 42) == 5 && strcmp(buf, "ls.42") == 0);
	CHECK(lw_env_leaf(buf, sizeof(buf), NULL, 0) == 9 && strcmp(buf, "unknown.0") == 0);
	CHECK(lw_env_leaf(buf, 5, "/bin/ls", 42) == -ENAMETOOLONG && strlen(buf) < 5);

	CHECK(outdir(buf, sizeof(buf), "/w", NULL, "/usr/bin/ls", 7) > 0 &&
	      strcmp(buf, "/w/leakwatch.ls.7") == 0);
	CHECK(outdir(buf, sizeof(buf), "/", "", "ls", 7) > 0 &&
	      strcmp(buf, "/leakwatch.ls.7") == 0);
	CHECK(outdir(buf, sizeof(buf), "/w", "out/x", "ls", 7) > 0 &&
	      strcmp(buf, "/w/out/x") == 0);
	CHECK(outdir(buf, sizeof(buf), NULL, "/abs", "ls", 7) > 0 &&
	      strcmp(buf, "/abs") == 0);
	CHECK(outdir(buf, sizeof(buf), NULL, "rel", "ls", 7) == -EINVAL);
	CHECK(outdir(buf, sizeof(buf), "relative", NULL, "ls", 7) == -EINVAL);
	char longdir[200];
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	CHECK(outdir(buf, sizeof(buf), "/w", longdir, "ls", 7) == -ENAMETOOLONG);
	CHECK(outdir(buf, sizeof(buf), longdir, NULL, "ls", 7) == -ENAMETOOLONG &&
	      strlen(buf) < sizeof(buf));

	/* a program started by a watched process nests in the directory it was
	 * given, whatever LEAKWATCH_DIR says */
	struct lw_env e;
	lw_env_defaults(&e);
	e.dir = "/elsewhere";
	e.parent_dir = "/w/out";
	e.parent_run_id = 0x1234;
	CHECK(lw_env_outdir(buf, sizeof(buf), "/cwd", &e, "/usr/bin/gcc", 99) > 0 &&
	      strcmp(buf, "/w/out/gcc.99") == 0);
	char entry[128];
	CHECK(lw_env_parent_entry(entry, sizeof(entry), 0x1234, "/w/out") > 0 &&
	      strcmp(entry, "LEAKWATCH_PARENT=0000000000001234:/w/out") == 0);
	/* what the shim writes, the shim reads back */
	struct lw_env back;
	lw_env_defaults(&back);
	int okb;
	const struct lw_env_var *v = lw_env_check(LW_ENV_PARENT, entry + strlen(LW_ENV_PARENT) + 1, &okb);
	CHECK(v != NULL && okb && v->parse(entry + strlen(LW_ENV_PARENT) + 1, &back) == 0 &&
	      back.parent_run_id == 0x1234 && strcmp(back.parent_dir, "/w/out") == 0);
	CHECK(lw_env_parent_entry(entry, 20, 1, "/w/out") == -ENAMETOOLONG);
}

int main(void)
{
	test_size();
	test_seconds();
	test_signal();
	test_read();
	test_names();
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("lw_env: all checks passed\n");
	return 0;
}
