/* frame.c — labels and JSON of symbolized frames (frame.h).
 *
 * Labels are for people and fit a width: shortening keeps the parts that
 * tell functions apart longest (the name before its C++ arguments and
 * template arguments, then the head and tail of the name). Pure functions.
 */
#include "frame.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

int lw_frame_unknown(const lw_sym_frame *f)
{
	return !f->function[0] || strcmp(f->function, "??") == 0;
}

/* Removes the outermost "(...)" argument list and collapses "<...>"
 * template arguments to "<>" (both at nesting level 0 of the other). */
static void strip_cxx(const char *in, char *out, size_t len, int templates)
{
	size_t o = 0;
	int angle = 0, paren = 0;
	for (const char *s = in; *s && o + 1 < len; s++) {
		char c = *s;
		if (templates && c == '<' && !paren && strncmp(s, "<<", 2) && s != in) {
			if (angle++ == 0)
				out[o++] = '<';
			continue;
		}
		if (templates && c == '>' && angle && !paren) {
			if (--angle == 0 && o + 1 < len)
				out[o++] = '>';
			continue;
		}
		if (angle)
			continue;
		if (c == '(' && s != in && !templates) {
			/* "(anonymous namespace)" is part of the name, not arguments */
			if (!strncmp(s, "(anonymous namespace)", 21)) {
				size_t n = 21 < len - 1 - o ? 21 : len - 1 - o;
				memcpy(out + o, s, n);
				o += n;
				s += 20;
				continue;
			}
			paren++;
			continue;
		}
		if (c == ')' && paren) {
			paren--;
			continue;
		}
		if (paren)
			continue;
		out[o++] = c;
	}
	out[o] = 0;
}

/* Fits `name` into max chars: argument lists, then templates, then the
 * middle ("abc...xyz"). */
static void fit_name(const char *name, size_t max, char *out, size_t len)
{
	char a[1024], b[1024];
	snprintf(out, len, "%s", name);
	if (strlen(out) <= max)
		return;
	strip_cxx(name, a, sizeof(a), 0);
	snprintf(out, len, "%s", a);
	if (strlen(out) <= max)
		return;
	strip_cxx(a, b, sizeof(b), 1);
	snprintf(out, len, "%s", b);
	size_t n = strlen(b);
	if (n <= max)
		return;
	if (max < 5) {
		snprintf(out, len, "%.*s", (int)max, b);
		return;
	}
	size_t head = (max - 3) / 3, tail = max - 3 - head;
	snprintf(out, len, "%.*s...%s", (int)head, b, b + n - tail);
}

const char *lw_frame_label(const lw_sym_frame *f, size_t max, char *buf, size_t len)
{
	char suffix[300], compact[32] = "";
	if (f->file[0] && f->line > 0) {
		snprintf(suffix, sizeof(suffix), " (%s:%d)", lw_base_name(f->file), f->line);
		snprintf(compact, sizeof(compact), ":%d", f->line);
	} else if (f->file[0]) {
		snprintf(suffix, sizeof(suffix), " (%s)", lw_base_name(f->file));
	} else if (lw_frame_unknown(f) && f->offset && strcmp(f->module, "??") != 0) {
		snprintf(suffix, sizeof(suffix), " (%s+0x%" PRIx64 ")", lw_base_name(f->module),
			 f->offset);
	} else {
		snprintf(suffix, sizeof(suffix), " (%s)", lw_base_name(f->module));
	}
	char name[1024];
	if (max == 0)
		max = SIZE_MAX / 2;
	if (strlen(f->function) + strlen(suffix) <= max) {
		snprintf(buf, len, "%s%s", f->function, suffix);
		return buf;
	}
	char a[1024], b[1024];
	strip_cxx(f->function, a, sizeof(a), 0);
	strip_cxx(a, b, sizeof(b), 1);
	if (strlen(b) + strlen(suffix) <= max) {
		snprintf(buf, len, "%s%s", strlen(a) + strlen(suffix) <= max ? a : b, suffix);
		return buf;
	}
	size_t sl = strlen(compact);
	if (sl + 8 > max)
		sl = 0, compact[0] = 0;
	fit_name(f->function, max - sl, name, sizeof(name));
	snprintf(buf, len, "%s%s", name, compact);
	return buf;
}

const char *lw_frame_callers(const lw_sym_frame *frames, size_t n, size_t max,
			     char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t f = 1; f < n; f++) {
		const lw_sym_frame *fr = &frames[f];
		char name[128], item[192];
		fit_name(fr->function, 48, name, sizeof(name));
		if (fr->line > 0)
			snprintf(item, sizeof(item), "%s< %s:%d", o ? " " : "", name, fr->line);
		else
			snprintf(item, sizeof(item), "%s< %s", o ? " " : "", name);
		size_t need = strlen(item);
		int last = f + 1 == n;
		if (o + need + (last ? 0 : 6) > max || o + need + 1 > len) {
			if (o + 6 <= max && o + 7 <= len)
				snprintf(buf + o, len - o, "%s< ...", o ? " " : "");
			break;
		}
		memcpy(buf + o, item, need + 1);
		o += need;
	}
	return buf;
}

void lw_json_frames(lw_json *j, const lw_sym_frame *frames, size_t n)
{
	lw_json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		const lw_sym_frame *f = &frames[i];
		lw_json_obj_begin(j);
		lw_json_key(j, "function");
		lw_json_str(j, f->function);
		lw_json_key(j, "file");
		lw_json_str(j, f->file);
		lw_json_key(j, "line");
		lw_json_int(j, f->line);
		lw_json_key(j, "module");
		lw_json_str(j, f->module);
		if (lw_frame_unknown(f) && f->offset) {
			lw_json_key(j, "offset");
			lw_json_int(j, (int64_t)f->offset);
		}
		lw_json_key(j, "inlined");
		lw_json_bool(j, f->inlined);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
}
