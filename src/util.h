/*
 * util.h - small helpers shared by core files: bounded string copies,
 * error formatting and the wall clock.  Errors travel as values with a message; nothing here
 * prints or exits.
 */
#ifndef DDBSIM_UTIL_H
#define DDBSIM_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Copies src into dst[size]; returns 0, or -1 when src did not fit (dst then
 * holds a truncated copy). */
static inline int copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* Formats a message into err[len]; returns -1 so callers can write
 * `return errorf(err, len, ...)`. */
__attribute__((format(printf, 3, 4))) static inline int errorf(char *err, size_t len,
                                                                const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Seconds on the monotonic wall clock (for durations, not for the run's
 * virtual time). */
static inline double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define US_PER_S 1000000LL

#endif
