/* root_stale_link.c — mimalloc's stale free-list link. A freshly allocated
 * block's first word still holds the allocator's "next free" pointer until
 * the program writes it. keep_first_word_unwritten allocates K (48 B, kept
 * in g_kept, first word never written); drop_after_kept allocates N (44 B,
 * the same 48-byte size class) right after — N was K's free-list successor
 * — and drops it. A scan that trusts K's first word would call N reachable.
 *   keep_first_word_unwritten  48 B   (g_kept)
 *   drop_after_kept            44 B   lost
 * Prints "stale link K->N present|absent":
 * present under plain mimalloc (the hazard is real), absent under the shim
 * (it clears the word when it hands out a block) and under LeakSanitizer.
 */
#include <stdint.h>

#include "roots_common.h"

void *g_kept;
static uintptr_t g_n_enc;           /* ~N */

LW_APP_NOINLINE static void *keep_first_word_unwritten(void)
{
	char *p = malloc(48);
	if (!p)
		abort();
	memset(p + 8, 0x5a, 40);     /* everything but the first word */
	return p;
}

LW_APP_NOINLINE static void drop_after_kept(void)
{
	char *p = malloc(44);
	if (!p)
		abort();
	memset(p, 0x5a, 44);
	g_n_enc = ~(uintptr_t)p;
}

int main(void)
{
	g_kept = keep_first_word_unwritten();
	drop_after_kept();
	roots_scrub();
	printf("stale link K->N %s\n", *(uintptr_t *)g_kept == ~g_n_enc ? "present" : "absent");
	roots_tid("main");
	roots_checkpoint();
	_exit(0);
}
