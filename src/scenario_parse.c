/*
 * scenario_parse.c - validation of the table a scenario script returns,
 * into struct scenario_info and the hooks of struct scenario.
 *
 * Validation reads the returned table raw (no metamethods) and always in a
 * deterministic order: keys of maps are sorted, and an error names the
 * smallest offending key, so a script gives the same message on every run
 * even though Lua randomizes the order of pairs() per process.  It runs as
 * a protected C function (scn_validate); an error is "PATH: message".
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

/* ---- validation of the scenario table ------------------------------------- */

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
		scn_fail(L, sc, "regions: must be a list of region names, e.g. { \"seattle\", \"boston\" }");
	int t = lua_gettop(L);
	size_t n = scn_list_len(L, sc, t, "regions");
	if (n == 0)
		scn_fail(L, sc, "regions: must name at least one region");
	if (n > SCENARIO_REGIONS_MAX)
		scn_fail(L, sc, "regions: at most %d regions (%d nodes with central, documents and "
		                "broker), got %zu", SCENARIO_REGIONS_MAX, SCENARIO_REGIONS_MAX + 3, n);
	sc->info.regions = calloc(n, sizeof *sc->info.regions);
	sc->region_refs = malloc(n * sizeof *sc->region_refs);
	if (sc->info.regions == NULL || sc->region_refs == NULL)
		scn_fail(L, sc, "not enough memory");
	for (size_t i = 0; i < n; i++)
		sc->region_refs[i] = LUA_NOREF;
	sc->info.n_regions = n;
	for (size_t i = 0; i < n; i++) {
		char f[64];
		snprintf(f, sizeof f, "regions[%zu]", i + 1);
		lua_rawgeti(L, t, (lua_Integer)(i + 1));
		scn_string_at(L, sc, -1, f, DDB_NAME_MAX, sc->info.regions[i]);
		const char *name = sc->info.regions[i];
		if (!region_name_ok(name))
			scn_fail(L, sc, "%s: \"%s\" is not a valid region name (letters, digits, '_' "
			                "and '-', starting with a letter or digit)", f, name);
		for (const char *const *r = reserved_nodes; *r; r++)
			if (strcmp(name, *r) == 0)
				scn_fail(L, sc, "%s: \"%s\" is reserved for a node that is not a region", f,
				         name);
		if (scn_lookup(L, regidx, -1) >= 0)
			    scn_fail(L, sc, "%s: duplicate region \"%s\"", f, name);
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
	scn_join_field(f, sizeof f, where, "components");
	int ty = getf(L, e, "components");
	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (ty != LUA_TTABLE)
		scn_fail(L, sc, "%s: must be a table of sku = quantity, e.g. { KEYBOARD = 1 }", f);
	int t = lua_gettop(L);
	if (lua_rawlen(L, t) > 0)
		scn_fail(L, sc, "%s: must map SKUs to quantities, e.g. { KEYBOARD = 1 }", f);
	scn_check_map_keys(L, sc, t, skuidx, f, "sku", "the catalog");
	size_t n = 0;
	long idx[DDB_COMPONENTS_MAX];
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		if (n == DDB_COMPONENTS_MAX)
			scn_fail(L, sc, "%s: more than %d components", f, DDB_COMPONENTS_MAX);
		idx[n++] = scn_lookup(L, skuidx, -1);
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
			scn_fail(L, sc, "%s: a product cannot be its own component", cf);
		getf(L, t, sku);
		struct ddb_component *c = &p->components[i];
		copy_field(c->sku, sizeof c->sku, sku, strlen(sku));
		c->quantity = scn_count_at(L, sc, -1, cf, 1);
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
	scn_join_field(f, sizeof f, where, "stock");
	int ty = getf(L, e, "stock");
	int t = lua_gettop(L);
	if (ty == LUA_TNIL) {
		/* none anywhere: the calloc'ed zeros */
	} else if (ty == LUA_TNUMBER) {
		int64_t q = scn_count_at(L, sc, t, f, 0);
		scn_add_units(L, sc, f, q, sc->info.n_regions);
		for (size_t r = 0; r < sc->info.n_regions; r++)
			sc->info.stock[r * np + pi] = q;
	} else if (ty == LUA_TTABLE) {
		scn_check_map_keys(L, sc, t, regidx, f, "region", "regions");
		for (size_t r = 0; r < sc->info.n_regions; r++) {
			char rf[256];
			snprintf(rf, sizeof rf, "%s.%s", f, sc->info.regions[r]);
			if (getf(L, t, sc->info.regions[r]) != LUA_TNIL) {
				sc->info.stock[r * np + pi] = scn_count_at(L, sc, -1, rf, 0);
				scn_add_units(L, sc, rf, sc->info.stock[r * np + pi], 1);
			}
			lua_pop(L, 1);
		}
	} else {
		scn_fail(L, sc, "%s: must be a quantity for every region or a table region = quantity",
		         f);
	}
	lua_settop(L, t - 1);
}

static void parse_catalog(lua_State *L, struct scenario *sc, int T, int regidx, int skuidx)
{
	static const char *const keys[] = { "sku", "name", "price", "components", "stock", NULL };
	if (getf(L, T, "catalog") != LUA_TTABLE)
		scn_fail(L, sc, "catalog: must be a list of products { sku = ..., name = ..., price = ... }");
	int t = lua_gettop(L);
	size_t n = scn_list_len(L, sc, t, "catalog");
	if (n == 0)
		scn_fail(L, sc, "catalog: must list at least one product");
	sc->info.products = calloc(n, sizeof *sc->info.products);
	if (sc->info.products == NULL || n > SIZE_MAX / sizeof(int64_t) / sc->info.n_regions)
		scn_fail(L, sc, "not enough memory");
	sc->info.stock = calloc(n * sc->info.n_regions, sizeof *sc->info.stock);
	if (sc->info.stock == NULL)
		scn_fail(L, sc, "not enough memory");
	sc->info.n_products = n;
	/* first the SKUs, names and prices (components refer to any SKU) */
	for (size_t i = 0; i < n; i++) {
		struct ddb_product *p = &sc->info.products[i];
		char w[32];
		snprintf(w, sizeof w, "catalog[%zu]", i + 1);
		if (lua_rawgeti(L, t, (lua_Integer)(i + 1)) != LUA_TTABLE)
			scn_fail(L, sc, "%s: must be a table { sku = ..., name = ..., price = ... }", w);
		int e = lua_gettop(L);
		scn_check_keys(L, sc, e, keys, w);
		p->version = 1;
		struct scn_at at = { sc, e, w, "" };
		scn_field_text(L, &at, "sku", REQUIRED | KEEP, DDB_SKU_MAX, p->sku);
		if (scn_lookup(L, skuidx, -1) >= 0)
			    scn_fail(L, sc, "%s: duplicate sku \"%s\"", at.field, p->sku);
		lua_pushinteger(L, (lua_Integer)i);
		lua_rawset(L, skuidx); /* pops the sku and the index */
		if (!scn_field_text(L, &at, "name", OPTIONAL, DDB_TITLE_MAX, p->name))
			    copy_field(p->name, sizeof p->name, p->sku, strlen(p->sku));
		scn_field_price(L, &at, "price", REQUIRED, &p->price_cents);
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
		scn_fail(L, sc, "restocks: must be a list of { at = ..., region = ..., sku = ..., "
		                "quantity = ... }");
	size_t n = scn_list_len(L, sc, t, "restocks");
	if (n == 0) {
		lua_pop(L, 1);
		return;
	}
	sc->info.restocks = calloc(n, sizeof *sc->info.restocks);
	if (sc->info.restocks == NULL)
		scn_fail(L, sc, "not enough memory");
	for (size_t i = 0; i < n; i++) {
		struct scenario_restock *rs = &sc->info.restocks[i];
		char w[32];
		snprintf(w, sizeof w, "restocks[%zu]", i + 1);
		if (lua_rawgeti(L, t, (lua_Integer)(i + 1)) != LUA_TTABLE)
			scn_fail(L, sc, "%s: must be a table { at = ..., region = ..., sku = ..., "
			                "quantity = ... }", w);
		int e = lua_gettop(L);
		scn_check_keys(L, sc, e, keys, w);
		struct scn_at at = { sc, e, w, "" };
		scn_field_time(L, &at, "at", REQUIRED, &rs->at_us);
		scn_field_text(L, &at, "region", REQUIRED | KEEP, DDB_NAME_MAX, rs->region);
		if (scn_lookup(L, regidx, -1) < 0)
			    scn_fail(L, sc, "%s: unknown region \"%s\"", at.field, rs->region);
		scn_field_text(L, &at, "sku", REQUIRED | KEEP, DDB_SKU_MAX, rs->sku);
		if (scn_lookup(L, skuidx, -1) < 0)
			    scn_fail(L, sc, "%s: unknown sku \"%s\" (not in the catalog)", at.field, rs->sku);
		scn_field_count(L, &at, "quantity", REQUIRED, 1, &rs->quantity);
		scn_add_units(L, sc, at.field, rs->quantity, 1);
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
	int known = scn_lookup(L, regidx, -1) >= 0;
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
		scn_string_at(L, sc, -1, f, DDB_NAME_MAX, out[0]);
		n = 1;
	} else if (lua_type(L, -1) == LUA_TTABLE) {
		int t = lua_gettop(L);
		n = scn_list_len(L, sc, t, f);
		if (n == 0 || n > FAILURE_SET_MAX)
			scn_fail(L, sc, "%s: must name 1 to %d nodes", f, FAILURE_SET_MAX);
		for (size_t i = 0; i < n; i++) {
			char fi[80];
			snprintf(fi, sizeof fi, "%s[%zu]", f, i + 1);
			lua_rawgeti(L, t, (lua_Integer)(i + 1));
			scn_string_at(L, sc, -1, fi, DDB_NAME_MAX, out[i]);
			lua_pop(L, 1);
		}
	} else {
		scn_fail(L, sc, "%s: must be a node name or a list of node names, got a %s", f,
		         luaL_typename(L, -1));
	}
	for (size_t i = 0; i < n; i++)
		if (!known_node(L, regidx, out[i]))
			scn_fail(L, sc, "%s: unknown node \"%s\" (a region, \"central\", \"documents\" or "
			                "\"broker\")", f, out[i]);
	return n;
}

static double probability_at(lua_State *L, struct scenario *sc, const char *f)
{
	if (lua_type(L, -1) != LUA_TNUMBER)
		scn_fail(L, sc, "%s: must be a probability between 0 and 1, got a %s", f,
		         luaL_typename(L, -1));
	double p = (double)lua_tonumber(L, -1);
	if (!(p >= 0 && p <= 1))
		scn_fail(L, sc, "%s: must be a probability between 0 and 1, got %.14g", f, p);
	return p;
}

/* More typed field readers (see field_get). */

/* One node name or a list of them (1 to FAILURE_SET_MAX), each a region or
 * a reserved node. */
static int field_nodes(lua_State *L, struct scn_at *at, const char *key, int flags, int regidx,
                       char (*out)[DDB_NAME_MAX], size_t *n)
{
	if (!scn_field_get(L, at, key, flags))
		    return 0;
	*n = node_set_at(L, at->sc, regidx, at->field, out);
	lua_pop(L, 1);
	return 1;
}

static int field_probability(lua_State *L, struct scn_at *at, const char *key, int flags,
                             double *out)
{
	if (!scn_field_get(L, at, key, flags))
		    return 0;
	*out = probability_at(L, at->sc, at->field);
	lua_pop(L, 1);
	return 1;
}

/* true or false. */
static int field_bool(lua_State *L, struct scn_at *at, const char *key, int flags, int *out)
{
	if (!scn_field_get(L, at, key, flags))
		    return 0;
	if (lua_type(L, -1) != LUA_TBOOLEAN)
		scn_fail(L, at->sc, "%s: must be true or false", at->field);
	*out = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return 1;
}

/* A function, kept as a hook; expected says what it must be in a message,
 * e.g. "a function(order)". */
static int field_hook(lua_State *L, struct scn_at *at, const char *key, int flags,
                      const char *expected, struct hook *h)
{
	if (!scn_field_get(L, at, key, flags))
		    return 0;
	if (lua_type(L, -1) != LUA_TFUNCTION)
		scn_fail(L, at->sc, "%s: must be %s", at->field, expected);
	set_hook(L, -1, h);
	lua_pop(L, 1);
	return 1;
}

/* Appends a step of the list entry w, growing the list. */
static struct scenario_failure *push_step(lua_State *L, struct scenario *sc, size_t *cap,
                                          const char *w)
{
	if (sc->info.n_failures == SCENARIO_STEPS_MAX)
		scn_fail(L, sc, "%s: more than %d failure steps in all (a step with a duration counts "
		                "twice, and once for each of its targets)", w, SCENARIO_STEPS_MAX);
	if (sc->info.n_failures == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct scenario_failure *grown = realloc(sc->info.failures, ncap * sizeof *grown);
		if (grown == NULL)
			scn_fail(L, sc, "not enough memory");
		sc->info.failures = grown;
		*cap = ncap;
	}
	struct scenario_failure *f = &sc->info.failures[sc->info.n_failures++];
	memset(f, 0, sizeof *f);
	return f;
}

/* The fields of a failure step besides at, action and duration, in the
 * order they are checked and read. */
enum step_field {
	SF_TARGET, SF_LATENCY, SF_JITTER, SF_FROM, SF_TO, SF_ONEWAY, SF_PROBABILITY, SF_DELAY, SF_N
};
static const char *const step_field_names[SF_N] = {
	"target", "latency", "jitter", "from", "to", "oneway", "probability", "delay",
};
#define SF(f) (1u << (f)) /* a set of step fields */

/* What each action takes: the fields it allows and those it requires (a
 * step without one fails with "... needs ..."; a target is read even when
 * absent, so that its reader names what it got); how a step with a
 * duration ends; whether a step may have a duration, and how long it is
 * when not given (0: no end). */
static const struct step_rule {
	unsigned allows;
	unsigned requires;
	int ends_with;               /* the action of the end step; 0: the same */
	int no_duration;             /* a duration is an error */
	int64_t default_duration_us; /* 0: none */
} step_rules[FAILURE_RESTART + 1] = {
	[FAILURE_DOWN] = { SF(SF_TARGET), 0, FAILURE_UP, 0, 0 },
	[FAILURE_UP] = { SF(SF_TARGET), 0, 0, 1, 0 },
	[FAILURE_SLOW] = { SF(SF_TARGET) | SF(SF_LATENCY) | SF(SF_JITTER), SF(SF_LATENCY), 0, 0, 0 },
	[FAILURE_PARTITION] = { SF(SF_FROM) | SF(SF_TO) | SF(SF_ONEWAY), SF(SF_FROM) | SF(SF_TO),
	                        FAILURE_HEAL, 0, 0 },
	[FAILURE_DROP] = { SF(SF_PROBABILITY), SF(SF_PROBABILITY), 0, 0, 0 },
	[FAILURE_DUPLICATE] = { SF(SF_PROBABILITY), SF(SF_PROBABILITY), 0, 0, 0 },
	[FAILURE_DELAY] = { SF(SF_PROBABILITY) | SF(SF_DELAY), SF(SF_PROBABILITY) | SF(SF_DELAY), 0,
	                    0, 0 },
	[FAILURE_REORDER] = { SF(SF_PROBABILITY), SF(SF_PROBABILITY), 0, 0, 0 },
	/* a crashed component restarts after a second */
	[FAILURE_CRASH] = { SF(SF_TARGET), 0, FAILURE_RESTART, 0, 1000000 },
};

/* Fails on a required field that a step of action a lacks. */
static _Noreturn void step_needs(lua_State *L, struct scenario *sc, const char *f,
                                 enum step_field k, int a)
{
	switch (k) {
	case SF_LATENCY: scn_fail(L, sc, "%s: a \"slow\" step needs a latency (seconds)", f);
	case SF_FROM:
	case SF_TO: scn_fail(L, sc, "%s: a partition needs from = { nodes } and to = { nodes }", f);
	case SF_PROBABILITY: scn_fail(L, sc, "%s: a \"%s\" step needs a probability", f, action_names[a]);
	case SF_DELAY: scn_fail(L, sc, "%s: a \"delay\" step needs a delay (seconds)", f);
	default: scn_fail(L, sc, "%s: a \"%s\" step needs it", f, action_names[a]);
	}
}

/* The targets of a step: node names (down, up, slow), a component (crash),
 * or one empty name (every other action). */
struct step_targets {
	char names[FAILURE_SET_MAX][DDB_NAME_MAX];
	size_t n;
};

/* Reads the field k of the step at e, if its action allows it, into base
 * or tg. */
static void scn_read_step_field(lua_State *L, struct scenario *sc, int regidx, int e, const char *w,
                                enum step_field k, struct scenario_failure *base,
                                struct step_targets *tg)
{
	const struct step_rule *rule = &step_rules[base->action];
	if (!(rule->allows & SF(k)))
		return;
	struct scn_at at = { sc, e, w, "" };
	const char *key = step_field_names[k];
	int present = scn_field_get(L, &at, key, OPTIONAL);
	if (present)
		lua_pop(L, 1);
	else if (rule->requires & SF(k))
		step_needs(L, sc, at.field, k, base->action);
	else if (k != SF_TARGET)
		return; /* optional: 0 */
	switch (k) {
	case SF_TARGET:
		if (base->action != FAILURE_CRASH) {
			field_nodes(L, &at, key, REQUIRED, regidx, tg->names, &tg->n);
			break;
		}
		scn_field_text(L, &at, key, REQUIRED, DDB_NAME_MAX, tg->names[0]);
		if (strcmp(tg->names[0], "relay") != 0 && strcmp(tg->names[0], "applier") != 0)
			scn_fail(L, sc, "%s: a crash targets \"relay\" or \"applier\", not \"%s\"", at.field,
			         tg->names[0]);
		break;
	case SF_LATENCY: scn_field_time(L, &at, key, REQUIRED | POSITIVE, &base->latency_us); break;
	case SF_JITTER: scn_field_time(L, &at, key, REQUIRED, &base->jitter_us); break;
	case SF_FROM: field_nodes(L, &at, key, REQUIRED, regidx, base->from, &base->n_from); break;
	case SF_TO: field_nodes(L, &at, key, REQUIRED, regidx, base->to, &base->n_to); break;
	case SF_ONEWAY: field_bool(L, &at, key, REQUIRED, &base->oneway); break;
	case SF_PROBABILITY: field_probability(L, &at, key, REQUIRED, &base->probability); break;
	case SF_DELAY: scn_field_time(L, &at, key, REQUIRED | POSITIVE, &base->delay_us); break;
	default: break;
	}
}

/* The action of the step at e: one of the names a script may use. */
static int step_action(lua_State *L, struct scenario *sc, int e, const char *w)
{
	char f[64];
	scn_join_field(f, sizeof f, w, "action");
	getf(L, e, "action");
	const char *action = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	int found = 0;
	for (int a = FAILURE_DOWN; action && a <= FAILURE_CRASH; a++)
		if (a != FAILURE_HEAL && strcmp(action, action_names[a]) == 0)
			found = a;
	if (found == 0)
		scn_fail(L, sc, "%s: must be one of \"down\", \"up\", \"slow\", \"partition\", "
		                "\"drop\", \"duplicate\", \"delay\", \"reorder\", \"crash\"%s%.32s%s",
		         f, action ? ", not \"" : "", action ? action : "", action ? "\"" : "");
	lua_pop(L, 1);
	return found;
}

/* The duration of the step at e in microseconds; -1: the step has no end. */
static int64_t step_duration(lua_State *L, struct scenario *sc, int e, const char *w, int a)
{
	struct scn_at at = { sc, e, w, "" };
	if (scn_field_get(L, &at, "duration", OPTIONAL)) {
		lua_pop(L, 1);
		if (step_rules[a].no_duration)
			scn_fail(L, sc, "%s: an \"up\" step has no duration", at.field);
	}
	int64_t duration = step_rules[a].default_duration_us > 0 ? step_rules[a].default_duration_us
	                                                         : -1;
	scn_field_time(L, &at, "duration", OPTIONAL | POSITIVE, &duration);
	return duration;
}

/* Appends the steps of base, one for each target, each followed by its end
 * when it has a duration (duration >= 0). */
static void push_steps(lua_State *L, struct scenario *sc, size_t *cap, const char *w,
                       const struct scenario_failure *base, const struct step_targets *tg,
                       int64_t duration)
{
	for (size_t k = 0; k < tg->n; k++) {
		struct scenario_failure *st = push_step(L, sc, cap, w);
		*st = *base;
		copy_field(st->target, sizeof st->target, tg->names[k], strlen(tg->names[k]));
		if (duration < 0)
			continue;
		st->has_end = 1;
		struct scenario_failure *end = push_step(L, sc, cap, w);
		st = end - 1; /* push_step may have moved the list */
		*end = *st;
		end->ends = 1;
		end->has_end = 0;
		end->at_us = st->at_us + duration;
		end->probability = 0; /* message faults end with probability 0 */
		end->latency_us = end->jitter_us = 0; /* slow ends as slow with no latency */
		if (step_rules[base->action].ends_with != 0)
			end->action = step_rules[base->action].ends_with;
	}
}

/* failures = { { at = T, action = A, duration = D, ... }, ... }: see
 * ddbsim-lua(7) for the fields each action takes (step_rules). */
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
		scn_fail(L, sc, "failures: must be a list of { at = ..., action = ..., ... }");
	size_t n = scn_list_len(L, sc, t, "failures"), cap = 0;
	for (size_t i = 0; i < n; i++) {
		char w[32];
		snprintf(w, sizeof w, "failures[%zu]", i + 1);
		if (lua_rawgeti(L, t, (lua_Integer)(i + 1)) != LUA_TTABLE)
			scn_fail(L, sc, "%s: must be a table { at = ..., action = ..., ... }", w);
		int e = lua_gettop(L);
		scn_check_keys(L, sc, e, keys, w);
		struct scenario_failure base;
		memset(&base, 0, sizeof base);
		base.step = (int)(i + 1);
		struct scn_at at = { sc, e, w, "" };
		scn_field_time(L, &at, "at", REQUIRED, &base.at_us);
		base.action = step_action(L, sc, e, w);
		const struct step_rule *rule = &step_rules[base.action];
		for (int k = 0; k < SF_N; k++) {
			if (getf(L, e, step_field_names[k]) != LUA_TNIL && !(rule->allows & SF(k)))
				scn_fail(L, sc, "%s.%s: not a field of a \"%s\" step", w, step_field_names[k],
				         action_names[base.action]);
			lua_pop(L, 1);
		}
		struct step_targets tg = { .n = 1 };
		tg.names[0][0] = '\0';
		for (int k = 0; k < SF_N; k++)
			scn_read_step_field(L, sc, regidx, e, w, (enum step_field)k, &base, &tg);
		int64_t duration = step_duration(L, sc, e, w, base.action);
		push_steps(L, sc, &cap, w, &base, &tg, duration);
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
		scn_fail(L, sc, "workload.customers: must be a table { rate = ..., operation = "
		                "function(t) ... end }");
	scn_check_keys(L, sc, c, keys, "workload.customers");
	sc->has_customers = 1;
	ty = getf(L, c, "rate");
	if (ty == LUA_TFUNCTION) {
		set_hook(L, -1, &sc->customer_rate_fn);
	} else if (ty == LUA_TNUMBER && isfinite(lua_tonumber(L, -1)) && lua_tonumber(L, -1) >= 0 &&
	           lua_tonumber(L, -1) <= SCENARIO_RATE_MAX) {
		sc->customer_rate = (double)lua_tonumber(L, -1);
	} else {
		scn_fail(L, sc, "workload.customers.rate: must be a number of operations per second "
		                "from 0 to %.0f or a function(t)", SCENARIO_RATE_MAX);
	}
	lua_pop(L, 1);
	struct scn_at at = { sc, c, "workload.customers", "" };
	field_hook(L, &at, "operation", REQUIRED, "a function(t) returning { op = \"create\" | "
	           "\"update\" | \"delete\" | \"get\" | \"find\", ... }", &sc->customer_op_fn);
	int64_t n;
	if (scn_field_count(L, &at, "replication", OPTIONAL, 0, &n)) {
		if (n > SCENARIO_REPLICAS_MAX)
			scn_fail(L, sc, "workload.customers.replication: at most %d replicas, got %lld",
			         SCENARIO_REPLICAS_MAX, (long long)n);
		if ((size_t)n >= sc->info.n_regions && n > 0)
			scn_fail(L, sc, "workload.customers.replication: %lld replicas need more than %zu "
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
		scn_fail(L, sc, "workload: must be a table { rate = ..., order = function(region, t) ... "
		                "end } (shop.scenario fills in defaults)");
	int w = lua_gettop(L);
	scn_check_keys(L, sc, w, keys, "workload");
	int ty = getf(L, w, "rate");
	if (ty == LUA_TNUMBER) {
		double x = (double)lua_tonumber(L, -1);
		if (!isfinite(x) || x < 0 || x > SCENARIO_RATE_MAX)
			scn_fail(L, sc, "workload.rate: must be a number of orders per second from 0 to %.0f, "
			         "got %.14g", SCENARIO_RATE_MAX, x);
		sc->rate_kind = RATE_NUMBER;
		sc->rate = x;
	} else if (ty == LUA_TTABLE) {
		int t = lua_gettop(L);
		scn_check_map_keys(L, sc, t, regidx, "workload.rate", "region", "regions");
		sc->rates = calloc(sc->info.n_regions, sizeof *sc->rates);
		if (sc->rates == NULL)
			scn_fail(L, sc, "not enough memory");
		sc->rate_kind = RATE_TABLE;
		for (size_t r = 0; r < sc->info.n_regions; r++) {
			int vt = getf(L, t, sc->info.regions[r]);
			double x = vt == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : 0;
			if (vt != LUA_TNIL &&
			    (vt != LUA_TNUMBER || !isfinite(x) || x < 0 || x > SCENARIO_RATE_MAX))
				scn_fail(L, sc, "workload.rate.%s: must be a number of orders per second from 0 "
				         "to %.0f", sc->info.regions[r], SCENARIO_RATE_MAX);
			sc->rates[r] = x;
			lua_pop(L, 1);
		}
	} else if (ty == LUA_TFUNCTION) {
		sc->rate_kind = RATE_FUNCTION;
		set_hook(L, -1, &sc->rate_fn);
	} else {
		scn_fail(L, sc, "workload.rate: must be a number (orders per second in each region), a "
		                "table region = number, or a function(region, t)");
	}
	lua_pop(L, 1);
	struct scn_at at = { sc, w, "workload", "" };
	field_hook(L, &at, "order", REQUIRED, "a function(region, t) returning { sku = ..., "
	                                       "quantity = ..., customer = ... }", &sc->order_fn);
	parse_customer_workload(L, sc, w);
	lua_settop(L, w - 1);
}

static void parse_rules(lua_State *L, struct scenario *sc, int T)
{
	static const char *const keys[] = { "order", "customer_home", "customer_replicas", NULL };
	int ty = getf(L, T, "rules");
	int t = lua_gettop(L);
	if (ty == LUA_TTABLE) {
		scn_check_keys(L, sc, t, keys, "rules");
		struct scn_at at = { sc, t, "rules", "" };
		field_hook(L, &at, "order", OPTIONAL, "a function(order)", &sc->rule_fn);
		field_hook(L, &at, "customer_home", OPTIONAL, "a function(customer)", &sc->home_fn);
		field_hook(L, &at, "customer_replicas", OPTIONAL, "a function(customer, home)",
		           &sc->replicas_fn);
	} else if (ty != LUA_TNIL) {
		scn_fail(L, sc, "rules: must be a table { order = function(order) ... end }");
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
		scn_fail(L, sc, "checks: must be a table { [\"name\"] = function(facts) ... end }");
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
		scn_fail(L, sc, "checks: every check needs a name (a non-empty string): "
		                "{ [\"name\"] = function(facts) ... end }");
	if (badname != NULL) {
		char shown[64];
		size_t len = strlen(badname);
		snprintf(shown, sizeof shown, "%.*s", (int)(len < 40 ? len : 40), badname);
		utf8_scrub(shown);
		if (!utf8_valid(badname, len))
			scn_fail(L, sc, "checks[\"%s%s\"]: the name is not valid UTF-8", shown,
			         len > 40 ? "..." : "");
		scn_fail(L, sc, "checks[\"%s...\"]: the name is too long (%zu bytes, at most %d)", shown,
		         len, SCENARIO_CHECK_NAME_MAX - 1);
	}
	if (bad != NULL)
		scn_fail(L, sc, "checks[\"%.100s\"]: must be a function(facts)", bad);
	if (n == 0) {
		lua_pop(L, 1);
		return;
	}
	sc->checks = calloc(n, sizeof *sc->checks);
	if (sc->checks == NULL)
		scn_fail(L, sc, "not enough memory");
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		struct check *c = &sc->checks[sc->n_checks];
		if ((c->name = strdup(lua_tostring(L, -2))) == NULL)
			scn_fail(L, sc, "not enough memory");
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

/* actions[i].step = { action =, target =, ..., ["for"] = seconds }: a
 * failure step's fields (one target), started as a client starts one. */
void scn_parse_step_action(lua_State *L, struct scenario *sc, int e, const char *w,
                                  int regidx, struct scenario_action *a)
{
	static const char *const keys[] = { "action", "target", "latency", "jitter", "from", "to",
		                            "oneway", "probability", "delay", "for", NULL };
	scn_check_keys(L, sc, e, keys, w);
	a->step = calloc(1, sizeof *a->step);
	if (!a->step)
		scn_fail(L, sc, "not enough memory");
	struct scenario_failure *f = &a->step->f;
	char af[96];
	scn_join_field(af, sizeof af, w, "action");
	getf(L, e, "action");
	const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
	for (int k = FAILURE_DOWN; k <= FAILURE_RESTART; k++)
		if (strcmp(name, action_names[k]) == 0)
			f->action = k;
	if (f->action == 0)
		scn_fail(L, sc, "%s: must be a failure action (\"down\", \"up\", \"slow\", "
		                "\"partition\", \"heal\", \"drop\", ...), not \"%.32s\"", af, name);
	lua_pop(L, 1);
	/* The ends a client may start too: heal takes a partition's fields,
	 * restart a crash's target. */
	int action = f->action;
	if (action == FAILURE_HEAL)
		f->action = FAILURE_PARTITION;
	if (action == FAILURE_RESTART)
		f->action = FAILURE_CRASH;
	const struct step_rule *rule = &step_rules[f->action];
	for (int k = 0; k < SF_N; k++) {
		if (getf(L, e, step_field_names[k]) != LUA_TNIL && !(rule->allows & SF(k)))
			scn_fail(L, sc, "%s.%s: not a field of a \"%s\" step", w, step_field_names[k],
			         action_names[action]);
		lua_pop(L, 1);
	}
	struct step_targets tg = { .n = 1 };
	tg.names[0][0] = '\0';
	for (int k = 0; k < SF_N; k++)
		scn_read_step_field(L, sc, regidx, e, w, (enum step_field)k, f, &tg);
	f->action = action;
	if (tg.n != 1)
		scn_fail(L, sc, "%s.target: one node only", w);
	copy_field(f->target, sizeof f->target, tg.names[0], strlen(tg.names[0]));
	struct scn_at at = { sc, e, w, "" };
	scn_field_time(L, &at, "for", OPTIONAL, &a->step->for_us);
}

/* scn_validate(sc, scenario_table) */
int scn_validate(lua_State *L)
{
	static const char *const keys[] = { "name",    "description", "duration", "regions",
	                                    "catalog", "restocks",    "workload", "rules",
	                                    "failures", "checks",     "actions",  NULL };
	struct scenario *sc = lua_touserdata(L, 1);
	const int T = 2;
	scn_check_keys(L, sc, T, keys, "");
	lua_newtable(L); /* region name -> index */
	int regidx = lua_gettop(L);
	lua_newtable(L); /* sku -> index */
	int skuidx = lua_gettop(L);

	struct scn_at top = { sc, T, "", "" };
	if (!scn_field_text(L, &top, "name", OPTIONAL, DDB_NAME_MAX, sc->info.name))
		    default_name(sc);
	int ty = getf(L, T, "description");
	if (ty != LUA_TNIL && ty != LUA_TSTRING)
		scn_fail(L, sc, "description: must be a string");
	lua_pop(L, 1);
	if (!scn_field_time(L, &top, "duration", OPTIONAL | POSITIVE, &sc->info.duration_us))
		    sc->info.duration_us = (int64_t)(DEFAULT_DURATION_S * 1e6);

	parse_regions(L, sc, T, regidx);
	parse_catalog(L, sc, T, regidx, skuidx);
	parse_restocks(L, sc, T, regidx, skuidx);
	parse_failures(L, sc, T, regidx);
	parse_workload(L, sc, T, regidx);
	parse_rules(L, sc, T);
	parse_checks(L, sc, T);
	scn_parse_actions(L, sc, T, regidx);
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

int scn_sort_steps(struct scenario *sc)
{
	if (stable_sort(sc->info.restocks, sc->info.n_restocks, sizeof *sc->info.restocks,
	                cmp_restock) != 0 ||
	    stable_sort(sc->info.failures, sc->info.n_failures, sizeof *sc->info.failures,
	                cmp_failure) != 0)
		return -1;
	return 0;
}
