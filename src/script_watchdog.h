/*
 * script_watchdog.h - the last resort against a script stuck in C.
 *
 * The count hook of scenario_limits.c stops a script that runs too many Lua
 * instructions or too long, but a hook runs only between instructions: a
 * library function that loops in C (string.find with a pattern that
 * backtracks without end, say) never returns to the interpreter, so no hook
 * can stop it.  A thread of its own watches each bounded call; when one is
 * still running a grace period after its time limit, it prints what was
 * running and ends the process with exit status 2 at once.  What the stores
 * committed stays (as after kill -9, `ddbsim drain` recovers the rest).
 *
 * Arming and disarming cost two atomic stores, no system call: the thread
 * looks every WATCHDOG_TICK_MS.
 */
#ifndef DDBSIM_SCRIPT_WATCHDOG_H
#define DDBSIM_SCRIPT_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>

/* How long after its time limit a call stuck in C is stopped. */
#define WATCHDOG_GRACE_MS 1000
#define WATCHDOG_TICK_MS 100

/* Writes what is running ("SCRIPT:LINE: in hook rules.order") into buf;
 * called from the watchdog's thread while the call is stuck. */
typedef void watchdog_describe_fn(void *ctx, char *buf, size_t len);

/* A call starts that may run limit_ms of wall time.  0, or -1 when the
 * watchdog's thread cannot be started (the call then runs unwatched, as
 * before: the count hook still bounds everything but C loops). */
int watchdog_arm(uint64_t limit_ms, watchdog_describe_fn *describe, void *ctx);
/* The call returned. */
void watchdog_disarm(void);

#endif
