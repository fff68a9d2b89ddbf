/*
 * engine_actions.c - the operations of serve's clients on the engine: an
 * order, the commit of a region's orders, a new product, a failure step and
 * its end, settling the sync.  Each runs at the engine clock's now; live.c
 * calls them once the clock has caught up with the wall, and the replay of
 * a recorded session calls the very same ones at the recorded times
 * (EV_ACTION), which is why the two end in the same state.
 */
#include "engine_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

/* ---- products ------------------------------------------------------------ */

static int compare_components(const void *a, const void *b)
{
	return strcmp(((const struct ddb_component *)a)->sku, ((const struct ddb_component *)b)->sku);
}

/* What a product must be before it reaches a store; -1 with field and err. */
static int product_invalid(const struct engine *e, const struct ddb_product *p,
                           const int64_t *stock, char *field, size_t fieldlen, char *err,
                           size_t errlen)
{
	if (!p->sku[0]) {
		copy_str(field, fieldlen, "sku");
		return errorf(err, errlen, "sku: must not be empty");
	}
	if (p->price_cents < 0 || p->price_cents > SCENARIO_PRICE_MAX_CENTS) {
		copy_str(field, fieldlen, "price");
		return errorf(err, errlen, "price: must be from 0 to %lld (currency units)",
		              (long long)(SCENARIO_PRICE_MAX_CENTS / 100));
	}
	if (p->n_components > DDB_COMPONENTS_MAX) {
		copy_str(field, fieldlen, "components");
		return errorf(err, errlen, "components: more than %d", DDB_COMPONENTS_MAX);
	}
	for (size_t i = 0; i < p->n_components; i++) {
		const struct ddb_component *c = &p->components[i];
		snprintf(field, fieldlen, "components.%s", c->sku);
		if (strcmp(c->sku, p->sku) == 0)
			return errorf(err, errlen, "%s: a product cannot be its own component", field);
		if (!catalog_find(&e->cat, c->sku))
			return errorf(err, errlen, "%s: not a product of the catalog", field);
		if (c->quantity < 1 || c->quantity > SCENARIO_UNITS_MAX)
			return errorf(err, errlen, "%s: must be from 1 to %lld", field,
			              (long long)SCENARIO_UNITS_MAX);
		for (size_t k = 0; k < i; k++)
			if (strcmp(p->components[k].sku, c->sku) == 0)
				return errorf(err, errlen, "%s: given twice", field);
	}
	int64_t units = 0;
	for (size_t r = 0; r < e->w.n_regions; r++) {
		snprintf(field, fieldlen, "stock.%s", e->w.regions[r].node->name);
		if (stock[r] < 0 || stock[r] > SCENARIO_UNITS_MAX)
			return errorf(err, errlen, "%s: must be from 0 to %lld", field,
			              (long long)SCENARIO_UNITS_MAX);
		units += stock[r]; /* at most 61 x 10^10: no overflow */
	}
	if (units > SCENARIO_UNITS_MAX - e->units_total) {
		copy_str(field, fieldlen, "stock");
		return errorf(err, errlen, "stock: the stock of every product in every region and the "
		              "restocks would add up to more than %lld units, the most a run may sell",
		              (long long)SCENARIO_UNITS_MAX);
	}
	field[0] = 0;
	return 0;
}

static void append_name(char *list, size_t size, const char *name, const char *why)
{
	size_t used = strlen(list);
	if (used < size)
		snprintf(list + used, size - used, "%s%s (%.120s)", used ? ", " : "", name, why);
}

int engine_add_product(struct engine *e, const struct ddb_product *p, const int64_t *stock,
                       struct product_added *out, char *field, size_t fieldlen, char *err,
                       size_t errlen)
{
	memset(out, 0, sizeof *out);
	field[0] = 0;
	if (product_invalid(e, p, stock, field, fieldlen, err, errlen) != 0)
		return -1;
	struct ddb_product q = *p;
	qsort(q.components, q.n_components, sizeof *q.components, compare_components);
	const struct ddb_product *old = catalog_find(&e->cat, q.sku);
	q.version = old ? old->version + 1 : 1;
	out->version = q.version;
	int64_t now = e->clock.now_us;
	e->w.faults.caller = NULL; /* a client's call */
	for (size_t r = 0; r < e->w.n_regions; r++) {
		struct store *s = &e->w.regions[r];
		struct ddb_err de = { "" };
		enum ddb_status st = store_upsert_product(s, &q, now, &de);
		if (st != DDB_OK && st != DDB_DUPLICATE) {
			append_name(out->skipped, sizeof out->skipped, s->node->name,
			            s->node->state == NODE_DOWN ? "down" : de.msg);
			continue;
		}
		out->n_took++;
		if (stock[r] > 0 && (st = store_restock(s, q.sku, stock[r], &de)) != DDB_OK)
			append_name(out->unstocked, sizeof out->unstocked, s->node->name, de.msg);
		else if (stock[r] > 0)
			e->m->restocks++;
	}
	faults_take_latency(&e->w.faults);
	for (size_t r = 0; r < e->w.n_regions; r++)
		e->units_total += stock[r];
	if (out->n_took == 0)
		return 0; /* no region has it: the catalog stays as it was */
	if (catalog_put(&e->cat, &q) != 0) {
		e->out_of_memory = 1;
		return errorf(err, errlen, "out of memory");
	}
	return 0;
}

/* ---- orders ---------------------------------------------------------------- */

int engine_submit_order(struct engine *e, size_t r, const struct ddb_order *req, void *tag,
                        size_t *to, char *why, size_t whylen)
{
	return orders_submit(&e->orders, r, req, e->clock.now_us, tag, to, why, whylen);
}

void engine_commit_region(struct engine *e, size_t r)
{
	e->w.faults.caller = NULL; /* the clients' orders */
	if (orders_commit(&e->orders, r, e->clock.now_us)) /* in doubt: retried, as a run does */
		engine_schedule(e, e->clock.now_us + ENGINE_COMMIT_RETRY_US, EV_COMMIT, (int)r);
}

/* ---- customers ------------------------------------------------------------- */

void engine_customer(struct engine *e, const struct customer_request *req)
{
	if (!e->customers_ready)
		return;
	e->w.faults.caller = NULL;
	scenario_set_time(e->sc, e->clock.now_us);
	customers_apply(&e->customers, req, e->clock.now_us);
	faults_take_latency(&e->w.faults);
}

/* ---- failure steps ------------------------------------------------------------ */

/* Steps the clients may start in one session. */
#define LIVE_STEPS_MAX 100000

/* The end of a start, as the scenario parser builds one: the same step
 * and target, the action that ends it, no probability or latency left. */
static struct scenario_failure end_of(const struct scenario_failure *start, int64_t at_us)
{
	struct scenario_failure end = *start;
	end.ends = 1;
	end.has_end = 0;
	end.at_us = at_us;
	end.probability = 0;
	end.latency_us = end.jitter_us = 0;
	if (start->action == FAILURE_DOWN)
		end.action = FAILURE_UP;
	else if (start->action == FAILURE_PARTITION)
		end.action = FAILURE_HEAL;
	else if (start->action == FAILURE_CRASH)
		end.action = FAILURE_RESTART;
	return end;
}

static long add_step(struct engine *e, const struct scenario_failure *f, char *err, size_t errlen)
{
	if (e->n_live_steps >= LIVE_STEPS_MAX)
		return errorf(err, errlen, "too many steps in this session (%d)", LIVE_STEPS_MAX);
	if (e->n_live_steps == e->cap_live_steps) {
		size_t cap = e->cap_live_steps ? e->cap_live_steps * 2 : 64;
		const struct scenario_failure **v = realloc(e->live_steps, cap * sizeof *v);
		if (!v)
			return errorf(err, errlen, "out of memory");
		e->live_steps = v;
		int64_t *ends = realloc(e->live_step_ends, cap * sizeof *ends);
		if (!ends)
			return errorf(err, errlen, "out of memory");
		e->live_step_ends = ends;
		e->cap_live_steps = cap;
	}
	struct scenario_failure *copy = malloc(sizeof *copy);
	if (!copy)
		return errorf(err, errlen, "out of memory");
	*copy = *f;
	e->live_step_ends[e->n_live_steps] = -1;
	e->live_steps[e->n_live_steps++] = copy;
	return (long)e->n_live_steps - 1;
}

/* Whether a step of this action has an end (the others change the base:
 * down and slow end with `up`). */
static int action_ends(int action)
{
	return action == FAILURE_DOWN || action == FAILURE_SLOW || action == FAILURE_PARTITION ||
	       action == FAILURE_DROP || action == FAILURE_DUPLICATE || action == FAILURE_DELAY ||
	       action == FAILURE_REORDER || action == FAILURE_CRASH;
}

long engine_start_step(struct engine *e, const struct scenario_failure *f, int64_t for_us,
                       char *err, size_t errlen)
{
	struct scenario_failure start = *f;
	start.at_us = e->clock.now_us;
	start.step = LIVE_STEP_BASE + (int)e->n_live_steps;
	start.ends = 0;
	/* Down and slow without a duration change the node's base, as in a
	 * script; the other kinds stay in force until undone. */
	int timed = for_us > 0 && action_ends(f->action);
	start.has_end = timed || (action_ends(f->action) && f->action != FAILURE_DOWN &&
	                          f->action != FAILURE_SLOW);
	long i = add_step(e, &start, err, errlen);
	if (i < 0)
		return -1;
	if (start.has_end)
		e->live_step_ends[i] = timed ? e->clock.now_us + for_us : 0;
	engine_apply_step(e, e->live_steps[i]);
	if (timed) {
		struct scenario_failure end = end_of(&start, e->clock.now_us + for_us);
		long k = add_step(e, &end, err, errlen);
		if (k < 0)
			return -1; /* the step stays in force: ending it by id ends it */
		engine_schedule(e, end.at_us, EV_LIVE_STEP, (int)k);
		e->live_ends_pending++;
	}
	return i + 1;
}

int engine_end_step(struct engine *e, long id, char *err, size_t errlen)
{
	/* A timed end that has passed took the step away already. */
	int64_t ends = id >= 1 && (size_t)id <= e->n_live_steps ? e->live_step_ends[id - 1] : -1;
	if (ends < 0 || (ends > 0 && ends <= e->clock.now_us))
		return errorf(err, errlen, "no step %ld in force", id);
	struct scenario_failure end = end_of(e->live_steps[id - 1], e->clock.now_us);
	long k = add_step(e, &end, err, errlen);
	if (k < 0)
		return -1;
	e->live_step_ends[id - 1] = -1;
	e->live_ending_id = id;
	engine_apply_step(e, e->live_steps[k]);
	e->live_ending_id = 0;
	return 0;
}

/* ---- settling and checking ------------------------------------------------------ */

/* GET /checks waits at most this long (wall time) for the sync to drain. */
#define SETTLE_LIMIT_S 30.0

void engine_settle(struct engine *e)
{
	double t0 = wall_now();
	for (size_t r = 0; r < e->w.n_regions; r++)
		orders_commit(&e->orders, r, e->clock.now_us);
	for (;;) {
		int more = 1;
		size_t moved = 0;
		if (e->customers_ready)
			for (size_t r = 0; r < e->w.n_regions; r++)
				moved += customers_replay(&e->customers, r, e->clock.now_us);
		while (more && wall_now() - t0 < SETTLE_LIMIT_S)
			moved += sync_round(&e->sync, e->clock.now_us, &more);
		sync_flush_marks(&e->sync);
		if (moved == 0 || wall_now() - t0 > SETTLE_LIMIT_S)
			break;
	}
	sync_settle(&e->sync);
}

int engine_checks_now(struct engine *e, struct check_list *checks, struct cJSON **facts,
                      char *err, size_t errlen)
{
	engine_settle(e);
	struct customers *cs = e->customers_ready ? &e->customers : NULL;
	return checks_run(&e->w, &e->sync, cs, e->sc, e->m, checks, facts, err, errlen);
}

/* ---- the replay of a recorded session -------------------------------------------- */

void engine_run_action(struct engine *e, size_t i)
{
	const struct scenario_action *a = &e->si->actions[i];
	char err[512], field[96];
	long step_id = 0;
	e->next_action = i + 1;
	switch (a->kind) {
	case ACTION_ORDER: {
		size_t to;
		char why[256];
		engine_submit_order(e, a->region, &a->order, NULL, &to, why, sizeof why);
		break;
	}
	case ACTION_COMMIT:
		engine_commit_region(e, a->region);
		break;
	case ACTION_PRODUCT: {
		struct product_added out;
		if (engine_add_product(e, &a->product->product, a->product->stock, &out, field,
		                       sizeof field, err, sizeof err) != 0)
			fprintf(stderr, "ddbsim: actions[%zu]: product %s: %s\n", i + 1,
			        a->product->product.sku, err);
		break;
	}
	case ACTION_CUSTOMER:
		engine_customer(e, a->customer);
		break;
	case ACTION_STEP:
		step_id = engine_start_step(e, &a->step->f, a->step->for_us, err, sizeof err);
		if (step_id < 0)
			fprintf(stderr, "ddbsim: actions[%zu]: step: %s\n", i + 1, err);
		else
			e->action_step_ids[i] = step_id;
		break;
	case ACTION_END_STEP:
		/* The step of the action it names, by the id that step got here
		 * (0 if it did not start): a session that serves a recording may
		 * have started steps of its own in between. */
		step_id = a->ends_action ? e->action_step_ids[a->ends_action - 1] : a->step_id;
		if (engine_end_step(e, step_id, err, sizeof err) != 0) {
			fprintf(stderr, "ddbsim: actions[%zu]: end_step: %s\n", i + 1, err);
			step_id = 0;
		}
		break;
	case ACTION_CHECKS: {
		struct check_list checks = { 0 };
		struct cJSON *facts = NULL;
		if (engine_checks_now(e, &checks, &facts, err, sizeof err) < 0)
			fprintf(stderr, "ddbsim: actions[%zu]: checks: %s\n", i + 1, err);
		check_list_free(&checks);
		if (facts)
			cJSON_Delete(facts);
		break;
	}
	}
	if (e->action_observer)
		e->action_observer(e->action_observer_ctx, a, step_id);
}
