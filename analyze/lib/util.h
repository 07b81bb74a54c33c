/* util.h — every lib/ header at once, for files that use several of them.
 * lib/ holds the analyzer's shared primitives, one concern per file:
 *   arena.h     bump allocator, array growth      hashmap.h  the hash map
 *   strbuf.h    growable text                     text.h     UTF-8, base name, hex
 *   errors.h    error convention, command errors  units.h    human units, their parsers
 *   table.h     aligned text table                json.h     the JSON writer
 *   frame.h     a frame, its label and its JSON   progress.h terminal progress bar
 *   pattern.h   regular expressions               outfile.h  atomic output files
 */
#ifndef LW_ANALYZE_UTIL_H
#define LW_ANALYZE_UTIL_H

#include "arena.h"
#include "errors.h"
#include "frame.h"
#include "hashmap.h"
#include "json.h"
#include "outfile.h"
#include "pattern.h"
#include "progress.h"
#include "strbuf.h"
#include "table.h"
#include "text.h"
#include "units.h"

#endif
