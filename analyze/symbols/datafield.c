/* datafield.c — the member path of an address inside a global variable,
 * from the module's DWARF: "server.db", "g_table[3]", "g_cfg.slots[2].head".
 *
 * Role: the heap-graph retainer output names the root word through which a
 * global holds the most; with this, a word of a struct or array global is
 * named by its field instead of "sym+0x48".
 *
 * How: an index of the module's statically placed variables (DW_TAG_variable
 * whose location is one DW_OP_addr or DW_OP_addrx: globals, file statics, function statics
 * and C++ static members, also inside namespaces), sorted by address and
 * built once per module on first need; then the variable's type is walked
 * down to the offset: struct, class and union members (by
 * DW_AT_data_member_location, a constant), base classes (no name added),
 * arrays (one "[i]" per dimension), typedefs and qualifiers peeled.
 * Invariants: an index entry covers [lo, lo + size) in the module's file
 * addresses (runtime address minus the module's bias); an answer is given
 * only when DWARF describes a variable that contains the address; a walk
 * that cannot go further (no member there, a base type, a bit-field)
 * appends "+0xN" for the rest, so the path never claims more than DWARF
 * says. Walks are bounded in depth (LW_DF_DEPTH).
 * Locks: none (one session per thread, like symbols.c). Not a hot path:
 * called once per global root.
 */
#include "datafield.h"

#include <dwarf.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LW_DF_DEPTH 32       /* type nesting followed at most */
#define LW_DF_DIMS 8         /* array dimensions followed at most */

struct df_var {
	Dwarf_Addr lo, hi;       /* file addresses */
	Dwarf_Off die;           /* the variable's DIE */
};

struct lw_df_index {
	Dwarf *dw;
	struct df_var *v;
	size_t n, cap;
};

/* ---- the index ---------------------------------------------------------- */

/* The address of a variable placed at a fixed address: one DW_OP_addr, or
 * DWARF 5's DW_OP_addrx (clang's default) into .debug_addr. */
static int static_address(Dwarf_Die *die, Dwarf_Addr *addr)
{
	Dwarf_Attribute attr, a;
	Dwarf_Op *expr;
	size_t len;
	if (!dwarf_attr(die, DW_AT_location, &attr) || dwarf_getlocation(&attr, &expr, &len) != 0 ||
	    len != 1)
		return -1;
	if (expr[0].atom == DW_OP_addr) {
		*addr = expr[0].number;
		return 0;
	}
	if (expr[0].atom == DW_OP_addrx || expr[0].atom == DW_OP_GNU_addr_index)
		return dwarf_getlocation_attr(&attr, &expr[0], &a) == 0 && dwarf_formaddr(&a, addr) == 0
			       ? 0 : -1;
	return -1;
}

static int index_add(lw_df_index *ix, Dwarf_Die *die)
{
	Dwarf_Addr addr;
	Dwarf_Attribute ta;
	Dwarf_Die type;
	Dwarf_Word size;
	if (static_address(die, &addr) != 0 ||
	    !dwarf_attr_integrate(die, DW_AT_type, &ta) || !dwarf_formref_die(&ta, &type) ||
	    dwarf_aggregate_size(&type, &size) != 0 || size == 0)
		return 0;
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? 2 * ix->cap : 256;
		struct df_var *v = realloc(ix->v, cap * sizeof *v);
		if (!v)
			return -1;
		ix->v = v;
		ix->cap = cap;
	}
	ix->v[ix->n++] = (struct df_var){ addr, addr + size, dwarf_dieoffset(die) };
	return 0;
}

/* Variables among die's children; into namespaces and functions (their
 * statics) at most `depth` levels down. */
static int index_children(lw_df_index *ix, Dwarf_Die *die, int depth)
{
	Dwarf_Die c;
	if (dwarf_child(die, &c) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&c);
		if (tag == DW_TAG_variable) {
			if (index_add(ix, &c) < 0)
				return -1;
		} else if (depth > 0 && (tag == DW_TAG_namespace || tag == DW_TAG_subprogram ||
					 tag == DW_TAG_lexical_block)) {
			if (index_children(ix, &c, depth - 1) < 0)
				return -1;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return 0;
}

static int var_cmp(const void *a, const void *b)
{
	const struct df_var *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? 1 : x->hi > y->hi ? -1 : 0;   /* the larger first */
}

lw_df_index *lw_df_index_build(Dwfl_Module *mod)
{
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
	if (!dw)
		return NULL;
	lw_df_index *ix = calloc(1, sizeof *ix);
	if (!ix)
		return NULL;
	ix->dw = dw;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu) && index_children(ix, &cu, 4) < 0) {
			lw_df_index_free(ix);
			return NULL;
		}
		off = next;
	}
	if (ix->n == 0) {
		lw_df_index_free(ix);
		return NULL;
	}
	qsort(ix->v, ix->n, sizeof *ix->v, var_cmp);
	return ix;
}

void lw_df_index_free(lw_df_index *ix)
{
	if (!ix)
		return;
	free(ix->v);
	free(ix);
}

/* The variable that contains addr and starts at `start`, or NULL. */
static const struct df_var *index_find(const lw_df_index *ix, Dwarf_Addr addr, Dwarf_Addr start)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {   /* first entry with v.lo > start */
		size_t mid = lo + (hi - lo) / 2;
		if (ix->v[mid].lo <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i > 0 && ix->v[i - 1].lo == start; i--)
		if (addr < ix->v[i - 1].hi)
			return &ix->v[i - 1];
	return NULL;
}

/* ---- the walk ------------------------------------------------------------ */

struct df_out {
	char *buf;
	size_t len, pos;
};

static void out_put(struct df_out *o, const char *s)
{
	size_t n = strlen(s);
	if (o->pos + n >= o->len)
		n = o->len - 1 > o->pos ? o->len - 1 - o->pos : 0;
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
	o->buf[o->pos] = 0;
}

static void out_rest(struct df_out *o, Dwarf_Word off)
{
	char t[32];
	if (off) {
		snprintf(t, sizeof t, "+0x%" PRIx64, (uint64_t)off);
		out_put(o, t);
	}
}

static int type_of(Dwarf_Die *die, Dwarf_Die *type)
{
	Dwarf_Attribute a;
	return dwarf_attr_integrate(die, DW_AT_type, &a) && dwarf_formref_die(&a, type) ? 0 : -1;
}

static void walk(Dwarf_Die *type, Dwarf_Word off, struct df_out *o, int depth);

/* The member of a struct, class or union that holds off; descends into it. */
static int walk_members(Dwarf_Die *agg, Dwarf_Word off, struct df_out *o, int depth)
{
	Dwarf_Die c;
	if (dwarf_child(agg, &c) != 0)
		return -1;
	do {
		int tag = dwarf_tag(&c);
		if (tag != DW_TAG_member && tag != DW_TAG_inheritance)
			continue;
		Dwarf_Attribute a;
		Dwarf_Word loc = 0, size;
		Dwarf_Die mt;
		if (dwarf_hasattr(&c, DW_AT_bit_size) || type_of(&c, &mt) != 0 ||
		    dwarf_aggregate_size(&mt, &size) != 0)
			continue;
		if (dwarf_attr(&c, DW_AT_data_member_location, &a) && dwarf_formudata(&a, &loc) != 0)
			continue;   /* a location expression: not a plain offset */
		if (off < loc || off - loc >= size)
			continue;
		const char *name = tag == DW_TAG_member ? dwarf_diename(&c) : NULL;
		if (name) {
			out_put(o, ".");
			out_put(o, name);
		}
		walk(&mt, off - loc, o, depth - 1);
		return 0;
	} while (dwarf_siblingof(&c, &c) == 0);
	return -1;
}

/* "[i]" per dimension of an array type, then its element type. */
static int walk_array(Dwarf_Die *arr, Dwarf_Word off, struct df_out *o, int depth)
{
	Dwarf_Die elem, c;
	Dwarf_Word esize, count[LW_DF_DIMS];
	int nd = 0;
	if (type_of(arr, &elem) != 0 || dwarf_aggregate_size(&elem, &esize) != 0 || esize == 0)
		return -1;
	if (dwarf_child(arr, &c) == 0) {
		do {
			if (dwarf_tag(&c) != DW_TAG_subrange_type || nd == LW_DF_DIMS)
				continue;
			Dwarf_Attribute a;
			Dwarf_Word n = 0, ub;
			if (dwarf_attr(&c, DW_AT_count, &a))
				dwarf_formudata(&a, &n);
			else if (dwarf_attr(&c, DW_AT_upper_bound, &a) && dwarf_formudata(&a, &ub) == 0)
				n = ub + 1;
			count[nd++] = n;   /* 0: unknown (a flexible array) */
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	if (nd == 0)
		count[nd++] = 0;
	for (int d = 0; d < nd; d++) {
		Dwarf_Word stride = esize;
		for (int k = d + 1; k < nd; k++) {
			Dwarf_Word n = count[k] ? count[k] : 1;
			if (stride > UINT64_MAX / n)
				return -1;   /* nonsense bounds: no index claimed */
			stride *= n;
		}
		char t[32];
		snprintf(t, sizeof t, "[%" PRIu64 "]", (uint64_t)(off / stride));
		out_put(o, t);
		off %= stride;
	}
	walk(&elem, off, o, depth - 1);
	return 0;
}

static void walk(Dwarf_Die *type, Dwarf_Word off, struct df_out *o, int depth)
{
	Dwarf_Die t;
	if (depth <= 0 || dwarf_peel_type(type, &t) != 0) {
		out_rest(o, off);
		return;
	}
	int tag = dwarf_tag(&t), rc = -1;
	if (tag == DW_TAG_structure_type || tag == DW_TAG_class_type || tag == DW_TAG_union_type)
		rc = walk_members(&t, off, o, depth);
	else if (tag == DW_TAG_array_type)
		rc = walk_array(&t, off, o, depth);
	if (rc != 0)
		out_rest(o, off);
}

int lw_df_path(const lw_df_index *ix, Dwarf_Addr addr, Dwarf_Addr start, const char *name,
	       char *buf, size_t len)
{
	if (!ix || len == 0)
		return -1;
	const struct df_var *v = index_find(ix, addr, start);
	Dwarf_Die var, type;
	if (!v || !dwarf_offdie(ix->dw, v->die, &var) || type_of(&var, &type) != 0)
		return -1;
	struct df_out o = { buf, len, 0 };
	buf[0] = 0;
	out_put(&o, name);
	walk(&type, addr - v->lo, &o, LW_DF_DEPTH);
	return 0;
}
