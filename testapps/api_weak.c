/* api_weak.c — uses include/leakwatch.h exactly as its comment tells
 * programs to: functions declared weak (LEAKWATCH_WEAK), address tested,
 * no link against the shim. Prints "api present=0|1" and, when present,
 * leaks --blocks N blocks of 100 bytes from api_weak_leak and prints the
 * truth, then "snapshot rc=R" and "dump rc=R". Exit code 0.
 */
#define LEAKWATCH_WEAK
#include "leakwatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"

struct blk {
	struct blk *next;
};

static struct blk *g_list;

LW_APP_NOINLINE static void api_weak_leak(void)
{
	struct blk *b = malloc(100);
	if (!b)
		abort();
	memset(b, 7, 100);
	b->next = g_list;
	g_list = b;
}

int main(int argc, char **argv)
{
	long blocks = app_opt_long(argc, argv, "blocks", 50);
	int present = leakwatch_snapshot != NULL && leakwatch_dump != NULL;
	printf("api present=%d\n", present);
	for (long i = 0; i < blocks; i++)
		api_weak_leak();
	app_truth("api", "api_weak_leak", (uint64_t)blocks * 100, (uint64_t)blocks);
	if (present) {
		printf("snapshot point=api rc=%d\n", leakwatch_snapshot());
		printf("dump rc=%d\n", leakwatch_dump());
	}
	return 0;
}
