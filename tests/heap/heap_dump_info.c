/* heap_dump_info.c — prints the heap-graph figures of a dump, one line:
 *   graph blocks=N bytes=B edges=E roots=R threads=T sampled=S
 * or "nograph" (exit 2). Used by the heap integration tests and the
 * benchmark; exit 1 with a message on a bad file. */
#include <errno.h>
#include <stdio.h>

#include "lwd.h"
#include "lwd_graph.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: heap_dump_info FILE.lwd\n");
		return 1;
	}
	char err[512];
	lw_file *f;
	int rc = lw_file_open(argv[1], &f, err, sizeof err);
	if (rc) {
		fprintf(stderr, "heap_dump_info: '%s': %s\n", argv[1], err);
		return 1;
	}
	lw_graph *g;
	rc = lw_graph_decode(f, &g, err, sizeof err);
	if (rc == -ENOENT) {
		printf("nograph\n");
		lw_file_free(f);
		return 2;
	}
	if (rc) {
		fprintf(stderr, "heap_dump_info: '%s': %s\n", argv[1], err);
		lw_file_free(f);
		return 1;
	}
	size_t sampled = 0, regs = 0;
	for (size_t i = 0; i < g->n_blocks; i++)
		sampled += g->blocks[i].live != LWD_NONE;
	for (size_t i = 0; i < g->n_threads; i++)
		regs += (g->threads[i].flags & LWD_THREADF_REGS) != 0;
	printf("graph blocks=%zu bytes=%llu edges=%llu roots=%zu threads=%zu threads_with_regs=%zu sampled=%zu live=%zu file_bytes=%zu\n",
	       g->n_blocks, (unsigned long long)g->total_bytes, (unsigned long long)g->n_edges,
	       g->n_roots, g->n_threads, regs, sampled, f->n_live, f->file_size);
	lw_graph_free(g);
	lw_file_free(f);
	return 0;
}
