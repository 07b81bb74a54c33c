/* outfile.h — publishing an output file the way every command that writes
 * one does (`export -o`, `retainers -o`, `report -o`).
 *
 * A new or regular file is replaced atomically: a temporary file next to it,
 * created O_CREAT|O_EXCL|O_NOFOLLOW mode 0600, written, fsync'd and renamed
 * over it; on any failure the temporary is removed and the file is left as
 * it was. An existing character device or FIFO (/dev/null, /dev/stdout, a
 * named pipe), also behind a symbolic link, is written in place, never
 * renamed over; a symbolic link to anything else, a directory or another
 * kind of file is refused, so nothing is ever replaced through a link.
 */
#ifndef LW_OUTFILE_H
#define LW_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

/* Writes the whole content to `out`; returns 0 or a negative errno. */
typedef int (*lw_out_write_fn)(FILE *out, void *arg);

/* Returns 0, or -errno with *step naming what failed ("create", "write",
 * "fsync", "rename", ...). -ELOOP with step "replace": `path` is a symbolic
 * link to a regular file. */
int lw_out_publish(const char *path, lw_out_write_fn write, void *arg, const char **step);

/* The reason a failed lw_out_publish gives the user, for an error line
 * "'<path>': <reason>": "is a symbolic link to a file; not replacing it",
 * or "<step> failed: <strerror>". Returns buf. */
const char *lw_out_reason(int rc, const char *step, char *buf, size_t len);

#endif
