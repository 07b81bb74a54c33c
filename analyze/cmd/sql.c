/* cmd/sql.c — `leakwatch sql [--json] DB QUERY`: runs one read-only query on
 * a store and prints an aligned table, or a JSON array of objects (one per
 * row, keyed by column name; integers and reals as numbers, text as strings,
 * blobs as hex strings, NULL as null). The database is opened read-only and
 * only statements SQLite classifies read-only are run, so a query cannot
 * modify it. Schema: docs/SCHEMA.md.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "db.h"
#include "errors.h"
#include "json.h"
#include "table.h"
#include "text.h"

static void sql_usage(FILE *out)
{
	fprintf(out, "usage: leakwatch sql [--json] DB QUERY\n"
		     "  Runs one read-only SQL query on a database made by `leakwatch load`\n"
		     "  (tables: docs/SCHEMA.md) and prints the rows.\n");
}

static char *blob_hex(const unsigned char *b, int n)
{
	char *s = malloc((size_t)n * 2 + 1);
	if (s)
		lw_hex(b, (size_t)n, s);
	return s;
}

static int only_space(const char *s)
{
	while (*s) {
		if (s[0] == '-' && s[1] == '-') {          /* trailing comment */
			while (*s && *s != '\n')
				s++;
			continue;
		}
		if (!isspace((unsigned char)*s) && *s != ';')
			return 0;
		s++;
	}
	return 1;
}

int lw_cmd_sql(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': sql_usage(stdout); return 0;
		default:
			lw_error("'%s': unknown option", argv[optind - 1]);
			sql_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		lw_error("need a database and one query");
		sql_usage(stderr);
		return 2;
	}
	const char *dbpath = argv[optind], *query = argv[optind + 1];
	if (access(dbpath, F_OK) != 0) {
		lw_error("'%s': no such file", dbpath);
		return 1;
	}
	lw_db *db;
	char err[512];
	if (lw_db_open_readonly(dbpath, &db, err, sizeof(err)) < 0) {
		lw_error("'%s': %s", dbpath, err);
		return 1;
	}
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	if (sqlite3_prepare_v2(db->h, query, -1, &st, &tail) != SQLITE_OK) {
		lw_error("'%s': %s", query, sqlite3_errmsg(db->h));
		lw_db_close(db);
		return 1;
	}
	if (!st) {
		lw_error("'%s': empty query", query);
		lw_db_close(db);
		return 2;
	}
	if (tail && !only_space(tail)) {
		lw_error("'%s': give one statement", query);
		sqlite3_finalize(st);
		lw_db_close(db);
		return 2;
	}
	if (!sqlite3_stmt_readonly(st)) {
		lw_error("'%s': only read-only queries are allowed", query);
		sqlite3_finalize(st);
		lw_db_close(db);
		return 1;
	}
	int ncol = sqlite3_column_count(st);
	lw_json *j = NULL;
	lw_table *t = NULL;
	if (json) {
		j = lw_json_new(stdout);
		lw_json_arr_begin(j);
	} else {
		t = lw_table_new();
	}
	int rc, first = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (t && first) {
			for (int i = 0; i < ncol; i++) {
				int type = sqlite3_column_type(st, i);
				lw_table_col(t, sqlite3_column_name(st, i),
					     type == SQLITE_INTEGER || type == SQLITE_FLOAT);
			}
		}
		first = 0;
		if (j)
			lw_json_obj_begin(j);
		for (int i = 0; i < ncol; i++) {
			int type = sqlite3_column_type(st, i);
			char *hex = NULL;
			if (type == SQLITE_BLOB)
				hex = blob_hex(sqlite3_column_blob(st, i), sqlite3_column_bytes(st, i));
			if (j) {
				lw_json_key(j, sqlite3_column_name(st, i));
				switch (type) {
				case SQLITE_INTEGER: lw_json_int(j, sqlite3_column_int64(st, i)); break;
				case SQLITE_FLOAT: lw_json_num(j, sqlite3_column_double(st, i)); break;
				case SQLITE_NULL: lw_json_null(j); break;
				case SQLITE_BLOB: lw_json_str(j, hex ? hex : ""); break;
				default: lw_json_str(j, (const char *)sqlite3_column_text(st, i)); break;
				}
			} else {
				const char *text;
				if (type == SQLITE_NULL)
					text = "NULL";
				else if (type == SQLITE_BLOB)
					text = hex ? hex : "";
				else
					text = (const char *)sqlite3_column_text(st, i);
				lw_table_cell(t, text);
			}
			free(hex);
		}
		if (j)
			lw_json_obj_end(j);
	}
	int status = 0;
	if (rc != SQLITE_DONE) {
		if (j) {
			lw_json_arr_end(j);
			lw_json_finish(j);
			j = NULL;
		}
		lw_error("'%s': %s", query, sqlite3_errmsg(db->h));
		status = 1;
	}
	if (j) {
		lw_json_arr_end(j);
		lw_json_finish(j);
	}
	if (t) {
		if (first) {   /* no rows: still name the columns */
			for (int i = 0; i < ncol; i++)
				lw_table_col(t, sqlite3_column_name(st, i), 0);
		}
		if (status == 0)
			lw_table_print(t, stdout, isatty(STDOUT_FILENO) ? lw_term_width() : 0);
		lw_table_free(t);
	}
	sqlite3_finalize(st);
	lw_db_close(db);
	return status;
}
