/*
 * engine.c - the event loop.  Order arrivals, group commits, sync ticks,
 * restocks and failure steps are events on the virtual clock; the engine
 * pops them in time order and calls the domain flows.  After the workload
 * ends it keeps the sync ticks going until everything is applied (or
 * nothing can move any more), then hashes the stores and runs the checks.
 */
#include "engine.h"
#include "engine_int.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog.h"
#include "clock.h"
#include "config_file.h"
#include "customers.h"
#include "fault_steps.h"
#include "node.h"
#include "orders.h"
#include "prng.h"
#include "scenario.h"
#include "state_hash.h"
#include "sync.h"
#include "world.h"
#include "util.h"

 /* ask the customer rate function again: no operation */

/* What the scenario module accepts must fit what the engine keeps. */
_Static_assert(SCENARIO_REGIONS_MAX + 3 <= NODE_MAX, "regions, central, documents, broker");
_Static_assert(SCENARIO_STEPS_MAX <= METRICS_STEPS, "every failure step is recorded");
_Static_assert(SCENARIO_REPLICAS_MAX <= CUSTOMER_REPLICAS_MAX, "replicas of a customer");
_Static_assert(SCENARIO_DETAIL_MAX <= CHECK_DETAIL_MAX, "a check's detail is never cut again");

/* The most batches one sync tick moves per queue or region. */
#define SYNC_BATCHES_PER_TICK 16
/* Give up waiting for sync this long after the workload ends (engine
 * clock), or after this many seconds of wall time. */
#define DRAIN_LIMIT_US (3600 * US_PER_S)
#define DRAIN_LIMIT_WALL_S 300.0
/* How long drain waits for a server that does not answer. */
#define DRAIN_PATIENCE_S 15.0



void engine_options_init(struct engine_options *o)
{
	memset(o, 0, sizeof *o);
	o->batch_max = ORDERS_BATCH_MAX;
	o->commit_window_us = 5000;
	o->sync_every_us = 10000;
}

const char *engine_script_dir(void)
{
	const char *env = getenv("DDBSIM_SCRIPTDIR");
	return env && *env ? env : DDBSIM_SCRIPTDIR;
}

void engine_free(struct engine *e)
{
	for (size_t i = 0; i < e->n_live_steps; i++)
		free((void *)e->live_steps[i]);
	free(e->live_steps);
	free(e->live_step_ends);
	free(e->action_step_ids);
	if (e->customers_ready)
		customers_free(&e->customers);
	if (e->steps_ready)
		fault_steps_free(&e->steps);
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

void engine_schedule(struct engine *e, int64_t at_us, int type, int arg)
{
	/* The run stops after the current event (engine_loop); what was
	 * committed stays in the stores, for drain to finish. */
	if (clock_schedule(&e->clock, at_us, type, arg) != 0)
		e->out_of_memory = 1;
}

/* When the next event of a stream at `rate` per second comes (exponential
 * gaps); with no rate, look again in a second. */
static int64_t next_at(struct engine *e, double rate)
{
	int64_t now = e->clock.now_us;
	if (rate <= 0)
		return now + US_PER_S;
	double gap = prng_exponential(&e->rng, 1e6 / rate);
	return now + (gap < 1.0 ? 1 : gap > 1e15 ? (int64_t)1e15 : (int64_t)gap);
}

/* The next arrival in region r, or none when the workload is over.  A rate
 * of 0 places no order: a fixed rate ends the region's arrivals, a rate
 * function (or one that failed) is asked again a second later. */
static void schedule_arrival(struct engine *e, size_t r)
{
	char msg[512];
	scenario_set_time(e->sc, e->clock.now_us);
	double rate = scenario_rate(e->sc, r, msg, sizeof msg);
	if (msg[0] && rate <= 0)
		fprintf(stderr, "ddbsim: %s\n", msg);
	if (rate <= 0) {
		int64_t again = e->clock.now_us + US_PER_S;
		if (scenario_rate_varies(e->sc) && again < e->end_us)
			engine_schedule(e, again, EV_RATE_POLL, (int)r);
		else
			e->arrivals_left--;
		return;
	}
	int64_t next = next_at(e, rate);
	if (next < e->end_us)
		engine_schedule(e, next, EV_ARRIVAL, (int)r);
	else
		e->arrivals_left--;
}

/* ---- event handlers ------------------------------------------------------- */


static void commit(struct engine *e, size_t r)
{
	e->w.faults.caller = NULL;
	if (orders_commit(&e->orders, r, e->clock.now_us))
		engine_schedule(e, e->clock.now_us + ENGINE_COMMIT_RETRY_US, EV_COMMIT, (int)r);
}

static void on_arrival(struct engine *e, size_t r)
{
	int64_t now = e->clock.now_us;
	size_t to;
	int queued = orders_arrive(&e->orders, r, now, &to);
	if (queued == ORDER_BATCH_FULL)
		commit(e, to);
	else if (queued == ORDER_QUEUED && orders_waiting(&e->orders, to) == 1)
		engine_schedule(e, now + e->opt->commit_window_us, EV_COMMIT, (int)to);
	schedule_arrival(e, r);
}

static void schedule_customer(struct engine *e)
{
	char msg[512];
	scenario_set_time(e->sc, e->clock.now_us);
	double rate = scenario_customer_rate(e->sc, msg, sizeof msg);
	if (msg[0])
		fprintf(stderr, "ddbsim: %s\n", msg);
	if (rate <= 0) { /* as for orders (schedule_arrival) */
		int64_t again = e->clock.now_us + US_PER_S;
		if (scenario_customer_rate_varies(e->sc) && again < e->end_us)
			engine_schedule(e, again, EV_CUSTOMER_POLL, 0);
		else
			e->customers_left = 0;
		return;
	}
	int64_t next = next_at(e, rate);
	if (next < e->end_us)
		engine_schedule(e, next, EV_CUSTOMER, 0);
	else
		e->customers_left = 0;
}

/* A real server that is down answers at once: pace the engine in wall time
 * while one is, so that it waits for the server instead of racing through
 * its drain limit. */
static void pace_if_unavailable(struct engine *e, uint64_t before)
{
	if (e->live || e->w.faults.store_unavailable == before)
		return; /* serve follows the wall clock already */
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static void sync_tick(struct engine *e)
{
	int64_t now = e->clock.now_us;
	uint64_t unavailable = e->w.faults.store_unavailable;
	faults_release(&e->w.faults, &e->w.bus, 0);
	if (e->customers_ready)
		for (size_t r = 0; r < e->w.n_regions; r++)
			for (int i = 0; i < SYNC_BATCHES_PER_TICK; i++)
				if (customers_replay(&e->customers, r, now) == 0)
					break;
	int more = 1;
	for (int i = 0; i < SYNC_BATCHES_PER_TICK && more; i++)
		sync_round(&e->sync, now, &more);
	sync_flush_marks(&e->sync);
	pace_if_unavailable(e, unavailable);
}

/* The customers learn when a region goes down or comes back. */
static void region_changed(struct engine *e, struct node *n)
{
	size_t r = (size_t)(n - e->w.nodes.v);
	if (e->customers_ready && n->kind == NODE_REGION && r < e->w.n_regions)
		customers_node_changed(&e->customers, r, n->state != NODE_DOWN, e->clock.now_us);
}

/* Overlapping steps nest: the node states, links and message faults come
 * from every step in force (fault_steps.h). */
void engine_apply_step(struct engine *e, const struct scenario_failure *f)
{
	int64_t now = e->clock.now_us;
	char what[192];
	uint64_t changed = 0;
	if (fault_steps_apply(&e->steps, f, now, &changed, what, sizeof what) != 0) {
		e->out_of_memory = 1;
		return;
	}
	for (size_t k = 0; k < e->w.nodes.n; k++)
		if (changed & (1ULL << k))
			region_changed(e, &e->w.nodes.v[k]);
	int relay = strcmp(f->target, "relay") == 0;
	if (f->action == FAILURE_CRASH) {
		if (relay)
			sync_crash_relay(&e->sync);
		else
			sync_crash_applier(&e->sync);
	} else if (f->action == FAILURE_RESTART && !fault_steps_crashed(&e->steps, f->target)) {
		if (relay)
			sync_restart_relay(&e->sync);
		else
			sync_restart_applier(&e->sync);
	}
	metrics_step(e->m, now, f->target[0] ? f->target : "transport", what);
	if (e->step_observer)
		e->step_observer(e->step_observer_ctx, f, what);
	if (e->opt->trace)
		fprintf(stderr, "ddbsim: t=%.3f s: %s %s\n", (double)now / 1e6,
		        f->target[0] ? f->target : "transport", what);
}

static void on_failure(struct engine *e, size_t i)
{
	engine_apply_step(e, &e->si->failures[i]);
	e->next_failure = i + 1;
}

static uint64_t node_queue_depth(struct engine *e, size_t r)
{
	uint64_t depth;
	struct ddb_err err = { "" };
	world_node_queue_depth(&e->w, r, &depth, &err);
	return depth;
}

static void on_sample(struct engine *e)
{
	struct sync_backlog b;
	sync_pending(&e->sync, &b);
	struct depth_sample smp;
	memset(&smp, 0, sizeof smp);
	smp.at_us = e->clock.now_us;
	smp.central = b.central_queue;
	smp.documents = b.documents_queue;
	smp.outbox_new = b.outbox_new;
	for (size_t r = 0; r < e->w.n_regions; r++) {
		uint64_t depth = node_queue_depth(e, r);
		if (r < ARRAY_LEN(smp.node_queues)) {
			smp.node_queues[r] = depth;
			smp.node_states[r] = (uint8_t)e->w.regions[r].node->state;
		}
		if (r < ARRAY_LEN(e->m->node_depth_max) && depth > e->m->node_depth_max[r])
			e->m->node_depth_max[r] = depth;
	}
	metrics_sample(e->m, &smp);
}

static int any_node_down(struct engine *e)
{
	for (size_t i = 0; i < e->w.nodes.n; i++)
		if (e->w.nodes.v[i].state == NODE_DOWN || e->w.nodes.v[i].cut_to)
			return 1;
	return e->sync.relay_down || e->sync.applier_down;
}

/* After the workload: stop once sync has drained, or once nothing can
 * change any more (a node stays down and no step will bring it back). */
static int finished(struct engine *e)
{
	int64_t now = e->clock.now_us;
	if (e->arrivals_left > 0 || e->customers_left || now < e->end_us)
		return 0;
	/* Whatever still waits, give up at some point: the checks say what. */
	if (now > e->end_us + DRAIN_LIMIT_US)
		return 1;
	if (e->drain_started == 0)
		e->drain_started = wall_now();
	else if (wall_now() - e->drain_started > DRAIN_LIMIT_WALL_S)
		return 1;
	int no_more_steps = e->next_failure >= e->si->n_failures && e->live_ends_pending == 0 &&
	                    e->next_action >= e->si->n_actions;
	if (e->w.faults.n_delayed > 0 && no_more_steps)
		faults_release(&e->w.faults, &e->w.bus, 1); /* nothing more will come */
	if (e->w.faults.n_delayed > 0)
		return 0;
	/* A batch waits for its region; a region that stays down ends the
	 * run (its batch in doubt is neither accepted nor rejected, and the
	 * checks say so). */
	for (size_t r = 0; r < e->w.n_regions; r++)
		if (orders_waiting(&e->orders, r) > 0 &&
		    !(no_more_steps && e->w.regions[r].node->state == NODE_DOWN))
			return 0;
	if (e->next_restock < e->si->n_restocks)
		return 0;
	struct sync_backlog b;
	int pending = sync_pending(&e->sync, &b);
	uint64_t queued = 0, held = 0;
	if (e->customers_ready && customers_pending(&e->customers, &queued, &held) != 0)
		pending = 1;
	if (pending == 0 && no_more_steps)
		return 1;
	if (no_more_steps && any_node_down(e))
		return 1; /* stuck: the checks will say what is pending */
	return 0;
}

/* Folds an event and what it changed into the trace hash. */
static void trace_event(struct engine *e, const struct clock_event *ev)
{
	const uint64_t v[] = { (uint64_t)ev->at_us, (uint64_t)ev->type, (uint64_t)ev->arg,
		               e->m->orders_accepted, e->m->orders_rejected,
		               e->m->events_applied_central, e->m->customers.writes_direct,
		               e->m->customers.replayed };
	for (size_t i = 0; i < ARRAY_LEN(v); i++)
		for (int b = 0; b < 64; b += 8) {
			e->trace ^= (v[i] >> b) & 0xff;
			e->trace *= 0x100000001b3ULL;
		}
}

/* Whether a signal asked the run (or drain) to stop. */
static int stopped(const struct engine *e)
{
	return e->opt->stop && *e->opt->stop;
}

/* A step of the API (serve) reached its time: usually the end of one. */
static void on_live_step(struct engine *e, size_t i)
{
	const struct scenario_failure *f = e->live_steps[i];
	if (f->ends && e->live_ends_pending > 0)
		e->live_ends_pending--;
	engine_apply_step(e, f);
}

int engine_handle(struct engine *e, const struct clock_event *ev)
{
	/* Serve stopped the workload (end_us): streams end at their next event.
	 * A run never gets here: it schedules nothing at or past end_us. */
	int over = ev->at_us >= e->end_us;
	e->w.faults.now_us = e->clock.now_us;
	trace_event(e, ev);
	switch (ev->type) {
	case EV_ARRIVAL:
	case EV_RATE_POLL:
		if (over)
			e->arrivals_left--;
		else if (ev->type == EV_ARRIVAL)
			on_arrival(e, (size_t)ev->arg);
		else
			schedule_arrival(e, (size_t)ev->arg);
		break;
	case EV_CUSTOMER:
	case EV_CUSTOMER_POLL:
		if (over) {
			e->customers_left = 0;
			break;
		}
		if (ev->type == EV_CUSTOMER) {
			customers_operate(&e->customers, e->clock.now_us);
			faults_take_latency(&e->w.faults);
		}
		schedule_customer(e);
		break;
	case EV_COMMIT:
		commit(e, (size_t)ev->arg);
		break;
	case EV_SYNC:
		sync_tick(e);
		if (!e->live && finished(e))
			return 1;
		/* Calls to slow nodes hold the sync back. */
		engine_schedule(e, e->clock.now_us + e->opt->sync_every_us +
		                faults_take_latency(&e->w.faults), EV_SYNC, 0);
		break;
	case EV_RESTOCK: {
		const struct scenario_restock *rs = &e->si->restocks[ev->arg];
		catalog_restock(&e->w, e->m, rs->region, rs->sku, rs->quantity);
		e->next_restock = (size_t)ev->arg + 1;
		break;
	}
	case EV_FAILURE:
		on_failure(e, (size_t)ev->arg);
		break;
	case EV_LIVE_STEP:
		on_live_step(e, (size_t)ev->arg);
		break;
	case EV_ACTION:
		engine_run_action(e, (size_t)ev->arg);
		break;
	case EV_SAMPLE:
		on_sample(e);
		engine_schedule(e, e->clock.now_us + e->m->sample_every_us, EV_SAMPLE, 0);
		break;
	}
	return 0;
}

/* 0 when the run is over, 1 when a signal stopped it between two events,
 * -1 when an event could not be scheduled. */
int engine_loop(struct engine *e)
{
	struct clock_event ev;
	for (;;) {
		if (stopped(e))
			return 1;
		if (!clock_next(&e->clock, &ev))
			return 0;
		int over = engine_handle(e, &ev);
		/* A script past its limits cannot be trusted: stop here. */
		if (e->out_of_memory || (e->sc && scenario_fatal(e->sc)))
			return -1;
		if (over)
			return 0;
	}
}

/* ---- results ------------------------------------------------------------- */

/* What the report shows besides the checks. */
static void fill_result(struct engine *e, struct run_result *res)
{
	for (size_t r = 0; r < e->w.n_regions && r < ARRAY_LEN(res->metrics->node_depth_end); r++)
		res->metrics->node_depth_end[r] = node_queue_depth(e, r);
	res->virtual_us = e->clock.now_us;
	res->n_regions = e->w.n_regions;
	res->faults = e->w.faults;
	res->faults.delayed = NULL;
	res->faults.nodes = NULL;
	for (size_t i = 0; i < e->w.nodes.n && i < ARRAY_LEN(res->nodes); i++)
		res->nodes[res->n_nodes++] = e->w.nodes.v[i];
}

static int finish(struct engine *e, struct run_result *res, struct scenario *sc, char *err,
                  size_t errlen)
{
	if (e->sync_ready) /* what a run that gave up left in flight */
		sync_settle(&e->sync);
	if (state_hash(&e->w, &res->state_hash, err, errlen) != 0)
		return -1;
	/* Only a run knows how many orders it accepted. */
	const struct metrics *m = strcmp(res->mode, "run") == 0 ? res->metrics : NULL;
	struct customers *cs = m && e->customers_ready ? &e->customers : NULL;
	int failed = checks_run(&e->w, &e->sync, cs, sc, m, &res->checks, &res->facts, err, errlen);
	if (failed < 0)
		return -1;
	if (sc && scenario_fatal(sc))
		return errorf(err, errlen, "%s", scenario_fatal(sc));
	res->failed_checks = failed;
	fill_result(e, res);
	return 0;
}

/* A run or drain that a signal stopped: no checks (the sync did not get to
 * finish: they would fail for that alone, or hold by chance), no state
 * hash; what happened until then. */
static void interrupted(struct engine *e, struct run_result *res, const char *where)
{
	res->interrupted = *e->opt->stop;
	res->interrupted_in = where;
	if (e->world_open)
		fill_result(e, res);
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

/* The states set with `ddbsim node set` (kept in DATA_DIR/nodes) hold at
 * the start of a run; the failure schedule changes them only for the run.
 * A nodes file that cannot be read is an error naming it, not a run with
 * every node up.  -1 with err set. */
static int apply_admin_states(struct world *w, const char *data_dir, char *err, size_t errlen)
{
	char path[4200];
	struct stat st;
	snprintf(path, sizeof path, "%s/nodes", data_dir);
	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0; /* no node set yet: every node up */
	struct node_table saved = { 0 };
	if (node_table_load(&saved, data_dir, err, errlen) != 0) {
		node_table_free(&saved);
		return -1;
	}
	{
		for (size_t i = 0; i < saved.n; i++) {
			struct node *n = node_find(&w->nodes, saved.v[i].name);
			if (!n)
				continue;
			n->state = saved.v[i].state;
			n->latency_us = saved.v[i].latency_us;
			n->jitter_us = saved.v[i].jitter_us;
			for (size_t k = 0; k < saved.n; k++) {
				struct node *to = node_find(&w->nodes, saved.v[k].name);
				if (to && (saved.v[i].cut_to & (1ULL << k)))
					n->cut_to |= node_bit(&w->nodes, to);
			}
		}
	}
	node_table_free(&saved);
	return 0;
}

/* An interrupted run ends its failure schedule where it stands, as drain
 * will start: every node back to its state in DATA_DIR/nodes (ddbsim node
 * set), no more message faults.  Then what the emulation still holds in
 * memory goes where drain finds it: customer writes the broker refused, to
 * their node queues; delayed messages, to the broker; publishes in flight,
 * confirmed and marked.  (The memory transport keeps its queues in
 * DATA_DIR/broker.queues when it closes.) */
static void end_emulation(struct engine *e)
{
	for (size_t i = 0; i < e->w.nodes.n; i++) {
		struct node *n = &e->w.nodes.v[i];
		n->state = NODE_UP;
		n->latency_us = n->jitter_us = 0;
		n->cut_to = 0;
	}
	char ignored[512]; /* read at the start of the run: it was readable */
	apply_admin_states(&e->w, e->opt->data_dir, ignored, sizeof ignored);
	struct fault_layer *fl = &e->w.faults;
	fl->p_drop = fl->p_duplicate = fl->p_delay = fl->p_reorder = 0;
	fl->caller = NULL;
	if (e->customers_ready)
		customers_retry_held(&e->customers);
	faults_release(fl, &e->w.bus, 1);
	if (e->sync_ready)
		sync_settle(&e->sync);
	uint64_t queued = 0, held = 0;
	if (e->customers_ready && customers_pending(&e->customers, &queued, &held) >= 0 && held)
		fprintf(stderr, "ddbsim: %" PRIu64 " customer writes the broker would not take are "
		                "lost with this process\n", held);
	if (fl->n_delayed)
		fprintf(stderr, "ddbsim: %zu delayed messages the broker would not take are lost with "
		                "this process (drain publishes the outbox events among them again)\n",
		        fl->n_delayed);
}

static const char *node_state_of(void *ctx, const char *name)
{
	struct engine *e = ctx;
	struct node *n = node_find(&e->w.nodes, name);
	return n ? node_state_name(n->state) : NULL;
}

/* Loads the scenario within the config's Lua limits and announces its
 * schedule; 0, or -1 with err set. */
static int load_run_scenario(struct engine *e, const struct engine_options *o, char *err,
                             size_t errlen)
{
	struct scenario_limits limits;
	scenario_limits_init(&limits);
	if (o->cfg && o->cfg->lua_memory_mb)
		limits.memory_bytes = (size_t)o->cfg->lua_memory_mb << 20;
	if (o->cfg && o->cfg->lua_instruction_limit)
		limits.instructions = o->cfg->lua_instruction_limit;
	if (o->cfg && o->cfg->lua_time_limit_ms)
		limits.time_ms = o->cfg->lua_time_limit_ms;
	e->sc = scenario_load_limited(o->scenario_path, engine_script_dir(), &e->rng, o->params,
	                              o->n_params, &limits, err, errlen);
	if (!e->sc)
		return -1;
	e->si = scenario_info(e->sc);
	e->end_us = e->si->duration_us;
	if (o->on_loaded)
		o->on_loaded(o->on_loaded_ctx, e->si);
	return 0;
}

/* The catalog, the stores and the nodes with their kept states, and the
 * failure steps; nothing written yet. 0, or -1 with err set. */
static int open_run_world(struct engine *e, const struct engine_options *o, char *err,
                          size_t errlen)
{
	if (catalog_build(&e->cat, e->si, err, errlen) != 0)
		return -1;
	if (world_open(&e->w, o->cfg, o->data_dir, e->si->regions, e->si->n_regions, err, errlen) != 0)
		return -1;
	e->world_open = 1;
	if (apply_admin_states(&e->w, o->data_dir, err, errlen) != 0)
		return -1;
	e->w.faults.rng = &e->rng;
	if (fault_steps_init(&e->steps, &e->w.nodes, &e->w.faults) != 0)
		return errorf(err, errlen, "out of memory");
	e->steps_ready = 1;
	scenario_set_node_query(e->sc, node_state_of, e);
	return 0;
}

/* Wipes the stores and installs the catalog and its stock. The setup is
 * marked, durably, before it starts and the mark cleared once it is
 * complete: a run that dies or is interrupted in between leaves the mark,
 * and drain and check refuse the half-set-up stores until a new run.
 * 0 done, 1 interrupted, or -1 with err set. */
static int reset_run_stores(struct engine *e, const struct engine_options *o, char *err,
                            size_t errlen)
{
	e->w.nodes.resetting = 1;
	if (node_table_save(&e->w.nodes, o->data_dir, err, errlen) != 0 ||
	    world_reset(&e->w, err, errlen) != 0)
		return -1;
	int installed = catalog_install_until(&e->w, e->si, 0, o->stop, err, errlen);
	if (installed != 0)
		return installed < 0 ? -1 : 1;
	e->w.nodes.resetting = 0;
	if (node_table_save(&e->w.nodes, o->data_dir, err, errlen) != 0)
		return -1;
	return 0;
}

/* The orders, the sync and the customers (if the scenario has any), and
 * the first event of each kind on the clock. 0, or -1 with err set. */
static int start_run_workload(struct engine *e, const struct engine_options *o, char *err,
                              size_t errlen)
{
	if (orders_init(&e->orders, &e->w, e->sc, &e->cat, e->m, o->batch_max) != 0 ||
	    sync_init(&e->sync, &e->w, e->m) != 0)
		return errorf(err, errlen, "out of memory");
	e->sync_ready = 1;
	/* A recorded client action comes before every event at its time, as
	 * it did live (the first events scheduled; ties go in that order). */
	for (size_t i = 0; i < e->si->n_actions; i++)
		engine_schedule(e, e->si->actions[i].at_us, EV_ACTION, (int)i);
	if (e->si->n_actions && !(e->action_step_ids = calloc(e->si->n_actions, sizeof(long))))
		return errorf(err, errlen, "out of memory");
	if (scenario_has_customers(e->sc)) {
		if (customers_init(&e->customers, &e->w, e->sc, e->m) != 0)
			return errorf(err, errlen, "out of memory");
		e->customers_ready = 1;
		e->customers_left = 1;
		schedule_customer(e);
	}

	/* The scenario kept these within SCENARIO_UNITS_MAX. */
	for (size_t i = 0; i < e->si->n_products * e->si->n_regions; i++)
		e->units_total += e->si->stock[i];
	for (size_t i = 0; i < e->si->n_restocks; i++)
		e->units_total += e->si->restocks[i].quantity;
	e->arrivals_left = e->w.n_regions;
	for (size_t r = 0; r < e->w.n_regions; r++)
		schedule_arrival(e, r);
	for (size_t i = 0; i < e->si->n_restocks; i++)
		engine_schedule(e, e->si->restocks[i].at_us, EV_RESTOCK, (int)i);
	for (size_t i = 0; i < e->si->n_failures; i++)
		engine_schedule(e, e->si->failures[i].at_us, EV_FAILURE, (int)i);
	engine_schedule(e, 0, EV_SAMPLE, 0);
	engine_schedule(e, o->sync_every_us, EV_SYNC, 0);
	return 0;
}

/* Everything before the first event: 0 ready to run, 1 interrupted (res
 * says where), or -1 with err set. */
static int setup_run(struct engine *e, const struct engine_options *o, struct run_result *res,
                     char *err, size_t errlen)
{
	if (load_run_scenario(e, o, err, errlen) != 0 || open_run_world(e, o, err, errlen) != 0)
		return -1;
	if (stopped(e)) { /* nothing written yet */
		interrupted(e, res, "start");
		return 1;
	}
	int reset = reset_run_stores(e, o, err, errlen);
	if (reset > 0)
		interrupted(e, res, "setup");
	if (reset != 0)
		return reset;
	return start_run_workload(e, o, err, errlen);
}

/* After the loop (looped: engine_loop's return, or -1 if it could not start):
 * the checks, or the reason it stopped. 0, or -1 with err set. */
int engine_finish_run(struct engine *e, struct run_result *res, int looped, double started,
                      char *err, size_t errlen)
{
	if (looped < 0) {
		if (scenario_fatal(e->sc))
			return errorf(err, errlen, "%s; the run stopped: what was committed is in the "
			              "stores (ddbsim drain finishes the sync)", scenario_fatal(e->sc));
		return errorf(err, errlen, "out of memory for the next event: the run stopped; what was "
		              "committed is in the stores (ddbsim drain finishes the sync)");
	}
	res->sync_seconds = wall_now() - started;
	res->trace_hash = e->trace;
	if (looped > 0) {
		end_emulation(e);
		interrupted(e, res, e->clock.now_us < e->si->duration_us ? "workload" : "sync");
		return 0;
	}
	return finish(e, res, e->sc, err, errlen);
}

int engine_start_run(struct engine *e, const struct engine_options *o, struct run_result *res,
                     char *err, size_t errlen)
{
	if (start(e, o, res, "run") != 0)
		return errorf(err, errlen, "out of memory");
	res->seed = o->seed;
	res->has_seed = 1;
	prng_seed(&e->rng, o->seed);
	copy_str(res->scenario, sizeof res->scenario, o->scenario_path);
	return setup_run(e, o, res, err, errlen);
}

int engine_run(const struct engine_options *o, struct run_result *res, char *err, size_t errlen)
{
	struct engine e;
	double t0 = wall_now();
	int rc = engine_start_run(&e, o, res, err, errlen);
	if (rc == 0) {
		double started = wall_now();
		res->setup_seconds = started - t0;
		int looped = e.out_of_memory || scenario_fatal(e.sc) ? -1 : engine_loop(&e);
		rc = engine_finish_run(&e, res, looped, started, err, errlen);
	} else if (rc > 0) {
		rc = 0; /* interrupted before the first event: res says where */
	}
	res->wall_seconds = wall_now() - t0;
	engine_free(&e);
	return rc;
}

/* Drain and check trust DATA_DIR/nodes to say which stores there are.  A
 * file that does not match them (copied, edited, left by another setup)
 * would make checks fail for a wrong reason, or hold for one: refuse it.  A
 * run installs a catalog in every region, so each region's store holds
 * products; and the center holds orders of those regions only. */
static int stores_match_nodes(struct engine *e, const char *data_dir, char *err, size_t errlen)
{
	struct ddb_row row;
	struct ddb_err de = { "" };
	void *cur = NULL;
	enum ddb_status st;
	for (size_t r = 0; r < e->w.n_regions; r++) {
		struct store *s = &e->w.regions[r];
		if ((st = store_scan_observed(s, DDB_DS_PRODUCTS, NULL, &cur, &de)) == DDB_OK) {
			st = s->ops->scan_next(cur, &row, &de);
			s->ops->scan_close(cur);
		}
		if (st == DDB_NOT_FOUND)
			return errorf(err, errlen, "%s/nodes names region %s, but its store holds no "
			              "catalog (a run installs one in every region): the nodes file does "
			              "not match the stores", data_dir, s->node->name);
		if (st != DDB_OK)
			return errorf(err, errlen, "region %s: cannot read its products: %s (%s)",
			              s->node->name, de.msg, ddb_status_name(st));
	}
	struct store *c = &e->w.central;
	if ((st = store_scan_observed(c, DDB_DS_CENTRAL_ORDERS, NULL, &cur, &de)) != DDB_OK)
		return errorf(err, errlen, "central: cannot read its orders: %s (%s)", de.msg,
		              ddb_status_name(st));
	while ((st = c->ops->scan_next(cur, &row, &de)) == DDB_OK &&
	       world_region(&e->w, row.order.region))
		;
	c->ops->scan_close(cur);
	if (st == DDB_OK)
		return errorf(err, errlen, "the central store holds orders of region '%s' (%s, ...), "
		              "which %s/nodes does not name: the nodes file does not match the stores",
		              row.order.region, row.order.id, data_dir);
	if (st != DDB_NOT_FOUND)
		return errorf(err, errlen, "central: cannot read its orders: %s (%s)", de.msg,
		              ddb_status_name(st));
	return 0;
}

/* Opens the stores the last run in data_dir used (read-only for check). */
static int open_existing(struct engine *e, const struct engine_options *o, unsigned open_flags,
                         char *err, size_t errlen)
{
	struct node_table t = { 0 };
	if (node_table_load(&t, o->data_dir, err, errlen) != 0) {
		node_table_free(&t);
		return -1;
	}
	if (t.resetting) {
		node_table_free(&t);
		return errorf(err, errlen, "setup of %s did not finish (interrupted run): its stores are "
		              "incomplete; run again", o->data_dir);
	}
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
	int rc = world_open_flags(&e->w, o->cfg, o->data_dir, regions, n, open_flags, err, errlen);
	free(regions);
	if (rc != 0)
		return -1;
	e->world_open = 1;
	if (stores_match_nodes(e, o->data_dir, err, errlen) != 0)
		return -1;
	if (apply_admin_states(&e->w, o->data_dir, err, errlen) != 0)
		return -1;
	if (sync_init(&e->sync, &e->w, e->m) != 0)
		return errorf(err, errlen, "out of memory");
	e->sync_ready = 1;
	/* Writes queued for nodes that were down are replayed by drain too. */
	if (customers_init(&e->customers, &e->w, NULL, e->m) != 0)
		return errorf(err, errlen, "out of memory");
	e->customers_ready = 1;
	return 0;
}

/* Gives back what the consumers of the central and documents queues took
 * and did not ack before the crash, through the fault layer, each queue
 * asked by its consumer.  A broker that cannot be reached is no error: the
 * center's applier asks again at its first tick that reaches it, and the
 * documents queue cannot be consumed in this drain either.  Any other
 * failure is. */
static int recover_queues(struct engine *e, char *err, size_t errlen)
{
	static const char *const queues[] = { QUEUE_CENTRAL, QUEUE_DOCUMENTS };
	struct node *consumers[] = { e->w.central.node, e->w.documents.node };
	for (size_t i = 0; i < sizeof queues / sizeof queues[0]; i++) {
		struct ddb_err de = { "" };
		e->w.faults.caller = consumers[i];
		enum ddb_status st = bus_recover(&e->w.bus, queues[i], &de);
		if (st == DDB_UNAVAILABLE && i == 0)
			e->sync.recover_needed = 1;
		else if (st != DDB_OK && st != DDB_UNAVAILABLE)
			return errorf(err, errlen, "transport: cannot recover queue %s: %s (%s)",
			              queues[i], de.msg, ddb_status_name(st));
	}
	e->w.faults.caller = NULL;
	return 0;
}

int engine_drain(const struct engine_options *o, struct run_result *res, char *err, size_t errlen)
{
	struct engine e;
	if (start(&e, o, res, "drain") != 0)
		return errorf(err, errlen, "out of memory");
	double t0 = wall_now();
	int rc = -1, stop = 0;
	if (open_existing(&e, o, 0, err, errlen) != 0)
		goto out;
	/* Whatever was published before a crash may be gone (a non-durable
	 * transport) or may have been applied without its mark: publish every
	 * unapplied event again; the center and the documents store ignore
	 * what they already have. */
	sync_restart_relay(&e.sync); /* each region as soon as it can be reached */
	if (recover_queues(&e, err, errlen) != 0)
		goto out;
	/* Until nothing is pending, or nothing moves: at once when a node is
	 * down on purpose, after DRAIN_PATIENCE_S when a server does not
	 * answer (it may be restarting). */
	uint64_t last = 0;
	double still_since = wall_now();
	for (;;) {
		if ((stop = stopped(&e)) != 0)
			break; /* between two ticks: everything so far is settled */
		e.clock.now_us += o->sync_every_us;
		e.w.faults.now_us = e.clock.now_us;
		uint64_t unavailable = e.w.faults.store_unavailable;
		sync_tick(&e);
		struct sync_backlog b;
		int pending = sync_pending(&e.sync, &b);
		uint64_t queued = 0, held = 0;
		if (customers_pending(&e.customers, &queued, &held) != 0)
			pending = 1;
		for (size_t r = 0; r < e.w.n_regions; r++)
			pending |= e.sync.requeue_needed[r];
		if (pending == 0)
			break;
		uint64_t moved = e.m->events_relayed + e.m->events_applied_central +
		                 e.m->events_applied_documents + e.m->customers.replayed;
		if (moved != last) {
			last = moved;
			still_since = wall_now();
			continue;
		}
		double patience = e.w.faults.store_unavailable != unavailable ? DRAIN_PATIENCE_S : 0.05;
		if (wall_now() - still_since > patience)
			break;
	}
	if (stop) {
		sync_settle(&e.sync);
		interrupted(&e, res, "drain");
		rc = 0;
	} else {
		rc = finish(&e, res, NULL, err, errlen);
	}
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
	int rc = -1;
	/* Observes only: read-only stores, nothing created, nothing settled
	 * (finish's sync_settle has nothing in flight to settle). */
	if (open_existing(&e, o, DDB_OPEN_READONLY, err, errlen) == 0)
		rc = finish(&e, res, NULL, err, errlen);
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
