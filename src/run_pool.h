/*
 * run_pool.h - runs many seeds side by side in worker processes.  Each
 * worker is forked once, keeps its stores in DATA_DIR/worker-K (reused from
 * one job to the next: a run starts by wiping its stores) and runs the jobs
 * the parent hands it over a pipe, one at a time, answering over another
 * pipe.  A job whose checks fail may keep its stores: the worker renames
 * its directory to DATA_DIR/seed-S.  Each job starts from the node states
 * kept in DATA_DIR/nodes (`ddbsim node set`), copied to the worker's
 * directory.  The parent holds the lock of DATA_DIR for all of them; the
 * workers remove their directories when they stop.
 *
 * Forked before any run in the parent, so that each worker starts its own
 * plugins and its own script watchdog (script_watchdog.c resets its thread
 * in a forked child).
 */
#ifndef DDBSIM_RUN_POOL_H
#define DDBSIM_RUN_POOL_H

#include <stddef.h>
#include <stdint.h>

struct engine_options;

/* The most workers a pool has (--jobs). */
#define RUN_POOL_WORKERS_MAX 256
/* The most jobs in flight or finished ahead of the oldest unfinished one:
 * what a caller that reports in job order must hold at most. */
#define RUN_POOL_WINDOW 512

#define RUN_POOL_PATH_MAX 4096

struct run_pool_job {
	uint64_t seed;
	char scenario[RUN_POOL_PATH_MAX]; /* the script to run */
	int keep_failed;                  /* failed checks: keep the stores as DATA_DIR/seed-S */
};

enum run_pool_outcome {
	RUN_POOL_PASSED = 1, /* every check holds */
	RUN_POOL_FAILED,     /* a check failed */
	RUN_POOL_ERROR,      /* config, script or store error, or the worker died: msg */
	RUN_POOL_INTERRUPTED /* stopped by a signal: signal, where */
};

struct run_pool_result {
	size_t index; /* the job's */
	uint64_t seed;
	int outcome;  /* enum run_pool_outcome */
	int signal;   /* interrupted: the signal */
	char where[16];
	uint64_t state_hash;
	uint64_t orders_accepted;
	char failed[1024]; /* the names of the failed checks, separated by newlines */
	char details[4096]; /* their details, in that order, separated by SWEEP_DETAIL_SEP ('\x1f') */
	char msg[2048];    /* error: what went wrong */
	char kept[RUN_POOL_PATH_MAX + 32]; /* failed and kept: the directory of its stores */
};

struct run_pool;

/* Forks `workers` workers that run with the options of base (its data_dir
 * is the parent of theirs; its seed and scenario_path are replaced by each
 * job's).  base must outlive the pool.  NULL with err set on failure. */
struct run_pool *run_pool_start(const struct engine_options *base, unsigned workers, char *err,
                                size_t errlen);

/* Fills *job for job number index (0-based). */
typedef void run_pool_job_fn(void *ctx, size_t index, struct run_pool_job *job);
/* Called in the parent for each finished job, in the order they finish;
 * nonzero: hand out no more jobs (those in flight still finish and are
 * passed on). */
typedef int run_pool_result_fn(void *ctx, const struct run_pool_result *r);

/* Runs jobs 0 .. n-1, never more than RUN_POOL_WINDOW past the oldest
 * unfinished one.  0 once every job handed out has finished, or -1 with err
 * set when no worker is left. */
int run_pool_run(struct run_pool *p, size_t n, run_pool_job_fn *job, run_pool_result_fn *result,
                 void *ctx, char *err, size_t errlen);

/* Stops the workers (they remove their directories) and frees the pool.
 * 0, or -1 with err set when a worker did not end with status 0. */
int run_pool_stop(struct run_pool *p, char *err, size_t errlen);

/* rm -r dir (not following symbolic links); 0, or -1 with err set. */
int run_pool_remove_tree(const char *dir, char *err, size_t errlen);

#endif
