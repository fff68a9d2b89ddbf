/*
 * file_read.h - a file read whole, with a bound on its size: the page's
 * files, the report's chart library, a scenario's source for the shrunk
 * copy, a data directory's node states.
 */
#ifndef DDBSIM_FILE_READ_H
#define DDBSIM_FILE_READ_H

#include <stddef.h>

/* Reads path whole into *out (malloc'd, NUL-terminated after its *len
 * bytes; the caller frees it).  0, or -1 with err naming path and why: it
 * cannot be opened (errno says why, e.g. ENOENT), a read error, larger
 * than max bytes, out of memory. */
int file_read_whole(const char *path, size_t max, char **out, size_t *len, char *err,
                    size_t errlen);

#endif
