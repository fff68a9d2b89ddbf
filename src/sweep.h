/*
 * sweep.h - `ddbsim run SCENARIO --runs N [--jobs J]`: seeds S .. S+N-1 in
 * J worker processes (run_pool.h), reported in seed order whatever J is.
 * Part of the command line (with cli.c and shrink.c): it prints to stdout.
 */
#ifndef DDBSIM_SWEEP_H
#define DDBSIM_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct engine_options;

/* A seed that finished, as the sweep prints it. */
struct sweep_seed {
	uint64_t seed;
	int failed;            /* a check failed (else every check holds) */
	uint64_t state_hash;
	uint64_t orders;       /* accepted */
	const char *checks;    /* failed: the names of the failed checks, one per line */
	const char *details;   /* failed: their details, in the same order, separated by
	                          SWEEP_DETAIL_SEP */
};
#define SWEEP_DETAIL_SEP '\x1f'

struct sweep_options {
	unsigned long runs;
	unsigned jobs;    /* 1 .. RUN_POOL_WORKERS_MAX */
	int quiet;        /* -q: failing seeds and the summary only, no progress line */
	int config_given; /* the reproduce command names o->cfg->path with -c */
	/* Told of each seed that finished, in seed order (NULL: nobody). */
	void (*on_seed)(void *ctx, const struct sweep_seed *seed);
	void *on_seed_ctx;
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

/* "ddbsim run SCENARIO --seed S [-c CONFIG] [-d DATA_DIR] [--param
 * NAME=VALUE...]" into out (len bytes, cut to fit), each word in single
 * quotes when the shell would read it otherwise. */
void sweep_format_command(char *out, size_t len, const char *scenario,
                          const struct engine_options *o, int config_given, int with_data_dir,
                          uint64_t seed);
/* The same, after prefix and followed by a newline, to out. */
void sweep_print_command(FILE *out, const char *prefix, const char *scenario,
                         const struct engine_options *o, int config_given, int with_data_dir,
                         uint64_t seed);

#endif
