/* symtest_target.c — a known program for the symbols unit test: built with
 * -g, it prints the runtime addresses the test resolves, one per line,
 * as "name address expected-line". Not linked with the shim. */
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void *symtest_cxx_alloc(size_t n);   /* symtest_target_cxx.cpp */
void *symtest_plain(size_t n);
void *symtest_outer(size_t n);
void *symtest_ra(void);
void *symtest_caller(void);
void *symtest_inl_caller(void);
extern const char *symtest_global_name;
extern int symtest_table[64];
const char *symtest_global_name = "symtest";
int symtest_table[64];

/* A global the member-path lookup (lw_sym_data_field) breaks down. */
struct symtest_slot {
	int kind;
	void *head;
	char tag[12];
};
struct symtest_cfg {
	long n;
	struct symtest_slot slots[4];
	union {
		void *p;
		long l;
	} u;
	int grid[3][5];
};
extern struct symtest_cfg symtest_cfg;
struct symtest_cfg symtest_cfg;

__attribute__((noinline)) void *symtest_plain(size_t n)
{
	void *p = malloc(n);                 /* LINE_PLAIN */
	return p;
}

static inline __attribute__((always_inline)) void *symtest_inlined(size_t n)
{
	return calloc(1, n);                 /* LINE_INLINE */
}

__attribute__((noinline)) void *symtest_outer(size_t n)
{
	void *p = symtest_inlined(n);        /* LINE_OUTER */
	return p;
}

/* Return address of the call to malloc in symtest_plain etc. are not easy
 * to take from C; the test uses function entry pcs plus a return-address
 * probe: __builtin_return_address inside a helper called from a known line. */
__attribute__((noinline)) void *symtest_ra(void)
{
	return __builtin_return_address(0);
}

__attribute__((noinline)) void *symtest_caller(void)
{
	void *ra = symtest_ra();             /* LINE_CALLER */
	return ra;
}

static inline __attribute__((always_inline)) void *symtest_inl_ra(void)
{
	return symtest_ra();                 /* LINE_INL_RA */
}

__attribute__((noinline)) void *symtest_inl_caller(void)
{
	void *ra = symtest_inl_ra();         /* LINE_INL_CALLER */
	return ra;
}

/* Prints the module map the way the shim records it:
 * "module PATH LOAD_BIAS START END" (exe's empty name becomes "exe"). */
static int print_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size; (void)arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
		if (s < lo) lo = s;
		if (e > hi) hi = e;
	}
	if (hi == 0)
		return 0;
	printf("module %s %#lx %#lx %#lx\n", info->dlpi_name[0] ? info->dlpi_name : "exe",
	       (unsigned long)info->dlpi_addr, (unsigned long)lo, (unsigned long)hi);
	return 0;
}

int main(void)
{
	dl_iterate_phdr(print_module, NULL);
	printf("symtest_plain %p\n", (void *)(uintptr_t)&symtest_plain);
	printf("symtest_outer %p\n", (void *)(uintptr_t)&symtest_outer);
	printf("caller_ra %p\n", symtest_caller());
	printf("inl_caller_ra %p\n", symtest_inl_caller());
	printf("cxx_ra %p\n", symtest_cxx_alloc(16));
	printf("global %p\n", (void *)&symtest_table[3]);
	/* "field:EXPECTED ADDRESS": the member path the lookup must give */
	printf("field:symtest_table[3] %p\n", (void *)&symtest_table[3]);
	printf("field:symtest_cfg.n %p\n", (void *)&symtest_cfg.n);
	printf("field:symtest_cfg.slots[2].head %p\n", (void *)&symtest_cfg.slots[2].head);
	printf("field:symtest_cfg.slots[1].tag[5] %p\n", (void *)&symtest_cfg.slots[1].tag[5]);
	printf("field:symtest_cfg.u.p %p\n", (void *)&symtest_cfg.u);
	printf("field:symtest_cfg.grid[1][3] %p\n", (void *)&symtest_cfg.grid[1][3]);
	printf("field:symtest_cfg.slots[0].kind+0x2 %p\n", (void *)((char *)&symtest_cfg.slots[0].kind + 2));
	free(symtest_plain(8));
	free(symtest_outer(8));
	fflush(stdout);
	/* Stay alive until stdin closes so the test can read /proc/PID/maps. */
	char buf[16];
	while (fgets(buf, sizeof(buf), stdin))
		;
	return 0;
}
