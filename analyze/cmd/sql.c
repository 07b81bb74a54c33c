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

/* The query as one read-only statement, or NULL after the error (*status). */
static sqlite3_stmt *prepare(lw_db *db, const char *query, int *status)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	*status = 1;
	if (sqlite3_prepare_v2(db->h, query, -1, &st, &tail) != SQLITE_OK) {
		lw_error("'%s': %s", query, sqlite3_errmsg(db->h));
		return NULL;
	}
	if (!st) {
		lw_error("'%s': empty query", query);
		*status = 2;
		return NULL;
	}
	if (tail && !only_space(tail)) {
		lw_error("'%s': give one statement", query);
		*status = 2;
	} else if (!sqlite3_stmt_readonly(st)) {
		lw_error("'%s': only read-only queries are allowed", query);
	} else {
		*status = 0;
		return st;
	}
	sqlite3_finalize(st);
	return NULL;
}

/* One row: a JSON object keyed by column name, or table cells. */
static void put_row(sqlite3_stmt *st, int ncol, lw_json *j, lw_table *t)
{
	if (j)
		lw_json_obj_begin(j);
	for (int i = 0; i < ncol; i++) {
		int type = sqlite3_column_type(st, i);
		char *hex = type == SQLITE_BLOB ? blob_hex(sqlite3_column_blob(st, i),
							   sqlite3_column_bytes(st, i)) : NULL;
		const char *text = type == SQLITE_NULL ? (j ? NULL : "NULL")
				   : type == SQLITE_BLOB ? (hex ? hex : "")
				   : (const char *)sqlite3_column_text(st, i);
		if (!j) {
			lw_table_cell(t, text);
		} else {
			lw_json_key(j, sqlite3_column_name(st, i));
			if (type == SQLITE_INTEGER)
				lw_json_int(j, sqlite3_column_int64(st, i));
			else if (type == SQLITE_FLOAT)
				lw_json_num(j, sqlite3_column_double(st, i));
			else
				lw_json_str(j, text);   /* NULL writes null */
		}
		free(hex);
	}
	if (j)
		lw_json_obj_end(j);
}

/* Runs the statement and prints its rows. 0, or 1 after the error. */
static int print_rows(lw_db *db, sqlite3_stmt *st, const char *query, int json)
{
	int ncol = sqlite3_column_count(st);
	lw_json *j = json ? lw_json_new(stdout) : NULL;
	lw_table *t = json ? NULL : lw_table_new();
	if (j)
		lw_json_arr_begin(j);
	int rc, first = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; t && first && i < ncol; i++) {
			int type = sqlite3_column_type(st, i);
			lw_table_col(t, sqlite3_column_name(st, i),
				     type == SQLITE_INTEGER || type == SQLITE_FLOAT);
		}
		first = 0;
		put_row(st, ncol, j, t);
	}
	int status = rc == SQLITE_DONE ? 0 : 1;
	if (j) {
		lw_json_arr_end(j);
		lw_json_finish(j);
	}
	if (status)
		lw_error("'%s': %s", query, sqlite3_errmsg(db->h));
	if (t) {
		for (int i = 0; first && i < ncol; i++)   /* no rows: still name the columns */
			lw_table_col(t, sqlite3_column_name(st, i), 0);
		if (status == 0)
			lw_table_print(t, stdout, isatty(STDOUT_FILENO) ? lw_term_width() : 0);
		lw_table_free(t);
	}
	return status;
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
	int status;
	sqlite3_stmt *st = prepare(db, query, &status);
	if (st)
		status = print_rows(db, st, query, json);
	sqlite3_finalize(st);
	lw_db_close(db);
	return status;
}
