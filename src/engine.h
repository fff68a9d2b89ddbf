/*
 * engine.h - runs a scenario on the virtual clock, one event at a time, on
 * one thread; and the two maintenance modes: drain (finish pending sync in
 * existing stores) and check (only the checks).
 */
#ifndef DDBSIM_ENGINE_H
#define DDBSIM_ENGINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "checks.h"
#include "faults.h"
#include "metrics.h"
#include "node.h"
#include "ddbsim/plugin.h"

struct config;
struct scenario_info;
struct cJSON;

struct engine_options {
	const struct config *cfg;
	const char *scenario_path; /* run only */
	const struct ddb_option *params; /* --param NAME=VALUE, for the script */
	size_t n_params;
	const char *data_dir;
	uint64_t seed;
	size_t batch_max;          /* orders per group commit (default 256) */
	int64_t commit_window_us;  /* longest an order waits for its commit (default 5 ms) */
	int64_t sync_every_us;     /* relay and appliers run this often (default 10 ms) */
	int trace;                 /* print each engine event to stderr */
	/* Called once the scenario is loaded (run), e.g. to print its
	 * failure schedule. */
	void (*on_loaded)(void *ctx, const struct scenario_info *si);
	void *on_loaded_ctx;
	/* Set (to the signal's number) by a signal handler: run and drain stop
	 * at the next safe point, between two events (a commit in progress
	 * finishes), and report that they were interrupted.  NULL: never. */
	const volatile sig_atomic_t *stop;
};

struct run_result {
	const char *mode; /* "run", "drain", "check" */
	char scenario[256];
	uint64_t seed;
	int has_seed;
	uint64_t state_hash;
	double wall_seconds;  /* the whole command */
	double setup_seconds; /* opening and resetting the stores, installing the catalog */
	double sync_seconds;  /* from the workload's start until sync drained: the throughput's time */
	int64_t virtual_us; /* the engine clock at the end */
	size_t n_regions;
	uint64_t trace_hash; /* run: the event trace (--check-determinism) */
	struct metrics *metrics;
	struct fault_layer faults; /* its counters */
	struct node nodes[NODE_MAX]; /* the nodes as they ended */
	size_t n_nodes;
	struct check_list checks;
	struct cJSON *facts;
	int failed_checks;
	/* Stopped early by *opt->stop: the signal, and where it stopped:
	 * "start" (nothing written yet), "setup" (the stores are half set up:
	 * drain and check refuse them until a new run), "workload", "sync"
	 * (after the workload, waiting for sync) or "drain".  The checks were
	 * not run: checks is empty and state_hash 0. */
	int interrupted;
	const char *interrupted_in;
};

/* What became of a product serve added (live_add_product). */
struct product_added {
	int64_t version;     /* the version it got: 1, or the catalog's + 1 */
	size_t n_took;       /* regions that have it now */
	char skipped[512];   /* regions that did not take it: "west (unavailable), ..." */
	char unstocked[512]; /* regions that took it but not its stock */
};

void engine_options_init(struct engine_options *o);
/* Where bundled scenarios and shop.lua are: $DDBSIM_SCRIPTDIR, else the
 * installed directory. */
const char *engine_script_dir(void);
/* Each returns 0 when the run completed (checks may still have failed: see
 * res->failed_checks) or was interrupted (res->interrupted), or -1 for a
 * config, script or store error (message in err).  run_result_free()
 * afterwards in either case.  Drain and check open the stores of the nodes
 * in DATA_DIR/nodes, and refuse stores that do not match that file, or
 * whose setup did not finish; check opens them read-only (it changes
 * nothing, creates nothing). */
int engine_run(const struct engine_options *o, struct run_result *res, char *err, size_t errlen);
int engine_drain(const struct engine_options *o, struct run_result *res, char *err, size_t errlen);
int engine_check(const struct engine_options *o, struct run_result *res, char *err, size_t errlen);
void run_result_free(struct run_result *res);

#endif
