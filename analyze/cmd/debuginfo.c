/* cmd/debuginfo.c — the one line every command prints when the sites it
 * reads have modules without symbols or debug information (lw_model_nodebug):
 * which modules, and how to get what they lack: the Debian debug package,
 * a rebuild with -g for a module no package installed, or a debuginfod
 * server (DEBUGINFOD_URLS). Symbols are cached with the loaded files, so
 * the line also says to load them again afterwards.
 */
#include "args.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "strbuf.h"

/* Appends "a, b and c": the modules installed by a package (packaged) or
 * not, by their debug package name (debug_names) or their own. Returns how
 * many it listed. */
static size_t list_names(lw_strbuf *b, const lw_nodebug *v, size_t n, int packaged,
			 int debug_names)
{
	size_t k = 0, total = 0;
	for (size_t i = 0; i < n; i++)
		total += (v[i].package[0] != '\0') == packaged;
	for (size_t i = 0; i < n; i++) {
		if ((v[i].package[0] != '\0') != packaged)
			continue;
		if (k)
			lw_strbuf_str(b, k + 1 == total ? " and " : ", ");
		lw_strbuf_str(b, debug_names ? v[i].debug_package : v[i].module);
		k++;
	}
	return k;
}

void lw_cmd_debuginfo_hint(lw_model *m)
{
	static int printed;   /* once per command, also when it opens two inputs */
	const lw_nodebug *v;
	size_t n;
	if (printed || lw_model_nodebug(m, &v, &n) < 0 || n == 0)
		return;
	printed = 1;
	size_t with_pkg = 0;
	for (size_t i = 0; i < n; i++)
		with_pkg += v[i].package[0] != '\0';
	lw_strbuf b = { 0 };
	lw_strbuf_str(&b, "no symbols or debug info for ");
	for (size_t i = 0; i < n; i++) {
		lw_strbuf_str(&b, i == 0 ? "" : i + 1 == n ? " and " : ", ");
		lw_strbuf_str(&b, v[i].module);
	}
	lw_strbuf_str(&b, ": ");
	if (with_pkg) {
		lw_strbuf_str(&b, "install ");
		list_names(&b, v, n, 1, 1);
		lw_strbuf_str(&b, " (Debian's debug archive)");
	}
	if (with_pkg < n) {
		lw_strbuf_str(&b, with_pkg ? "; rebuild " : "rebuild ");
		list_names(&b, v, n, 0, 0);
		lw_strbuf_str(&b, " with -g");
	}
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (urls && *urls)
		lw_strbuf_str(&b, " (the DEBUGINFOD_URLS servers had none)");
	else if (access("/etc/debian_version", F_OK) == 0)
		lw_strbuf_str(&b, "; or set DEBUGINFOD_URLS=https://debuginfod.debian.net");
	else
		lw_strbuf_str(&b, "; or set DEBUGINFOD_URLS to a debuginfod server");
	lw_strbuf_fmt(&b, "; then load again (delete %s)", lw_model_db(m)->path);
	if (!b.err)
		lw_error("%s", lw_strbuf_cstr(&b));
	lw_strbuf_free(&b);
}
