/*
 * shrink.h - `ddbsim run SCENARIO --seed S --shrink [--shrink-out FILE]`:
 * when the run fails a check, searches for a smaller failure schedule and
 * workload that fail the same check (delta debugging over the steps, then
 * shorter durations, lower probabilities, fewer orders and customer
 * operations) and writes the smallest found as a scenario that runs on its
 * own (shrink_script.h).  Each trial is a normal deterministic run in a
 * worker (run_pool.h); trials are tried in a fixed order and the first that
 * fails wins, so the result is the same whatever --jobs is.  Part of the
 * command line: it prints to stdout.
 */
#ifndef DDBSIM_SHRINK_H
#define DDBSIM_SHRINK_H

struct engine_options;

/* The most trial runs one shrink makes. */
#define SHRINK_TRIALS_MAX 400

struct shrink_options {
	unsigned jobs;
	int quiet;
	int config_given;     /* the command printed names o->cfg->path with -c */
	const char *out_path; /* NULL: ./NAME-seed-S.shrunk.lua */
};

/* Returns the exit status: 1 when the seed fails a check (the shrunk
 * scenario is written), 0 when it holds every check (nothing to shrink),
 * 2 on an error, 128 + signal when interrupted.  o->data_dir must be locked
 * by the caller; the trials run in directories under it. */
int shrink_run(const struct shrink_options *so, struct engine_options *o);

#endif
