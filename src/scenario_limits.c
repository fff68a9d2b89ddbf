/*
 * scenario_limits.c - the limits of a scenario script: every call into the
 * script (its top level, each hook, each check) goes through
 * scn_bounded_call().  The state's allocator refuses to grow past the
 * memory limit, and a count hook stops a call that runs too many
 * instructions or too long.  Finalizers (__gc) are refused (see
 * scenario_sandbox.c): Lua runs them with hooks off, where nothing could
 * stop one.  A library function that loops in C (a pattern that backtracks
 * for ever) is out of a hook's reach: script_watchdog.c ends the process
 * when a call is stuck past its limit.
 */
#include "scenario_int.h"
#include "script_watchdog.h"

#include <lauxlib.h>
#include <lua.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- limits ---------------------------------------------------------------- */

void scenario_limits_init(struct scenario_limits *l)
{
	l->memory_bytes = (size_t)SCENARIO_MEMORY_MB_DEFAULT << 20;
	l->instructions = SCENARIO_INSTRUCTIONS_DEFAULT;
	l->time_ms = SCENARIO_TIME_MS_DEFAULT;
}

const char *scenario_fatal(const struct scenario *sc)
{
	return sc->has_fatal ? sc->fatal : NULL;
}

static void count_hook(lua_State *L, lua_Debug *ar);

/* The Lua state's allocator.  It counts what the state holds and, while a
 * bounded call runs, never lets it grow past mem_hard.  Past the memory
 * limit itself (below mem_hard) it lets the allocation through and asks
 * for the count hook at the next instruction, which collects garbage and
 * stops the call if the state still holds too much: so that error names
 * the line.  A refused allocation raises "not enough memory" in the script
 * (which an emergency collection may still avoid: Lua then retries the same
 * allocation). */
void *scn_bounded_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct scenario *sc = ud;
	if (ptr == NULL)
		osize = 0; /* then osize is the kind of object, not a size */
	if (nsize == 0) {
		free(ptr);
		sc->mem_used -= osize;
		return NULL;
	}
	if (sc->armed && nsize > osize) {
		size_t room = sc->mem_used < sc->mem_hard ? sc->mem_hard - sc->mem_used : 0;
		if (nsize - osize > room) {
			sc->mem_refused = 1;
			sc->refused_block = ptr;
			sc->refused_size = nsize;
			/* If the script catches the error, the hook stops it at once. */
			if (sc->L != NULL)
				lua_sethook(sc->L, count_hook, LUA_MASKCOUNT, 1);
			return NULL;
		}
	}
	void *p = realloc(ptr, nsize);
	if (p == NULL) {
		if (sc->armed) { /* the machine's memory ran out first: the same end */
			sc->mem_refused = 1;
			sc->refused_block = ptr;
			sc->refused_size = nsize;
		}
		return NULL;
	}
	sc->mem_used = sc->mem_used - osize + nsize;
	if (sc->mem_refused && ptr == sc->refused_block && nsize == sc->refused_size)
		sc->mem_refused = 0; /* the retry after an emergency collection worked */
	if (sc->armed && !sc->mem_over && sc->mem_used > sc->limits.memory_bytes &&
	    sc->L != NULL) {
		sc->mem_over = 1;
		/* lua_sethook is safe anywhere (even in a signal handler). */
		lua_sethook(sc->L, count_hook, LUA_MASKCOUNT, 1);
	}
	return p;
}

int scn_panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	fprintf(stderr, "ddbsim: Lua error outside a protected call: %s\n",
	        msg ? msg : "(not a string)");
	return 0; /* Lua aborts */
}

void scn_memory_exceeded(const struct scenario *sc, char *out, size_t outlen)
{
	size_t b = sc->limits.memory_bytes;
	if (b % ((size_t)1 << 20) == 0)
		set_msg(out, outlen, "memory limit exceeded (%zu MiB; lua_memory_mb)", b >> 20);
	else
		set_msg(out, outlen, "memory limit exceeded (%zu bytes)", b);
}

/* Records that the current call went past a limit: "SRC:LINE: in WHAT: why",
 * at the position given, else at the current hook's definition, else the
 * script's path alone. */
void scn_set_fatal(struct scenario *sc, const char *src, int line, const char *why)
{
	const struct hook *h = sc->what_hook;
	const char *what = sc->what ? sc->what : "the script";
	if (src != NULL && line > 0)
		set_msg(sc->fatal, sizeof sc->fatal, "%s:%d: in %s: %s", src, line, what, why);
	else if (h != NULL && h->src != NULL && h->line > 0)
		set_msg(sc->fatal, sizeof sc->fatal, "%s:%d: in %s: %s", h->src, h->line, what, why);
	else
		set_msg(sc->fatal, sizeof sc->fatal, "%s: in %s: %s", sc->info.path, what, why);
	sc->has_fatal = 1;
}

static uint64_t elapsed_ms(const struct scenario *sc)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(now.tv_sec - sc->started.tv_sec) * 1000 +
	             (now.tv_nsec - sc->started.tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

/* The position of the innermost Lua code that called the running C
 * function (through pcall, say): *src NULL when there is none. */
void scn_caller_position(lua_State *L, lua_Debug *ar, const char **src, int *line)
{
	*src = NULL;
	*line = 0;
	for (int level = 1; lua_getstack(L, level, ar); level++) {
		if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
			*src = ar->source[0] == '@' ? ar->source + 1 : ar->short_src;
			*line = ar->currentline;
			return;
		}
	}
}

/* Whether the current call is past a limit, with why in why[] (after a
 * full collection when it holds too much memory). */
static int past_limit(struct scenario *sc, lua_State *L, char *why, size_t whylen)
{
	why[0] = '\0';
	if (sc->mem_over && !sc->mem_refused) {
		lua_gc(L, LUA_GCCOLLECT, 0);
		if (sc->mem_used <= sc->limits.memory_bytes)
			sc->mem_over = 0;
	}
	if (sc->mem_over || sc->mem_refused)
		scn_memory_exceeded(sc, why, whylen);
	else if (sc->instructions > sc->limits.instructions)
		set_msg(why, whylen, "instruction limit exceeded (%llu instructions; "
		        "lua_instruction_limit)", (unsigned long long)sc->limits.instructions);
	else if (elapsed_ms(sc) > sc->limits.time_ms)
		set_msg(why, whylen, "time limit exceeded (%llu ms; lua_time_limit_ms)",
		        (unsigned long long)sc->limits.time_ms);
	return why[0] != '\0';
}

/* Raises the error of scenario_fatal() in L, and makes the count hook run
 * at every instruction from now on: a pcall in the script catches the
 * error, but the next instruction outside the pcall raises it again. */
_Noreturn void scn_raise_fatal(struct scenario *sc, lua_State *L)
{
	if (lua_gethookcount(L) != 1)
		lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
	sc->armed = 0; /* the message may need memory */
	lua_pushstring(L, sc->fatal);
	sc->armed = 1;
	lua_error(L);
	abort(); /* not reached: lua_error does not return */
}

/* Runs every HOOK_EVERY instructions of a bounded call (every instruction
 * once a limit is exceeded), in every coroutine (they inherit it). */
static void count_hook(lua_State *L, lua_Debug *ar)
{
	struct scenario *sc = scenario_of(L);
	int every = lua_gethookcount(L);
	if (!sc->armed)
		return;
	sc->instructions += (uint64_t)every;
	char why[160];
	if (!sc->has_fatal) {
		if (!past_limit(sc, L, why, sizeof why)) {
			if (every != HOOK_EVERY)
				lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
			return;
		}
		const char *src = NULL;
		int line = 0;
		if (lua_getinfo(L, "Sl", ar)) {
			src = ar->source[0] == '@' ? ar->source + 1 : ar->short_src;
			line = ar->currentline;
		}
		scn_set_fatal(sc, src, line, why);
	}
	scn_raise_fatal(sc, L);
}

/* Work done in C for the script (table.move): n units count as n
 * instructions, and the limits are checked as the count hook does, with the
 * position of the Lua code that called the C function. */
void scn_charge(lua_State *L, uint64_t n)
{
	struct scenario *sc = scenario_of(L);
	if (!sc->armed)
		return;
	sc->instructions += n;
	char why[160];
	if (!sc->has_fatal) {
		if (!past_limit(sc, L, why, sizeof why))
			return;
		lua_Debug ar;
		const char *src;
		int line;
		scn_caller_position(L, &ar, &src, &line);
		scn_set_fatal(sc, src, line, why);
	}
	scn_raise_fatal(sc, L);
}

/* What the watchdog names when a call is stuck in C: the hook's definition,
 * else the script. */
static void describe_call(void *ctx, char *buf, size_t len)
{
	const struct scenario *sc = ctx;
	const struct hook *h = sc->what_hook;
	const char *what = sc->what ? sc->what : "the script";
	if (h != NULL && h->src != NULL && h->line > 0)
		snprintf(buf, len, "%s:%d: in %s", h->src, h->line, what);
	else
		snprintf(buf, len, "%s: in %s", sc->info.path, what);
}

/* lua_pcall (with the message handler at index 1) of the function below
 * its nargs arguments, within the limits: the memory limit applies and the
 * count hook stops a call that runs too many instructions or too long.
 * what (and h, for its position) name the call in a message.  When the call
 * went past a limit, even if the script caught the error, it fails with
 * the message of scenario_fatal() on the stack; so does every call after
 * that, without running. */
int scn_bounded_call(struct scenario *sc, int nargs, int nresults, const char *what,
                     const struct hook *h)
{
	lua_State *L = sc->L;
	int base = lua_gettop(L) - nargs - 1;
	if (sc->has_fatal) {
		lua_settop(L, base);
		lua_pushstring(L, sc->fatal);
		return LUA_ERRRUN;
	}
	sc->what = what;
	sc->what_hook = h;
	sc->instructions = 0;
	sc->mem_over = sc->mem_refused = 0;
	clock_gettime(CLOCK_MONOTONIC, &sc->started);
	lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	sc->armed = 1;
	watchdog_arm(sc->limits.time_ms, describe_call, sc);
	int status = lua_pcall(L, nargs, nresults, 1);
	watchdog_disarm();
	sc->armed = 0;
	if (!sc->has_fatal && sc->mem_over && !sc->mem_refused) {
		lua_gc(L, LUA_GCCOLLECT, 0); /* garbage, or too much kept? */
		sc->mem_over = sc->mem_used > sc->limits.memory_bytes;
	}
	if (!sc->has_fatal && (status == LUA_ERRMEM || sc->mem_refused || sc->mem_over)) {
		char why[160];
		scn_memory_exceeded(sc, why, sizeof why);
		scn_set_fatal(sc, NULL, 0, why);
	}
	sc->mem_over = sc->mem_refused = 0;
	sc->what = NULL;
	sc->what_hook = NULL;
	if (!sc->has_fatal)
		return status;
	lua_settop(L, base);
	lua_pushstring(L, sc->fatal);
	return LUA_ERRRUN;
}
