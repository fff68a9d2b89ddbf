/*
 * scenario_actions.c - the `actions` list of a scenario: the timed calls of
 * a recorded `ddbsim serve` session (orders, commits, products, customers,
 * failure steps and their ends, checks), validated into struct
 * scenario_info for the engine to replay (engine_actions.c).  Part of the
 * validation that scenario_parse.c runs (scn_validate).
 */
#include "scenario_int.h"
#include "utf8.h"

#include <lauxlib.h>
#include <lua.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- actions: a recorded session of serve ------------------------------- */

/* actions[i].order = { region =, sku =, quantity =, customer =, id = } */
static void parse_order_action(lua_State *L, struct scenario *sc, int e, const char *w,
                               int regidx, struct scenario_action *a)
{
	static const char *const keys[] = { "region", "sku", "quantity", "customer", "id", NULL };
	scn_check_keys(L, sc, e, keys, w);
	struct scn_at at = { sc, e, w, "" };
	scn_field_text(L, &at, "region", REQUIRED | KEEP, DDB_NAME_MAX, a->order.region);
	long r = scn_lookup(L, regidx, -1);
	if (r < 0)
		scn_fail(L, sc, "%s: unknown region \"%s\"", at.field, a->order.region);
	lua_pop(L, 1);
	a->region = (size_t)r;
	scn_field_text(L, &at, "sku", REQUIRED, DDB_SKU_MAX, a->order.sku);
	scn_field_count(L, &at, "quantity", REQUIRED, 1, &a->order.quantity);
	scn_field_text(L, &at, "customer", OPTIONAL, DDB_NAME_MAX, a->order.customer);
	scn_field_text(L, &at, "id", OPTIONAL, DDB_ID_MAX, a->order.id);
}

/* A map { NAME = integer, ... } at t: each entry to put (names are checked
 * by the caller). */
static void read_count_map(lua_State *L, struct scenario *sc, int t, const char *f, int64_t min,
                           void (*put)(void *ctx, const char *name, int64_t q), void *ctx)
{
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		char ef[320];
		if (lua_type(L, -2) != LUA_TSTRING)
			scn_fail(L, sc, "%s: keys must be names", f);
		snprintf(ef, sizeof ef, "%s.%.100s", f, lua_tostring(L, -2));
		put(ctx, lua_tostring(L, -2), scn_count_at(L, sc, -1, ef, min));
		lua_pop(L, 1);
	}
}

struct product_reading {
	lua_State *L;
	struct scenario *sc;
	struct scenario_product_action *pa;
	const char *field;
};

static void put_component(void *ctx, const char *sku, int64_t q)
{
	struct product_reading *pr = ctx;
	struct ddb_product *p = &pr->pa->product;
	if (p->n_components == DDB_COMPONENTS_MAX)
		scn_fail(pr->L, pr->sc, "%s: more than %d components", pr->field, DDB_COMPONENTS_MAX);
	struct ddb_component *c = &p->components[p->n_components++];
	if (strlen(sku) >= sizeof c->sku)
		scn_fail(pr->L, pr->sc, "%s: sku \"%.40s...\" is too long", pr->field, sku);
	copy_field(c->sku, sizeof c->sku, sku, strlen(sku));
	c->quantity = q;
}

/* actions[i].product = { sku =, name =, price = | price_cents =,
 * components = { SKU = n }, stock = { REGION = n } }; the components are
 * checked against the catalog when it runs. */
static void parse_product_action(lua_State *L, struct scenario *sc, int e, const char *w,
                                 int regidx, struct scenario_action *a)
{
	static const char *const keys[] = { "sku", "name", "price", "price_cents", "components",
		                            "stock", NULL };
	scn_check_keys(L, sc, e, keys, w);
	size_t nr = sc->info.n_regions;
	a->product = calloc(1, sizeof *a->product + nr * sizeof a->product->stock[0]);
	if (!a->product)
		scn_fail(L, sc, "not enough memory");
	struct ddb_product *p = &a->product->product;
	struct scn_at at = { sc, e, w, "" };
	scn_field_text(L, &at, "sku", REQUIRED, DDB_SKU_MAX, p->sku);
	if (!p->sku[0])
		scn_fail(L, sc, "%s: must not be empty", at.field);
	if (!scn_field_text(L, &at, "name", OPTIONAL, DDB_TITLE_MAX, p->name))
		    copy_field(p->name, sizeof p->name, p->sku, strlen(p->sku));
	int has_cents = scn_field_count(L, &at, "price_cents", OPTIONAL, 0, &p->price_cents);
	if (has_cents && p->price_cents > SCENARIO_PRICE_MAX_CENTS)
		scn_fail(L, sc, "%s: must be at most %lld", at.field, (long long)SCENARIO_PRICE_MAX_CENTS);
	if (!has_cents)
		scn_field_price(L, &at, "price", REQUIRED, &p->price_cents);
	else if (scn_field_get(L, &at, "price", OPTIONAL))
		scn_fail(L, sc, "%s: give price or price_cents, not both", at.field);
	struct product_reading pr = { L, sc, a->product, "" };
	char f[160];
	scn_join_field(f, sizeof f, w, "components");
	pr.field = f;
	int ty = getf(L, e, "components");
	if (ty == LUA_TTABLE)
		read_count_map(L, sc, lua_gettop(L), f, 1, put_component, &pr);
	else if (ty != LUA_TNIL)
		scn_fail(L, sc, "%s: must be a table of sku = quantity", f);
	lua_pop(L, 1);
	scn_join_field(f, sizeof f, w, "stock");
	ty = getf(L, e, "stock");
	int t = lua_gettop(L);
	if (ty == LUA_TTABLE) {
		scn_check_map_keys(L, sc, t, regidx, f, "region", "regions");
		for (size_t r = 0; r < nr; r++) {
			char rf[256];
			snprintf(rf, sizeof rf, "%s.%s", f, sc->info.regions[r]);
			if (getf(L, t, sc->info.regions[r]) != LUA_TNIL) {
				a->product->stock[r] = scn_count_at(L, sc, -1, rf, 0);
				scn_add_units(L, sc, rf, a->product->stock[r], 1);
			}
			lua_pop(L, 1);
		}
	} else if (ty != LUA_TNIL) {
		scn_fail(L, sc, "%s: must be a table region = quantity", f);
	}
	lua_settop(L, t - 1);
}


/* actions[i].customer = { op = "create" | "update" | "delete", id =,
 * unique_id =, zip =, city =, state =, name =, email =, changed = { ... } } */
static void parse_customer_action(lua_State *L, struct scenario *sc, int e, const char *w,
                                  struct scenario_action *a)
{
	static const char *const keys[] = { "op",    "id",   "unique_id", "zip",     "city",
		                            "state", "name", "email",     "changed", NULL };
	static const char *const fields[] = { "unique_id", "zip", "city", "state", "name",
		                              "email" };
	scn_check_keys(L, sc, e, keys, w);
	a->customer = calloc(1, sizeof *a->customer);
	if (!a->customer)
		scn_fail(L, sc, "not enough memory");
	struct customer_request *q = a->customer;
	struct scn_at at = { sc, e, w, "" };
	char op[16] = "";
	scn_field_text(L, &at, "op", REQUIRED, sizeof op, op);
	q->op = strcmp(op, "create") == 0 ? CUSTOMER_CREATE : strcmp(op, "update") == 0
	        ? CUSTOMER_UPDATE : strcmp(op, "delete") == 0 ? CUSTOMER_DELETE : 0;
	if (!q->op)
		scn_fail(L, sc, "%s: must be \"create\", \"update\" or \"delete\"", at.field);
	scn_field_text(L, &at, "id", REQUIRED, DDB_NAME_MAX, q->c.id);
	scn_field_text(L, &at, "unique_id", OPTIONAL, DDB_NAME_MAX, q->c.unique_id);
	scn_field_count(L, &at, "zip", OPTIONAL, 0, &q->c.zip_prefix);
	scn_field_text(L, &at, "city", OPTIONAL, DDB_TITLE_MAX, q->c.city);
	scn_field_text(L, &at, "state", OPTIONAL, DDB_NAME_MAX, q->c.state);
	scn_field_text(L, &at, "name", OPTIONAL, DDB_TITLE_MAX, q->c.name);
	scn_field_text(L, &at, "email", OPTIONAL, DDB_TITLE_MAX, q->c.email);
	if (getf(L, e, "changed") == LUA_TTABLE) {
		int t = lua_gettop(L);
		size_t n = scn_list_len(L, sc, t, "changed");
		for (size_t i = 0; i < n; i++) {
			lua_rawgeti(L, t, (lua_Integer)(i + 1));
			const char *name = lua_tostring(L, -1);
			size_t k = 0;
			while (k < sizeof fields / sizeof fields[0] && (!name || strcmp(name, fields[k]) != 0))
				k++;
			if (k == sizeof fields / sizeof fields[0])
				scn_fail(L, sc, "%s.changed[%zu]: not a customer field", w, i + 1);
			q->changed |= 1u << k;
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
}

struct step_ref {
	long id;      /* the id the step had in the recorded session */
	size_t index; /* its action */
};

static int by_id(const void *a, const void *b)
{
	const struct step_ref *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* An end_step naming the id a step action carries ends that action's step
 * (ends_action), whatever id the step gets in this run.  Two steps with
 * one id are an error. */
static void link_end_steps(lua_State *L, struct scenario *sc)
{
	struct scenario_info *si = &sc->info;
	size_t n = 0;
	for (size_t i = 0; i < si->n_actions; i++)
		n += si->actions[i].kind == ACTION_STEP && si->actions[i].step_id > 0;
	if (n == 0)
		return;
	/* Lua's memory: collected even if scn_fail leaves by an error. */
	struct step_ref *refs = lua_newuserdatauv(L, n * sizeof *refs, 0);
	n = 0;
	for (size_t i = 0; i < si->n_actions; i++)
		if (si->actions[i].kind == ACTION_STEP && si->actions[i].step_id > 0)
			refs[n++] = (struct step_ref){ si->actions[i].step_id, i };
	qsort(refs, n, sizeof *refs, by_id);
	for (size_t k = 1; k < n; k++)
		if (refs[k].id == refs[k - 1].id)
			scn_fail(L, sc, "actions[%zu].id: %ld is the id of actions[%zu] too",
			         (refs[k].index > refs[k - 1].index ? refs[k].index : refs[k - 1].index) + 1,
			         refs[k].id,
			         (refs[k].index > refs[k - 1].index ? refs[k - 1].index : refs[k].index) + 1);
	for (size_t i = 0; i < si->n_actions; i++) {
		struct scenario_action *a = &si->actions[i];
		struct step_ref key = { a->step_id, 0 };
		const struct step_ref *f = a->kind == ACTION_END_STEP
		                           ? bsearch(&key, refs, n, sizeof *refs, by_id) : NULL;
		if (f && f->index < i)
			a->ends_action = f->index + 1;
	}
	lua_pop(L, 1);
}

/* actions = { { at = T, KIND = ... }, ... } in time order: see
 * ddbsim-lua(7), RECORDED SESSIONS. */
void scn_parse_actions(lua_State *L, struct scenario *sc, int T, int regidx)
{
	/* keys[ACTION_ORDER .. ACTION_CHECKS] name the kinds; a step may also
	 * carry the id it had in the recorded session. */
	static const char *const keys[] = { "at",   "order",    "commit", "product", "customer",
		                            "step", "end_step", "checks", "id",      NULL };
	int ty = getf(L, T, "actions");
	int t = lua_gettop(L);
	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (ty != LUA_TTABLE)
		scn_fail(L, sc, "actions: must be a list of { at = ..., order = { ... } | ... }");
	size_t n = scn_list_len(L, sc, t, "actions");
	if (n > SCENARIO_ACTIONS_MAX)
		scn_fail(L, sc, "actions: more than %d", SCENARIO_ACTIONS_MAX);
	sc->info.actions = calloc(n ? n : 1, sizeof *sc->info.actions);
	if (!sc->info.actions)
		scn_fail(L, sc, "not enough memory");
	for (size_t i = 0; i < n; i++) {
		struct scenario_action *a = &sc->info.actions[i];
		char w[32];
		snprintf(w, sizeof w, "actions[%zu]", i + 1);
		if (lua_rawgeti(L, t, (lua_Integer)(i + 1)) != LUA_TTABLE)
			scn_fail(L, sc, "%s: must be a table { at = ..., order = { ... } | ... }", w);
		int e = lua_gettop(L);
		scn_check_keys(L, sc, e, keys, w);
		sc->info.n_actions = i + 1;
		struct scn_at at = { sc, e, w, "" };
		scn_field_time(L, &at, "at", REQUIRED, &a->at_us);
		if (i > 0 && a->at_us < a[-1].at_us)
			scn_fail(L, sc, "%s: earlier than the action before (actions are in time order)",
			         at.field);
		int kinds = 0;
		for (int k = ACTION_ORDER; k <= ACTION_CHECKS; k++)
			if (getf(L, e, keys[k]) != LUA_TNIL)
				kinds++, a->kind = k;
		lua_settop(L, e);
		if (kinds != 1)
			scn_fail(L, sc, "%s: must hold one of order, commit, product, customer, step, "
			                "end_step or checks", w);
		char sub[64];
		scn_join_field(sub, sizeof sub, w, keys[a->kind]);
		int v = lua_gettop(L) + 1;
		ty = getf(L, e, keys[a->kind]);
		if (a->kind == ACTION_COMMIT) {
			scn_string_at(L, sc, v, sub, DDB_NAME_MAX, a->order.region);
			long r = scn_lookup(L, regidx, v);
			if (r < 0)
				scn_fail(L, sc, "%s: unknown region \"%s\"", sub, a->order.region);
			a->region = (size_t)r;
		} else if (a->kind == ACTION_END_STEP) {
			a->step_id = (long)scn_count_at(L, sc, v, sub, 1);
		} else if (a->kind == ACTION_CHECKS) {
			if (ty != LUA_TBOOLEAN || !lua_toboolean(L, v))
				scn_fail(L, sc, "%s: must be true", sub);
		} else if (ty != LUA_TTABLE) {
			scn_fail(L, sc, "%s: must be a table", sub);
		} else if (a->kind == ACTION_ORDER) {
			parse_order_action(L, sc, v, sub, regidx, a);
		} else if (a->kind == ACTION_PRODUCT) {
			parse_product_action(L, sc, v, sub, regidx, a);
		} else if (a->kind == ACTION_CUSTOMER) {
			parse_customer_action(L, sc, v, sub, a);
		} else {
			scn_parse_step_action(L, sc, v, sub, regidx, a);
		}
		lua_settop(L, e);
		int64_t id = 0;
		if (scn_field_count(L, &at, "id", OPTIONAL, 1, &id) && a->kind != ACTION_STEP)
			scn_fail(L, sc, "%s: only a step has an id", at.field);
		if (a->kind == ACTION_STEP)
			a->step_id = (long)id;
		lua_settop(L, t);
	}
	link_end_steps(L, sc);
	lua_settop(L, t - 1);
}

