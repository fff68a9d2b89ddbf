/*
 * engine_int.h - the engine's state and the few internal calls that the
 * live mode (live.c) shares with the batch run (engine.c).  Private to
 * those two files.
 */
#ifndef DDBSIM_ENGINE_INT_H
#define DDBSIM_ENGINE_INT_H

#include "catalog.h"
#include "clock.h"
#include "customers.h"
#include "engine.h"
#include "fault_steps.h"
#include "orders.h"
#include "prng.h"
#include "scenario.h"
#include "sync.h"
#include "world.h"

enum event_type { EV_ARRIVAL = 1, EV_COMMIT, EV_SYNC, EV_RESTOCK, EV_FAILURE, EV_SAMPLE,
	          EV_CUSTOMER,
	          EV_RATE_POLL,       /* ask a region's rate function again: no order */
	          EV_CUSTOMER_POLL,   /* ask the customer rate function again: no operation */
	          EV_LIVE_STEP };     /* serve: a step of the API (arg: its live_steps index) */

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
	int out_of_memory; /* an event could not be scheduled: the run stops */
	struct customers customers;
	int customers_ready;
	uint64_t trace;       /* hash of every event handled, in order */
	double drain_started; /* wall time the workload ended, 0 before */
	size_t arrivals_left; /* regions still receiving orders */
	int customers_left;   /* the customer workload still runs */
	size_t next_failure;  /* failure steps not yet applied start here */
	struct fault_steps steps; /* the steps in force and the base they overlay */
	int steps_ready;
	size_t next_restock;
	int64_t end_us;       /* the workload stops here: the scenario's duration, or
	                         where serve stopped it */
	/* serve (live mode): events follow the wall clock; the API adds steps */
	int live;             /* 1 while serving: the run never finishes by itself */
	const struct scenario_failure **live_steps; /* owned, stable addresses */
	size_t n_live_steps, cap_live_steps;
	size_t live_ends_pending; /* ends of API steps still on the clock */
	/* serve: told of every step applied, after it took effect (NULL: none) */
	void (*step_observer)(void *ctx, const struct scenario_failure *f, const char *what);
	void *step_observer_ctx;
};

/* Sets up a run up to its first event (scenario, stores, catalog,
 * workload): 0 ready, 1 interrupted (res says where), -1 with err set. */
int engine_start_run(struct engine *e, const struct engine_options *o, struct run_result *res,
                     char *err, size_t errlen);
/* Handles one event popped from the clock.  1 when the run is over (it
 * never is while e->live), 0 to go on. */
int engine_handle(struct engine *e, const struct clock_event *ev);
/* Runs events until the run is over: 0, 1 stopped by a signal, -1 out of
 * memory or a script past its limits. */
int engine_loop(struct engine *e);
/* Applies a failure step now: the nodes, links, message faults, the relay
 * and applier, the customers' view of the regions, the report. */
void engine_apply_step(struct engine *e, const struct scenario_failure *f);
void engine_schedule(struct engine *e, int64_t at_us, int type, int arg);
/* After the loop: the checks (or why it stopped); 0 or -1 with err set. */
int engine_finish_run(struct engine *e, struct run_result *res, int looped, double started,
                      char *err, size_t errlen);
void engine_free(struct engine *e);

#endif
