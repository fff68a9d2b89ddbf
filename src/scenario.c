/*
 * scenario.c - runs a Lua 5.4 scenario script in a sandbox, turns the table
 * it returns into a struct scenario_info, and calls its hooks for the
 * engine (workload.rate, workload.order, rules.order, checks).
 *
 * The Lua state keeps its message handler at stack index 1 for its whole
 * life; every entry point leaves the stack at that height.  Hooks are kept
 * in the registry (luaL_ref), region names too, so that a call per order
 * does no table lookups by name and no C allocation.
 *
 * Validation reads the returned table raw (no metamethods) and always in a
 * deterministic order: keys of maps are sorted, and an error names the
 * smallest offending key, so a script gives the same message on every run
 * even though Lua randomizes the order of pairs() per process.
 *
 * Every call into the script (its top level, each hook, each check) goes
 * through bounded_call(): the state's allocator refuses to grow past the
 * memory limit, and a count hook stops a call that runs too many
 * instructions or too long.  Finalizers (__gc) are refused: Lua runs them
 * with hooks off, where nothing could stop one.  A library function that
 * loops in C (a pattern that backtracks for ever) is out of a hook's reach:
 * script_watchdog.c ends the process when a call is stuck past its limit.
 */
#include "scenario.h"
#include "prng.h"
#include "script_watchdog.h"
#include "utf8.h"

#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Times in a script: seconds, 0 <= t <= TIME_MAX_S (fits microseconds in a
 * double exactly). */
#define TIME_MAX_S 1e9
/* Stock, restock and component quantities: 0 or 1 <= q <= QTY_MAX. */
#define QTY_MAX SCENARIO_UNITS_MAX

#define DEFAULT_DURATION_S 60.0
#define DEFAULT_CUSTOMER "guest"
#define DEFAULT_REASON "rejected"

/* The count hook runs every HOOK_EVERY instructions of a call. */
#define HOOK_EVERY 1000

/* A Lua function the engine calls, and where it was defined (for errors
 * about what it returned). */
struct hook {
	int ref;         /* LUA_NOREF: none */
	const char *src; /* the function's source (a path); owned by the Lua state */
	int line;        /* where it was defined */
};

struct check {
	char *name;
	struct hook fn;
};

enum rate_kind { RATE_NUMBER = 1, RATE_TABLE, RATE_FUNCTION };

/* The field names of an order table, interned once and kept in the
 * registry: pushing a key by ref skips the lookup of a C string. */
enum order_key { K_ID, K_REGION, K_CUSTOMER, K_SKU, K_QUANTITY, K_UNIT_PRICE, K_PLACED_AT, K_N };
static const char *const order_key_names[K_N] = { "id",       "region",     "customer", "sku",
                                                  "quantity", "unit_price", "placed_at" };

struct scenario {
	struct scenario_info info;
	lua_State *L;
	struct prng *rng;
	int64_t now_us;
	char *dir;     /* the script's directory: require looks here first */
	char *pkg_dir; /* then here (may be NULL) */
	char **chunks; /* full paths of the modules loaded, for messages */
	size_t n_chunks;
	int *region_refs; /* region names as Lua strings, by region index */
	int rate_kind;
	double rate;   /* RATE_NUMBER */
	double *rates; /* RATE_TABLE, by region index */
	struct hook rate_fn;
	struct hook order_fn;
	struct hook rule_fn;
	struct check *checks; /* sorted by name */
	size_t n_checks;
	int keys[K_N]; /* order_key -> registry ref of the name */
	int has_customers;
	double customer_rate;           /* when customer_rate_fn is unset */
	struct hook customer_rate_fn;
	struct hook customer_op_fn;
	struct hook home_fn;            /* rules.customer_home */
	struct hook replicas_fn;        /* rules.customer_replicas */
	size_t replication;             /* replicas per customer without the rule */
	const char *(*node_state)(void *ctx, const char *node);
	void *node_ctx;
	const struct ddb_option *params; /* --param NAME=VALUE, for ddbsim.param */
	size_t n_params;
	unsigned char *param_read;       /* which params the script asked for */
	int64_t units_total;             /* stock in every region + restocks so far */

	/* The limits (see bounded_call). */
	struct scenario_limits limits;
	size_t mem_used;              /* bytes the Lua state holds */
	size_t mem_hard;              /* the memory limit and some slack: never more */
	int armed;                    /* a bounded call runs: the memory limit applies */
	int mem_over;                 /* past the memory limit: the count hook collects and checks */
	int mem_refused;              /* an allocation refused and not retried with success */
	const void *refused_block;    /* ... which one */
	size_t refused_size;
	uint64_t instructions;        /* run by the current call (HOOK_EVERY at a time) */
	struct timespec started;      /* when the current call started */
	const char *what;             /* the current call, e.g. "hook rules.order" */
	const struct hook *what_hook; /* its hook (for a position), or NULL */
	int has_fatal;                /* a call went past a limit: */
	char fatal[1024];             /* "SCRIPT:LINE: in WHAT: ... limit exceeded (...)" */
};

/* ---- small helpers -------------------------------------------------------- */

static void set_msg(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(char *buf, size_t len, const char *fmt, ...)
{
	if (buf == NULL || len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void clear_msg(char *buf, size_t len)
{
	if (buf != NULL && len > 0)
		buf[0] = '\0';
}

/* Copies a validated string into a fixed field, zero-filling the rest so
 * that the record's bytes are deterministic. */
static void copy_field(char *dst, size_t dstsize, const char *src, size_t len)
{
	memcpy(dst, src, len);
	memset(dst + len, 0, dstsize - len);
}

static double now_s(const struct scenario *sc)
{
	return (double)sc->now_us / 1e6;
}

/* Length of the "chunk:line" prefix of a Lua error message ("x.lua:12: boom"
 * -> 8), or 0 when the message carries no position. */
static size_t position_len(const char *msg)
{
	for (const char *p = strchr(msg, ':'); p != NULL; p = strchr(p + 1, ':')) {
		const char *q = p + 1;
		if (p == msg || !isdigit((unsigned char)*q))
			continue;
		while (isdigit((unsigned char)*q))
			q++;
		if (q[0] == ':' && q[1] == ' ')
			return (size_t)(q - msg);
	}
	return 0;
}

/* Lua shortens a long chunk name to "..." and its last LUA_IDSIZE - 4 bytes;
 * put the full path of a known chunk back. */
static void unshorten(const struct scenario *sc, const char *msg, char *out, size_t outlen)
{
	const size_t keep = LUA_IDSIZE - 4;
	if (strncmp(msg, "...", 3) == 0) {
		for (size_t i = 0; i <= sc->n_chunks; i++) {
			const char *p = i == 0 ? sc->info.path : sc->chunks[i - 1];
			size_t n = strlen(p);
			if (n >= LUA_IDSIZE && strncmp(msg + 3, p + n - keep, keep) == 0) {
				snprintf(out, outlen, "%s%s", p, msg + 3 + keep);
				return;
			}
		}
	}
	snprintf(out, outlen, "%s", msg);
}

/* "SCRIPT:LINE: in WHAT: message", from the error message msg (which names
 * the erroring frame, see msgh) or, when it has no position, from the
 * position of the hook's definition. */
static void format_hook_error(const struct scenario *sc, const struct hook *h, const char *what,
                              const char *msg, char *out, size_t outlen)
{
	if (sc->has_fatal) { /* a limit exceeded: that is the error, with its own position */
		set_msg(out, outlen, "%s", sc->fatal);
		return;
	}
	char buf[1024];
	unshorten(sc, msg, buf, sizeof buf);
	size_t p = position_len(buf);
	if (p > 0)
		set_msg(out, outlen, "%.*s: in %s: %s", (int)p, buf, what, buf + p + 2);
	else if (h != NULL && h->src != NULL && h->line > 0)
		set_msg(out, outlen, "%s:%d: in %s: %s", h->src, h->line, what, buf);
	else
		set_msg(out, outlen, "%s: in %s: %s", sc->info.path, what, buf);
}

/* The error message at the top of the stack after a failed lua_pcall. */
static const char *error_text(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	return msg != NULL ? msg : "(error object is not a string)";
}

static void hook_error(const struct scenario *sc, const struct hook *h, const char *what,
                       char *out, size_t outlen)
{
	format_hook_error(sc, h, what, error_text(sc->L), out, outlen);
}

/* An unusable value returned by a hook: named with the hook's position. */
static void hook_fail(const struct scenario *sc, const struct hook *h, const char *what, char *out,
                      size_t outlen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void hook_fail(const struct scenario *sc, const struct hook *h, const char *what, char *out,
                      size_t outlen, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (h != NULL && h->src != NULL && h->line > 0)
		set_msg(out, outlen, "%s:%d: in %s: %s", h->src, h->line, what, buf);
	else
		set_msg(out, outlen, "%s: in %s: %s", sc->info.path, what, buf);
}

/* The message handler of every pcall: makes the error a string and gives it
 * the position of the innermost Lua frame when it has none (error(x, 0),
 * error({}), errors raised by C functions without a position). */
static int msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	if (position_len(msg) == 0) {
		lua_Debug ar;
		for (int level = 1; lua_getstack(L, level, &ar); level++) {
			if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
				const char *src = ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
				lua_pushfstring(L, "%s:%d: %s", src, ar.currentline, msg);
				return 1;
			}
		}
	}
	lua_pushstring(L, msg);
	return 1;
}

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
static void *bounded_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
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

static int l_panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	fprintf(stderr, "ddbsim: Lua error outside a protected call: %s\n",
	        msg ? msg : "(not a string)");
	return 0; /* Lua aborts */
}

static void memory_exceeded(const struct scenario *sc, char *out, size_t outlen)
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
static void set_fatal(struct scenario *sc, const char *src, int line, const char *why)
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

static struct scenario *scenario_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* The position of the innermost Lua code that called the running C
 * function (through pcall, say): *src NULL when there is none. */
static void caller_position(lua_State *L, lua_Debug *ar, const char **src, int *line)
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
		memory_exceeded(sc, why, whylen);
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
static _Noreturn void raise_fatal(struct scenario *sc, lua_State *L)
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
		set_fatal(sc, src, line, why);
	}
	raise_fatal(sc, L);
}

/* Work done in C for the script (table.move): n units count as n
 * instructions, and the limits are checked as the count hook does, with the
 * position of the Lua code that called the C function. */
static void charge(lua_State *L, uint64_t n)
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
		caller_position(L, &ar, &src, &line);
		set_fatal(sc, src, line, why);
	}
	raise_fatal(sc, L);
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
static int bounded_call(struct scenario *sc, int nargs, int nresults, const char *what,
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
		memory_exceeded(sc, why, sizeof why);
		set_fatal(sc, NULL, 0, why);
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

/* ---- prices and quantities ------------------------------------------------ */

int scenario_price_cents(double units, int64_t *cents)
{
	if (!isfinite(units) || units < 0 || units > (double)(SCENARIO_PRICE_MAX_CENTS / 100))
		return -1;
	if (units == 0) {
		*cents = 0;
		return 0;
	}
	/* The 15 significant digits a double always keeps from its decimal
	 * literal: round the decimal the script wrote, not the binary
	 * approximation (0.285 -> 29 cents, 1.005 -> 101). */
	char buf[64];
	snprintf(buf, sizeof buf, "%.14e", units);
	const char *p = buf;
	uint64_t digits = 0;
	for (; *p != 'e' && *p != '\0'; p++)
		if (isdigit((unsigned char)*p))
			digits = digits * 10 + (uint64_t)(*p - '0');
	if (*p != 'e')
		return -1;
	int e10 = atoi(p + 1);
	int shift = e10 - 14 + 2; /* cents = digits * 10^shift */
	uint64_t c;
	if (shift >= 0) {
		c = digits;
		for (int i = 0; i < shift; i++)
			c *= 10; /* bounded: units <= SCENARIO_PRICE_MAX_CENTS / 100 */
	} else if (shift < -16) {
		c = 0;
	} else {
		uint64_t div = 1;
		for (int i = 0; i < -shift; i++)
			div *= 10;
		c = digits / div;
		if ((digits % div) * 2 >= div) /* half away from zero */
			c++;
	}
	if (c > (uint64_t)SCENARIO_PRICE_MAX_CENTS)
		return -1;
	*cents = (int64_t)c;
	return 0;
}

/* An order quantity (from workload.order or rules.order): any integer is
 * passed through (the core validates it), a float only with an exact
 * integer value in the int64 range. */
static int order_quantity(lua_State *L, int idx, int64_t *q, char *msg, size_t msglen)
{
	if (lua_type(L, idx) != LUA_TNUMBER) {
		set_msg(msg, msglen, "quantity: must be an integer, got a %s", luaL_typename(L, idx));
		return -1;
	}
	if (lua_isinteger(L, idx)) {
		*q = (int64_t)lua_tointeger(L, idx);
		return 0;
	}
	double x = (double)lua_tonumber(L, idx);
	if (!isfinite(x) || x != floor(x)) {
		set_msg(msg, msglen, "quantity: must be an integer, got %.14g", x);
		return -1;
	}
	if (x < -9223372036854775808.0 || x >= 9223372036854775808.0) {
		set_msg(msg, msglen, "quantity: %.14g is out of the 64-bit integer range", x);
		return -1;
	}
	*q = (int64_t)x;
	return 0;
}

/* A string for a fixed field of size max (bytes, with the NUL). */
static int field_string(lua_State *L, int idx, const char *field, size_t max, const char **s,
                        size_t *len, char *msg, size_t msglen)
{
	if (lua_type(L, idx) != LUA_TSTRING) {
		set_msg(msg, msglen, "%s: must be a string, got a %s", field, luaL_typename(L, idx));
		return -1;
	}
	*s = lua_tolstring(L, idx, len);
	if (*len == 0) {
		set_msg(msg, msglen, "%s: must not be empty", field);
		return -1;
	}
	if (*len >= max) {
		set_msg(msg, msglen, "%s: too long (%zu bytes, at most %zu)", field, *len, max - 1);
		return -1;
	}
	if (memchr(*s, '\0', *len) != NULL) {
		set_msg(msg, msglen, "%s: must not contain a NUL byte", field);
		return -1;
	}
	if (!utf8_valid(*s, *len)) { /* it reaches the stores and the JSON report */
		set_msg(msg, msglen, "%s: not valid UTF-8", field);
		return -1;
	}
	return 0;
}

/* ---- the sandbox ---------------------------------------------------------- */

/* print and ddbsim.log: to stderr, "[lua] " and the arguments separated by
 * tabs. */
static int l_log(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	luaL_addstring(&b, "[lua] ");
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_addchar(&b, '\n');
	luaL_pushresult(&b);
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	fwrite(s, 1, len, stderr);
	fflush(stderr);
	return 0;
}

static int l_now(lua_State *L)
{
	const struct scenario *sc = lua_touserdata(L, lua_upvalueindex(1));
	lua_pushnumber(L, (lua_Number)now_s(sc));
	return 1;
}

/* math.random with Lua 5.4's argument rules, drawing from the run's PRNG. */
static int l_random(lua_State *L)
{
	struct prng *rng = lua_touserdata(L, lua_upvalueindex(1));
	lua_Integer lo, hi;
	switch (lua_gettop(L)) {
	case 0:
		lua_pushnumber(L, (lua_Number)prng_double(rng));
		return 1;
	case 1:
		lo = 1;
		hi = luaL_checkinteger(L, 1);
		if (hi == 0) { /* math.random(0): a whole random integer */
			lua_pushinteger(L, (lua_Integer)prng_next(rng));
			return 1;
		}
		break;
	case 2:
		lo = luaL_checkinteger(L, 1);
		hi = luaL_checkinteger(L, 2);
		break;
	default:
		return luaL_error(L, "wrong number of arguments");
	}
	luaL_argcheck(L, lo <= hi, 1, "interval is empty");
	lua_pushinteger(L, (lua_Integer)prng_range(rng, (int64_t)lo, (int64_t)hi));
	return 1;
}

static int l_randomseed(lua_State *L)
{
	return luaL_error(L, "math.randomseed is not available: the run's PRNG is seeded once "
	                     "for everything (use --seed)");
}

/* setmetatable as in the base library, but a metatable with __gc is
 * refused: Lua runs a finalizer with hooks off, at a time the garbage
 * collector chooses (or at lua_close), where no limit could stop it.  The
 * attempt is treated as going past a limit: it stops the run. */
static int l_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		int has_gc = lua_rawget(L, 2) != LUA_TNIL;
		lua_pop(L, 1);
		if (has_gc) {
			static const char why[] = "setmetatable: __gc is not available in a scenario "
			                          "(a finalizer runs when the garbage collector "
			                          "chooses, where no limit could stop it)";
			struct scenario *sc = scenario_of(L);
			if (!sc->armed)
				return luaL_error(L, "%s", why);
			if (!sc->has_fatal) {
				lua_Debug ar;
				const char *src;
				int line;
				caller_position(L, &ar, &src, &line);
				set_fatal(sc, src, line, why);
			}
			raise_fatal(sc, L);
		}
	}
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

/* string.rep, but an empty result is made at once: Lua 5.4 copies the
 * empty string n times (string.rep("", 1e15) runs for days in C, where no
 * hook can stop it). */
static int l_string_rep(lua_State *L)
{
	size_t l, lsep;
	luaL_checklstring(L, 1, &l);
	lua_Integer n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (n <= 0 || l + lsep == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* Whether the value at arg can be read (or written) by index: a table, or
 * a value whose metatable has __index (and __newindex). */
static void check_indexable(lua_State *L, int arg, int write)
{
	if (lua_type(L, arg) == LUA_TTABLE)
		return;
	int ok = lua_getmetatable(L, arg);
	if (ok) {
		lua_pushliteral(L, "__index");
		ok = lua_rawget(L, -2) != LUA_TNIL;
		lua_pop(L, 1);
		if (ok && write) {
			lua_pushliteral(L, "__newindex");
			ok = lua_rawget(L, -2) != LUA_TNIL;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (!ok)
		luaL_checktype(L, arg, LUA_TTABLE); /* the usual error */
}

/* table.move as in Lua 5.4, but each element moved counts as an
 * instruction: table.move({}, 1, 1e15, 2) would loop in C for days. */
static int l_table_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2);
	lua_Integer e = luaL_checkinteger(L, 3);
	lua_Integer t = luaL_checkinteger(L, 4);
	int tt = !lua_isnoneornil(L, 5) ? 5 : 1; /* the destination */
	check_indexable(L, 1, 0);
	check_indexable(L, tt, 1);
	if (e >= f) {
		luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
		lua_Integer n = e - f + 1;
		luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
		int forward = t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ));
		for (lua_Integer k = 0; k < n; k++) {
			lua_Integer i = forward ? k : n - 1 - k;
			if (k % HOOK_EVERY == HOOK_EVERY - 1)
				charge(L, HOOK_EVERY);
			lua_geti(L, 1, f + i);
			lua_seti(L, tt, t + i);
		}
	}
	lua_pushvalue(L, tt);
	return 1;
}

/* load, text chunks only. */
static int l_load(lua_State *L)
{
	luaL_checkany(L, 1);
	if (lua_gettop(L) < 3)
		lua_settop(L, 3); /* an absent env (argument 4) stays absent */
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static int valid_module_name(const char *name, size_t len)
{
	/* ^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$ */
	if (len == 0 || len > 200)
		return 0;
	int prev_dot = 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (prev_dot)
				return 0;
			prev_dot = 1;
		} else if (isalnum(c) || c == '_') {
			prev_dot = 0;
		} else {
			return 0;
		}
	}
	return !prev_dot;
}

/* Raises "SCRIPT:LINE: message" with the position of the Lua code that
 * called require (level 0: the searcher, 1: require, 2...: the caller, or
 * pcall when require was called through it). */
static int raise_at_caller(lua_State *L, const char *fmt, ...)
{
	lua_Debug ar;
	lua_pushliteral(L, "");
	for (int level = 2; lua_getstack(L, level, &ar); level++) {
		if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
			lua_pop(L, 1);
			lua_pushfstring(L, "%s:%d: ", ar.source[0] == '@' ? ar.source + 1 : ar.short_src,
			                ar.currentline);
			break;
		}
	}
	va_list ap;
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 2);
	return lua_error(L);
}

/* ddbsim.param(name [, default]): the value of --param NAME=VALUE, as a
 * number when the default is a number, else as a string; the default when
 * it was not given. */
/* ddbsim.node_state(name): "up", "down" or "slow" as the engine sees it
 * now ("up" outside a run). */
static int l_node_state(lua_State *L)
{
	struct scenario *sc = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	const char *state = sc->node_state ? sc->node_state(sc->node_ctx, name) : "up";
	if (state == NULL)
		return luaL_error(L, "ddbsim.node_state: no node \"%s\"", name);
	lua_pushstring(L, state);
	return 1;
}

static int l_param(lua_State *L)
{
	struct scenario *sc = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	for (size_t i = 0; i < sc->n_params; i++) {
		if (strcmp(sc->params[i].key, name) != 0)
			continue;
		sc->param_read[i] = 1;
		const char *value = sc->params[i].value;
		if (lua_type(L, 2) == LUA_TNUMBER) {
			if (lua_stringtonumber(L, value) == 0)
				return luaL_error(L, "parameter %s: '%s' is not a number", name, value);
			return 1;
		}
		lua_pushstring(L, value);
		return 1;
	}
	lua_settop(L, 2);
	return 1;
}

/* The one searcher after package.preload: NAME.lua (dots are directories)
 * in the script's directory, then in pkg_dir.  Nothing else. */
static int l_searcher(lua_State *L)
{
	struct scenario *sc = lua_touserdata(L, lua_upvalueindex(1));
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);
	if (!valid_module_name(name, len) || memchr(name, '\0', len) != NULL)
		return raise_at_caller(L, "require: module name '%s' refused: a module name is "
		                          "letters, digits and '_', in parts separated by dots, at "
		                          "most 200 bytes", name);
	const char *dirs[2] = { sc->dir, sc->pkg_dir };
	int ndirs = (sc->pkg_dir != NULL && strcmp(sc->pkg_dir, sc->dir) != 0) ? 2 : 1;
	for (int d = 0; d < ndirs; d++) {
		size_t dl = strlen(dirs[d]);
		const char *sep = (dl > 0 && dirs[d][dl - 1] == '/') ? "" : "/";
		luaL_Buffer b;
		luaL_buffinit(L, &b);
		luaL_addstring(&b, dirs[d]);
		luaL_addstring(&b, sep);
		for (size_t i = 0; i < len; i++)
			luaL_addchar(&b, name[i] == '.' ? '/' : name[i]);
		luaL_addstring(&b, ".lua");
		luaL_pushresult(&b);
		const char *path = lua_tostring(L, -1);
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			lua_pop(L, 1);
			continue;
		}
		fclose(f);
		char **grown = realloc(sc->chunks, (sc->n_chunks + 1) * sizeof *grown);
		if (grown == NULL)
			return luaL_error(L, "not enough memory");
		sc->chunks = grown;
		if ((sc->chunks[sc->n_chunks] = strdup(path)) == NULL)
			return luaL_error(L, "not enough memory");
		sc->n_chunks++;
		if (luaL_loadfilex(L, path, "t") != LUA_OK)
			return lua_error(L); /* "PATH:LINE: message" */
		lua_insert(L, -2); /* loader, then its extra value: the path */
		return 2;
	}
	if (ndirs == 2)
		return raise_at_caller(L, "module '%s' not found in %s or %s", name, sc->dir,
		                       sc->pkg_dir);
	return raise_at_caller(L, "module '%s' not found in %s", name, sc->dir);
}

static int setup_sandbox(lua_State *L)
{
	struct scenario *sc = lua_touserdata(L, 1);
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },          { LUA_LOADLIBNAME, luaopen_package },
		{ LUA_COLIBNAME, luaopen_coroutine }, { LUA_TABLIBNAME, luaopen_table },
		{ LUA_STRLIBNAME, luaopen_string },   { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },    { NULL, NULL },
	};
	for (const luaL_Reg *lib = libs; lib->func != NULL; lib++) {
		luaL_requiref(L, lib->name, lib->func, 1);
		lua_pop(L, 1);
	}
	lua_pushglobaltable(L);
	int g = lua_gettop(L);

	/* base: no file access, text chunks only, print goes to the log */
	lua_pushnil(L);
	lua_setfield(L, g, "dofile");
	lua_pushnil(L);
	lua_setfield(L, g, "loadfile");
	lua_getfield(L, g, "load");
	lua_pushcclosure(L, l_load, 1);
	lua_setfield(L, g, "load");
	lua_pushcfunction(L, l_log);
	lua_setfield(L, g, "print");
	lua_pushcfunction(L, l_setmetatable);
	lua_setfield(L, g, "setmetatable");

	lua_getfield(L, g, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_getfield(L, -1, "rep");
	lua_pushcclosure(L, l_string_rep, 1);
	lua_setfield(L, -2, "rep");
	lua_pop(L, 1);

	lua_getfield(L, g, "table");
	lua_pushcfunction(L, l_table_move);
	lua_setfield(L, -2, "move");
	lua_pop(L, 1);

	lua_getfield(L, g, "math");
	lua_pushlightuserdata(L, sc->rng);
	lua_pushcclosure(L, l_random, 1);
	lua_setfield(L, -2, "random");
	lua_pushcfunction(L, l_randomseed);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);

	/* package: Lua modules from two directories, no C modules */
	lua_getfield(L, g, "package");
	int pkg = lua_gettop(L);
	lua_pushnil(L);
	lua_setfield(L, pkg, "loadlib");
	lua_pushnil(L);
	lua_setfield(L, pkg, "searchpath");
	lua_pushliteral(L, "");
	lua_setfield(L, pkg, "path");
	lua_pushliteral(L, "");
	lua_setfield(L, pkg, "cpath");
	lua_createtable(L, 2, 0);
	lua_getfield(L, pkg, "searchers");
	lua_rawgeti(L, -1, 1); /* the package.preload searcher */
	lua_rawseti(L, -3, 1);
	lua_pop(L, 1);
	lua_pushlightuserdata(L, sc);
	lua_pushcclosure(L, l_searcher, 1);
	lua_rawseti(L, -2, 2);
	lua_setfield(L, pkg, "searchers");
	lua_pop(L, 1);

	lua_createtable(L, 0, 4);
	lua_pushlightuserdata(L, sc);
	lua_pushcclosure(L, l_now, 1);
	lua_setfield(L, -2, "now");
	lua_pushcfunction(L, l_log);
	lua_setfield(L, -2, "log");
#ifdef PACKAGE_VERSION
	lua_pushliteral(L, PACKAGE_VERSION);
	lua_setfield(L, -2, "version");
#endif
	lua_pushstring(L, sc->info.path);
	lua_setfield(L, -2, "script");
	lua_pushlightuserdata(L, sc);
	lua_pushcclosure(L, l_param, 1);
	lua_setfield(L, -2, "param");
	lua_pushlightuserdata(L, sc);
	lua_pushcclosure(L, l_node_state, 1);
	lua_setfield(L, -2, "node_state");
	lua_setfield(L, g, "ddbsim");

	for (int k = 0; k < K_N; k++) {
		lua_pushstring(L, order_key_names[k]);
		sc->keys[k] = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	return 0;
}

/* ---- validation of the scenario table ------------------------------------- */

/* Validation runs in a protected C function; an error is "PATH: message". */
static _Noreturn void fail(lua_State *L, const struct scenario *sc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static _Noreturn void fail(lua_State *L, const struct scenario *sc, const char *fmt, ...)
{
	char buf[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	lua_pushfstring(L, "%s: %s", sc->info.path, buf);
	lua_error(L);
	abort(); /* not reached: lua_error does not return */
}

/* Pushes t[k] (raw) and returns its type. */
static int getf(lua_State *L, int t, const char *k)
{
	lua_pushstring(L, k);
	return lua_rawget(L, t);
}

/* "catalog[2]" + "price" -> "catalog[2].price"; "" + "name" -> "name". */
static void join_field(char *out, size_t outlen, const char *where, const char *key)
{
	snprintf(out, outlen, "%s%s%s", where, where[0] ? "." : "", key);
}

/* Fails on a key of the table at t that is not in allowed (the smallest one,
 * so that the message does not depend on the order of pairs). */
static void check_keys(lua_State *L, const struct scenario *sc, int t, const char *const *allowed,
                       const char *where)
{
	const char *bad = NULL;
	size_t badlen = 0;
	int nonstring = 0;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			nonstring = 1;
			continue;
		}
		size_t len;
		const char *k = lua_tolstring(L, -1, &len);
		int ok = 0;
		for (const char *const *a = allowed; *a != NULL; a++)
			if (strlen(*a) == len && memcmp(*a, k, len) == 0)
				ok = 1;
		/* k stays valid: the key is anchored in the table */
		if (!ok && (bad == NULL || strcmp(k, bad) < 0)) {
			bad = k;
			badlen = len;
		}
	}
	if (bad == NULL && !nonstring)
		return;
	char expected[256] = "";
	for (const char *const *a = allowed; *a != NULL; a++) {
		if (a != allowed)
			strncat(expected, ", ", sizeof expected - strlen(expected) - 1);
		strncat(expected, *a, sizeof expected - strlen(expected) - 1);
	}
	if (bad != NULL) {
		char f[300];
		char k[128];
		snprintf(k, sizeof k, "%.*s", (int)(badlen < 100 ? badlen : 100), bad);
		join_field(f, sizeof f, where, k);
		fail(L, sc, "%s: unknown field (expected %s)", f, expected);
	}
	fail(L, sc, "%s: has a key that is not a field name (expected %s)",
	     where[0] ? where : "the scenario table", expected);
}

/* The length of the list at t, which must hold exactly the keys 1..n. */
static size_t list_len(lua_State *L, const struct scenario *sc, int t, const char *field)
{
	size_t n = (size_t)lua_rawlen(L, t), count = 0;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		count++;
	}
	if (count != n)
		fail(L, sc, "%s: must be a list (a sequence { ..., ... } without holes or named keys)",
		     field);
	return n;
}

static void string_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                      size_t max, char *dst)
{
	const char *s;
	size_t len;
	char msg[512];
	if (field_string(L, idx, field, max, &s, &len, msg, sizeof msg) != 0)
		fail(L, sc, "%s", msg);
	copy_field(dst, max, s, len);
}

/* Seconds -> microseconds; 0 <= t <= TIME_MAX_S (or > 0 with positive). */
static int64_t time_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                       int positive)
{
	if (lua_type(L, idx) != LUA_TNUMBER)
		fail(L, sc, "%s: must be a number of seconds, got a %s", field, luaL_typename(L, idx));
	double x = (double)lua_tonumber(L, idx);
	if (!isfinite(x) || x < 0 || (positive && x == 0) || x > TIME_MAX_S)
		fail(L, sc, "%s: must be a number of seconds %s %.0f, got %.14g", field,
		     positive ? "> 0 and <=" : ">= 0 and <=", TIME_MAX_S, x);
	return (int64_t)llround(x * 1e6);
}

static int64_t count_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                        int64_t min)
{
	int isint = 0;
	lua_Integer q = 0;
	if (lua_type(L, idx) == LUA_TNUMBER)
		q = lua_tointegerx(L, idx, &isint);
	if (!isint && lua_type(L, idx) == LUA_TNUMBER)
		fail(L, sc, "%s: must be an integer, got %s", field, lua_tostring(L, idx));
	if (!isint)
		fail(L, sc, "%s: must be an integer, got a %s", field, luaL_typename(L, idx));
	if (q < min || q > QTY_MAX)
		fail(L, sc, "%s: must be between %lld and %lld, got %lld", field, (long long)min,
		     (long long)QTY_MAX, (long long)q);
	return (int64_t)q;
}

/* Adds q units times `times` (regions) to what the run could sell; more
 * than SCENARIO_UNITS_MAX in all is an error naming the field that went
 * over. */
static void add_units(lua_State *L, struct scenario *sc, const char *field, int64_t q,
                      size_t times)
{
	int64_t left = SCENARIO_UNITS_MAX - sc->units_total;
	if (q > 0 && (uint64_t)times > (uint64_t)(left / q))
		fail(L, sc, "%s: the stock of every product in every region and the restocks add up "
		            "to more than %lld units, the most a run may sell",
		     field, (long long)SCENARIO_UNITS_MAX);
	sc->units_total += q * (int64_t)times;
}

static int64_t price_at(lua_State *L, const struct scenario *sc, int idx, const char *field)
{
	int64_t cents;
	if (lua_type(L, idx) != LUA_TNUMBER ||
	    scenario_price_cents((double)lua_tonumber(L, idx), &cents) != 0)
		fail(L, sc, "%s: must be a non-negative number of at most %lld (currency units)", field,
		     (long long)(SCENARIO_PRICE_MAX_CENTS / 100));
	return cents;
}

/* Index (0-based) of the name s in the lookup table at lk, or -1. */
static long lookup(lua_State *L, int lk, int idx)
{
	lua_pushvalue(L, idx);
	long i = lua_rawget(L, lk) == LUA_TNUMBER ? (long)lua_tointeger(L, -1) : -1;
	lua_pop(L, 1);
	return i;
}

/* The map at t must be keyed by names present in the lookup table lk (a
 * region or a product); fails on the smallest unknown key. */
static void check_map_keys(lua_State *L, const struct scenario *sc, int t, int lk,
                           const char *field, const char *what, const char *where)
{
	const char *bad = NULL;
	int nonstring = 0;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			nonstring = 1;
			continue;
		}
		if (lookup(L, lk, -1) < 0) {
			const char *k = lua_tostring(L, -1);
			if (bad == NULL || strcmp(k, bad) < 0)
				bad = k;
		}
	}
	if (bad != NULL)
		fail(L, sc, "%s.%.100s: unknown %s (not in %s)", field, bad, what, where);
	if (nonstring)
		fail(L, sc, "%s: keys must be %s names, e.g. { %s = ... }", field, what,
		     what[0] == 'r' ? "seattle" : "KEYBOARD");
}

static int region_name_ok(const char *s)
{
	if (!isalnum((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

static const char *const reserved_nodes[] = { "central", "documents", "broker", NULL };

static void set_hook(lua_State *L, int idx, struct hook *h)
{
	lua_Debug ar;
	lua_pushvalue(L, idx);
	lua_getinfo(L, ">S", &ar);
	h->src = ar.source[0] == '@' ? ar.source + 1 : NULL; /* anchored by the ref below */
	h->line = ar.linedefined;
	lua_pushvalue(L, idx);
	h->ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static void parse_regions(lua_State *L, struct scenario *sc, int T, int regidx)
{
	if (getf(L, T, "regions") != LUA_TTABLE)
		fail(L, sc, "regions: must be a list of region names, e.g. { \"seattle\", \"boston\" }");
	int t = lua_gettop(L);
	size_t n = list_len(L, sc, t, "regions");
	if (n == 0)
		fail(L, sc, "regions: must name at least one region");
	if (n > SCENARIO_REGIONS_MAX)
		fail(L, sc, "regions: at most %d regions (%d nodes with central, documents and "
		            "broker), got %zu", SCENARIO_REGIONS_MAX, SCENARIO_REGIONS_MAX + 3, n);
	sc->info.regions = calloc(n, sizeof *sc->info.regions);
	sc->region_refs = malloc(n * sizeof *sc->region_refs);
	if (sc->info.regions == NULL || sc->region_refs == NULL)
		fail(L, sc, "not enough memory");
	for (size_t i = 0; i < n; i++)
		sc->region_refs[i] = LUA_NOREF;
	sc->info.n_regions = n;
	for (size_t i = 0; i < n; i++) {
		char f[64];
		snprintf(f, sizeof f, "regions[%zu]", i + 1);
		lua_rawgeti(L, t, (lua_Integer)(i + 1));
		string_at(L, sc, -1, f, DDB_NAME_MAX, sc->info.regions[i]);
		const char *name = sc->info.regions[i];
		if (!region_name_ok(name))
			fail(L, sc, "%s: \"%s\" is not a valid region name (letters, digits, '_' "
			            "and '-', starting with a letter or digit)", f, name);
		for (const char *const *r = reserved_nodes; *r; r++)
			if (strcmp(name, *r) == 0)
				fail(L, sc, "%s: \"%s\" is reserved for a node that is not a region", f,
				     name);
		if (lookup(L, regidx, -1) >= 0)
			fail(L, sc, "%s: duplicate region \"%s\"", f, name);
		lua_pushvalue(L, -1);
		lua_pushinteger(L, (lua_Integer)i);
		lua_rawset(L, regidx);
		sc->region_refs[i] = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the name */
	}
	lua_settop(L, t - 1);
}

static int cmp_sku(const char *a, const char *b)
{
	return strcmp(a, b);
}

static void parse_components(lua_State *L, struct scenario *sc, int e, int skuidx, size_t pi,
                             const char *where)
{
	struct ddb_product *p = &sc->info.products[pi];
	char f[160];
	join_field(f, sizeof f, where, "components");
	int ty = getf(L, e, "components");
	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (ty != LUA_TTABLE)
		fail(L, sc, "%s: must be a table of sku = quantity, e.g. { KEYBOARD = 1 }", f);
	int t = lua_gettop(L);
	if (lua_rawlen(L, t) > 0)
		fail(L, sc, "%s: must map SKUs to quantities, e.g. { KEYBOARD = 1 }", f);
	check_map_keys(L, sc, t, skuidx, f, "sku", "the catalog");
	size_t n = 0;
	long idx[DDB_COMPONENTS_MAX];
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		if (n == DDB_COMPONENTS_MAX)
			fail(L, sc, "%s: more than %d components", f, DDB_COMPONENTS_MAX);
		idx[n++] = lookup(L, skuidx, -1);
	}
	/* in SKU order (insertion sort: at most DDB_COMPONENTS_MAX) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cmp_sku(sc->info.products[idx[j - 1]].sku,
		                                    sc->info.products[idx[j]].sku) > 0; j--) {
			long tmp = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = tmp;
		}
	for (size_t i = 0; i < n; i++) {
		const char *sku = sc->info.products[idx[i]].sku;
		char cf[256];
		snprintf(cf, sizeof cf, "%s.%s", f, sku);
		if ((size_t)idx[i] == pi)
			fail(L, sc, "%s: a product cannot be its own component", cf);
		getf(L, t, sku);
		struct ddb_component *c = &p->components[i];
		copy_field(c->sku, sizeof c->sku, sku, strlen(sku));
		c->quantity = count_at(L, sc, -1, cf, 1);
		lua_pop(L, 1);
	}
	p->n_components = n;
	lua_settop(L, t - 1);
}

static void parse_stock(lua_State *L, struct scenario *sc, int e, int regidx, size_t pi,
                        const char *where)
{
	size_t np = sc->info.n_products;
	char f[160];
	join_field(f, sizeof f, where, "stock");
	int ty = getf(L, e, "stock");
	int t = lua_gettop(L);
	if (ty == LUA_TNIL) {
		/* none anywhere: the calloc'ed zeros */
	} else if (ty == LUA_TNUMBER) {
		int64_t q = count_at(L, sc, t, f, 0);
		add_units(L, sc, f, q, sc->info.n_regions);
		for (size_t r = 0; r < sc->info.n_regions; r++)
			sc->info.stock[r * np + pi] = q;
	} else if (ty == LUA_TTABLE) {
		check_map_keys(L, sc, t, regidx, f, "region", "regions");
		for (size_t r = 0; r < sc->info.n_regions; r++) {
			char rf[256];
			snprintf(rf, sizeof rf, "%s.%s", f, sc->info.regions[r]);
			if (getf(L, t, sc->info.regions[r]) != LUA_TNIL) {
				sc->info.stock[r * np + pi] = count_at(L, sc, -1, rf, 0);
				add_units(L, sc, rf, sc->info.stock[r * np + pi], 1);
			}
			lua_pop(L, 1);
		}
	} else {
		fail(L, sc, "%s: must be a quantity for every region or a table region = quantity",
		     f);
	}
	lua_settop(L, t - 1);
}

static void parse_catalog(lua_State *L, struct scenario *sc, int T, int regidx, int skuidx)
{
	static const char *const keys[] = { "sku", "name", "price", "components", "stock", NULL };
	if (getf(L, T, "catalog") != LUA_TTABLE)
		fail(L, sc, "catalog: must be a list of products { sku = ..., name = ..., price = ... }");
	int t = lua_gettop(L);
	size_t n = list_len(L, sc, t, "catalog");
	if (n == 0)
		fail(L, sc, "catalog: must list at least one product");
	sc->info.products = calloc(n, sizeof *sc->info.products);
	if (sc->info.products == NULL || n > SIZE_MAX / sizeof(int64_t) / sc->info.n_regions)
		fail(L, sc, "not enough memory");
	sc->info.stock = calloc(n * sc->info.n_regions, sizeof *sc->info.stock);
	if (sc->info.stock == NULL)
		fail(L, sc, "not enough memory");
	sc->info.n_products = n;
	/* first the SKUs, names and prices (components refer to any SKU) */
	for (size_t i = 0; i < n; i++) {
		struct ddb_product *p = &sc->info.products[i];
		char w[32], f[64];
		snprintf(w, sizeof w, "catalog[%zu]", i + 1);
		if (lua_rawgeti(L, t, (lua_Integer)(i + 1)) != LUA_TTABLE)
			fail(L, sc, "%s: must be a table { sku = ..., name = ..., price = ... }", w);
		int e = lua_gettop(L);
		check_keys(L, sc, e, keys, w);
		p->version = 1;
		join_field(f, sizeof f, w, "sku");
		getf(L, e, "sku");
		string_at(L, sc, -1, f, DDB_SKU_MAX, p->sku);
		if (lookup(L, skuidx, -1) >= 0)
			fail(L, sc, "%s: duplicate sku \"%s\"", f, p->sku);
		lua_pushinteger(L, (lua_Integer)i);
		lua_rawset(L, skuidx); /* pops the sku and the index */
		join_field(f, sizeof f, w, "name");
		if (getf(L, e, "name") == LUA_TNIL)
			copy_field(p->name, sizeof p->name, p->sku, strlen(p->sku));
		else
			string_at(L, sc, -1, f, DDB_TITLE_MAX, p->name);
		lua_pop(L, 1);
		join_field(f, sizeof f, w, "price");
		getf(L, e, "price");
		p->price_cents = price_at(L, sc, -1, f);
		lua_settop(L, t);
	}
	for (size_t i = 0; i < n; i++) {
		char w[32];
		snprintf(w, sizeof w, "catalog[%zu]", i + 1);
		lua_rawgeti(L, t, (lua_Integer)(i + 1));
		int e = lua_gettop(L);
		parse_components(L, sc, e, skuidx, i, w);
		parse_stock(L, sc, e, regidx, i, w);
		lua_settop(L, t);
	}
	lua_settop(L, t - 1);
}

static void parse_restocks(lua_State *L, struct scenario *sc, int T, int regidx, int skuidx)
{
	static const char *const keys[] = { "at", "region", "sku", "quantity", NULL };
	int ty = getf(L, T, "restocks");
	int t = lua_gettop(L);
	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (ty != LUA_TTABLE)
		fail(L, sc, "restocks: must be a list of { at = ..., region = ..., sku = ..., "
		            "quantity = ... }");
	size_t n = list_len(L, sc, t, "restocks");
	if (n == 0) {
		lua_pop(L, 1);
		return;
	}
	sc->info.restocks = calloc(n, sizeof *sc->info.restocks);
	if (sc->info.restocks == NULL)
		fail(L, sc, "not enough memory");
	for (size_t i = 0; i < n; i++) {
		struct scenario_restock *rs = &sc->info.restocks[i];
		char w[32], f[64];
		snprintf(w, sizeof w, "restocks[%zu]", i + 1);
		if (lua_rawgeti(L, t, (lua_Integer)(i + 1)) != LUA_TTABLE)
			fail(L, sc, "%s: must be a table { at = ..., region = ..., sku = ..., "
			            "quantity = ... }", w);
		int e = lua_gettop(L);
		check_keys(L, sc, e, keys, w);
		join_field(f, sizeof f, w, "at");
		getf(L, e, "at");
		rs->at_us = time_at(L, sc, -1, f, 0);
		join_field(f, sizeof f, w, "region");
		getf(L, e, "region");
		string_at(L, sc, -1, f, DDB_NAME_MAX, rs->region);
		if (lookup(L, regidx, -1) < 0)
			fail(L, sc, "%s: unknown region \"%s\"", f, rs->region);
		join_field(f, sizeof f, w, "sku");
		getf(L, e, "sku");
		string_at(L, sc, -1, f, DDB_SKU_MAX, rs->sku);
		if (lookup(L, skuidx, -1) < 0)
			fail(L, sc, "%s: unknown sku \"%s\" (not in the catalog)", f, rs->sku);
		join_field(f, sizeof f, w, "quantity");
		getf(L, e, "quantity");
		rs->quantity = count_at(L, sc, -1, f, 1);
		add_units(L, sc, f, rs->quantity, 1);
		sc->info.n_restocks = i + 1;
		lua_settop(L, t);
	}
	lua_settop(L, t - 1);
}

static const char *const action_names[] = { NULL,        "down",   "up",        "slow",
	                                     "partition", "heal",   "drop",      "duplicate",
	                                     "delay",     "reorder", "crash",    "restart" };

const char *failure_action_name(int action)
{
	return action >= FAILURE_DOWN && action <= FAILURE_RESTART ? action_names[action] : "?";
}

/* A node name that the system has: a region or a reserved node. */
static int known_node(lua_State *L, int regidx, const char *name)
{
	lua_pushstring(L, name);
	int known = lookup(L, regidx, -1) >= 0;
	lua_pop(L, 1);
	for (const char *const *r = reserved_nodes; *r; r++)
		if (strcmp(name, *r) == 0)
			known = 1;
	return known;
}

/* One node name or a list of them, at the top of the stack. */
static size_t node_set_at(lua_State *L, struct scenario *sc, int regidx, const char *f,
                          char (*out)[DDB_NAME_MAX])
{
	size_t n = 0;
	if (lua_type(L, -1) == LUA_TSTRING) {
		string_at(L, sc, -1, f, DDB_NAME_MAX, out[0]);
		n = 1;
	} else if (lua_type(L, -1) == LUA_TTABLE) {
		int t = lua_gettop(L);
		n = list_len(L, sc, t, f);
		if (n == 0 || n > FAILURE_SET_MAX)
			fail(L, sc, "%s: must name 1 to %d nodes", f, FAILURE_SET_MAX);
		for (size_t i = 0; i < n; i++) {
			char fi[80];
			snprintf(fi, sizeof fi, "%s[%zu]", f, i + 1);
			lua_rawgeti(L, t, (lua_Integer)(i + 1));
			string_at(L, sc, -1, fi, DDB_NAME_MAX, out[i]);
			lua_pop(L, 1);
		}
	} else {
		fail(L, sc, "%s: must be a node name or a list of node names, got a %s", f,
		     luaL_typename(L, -1));
	}
	for (size_t i = 0; i < n; i++)
		if (!known_node(L, regidx, out[i]))
			fail(L, sc, "%s: unknown node \"%s\" (a region, \"central\", \"documents\" or "
			            "\"broker\")", f, out[i]);
	return n;
}

static double probability_at(lua_State *L, struct scenario *sc, const char *f)
{
	if (lua_type(L, -1) != LUA_TNUMBER)
		fail(L, sc, "%s: must be a probability between 0 and 1, got a %s", f,
		     luaL_typename(L, -1));
	double p = (double)lua_tonumber(L, -1);
	if (!(p >= 0 && p <= 1))
		fail(L, sc, "%s: must be a probability between 0 and 1, got %.14g", f, p);
	return p;
}

/* Appends a step of the list entry w, growing the list. */
static struct scenario_failure *push_step(lua_State *L, struct scenario *sc, size_t *cap,
                                          const char *w)
{
	if (sc->info.n_failures == SCENARIO_STEPS_MAX)
		fail(L, sc, "%s: more than %d failure steps in all (a step with a duration counts "
		            "twice, and once for each of its targets)", w, SCENARIO_STEPS_MAX);
	if (sc->info.n_failures == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct scenario_failure *grown = realloc(sc->info.failures, ncap * sizeof *grown);
		if (grown == NULL)
			fail(L, sc, "not enough memory");
		sc->info.failures = grown;
		*cap = ncap;
	}
	struct scenario_failure *f = &sc->info.failures[sc->info.n_failures++];
	memset(f, 0, sizeof *f);
	return f;
}

/* failures = { { at = T, action = A, duration = D, ... }, ... }: see
 * ddbsim-lua(7) for the fields each action takes. */
static void parse_failures(lua_State *L, struct scenario *sc, int T, int regidx)
{
	static const char *const keys[] = { "at",   "target", "action",      "duration", "latency",
		                            "jitter", "from",   "to",          "oneway",   "probability",
		                            "delay",  NULL };
	int ty = getf(L, T, "failures");
	int t = lua_gettop(L);
	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (ty != LUA_TTABLE)
		fail(L, sc, "failures: must be a list of { at = ..., action = ..., ... }");
	size_t n = list_len(L, sc, t, "failures"), cap = 0;
	for (size_t i = 0; i < n; i++) {
		char w[32], f[64];
		snprintf(w, sizeof w, "failures[%zu]", i + 1);
		if (lua_rawgeti(L, t, (lua_Integer)(i + 1)) != LUA_TTABLE)
			fail(L, sc, "%s: must be a table { at = ..., action = ..., ... }", w);
		int e = lua_gettop(L);
		check_keys(L, sc, e, keys, w);
		struct scenario_failure base;
		memset(&base, 0, sizeof base);
		base.step = (int)(i + 1);
		join_field(f, sizeof f, w, "at");
		getf(L, e, "at");
		base.at_us = time_at(L, sc, -1, f, 0);
		lua_pop(L, 1);

		join_field(f, sizeof f, w, "action");
		getf(L, e, "action");
		const char *action = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		for (int a = FAILURE_DOWN; action && a <= FAILURE_CRASH; a++)
			if (a != FAILURE_HEAL && strcmp(action, action_names[a]) == 0)
				base.action = a;
		if (base.action == 0)
			fail(L, sc, "%s: must be one of \"down\", \"up\", \"slow\", \"partition\", "
			            "\"drop\", \"duplicate\", \"delay\", \"reorder\", \"crash\"%s%.32s%s",
			     f, action ? ", not \"" : "", action ? action : "", action ? "\"" : "");
		lua_pop(L, 1);
		int a = base.action;
		int node_action = a == FAILURE_DOWN || a == FAILURE_UP || a == FAILURE_SLOW;
		int message_fault = a >= FAILURE_DROP && a <= FAILURE_REORDER;

		/* Which fields go with which action. */
		static const struct {
			const char *key;
			int ok;
		} *p, fields[] = { { "target", 0 }, { "latency", 0 }, { "jitter", 0 }, { "from", 0 },
			           { "to", 0 },     { "oneway", 0 },  { "probability", 0 },
			           { "delay", 0 },  { NULL, 0 } };
		for (p = fields; p->key; p++) {
			int allowed = (strcmp(p->key, "target") == 0 && (node_action || a == FAILURE_CRASH)) ||
			              ((strcmp(p->key, "latency") == 0 || strcmp(p->key, "jitter") == 0) &&
			               a == FAILURE_SLOW) ||
			              ((strcmp(p->key, "from") == 0 || strcmp(p->key, "to") == 0 ||
			                strcmp(p->key, "oneway") == 0) && a == FAILURE_PARTITION) ||
			              (strcmp(p->key, "probability") == 0 && message_fault) ||
			              (strcmp(p->key, "delay") == 0 && a == FAILURE_DELAY);
			if (getf(L, e, p->key) != LUA_TNIL && !allowed)
				fail(L, sc, "%s.%s: not a field of a \"%s\" step", w, p->key, action_names[a]);
			lua_pop(L, 1);
		}

		char targets[FAILURE_SET_MAX][DDB_NAME_MAX];
		size_t n_targets = 1;
		targets[0][0] = '\0';
		if (node_action) {
			join_field(f, sizeof f, w, "target");
			getf(L, e, "target");
			n_targets = node_set_at(L, sc, regidx, f, targets);
			lua_pop(L, 1);
		} else if (a == FAILURE_CRASH) {
			join_field(f, sizeof f, w, "target");
			getf(L, e, "target");
			string_at(L, sc, -1, f, DDB_NAME_MAX, targets[0]);
			if (strcmp(targets[0], "relay") != 0 && strcmp(targets[0], "applier") != 0)
				fail(L, sc, "%s: a crash targets \"relay\" or \"applier\", not \"%s\"", f,
				     targets[0]);
			lua_pop(L, 1);
		}
		if (a == FAILURE_SLOW) {
			join_field(f, sizeof f, w, "latency");
			if (getf(L, e, "latency") == LUA_TNIL)
				fail(L, sc, "%s: a \"slow\" step needs a latency (seconds)", f);
			base.latency_us = time_at(L, sc, -1, f, 1);
			lua_pop(L, 1);
			join_field(f, sizeof f, w, "jitter");
			if (getf(L, e, "jitter") != LUA_TNIL)
				base.jitter_us = time_at(L, sc, -1, f, 0);
			lua_pop(L, 1);
		}
		if (a == FAILURE_PARTITION) {
			join_field(f, sizeof f, w, "from");
			if (getf(L, e, "from") == LUA_TNIL)
				fail(L, sc, "%s: a partition needs from = { nodes } and to = { nodes }", f);
			base.n_from = node_set_at(L, sc, regidx, f, base.from);
			lua_pop(L, 1);
			join_field(f, sizeof f, w, "to");
			if (getf(L, e, "to") == LUA_TNIL)
				fail(L, sc, "%s: a partition needs from = { nodes } and to = { nodes }", f);
			base.n_to = node_set_at(L, sc, regidx, f, base.to);
			lua_pop(L, 1);
			join_field(f, sizeof f, w, "oneway");
			int ot = getf(L, e, "oneway");
			if (ot != LUA_TNIL && ot != LUA_TBOOLEAN)
				fail(L, sc, "%s: must be true or false", f);
			base.oneway = lua_toboolean(L, -1);
			lua_pop(L, 1);
		}
		if (message_fault) {
			join_field(f, sizeof f, w, "probability");
			if (getf(L, e, "probability") == LUA_TNIL)
				fail(L, sc, "%s: a \"%s\" step needs a probability", f, action_names[a]);
			base.probability = probability_at(L, sc, f);
			lua_pop(L, 1);
		}
		if (a == FAILURE_DELAY) {
			join_field(f, sizeof f, w, "delay");
			if (getf(L, e, "delay") == LUA_TNIL)
				fail(L, sc, "%s: a \"delay\" step needs a delay (seconds)", f);
			base.delay_us = time_at(L, sc, -1, f, 1);
			lua_pop(L, 1);
		}
		int64_t duration = -1;
		join_field(f, sizeof f, w, "duration");
		if (getf(L, e, "duration") != LUA_TNIL) {
			if (a == FAILURE_UP)
				fail(L, sc, "%s: an \"up\" step has no duration", f);
			duration = time_at(L, sc, -1, f, 1);
		} else if (a == FAILURE_CRASH) {
			duration = 1000000; /* a crashed component restarts after a second */
		}
		lua_pop(L, 1);

		for (size_t k = 0; k < n_targets; k++) {
			struct scenario_failure *st = push_step(L, sc, &cap, w);
			*st = base;
			copy_field(st->target, sizeof st->target, targets[k], strlen(targets[k]));
			if (duration < 0)
				continue;
			st->has_end = 1;
			struct scenario_failure *end = push_step(L, sc, &cap, w);
			st = end - 1; /* push_step may have moved the list */
			*end = *st;
			end->ends = 1;
			end->has_end = 0;
			end->at_us = st->at_us + duration;
			end->probability = 0;
			end->latency_us = end->jitter_us = 0;
			switch (a) {
			case FAILURE_DOWN: end->action = FAILURE_UP; break;
			case FAILURE_SLOW: break; /* slow with no latency */
			case FAILURE_PARTITION: end->action = FAILURE_HEAL; break;
			case FAILURE_CRASH: end->action = FAILURE_RESTART; break;
			default: break; /* message faults end with probability 0 */
			}
		}
		lua_settop(L, t);
	}
	lua_settop(L, t - 1);
}

/* workload.customers = { rate = N | function(t), operation = function(t),
 * replication = N } */
static void parse_customer_workload(lua_State *L, struct scenario *sc, int w)
{
	static const char *const keys[] = { "rate", "operation", "replication", NULL };
	int ty = getf(L, w, "customers");
	int c = lua_gettop(L);
	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (ty != LUA_TTABLE)
		fail(L, sc, "workload.customers: must be a table { rate = ..., operation = "
		            "function(t) ... end }");
	check_keys(L, sc, c, keys, "workload.customers");
	sc->has_customers = 1;
	ty = getf(L, c, "rate");
	if (ty == LUA_TFUNCTION) {
		set_hook(L, -1, &sc->customer_rate_fn);
	} else if (ty == LUA_TNUMBER && isfinite(lua_tonumber(L, -1)) && lua_tonumber(L, -1) >= 0 &&
	           lua_tonumber(L, -1) <= SCENARIO_RATE_MAX) {
		sc->customer_rate = (double)lua_tonumber(L, -1);
	} else {
		fail(L, sc, "workload.customers.rate: must be a number of operations per second "
		            "from 0 to %.0f or a function(t)", SCENARIO_RATE_MAX);
	}
	lua_pop(L, 1);
	if (getf(L, c, "operation") != LUA_TFUNCTION)
		fail(L, sc, "workload.customers.operation: must be a function(t) returning { op = "
		            "\"create\" | \"update\" | \"delete\" | \"get\" | \"find\", ... }");
	set_hook(L, -1, &sc->customer_op_fn);
	lua_pop(L, 1);
	if (getf(L, c, "replication") != LUA_TNIL) {
		int64_t n = count_at(L, sc, -1, "workload.customers.replication", 0);
		if (n > SCENARIO_REPLICAS_MAX)
			fail(L, sc, "workload.customers.replication: at most %d replicas, got %lld",
			     SCENARIO_REPLICAS_MAX, (long long)n);
		if ((size_t)n >= sc->info.n_regions && n > 0)
			fail(L, sc, "workload.customers.replication: %lld replicas need more than %zu "
			            "regions", (long long)n, sc->info.n_regions);
		sc->replication = (size_t)n;
	} else if (sc->info.n_regions < 2) {
		sc->replication = 0;
	}
	lua_settop(L, c - 1);
}

static void parse_workload(lua_State *L, struct scenario *sc, int T, int regidx)
{
	static const char *const keys[] = { "rate", "order", "customers", NULL };
	if (getf(L, T, "workload") != LUA_TTABLE)
		fail(L, sc, "workload: must be a table { rate = ..., order = function(region, t) ... "
		            "end } (shop.scenario fills in defaults)");
	int w = lua_gettop(L);
	check_keys(L, sc, w, keys, "workload");
	int ty = getf(L, w, "rate");
	if (ty == LUA_TNUMBER) {
		double x = (double)lua_tonumber(L, -1);
		if (!isfinite(x) || x < 0 || x > SCENARIO_RATE_MAX)
			fail(L, sc, "workload.rate: must be a number of orders per second from 0 to %.0f, "
			     "got %.14g", SCENARIO_RATE_MAX, x);
		sc->rate_kind = RATE_NUMBER;
		sc->rate = x;
	} else if (ty == LUA_TTABLE) {
		int t = lua_gettop(L);
		check_map_keys(L, sc, t, regidx, "workload.rate", "region", "regions");
		sc->rates = calloc(sc->info.n_regions, sizeof *sc->rates);
		if (sc->rates == NULL)
			fail(L, sc, "not enough memory");
		sc->rate_kind = RATE_TABLE;
		for (size_t r = 0; r < sc->info.n_regions; r++) {
			int vt = getf(L, t, sc->info.regions[r]);
			double x = vt == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : 0;
			if (vt != LUA_TNIL &&
			    (vt != LUA_TNUMBER || !isfinite(x) || x < 0 || x > SCENARIO_RATE_MAX))
				fail(L, sc, "workload.rate.%s: must be a number of orders per second from 0 "
				     "to %.0f", sc->info.regions[r], SCENARIO_RATE_MAX);
			sc->rates[r] = x;
			lua_pop(L, 1);
		}
	} else if (ty == LUA_TFUNCTION) {
		sc->rate_kind = RATE_FUNCTION;
		set_hook(L, -1, &sc->rate_fn);
	} else {
		fail(L, sc, "workload.rate: must be a number (orders per second in each region), a "
		            "table region = number, or a function(region, t)");
	}
	lua_pop(L, 1);
	if (getf(L, w, "order") != LUA_TFUNCTION)
		fail(L, sc, "workload.order: must be a function(region, t) returning { sku = ..., "
		            "quantity = ..., customer = ... }");
	set_hook(L, -1, &sc->order_fn);
	lua_pop(L, 1);
	parse_customer_workload(L, sc, w);
	lua_settop(L, w - 1);
}

static void parse_rules(lua_State *L, struct scenario *sc, int T)
{
	static const char *const keys[] = { "order", "customer_home", "customer_replicas", NULL };
	int ty = getf(L, T, "rules");
	int t = lua_gettop(L);
	if (ty == LUA_TTABLE) {
		check_keys(L, sc, t, keys, "rules");
		int ot = getf(L, t, "order");
		if (ot == LUA_TFUNCTION)
			set_hook(L, -1, &sc->rule_fn);
		else if (ot != LUA_TNIL)
			fail(L, sc, "rules.order: must be a function(order)");
		lua_pop(L, 1);
		ot = getf(L, t, "customer_home");
		if (ot == LUA_TFUNCTION)
			set_hook(L, -1, &sc->home_fn);
		else if (ot != LUA_TNIL)
			fail(L, sc, "rules.customer_home: must be a function(customer)");
		lua_pop(L, 1);
		ot = getf(L, t, "customer_replicas");
		if (ot == LUA_TFUNCTION)
			set_hook(L, -1, &sc->replicas_fn);
		else if (ot != LUA_TNIL)
			fail(L, sc, "rules.customer_replicas: must be a function(customer, home)");
	} else if (ty != LUA_TNIL) {
		fail(L, sc, "rules: must be a table { order = function(order) ... end }");
	}
	lua_settop(L, t - 1);
}

static int cmp_check(const void *a, const void *b)
{
	return strcmp(((const struct check *)a)->name, ((const struct check *)b)->name);
}

static void parse_checks(lua_State *L, struct scenario *sc, int T)
{
	int ty = getf(L, T, "checks");
	int t = lua_gettop(L);
	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (ty != LUA_TTABLE)
		fail(L, sc, "checks: must be a table { [\"name\"] = function(facts) ... end }");
	size_t n = 0;
	const char *bad = NULL, *badname = NULL;
	int unnamed = 0;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		int vt = lua_type(L, -1);
		lua_pop(L, 1);
		const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		size_t len = k ? lua_rawlen(L, -1) : 0;
		if (k == NULL || len == 0 || strlen(k) != len)
			unnamed = 1;
		else if ((len >= SCENARIO_CHECK_NAME_MAX || !utf8_valid(k, len)) &&
		         (badname == NULL || strcmp(k, badname) < 0))
			badname = k; /* anchored in the table */
		else if (vt != LUA_TFUNCTION && (bad == NULL || strcmp(k, bad) < 0))
			bad = k;
		n++;
	}
	if (unnamed)
		fail(L, sc, "checks: every check needs a name (a non-empty string): "
		            "{ [\"name\"] = function(facts) ... end }");
	if (badname != NULL) {
		char shown[64];
		size_t len = strlen(badname);
		snprintf(shown, sizeof shown, "%.*s", (int)(len < 40 ? len : 40), badname);
		utf8_scrub(shown);
		if (!utf8_valid(badname, len))
			fail(L, sc, "checks[\"%s%s\"]: the name is not valid UTF-8", shown,
			     len > 40 ? "..." : "");
		fail(L, sc, "checks[\"%s...\"]: the name is too long (%zu bytes, at most %d)", shown,
		     len, SCENARIO_CHECK_NAME_MAX - 1);
	}
	if (bad != NULL)
		fail(L, sc, "checks[\"%.100s\"]: must be a function(facts)", bad);
	if (n == 0) {
		lua_pop(L, 1);
		return;
	}
	sc->checks = calloc(n, sizeof *sc->checks);
	if (sc->checks == NULL)
		fail(L, sc, "not enough memory");
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		struct check *c = &sc->checks[sc->n_checks];
		if ((c->name = strdup(lua_tostring(L, -2))) == NULL)
			fail(L, sc, "not enough memory");
		sc->n_checks++;
		set_hook(L, -1, &c->fn);
		lua_pop(L, 1);
	}
	qsort(sc->checks, sc->n_checks, sizeof *sc->checks, cmp_check);
	lua_settop(L, t - 1);
}

static void default_name(struct scenario *sc)
{
	const char *base = strrchr(sc->info.path, '/');
	base = base ? base + 1 : sc->info.path;
	size_t len = strlen(base);
	if (len > 4 && strcmp(base + len - 4, ".lua") == 0)
		len -= 4;
	if (len >= DDB_NAME_MAX) {
		len = DDB_NAME_MAX - 1;
		while (len > 0 && ((unsigned char)base[len] & 0xC0) == 0x80)
			len--; /* do not cut a UTF-8 sequence */
	}
	copy_field(sc->info.name, sizeof sc->info.name, base, len);
	utf8_scrub(sc->info.name); /* a file name may be any bytes */
}

/* validate(sc, scenario_table) */
static int validate(lua_State *L)
{
	static const char *const keys[] = { "name",    "description", "duration", "regions",
	                                    "catalog", "restocks",    "workload", "rules",
	                                    "failures", "checks",     NULL };
	struct scenario *sc = lua_touserdata(L, 1);
	const int T = 2;
	check_keys(L, sc, T, keys, "");
	lua_newtable(L); /* region name -> index */
	int regidx = lua_gettop(L);
	lua_newtable(L); /* sku -> index */
	int skuidx = lua_gettop(L);

	if (getf(L, T, "name") == LUA_TNIL)
		default_name(sc);
	else
		string_at(L, sc, -1, "name", DDB_NAME_MAX, sc->info.name);
	lua_pop(L, 1);
	int ty = getf(L, T, "description");
	if (ty != LUA_TNIL && ty != LUA_TSTRING)
		fail(L, sc, "description: must be a string");
	lua_pop(L, 1);
	if (getf(L, T, "duration") == LUA_TNIL)
		sc->info.duration_us = (int64_t)(DEFAULT_DURATION_S * 1e6);
	else
		sc->info.duration_us = time_at(L, sc, -1, "duration", 1);
	lua_pop(L, 1);

	parse_regions(L, sc, T, regidx);
	parse_catalog(L, sc, T, regidx, skuidx);
	parse_restocks(L, sc, T, regidx, skuidx);
	parse_failures(L, sc, T, regidx);
	parse_workload(L, sc, T, regidx);
	parse_rules(L, sc, T);
	parse_checks(L, sc, T);
	return 0;
}

/* Stable merge sort (the C library's qsort is not stable). */
static void msort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
                  unsigned char *tmp)
{
	if (n < 2)
		return;
	unsigned char *a = base;
	size_t h = n / 2;
	msort(a, h, size, cmp, tmp);
	msort(a + h * size, n - h, size, cmp, tmp);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n) {
		if (cmp(a + j * size, a + i * size) < 0)
			memcpy(tmp + (k++) * size, a + (j++) * size, size);
		else
			memcpy(tmp + (k++) * size, a + (i++) * size, size);
	}
	while (i < h)
		memcpy(tmp + (k++) * size, a + (i++) * size, size);
	while (j < n)
		memcpy(tmp + (k++) * size, a + (j++) * size, size);
	memcpy(a, tmp, n * size);
}

static int cmp_restock(const void *a, const void *b)
{
	int64_t x = ((const struct scenario_restock *)a)->at_us;
	int64_t y = ((const struct scenario_restock *)b)->at_us;
	return (x > y) - (x < y);
}

static int cmp_failure(const void *a, const void *b)
{
	int64_t x = ((const struct scenario_failure *)a)->at_us;
	int64_t y = ((const struct scenario_failure *)b)->at_us;
	return (x > y) - (x < y);
}

static int stable_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n < 2)
		return 0;
	unsigned char *tmp = malloc(n * size);
	if (tmp == NULL)
		return -1;
	msort(base, n, size, cmp, tmp);
	free(tmp);
	return 0;
}

/* ---- the public functions ------------------------------------------------- */

struct scenario *scenario_load(const char *path, const char *pkg_dir, struct prng *rng,
                               char *err, size_t errlen)
{
	return scenario_load_with(path, pkg_dir, rng, NULL, 0, err, errlen);
}

struct scenario *scenario_load_with(const char *path, const char *pkg_dir, struct prng *rng,
                                    const struct ddb_option *params, size_t n_params, char *err,
                                    size_t errlen)
{
	return scenario_load_limited(path, pkg_dir, rng, params, n_params, NULL, err, errlen);
}

struct scenario *scenario_load_limited(const char *path, const char *pkg_dir, struct prng *rng,
                                       const struct ddb_option *params, size_t n_params,
                                       const struct scenario_limits *limits, char *err,
                                       size_t errlen)
{
	clear_msg(err, errlen);
	if (path == NULL || path[0] == '\0') {
		set_msg(err, errlen, "scenario: no script given");
		return NULL;
	}
	if (strlen(path) >= sizeof(((struct scenario_info *)0)->path)) {
		set_msg(err, errlen, "%.200s...: path too long", path);
		return NULL;
	}
	if (rng == NULL) {
		set_msg(err, errlen, "%s: no PRNG given", path);
		return NULL;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		set_msg(err, errlen, "%s: cannot open the script: %s", path, strerror(errno));
		return NULL;
	}
	fclose(f);

	struct scenario *sc = calloc(1, sizeof *sc);
	if (sc == NULL) {
		set_msg(err, errlen, "%s: not enough memory", path);
		return NULL;
	}
	sc->rng = rng;
	if (limits != NULL)
		sc->limits = *limits;
	else
		scenario_limits_init(&sc->limits);
	size_t slack = sc->limits.memory_bytes / 8;
	if (slack < ((size_t)1 << 20))
		slack = (size_t)1 << 20;
	sc->mem_hard = sc->limits.memory_bytes > SIZE_MAX - slack ? SIZE_MAX
	                                                           : sc->limits.memory_bytes + slack;
	sc->params = params;
	sc->n_params = n_params;
	sc->param_read = calloc(n_params ? n_params : 1, 1);
	if (sc->param_read == NULL) {
		set_msg(err, errlen, "%s: not enough memory", path);
		free(sc);
		return NULL;
	}
	sc->rate_fn.ref = sc->order_fn.ref = sc->rule_fn.ref = LUA_NOREF;
	sc->customer_rate_fn.ref = sc->customer_op_fn.ref = LUA_NOREF;
	sc->home_fn.ref = sc->replicas_fn.ref = LUA_NOREF;
	sc->replication = 1;
	snprintf(sc->info.path, sizeof sc->info.path, "%s", path);
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		sc->dir = strdup(".");
	else if (slash == path)
		sc->dir = strdup("/");
	else
		sc->dir = strndup(path, (size_t)(slash - path));
	if (pkg_dir != NULL && pkg_dir[0] != '\0')
		sc->pkg_dir = strdup(pkg_dir);
	if (sc->dir == NULL || (pkg_dir != NULL && pkg_dir[0] != '\0' && sc->pkg_dir == NULL) ||
	    (sc->L = lua_newstate(bounded_alloc, sc)) == NULL) {
		set_msg(err, errlen, "%s: not enough memory", path);
		scenario_free(sc);
		return NULL;
	}
	lua_State *L = sc->L;
	lua_atpanic(L, l_panic);
	lua_pushcfunction(L, msgh); /* stays at index 1 */

	lua_pushcfunction(L, setup_sandbox);
	lua_pushlightuserdata(L, sc);
	if (lua_pcall(L, 1, 0, 1) != LUA_OK)
		goto lua_fail;

	sc->armed = 1; /* the parser's memory counts */
	int status = luaL_loadfilex(L, path, "t");
	sc->armed = 0;
	if (status == LUA_ERRMEM || sc->mem_refused) {
		char why[160];
		memory_exceeded(sc, why, sizeof why);
		sc->what = "the script's top level";
		set_fatal(sc, NULL, 0, why);
		goto lua_fail;
	}
	if (status == LUA_ERRFILE) {
		/* "cannot read PATH: Is a directory" -> "PATH: cannot read the script: ..." */
		const char *m = error_text(L), *why = strrchr(m, ':');
		set_msg(err, errlen, "%s: cannot read the script%s", path, why ? why : "");
		scenario_free(sc);
		return NULL;
	}
	if (status != LUA_OK)
		goto lua_fail; /* "PATH:LINE: message" */
	if (bounded_call(sc, 0, 1, "the script's top level", NULL) != LUA_OK)
		goto lua_fail;
	if (!lua_istable(L, -1)) {
		set_msg(err, errlen, "%s: the script returned %s: a scenario script must return a "
		        "table (return shop.scenario { ... })", path,
		        lua_isnil(L, -1) ? "nothing" : luaL_typename(L, -1));
		scenario_free(sc);
		return NULL;
	}
	lua_pushcfunction(L, validate);
	lua_pushlightuserdata(L, sc);
	lua_pushvalue(L, -3);
	if (bounded_call(sc, 2, 0, "the scenario table", NULL) != LUA_OK)
		goto lua_fail;
	lua_settop(L, 1);
	for (size_t i = 0; i < n_params; i++) {
		if (!sc->param_read[i]) {
			set_msg(err, errlen, "%s: unknown parameter '%s': the script does not read it "
			        "(ddbsim.param at its top level)", path, params[i].key);
			scenario_free(sc);
			return NULL;
		}
	}

	if (stable_sort(sc->info.restocks, sc->info.n_restocks, sizeof *sc->info.restocks,
	                cmp_restock) != 0 ||
	    stable_sort(sc->info.failures, sc->info.n_failures, sizeof *sc->info.failures,
	                cmp_failure) != 0) {
		set_msg(err, errlen, "%s: not enough memory", path);
		scenario_free(sc);
		return NULL;
	}
	return sc;

lua_fail:
	if (sc->has_fatal)
		set_msg(err, errlen, "%s", sc->fatal);
	else if (err != NULL && errlen > 0)
		unshorten(sc, error_text(L), err, errlen);
	scenario_free(sc);
	return NULL;
}

void scenario_free(struct scenario *sc)
{
	if (sc == NULL)
		return;
	if (sc->L != NULL)
		lua_close(sc->L);
	free(sc->param_read);
	free(sc->info.regions);
	free(sc->info.products);
	free(sc->info.stock);
	free(sc->info.restocks);
	free(sc->info.failures);
	for (size_t i = 0; i < sc->n_checks; i++)
		free(sc->checks[i].name);
	free(sc->checks);
	for (size_t i = 0; i < sc->n_chunks; i++)
		free(sc->chunks[i]);
	free(sc->chunks);
	free(sc->region_refs);
	free(sc->rates);
	free(sc->dir);
	free(sc->pkg_dir);
	free(sc);
}

const struct scenario_info *scenario_info(const struct scenario *sc)
{
	return &sc->info;
}

void scenario_set_time(struct scenario *sc, int64_t now_us)
{
	sc->now_us = now_us;
}

double scenario_rate(struct scenario *sc, size_t r, char *err, size_t errlen)
{
	clear_msg(err, errlen);
	if (r >= sc->info.n_regions) {
		set_msg(err, errlen, "%s: workload.rate: no region #%zu", sc->info.path, r);
		return 0;
	}
	if (sc->rate_kind == RATE_NUMBER)
		return sc->rate;
	if (sc->rate_kind == RATE_TABLE)
		return sc->rates[r];
	lua_State *L = sc->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sc->rate_fn.ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, sc->region_refs[r]);
	lua_pushnumber(L, (lua_Number)now_s(sc));
	if (bounded_call(sc, 2, 1, "hook workload.rate", &sc->rate_fn) != LUA_OK) {
		hook_error(sc, &sc->rate_fn, "hook workload.rate", err, errlen);
		lua_settop(L, 1);
		return 0;
	}
	double x = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1;
	if (!isfinite(x) || x < 0 || x > SCENARIO_RATE_MAX) {
		if (lua_type(L, -1) == LUA_TNUMBER)
			hook_fail(sc, &sc->rate_fn, "hook workload.rate", err, errlen,
			          "returned %.14g: a rate is a number of orders per second from 0 to %.0f",
			          x, SCENARIO_RATE_MAX);
		else
			hook_fail(sc, &sc->rate_fn, "hook workload.rate", err, errlen,
			          "returned a %s: a rate is a number of orders per second from 0 to %.0f",
			          luaL_typename(L, -1), SCENARIO_RATE_MAX);
		x = 0;
	}
	lua_settop(L, 1);
	return x;
}

int scenario_rate_varies(const struct scenario *sc)
{
	return sc->rate_kind == RATE_FUNCTION;
}

/* t[key] = the value at the top (popped); t is an absolute index. */
static void set_key(const struct scenario *sc, int t, enum order_key k)
{
	lua_rawgeti(sc->L, LUA_REGISTRYINDEX, sc->keys[k]);
	lua_insert(sc->L, -2);
	lua_rawset(sc->L, t);
}

/* Pushes t[key] (raw) and returns its type; t is an absolute index. */
static int get_key(const struct scenario *sc, int t, enum order_key k)
{
	lua_rawgeti(sc->L, LUA_REGISTRYINDEX, sc->keys[k]);
	return lua_rawget(sc->L, t);
}

int scenario_next_order(struct scenario *sc, size_t r, struct ddb_order *o, char *err,
                        size_t errlen)
{
	static const char what[] = "hook workload.order";
	clear_msg(err, errlen);
	if (r >= sc->info.n_regions) {
		set_msg(err, errlen, "%s: workload.order: no region #%zu", sc->info.path, r);
		return -1;
	}
	lua_State *L = sc->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sc->order_fn.ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, sc->region_refs[r]);
	lua_pushnumber(L, (lua_Number)now_s(sc));
	if (bounded_call(sc, 2, 1, what, &sc->order_fn) != LUA_OK) {
		hook_error(sc, &sc->order_fn, what, err, errlen);
		lua_settop(L, 1);
		return -1;
	}
	const int t = 2;
	char msg[384];
	const char *sku = NULL, *customer = DEFAULT_CUSTOMER;
	size_t skulen = 0, customerlen = strlen(DEFAULT_CUSTOMER);
	int64_t q = 1;
	if (lua_type(L, t) != LUA_TTABLE) {
		hook_fail(sc, &sc->order_fn, what, err, errlen,
		          "returned %s, expected a table { sku = ..., quantity = ..., customer = ... }",
		          lua_isnil(L, t) ? "nothing" : luaL_typename(L, t));
		goto fail;
	}
	/* 3, 4, 5: the fields; then any other key is an unknown field */
	int present = (get_key(sc, t, K_SKU) != LUA_TNIL) + (get_key(sc, t, K_QUANTITY) != LUA_TNIL) +
	              (get_key(sc, t, K_CUSTOMER) != LUA_TNIL);
	int keys = 0;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		keys++;
	}
	if (keys != present) { /* the slow path: name the smallest unknown key */
		const char *bad = NULL, *badtype = "?";
		lua_pushnil(L);
		while (lua_next(L, t) != 0) {
			lua_pop(L, 1);
			if (lua_type(L, -1) != LUA_TSTRING) {
				badtype = luaL_typename(L, -1);
				continue;
			}
			const char *k = lua_tostring(L, -1); /* anchored in the table */
			if (strcmp(k, "sku") != 0 && strcmp(k, "quantity") != 0 &&
			    strcmp(k, "customer") != 0 && (bad == NULL || strcmp(k, bad) < 0))
				bad = k;
		}
		if (bad != NULL)
			hook_fail(sc, &sc->order_fn, what, err, errlen,
			          "returned an order with the unknown field '%.64s' (an order is "
			          "{ sku = ..., quantity = ..., customer = ... })", bad);
		else
			hook_fail(sc, &sc->order_fn, what, err, errlen,
			          "returned an order with a key of type %s (an order is "
			          "{ sku = ..., quantity = ..., customer = ... })", badtype);
		goto fail;
	}
	if (field_string(L, 3, "sku", DDB_SKU_MAX, &sku, &skulen, msg, sizeof msg) != 0)
		goto bad;
	if (!lua_isnil(L, 4) && order_quantity(L, 4, &q, msg, sizeof msg) != 0)
		goto bad;
	if (!lua_isnil(L, 5) && field_string(L, 5, "customer", DDB_NAME_MAX, &customer,
	                                      &customerlen, msg, sizeof msg) != 0)
		goto bad;
	copy_field(o->sku, sizeof o->sku, sku, skulen);
	copy_field(o->customer, sizeof o->customer, customer, customerlen);
	o->quantity = q;
	lua_settop(L, 1);
	return 0;
bad:
	hook_fail(sc, &sc->order_fn, what, err, errlen, "%s", msg);
fail:
	lua_settop(L, 1);
	return -1;
}

static void push_order(const struct scenario *sc, const struct ddb_order *o)
{
	lua_State *L = sc->L;
	lua_createtable(L, 0, K_N);
	int t = lua_gettop(L);
	lua_pushlstring(L, o->id, strnlen(o->id, sizeof o->id));
	set_key(sc, t, K_ID);
	lua_pushlstring(L, o->region, strnlen(o->region, sizeof o->region));
	set_key(sc, t, K_REGION);
	lua_pushlstring(L, o->customer, strnlen(o->customer, sizeof o->customer));
	set_key(sc, t, K_CUSTOMER);
	lua_pushlstring(L, o->sku, strnlen(o->sku, sizeof o->sku));
	set_key(sc, t, K_SKU);
	lua_pushinteger(L, (lua_Integer)o->quantity);
	set_key(sc, t, K_QUANTITY);
	lua_pushnumber(L, (lua_Number)o->unit_price_cents / 100);
	set_key(sc, t, K_UNIT_PRICE);
	lua_pushnumber(L, (lua_Number)o->placed_at_us / 1e6);
	set_key(sc, t, K_PLACED_AT);
}

static int same_string(lua_State *L, int idx, const char *field, size_t size)
{
	if (lua_type(L, idx) != LUA_TSTRING)
		return 0;
	size_t len;
	const char *s = lua_tolstring(L, idx, &len);
	return len == strnlen(field, size) && memcmp(s, field, len) == 0;
}

/* Applies the order fields of the table at t to *n (orig: the order as the
 * rule got it).  strict: t is a table the rule returned, not the order
 * itself, so a field it does not know is an error. */
static int apply_changes(const struct scenario *sc, int t, const struct ddb_order *orig,
                         struct ddb_order *n, int strict, char *msg, size_t msglen)
{
	lua_State *L = sc->L;
	int top = lua_gettop(L);
	int rc = -1;
	if (strict) { /* name the smallest unknown key: the same message on every run */
		const char *bad = NULL, *badtype = NULL;
		lua_pushnil(L);
		while (lua_next(L, t) != 0) {
			lua_pop(L, 1);
			if (lua_type(L, -1) != LUA_TSTRING) {
				badtype = luaL_typename(L, -1);
				continue;
			}
			const char *k = lua_tostring(L, -1); /* anchored in the table */
			int ok = 0;
			for (int a = 0; a < K_N; a++)
				ok |= strcmp(k, order_key_names[a]) == 0;
			if (!ok && (bad == NULL || strcmp(k, bad) < 0))
				bad = k;
		}
		if (bad != NULL) {
			set_msg(msg, msglen, "returned a table with the unknown field '%.64s' (changes "
			        "are sku, quantity, unit_price, customer, region)", bad);
			goto out;
		}
		if (badtype != NULL) {
			set_msg(msg, msglen, "returned a table with a key of type %s (changes are sku, "
			        "quantity, unit_price, customer, region)", badtype);
			goto out;
		}
	}
	if (get_key(sc, t, K_ID) != LUA_TNIL && !same_string(L, -1, orig->id, sizeof orig->id)) {
		set_msg(msg, msglen, "order.id cannot be changed");
		goto out;
	}
	if (get_key(sc, t, K_REGION) != LUA_TNIL &&
	    !same_string(L, -1, orig->region, sizeof orig->region)) {
		/* Routing: the order goes to another region's store. */
		const char *to = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
		size_t r = 0;
		while (r < sc->info.n_regions && strcmp(sc->info.regions[r], to) != 0)
			r++;
		if (r == sc->info.n_regions) {
			set_msg(msg, msglen, "order.region: \"%.64s\" is not a region of the scenario", to);
			goto out;
		}
		copy_field(n->region, sizeof n->region, to, strlen(to));
	}
	if (get_key(sc, t, K_PLACED_AT) != LUA_TNIL &&
	    !(lua_type(L, -1) == LUA_TNUMBER &&
	      lua_tonumber(L, -1) == (lua_Number)orig->placed_at_us / 1e6)) {
		set_msg(msg, msglen, "order.placed_at cannot be changed");
		goto out;
	}
	const char *s;
	size_t len;
	int i = get_key(sc, t, K_SKU) == LUA_TNIL ? 0 : lua_gettop(L);
	if (i && field_string(L, i, "order.sku", DDB_SKU_MAX, &s, &len, msg, msglen) != 0)
		goto out;
	if (i)
		copy_field(n->sku, sizeof n->sku, s, len);
	i = get_key(sc, t, K_CUSTOMER) == LUA_TNIL ? 0 : lua_gettop(L);
	if (i && field_string(L, i, "order.customer", DDB_NAME_MAX, &s, &len, msg, msglen) != 0)
		goto out;
	if (i)
		copy_field(n->customer, sizeof n->customer, s, len);
	i = get_key(sc, t, K_QUANTITY) == LUA_TNIL ? 0 : lua_gettop(L);
	if (i && order_quantity(L, i, &n->quantity, msg, msglen) != 0) {
		char tmp[256];
		snprintf(tmp, sizeof tmp, "order.%s", msg);
		set_msg(msg, msglen, "%s", tmp);
		goto out;
	}
	i = get_key(sc, t, K_UNIT_PRICE) == LUA_TNIL ? 0 : lua_gettop(L);
	if (i) {
		if (lua_type(L, i) != LUA_TNUMBER) {
			set_msg(msg, msglen, "order.unit_price: must be a number, got a %s",
			        luaL_typename(L, i));
			goto out;
		}
		lua_Number x = lua_tonumber(L, i);
		if (x != (lua_Number)orig->unit_price_cents / 100 &&
		    scenario_price_cents((double)x, &n->unit_price_cents) != 0) {
			set_msg(msg, msglen, "order.unit_price: must be a non-negative number of at most "
			        "%lld, got %.14g", (long long)(SCENARIO_PRICE_MAX_CENTS / 100), (double)x);
			goto out;
		}
	}
	rc = 0;
out:
	lua_settop(L, top);
	return rc;
}

/* ---- the rule contract ---------------------------------------------------- */

/* How read_verdict() reads what a hook returned. */
struct contract {
	int answer_type;            /* the type of the hook's own answer; LUA_TNONE: none */
	const char *expected;       /* what the hook returns, for an error message */
	int nothing_accepts;        /* else returning nothing is an error (a check) */
	const char *reason_word;    /* "reason", "detail" */
	size_t reason_max;          /* bytes, with the NUL */
	int cut_long;               /* a longer reason is cut on a character boundary, else an error */
	const char *default_reason; /* NULL: "returned false" or "returned nil" */
};

/* Reads the results of a hook, from base to the top of the stack, under the
 * rule contract (scenario.h):
 *   nothing, true            RULE_ACCEPT (*answer = 0)
 *   false or nil [, reason]  RULE_REJECT, the reason (a string or a number)
 *                            or the default reason in out
 *   the answer type          RULE_ACCEPT, *answer = base
 *   anything else            RULE_ERROR, the message in out
 * The one place where every rules.* hook and every check is read. */
static enum rule_verdict read_verdict(const struct scenario *sc, const struct hook *h,
                                      const char *what, int base, const struct contract *c,
                                      int *answer, char *out, size_t outlen)
{
	lua_State *L = sc->L;
	int n = lua_gettop(L) - base + 1;
	*answer = 0;
	clear_msg(out, outlen);
	int t = n > 0 ? lua_type(L, base) : LUA_TNONE;
	if ((t == LUA_TNONE && c->nothing_accepts) || (t == LUA_TBOOLEAN && lua_toboolean(L, base)))
		return RULE_ACCEPT;
	if (t != LUA_TNONE && t == c->answer_type) {
		*answer = base;
		return RULE_ACCEPT;
	}
	if (t != LUA_TNIL && t != LUA_TBOOLEAN) {
		hook_fail(sc, h, what, out, outlen, "returned %s%s: %s",
		          t == LUA_TNONE ? "nothing" : "a ", t == LUA_TNONE ? "" : lua_typename(L, t),
		          c->expected);
		return RULE_ERROR;
	}
	/* false or nil: rejected */
	const char *word = c->reason_word;
	int rt = n > 1 ? lua_type(L, base + 1) : LUA_TNIL;
	const char *s = c->default_reason ? c->default_reason
	                : t == LUA_TNIL ? "returned nil" : "returned false";
	size_t len = strlen(s);
	if (rt == LUA_TSTRING || rt == LUA_TNUMBER) {
		size_t l;
		const char *r = lua_tolstring(L, base + 1, &l);
		if (l > 0) {
			s = r;
			len = l;
		}
	} else if (rt != LUA_TNIL) {
		hook_fail(sc, h, what, out, outlen, "returned %s and a %s: the %s must be a string or "
		          "a number", t == LUA_TNIL ? "nil" : "false", lua_typename(L, rt), word);
		return RULE_ERROR;
	}
	if (memchr(s, '\0', len) != NULL || !utf8_valid(s, len)) {
		hook_fail(sc, h, what, out, outlen, "the %s must be valid UTF-8 without NUL bytes", word);
		return RULE_ERROR;
	}
	size_t max = c->reason_max < outlen ? c->reason_max : outlen;
	if (max == 0)
		return RULE_REJECT;
	if (len >= max) {
		if (!c->cut_long) {
			hook_fail(sc, h, what, out, outlen, "the %s must be a string of at most %zu bytes "
			          "without NUL", word, max - 1);
			return RULE_ERROR;
		}
		len = utf8_cut(s, len, max - 1);
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return RULE_REJECT;
}

enum rule_verdict scenario_order_rule(struct scenario *sc, struct ddb_order *o, char *reason,
                                      size_t reasonlen)
{
	static const char what[] = "hook rules.order";
	static const struct contract contract = {
		LUA_TTABLE, "return true (or nothing) to accept, false (or nil) and a reason to "
		            "reject, or a table of changes",
		1, "reason", SCENARIO_REASON_MAX, 0, DEFAULT_REASON
	};
	clear_msg(reason, reasonlen);
	if (sc->rule_fn.ref == LUA_NOREF)
		return RULE_ACCEPT;
	lua_State *L = sc->L;
	push_order(sc, o); /* 2: the order, kept to read in-place changes */
	lua_rawgeti(L, LUA_REGISTRYINDEX, sc->rule_fn.ref);
	lua_pushvalue(L, 2);
	if (bounded_call(sc, 1, LUA_MULTRET, what, &sc->rule_fn) != LUA_OK) {
		hook_error(sc, &sc->rule_fn, what, reason, reasonlen);
		lua_settop(L, 1);
		return RULE_ERROR;
	}
	/* 3...: the results */
	int changes;
	enum rule_verdict v = read_verdict(sc, &sc->rule_fn, what, 3, &contract, &changes, reason,
	                                   reasonlen);
	if (v == RULE_ACCEPT) {
		char msg[384];
		struct ddb_order n = *o;
		if (apply_changes(sc, 2, o, &n, 0, msg, sizeof msg) != 0 ||
		    (changes && !lua_rawequal(L, 2, changes) &&
		     apply_changes(sc, changes, o, &n, 1, msg, sizeof msg) != 0)) {
			hook_fail(sc, &sc->rule_fn, what, reason, reasonlen, "%s", msg);
			v = RULE_ERROR;
		} else {
			*o = n;
		}
	}
	lua_settop(L, 1);
	return v;
}

static void push_json(lua_State *L, const cJSON *j, int depth)
{
	luaL_checkstack(L, 4, "facts nested too deeply");
	if (depth > 200)
		luaL_error(L, "facts nested too deeply");
	if (cJSON_IsObject(j)) {
		lua_createtable(L, 0, cJSON_GetArraySize(j));
		for (const cJSON *c = j->child; c != NULL; c = c->next) {
			if (c->string == NULL)
				continue;
			push_json(L, c, depth + 1);
			lua_setfield(L, -2, c->string);
		}
	} else if (cJSON_IsArray(j)) {
		lua_createtable(L, cJSON_GetArraySize(j), 0);
		lua_Integer i = 1;
		for (const cJSON *c = j->child; c != NULL; c = c->next) {
			push_json(L, c, depth + 1);
			lua_rawseti(L, -2, i++);
		}
	} else if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (isfinite(d) && d == floor(d) && d >= -9223372036854775808.0 &&
		    d < 9223372036854775808.0)
			lua_pushinteger(L, (lua_Integer)d);
		else
			lua_pushnumber(L, (lua_Number)d);
	} else if (cJSON_IsString(j) && j->valuestring != NULL) {
		lua_pushstring(L, j->valuestring);
	} else if (cJSON_IsBool(j)) {
		lua_pushboolean(L, cJSON_IsTrue(j));
	} else {
		lua_pushnil(L);
	}
}

static int push_facts(lua_State *L)
{
	const cJSON *facts = lua_touserdata(L, 1);
	if (facts == NULL)
		lua_newtable(L);
	else
		push_json(L, facts, 0);
	return 1;
}

void scenario_run_checks(struct scenario *sc, const struct cJSON *facts,
                         void (*result)(void *ctx, const char *name, int ok, const char *detail),
                         void *ctx)
{
	static const struct contract contract = {
		LUA_TNONE, "a check returns true, or false (or nil) and a detail", 0, "detail",
		SCENARIO_DETAIL_MAX, 1, NULL
	};
	lua_State *L = sc->L;
	for (size_t i = 0; i < sc->n_checks; i++) {
		const struct check *c = &sc->checks[i];
		char what[160], detail[SCENARIO_DETAIL_MAX];
		snprintf(what, sizeof what, "check '%.100s'", c->name);
		lua_settop(L, 1);
		/* fresh facts for each check: one cannot change what the next sees */
		lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn.ref);
		lua_pushcfunction(L, push_facts);
		lua_pushlightuserdata(L, (void *)facts);
		int ok = 0;
		if (bounded_call(sc, 1, 1, what, &c->fn) != LUA_OK) {
			format_hook_error(sc, NULL, what, error_text(L), detail, sizeof detail);
		} else if (bounded_call(sc, 1, LUA_MULTRET, what, &c->fn) != LUA_OK) {
			hook_error(sc, &c->fn, what, detail, sizeof detail);
		} else {
			int unused;
			ok = read_verdict(sc, &c->fn, what, 2, &contract, &unused, detail, sizeof detail) ==
			     RULE_ACCEPT;
		}
		/* An error message may quote any bytes; the report is UTF-8. */
		utf8_scrub(detail);
		result(ctx, c->name, ok, detail);
	}
	lua_settop(L, 1);
}

/* ---- customer records ------------------------------------------------------ */

int scenario_has_customers(const struct scenario *sc)
{
	return sc->has_customers;
}

void scenario_set_node_query(struct scenario *sc,
                             const char *(*state_of)(void *ctx, const char *node), void *ctx)
{
	sc->node_state = state_of;
	sc->node_ctx = ctx;
}

double scenario_customer_rate(struct scenario *sc, char *err, size_t errlen)
{
	static const char what[] = "hook workload.customers.rate";
	clear_msg(err, errlen);
	if (sc->customer_rate_fn.ref == LUA_NOREF)
		return sc->customer_rate;
	lua_State *L = sc->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sc->customer_rate_fn.ref);
	lua_pushnumber(L, (lua_Number)now_s(sc));
	double x = 0;
	if (bounded_call(sc, 1, 1, what, &sc->customer_rate_fn) != LUA_OK) {
		hook_error(sc, &sc->customer_rate_fn, what, err, errlen);
	} else {
		x = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1;
		if (!isfinite(x) || x < 0 || x > SCENARIO_RATE_MAX) {
			hook_fail(sc, &sc->customer_rate_fn, what, err, errlen,
			          "must return a number of operations per second from 0 to %.0f",
			          SCENARIO_RATE_MAX);
			x = 0;
		}
	}
	lua_settop(L, 1);
	return x;
}

int scenario_customer_rate_varies(const struct scenario *sc)
{
	return sc->customer_rate_fn.ref != LUA_NOREF;
}

/* Pushes a customer as a Lua table. */
static void push_customer(lua_State *L, const struct ddb_customer *c)
{
	lua_createtable(L, 0, 8);
	lua_pushstring(L, c->id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, c->unique_id);
	lua_setfield(L, -2, "unique_id");
	lua_pushinteger(L, (lua_Integer)c->zip_prefix);
	lua_setfield(L, -2, "zip");
	lua_pushstring(L, c->city);
	lua_setfield(L, -2, "city");
	lua_pushstring(L, c->state);
	lua_setfield(L, -2, "state");
	lua_pushstring(L, c->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, c->email);
	lua_setfield(L, -2, "email");
	lua_pushinteger(L, (lua_Integer)c->version);
	lua_setfield(L, -2, "version");
}

/* t.field as a string into dst[size]; absent: 0 and dst untouched (or
 * "" when required == 0 and clear == 1); -1 with msg on a bad value. */
static int opt_string(lua_State *L, int t, const char *field, char *dst, size_t size,
                      int *present, char *msg, size_t msglen)
{
	*present = 0;
	if (getf(L, t, field) == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	const char *s;
	size_t len;
	char name[64];
	snprintf(name, sizeof name, "customer.%s", field);
	if (lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) == 0) {
		dst[0] = '\0'; /* an empty optional field */
	} else if (field_string(L, -1, name, size, &s, &len, msg, msglen) != 0) {
		lua_pop(L, 1);
		return -1;
	} else {
		copy_field(dst, size, s, len);
	}
	*present = 1;
	lua_pop(L, 1);
	return 0;
}

static int opt_integer(lua_State *L, int t, const char *field, int64_t *dst, int *present,
                       char *msg, size_t msglen)
{
	*present = 0;
	if (getf(L, t, field) == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	int isint = 0;
	lua_Integer v = lua_tointegerx(L, -1, &isint);
	lua_pop(L, 1);
	if (!isint || v < 0) {
		set_msg(msg, msglen, "customer.%s: must be a non-negative integer", field);
		return -1;
	}
	*dst = (int64_t)v;
	*present = 1;
	return 0;
}

/* Reads the op table at t into req. */
static int read_customer_op(lua_State *L, int t, struct customer_request *req, char *msg,
                            size_t msglen)
{
	static const char *const ops[] = { NULL, "create", "update", "delete", "get", "find" };
	static const char *const keys[] = { "op",   "id",    "unique_id", "zip",   "city",
		                            "state", "name", "email",     "zip_min", "zip_max",
		                            "limit", NULL };
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		int ok = 0;
		for (const char *const *k = keys; *k && !ok; k++)
			ok = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), *k) == 0;
		if (!ok) {
			set_msg(msg, msglen, "returned an operation with the unknown field '%.64s'",
			        lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
			lua_pop(L, 1);
			return -1;
		}
	}
	memset(req, 0, sizeof *req);
	getf(L, t, "op");
	const char *op = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
	for (int i = CUSTOMER_CREATE; i <= CUSTOMER_FIND; i++)
		if (strcmp(op, ops[i]) == 0)
			req->op = i;
	lua_pop(L, 1);
	if (req->op == 0) {
		set_msg(msg, msglen, "op: must be \"create\", \"update\", \"delete\", \"get\" or \"find\"");
		return -1;
	}
	int present;
	struct ddb_customer *c = &req->c;
	if (req->op == CUSTOMER_FIND) {
		req->filter.zip_min = 0;
		req->filter.zip_max = INT64_MAX;
		if (opt_integer(L, t, "zip_min", &req->filter.zip_min, &present, msg, msglen) != 0 ||
		    opt_integer(L, t, "zip_max", &req->filter.zip_max, &present, msg, msglen) != 0 ||
		    opt_string(L, t, "city", req->city, sizeof req->city, &present, msg, msglen) != 0)
			return -1;
		req->filter.city = present ? req->city : NULL;
		if (opt_string(L, t, "state", req->state, sizeof req->state, &present, msg, msglen) != 0)
			return -1;
		req->filter.state = present ? req->state : NULL;
		int64_t limit = 0;
		if (opt_integer(L, t, "limit", &limit, &present, msg, msglen) != 0)
			return -1;
		req->filter.limit = (size_t)limit;
		return 0;
	}
	if (opt_string(L, t, "id", c->id, sizeof c->id, &present, msg, msglen) != 0)
		return -1;
	if (!present || !c->id[0]) {
		set_msg(msg, msglen, "customer.id: required");
		return -1;
	}
	if (req->op != CUSTOMER_CREATE && req->op != CUSTOMER_UPDATE)
		return 0;
	static const struct {
		const char *key;
		unsigned bit;
		size_t off, size;
	} strings[] = {
		{ "unique_id", CF_UNIQUE_ID, offsetof(struct ddb_customer, unique_id), DDB_NAME_MAX },
		{ "city", CF_CITY, offsetof(struct ddb_customer, city), DDB_TITLE_MAX },
		{ "state", CF_STATE, offsetof(struct ddb_customer, state), DDB_NAME_MAX },
		{ "name", CF_NAME, offsetof(struct ddb_customer, name), DDB_TITLE_MAX },
		{ "email", CF_EMAIL, offsetof(struct ddb_customer, email), DDB_TITLE_MAX },
	};
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		if (opt_string(L, t, strings[i].key, (char *)c + strings[i].off, strings[i].size,
		               &present, msg, msglen) != 0)
			return -1;
		if (present)
			req->changed |= strings[i].bit;
	}
	if (opt_integer(L, t, "zip", &c->zip_prefix, &present, msg, msglen) != 0)
		return -1;
	if (present)
		req->changed |= CF_ZIP;
	if (req->op == CUSTOMER_CREATE && !(req->changed & CF_ZIP)) {
		set_msg(msg, msglen, "customer.zip: required to create a customer");
		return -1;
	}
	if (req->op == CUSTOMER_CREATE && !(req->changed & CF_UNIQUE_ID))
		copy_field(c->unique_id, sizeof c->unique_id, c->id, strlen(c->id));
	return 0;
}

int scenario_next_customer(struct scenario *sc, struct customer_request *req, char *err,
                           size_t errlen)
{
	static const char what[] = "hook workload.customers.operation";
	clear_msg(err, errlen);
	if (!sc->has_customers) {
		set_msg(err, errlen, "%s: no workload.customers", sc->info.path);
		return -1;
	}
	lua_State *L = sc->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sc->customer_op_fn.ref);
	lua_pushnumber(L, (lua_Number)now_s(sc));
	int rc = -1;
	char msg[512];
	if (bounded_call(sc, 1, 1, what, &sc->customer_op_fn) != LUA_OK) {
		hook_error(sc, &sc->customer_op_fn, what, err, errlen);
	} else if (lua_type(L, -1) != LUA_TTABLE) {
		hook_fail(sc, &sc->customer_op_fn, what, err, errlen,
		          "returned a %s: an operation is a table { op = ..., ... }",
		          luaL_typename(L, -1));
	} else if (read_customer_op(L, lua_gettop(L), req, msg, sizeof msg) != 0) {
		hook_fail(sc, &sc->customer_op_fn, what, err, errlen, "%s", msg);
	} else {
		rc = 0;
	}
	lua_settop(L, 1);
	return rc;
}

static long region_index(const struct scenario *sc, const char *name)
{
	for (size_t r = 0; r < sc->info.n_regions; r++)
		if (strcmp(sc->info.regions[r], name) == 0)
			return (long)r;
	return -1;
}

enum rule_verdict scenario_customer_home(struct scenario *sc, const struct ddb_customer *c,
                                         size_t *home, char *msg, size_t msglen)
{
	static const char what[] = "hook rules.customer_home";
	static const struct contract contract = {
		LUA_TSTRING, "return the name of the home region, true (or nothing) for the first "
		             "region, or false (or nil) and a reason to reject",
		1, "reason", SCENARIO_REASON_MAX, 0, DEFAULT_REASON
	};
	clear_msg(msg, msglen);
	*home = 0;
	if (sc->home_fn.ref == LUA_NOREF)
		return RULE_ACCEPT;
	lua_State *L = sc->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sc->home_fn.ref);
	push_customer(L, c);
	enum rule_verdict v = RULE_ERROR;
	int region;
	if (bounded_call(sc, 1, LUA_MULTRET, what, &sc->home_fn) != LUA_OK) {
		hook_error(sc, &sc->home_fn, what, msg, msglen);
	} else if ((v = read_verdict(sc, &sc->home_fn, what, 2, &contract, &region, msg, msglen)) ==
	                   RULE_ACCEPT && region) {
		size_t len;
		const char *name = lua_tolstring(L, region, &len);
		long r = strlen(name) == len ? region_index(sc, name) : -1;
		if (r < 0) {
			hook_fail(sc, &sc->home_fn, what, msg, msglen,
			          "returned \"%.64s\": not a region of the scenario", name);
			v = RULE_ERROR;
		} else {
			*home = (size_t)r;
		}
	}
	lua_settop(L, 1);
	return v;
}

enum rule_verdict scenario_customer_replicas(struct scenario *sc, const struct ddb_customer *c,
                                             size_t home, size_t *out, size_t max, size_t *n,
                                             char *msg, size_t msglen)
{
	static const char what[] = "hook rules.customer_replicas";
	static const struct contract contract = {
		LUA_TTABLE, "return a list of regions, true (or nothing) for the default replicas, or "
		            "false (or nil) and a reason to reject",
		1, "reason", SCENARIO_REASON_MAX, 0, DEFAULT_REASON
	};
	clear_msg(msg, msglen);
	*n = 0;
	size_t nr = sc->info.n_regions;
	int list = 0;
	enum rule_verdict v = RULE_ACCEPT;
	lua_State *L = sc->L;
	if (sc->replicas_fn.ref != LUA_NOREF) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, sc->replicas_fn.ref);
		push_customer(L, c);
		lua_pushstring(L, sc->info.regions[home]);
		if (bounded_call(sc, 2, LUA_MULTRET, what, &sc->replicas_fn) != LUA_OK) {
			hook_error(sc, &sc->replicas_fn, what, msg, msglen);
			v = RULE_ERROR;
		} else {
			v = read_verdict(sc, &sc->replicas_fn, what, 2, &contract, &list, msg, msglen);
		}
	}
	if (v == RULE_ACCEPT && !list) { /* the default: the next regions, in a ring */
		for (size_t k = 1; k <= sc->replication && k < nr && *n < max; k++)
			out[(*n)++] = (home + k) % nr;
	}
	if (v == RULE_ACCEPT && list) {
		lua_Integer len = (lua_Integer)lua_rawlen(L, list);
		for (lua_Integer i = 1; i <= len; i++) {
			lua_rawgeti(L, list, i);
			long r = lua_type(L, -1) == LUA_TSTRING ? region_index(sc, lua_tostring(L, -1)) : -1;
			lua_pop(L, 1);
			int repeat = r == (long)home;
			for (size_t k = 0; k < *n; k++)
				repeat |= out[k] == (size_t)r;
			if (r < 0 || repeat || *n == max) {
				hook_fail(sc, &sc->replicas_fn, what, msg, msglen,
				          "returned a bad list: regions of the scenario, not the home, no "
				          "repeats, at most %zu", max);
				*n = 0;
				v = RULE_ERROR;
				break;
			}
			out[(*n)++] = (size_t)r;
		}
	}
	lua_settop(L, 1);
	return v;
}
