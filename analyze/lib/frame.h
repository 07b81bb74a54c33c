/* frame.h — one symbolized frame, and the one way to show it: its label
 * for people and its JSON object.
 *
 * A frame is one function of a symbolized stack (inlined functions are
 * frames of their own, innermost first). An unknown function ("??": a
 * stripped library, JIT code) is identified by its module and its offset
 * in it, and its label says so: "?? (libfoo.so+0x1a2b)".
 */
#ifndef LW_FRAME_H
#define LW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

typedef struct lw_sym_frame {
	const char *function;   /* demangled, no parameter list; "??" when unknown, never NULL */
	const char *file;       /* source file, "" when unknown, never NULL */
	int line;               /* 0 when unknown */
	const char *module;     /* base name of the ELF object; "??" outside every module */
	uint64_t pc;            /* one raw return address of one process, for reference */
	int inlined;            /* 1 if this frame was inlined into the next one */
	uint64_t offset;        /* the return address minus the module's load bias;
	                         * identifies an unknown function (0: not known) */
} lw_sym_frame;

/* True for a frame whose function is unknown ("??"). */
int lw_frame_unknown(const lw_sym_frame *f);

/* The label of a frame: "function (file.c:12)", "function (file.c)" when the
 * line is 0, "function (module)" when the file is unknown, "?? (module+0x1a2b)"
 * for an unknown function. When it is longer than `max` characters (0 = no
 * limit): C++ argument lists go first, then template arguments, then
 * "function:12", then the middle of the name ("abc...xyz"). An unknown
 * function shows its offset when it is known (non-zero). */
const char *lw_frame_label(const lw_sym_frame *f, size_t max, char *buf, size_t len);

/* The callers of frames[0]: "< caller:12 < caller ..." for frames[1..n), each
 * name shortened, cut with "< ..." to fit `max` characters. "" when n <= 1. */
const char *lw_frame_callers(const lw_sym_frame *frames, size_t n, size_t max,
			     char *buf, size_t len);

/* A JSON array of frames: [{"function", "file", "line", "module", "inlined"}],
 * plus "offset" (a number) for an unknown function whose offset is known. */
void lw_json_frames(lw_json *j, const lw_sym_frame *frames, size_t n);

#endif
