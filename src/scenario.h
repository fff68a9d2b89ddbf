/*
 * scenario.h - a Lua 5.4 scenario script: what the run looks like (regions,
 * catalog, stock, workload, failure schedule) and the hooks the engine calls
 * (order choice, order rules, extra checks).
 *
 * Scripts run in a sandbox: no os.execute, io.popen, loadlib or C modules,
 * no file access outside the script's directory, and math.random draws from
 * the run's PRNG.  A script error names the script, the line and the hook;
 * an error in a hook fails that one operation, never the run, except a
 * script that goes past its limits (memory, instructions, time: see
 * scenario_fatal), which stops the run.
 */
#ifndef DDBSIM_SCENARIO_H
#define DDBSIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include "ddbsim/plugin.h"

struct prng;
struct cJSON;
struct customer_request;

/* What a failure step does.  Each start action has its end: a step given
 * with a duration is expanded at load time into its start and its end, so
 * the list holds only instantaneous steps, sorted by time (stable). */
enum failure_action {
	FAILURE_DOWN = 1,   /* target node down */
	FAILURE_UP,         /* target node up (ends down and slow) */
	FAILURE_SLOW,       /* target node answers latency_us (+ jitter) late */
	FAILURE_PARTITION,  /* nodes in from cannot reach nodes in to (and back unless oneway) */
	FAILURE_HEAL,       /* ends that partition */
	FAILURE_DROP,       /* transport: a delivery is lost (and redelivered) with probability */
	FAILURE_DUPLICATE,  /* transport: a publish goes twice, with probability */
	FAILURE_DELAY,      /* transport: a publish arrives delay_us late, with probability */
	FAILURE_REORDER,    /* transport: received batches are shuffled, with probability */
	FAILURE_CRASH,      /* target "relay" or "applier" stops, losing what it held */
	FAILURE_RESTART     /* ... and starts again from durable state */
};

#define FAILURE_SET_MAX 8

struct scenario_failure {
	int64_t at_us;
	char target[DDB_NAME_MAX]; /* a node; "relay"/"applier" for crash; "" for message faults */
	int action;                /* enum failure_action */
	int64_t latency_us, jitter_us;          /* slow (0 and 0 on its end) */
	size_t n_from, n_to;                    /* partition, heal */
	char from[FAILURE_SET_MAX][DDB_NAME_MAX];
	char to[FAILURE_SET_MAX][DDB_NAME_MAX];
	int oneway;                             /* partition: only from -> to is cut */
	double probability;                     /* message faults (0 on their end) */
	int64_t delay_us;                       /* delay */
	int step;                               /* 1-based index in the script's list */
	int has_end; /* 1: a start whose end follows (a step with a duration) */
	int ends;    /* 1: the end of the start with this step and target */
};

const char *failure_action_name(int action);

struct scenario_restock {
	int64_t at_us;
	char region[DDB_NAME_MAX];
	char sku[DDB_SKU_MAX];
	int64_t quantity;
};

/* ---- recorded client actions (ddbsim serve --record, replayed by run) ---- */

enum scenario_action_kind {
	ACTION_ORDER = 1, /* a client's order in a region (not committed yet) */
	ACTION_COMMIT,    /* the commit of a region's batch */
	ACTION_PRODUCT,   /* a product, or its next version, with stock per region */
	ACTION_CUSTOMER,  /* a customer create, update or delete */
	ACTION_STEP,      /* a failure step of a client, ending by itself after for_us */
	ACTION_END_STEP,  /* the end of the client's step with that id */
	ACTION_CHECKS     /* settle the sync and run the checks (GET /checks) */
};

struct scenario_product_action {
	struct ddb_product product; /* version set when it is added */
	int64_t stock[];            /* one per region */
};

struct scenario_step_action {
	struct scenario_failure f; /* action, target and the action's fields */
	int64_t for_us;            /* > 0: ends by itself that much later */
};

/* One action, run at at_us before any event of the engine at that time,
 * in the order of the list. */
struct scenario_action {
	int64_t at_us;
	int kind;                 /* enum scenario_action_kind */
	size_t region;            /* order, commit: the region's index */
	long step_id;             /* end_step: the step it ends; step: the id the step had
	                             in the recorded session (0: not given) */
	size_t ends_action;       /* end_step: 1 + the index of the step action whose id
	                             is step_id (0: none; step_id is this run's id) */
	struct ddb_order order;   /* order: id (may be empty), sku, quantity, customer */
	struct scenario_product_action *product; /* owned */
	struct scenario_step_action *step;       /* owned */
	struct customer_request *customer;       /* owned */
};

/* The most actions a scenario may list. */
#define SCENARIO_ACTIONS_MAX 1000000

struct scenario_info {
	char name[DDB_NAME_MAX];
	char path[4096];  /* the script, as given */
	int64_t duration_us;          /* how long orders arrive */
	size_t n_regions;
	char (*regions)[DDB_NAME_MAX];
	size_t n_products;
	struct ddb_product *products; /* version 1; components checked by the core */
	int64_t *stock;               /* [region * n_products + product]: initial stock */
	size_t n_restocks;
	struct scenario_restock *restocks; /* sorted by time */
	size_t n_failures;
	struct scenario_failure *failures; /* sorted by time */
	size_t n_actions;
	struct scenario_action *actions;   /* in time order, as listed */
};

struct scenario;

/* Runs the script at path; it must return a scenario table.  rng must be
 * seeded already: the script's top level may draw from it.  pkg_dir is the
 * directory of the shared Lua library (searched by require after the
 * script's own directory).  On error returns NULL with "SCRIPT:LINE: message"
 * in err. */
struct scenario *scenario_load(const char *path, const char *pkg_dir, struct prng *rng,
                               char *err, size_t errlen);
/* The same, with the values of --param NAME=VALUE, which the script reads
 * with ddbsim.param(NAME [, default]) at its top level; a parameter the
 * script does not read is an error.  params must outlive the scenario. */
struct scenario *scenario_load_with(const char *path, const char *pkg_dir, struct prng *rng,
                                    const struct ddb_option *params, size_t n_params, char *err,
                                    size_t errlen);
void scenario_free(struct scenario *sc);
const struct scenario_info *scenario_info(const struct scenario *sc);

/* The engine clock, for ddbsim.now() in hooks. */
void scenario_set_time(struct scenario *sc, int64_t now_us);

/* Orders per second arriving in region r at time now (workload.rate: a
 * number, a table by region, or a function(region, t)), from 0 to
 * SCENARIO_RATE_MAX.  Returns 0 with a message in err when the hook fails
 * (the engine then pauses that region for a second).  err is set to "" on
 * success, so a failure is err[0] != 0 (a rate of 0 is valid: no orders). */
double scenario_rate(struct scenario *sc, size_t r, char *err, size_t errlen);
/* Whether workload.rate is a function (its rate may change with time); a
 * number or a table is the same for the whole run. */
int scenario_rate_varies(const struct scenario *sc);

/* Fills o->sku, o->quantity and o->customer for the next order in region r
 * (workload.order(region, t) -> {sku=, quantity=, customer=}).  Returns 0 on
 * success, -1 with a message in err when the hook fails or returns something
 * unusable (the order is then rejected as "rule_error"). */
int scenario_next_order(struct scenario *sc, size_t r, struct ddb_order *o, char *err,
                        size_t errlen);

enum rule_verdict { RULE_ACCEPT = 0, RULE_REJECT = 1, RULE_ERROR = 2 };

/* The rule contract, the same for every rules.* hook (ddbsim-lua(7), THE
 * RULE CONTRACT):
 *   nothing, true               accept (as without the rule)
 *   false or nil [, reason]     reject with reason (a string or a number of
 *                               at most SCENARIO_REASON_MAX - 1 bytes, valid
 *                               UTF-8), or "rejected" without one
 *   the hook's own answer       a table of changes (rules.order), a region
 *                               (customer_home), a list (customer_replicas)
 *   anything else               an error of the hook (RULE_ERROR) */

/* rules.order(order) under the rule contract; its answer is a table (accept
 * with the changes it makes to sku, quantity, unit_price (number, in
 * currency units), customer or region).  With no rule: RULE_ACCEPT.
 * RULE_REJECT writes the reason to reason; RULE_ERROR writes the error
 * ("SCRIPT:LINE: in hook rules.order: ...") to reason. */
enum rule_verdict scenario_order_rule(struct scenario *sc, struct ddb_order *o, char *reason,
                                      size_t reasonlen);

/* Runs each extra check of the scenario (checks = { name = function(facts)
 * ... end }) on facts (converted to a Lua table).  A check returns true, or
 * false (or nil) and a detail (a string or a number; valid UTF-8, cut to
 * SCENARIO_DETAIL_MAX - 1 bytes); returning nothing, another value or an
 * error counts as a failed check with the message as detail.  result() is
 * called once per check, in name order. */
void scenario_run_checks(struct scenario *sc, const struct cJSON *facts,
                         void (*result)(void *ctx, const char *name, int ok, const char *detail),
                         void *ctx);

/* Added by the scenario module (beyond the original contract): */

/* ---- limits on a script ---------------------------------------------------- */

/* How far a script may go: the memory of its Lua state, and the Lua
 * instructions and wall time of each call (loading the script, each hook,
 * each check).  Set in [ddbsim] as lua_memory_mb, lua_instruction_limit and
 * lua_time_limit_ms (doc/ddbsim.conf.5). */
struct scenario_limits {
	size_t memory_bytes;   /* the most the Lua state may hold */
	uint64_t instructions; /* per call */
	uint64_t time_ms;      /* per call, wall time */
};

#define SCENARIO_MEMORY_MB_DEFAULT 256
#define SCENARIO_INSTRUCTIONS_DEFAULT UINT64_C(100000000)
#define SCENARIO_TIME_MS_DEFAULT 5000

void scenario_limits_init(struct scenario_limits *l);

/* scenario_load_with() within limits (NULL: the defaults).  Going past a
 * limit while loading is an error "SCRIPT:LINE: in the script's top level:
 * ...". */
struct scenario *scenario_load_limited(const char *path, const char *pkg_dir, struct prng *rng,
                                       const struct ddb_option *params, size_t n_params,
                                       const struct scenario_limits *limits, char *err,
                                       size_t errlen);

/* NULL while the script has kept within its limits.  Once a call goes past
 * one (memory, instructions, time), "SCRIPT:LINE: in WHAT: ... limit
 * exceeded (...)": the script's state can no longer be trusted, every
 * later call into the script fails with this message (a hook's RULE_ERROR,
 * a failed check), and the caller must stop the run with this error.  A
 * pcall in the script cannot catch it. */
const char *scenario_fatal(const struct scenario *sc);

/* ---- limits on what a script gives ------------------------------------------ */

/* Regions: with central, documents and broker, at most NODE_MAX (64) nodes. */
#define SCENARIO_REGIONS_MAX 61
/* Failure steps once each duration is expanded into a start and an end
 * (each is recorded in the report: METRICS_STEPS). */
#define SCENARIO_STEPS_MAX 256
/* workload.customers.replication and the list of rules.customer_replicas
 * (CUSTOMER_REPLICAS_MAX). */
#define SCENARIO_REPLICAS_MAX 8
/* A check's name, with the NUL: "lua:" and the name fill a check result's
 * 96 bytes. */
#define SCENARIO_CHECK_NAME_MAX 92
/* A check's detail, with the NUL (CHECK_DETAIL_MAX): a longer one is cut on
 * a character boundary. */
#define SCENARIO_DETAIL_MAX 1024
/* Orders per second in a region (and customer operations per second): one
 * a microsecond, the engine clock's resolution. */
#define SCENARIO_RATE_MAX 1e6

/* The largest price a script may give (catalog or rules.order): 10^6
 * currency units. */
#define SCENARIO_PRICE_MAX_CENTS INT64_C(100000000)
/* The most units a run can sell: the stock of every product in every region
 * plus every restock, at most 10^10 in all (each of them, and a component
 * quantity, at most that too).  A region sells only what it has, so every
 * sum of sales (units, and units x unit price in cents, at most 10^18) fits
 * in an int64 with a margin of 9 in every store and in the checks. */
#define SCENARIO_UNITS_MAX INT64_C(10000000000)
_Static_assert(SCENARIO_UNITS_MAX <= INT64_MAX / SCENARIO_PRICE_MAX_CENTS / 9,
               "the largest revenue of a run must fit in an int64 with a margin");
/* A rejection reason from rules.order is at most SCENARIO_REASON_MAX - 1
 * bytes (and must fit reasonlen); longer is a RULE_ERROR. */
#define SCENARIO_REASON_MAX 128

/* Currency units (a Lua number) to integer cents, rounding half away from
 * zero on the decimal the script wrote (15 significant digits: 0.285 -> 29,
 * 1.005 -> 101).  Returns -1 for NaN, infinities, negative numbers and
 * prices above SCENARIO_PRICE_MAX_CENTS. */
int scenario_price_cents(double units, int64_t *cents);

/* ---- customer records ----------------------------------------------------- */

enum customer_op { CUSTOMER_CREATE = 1, CUSTOMER_UPDATE, CUSTOMER_DELETE, CUSTOMER_GET,
	           CUSTOMER_FIND };

/* Fields an update changes (the rest keep their latest values). */
enum customer_field { CF_UNIQUE_ID = 1, CF_ZIP = 2, CF_CITY = 4, CF_STATE = 8, CF_NAME = 16,
	              CF_EMAIL = 32 };

/* One operation of the customer workload. */
struct customer_request {
	int op;                  /* enum customer_op */
	struct ddb_customer c;   /* create: every field; update: id and the changed ones;
	                            delete, get: id */
	unsigned changed;        /* update: enum customer_field bits */
	struct ddb_customer_filter filter; /* find: city/state point into the two below */
	char city[DDB_TITLE_MAX];
	char state[DDB_NAME_MAX];
};

/* Whether the scenario has a customer workload (workload.customers). */
int scenario_has_customers(const struct scenario *sc);
/* Customer operations per second at the current time, from 0 to
 * SCENARIO_RATE_MAX; 0 with err set when the hook fails. */
double scenario_customer_rate(struct scenario *sc, char *err, size_t errlen);
/* Whether workload.customers.rate is a function. */
int scenario_customer_rate_varies(const struct scenario *sc);
/* The next customer operation (workload.customers.operation(t)); -1 with err
 * on a hook error or an unusable value. */
int scenario_next_customer(struct scenario *sc, struct customer_request *req, char *err,
                           size_t errlen);
/* rules.customer_home(customer) under the rule contract; its answer is a
 * region name.  Writes the home region's index to *home (accepting without
 * an answer, or without the rule: the first region).  RULE_REJECT: reason
 * in msg; RULE_ERROR: the error in msg. */
enum rule_verdict scenario_customer_home(struct scenario *sc, const struct ddb_customer *c,
                                         size_t *home, char *msg, size_t msglen);
/* rules.customer_replicas(customer, home) under the rule contract; its
 * answer is a list { region, ... }: the indexes of the replica regions
 * (never the home, no repeats), at most max.  Accepting without an answer,
 * or without the rule: the next `replication` regions after the home, in a
 * ring (workload.customers.replication, default 1).  RULE_REJECT: reason
 * in msg; RULE_ERROR: the error in msg. */
enum rule_verdict scenario_customer_replicas(struct scenario *sc, const struct ddb_customer *c,
                                             size_t home, size_t *out, size_t max, size_t *n,
                                             char *msg, size_t msglen);

/* What ddbsim.node_state(name) answers in hooks: "up", "down", "slow"... */
void scenario_set_node_query(struct scenario *sc,
                             const char *(*state_of)(void *ctx, const char *node), void *ctx);

#endif
