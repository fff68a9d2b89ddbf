/*
 * script_watchdog.c - a thread that ends the process when a script's call
 * is stuck in C past its time limit (see script_watchdog.h).
 *
 * One call is watched at a time (scripts run on the engine's one thread).
 * The engine's thread publishes a deadline and a generation; the watchdog
 * fires only if, after describing the call, the same generation is still
 * armed, so a call that returns meanwhile is never blamed.
 */
#include "script_watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t deadline_ms;  /* 0: no call running */
static _Atomic uint64_t generation;   /* one per armed call */
static watchdog_describe_fn *_Atomic describe_fn;
static void *_Atomic describe_ctx;
static _Atomic uint64_t armed_limit_ms;
static _Atomic int watching;          /* this process has its thread */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void fire(const char *what, uint64_t limit_ms)
{
	char msg[1400];
	int n = snprintf(msg, sizeof msg,
	                 "ddbsim: %s: time limit exceeded (%llu ms; lua_time_limit_ms) in a "
	                 "library function that cannot be interrupted; the process stops "
	                 "(what the stores committed stays: `ddbsim drain` recovers the rest)\n",
	                 what, (unsigned long long)limit_ms);
	if (n > 0) {
		size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
		ssize_t w = write(STDERR_FILENO, msg, len);
		(void)w;
	}
	_exit(2);
}

static void *watch(void *arg)
{
	(void)arg;
	const struct timespec tick = { 0, WATCHDOG_TICK_MS * 1000000L };
	for (;;) {
		nanosleep(&tick, NULL);
		uint64_t gen = atomic_load(&generation);
		uint64_t dl = atomic_load(&deadline_ms);
		if (dl == 0 || monotonic_ms() < dl)
			continue;
		char what[1024] = "the script";
		watchdog_describe_fn *fn = atomic_load(&describe_fn);
		if (fn != NULL)
			fn(atomic_load(&describe_ctx), what, sizeof what);
		if (atomic_load(&generation) == gen && atomic_load(&deadline_ms) != 0)
			fire(what, atomic_load(&armed_limit_ms));
	}
	return NULL;
}

/* A forked child has no watchdog thread: it starts its own when it arms. */
static void forked_child(void)
{
	atomic_store(&watching, 0);
	atomic_store(&deadline_ms, 0);
}

/* Starts the thread once per process. */
static int ensure_watcher(void)
{
	static int atfork_registered;
	if (atomic_load(&watching))
		return 0;
	int rc = 0;
	pthread_mutex_lock(&start_lock);
	if (!atfork_registered && pthread_atfork(NULL, NULL, forked_child) == 0)
		atfork_registered = 1;
	if (!atomic_load(&watching)) {
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (atfork_registered && pthread_create(&t, &attr, watch, NULL) == 0)
			atomic_store(&watching, 1);
		else
			rc = -1;
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&start_lock);
	return rc;
}

int watchdog_arm(uint64_t limit_ms, watchdog_describe_fn *describe, void *ctx)
{
	if (ensure_watcher() != 0)
		return -1;
	atomic_store(&describe_fn, describe);
	atomic_store(&describe_ctx, ctx);
	atomic_store(&armed_limit_ms, limit_ms);
	atomic_fetch_add(&generation, 1);
	atomic_store(&deadline_ms, monotonic_ms() + limit_ms + WATCHDOG_GRACE_MS);
	return 0;
}

void watchdog_disarm(void)
{
	atomic_store(&deadline_ms, 0);
	atomic_fetch_add(&generation, 1);
}
