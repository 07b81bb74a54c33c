/* fuzz_replay.c — runs fuzz targets over a corpus without libFuzzer.
 *
 * Usage: fuzz_replay PATH...   (files or directories, not recursive)
 * Every file goes through LLVMFuzzerTestOneInput (linked in from the
 * target's source), so the committed corpus is a plain, sanitized test on
 * every build. A target may also define
 *     int lw_fuzz_accepts(const uint8_t *data, size_t size);
 * returning 1 when its full validation accepts the input; then files named
 * "ok-*" must be accepted and files named "bad-*" refused, so the corpus
 * pins both directions. Any other name (e.g. a crash reproducer
 * "crash-<sha1>" added after a fuzzing find), or a target without that
 * function, only has to run without a sanitizer report. Exits 1 on a failed
 * expectation or when no file was found.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, defined by targets that check seed names (weak: may be absent). */
int lw_fuzz_accepts(const uint8_t *data, size_t size) __attribute__((weak));

static int n_files, n_failed;

static int read_all(const char *path, uint8_t **out, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *b = NULL;
	size_t cap = 0, n = 0;

	if (!fp)
		return -errno;
	for (;;) {
		if (n == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				fclose(fp);
				return -ENOMEM;
			}
			b = nb;
		}
		size_t r = fread(b + n, 1, cap - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		free(b);
		fclose(fp);
		return -EIO;
	}
	fclose(fp);
	*out = b;
	*len = n;
	return 0;
}

static void run_file(const char *path, const char *base)
{
	uint8_t *b = NULL;
	size_t len = 0;
	int rc = read_all(path, &b, &len);

	if (rc) {
		fprintf(stderr, "fuzz_replay: \"%s\": cannot read: %s\n", path, strerror(-rc));
		n_failed++;
		return;
	}
	n_files++;
	LLVMFuzzerTestOneInput(b, len);
	if (lw_fuzz_accepts && (!strncmp(base, "ok-", 3) || !strncmp(base, "bad-", 4))) {
		int want_ok = base[0] == 'o';

		if (lw_fuzz_accepts(b, len) != want_ok) {
			fprintf(stderr, "fuzz_replay: \"%s\": %s\n", path,
				want_ok ? "refused, but the name says it is valid"
					: "accepted, but the name says it is bad");
			n_failed++;
		}
	}
	free(b);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "fuzz_replay: \"%s\": %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			const char *base = strrchr(argv[i], '/');

			run_file(argv[i], base ? base + 1 : argv[i]);
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;

		if (!d) {
			fprintf(stderr, "fuzz_replay: \"%s\": %s\n", argv[i], strerror(errno));
			return 1;
		}
		while ((e = readdir(d))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				run_file(path, e->d_name);
		}
		closedir(d);
	}
	printf("fuzz_replay: %d files, %d failed\n", n_files, n_failed);
	if (n_files == 0) {
		fprintf(stderr, "fuzz_replay: no corpus files found\n");
		return 1;
	}
	return n_failed ? 1 : 0;
}
