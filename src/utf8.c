/*
 * utf8.c - UTF-8 validation, cutting and scrubbing (see utf8.h).
 */
#include "utf8.h"

#include <string.h>

/* Length of the valid UTF-8 character at s (at most n bytes available), or
 * 0 when the bytes there do not start one.  The ranges are those of RFC 3629
 * (table 3-7 of the Unicode standard). */
static size_t char_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0; /* no overlong form */
		else if (c == 0xED)
			hi = 0x9F; /* no surrogate */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90; /* no overlong form */
		else if (c == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		return 0; /* a continuation byte, C0, C1 or F5..FF */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

int utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = char_len(p + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	/* back over continuation bytes to the start of the character at max */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

size_t utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), i = 0, replaced = 0;
	while (i < len) {
		size_t n = char_len(p + i, len - i);
		if (n == 0) {
			p[i++] = '?';
			replaced++;
		} else {
			i += n;
		}
	}
	return replaced;
}
