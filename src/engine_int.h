/*
 * engine_int.h - the engine's state and the few internal calls that the
 * live mode (live.c) shares with the batch run (engine.c), and the
 * operations of serve's clients (engine_actions.c) that both run.
 * Private to those three files.
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
	          EV_LIVE_STEP,       /* serve: a step of the API (arg: its live_steps index) */
	          EV_ACTION };        /* a recorded client action (arg: its index in si->actions) */

/* The clients' steps (serve, and their replay) are numbered from here,
 * apart from the script's. */
#define LIVE_STEP_BASE 1000000

/* How long an order batch whose outcome is unknown waits to be retried. */
#define ENGINE_COMMIT_RETRY_US (100 * 1000)

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
	int64_t *live_step_ends; /* by live_steps index: when a step ends (0: until
	                            undone, -1: ended or without an end) */
	size_t next_action;   /* recorded actions not yet run start here */
	int64_t units_total;  /* stock in every region and restocks so far: at most
	                         SCENARIO_UNITS_MAX (products added in serve count) */
	/* serve: told of every step applied, after it took effect (NULL: none) */
	void (*step_observer)(void *ctx, const struct scenario_failure *f, const char *what);
	long live_ending_id; /* the API step being ended by its id now (engine_end_step) */
	void *step_observer_ctx;
	/* serve --record: told of every action of the scenario once it ran,
	 * with the id of the step it started or ended (NULL: none) */
	void (*action_observer)(void *ctx, const struct scenario_action *a, long step_id);
	void *action_observer_ctx;
	long *action_step_ids; /* by action index: the id its step got here (0: none);
	                          allocated when the scenario has actions */
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

/* ---- the operations of serve's clients (engine_actions.c) ---------------
 * Each acts at the engine clock's now: live.c calls them once the clock has
 * caught up, the replay of a recording at the recorded times. */

/* Adds a product (or its next version) to every region with stock[r] units
 * (stock has one entry per region), and to the catalog when a region took
 * it; the regions' outboxes carry it to the center and the components
 * store.  -1 with field and err set when it is invalid (nothing written). */
int engine_add_product(struct engine *e, const struct ddb_product *p, const int64_t *stock,
                       struct product_added *out, char *field, size_t fieldlen, char *err,
                       size_t errlen);
/* An order of a client in region r (orders_submit at now). */
int engine_submit_order(struct engine *e, size_t r, const struct ddb_order *req, void *tag,
                        size_t *to, char *why, size_t whylen);
/* Commits region r's batch now, as the clients' call. */
void engine_commit_region(struct engine *e, size_t r);
/* A customer operation of a client (customers_apply at now); nothing when
 * the scenario has no customers. */
void engine_customer(struct engine *e, const struct customer_request *req);
/* Applies a step now, as the scenario's schedule would; for_us > 0: it
 * ends by itself that much later.  An until-undone step (for_us 0) of a
 * kind that ends (partition, message fault) stays in force until
 * engine_end_step.  The step's id (>= 1), or -1 with err set. */
long engine_start_step(struct engine *e, const struct scenario_failure *f, int64_t for_us,
                       char *err, size_t errlen);
/* Ends step id now if it is in force; 0, or -1 with err set. */
int engine_end_step(struct engine *e, long id, char *err, size_t errlen);
/* Commits every batch and runs the sync until nothing moves (at most 30 s
 * of wall time), at now. */
void engine_settle(struct engine *e);
/* Runs the recorded action i of the scenario (EV_ACTION). */
void engine_run_action(struct engine *e, size_t i);
/* engine_settle, then the checks (checks_run). */
int engine_checks_now(struct engine *e, struct check_list *checks, struct cJSON **facts,
                      char *err, size_t errlen);

#endif
