/*
 * scenario.c - loads a Lua 5.4 scenario script and calls its hooks for the
 * engine (workload.rate, workload.order, rules.order, checks).
 *
 * scenario_load_limited() makes the sandboxed state (scenario_sandbox.c),
 * runs the script's top level, and has the table it returns validated
 * (scenario_parse.c).  The customer hooks are in scenario_customers.c;
 * every call into the script goes through scn_bounded_call()
 * (scenario_limits.c).
 *
 * The Lua state keeps its message handler at stack index 1 for its whole
 * life; every entry point leaves the stack at that height.  Hooks are kept
 * in the registry (luaL_ref), region names too, so that a call per order
 * does no table lookups by name and no C allocation.
 */
#include "scenario_int.h"
#include "utf8.h"

#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hook errors ---------------------------------------------------------- */

const char *const scn_order_key_names[K_N] = { "id",       "region",     "customer", "sku",
                                                 "quantity", "unit_price", "placed_at" };

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

void scn_hook_error(const struct scenario *sc, const struct hook *h, const char *what,
                    char *out, size_t outlen)
{
	format_hook_error(sc, h, what, error_text(sc->L), out, outlen);
}

/* An unusable value returned by a hook: named with the hook's position. */
void scn_hook_fail(const struct scenario *sc, const struct hook *h, const char *what, char *out,
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
int scn_field_string(lua_State *L, int idx, const char *field, size_t max, const char **s,
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

/* The checks of scenario_load_limited() before anything is allocated. */
static int check_script_path(const char *path, const struct prng *rng, char *err, size_t errlen)
{
	if (path == NULL || path[0] == '\0') {
		set_msg(err, errlen, "scenario: no script given");
		return -1;
	}
	if (strlen(path) >= sizeof(((struct scenario_info *)0)->path)) {
		set_msg(err, errlen, "%.200s...: path too long", path);
		return -1;
	}
	if (rng == NULL) {
		set_msg(err, errlen, "%s: no PRNG given", path);
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		set_msg(err, errlen, "%s: cannot open the script: %s", path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/* A struct scenario with its limits, its directories and an empty Lua
 * state (with no libraries yet), or NULL with the message in err. */
static struct scenario *scenario_new(const char *path, const char *pkg_dir, struct prng *rng,
                                     const struct ddb_option *params, size_t n_params,
                                     const struct scenario_limits *limits, char *err,
                                     size_t errlen)
{
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
	    (sc->L = lua_newstate(scn_bounded_alloc, sc)) == NULL) {
		set_msg(err, errlen, "%s: not enough memory", path);
		scenario_free(sc);
		return NULL;
	}
	return sc;
}

struct scenario *scenario_load_limited(const char *path, const char *pkg_dir, struct prng *rng,
                                       const struct ddb_option *params, size_t n_params,
                                       const struct scenario_limits *limits, char *err,
                                       size_t errlen)
{
	clear_msg(err, errlen);
	if (check_script_path(path, rng, err, errlen) != 0)
		return NULL;
	struct scenario *sc = scenario_new(path, pkg_dir, rng, params, n_params, limits, err, errlen);
	if (sc == NULL)
		return NULL;
	lua_State *L = sc->L;
	lua_atpanic(L, scn_panic);
	lua_pushcfunction(L, msgh); /* stays at index 1 */

	lua_pushcfunction(L, scn_setup_sandbox);
	lua_pushlightuserdata(L, sc);
	if (lua_pcall(L, 1, 0, 1) != LUA_OK)
		goto lua_fail;

	sc->armed = 1; /* the parser's memory counts */
	int status = luaL_loadfilex(L, path, "t");
	sc->armed = 0;
	if (status == LUA_ERRMEM || sc->mem_refused) {
		char why[160];
		scn_memory_exceeded(sc, why, sizeof why);
		sc->what = "the script's top level";
		scn_set_fatal(sc, NULL, 0, why);
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
	if (scn_bounded_call(sc, 0, 1, "the script's top level", NULL) != LUA_OK)
		goto lua_fail;
	if (!lua_istable(L, -1)) {
		set_msg(err, errlen, "%s: the script returned %s: a scenario script must return a "
		        "table (return shop.scenario { ... })", path,
		        lua_isnil(L, -1) ? "nothing" : luaL_typename(L, -1));
		scenario_free(sc);
		return NULL;
	}
	lua_pushcfunction(L, scn_validate);
	lua_pushlightuserdata(L, sc);
	lua_pushvalue(L, -3);
	if (scn_bounded_call(sc, 2, 0, "the scenario table", NULL) != LUA_OK)
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

	if (scn_sort_steps(sc) != 0) {
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
	for (size_t i = 0; i < sc->info.n_actions; i++) {
		free(sc->info.actions[i].product);
		free(sc->info.actions[i].step);
		free(sc->info.actions[i].customer);
	}
	free(sc->info.actions);
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
	if (scn_bounded_call(sc, 2, 1, "hook workload.rate", &sc->rate_fn) != LUA_OK) {
		scn_hook_error(sc, &sc->rate_fn, "hook workload.rate", err, errlen);
		lua_settop(L, 1);
		return 0;
	}
	double x = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1;
	if (!isfinite(x) || x < 0 || x > SCENARIO_RATE_MAX) {
		if (lua_type(L, -1) == LUA_TNUMBER)
			scn_hook_fail(sc, &sc->rate_fn, "hook workload.rate", err, errlen,
			              "returned %.14g: a rate is a number of orders per second from 0 to %.0f",
			              x, SCENARIO_RATE_MAX);
		else
			scn_hook_fail(sc, &sc->rate_fn, "hook workload.rate", err, errlen,
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
	if (scn_bounded_call(sc, 2, 1, what, &sc->order_fn) != LUA_OK) {
		scn_hook_error(sc, &sc->order_fn, what, err, errlen);
		lua_settop(L, 1);
		return -1;
	}
	const int t = 2;
	char msg[384];
	const char *sku = NULL, *customer = DEFAULT_CUSTOMER;
	size_t skulen = 0, customerlen = strlen(DEFAULT_CUSTOMER);
	int64_t q = 1;
	if (lua_type(L, t) != LUA_TTABLE) {
		scn_hook_fail(sc, &sc->order_fn, what, err, errlen,
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
			scn_hook_fail(sc, &sc->order_fn, what, err, errlen,
			              "returned an order with the unknown field '%.64s' (an order is "
			              "{ sku = ..., quantity = ..., customer = ... })", bad);
		else
			scn_hook_fail(sc, &sc->order_fn, what, err, errlen,
			              "returned an order with a key of type %s (an order is "
			              "{ sku = ..., quantity = ..., customer = ... })", badtype);
		goto fail;
	}
	if (scn_field_string(L, 3, "sku", DDB_SKU_MAX, &sku, &skulen, msg, sizeof msg) != 0)
		goto bad;
	if (!lua_isnil(L, 4) && order_quantity(L, 4, &q, msg, sizeof msg) != 0)
		goto bad;
	if (!lua_isnil(L, 5) && scn_field_string(L, 5, "customer", DDB_NAME_MAX, &customer,
	                                      &customerlen, msg, sizeof msg) != 0)
		goto bad;
	copy_field(o->sku, sizeof o->sku, sku, skulen);
	copy_field(o->customer, sizeof o->customer, customer, customerlen);
	o->quantity = q;
	lua_settop(L, 1);
	return 0;
bad:
	scn_hook_fail(sc, &sc->order_fn, what, err, errlen, "%s", msg);
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
				ok |= strcmp(k, scn_order_key_names[a]) == 0;
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
	if (i && scn_field_string(L, i, "order.sku", DDB_SKU_MAX, &s, &len, msg, msglen) != 0)
		goto out;
	if (i)
		copy_field(n->sku, sizeof n->sku, s, len);
	i = get_key(sc, t, K_CUSTOMER) == LUA_TNIL ? 0 : lua_gettop(L);
	if (i && scn_field_string(L, i, "order.customer", DDB_NAME_MAX, &s, &len, msg, msglen) != 0)
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

/* Reads the results of a hook, from base to the top of the stack, under the
 * rule contract (scenario.h):
 *   nothing, true            RULE_ACCEPT (*answer = 0)
 *   false or nil [, reason]  RULE_REJECT, the reason (a string or a number)
 *                            or the default reason in out
 *   the answer type          RULE_ACCEPT, *answer = base
 *   anything else            RULE_ERROR, the message in out
 * The one place where every rules.* hook and every check is read. */
enum rule_verdict scn_read_verdict(const struct scenario *sc, const struct hook *h,
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
		scn_hook_fail(sc, h, what, out, outlen, "returned %s%s: %s",
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
		scn_hook_fail(sc, h, what, out, outlen, "returned %s and a %s: the %s must be a string or "
		              "a number", t == LUA_TNIL ? "nil" : "false", lua_typename(L, rt), word);
		return RULE_ERROR;
	}
	if (memchr(s, '\0', len) != NULL || !utf8_valid(s, len)) {
		scn_hook_fail(sc, h, what, out, outlen, "the %s must be valid UTF-8 without NUL bytes", word);
		return RULE_ERROR;
	}
	size_t max = c->reason_max < outlen ? c->reason_max : outlen;
	if (max == 0)
		return RULE_REJECT;
	if (len >= max) {
		if (!c->cut_long) {
			scn_hook_fail(sc, h, what, out, outlen, "the %s must be a string of at most %zu bytes "
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
	if (scn_bounded_call(sc, 1, LUA_MULTRET, what, &sc->rule_fn) != LUA_OK) {
		scn_hook_error(sc, &sc->rule_fn, what, reason, reasonlen);
		lua_settop(L, 1);
		return RULE_ERROR;
	}
	/* 3...: the results */
	int changes;
	enum rule_verdict v = scn_read_verdict(sc, &sc->rule_fn, what, 3, &contract, &changes, reason,
	                                       reasonlen);
	if (v == RULE_ACCEPT) {
		char msg[384];
		struct ddb_order n = *o;
		if (apply_changes(sc, 2, o, &n, 0, msg, sizeof msg) != 0 ||
		    (changes && !lua_rawequal(L, 2, changes) &&
		     apply_changes(sc, changes, o, &n, 1, msg, sizeof msg) != 0)) {
			scn_hook_fail(sc, &sc->rule_fn, what, reason, reasonlen, "%s", msg);
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
		if (scn_bounded_call(sc, 1, 1, what, &c->fn) != LUA_OK) {
			format_hook_error(sc, NULL, what, error_text(L), detail, sizeof detail);
		} else if (scn_bounded_call(sc, 1, LUA_MULTRET, what, &c->fn) != LUA_OK) {
			scn_hook_error(sc, &c->fn, what, detail, sizeof detail);
		} else {
			int unused;
			ok = scn_read_verdict(sc, &c->fn, what, 2, &contract, &unused, detail, sizeof detail) ==
			     RULE_ACCEPT;
		}
		/* An error message may quote any bytes; the report is UTF-8. */
		utf8_scrub(detail);
		result(ctx, c->name, ok, detail);
	}
	lua_settop(L, 1);
}

