/*
 * sweep.h - `ddbsim run SCENARIO --runs N [--jobs J]`: seeds S .. S+N-1 in
 * J worker processes (run_pool.h), reported in seed order whatever J is.
 * Part of the command line (with cli.c and shrink.c): it prints to stdout.
 */
#ifndef DDBSIM_SWEEP_H
#define DDBSIM_SWEEP_H

#include <stdint.h>
#include <stdio.h>

struct config;
struct engine_options;

struct sweep_options {
	unsigned long runs;
	unsigned jobs;    /* 1 .. RUN_POOL_WORKERS_MAX */
	int quiet;        /* -q: failing seeds and the summary only, no progress line */
	int config_given; /* the reproduce command names o->cfg->path with -c */
};

/* The workers a sweep runs when --jobs is not given: the online cores,
 * unless a section of the config names a plugin whose stores may live
 * outside the data directory (a server): then 1, since the workers would
 * share them. */
unsigned sweep_default_jobs(const struct config *cfg);

/* Runs the sweep and prints each seed's line, the failing ones with the
 * command that reproduces them and the directory of their kept stores, and
 * a summary.  o->data_dir must be locked by the caller.  Returns the exit
 * status: 0 every seed holds, 1 one failed, 2 an error, 128 + signal when
 * interrupted. */
int sweep_run(const struct sweep_options *so, struct engine_options *o);

/* "PREFIXddbsim run SCENARIO --seed S [-c CONFIG] [-d DATA_DIR] [--param
 * NAME=VALUE...]" and a newline. */
void sweep_print_command(FILE *out, const char *prefix, const char *scenario,
                         const struct engine_options *o, int config_given, int with_data_dir,
                         uint64_t seed);

#endif
