/* symbols.c — offline symbolization of recorded pcs with elfutils libdwfl.
 *
 * Role: turn (module map of one .lwd file, raw pc) into an inline chain of
 * (function, file, line, module) frames, innermost first.
 *
 * How a session is built (lw_sym_session_new):
 *   - every module with an absolute path is opened; its GNU build-id is
 *     compared with the one the shim recorded. A missing file, an unreadable
 *     ELF, or a different build-id is written once to the problem list and the
 *     module is *not* reported to libdwfl: its pcs resolve to "??" with the
 *     module's name, never to a wrong symbol. When the shim recorded no
 *     build-id (it could not read the note) the file is trusted as is.
 *   - a good module is reported with dwfl_report_elf(base = load_bias,
 *     add_p_vaddr = true): for ET_DYN that places file vaddr v at runtime
 *     address v + load_bias, exactly the recorded relation; for ET_EXEC
 *     libdwfl ignores the base (bias 0, which is what the loader used).
 *   - separate debug info is found by dwfl_standard_find_debuginfo:
 *     .gnu_debuglink, /usr/lib/debug/.build-id and, when DEBUGINFOD_URLS is
 *     set, the debuginfod client that libdwfl loads on its own;
 *   - a module whose file is missing or differs but whose build-id was
 *     recorded is looked up by build-id instead (dwfl_build_id_find_elf:
 *     .build-id directories, then debuginfod); a file found that way is used
 *     only if libdwfl places it at the recorded load bias. Either outcome is
 *     written to the problem list. LEAKWATCH_DEBUGINFO_PATH replaces the
 *     search path (libdwfl's syntax, default ":.debug:/usr/lib/debug").
 *
 * Resolution (lw_sym_resolve): the CU containing the pc, the DWARF scopes
 * containing it (dwarf_getscopes, then dwarf_getscopes_die for the lexical
 * nesting), and for each DW_TAG_inlined_subroutine its DW_AT_call_file /
 * DW_AT_call_line, which is the location inside the next outer frame. The
 * innermost location comes from the line table. Without DWARF the ELF symbol
 * table names the function. C++ names are demangled with __cxa_demangle and
 * shown without their parameter lists ("ns::Class::method"); inlined C++
 * functions without a linkage name get their namespaces and classes from the
 * DWARF tree.
 *
 * Invariants: every string handed out is interned in the session and lives
 * until lw_sym_session_free; results are memoized per (pc, is_return_address).
 * Not thread-safe: one session per thread. Hot path: lw_sym_resolve hits the
 * memo table for every repeated pc.
 */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "datafield.h"
#include "hashmap.h"
#include "text.h"

/* From libstdc++'s <cxxabi.h>; declared here so this file stays C. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

#define LW_SYM_MAX_CHAIN 32   /* inline depth we keep per pc */

typedef struct sym_module {
	uint64_t start, end, load_bias;
	const char *path;          /* interned */
	const char *name;          /* interned basename */
	const char *build_id_hex;  /* interned */
	int good;                  /* 1: reported to libdwfl with a verified file */
	const char *why;           /* why the file at path was not usable */
	/* CU address index, built on first need (see find_cu) */
	int cus_built;
	/* global variables by address (datafield.h), built on first need */
	int dvars_built;
	lw_df_index *dvars;
	struct cu_range { Dwarf_Addr lo, hi; Dwarf_Off off; } *cus;
	size_t n_cus;
} sym_module;


struct lw_sym_session {
	Dwfl *dwfl;
	char *debuginfo_path;
	Dwfl_Callbacks cb;
	sym_module *mods;          /* sorted by start */
	size_t n_mods;
	lw_map strings;            /* interned strings (byte keys) */
	/* memo: pc << 1 | is_return_address → first << 32 | count, a slice
	 * of results */
	lw_map memo;
	lw_sym_result *results;
	size_t results_n, results_cap;
	/* qualified names per declaring DIE: (cu, offset) → interned name */
	lw_map qnames;
	/* problems */
	char **problems;
	size_t n_problems;
};

/* ---- small helpers ------------------------------------------------------ */

/* The session's copy of str (NULL → ""); a static fallback when memory is
 * exhausted, so callers never see NULL. */
static const char *intern(lw_sym_session *s, const char *str)
{
	const char *r = lw_map_intern(&s->strings, str);
	return r ? r : "??";
}

static void add_problem(lw_sym_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add_problem(lw_sym_session *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char **n = realloc(s->problems, (s->n_problems + 1) * sizeof(*n));
	if (!n)
		return;
	s->problems = n;
	char *line = strdup(buf);
	if (!line)
		return;
	s->problems[s->n_problems++] = line;
}

static int cmp_mod(const void *a, const void *b)
{
	const sym_module *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static sym_module *find_module(const lw_sym_session *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n_mods;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->mods[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo = first module with start > addr; candidates before it (modules
	 * may nest in odd maps: scan back a little). */
	for (size_t i = lo; i > 0 && i + 8 > lo; i--) {
		sym_module *m = &s->mods[i - 1];
		if (addr >= m->start && addr < m->end)
			return m;
	}
	return NULL;
}

/* ---- session ------------------------------------------------------------ */

/* Opens path and checks its build-id; returns an fd to hand to libdwfl, or
 * -1 with the reason in why. */
static int open_checked(const lw_module *m, char *why, size_t whylen)
{
	/* The path comes from an untrusted file: never block on a FIFO or a
	 * device, only read regular files. */
	int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -1;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(why, whylen, "not an ELF file");
		if (elf)
			elf_end(elf);
		close(fd);
		return -1;
	}
	const void *id = NULL;
	ssize_t idlen = dwelf_elf_gnu_build_id(elf, &id);
	int ok = 1;
	if (m->build_id_len > 0) {
		if (idlen <= 0) {
			snprintf(why, whylen, "file has no build-id but one was recorded");
			ok = 0;
		} else if ((size_t)idlen != m->build_id_len ||
			   memcmp(id, m->build_id, m->build_id_len) != 0) {
			char want[2 * LWD_MAX_BUILD_ID + 1], have[2 * LWD_MAX_BUILD_ID + 1];
			lw_hex(m->build_id, m->build_id_len, want);
			size_t hl = (size_t)idlen > LWD_MAX_BUILD_ID ? LWD_MAX_BUILD_ID : (size_t)idlen;
			lw_hex(id, hl, have);
			snprintf(why, whylen, "build-id mismatch (recorded %s, file has %s)", want, have);
			ok = 0;
		}
	}
	elf_end(elf);
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

lw_sym_session *lw_sym_session_new(const lw_file *f)
{
	lw_sym_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	lw_map_init(&s->strings, 1);
	lw_map_init(&s->qnames, 1);
	lw_map_init(&s->memo, 0);
	elf_version(EV_CURRENT);
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.section_address = dwfl_offline_section_address;
	/* LEAKWATCH_DEBUGINFO_PATH overrides libdwfl's search path for
	 * separate debug files and .build-id directories (its syntax). */
	const char *dpath = getenv("LEAKWATCH_DEBUGINFO_PATH");
	if (dpath && *dpath)
		s->debuginfo_path = strdup(dpath);
	s->cb.debuginfo_path = &s->debuginfo_path;
	s->dwfl = dwfl_begin(&s->cb);
	if (!s->dwfl) {
		free(s);
		return NULL;
	}
	s->mods = calloc(f->n_modules ? f->n_modules : 1, sizeof(*s->mods));
	if (!s->mods) {
		lw_sym_session_free(s);
		return NULL;
	}
	dwfl_report_begin(s->dwfl);
	for (size_t i = 0; i < f->n_modules; i++) {
		const lw_module *m = &f->modules[i];
		sym_module *sm = &s->mods[s->n_mods];
		char hex[2 * LWD_MAX_BUILD_ID + 1];
		uint32_t bl = m->build_id_len > LWD_MAX_BUILD_ID ? LWD_MAX_BUILD_ID : m->build_id_len;
		lw_hex(m->build_id, bl, hex);
		if (m->end <= m->start)
			continue;
		sm->start = m->start;
		sm->end = m->end;
		sm->load_bias = m->load_bias;
		sm->path = intern(s, m->path[0] ? m->path : "??");
		sm->name = intern(s, lw_base_name(sm->path));
		sm->build_id_hex = intern(s, hex);
		sm->good = 0;
		s->n_mods++;
		if (m->path[0] != '/')
			continue;   /* [vdso] and friends: nothing on disk */
		char why[400];
		int fd = open_checked(m, why, sizeof(why));
		if (fd < 0) {
			/* Not usable at its path: let libdwfl look the file up by
			 * build-id (.build-id directories, then debuginfod when
			 * DEBUGINFOD_URLS is set); decided after reporting ends. */
			Dwfl_Module *dm = NULL;
			if (m->build_id_len > 0)
				dm = dwfl_report_module(s->dwfl, sm->name, m->start, m->end);
			if (dm && dwfl_module_report_build_id(dm, m->build_id, m->build_id_len, 0) == 0) {
				sm->good = -1;   /* pending */
				sm->why = intern(s, why);
			} else {
				add_problem(s, "%s: %s; not symbolizing it", m->path, why);
			}
			continue;
		}
		Dwfl_Module *dm = dwfl_report_elf(s->dwfl, sm->name, m->path, fd,
						  m->load_bias, true);
		if (!dm) {
			add_problem(s, "%s: libdwfl refused it: %s", m->path,
				    dwfl_errmsg(-1));
			close(fd);
			continue;
		}
		sm->good = 1;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	for (size_t i = 0; i < s->n_mods; i++) {
		sym_module *sm = &s->mods[i];
		if (sm->good != -1)
			continue;
		sm->good = 0;
		Dwfl_Module *dm = dwfl_addrmodule(s->dwfl, sm->start);
		Dwarf_Addr bias = 0;
		Elf *elf = dm ? dwfl_module_getelf(dm, &bias) : NULL;
		const char *found = NULL;
		if (dm)
			dwfl_module_info(dm, NULL, NULL, NULL, NULL, NULL, &found, NULL);
		if (!elf) {
			add_problem(s, "%s: %s; not found by build-id either; not symbolizing it",
				    sm->path, sm->why);
		} else if (bias != sm->load_bias) {
			/* the file found has another layout than the one mapped */
			add_problem(s, "%s: %s; the file found by build-id does not match the "
				    "recorded layout; not symbolizing it", sm->path, sm->why);
		} else {
			add_problem(s, "%s: %s; using %s, found by build-id", sm->path, sm->why,
				    found ? found : "a file");
			sm->good = 1;
		}
	}
	if (s->n_mods > 1)
		qsort(s->mods, s->n_mods, sizeof(*s->mods), cmp_mod);
	return s;
}

void lw_sym_session_free(lw_sym_session *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s->debuginfo_path);
	lw_map_free(&s->strings);
	for (size_t i = 0; i < s->n_problems; i++)
		free(s->problems[i]);
	free(s->problems);
	for (size_t i = 0; i < s->n_mods; i++) {
		free(s->mods[i].cus);
		lw_df_index_free(s->mods[i].dvars);
	}
	free(s->mods);
	lw_map_free(&s->qnames);
	lw_map_free(&s->memo);
	free(s->results);
	free(s);
}

size_t lw_sym_problems(const lw_sym_session *s, const char *const **lines)
{
	*lines = (const char *const *)s->problems;
	return s->n_problems;
}

/* ---- resolution --------------------------------------------------------- */

typedef struct qname_key {
	void *cu;
	uint64_t off;
} qname_key;

static const char *qname_get(const lw_sym_session *s, void *cu, uint64_t off)
{
	qname_key k = { cu, off };
	const uint64_t *v = lw_map_find(&s->qnames, &k, sizeof(k));
	return v ? (const char *)(uintptr_t)*v : NULL;
}

static void qname_put(lw_sym_session *s, void *cu, uint64_t off, const char *name)
{
	qname_key k = { cu, off };
	uint64_t *v = lw_map_put(&s->qnames, &k, sizeof(k), NULL, NULL);
	if (v)
		*v = (uint64_t)(uintptr_t)name;
}

/* Cuts the parameter list (and trailing qualifiers) off a demangled C++
 * name: "ns::C::f(int) const" → "ns::C::f", "X::operator()(int)" →
 * "X::operator()". Inline frames carry no parameter list in DWARF, so names
 * are kept without one everywhere, as pprof shows them. In place. */
static void strip_params(char *name)
{
	static const char *const quals[] = { " const", " volatile", " &&", " &", " noexcept" };
	size_t n = strlen(name);
	for (int again = 1; again;) {
		again = 0;
		for (size_t i = 0; i < sizeof(quals) / sizeof(quals[0]); i++) {
			size_t q = strlen(quals[i]);
			if (n > q && strcmp(name + n - q, quals[i]) == 0) {
				n -= q;
				name[n] = '\0';
				again = 1;
			}
		}
	}
	if (n == 0 || name[n - 1] != ')')
		return;
	int depth = 0;
	for (size_t i = n; i > 0; i--) {
		char c = name[i - 1];
		if (c == ')')
			depth++;
		else if (c == '(' && --depth == 0) {
			if (i - 1 > 0)
				name[i - 1] = '\0';
			return;
		}
	}
}

static const char *demangled_short(lw_sym_session *s, const char *name)
{
	if (!name || !*name)
		return NULL;
	if (name[0] == '_' && name[1] == 'Z') {
		int status = 0;
		char *d = __cxa_demangle(name, NULL, NULL, &status);
		if (d && status == 0) {
			strip_params(d);
			const char *r = intern(s, d);
			free(d);
			return r;
		}
		free(d);
	}
	return intern(s, name);
}

/* Follows DW_AT_abstract_origin / DW_AT_specification to the DIE that
 * declares the function (whose parents are its namespaces and classes). */
static void decl_die(Dwarf_Die *die, Dwarf_Die *out)
{
	*out = *die;
	for (int hop = 0; hop < 8; hop++) {
		Dwarf_Attribute attr;
		Dwarf_Die next;
		if ((dwarf_attr(out, DW_AT_abstract_origin, &attr) ||
		     dwarf_attr(out, DW_AT_specification, &attr)) &&
		    dwarf_formref_die(&attr, &next))
			*out = next;
		else
			return;
	}
}

static const char *qualified_name(lw_sym_session *s, Dwarf_Die *die, const char *name)
{
	Dwarf_Die decl;
	decl_die(die, &decl);
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes_die(&decl, &scopes);
	char buf[2048];
	size_t len = 0;
	buf[0] = '\0';
	for (int i = n - 1; i >= 1; i--) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_namespace && tag != DW_TAG_class_type &&
		    tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
			continue;
		const char *part = dwarf_diename(&scopes[i]);
		if (!part)
			part = tag == DW_TAG_namespace ? "(anonymous namespace)" : "(anonymous)";
		int w = snprintf(buf + len, sizeof(buf) - len, "%s::", part);
		if (w < 0 || (size_t)w >= sizeof(buf) - len)
			break;
		len += (size_t)w;
	}
	free(scopes);
	if (len == 0)
		return intern(s, name);
	snprintf(buf + len, sizeof(buf) - len, "%s", name);
	return intern(s, buf);
}

/* Name of a subprogram or inlined instance: the demangled linkage name when
 * DWARF has one; else DW_AT_name qualified with its enclosing namespaces and
 * classes (GCC omits linkage names of functions that only exist inlined).
 * Memoized per declaring DIE. */
static const char *die_function_name(lw_sym_session *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		name = dwarf_formstring(&attr);
	if (name)
		return demangled_short(s, name);
	name = dwarf_diename(die);
	if (!name)
		return NULL;
	Dwarf_Die cu;
	int lang = dwarf_diecu(die, &cu, NULL, NULL) ? dwarf_srclang(&cu) : -1;
	if (lang != DW_LANG_C_plus_plus && lang != DW_LANG_C_plus_plus_03 &&
	    lang != DW_LANG_C_plus_plus_11 && lang != DW_LANG_C_plus_plus_14)
		return intern(s, name);
	Dwarf_Die decl;
	decl_die(die, &decl);
	const char *hit = qname_get(s, decl.cu, dwarf_dieoffset(&decl));
	if (hit)
		return hit;
	const char *q = qualified_name(s, die, name);
	qname_put(s, decl.cu, dwarf_dieoffset(&decl), q);
	return q;
}

static int is_function_tag(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

typedef struct chain {
	lw_sym_result r[LW_SYM_MAX_CHAIN];
	size_t n;
} chain;

static void chain_push(chain *c, const lw_sym_result *r)
{
	if (c->n < LW_SYM_MAX_CHAIN)
		c->r[c->n++] = *r;
}

static int cmp_cu(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The CU containing addr. libdwfl's lookup (dwfl_module_addrdie) relies on
 * .debug_aranges in elfutils 0.188, and clang 14 does not emit them by
 * default (eu-addr2line fails the same way on such binaries), so when it
 * finds nothing we search our own index of every CU's address ranges. */
static int find_cu(sym_module *sm, Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Die *out,
		   Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);
	if (cu) {
		*out = *cu;
		return 0;
	}
	Dwarf *dw = dwfl_module_getdwarf(mod, bias);
	if (!dw)
		return -1;
	if (!sm->cus_built) {
		sm->cus_built = 1;
		size_t cap = 0;
		Dwarf_CU *unit = NULL, *next = NULL;
		Dwarf_Die cudie;
		uint8_t type;
		while (dwarf_get_units(dw, unit, &next, NULL, &type, &cudie, NULL) == 0) {
			unit = next;
			if (type != DW_UT_compile && type != DW_UT_partial)
				continue;
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
				if (hi <= lo)
					continue;
				if (sm->n_cus == cap) {
					size_t ncap = cap ? cap * 2 : 64;
					struct cu_range *n = realloc(sm->cus, ncap * sizeof(*n));
					if (!n)
						break;
					sm->cus = n;
					cap = ncap;
				}
				sm->cus[sm->n_cus++] = (struct cu_range){ lo, hi, dwarf_dieoffset(&cudie) };
			}
		}
		if (sm->n_cus > 1)
			qsort(sm->cus, sm->n_cus, sizeof(*sm->cus), cmp_cu);
	}
	Dwarf_Addr a = addr - *bias;
	size_t lo = 0, hi = sm->n_cus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sm->cus[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ranges of different CUs do not overlap, but look back a little in
	 * case of odd producers */
	for (size_t i = lo; i > 0 && i + 4 > lo; i--) {
		const struct cu_range *r = &sm->cus[i - 1];
		if (a >= r->lo && a < r->hi)
			return dwarf_offdie(dw, r->off, out) ? 0 : -1;
	}
	return -1;
}

/* Fills c with the DWARF inline chain; leaves c->n == 0 when there is no
 * usable DWARF for addr. */
static void resolve_dwarf(lw_sym_session *s, sym_module *sm, Dwfl_Module *mod,
			  Dwarf_Addr addr, const lw_sym_result *proto, chain *c)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die cu_die;
	if (find_cu(sm, mod, addr, &cu_die, &bias) < 0)
		return;
	Dwarf_Die *cudie = &cu_die;
	const char *file = "";
	int line = 0;
	Dwarf_Line *dl = dwarf_getsrc_die(cudie, addr - bias);
	if (dl) {
		const char *src = dwarf_linesrc(dl, NULL, NULL);
		file = src ? src : "";
		if (dwarf_lineno(dl, &line) != 0)
			line = 0;
	}
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes(cudie, addr - bias, &scopes);
	if (n > 0) {
		/* Re-derive the lexical nesting from the innermost DIE, so the
		 * walk does not wander into an inlined function's abstract tree. */
		Dwarf_Die inner = scopes[0];
		free(scopes);
		scopes = NULL;
		n = dwarf_getscopes_die(&inner, &scopes);
	}
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	if (dwarf_getsrcfiles(cudie, &files, &nfiles) != 0)
		files = NULL;
	for (int i = 0; i < n; i++) {
		Dwarf_Die *die = &scopes[i];
		int tag = dwarf_tag(die);
		if (!is_function_tag(tag))
			continue;
		lw_sym_result r = *proto;
		const char *name = die_function_name(s, die);
		r.function = name ? name : "??";
		r.file = intern(s, file);
		r.line = line;
		r.inlined = tag == DW_TAG_inlined_subroutine;
		chain_push(c, &r);
		if (tag != DW_TAG_inlined_subroutine)
			break;
		/* The call site of this inlined instance is the location in the
		 * frame that contains it. */
		Dwarf_Attribute attr;
		Dwarf_Word cf = 0, cl = 0;
		file = "";
		line = 0;
		if (dwarf_attr(die, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &cf) == 0 &&
		    files && cf < nfiles) {
			const char *src = dwarf_filesrc(files, cf, NULL, NULL);
			file = src ? src : "";
		}
		if (dwarf_attr(die, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &cl) == 0)
			line = cl > 0x7fffffff ? 0 : (int)cl;
	}
	free(scopes);
	/* The outermost entry must not claim to be inlined. */
	if (c->n > 0)
		c->r[c->n - 1].inlined = 0;
	/* DWARF gave a location but no function scope (assembly, odd CUs):
	 * fall back to the ELF symbol but keep the line. */
	if (c->n == 0 && dl) {
		lw_sym_result r = *proto;
		r.file = intern(s, file);
		r.line = line;
		const char *sym = dwfl_module_addrname(mod, addr);
		r.function = sym ? demangled_short(s, sym) : "??";
		chain_push(c, &r);
	}
}

static size_t copy_out(const lw_sym_session *s, uint64_t slice, lw_sym_result *out,
		       size_t max)
{
	size_t first = (size_t)(slice >> 32), count = (uint32_t)slice;
	size_t k = count < max ? count : max;
	memcpy(out, &s->results[first], k * sizeof(*out));
	return k;
}

size_t lw_sym_resolve(lw_sym_session *s, uint64_t pc, int is_return_address,
		      lw_sym_result *out, size_t max)
{
	if (max == 0)
		return 0;
	uint64_t key = (pc << 1) | (is_return_address ? 1 : 0);
	const uint64_t *hit = lw_map_find_u64(&s->memo, key);
	if (hit)
		return copy_out(s, *hit, out, max);

	uint64_t addr = (is_return_address && pc > 0) ? pc - 1 : pc;
	lw_sym_result proto = {
		.function = "??", .file = "", .line = 0, .module = "??",
		.build_id_hex = "", .module_offset = pc, .inlined = 0,
	};
	sym_module *sm = find_module(s, addr);
	chain c = { .n = 0 };
	if (sm) {
		proto.module = sm->path;
		proto.build_id_hex = sm->build_id_hex;
		proto.module_offset = pc - sm->load_bias;
		Dwfl_Module *mod = sm->good ? dwfl_addrmodule(s->dwfl, addr) : NULL;
		if (mod) {
			resolve_dwarf(s, sm, mod, addr, &proto, &c);
			if (c.n == 0) {
				lw_sym_result r = proto;
				const char *sym = dwfl_module_addrname(mod, addr);
				if (sym)
					r.function = demangled_short(s, sym);
				chain_push(&c, &r);
			}
		}
	}
	if (c.n == 0)
		chain_push(&c, &proto);

	/* store */
	if (s->results_n + c.n > UINT32_MAX ||
	    lw_grow(&s->results, &s->results_cap, s->results_n + c.n, sizeof(*s->results)) < 0)
		goto nostore;
	uint64_t *slot = lw_map_put_u64(&s->memo, key, NULL);
	if (!slot)
		goto nostore;
	memcpy(&s->results[s->results_n], c.r, c.n * sizeof(c.r[0]));
	*slot = (uint64_t)s->results_n << 32 | (uint32_t)c.n;
	s->results_n += c.n;
	return copy_out(s, *slot, out, max);
nostore:;
	size_t k = c.n < max ? c.n : max;
	memcpy(out, c.r, k * sizeof(*out));
	return k;
}

/* The ELF symbol containing addr (lw_sym_data_symbol), with its module. */
static const char *data_symbol(lw_sym_session *s, uint64_t addr, uint64_t *sym_start,
			       sym_module **smp, Dwfl_Module **modp)
{
	sym_module *sm = find_module(s, addr);
	if (!sm || !sm->good)
		return NULL;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return NULL;
	*smp = sm;
	*modp = mod;
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
	if (!name || !*name)
		return NULL;
	/* dwfl_module_addrinfo also returns the nearest preceding symbol when
	 * addr lies past its end; only report a symbol that contains addr
	 * (size-0 symbols match only their exact address). */
	if (sym.st_size ? off >= sym.st_size : off != 0)
		return NULL;
	if (sym_start)
		*sym_start = addr - off;
	return demangled_short(s, name);
}

const char *lw_sym_data_symbol(lw_sym_session *s, uint64_t addr, uint64_t *sym_start)
{
	sym_module *sm;
	Dwfl_Module *mod;
	return data_symbol(s, addr, sym_start, &sm, &mod);
}

int lw_sym_data_field(lw_sym_session *s, uint64_t addr, char *buf, size_t len)
{
	uint64_t start;
	sym_module *sm;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	const char *name = data_symbol(s, addr, &start, &sm, &mod);
	if (!name || !dwfl_module_getdwarf(mod, &bias))
		return -1;
	if (!sm->dvars_built) {
		sm->dvars = lw_df_index_build(mod);
		sm->dvars_built = 1;
	}
	return lw_df_path(sm->dvars, addr - bias, start - bias, name, buf, len);
}

/* ---- allocator frames ---------------------------------------------------- */

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int lw_sym_is_allocator_frame(const char *function, const char *module)
{
	static const char *const exact[] = {
		"malloc", "calloc", "realloc", "reallocarray", "free", "cfree",
		"posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
		"malloc_usable_size", "__libc_malloc", "__libc_calloc",
		"__libc_realloc", "__libc_memalign", "__libc_free",
		"strdup", "strndup", "__strdup", "__strndup",
		NULL,
	};
	static const struct { const char *prefix; int only_allocate; } prefixes[] = {
		{ "operator new", 0 }, { "operator delete", 0 }, { "mi_", 0 },
		{ "_mi_", 0 }, { "lw_", 0 }, { "leakwatch_", 0 },
		/* C++ allocator wrappers, only their allocate members */
		{ "__gnu_cxx::new_allocator<", 1 }, { "std::__new_allocator<", 1 },
		{ "std::allocator<", 1 }, { "std::allocator_traits<", 1 },
		{ NULL, 0 },
	};
	if (module && *module) {
		const char *b = lw_base_name(module);
		if (has_prefix(b, "libleakwatch.so") || has_prefix(b, "libmimalloc.so"))
			return 1;
		/* libstdc++'s operator new is a thin wrapper around malloc. */
		if (has_prefix(b, "libstdc++.so") && function && has_prefix(function, "operator new"))
			return 1;
	}
	if (!function || !*function)
		return 0;
	for (size_t i = 0; exact[i]; i++)
		if (strcmp(function, exact[i]) == 0)
			return 1;
	for (size_t i = 0; prefixes[i].prefix; i++)
		if (has_prefix(function, prefixes[i].prefix) &&
		    (!prefixes[i].only_allocate || strstr(function, "::allocate")))
			return 1;
	return 0;
}
