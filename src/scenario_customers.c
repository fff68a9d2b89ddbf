/*
 * scenario_customers.c - the customer hooks of a scenario:
 * workload.customers.rate and .operation (the customer workload), and
 * rules.customer_home and rules.customer_replicas, read under the rule
 * contract (scn_read_verdict in scenario.c).
 */
#include "scenario_int.h"

#include <lauxlib.h>
#include <lua.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (scn_bounded_call(sc, 1, 1, what, &sc->customer_rate_fn) != LUA_OK) {
		scn_hook_error(sc, &sc->customer_rate_fn, what, err, errlen);
	} else {
		x = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1;
		if (!isfinite(x) || x < 0 || x > SCENARIO_RATE_MAX) {
			scn_hook_fail(sc, &sc->customer_rate_fn, what, err, errlen,
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
	} else if (scn_field_string(L, -1, name, size, &s, &len, msg, msglen) != 0) {
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
	if (scn_bounded_call(sc, 1, 1, what, &sc->customer_op_fn) != LUA_OK) {
		scn_hook_error(sc, &sc->customer_op_fn, what, err, errlen);
	} else if (lua_type(L, -1) != LUA_TTABLE) {
		scn_hook_fail(sc, &sc->customer_op_fn, what, err, errlen,
		              "returned a %s: an operation is a table { op = ..., ... }",
		              luaL_typename(L, -1));
	} else if (read_customer_op(L, lua_gettop(L), req, msg, sizeof msg) != 0) {
		scn_hook_fail(sc, &sc->customer_op_fn, what, err, errlen, "%s", msg);
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
	if (scn_bounded_call(sc, 1, LUA_MULTRET, what, &sc->home_fn) != LUA_OK) {
		scn_hook_error(sc, &sc->home_fn, what, msg, msglen);
	} else if ((v = scn_read_verdict(sc, &sc->home_fn, what, 2, &contract, &region, msg, msglen)) ==
	                   RULE_ACCEPT && region) {
		size_t len;
		const char *name = lua_tolstring(L, region, &len);
		long r = strlen(name) == len ? region_index(sc, name) : -1;
		if (r < 0) {
			scn_hook_fail(sc, &sc->home_fn, what, msg, msglen,
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
		if (scn_bounded_call(sc, 2, LUA_MULTRET, what, &sc->replicas_fn) != LUA_OK) {
			scn_hook_error(sc, &sc->replicas_fn, what, msg, msglen);
			v = RULE_ERROR;
		} else {
			v = scn_read_verdict(sc, &sc->replicas_fn, what, 2, &contract, &list, msg, msglen);
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
				scn_hook_fail(sc, &sc->replicas_fn, what, msg, msglen,
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
