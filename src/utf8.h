/*
 * utf8.h - UTF-8 checks for text that reaches the JSON report and the
 * stores: names are refused at input when they are not valid UTF-8, and
 * text built from them (a message cut to fit a buffer) is cut on a
 * character boundary or scrubbed before it is written as JSON.
 */
#ifndef DDBSIM_UTF8_H
#define DDBSIM_UTF8_H

#include <stddef.h>

/* Whether the len bytes at s are valid UTF-8: no stray continuation byte,
 * no truncated sequence, no overlong form, no surrogate (U+D800..U+DFFF),
 * nothing above U+10FFFF.  NUL bytes are valid UTF-8 (callers that do not
 * want them check for them). */
int utf8_valid(const char *s, size_t len);

/* The longest prefix of the valid UTF-8 text s (len bytes) that is at most
 * max bytes and does not end inside a character. */
size_t utf8_cut(const char *s, size_t len, size_t max);

/* Replaces each byte of the NUL-terminated s that is not part of a valid
 * UTF-8 character with '?', in place (the length stays the same).  Returns
 * how many bytes it replaced. */
size_t utf8_scrub(char *s);

#endif
