/* test_db.c — unit tests of analyze/store/db.c and analyze/model/model.c against a
 * naive reference: the .lwd files themselves, read with the dump/ reader.
 *
 *   - lw_db_open_inputs: the cache directory is created 0700 under
 *     $XDG_CACHE_HOME/leakwatch, the database 0600; opening the same inputs
 *     again reuses it; a symbolic link planted at the cache database's path
 *     is not followed (the victim file stays untouched);
 *   - lw_model_snapshots / lw_model_profile / lw_model_series: totals per
 *     snapshot equal the sums of the files' counters, series agree with
 *     profiles, every site has frames and raw pcs, mappings name the
 *     executable with its build-id; a missing snapshot is -ENOENT.
 *
 * Usage: test_db LWGEN
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "db.h"
#include "lwd.h"
#include "model.h"


static int close_to(double a, double b)
{
	return fabs(a - b) <= 1e-6 * (fabs(a) + fabs(b)) + 1e-6;
}

/* The only file in dir whose name starts with prefix (malloc'd), or NULL. */
static char *only_entry(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char *found = NULL;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    !strstr(e->d_name, "-wal") && !strstr(e->d_name, "-shm") &&
		    !strstr(e->d_name, "-load")) {
			free(found);
			found = malloc(strlen(dir) + strlen(e->d_name) + 2);
			sprintf(found, "%s/%s", dir, e->d_name);
		}
	closedir(d);
	return found;
}

static void test_model(lw_db *db, const char *run_dir)
{
	lw_snapshot_list snaps;
	lw_model *m = NULL;
	char merr[256];
	int rc = lw_model_open(db, NULL, &m, merr, sizeof(merr));
	CHECK(rc == 0, "model: %s", merr);
	if (rc != 0)
		return;
	rc = lw_model_snapshots(m, &snaps);
	CHECK(rc == 0 && snaps.n == 5, "rc %d, %zu snapshots", rc, snaps.n);
	if (rc != 0)
		return;
	double totals[5] = { 0 };
	for (size_t k = 0; k < snaps.n && k < 5; k++) {
		const lw_snapshot *s = &snaps.v[k];
		CHECK(s->seq == k, "order: seq %llu at %zu", (unsigned long long)s->seq, k);
		CHECK(close_to(s->t_s, 10.0 * (double)(k + 1)), "t_s %f", s->t_s);
		CHECK(s->kind == LWD_KIND_SNAPSHOT && s->pid == 4242, "kind/pid");
		CHECK(strstr(s->path, run_dir) != NULL, "path '%s'", s->path);

		/* reference: the file's own counters */
		lw_file *f = NULL;
		char err[256];
		CHECK(lw_file_open(s->path, &f, err, sizeof(err)) == 0, "%s", err);
		if (!f)
			continue;
		lw_values want = { 0 };
		for (size_t i = 0; i < f->n_counters; i++) {
			const lw_counter *c = &f->counters[i];
			want.alloc_bytes += c->alloc_bytes_est;
			want.alloc_objects += c->alloc_objects_est;
			want.inuse_bytes += c->alloc_bytes_est - c->free_bytes_est;
			want.inuse_objects += c->alloc_objects_est - c->free_objects_est;
		}

		lw_profile p;
		rc = lw_model_profile(m, s->id, &p);
		CHECK(rc == 0, "profile rc %d", rc);
		if (rc == 0) {
			CHECK(close_to(p.total.inuse_bytes, want.inuse_bytes), "inuse %f vs %f",
			      p.total.inuse_bytes, want.inuse_bytes);
			CHECK(close_to(p.total.alloc_bytes, want.alloc_bytes), "alloc bytes");
			CHECK(close_to(p.total.alloc_objects, want.alloc_objects), "alloc objects");
			CHECK(close_to(p.total.inuse_objects, want.inuse_objects), "inuse objects");
			CHECK(p.n > 0 && p.n <= f->n_stacks, "%zu sites for %zu stacks", p.n, f->n_stacks);
			lw_values sum = { 0 };
			for (size_t i = 0; i < p.n; i++) {
				const lw_site *site = &p.sites[i];
				CHECK(site->n_frames > 0 && site->frames[0].function &&
				      site->frames[0].file && site->frames[0].module, "site frames");
				CHECK(p.raw_depth[i] > 0 && p.raw_pcs[i], "raw pcs of site %zu", i);
				CHECK(p.values[i].inuse_bytes >= 0 && p.values[i].inuse_objects >= 0,
				      "negative inuse");
				sum.inuse_bytes += p.values[i].inuse_bytes;
			}
			CHECK(close_to(sum.inuse_bytes, p.total.inuse_bytes), "total is the sum");
			int exe_mapped = 0;
			for (size_t i = 0; i < p.n_mappings; i++)
				if (strcmp(p.mappings[i].path, f->process.exe) == 0 &&
				    p.mappings[i].build_id_hex[0] && p.mappings[i].end > p.mappings[i].start)
					exe_mapped = 1;
			CHECK(exe_mapped, "no executable mapping for '%s'", f->process.exe);
			CHECK(p.snap.id == s->id && p.snap.seq == s->seq, "profile snapshot");
			totals[k] = p.total.inuse_bytes;
			lw_profile_free(&p);
		}
		lw_file_free(f);
	}
	lw_profile none;
	CHECK(lw_model_profile(m, 999999, &none) == -ENOENT, "missing snapshot");

	lw_series_list sl;
	rc = lw_model_series(m, &sl);
	CHECK(rc == 0 && sl.n == 1, "series rc %d n %zu", rc, sl.n);
	if (rc == 0 && sl.n == 1) {
		const lw_series *s = &sl.v[0];
		CHECK(s->n_snaps == 5 && s->pid == 4242 && s->n_sites > 0, "series shape");
		for (size_t k = 0; k < s->n_snaps && k < 5; k++) {
			double sum = 0;
			for (size_t i = 0; i < s->n_sites; i++)
				sum += s->values[i * s->n_snaps + k].inuse_bytes;
			CHECK(close_to(sum, totals[k]), "series total at %zu: %f vs %f", k, sum, totals[k]);
			CHECK(s->snaps[k].seq == k, "series order");
		}
		/* lwgen: every 10th stack never frees, so its inuse grows */
		int growing = 0;
		for (size_t i = 0; i < s->n_sites; i++)
			if (s->values[i * s->n_snaps + 4].inuse_bytes >
			    s->values[i * s->n_snaps + 0].inuse_bytes * 4)
				growing++;
		CHECK(growing > 0, "no growing site");
		lw_series_list_free(&sl);
	}
	lw_snapshot_list_free(&snaps);
	lw_model_close(m);

	for (int t = 0; t < LW_N_SAMPLE_TYPES; t++)
		CHECK(lw_sample_type_parse(lw_sample_type_name((enum lw_sample_type)t)) == t, "type");
	CHECK(lw_sample_type_parse("bogus") == -1, "bogus type");
	lw_values v = { 1, 2, 3, 4 };
	CHECK(lw_values_get(&v, LW_INUSE_SPACE) == 4 && lw_values_get(&v, LW_ALLOC_OBJECTS) == 1,
	      "values_get");
}

/* The store's invariant walker accepts the loaded store and names a broken
 * reference (the broken row is removed again). */
static void test_walker(lw_db *db)
{
	char err[256];
	CHECK(lw_db_check(db, err, sizeof(err)) == 0, "walker: %s", err);
	CHECK(sqlite3_exec(db->h, "INSERT INTO counters SELECT snapshot_id, 999999, n_stacks,"
			   " alloc_samples, alloc_sample_bytes, free_samples, free_sample_bytes,"
			   " alloc_objects, alloc_bytes, free_objects, free_bytes FROM counters"
			   " LIMIT 1", NULL, NULL, NULL) == SQLITE_OK, "corrupt");
	CHECK(lw_db_check(db, err, sizeof(err)) == -EINVAL && strstr(err, "unknown sites"),
	      "walker catches a dangling site: %s", err);
	sqlite3_exec(db->h, "DELETE FROM counters WHERE site_id = 999999", NULL, NULL, NULL);
	CHECK(lw_db_check(db, err, sizeof(err)) == 0, "walker after repair: %s", err);
}

int main(int argc, char **argv)
{
	unsetenv("DEBUGINFOD_URLS");   /* hermetic: no network lookups */
	if (argc != 2) {
		fprintf(stderr, "usage: test_db LWGEN\n");
		return 2;
	}
	char tmpl[] = "/tmp/lw-test-db-XXXXXX";
	char *tmp = mkdtemp(tmpl);
	if (!tmp)
		return 1;
	char run_dir[512], cache[512], cmd[2048];
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	snprintf(cmd, sizeof(cmd), "'%s' --snapshots 5 --stacks 60 '%s'", argv[1], run_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "lwgen failed\n");
		return 1;
	}
	setenv("XDG_CACHE_HOME", cache, 1);
	mkdir(cache, 0700);

	char *inputs[] = { run_dir };
	lw_db *db = NULL;
	char err[512];
	int rc = lw_db_open_inputs(inputs, 1, NULL, NULL, NULL, &db, err, sizeof(err));
	CHECK(rc == 0, "open_inputs: %s", err);
	if (rc != 0)
		return 1;
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/leakwatch", cache);
	struct stat st;
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "cache dir mode %o", st.st_mode & 0777);
	char *dbfile = only_entry(dir, "inputs-");
	CHECK(dbfile != NULL, "no cache database in %s", dir);
	CHECK(dbfile && stat(dbfile, &st) == 0 && (st.st_mode & 0777) == 0600, "db mode %o",
	      st.st_mode & 0777);
	test_model(db, run_dir);
	test_walker(db);
	lw_db_close(db);

	/* Again: the same cache database, nothing new to load. */
	rc = lw_db_open_inputs(inputs, 1, NULL, NULL, NULL, &db, err, sizeof(err));
	CHECK(rc == 0 && db && dbfile && strcmp(db->path, dbfile) == 0, "reopen: %s", err);
	if (rc == 0) {
		lw_snapshot_list l;
		lw_model *m = NULL;
		CHECK(lw_model_open(db, NULL, &m, err, sizeof(err)) == 0, "model: %s", err);
		CHECK(m && lw_model_snapshots(m, &l) == 0 && l.n == 5, "still 5 snapshots");
		lw_snapshot_list_free(&l);
		lw_model_close(m);
		lw_db_close(db);
	}

	/* A link planted at the cache path is not followed. */
	if (dbfile) {
		char victim[600];
		snprintf(victim, sizeof(victim), "%s/victim", tmp);
		FILE *v = fopen(victim, "w");
		fputs("precious\n", v);
		fclose(v);
		unlink(dbfile);
		char side[700];
		snprintf(side, sizeof(side), "%s-wal", dbfile);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", dbfile);
		unlink(side);
		CHECK(symlink(victim, dbfile) == 0, "symlink");
		rc = lw_db_open_inputs(inputs, 1, NULL, NULL, NULL, &db, err, sizeof(err));
		CHECK(rc == 0, "open with a planted link: %s", err);
		if (rc == 0) {
			CHECK(strcmp(db->path, dbfile) != 0, "used the planted link");
			lw_db_close(db);
		}
		char buf[64] = { 0 };
		v = fopen(victim, "r");
		CHECK(v && fgets(buf, sizeof(buf), v) && strcmp(buf, "precious\n") == 0,
		      "victim modified");
		if (v)
			fclose(v);
	}

	/* Nothing loadable: a clear error naming the input. */
	char empty[600];
	snprintf(empty, sizeof(empty), "%s/empty", tmp);
	mkdir(empty, 0700);
	char *in2[] = { empty };
	rc = lw_db_open_inputs(in2, 1, NULL, NULL, NULL, &db, err, sizeof(err));
	CHECK(rc < 0 && strstr(err, "empty") && strstr(err, "no .lwd files"), "empty dir: %s", err);

	free(dbfile);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return check_finish();
}
