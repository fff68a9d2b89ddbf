/*
 * engine.c - the event loop.  Order arrivals, group commits, sync ticks,
 * restocks and failure steps are events on the virtual clock; the engine
 * pops them in time order and calls the domain flows.  After the workload
 * ends it keeps the sync ticks going until everything is applied (or
 * nothing can move any more), then hashes the stores and runs the checks.
 */
#include "engine.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "clock.h"
#include "config.h"
#include "node.h"
#include "orders.h"
#include "prng.h"
#include "scenario.h"
#include "state_hash.h"
#include "sync.h"
#include "topology.h"
#include "util.h"

enum event_type { EV_ARRIVAL = 1, EV_COMMIT, EV_SYNC, EV_RESTOCK, EV_FAILURE, EV_SAMPLE };

/* The most batches one sync tick moves per queue or region. */
#define SYNC_BATCHES_PER_TICK 16
/* Give up waiting for sync this long after the workload ends. */
#define DRAIN_LIMIT_US (3600 * US_PER_S)

struct engine {
	const struct engine_options *opt;
	struct prng rng;
	struct clock clock;
	struct scenario *sc;
	const struct scenario_info *si;
	struct catalog cat;
	struct world w;
	int world_open;
	struct metrics *m;
	struct orders orders;
	struct sync sync;
	int sync_ready;
	size_t arrivals_left; /* regions still receiving orders */
	size_t next_failure;  /* failure steps not yet applied start here */
	size_t next_restock;
};

void engine_options_init(struct engine_options *o)
{
	memset(o, 0, sizeof *o);
	o->batch_max = ORDERS_BATCH_MAX;
	o->commit_window_us = 5000;
	o->sync_every_us = 10000;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *script_dir(void)
{
	const char *env = getenv("DDBSIM_SCRIPTDIR");
	return env && *env ? env : DDBSIM_SCRIPTDIR;
}

static void engine_free(struct engine *e)
{
	if (e->sync_ready)
		sync_free(&e->sync);
	if (e->orders.batches)
		orders_free(&e->orders);
	if (e->world_open)
		world_close(&e->w);
	catalog_free(&e->cat);
	if (e->sc)
		scenario_free(e->sc);
	clock_free(&e->clock);
}

/* ---- scheduling ---------------------------------------------------------- */

static void schedule(struct engine *e, int64_t at_us, int type, int arg)
{
	if (clock_schedule(&e->clock, at_us, type, arg) != 0) {
		fprintf(stderr, "ddbsim: out of memory scheduling an event\n");
		abort();
	}
}

/* The next arrival in region r, or none when the workload is over. */
static void schedule_arrival(struct engine *e, size_t r)
{
	int64_t now = e->clock.now_us;
	char msg[512];
	scenario_set_time(e->sc, now);
	double rate = scenario_rate(e->sc, r, msg, sizeof msg);
	int64_t next;
	if (msg[0] && rate <= 0) {
		fprintf(stderr, "ddbsim: %s\n", msg);
		next = now + US_PER_S;
	} else if (rate <= 0) {
		next = now + US_PER_S; /* nothing now: look again in a second */
	} else {
		double gap = prng_exponential(&e->rng, 1e6 / rate);
		next = now + (gap < 1.0 ? 1 : gap > 1e15 ? (int64_t)1e15 : (int64_t)gap);
	}
	if (next < e->si->duration_us)
		schedule(e, next, EV_ARRIVAL, (int)r);
	else
		e->arrivals_left--;
}

/* ---- event handlers ------------------------------------------------------- */

static void on_arrival(struct engine *e, size_t r)
{
	int64_t now = e->clock.now_us;
	size_t before = orders_waiting(&e->orders, r);
	int full = orders_arrive(&e->orders, r, now);
	if (full)
		orders_commit(&e->orders, r, now);
	else if (before == 0 && orders_waiting(&e->orders, r) > 0)
		schedule(e, now + e->opt->commit_window_us, EV_COMMIT, (int)r);
	schedule_arrival(e, r);
}

static void sync_tick(struct engine *e)
{
	int64_t now = e->clock.now_us;
	for (size_t r = 0; r < e->w.n_regions; r++)
		for (int i = 0; i < SYNC_BATCHES_PER_TICK; i++)
			if (sync_relay(&e->sync, r) < SYNC_BATCH)
				break;
	for (int i = 0; i < SYNC_BATCHES_PER_TICK; i++)
		if (sync_apply_central(&e->sync, now) < SYNC_BATCH)
			break;
	for (int i = 0; i < SYNC_BATCHES_PER_TICK; i++)
		if (sync_apply_documents(&e->sync, now) < SYNC_BATCH)
			break;
	sync_flush_marks(&e->sync);
}

static void on_failure(struct engine *e, size_t i)
{
	const struct scenario_failure *f = &e->si->failures[i];
	struct node *n = node_find(&e->w.nodes, f->target);
	const char *action = f->action == FAILURE_DOWN ? "down" : "up";
	if (n && node_set_state(n, f->action == FAILURE_DOWN ? NODE_DOWN : NODE_UP, e->clock.now_us))
		metrics_step(e->m, e->clock.now_us, f->target, action);
	e->next_failure = i + 1;
	if (e->opt->trace)
		fprintf(stderr, "ddbsim: t=%.3f s: %s %s\n", (double)e->clock.now_us / 1e6, f->target,
		        action);
}

static void on_sample(struct engine *e)
{
	struct sync_backlog b;
	sync_pending(&e->sync, &b);
	struct depth_sample s = { e->clock.now_us, b.central_queue, b.documents_queue, b.outbox_new };
	metrics_sample(e->m, &s);
}

static int any_node_down(struct engine *e)
{
	for (size_t i = 0; i < e->w.nodes.n; i++)
		if (e->w.nodes.v[i].state != NODE_UP)
			return 1;
	return 0;
}

/* After the workload: stop once sync has drained, or once nothing can
 * change any more (a node stays down and no step will bring it back). */
static int finished(struct engine *e)
{
	int64_t now = e->clock.now_us;
	if (e->arrivals_left > 0 || now < e->si->duration_us)
		return 0;
	for (size_t r = 0; r < e->w.n_regions; r++)
		if (orders_waiting(&e->orders, r) > 0)
			return 0;
	if (e->next_restock < e->si->n_restocks)
		return 0;
	struct sync_backlog b;
	int pending = sync_pending(&e->sync, &b);
	if (pending == 0 && e->next_failure >= e->si->n_failures)
		return 1;
	if (e->next_failure >= e->si->n_failures && any_node_down(e))
		return 1; /* stuck: the checks will say what is pending */
	return now > e->si->duration_us + DRAIN_LIMIT_US;
}

static int run_loop(struct engine *e)
{
	struct clock_event ev;
	while (clock_next(&e->clock, &ev)) {
		switch (ev.type) {
		case EV_ARRIVAL:
			on_arrival(e, (size_t)ev.arg);
			break;
		case EV_COMMIT:
			orders_commit(&e->orders, (size_t)ev.arg, e->clock.now_us);
			break;
		case EV_SYNC:
			sync_tick(e);
			if (finished(e))
				return 0;
			schedule(e, e->clock.now_us + e->opt->sync_every_us, EV_SYNC, 0);
			break;
		case EV_RESTOCK: {
			const struct scenario_restock *rs = &e->si->restocks[ev.arg];
			catalog_restock(&e->w, e->m, rs->region, rs->sku, rs->quantity);
			e->next_restock = (size_t)ev.arg + 1;
			break;
		}
		case EV_FAILURE:
			on_failure(e, (size_t)ev.arg);
			break;
		case EV_SAMPLE:
			on_sample(e);
			schedule(e, e->clock.now_us + e->m->sample_every_us, EV_SAMPLE, 0);
			break;
		}
	}
	return 0;
}

/* ---- results ------------------------------------------------------------- */

static int finish(struct engine *e, struct run_result *res, struct scenario *sc, char *err,
                  size_t errlen)
{
	if (state_hash(&e->w, &res->state_hash, err, errlen) != 0)
		return -1;
	/* Only a run knows how many orders it accepted. */
	const struct metrics *m = strcmp(res->mode, "run") == 0 ? res->metrics : NULL;
	int failed = checks_run(&e->w, &e->sync, sc, m, &res->checks, &res->facts, err, errlen);
	if (failed < 0)
		return -1;
	res->failed_checks = failed;
	res->virtual_us = e->clock.now_us;
	res->n_regions = e->w.n_regions;
	return 0;
}

static int start(struct engine *e, const struct engine_options *o, struct run_result *res,
                 const char *mode)
{
	memset(e, 0, sizeof *e);
	memset(res, 0, sizeof *res);
	e->opt = o;
	clock_init(&e->clock);
	res->mode = mode;
	res->metrics = calloc(1, sizeof *res->metrics);
	if (!res->metrics)
		return -1;
	metrics_init(res->metrics);
	e->m = res->metrics;
	return 0;
}

int engine_run(const struct engine_options *o, struct run_result *res, char *err, size_t errlen)
{
	struct engine e;
	if (start(&e, o, res, "run") != 0)
		return errorf(err, errlen, "out of memory");
	double t0 = wall_now();
	int rc = -1;
	res->seed = o->seed;
	res->has_seed = 1;
	prng_seed(&e.rng, o->seed);
	copy_str(res->scenario, sizeof res->scenario, o->scenario_path);
	e.sc = scenario_load_with(o->scenario_path, script_dir(), &e.rng, o->params, o->n_params, err,
	                          errlen);
	if (!e.sc)
		goto out;
	e.si = scenario_info(e.sc);
	if (catalog_build(&e.cat, e.si, err, errlen) != 0)
		goto out;
	if (world_open(&e.w, o->cfg, o->data_dir, e.si->regions, e.si->n_regions, err, errlen) != 0)
		goto out;
	e.world_open = 1;
	/* Mark the wipe before it starts and clear the mark after: a crash in
	 * between leaves a mark that tells drain to finish the wipe. */
	e.w.nodes.resetting = 1;
	if (node_table_save(&e.w.nodes, o->data_dir, err, errlen) != 0 ||
	    world_reset(&e.w, err, errlen) != 0)
		goto out;
	e.w.nodes.resetting = 0;
	if (node_table_save(&e.w.nodes, o->data_dir, err, errlen) != 0 ||
	    catalog_install(&e.cat, &e.w, e.si, 0, err, errlen) != 0)
		goto out;
	if (orders_init(&e.orders, &e.w, e.sc, &e.cat, e.m, o->batch_max) != 0 ||
	    sync_init(&e.sync, &e.w, e.m) != 0) {
		errorf(err, errlen, "out of memory");
		goto out;
	}
	e.sync_ready = 1;

	e.arrivals_left = e.w.n_regions;
	for (size_t r = 0; r < e.w.n_regions; r++)
		schedule_arrival(&e, r);
	for (size_t i = 0; i < e.si->n_restocks; i++)
		schedule(&e, e.si->restocks[i].at_us, EV_RESTOCK, (int)i);
	for (size_t i = 0; i < e.si->n_failures; i++)
		schedule(&e, e.si->failures[i].at_us, EV_FAILURE, (int)i);
	schedule(&e, 0, EV_SAMPLE, 0);
	schedule(&e, o->sync_every_us, EV_SYNC, 0);
	if (run_loop(&e) != 0)
		goto out;
	res->sync_seconds = wall_now() - t0;
	rc = finish(&e, res, e.sc, err, errlen);
out:
	res->wall_seconds = wall_now() - t0;
	engine_free(&e);
	return rc;
}

/* Opens the stores the last run in data_dir used. */
static int open_existing(struct engine *e, const struct engine_options *o, int *resetting,
                         char *err, size_t errlen)
{
	struct node_table t = { 0 };
	if (node_table_load(&t, o->data_dir, err, errlen) != 0) {
		node_table_free(&t);
		return -1;
	}
	*resetting = t.resetting;
	size_t n = 0;
	char (*regions)[DDB_NAME_MAX] = calloc(t.n ? t.n : 1, sizeof *regions);
	if (!regions) {
		node_table_free(&t);
		return errorf(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < t.n; i++)
		if (t.v[i].kind == NODE_REGION)
			copy_str(regions[n++], DDB_NAME_MAX, t.v[i].name);
	node_table_free(&t);
	int rc = world_open(&e->w, o->cfg, o->data_dir, regions, n, err, errlen);
	free(regions);
	if (rc != 0)
		return -1;
	e->world_open = 1;
	if (sync_init(&e->sync, &e->w, e->m) != 0)
		return errorf(err, errlen, "out of memory");
	e->sync_ready = 1;
	return 0;
}

int engine_drain(const struct engine_options *o, struct run_result *res, char *err, size_t errlen)
{
	struct engine e;
	if (start(&e, o, res, "drain") != 0)
		return errorf(err, errlen, "out of memory");
	double t0 = wall_now();
	int rc = -1, resetting = 0;
	if (open_existing(&e, o, &resetting, err, errlen) != 0)
		goto out;
	if (resetting) {
		/* A run died while wiping the stores: finish the wipe. */
		if (world_reset(&e.w, err, errlen) != 0 ||
		    node_table_save(&e.w.nodes, o->data_dir, err, errlen) != 0)
			goto out;
		fprintf(stderr, "ddbsim: the last run stopped while wiping the stores; the wipe is now complete\n");
	}
	/* Whatever was published before a crash may be gone (a non-durable
	 * transport) or may have been applied without its mark: publish every
	 * unapplied event again; the center and the documents store ignore
	 * what they already have. */
	if (sync_requeue(&e.sync, err, errlen) != 0)
		goto out;
	struct ddb_err de = { "" };
	e.w.bus.ops->recover(e.w.bus.h, QUEUE_CENTRAL, &de);
	e.w.bus.ops->recover(e.w.bus.h, QUEUE_DOCUMENTS, &de);
	int idle = 0;
	uint64_t last = 0;
	while (idle < 3) {
		e.clock.now_us += o->sync_every_us;
		sync_tick(&e);
		struct sync_backlog b;
		int pending = sync_pending(&e.sync, &b);
		idle = pending == 0 ? 3 : idle;
		/* Progress is visible in the counters; without any, give up
		 * after a few rounds (a store is unavailable). */
		uint64_t moved = e.m->events_relayed + e.m->events_applied_central +
		                 e.m->events_applied_documents;
		if (pending != 0)
			idle = moved == last ? idle + 1 : 0;
		last = moved;
	}
	rc = finish(&e, res, NULL, err, errlen);
out:
	res->wall_seconds = wall_now() - t0;
	engine_free(&e);
	return rc;
}

int engine_check(const struct engine_options *o, struct run_result *res, char *err, size_t errlen)
{
	struct engine e;
	if (start(&e, o, res, "check") != 0)
		return errorf(err, errlen, "out of memory");
	double t0 = wall_now();
	int rc = -1, resetting = 0;
	if (open_existing(&e, o, &resetting, err, errlen) == 0) {
		if (resetting)
			errorf(err, errlen, "%s: the last run stopped while wiping the stores: "
			       "run 'ddbsim drain' to finish", o->data_dir);
		else
			rc = finish(&e, res, NULL, err, errlen);
	}
	res->wall_seconds = wall_now() - t0;
	engine_free(&e);
	return rc;
}

void run_result_free(struct run_result *res)
{
	check_list_free(&res->checks);
	if (res->facts)
		cJSON_Delete(res->facts);
	free(res->metrics);
	memset(res, 0, sizeof *res);
}
