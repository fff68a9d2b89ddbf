/*
 * scenario_fields.c - the readers the validation of a scenario table is
 * made of (scenario_parse.c, scenario_actions.c): an error naming the
 * field ("PATH: catalog[2].price: ..."), unknown keys, and typed readers of
 * one field each (a time, a count, a text, a price), as lauxlib's luaL_check*
 * read arguments.
 */
#include "scenario_int.h"
#include "utf8.h"

#include <lauxlib.h>
#include <lua.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Validation runs in a protected C function; an error is "PATH: message". */
_Noreturn void scn_fail(lua_State *L, const struct scenario *sc, const char *fmt, ...)
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

/* "catalog[2]" + "price" -> "catalog[2].price"; "" + "name" -> "name". */
void scn_join_field(char *out, size_t outlen, const char *where, const char *key)
{
	snprintf(out, outlen, "%s%s%s", where, where[0] ? "." : "", key);
}

/* Fails on a key of the table at t that is not in allowed (the smallest one,
 * so that the message does not depend on the order of pairs). */
void scn_check_keys(lua_State *L, const struct scenario *sc, int t, const char *const *allowed,
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
		scn_join_field(f, sizeof f, where, k);
		scn_fail(L, sc, "%s: unknown field (expected %s)", f, expected);
	}
	scn_fail(L, sc, "%s: has a key that is not a field name (expected %s)",
	         where[0] ? where : "the scenario table", expected);
}

/* The length of the list at t, which must hold exactly the keys 1..n. */
size_t scn_list_len(lua_State *L, const struct scenario *sc, int t, const char *field)
{
	size_t n = (size_t)lua_rawlen(L, t), count = 0;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		count++;
	}
	if (count != n)
		scn_fail(L, sc, "%s: must be a list (a sequence { ..., ... } without holes or named keys)",
		         field);
	return n;
}

void scn_string_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                   size_t max, char *dst)
{
	const char *s;
	size_t len;
	char msg[512];
	if (scn_field_string(L, idx, field, max, &s, &len, msg, sizeof msg) != 0)
		scn_fail(L, sc, "%s", msg);
	copy_field(dst, max, s, len);
}

/* Seconds -> microseconds; 0 <= t <= TIME_MAX_S (or > 0 with positive). */
int64_t scn_time_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                    int positive)
{
	if (lua_type(L, idx) != LUA_TNUMBER)
		scn_fail(L, sc, "%s: must be a number of seconds, got a %s", field, luaL_typename(L, idx));
	double x = (double)lua_tonumber(L, idx);
	if (!isfinite(x) || x < 0 || (positive && x == 0) || x > TIME_MAX_S)
		scn_fail(L, sc, "%s: must be a number of seconds %s %.0f, got %.14g", field,
		         positive ? "> 0 and <=" : ">= 0 and <=", TIME_MAX_S, x);
	return (int64_t)llround(x * 1e6);
}

int64_t scn_count_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                     int64_t min)
{
	int isint = 0;
	lua_Integer q = 0;
	if (lua_type(L, idx) == LUA_TNUMBER)
		q = lua_tointegerx(L, idx, &isint);
	if (!isint && lua_type(L, idx) == LUA_TNUMBER)
		scn_fail(L, sc, "%s: must be an integer, got %s", field, lua_tostring(L, idx));
	if (!isint)
		scn_fail(L, sc, "%s: must be an integer, got a %s", field, luaL_typename(L, idx));
	if (q < min || q > QTY_MAX)
		scn_fail(L, sc, "%s: must be between %lld and %lld, got %lld", field, (long long)min,
		         (long long)QTY_MAX, (long long)q);
	return (int64_t)q;
}

/* Adds q units times `times` (regions) to what the run could sell; more
 * than SCENARIO_UNITS_MAX in all is an error naming the field that went
 * over. */
void scn_add_units(lua_State *L, struct scenario *sc, const char *field, int64_t q,
                   size_t times)
{
	int64_t left = SCENARIO_UNITS_MAX - sc->units_total;
	if (q > 0 && (uint64_t)times > (uint64_t)(left / q))
		scn_fail(L, sc, "%s: the stock of every product in every region and the restocks add up "
		                "to more than %lld units, the most a run may sell",
		         field, (long long)SCENARIO_UNITS_MAX);
	sc->units_total += q * (int64_t)times;
}

int64_t scn_price_at(lua_State *L, const struct scenario *sc, int idx, const char *field)
{
	int64_t cents;
	if (lua_type(L, idx) != LUA_TNUMBER ||
	    scenario_price_cents((double)lua_tonumber(L, idx), &cents) != 0)
		scn_fail(L, sc, "%s: must be a non-negative number of at most %lld (currency units)", field,
		         (long long)(SCENARIO_PRICE_MAX_CENTS / 100));
	return cents;
}

/* Pushes at->t[key] and returns 1, or returns 0 with nothing pushed when it
 * is absent and optional. */
int scn_field_get(lua_State *L, struct scn_at *at, const char *key, int flags)
{
	scn_join_field(at->field, sizeof at->field, at->where, key);
	if (getf(L, at->t, key) == LUA_TNIL && !(flags & REQUIRED)) {
		lua_pop(L, 1);
		return 0;
	}
	return 1;
}

/* Seconds, as microseconds: >= 0, or > 0 with POSITIVE. */
int scn_field_time(lua_State *L, struct scn_at *at, const char *key, int flags, int64_t *out)
{
	if (!scn_field_get(L, at, key, flags))
		return 0;
	*out = scn_time_at(L, at->sc, -1, at->field, flags & POSITIVE);
	lua_pop(L, 1);
	return 1;
}

/* An integer from min to QTY_MAX. */
int scn_field_count(lua_State *L, struct scn_at *at, const char *key, int flags, int64_t min,
                    int64_t *out)
{
	if (!scn_field_get(L, at, key, flags))
		return 0;
	*out = scn_count_at(L, at->sc, -1, at->field, min);
	lua_pop(L, 1);
	return 1;
}

/* A string for the fixed field dst[max]. */
int scn_field_text(lua_State *L, struct scn_at *at, const char *key, int flags, size_t max,
                   char *dst)
{
	if (!scn_field_get(L, at, key, flags))
		return 0;
	scn_string_at(L, at->sc, -1, at->field, max, dst);
	if (!(flags & KEEP))
		lua_pop(L, 1);
	return 1;
}

/* A price, in cents. */
int scn_field_price(lua_State *L, struct scn_at *at, const char *key, int flags, int64_t *out)
{
	if (!scn_field_get(L, at, key, flags))
		return 0;
	*out = scn_price_at(L, at->sc, -1, at->field);
	lua_pop(L, 1);
	return 1;
}

/* Index (0-based) of the name s in the lookup table at lk, or -1. */
long scn_lookup(lua_State *L, int lk, int idx)
{
	lua_pushvalue(L, idx);
	long i = lua_rawget(L, lk) == LUA_TNUMBER ? (long)lua_tointeger(L, -1) : -1;
	lua_pop(L, 1);
	return i;
}

/* The map at t must be keyed by names present in the lookup table lk (a
 * region or a product); fails on the smallest unknown key. */
void scn_check_map_keys(lua_State *L, const struct scenario *sc, int t, int lk,
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
		if (scn_lookup(L, lk, -1) < 0) {
			const char *k = lua_tostring(L, -1);
			if (bad == NULL || strcmp(k, bad) < 0)
				bad = k;
		}
	}
	if (bad != NULL)
		scn_fail(L, sc, "%s.%.100s: unknown %s (not in %s)", field, bad, what, where);
	if (nonstring)
		scn_fail(L, sc, "%s: keys must be %s names, e.g. { %s = ... }", field, what,
		         what[0] == 'r' ? "seattle" : "KEYBOARD");
}

