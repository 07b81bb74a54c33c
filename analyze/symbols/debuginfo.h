/* debuginfo.h — where the debug information of a module comes from, so a
 * report that shows "??" frames can say how to get it.
 *
 * Debian installs each package's debug information as a separate package:
 * `<package>-dbgsym` in the debian-debug archive, with the files under
 * /usr/lib/debug/.build-id/, which libdwfl finds by build-id (as does a
 * debuginfod server named in DEBUGINFOD_URLS, e.g. debuginfod.debian.net).
 * This module answers which installed package a module file belongs to,
 * from dpkg's own file lists; nothing here prints or uses the network.
 */
#ifndef LW_DEBUGINFO_H
#define LW_DEBUGINFO_H

#include <stddef.h>

/* The Debian package (without ":arch") that installed `path`, found in
 * dpkg's file lists (the <package>.list files in dpkg_info; NULL: /var/lib/dpkg/info). A path
 * under /usr is also looked up without the /usr prefix (merged /usr: the
 * lists name /lib/... for /usr/lib/...). Returns 1 and fills pkg, or 0 when
 * no package owns it or there is no dpkg database. */
int lw_debuginfo_package(const char *path, const char *dpkg_info, char *pkg, size_t len);

/* The name of the package holding the debug information of `package` in
 * Debian's debug archive: "<package>-dbgsym". */
void lw_debuginfo_dbgsym(const char *package, char *out, size_t len);

#endif
