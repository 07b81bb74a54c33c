/* cmd/load.c — `leakwatch load DB PATH...`: imports .lwd files and
 * directories into a store (db.h), one transaction per file. Bad files are
 * reported one line each and skipped; the summary line counts them.
 * Exit: 0 all loaded or already present, 1 some file failed or the store
 * failed, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "errors.h"
#include "progress.h"

static void load_usage(FILE *out)
{
	fprintf(out, "usage: leakwatch load [-q] DB PATH...\n"
		     "  Imports .lwd files, or every .lwd file under directories, into the\n"
		     "  SQLite database DB (created if missing). Files already loaded are\n"
		     "  skipped. -q: no summary line.\n");
}

int lw_cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	lw_cmd_load_ui ui = { NULL, "loading" };
	int quiet = 0;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = 1; break;
		case 'h': load_usage(stdout); return 0;
		default:
			lw_error("'%s': unknown option", argv[optind - 1]);
			load_usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		lw_error("need a database and at least one PATH");
		load_usage(stderr);
		return 2;
	}
	const char *dbpath = argv[optind];
	size_t len = strlen(dbpath);
	if (len > 4 && strcmp(dbpath + len - 4, ".lwd") == 0) {
		lw_error("'%s': looks like a .lwd file; the database comes first", dbpath);
		return 2;
	}
	struct stat sb;
	if (stat(dbpath, &sb) == 0 && sb.st_size > 0 && !lw_db_is_database(dbpath)) {
		lw_error("'%s': exists and is not an SQLite database", dbpath);
		return 1;
	}
	lw_db *db;
	char err[1024];
	if (lw_db_open(dbpath, &db, err, sizeof(err)) < 0) {
		lw_error("'%s': %s", dbpath, err);
		return 1;
	}
	lw_load_stats st = { 0 };
	int rc = lw_db_load_paths(db, argv + optind + 1, (size_t)(argc - optind - 1),
				  lw_cmd_notice, lw_cmd_progress, &ui, &st, err, sizeof(err));
	lw_cmd_load_ui_done(&ui);
	lw_db_close(db);
	if (rc < 0) {
		lw_error("%s", err);
		return 1;
	}
	if (!quiet)
		printf("loaded %zu file%s (%zu skipped, %zu failed)\n", st.files_loaded,
		       st.files_loaded == 1 ? "" : "s", st.files_skipped, st.files_failed);
	return st.files_failed ? 1 : 0;
}
