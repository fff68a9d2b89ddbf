/*
 * live.h - the engine on the wall clock, for `ddbsim serve`.
 *
 * The same engine, domain flows, fault layer and plugins as a run: the
 * scenario's workload and schedule play out in real time (times a speed),
 * and the API's operations (api_*.c) act on the engine between two events,
 * on the one thread that runs both.  Nothing here knows HTTP or JSON.
 */
#ifndef DDBSIM_LIVE_H
#define DDBSIM_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ddbsim/plugin.h"
#include "engine.h"
#include "scenario.h"

struct live;
struct metrics;
struct world;
struct customers;
struct catalog;
struct customer_request;

/* What became of an order given to live_order. */
enum live_order_state { LIVE_ORDER_PENDING = 0, LIVE_ORDER_ACCEPTED, LIVE_ORDER_REJECTED };

struct live_order {
	struct ddb_order order; /* as placed: id, region (after the rule), sku, price */
	int state;              /* enum live_order_state */
	char reason[16];        /* rejected: stock, rule, invalid, unavailable, duplicate, error */
	char detail[192];       /* rejected: the core's reason, e.g. rule:too_many */
	int64_t decided_at_us;  /* engine clock of the outcome */
};

/* Told each order's outcome once its batch commits (tag: live_order's). */
typedef void (*live_order_done_fn)(void *ctx, void *tag, const struct live_order *o);

/* Sets up a run as `run` does (fresh stores, catalog, workload), on an
 * engine that follows the wall clock from now, times speed.  *out is freed
 * with live_close.  0, 1 interrupted during setup (res says where), or -1
 * with err set. */
int live_open(struct live **out, const struct engine_options *o, double speed,
              struct run_result *res, char *err, size_t errlen);
void live_close(struct live *l);
/* --record FILE: from now on, every call that changes something is written
 * to path as a scenario that `ddbsim run` replays (recorder.h); the
 * recording ends with live_finish.  0, or -1 with err set. */
int live_record(struct live *l, const char *path, char *err, size_t errlen);
/* For the customer operations of the API: records req at now.  The
 * operation itself must be engine_customer (engine_int.h: customers_apply
 * at now, then the latency taken), which the replay runs; and an endpoint
 * that only reads must not call the stores through the fault layer (a slow
 * node's jitter draws from the run's PRNG and its latency delays the next
 * sync tick: the replay would not see that read). */
void live_record_customer(struct live *l, const struct customer_request *req);
void live_on_order_done(struct live *l, live_order_done_fn fn, void *ctx);

/* The engine clock (microseconds since the start) and the wall clock it
 * follows. */
int64_t live_now(const struct live *l);
double live_speed(const struct live *l);
double live_uptime_s(const struct live *l);

/* Runs every event that is due by the wall clock.  *wait_ms: how long until
 * the next one (at most max_wait_ms).  0, or -1 when the run cannot go on
 * (out of memory, a script past its limits: err says what). */
int live_advance(struct live *l, int max_wait_ms, int *wait_ms, char *err, size_t errlen);
/* Commits at once every region's batch that holds an order of the API, so
 * that its client hears the outcome now (a group commit of what arrived
 * together). */
void live_commit_orders(struct live *l);
/* How many orders that clients wait for wait for their commit. */
size_t live_orders_waiting(const struct live *l);

/* Stops the workload now, lets the schedule that is left and the sync play
 * out on the virtual clock, and runs the checks into res, as `run` does at
 * its end.  0, or -1 with err set.  Call once, then live_close. */
int live_finish(struct live *l, struct run_result *res, char *err, size_t errlen);
/* Settles the sync in flight and runs the checks now, without stopping
 * anything: GET /checks.  checks and facts as engine_run's; the caller
 * frees them (check_list_free, cJSON_Delete).  failed checks count, or -1
 * with err set. */
int live_checks(struct live *l, struct check_list *checks, struct cJSON **facts, char *err,
                size_t errlen);

/* ---- orders and products ------------------------------------------------ */

/* Places an order (sku, quantity, customer; id optional: empty gives the
 * region's next) in region.  An id seen before answers what it answered
 * then.  Returns the order's record (never NULL unless err is set): its
 * state is PENDING until the commit, when done_fn is told with tag; or
 * decided now (a refusal, a repeated id).  NULL with err: an unknown
 * region (field "region"), an id in flight already (status 409), no room. */
const struct live_order *live_order(struct live *l, const char *region, const struct ddb_order *req,
                                    void *tag, int *http_status, char *field, size_t fieldlen,
                                    char *err, size_t errlen);
/* A placed order by id, or NULL. */
const struct live_order *live_order_find(const struct live *l, const char *id);

/* Adds a product (or its next version: the catalog's + 1): its price,
 * components and the stock of each region (stock[i] for the scenario's
 * region i, one per region).  Every region that is up takes it with its
 * stock; a region that does not answer is skipped and listed in
 * out->skipped (it never gets this version: post again once it is back).
 * It reaches the center and the components store through the regions'
 * outboxes, as the sync protocol says; orders for it validate at once.
 * 0 (out->n_took 0: no region took it, and the catalog is unchanged), or
 * -1 with err and field set (an invalid product: nothing written). */
int live_add_product(struct live *l, const struct ddb_product *p, const int64_t *stock,
                     struct product_added *out, char *field, size_t fieldlen, char *err,
                     size_t errlen);

/* ---- customer records ------------------------------------------------------ */

struct customer_outcome;
struct customer_read;
struct customer_entry;

/* Creates customer c (id, unique_id, zip_prefix, city, state; name and
 * email optional) now, through the decision table; *out says where it went.
 * A repeated id with the same record answers what it answered then (*repeated
 * set); with other content: 409.  0, or -1 with *http_status, field and err
 * set (400 rejected by the rules, 404 no customers in the scenario, 409). */
int live_customer_create(struct live *l, const struct ddb_customer *c,
                         struct customer_outcome *out, int *repeated, int *http_status,
                         char *field, size_t fieldlen, char *err, size_t errlen);
/* Reads id now from its home, or a replica while the home is down: the
 * run's entry (NULL: unknown id, or no customers) and the copy's answer. */
const struct customer_entry *live_customer_get(struct live *l, const char *id,
                                               struct customer_read *out);

/* A row of a search, and which copy served it. */
struct live_customer_row {
	struct ddb_customer c;
	size_t served_by; /* region index */
	int replica;      /* 1: a replica served it (its home did not answer) */
};
struct live_customer_page {
	struct live_customer_row *rows; /* by id, at most limit */
	size_t n;
	int more;               /* rows after the last one match too */
	uint64_t unavailable;   /* bit r: region r's records could not be read */
};
/* Searches every region now for the records f selects whose id is after
 * `after` ("": from the first), by id, at most limit (1..LIVE_SEARCH_MAX).
 * A region none of whose copies answered is set in page->unavailable.  0,
 * or -1 with err set (no customers in the scenario: 404; out of memory). */
#define LIVE_SEARCH_MAX 1000
int live_customer_search(struct live *l, const struct ddb_customer_filter *f, const char *after,
                         size_t limit, struct live_customer_page *page, int *http_status,
                         char *err, size_t errlen);
void live_customer_page_free(struct live_customer_page *page);

/* ---- failure steps -------------------------------------------------------- */

/* Applies a step now, as the scenario's schedule would (f->at_us, step and
 * ends are set here).  for_us > 0: it ends by itself that much later
 * (engine clock).  An until-undone step (for_us 0) of a kind that ends
 * (partition, message fault) stays in force until live_end_step.  Returns
 * the step's id (>= 1), or -1 with err set. */
long live_start_step(struct live *l, const struct scenario_failure *f, int64_t for_us, char *err,
                     size_t errlen);
/* Ends step id now, if it is in force.  0, or -1 when no such step is in
 * force (err says). */
int live_end_step(struct live *l, long id, char *err, size_t errlen);
/* The API's steps in force, with their id and when they end (0: until
 * undone); for GET /faults and GET /partitions. */
void live_steps_each(const struct live *l,
                     void (*fn)(void *ctx, long id, const struct scenario_failure *f,
                                int64_t ends_at_us),
                     void *ctx);

/* Told of every step the engine applies, the schedule's and the API's
 * (starts and ends), after it took effect: api_id is the API's id of the
 * step (live_start_step's), 0 for the schedule's; what says what it did,
 * as the report does.  fn NULL: no one is told. */
typedef void (*live_step_fn)(void *ctx, long api_id, const struct scenario_failure *f,
                             const char *what);
void live_on_step(struct live *l, live_step_fn fn, void *ctx);

/* ---- what the API reads --------------------------------------------------- */

/* The category of a rejection (stock, rule, invalid, unavailable,
 * duplicate, error) from the core's reason, as GET /orders answers it. */
const char *live_reason_category(const char *detail);
/* The sync's backlog now (an observation: no fault layer); 0, or -1 when a
 * store or the transport did not answer (the counts it got are set). */
struct sync_backlog;
int live_sync_backlog(struct live *l, struct sync_backlog *b);

struct world *live_world(struct live *l);
struct metrics *live_metrics(struct live *l);
/* The customers of the run, or NULL when the scenario has none. */
struct customers *live_customers(struct live *l);
const struct catalog *live_catalog(const struct live *l);
/* How far the center is behind region r: the events of r's outbox not yet
 * applied (NEW or PUBLISHED), counted up to cap (*capped set when there
 * are more).  -1 when the region's store does not answer. */
int live_region_behind(struct live *l, size_t r, uint64_t cap, uint64_t *behind, int *capped);

#endif
