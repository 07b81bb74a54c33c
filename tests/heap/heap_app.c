/* heap_app.c — a service with known heap-graph shapes, for the heap-dump
 * integration test (test_heap_dump.py), run under LD_PRELOAD=libleakwatch.so.
 *
 *   g_sessions   a global hash table (64 buckets) of 600 chained sessions of
 *                200 bytes, each owning a 1000-byte payload
 *   list thread  a live thread whose stack holds the head of a 100-node list
 *   g_exited     20 blocks of 777 bytes allocated by a thread that exited
 *   dropped      40 blocks of 333 bytes whose pointers were all overwritten
 *
 * It prints "tid list=TID", "addr KIND ~ADDR" lines (addresses complemented,
 * so that the program's own memory never holds them in plain form), then
 * raises LEAKWATCH's signal (SIGUSR2) and waits for the dump to appear in
 * LEAKWATCH_DIR; prints "dumped" and exits 0.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct session {
	struct session *next;
	char *payload;
	char name[184];
};

struct session *g_sessions[64];
void *g_exited[20];
static int g_park[2];
static volatile int g_list_ready;

static void *exiting(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++) {
		g_exited[i] = malloc(777);
		memset(g_exited[i], 0, 777);
	}
	return NULL;
}

struct node { struct node *next; long v[5]; };

static void *list_thread(void *arg)
{
	(void)arg;
	struct node *volatile head = NULL;
	for (int i = 0; i < 100; i++) {
		struct node *n = calloc(1, sizeof *n);
		n->next = head;
		head = n;
	}
	printf("tid list=%ld\n", (long)syscall(SYS_gettid));
	printf("addr list ~%llx\n", (unsigned long long)~(uintptr_t)head);
	fflush(stdout);
	g_list_ready = 1;
	char c;
	while (read(g_park[0], &c, 1) < 0)
		;
	return head->next ? NULL : NULL;
}

__attribute__((noinline)) static void drop_some(void)
{
	for (int i = 0; i < 40; i++) {
		char *volatile p = malloc(333);
		memset(p, 0, 333);
		printf("addr dropped ~%llx\n", (unsigned long long)~(uintptr_t)p);
		p = NULL;
	}
	char scrub[4096];             /* overwrite stale stack copies */
	memset(scrub, 0, sizeof scrub);
	__asm__ volatile("" : : "r"(scrub) : "memory");
}

int main(void)
{
	if (pipe(g_park))
		return 1;
	for (int i = 0; i < 600; i++) {
		struct session *s = calloc(1, sizeof *s);
		s->payload = malloc(1000);
		memset(s->payload, 0, 1000);
		s->next = g_sessions[i % 64];
		g_sessions[i % 64] = s;
	}
	printf("addr session ~%llx\n", (unsigned long long)~(uintptr_t)g_sessions[5]);
	printf("addr payload ~%llx\n", (unsigned long long)~(uintptr_t)g_sessions[7]->payload);
	printf("global g_sessions ~%llx %zu\n", (unsigned long long)~(uintptr_t)&g_sessions, sizeof g_sessions);
	printf("global g_exited ~%llx %zu\n", (unsigned long long)~(uintptr_t)&g_exited, sizeof g_exited);
	pthread_t t;
	pthread_create(&t, NULL, exiting, NULL);
	pthread_join(t, NULL);
	for (int i = 0; i < 20; i++)
		printf("addr exited ~%llx\n", (unsigned long long)~(uintptr_t)g_exited[i]);
	drop_some();
	pthread_t lt;
	pthread_create(&lt, NULL, list_thread, NULL);
	while (!g_list_ready)
		usleep(1000);
	usleep(20000);
	fflush(stdout);

	const char *dir = getenv("LEAKWATCH_DIR");
	if (!dir)
		return 1;
	raise(SIGUSR2);
	for (int tries = 0; tries < 600; tries++) {    /* 60 s */
		DIR *d = opendir(dir);
		int found = 0;
		struct dirent *e;
		while (d && (e = readdir(d)))
			found |= strncmp(e->d_name, "dump-", 5) == 0;
		if (d)
			closedir(d);
		if (found)
			break;
		usleep(100000);
	}
	printf("dumped\n");
	fflush(stdout);
	if (write(g_park[1], "x", 1) != 1)
		return 1;
	pthread_join(lt, NULL);
	return 0;
}
