/* ret_app.c — a testapp with known heap shapes for the retainers end-to-end
 * test: run under LD_PRELOAD=libleakwatch.so with LEAKWATCH_RATE=1 and
 * LEAKWATCH_DIR set, it builds the shapes, sends itself LEAKWATCH_SIGNAL
 * (SIGUSR2), waits until a dump-*.lwd appears in LEAKWATCH_DIR, prints
 * "dumped" and exits.
 *
 * Shapes (the test's expectations):
 *   g_sessions   a global hash table of 64 buckets holding 50 sessions
 *                (ret_app_session_new, chained) each owning one payload
 *                (ret_app_payload, 1000 B);
 *   list         20 nodes (ret_app_list_node) linked from a local variable
 *                of main, i.e. held by the main thread's stack;
 *   dropped      10 blocks (ret_app_dropped, 700 B) whose only pointers were
 *                overwritten: unreachable, definitely lost.
 * Not sanitized (it runs under the shim).
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct payload { char bytes[1000]; };
struct session {
	struct session *next;
	unsigned id;
	struct payload *payload;
};
struct lnode { struct lnode *next; unsigned v; };

struct session *g_sessions[64];

__attribute__((noinline)) static struct payload *ret_app_payload(unsigned id)
{
	struct payload *p = malloc(sizeof *p);
	if (p)
		memset(p->bytes, (int)id, sizeof p->bytes);
	return p;
}

__attribute__((noinline)) static struct session *ret_app_session_new(unsigned id)
{
	struct session *s = malloc(sizeof *s);
	if (!s)
		return NULL;
	s->id = id;
	s->payload = ret_app_payload(id);
	return s;
}

__attribute__((noinline)) static struct lnode *ret_app_list_node(struct lnode *next, unsigned v)
{
	struct lnode *n = malloc(sizeof *n);
	if (n) {
		n->next = next;
		n->v = v;
	}
	return n;
}

/* Allocates and drops: the pointers live only in this frame's slots and in
 * `slots`, which is overwritten. */
__attribute__((noinline)) static void ret_app_dropped(void **slots, int n)
{
	for (int i = 0; i < n; i++) {
		slots[i] = malloc(700);
		if (slots[i])
			memset(slots[i], 0x5a, 700);
	}
	for (int i = 0; i < n; i++)
		slots[i] = NULL;
}

static void *ret_app_drop_thread(void *slots)
{
	ret_app_dropped(slots, 10);
	return NULL;
}

/* Overwrites dead stack below the current frame (where stale copies of the
 * dropped pointers could sit) so the conservative scan cannot see them. */
__attribute__((noinline)) static void scrub_stack(void)
{
	volatile char pad[16384];
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = 0;
}

static int has_dump(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "dump-", 5) == 0 && strstr(e->d_name, ".lwd") &&
		    !strstr(e->d_name, ".tmp"))
			found = 1;
	closedir(d);
	return found;
}

int main(void)
{
	const char *dir = getenv("LEAKWATCH_DIR");
	if (!dir) {
		fprintf(stderr, "ret_app: LEAKWATCH_DIR is not set\n");
		return 2;
	}
	for (unsigned i = 0; i < 50; i++) {
		struct session *s = ret_app_session_new(i);
		if (!s)
			return 1;
		unsigned b = (i * 2654435761u) % 64;
		s->next = g_sessions[b];
		g_sessions[b] = s;
	}
	struct lnode *volatile head = NULL;
	for (unsigned i = 0; i < 20; i++)
		head = ret_app_list_node(head, i);
	void **slots = calloc(16, sizeof *slots);
	if (!slots)
		return 1;
	/* Drop them in a thread that then exits: no register or stack slot of
	 * a live thread can keep a stale copy (the main thread's caller-saved
	 * registers still held one after memset under clang). */
	pthread_t dropper;
	if (pthread_create(&dropper, NULL, ret_app_drop_thread, slots) != 0 ||
	    pthread_join(dropper, NULL) != 0)
		return 1;
	scrub_stack();

	kill(getpid(), SIGUSR2);
	for (int i = 0; i < 600 && !has_dump(dir); i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (!has_dump(dir)) {
		fprintf(stderr, "ret_app: no dump appeared in %s within 60 s\n", dir);
		return 1;
	}
	printf("dumped list=%u\n", head ? head->v : 0);
	free(slots);
	return 0;
}
