/*
 * shrink.c - `ddbsim run SCENARIO --seed S --shrink` (see shrink.h).
 *
 * The search: the seed's run names the check to keep failing (its first
 * failed one).  The schedule is cut into steps as a script writes them,
 * one per target (a step with a duration keeps its end).  A candidate is a
 * list of steps and two workload scales; each is written as a scenario
 * (shrink_script.h) and run with the seed.  The candidates of a round are
 * tried in a fixed order, J at a time, and the first that still fails the
 * check wins: the same result whatever J is.  Rounds: the empty schedule;
 * delta debugging (ddmin) over the steps; for each step left, a shorter
 * duration, then a lower probability; then fewer orders, then fewer
 * customer operations.
 */
#include "shrink.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config_file.h"
#include "engine.h"
#include "prng.h"
#include "report.h"
#include "run_pool.h"
#include "shrink_script.h"
#include "sweep.h"
#include "util.h"

struct candidate {
	struct shrink_step *steps;
	size_t n;
	double order_scale, customer_scale;
};

struct shrinker {
	const struct shrink_options *so;
	struct engine_options *o;
	uint64_t seed;
	struct run_pool *pool;
	char target[1024];     /* the check that must keep failing */
	char dir[RUN_POOL_PATH_MAX - 64]; /* where the trial scripts go */
	unsigned trials;        /* trial runs made */
	unsigned searched;      /* of them, those a search one at a time makes: the budget, and
	                           what is reported (the same whatever --jobs is) */
	int stop_signal;       /* a trial was interrupted */
	char where[16];
	char first_error[2100]; /* the first trial that ended in an error */
	/* the batch being run */
	const struct candidate *batch;
	unsigned batch_first;  /* the trial number of batch[0] */
	int *reproduced;
	uint64_t *hashes;      /* the state hash of each trial of the batch */
	uint64_t original_hash;
	uint64_t found_hash;   /* the state hash of the candidate first_failing found */
	char original_failed[1024]; /* the original run: failed checks */
	int original_outcome;
	char original_msg[2048];
};

static void trial_path(const struct shrinker *sh, unsigned trial, char *out, size_t len)
{
	snprintf(out, len, "%s/trial-%u.lua", sh->dir, trial);
}

/* ---- running trials ------------------------------------------------------- */

static void trial_job(void *ctx, size_t index, struct run_pool_job *job)
{
	struct shrinker *sh = ctx;
	job->seed = sh->seed;
	job->keep_failed = 0;
	if (sh->batch)
		trial_path(sh, sh->batch_first + (unsigned)index, job->scenario, sizeof job->scenario);
	else
		copy_str(job->scenario, sizeof job->scenario, sh->o->scenario_path);
}

/* Whether a newline-separated list holds name. */
static int list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, "\n");
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len + (p[len] != '\0');
	}
	return 0;
}

static int trial_result(void *ctx, const struct run_pool_result *r)
{
	struct shrinker *sh = ctx;
	if (r->outcome == RUN_POOL_INTERRUPTED) {
		sh->stop_signal = r->signal;
		copy_str(sh->where, sizeof sh->where, r->where);
		return 1;
	}
	if (!sh->batch) { /* the original run */
		sh->original_outcome = r->outcome;
		sh->original_hash = r->state_hash;
		copy_str(sh->original_failed, sizeof sh->original_failed, r->failed);
		copy_str(sh->original_msg, sizeof sh->original_msg, r->msg);
		return 0;
	}
	if (r->outcome == RUN_POOL_ERROR && !sh->first_error[0])
		snprintf(sh->first_error, sizeof sh->first_error, "trial %u: %s",
		         sh->batch_first + (unsigned)r->index, r->msg);
	sh->reproduced[r->index] = r->outcome == RUN_POOL_FAILED && list_has(r->failed, sh->target);
	sh->hashes[r->index] = r->state_hash;
	return 0;
}

/* The index of the first candidate that still fails the check, -1 when
 * none does (or the trials are used up), -2 on an error or interruption. */
static long first_failing(struct shrinker *sh, const struct candidate *c, size_t n)
{
	char err[2048], path[4300];
	for (size_t start = 0; start < n; start += sh->so->jobs) {
		size_t m = n - start < sh->so->jobs ? n - start : sh->so->jobs;
		if (sh->searched + m > SHRINK_TRIALS_MAX)
			m = SHRINK_TRIALS_MAX - sh->searched;
		if (m == 0)
			return -1;
		int *reproduced = calloc(m, sizeof *reproduced);
		uint64_t *hashes = calloc(m, sizeof *hashes);
		if (!reproduced || !hashes) {
			free(reproduced);
			free(hashes);
			fprintf(stderr, "ddbsim: out of memory\n");
			return -2;
		}
		int bad = 0;
		for (size_t i = 0; i < m && !bad; i++) {
			const struct candidate *k = &c[start + i];
			char comment[256];
			snprintf(comment, sizeof comment, "seed %" PRIu64 ": a trial of the shrinker",
			         sh->seed);
			struct shrink_script s = { sh->o->scenario_path, comment, k->steps, k->n,
				                   k->order_scale, k->customer_scale };
			trial_path(sh, sh->trials + (unsigned)i, path, sizeof path);
			if (shrink_script_write(&s, path, err, sizeof err) != 0) {
				fprintf(stderr, "ddbsim: %s\n", err);
				bad = 1;
			}
		}
		sh->batch = &c[start];
		sh->batch_first = sh->trials;
		sh->reproduced = reproduced;
		sh->hashes = hashes;
		if (!bad && run_pool_run(sh->pool, m, trial_job, trial_result, sh, err, sizeof err) != 0) {
			fprintf(stderr, "ddbsim: %s\n", err);
			bad = 1;
		}
		for (size_t i = 0; i < m; i++) {
			trial_path(sh, sh->trials + (unsigned)i, path, sizeof path);
			remove(path);
		}
		sh->trials += (unsigned)m;
		sh->batch = NULL;
		long found = -1;
		for (size_t i = 0; i < m && found < 0; i++)
			if (reproduced[i])
				found = (long)(start + i);
		if (found >= 0)
			sh->found_hash = hashes[found - (long)start];
		sh->searched += found >= 0 ? (unsigned)(found - (long)start) + 1 : (unsigned)m;
		free(reproduced);
		free(hashes);
		if (bad || sh->stop_signal)
			return -2;
		if (found >= 0)
			return found;
	}
	return -1;
}

/* ---- candidates --------------------------------------------------------------- */

static int candidate_copy(struct candidate *dst, const struct candidate *src)
{
	*dst = *src;
	dst->steps = malloc((src->n ? src->n : 1) * sizeof *dst->steps);
	if (!dst->steps)
		return -1;
	if (src->n)
		memcpy(dst->steps, src->steps, src->n * sizeof *dst->steps);
	return 0;
}

static void candidates_free(struct candidate *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].steps);
	free(c);
}

/* cur becomes the winner of a round (taken over; the rest are freed). */
static void take(struct candidate *cur, struct candidate *c, size_t n, long won)
{
	free(cur->steps);
	*cur = c[won];
	c[won].steps = NULL;
	candidates_free(c, n);
}

/* Steps that start and end: each start and its end count. */
static size_t expanded(const struct candidate *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += c->steps[i].duration_us >= 0 ? 2 : 1;
	return n;
}

static void say(const struct shrinker *sh, const struct candidate *cur, const char *what)
{
	if (sh->so->quiet)
		return;
	printf("  after %u trials: %s: %zu step%s, orders x%g, customer operations x%g still "
	       "fail %s\n", sh->searched, what, cur->n, cur->n == 1 ? "" : "s", cur->order_scale,
	       cur->customer_scale, sh->target);
	fflush(stdout);
}

/* ddmin: chunk subsets first, then their complements; the first that fails
 * wins.  0, or -1 (error or interruption). */
static int reduce_steps(struct shrinker *sh, struct candidate *cur)
{
	size_t gran = 2;
	while (cur->n >= 2) {
		if (gran > cur->n)
			gran = cur->n;
		size_t nc = gran == 2 ? 2 : 2 * gran;
		struct candidate *c = calloc(nc, sizeof *c);
		if (!c)
			return -1;
		for (size_t k = 0; k < nc; k++) {
			size_t chunk = k % gran, lo = chunk * cur->n / gran, hi = (chunk + 1) * cur->n / gran;
			int complement = k >= gran;
			if (candidate_copy(&c[k], cur) != 0) {
				candidates_free(c, nc);
				return -1;
			}
			c[k].n = 0;
			for (size_t i = 0; i < cur->n; i++)
				if ((i >= lo && i < hi) != complement)
					c[k].steps[c[k].n++] = cur->steps[i];
		}
		long won = first_failing(sh, c, nc);
		if (won == -2) {
			candidates_free(c, nc);
			return -1;
		}
		if (won >= 0) {
			take(cur, c, nc, won);
			gran = won < (long)gran ? 2 : (gran > 2 ? gran - 1 : 2);
			say(sh, cur, "fewer steps");
			continue;
		}
		candidates_free(c, nc);
		if (gran >= cur->n)
			break;
		gran = 2 * gran < cur->n ? 2 * gran : cur->n;
	}
	return 0;
}

enum knob { KNOB_DURATION, KNOB_PROBABILITY, KNOB_ORDERS, KNOB_CUSTOMERS };

/* The value of the knob in c (step i for the first two). */
static double knob_get(const struct candidate *c, enum knob k, size_t i)
{
	switch (k) {
	case KNOB_DURATION: return (double)c->steps[i].duration_us;
	case KNOB_PROBABILITY: return c->steps[i].start.probability;
	case KNOB_ORDERS: return c->order_scale;
	default: return c->customer_scale;
	}
}

static void knob_set(struct candidate *c, enum knob k, size_t i, double v)
{
	switch (k) {
	case KNOB_DURATION: c->steps[i].duration_us = (int64_t)v; break;
	case KNOB_PROBABILITY: c->steps[i].start.probability = v; break;
	case KNOB_ORDERS: c->order_scale = v; break;
	default: c->customer_scale = v; break;
	}
}

/* Tries the knob at 1/16, 1/8, 1/4 and 1/2 of its value (not below least),
 * smallest first.  0, or -1 (error or interruption). */
static int lower_knob(struct shrinker *sh, struct candidate *cur, enum knob k, size_t i,
                      double least, const char *what)
{
	double v = knob_get(cur, k, i), prev = -1;
	struct candidate c[4];
	size_t nc = 0;
	for (int div = 16; div >= 2; div /= 2) {
		double x = v / div;
		if (k == KNOB_DURATION)
			x = (double)(int64_t)x;
		if (x < least)
			x = least;
		if (x >= v || x == prev)
			continue;
		if (candidate_copy(&c[nc], cur) != 0)
			break;
		knob_set(&c[nc++], k, i, x);
		prev = x;
	}
	if (nc == 0)
		return 0;
	struct candidate *heap = malloc(nc * sizeof *heap);
	if (!heap) {
		for (size_t j = 0; j < nc; j++)
			free(c[j].steps);
		return -1;
	}
	memcpy(heap, c, nc * sizeof *heap);
	long won = first_failing(sh, heap, nc);
	if (won >= 0) {
		take(cur, heap, nc, won);
		say(sh, cur, what);
		return 0;
	}
	candidates_free(heap, nc);
	return won == -2 ? -1 : 0;
}

/* Every round after the first: 0, or -1 (error or interruption). */
static int shrink_rounds(struct shrinker *sh, struct candidate *cur)
{
	if (cur->n > 0) { /* no schedule at all? */
		struct candidate *none = calloc(1, sizeof *none);
		if (!none || candidate_copy(none, cur) != 0) {
			free(none);
			return -1;
		}
		none->n = 0;
		long won = first_failing(sh, none, 1);
		if (won == 0) {
			take(cur, none, 1, 0);
			say(sh, cur, "no failure step at all");
		} else {
			candidates_free(none, 1);
			if (won == -2)
				return -1;
		}
	}
	if (reduce_steps(sh, cur) != 0)
		return -1;
	for (size_t i = 0; i < cur->n; i++) {
		int action = cur->steps[i].start.action; /* lower_knob replaces the steps */
		if (cur->steps[i].duration_us > 0 &&
		    lower_knob(sh, cur, KNOB_DURATION, i, 1000, "a shorter step") != 0)
			return -1;
		if (action >= FAILURE_DROP && action <= FAILURE_REORDER &&
		    lower_knob(sh, cur, KNOB_PROBABILITY, i, 0.001, "a lower probability") != 0)
			return -1;
	}
	if (lower_knob(sh, cur, KNOB_ORDERS, 0, 0, "fewer orders") != 0 ||
	    lower_knob(sh, cur, KNOB_CUSTOMERS, 0, 0, "fewer customer operations") != 0)
		return -1;
	return 0;
}

/* Loads the scenario as the seed's run does, for its schedule. */
static int load_steps(struct shrinker *sh, struct candidate *c, char *err, size_t errlen)
{
	struct scenario_limits limits;
	scenario_limits_init(&limits);
	const struct config *cfg = sh->o->cfg;
	if (cfg && cfg->lua_memory_mb)
		limits.memory_bytes = (size_t)cfg->lua_memory_mb << 20;
	if (cfg && cfg->lua_instruction_limit)
		limits.instructions = cfg->lua_instruction_limit;
	if (cfg && cfg->lua_time_limit_ms)
		limits.time_ms = cfg->lua_time_limit_ms;
	struct prng rng;
	prng_seed(&rng, sh->seed);
	struct scenario *sc = scenario_load_limited(sh->o->scenario_path, engine_script_dir(), &rng,
	                                            sh->o->params, sh->o->n_params, &limits, err,
	                                            errlen);
	if (!sc)
		return -1;
	int rc = shrink_script_steps(scenario_info(sc), &c->steps, &c->n);
	scenario_free(sc);
	return rc != 0 ? errorf(err, errlen, "out of memory") : 0;
}

/* ---- the command ------------------------------------------------------------- */

/* ./NAME-seed-S.shrunk.lua */
static void default_out(const struct shrinker *sh, char *out, size_t len)
{
	const char *base = strrchr(sh->o->scenario_path, '/');
	base = base ? base + 1 : sh->o->scenario_path;
	size_t n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".lua") == 0)
		n -= 4;
	snprintf(out, len, "%.*s-seed-%" PRIu64 ".shrunk.lua", (int)n, base, sh->seed);
}

/* Runs the seed as it is: 1 when it fails a check (the first becomes the
 * target), 0 after writing why there is nothing to shrink (*status: the
 * exit status), -1 interrupted. */
static int run_original(struct shrinker *sh, int *status)
{
	char err[2048];
	*status = EXIT_USAGE;
	if (run_pool_run(sh->pool, 1, trial_job, trial_result, sh, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		return 0;
	}
	if (sh->stop_signal)
		return -1;
	if (sh->original_outcome == RUN_POOL_ERROR) {
		fprintf(stderr, "ddbsim: %s\n", sh->original_msg);
		return 0;
	}
	if (sh->original_outcome == RUN_POOL_PASSED) {
		printf("seed %" PRIu64 " holds every check: nothing to shrink\n", sh->seed);
		*status = EXIT_CHECKS_HOLD;
		return 0;
	}
	size_t len = strcspn(sh->original_failed, "\n");
	snprintf(sh->target, sizeof sh->target, "%.*s", (int)len, sh->original_failed);
	return 1;
}

static int interrupted(const struct shrinker *sh)
{
	fprintf(stderr, "ddbsim: shrinking interrupted (%s) after %u trials: nothing was written\n",
	        report_signal_name(sh->stop_signal), sh->searched);
	return 128 + sh->stop_signal;
}

/* From the seed's run to the written scenario, once the pool runs. */
static int shrink_with_pool(struct shrinker *sh)
{
	char err[2048];
	int rc = 0, failing = run_original(sh, &rc);
	if (failing <= 0)
		return failing < 0 ? interrupted(sh) : rc;
	struct candidate cur = { NULL, 0, 1, 1 };
	if (load_steps(sh, &cur, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		return EXIT_USAGE;
	}
	size_t from = cur.n, from_expanded = expanded(&cur);
	if (!sh->so->quiet) {
		printf("seed %" PRIu64 " fails %s: shrinking its schedule of %zu steps\n", sh->seed,
		       sh->target, from);
		fflush(stdout);
	}
	/* The scenario rewritten with its whole schedule must run as the
	 * original does (the same final state), or nothing the search finds
	 * can be trusted. */
	long same = first_failing(sh, &cur, 1);
	if (same == 0 && sh->found_hash != sh->original_hash) {
		fprintf(stderr, "ddbsim: %s rewritten with its own failure schedule fails %s but does "
		                "not run the same (state hash %016" PRIx64 ", not %016" PRIx64 "): it "
		                "cannot be shrunk\n", sh->o->scenario_path, sh->target, sh->found_hash,
		        sh->original_hash);
		free(cur.steps);
		return EXIT_USAGE;
	}
	if (same == 0)
		rc = shrink_rounds(sh, &cur) != 0 ? -1 : 0;
	if (same == -2 || rc < 0) {
		free(cur.steps);
		return sh->stop_signal ? interrupted(sh) : EXIT_USAGE;
	}
	if (same == -1) {
		fprintf(stderr, "ddbsim: %s rewritten with its own failure schedule does not fail %s "
		                "with seed %" PRIu64 ": it cannot be shrunk%s%s\n",
		        sh->o->scenario_path, sh->target, sh->seed, sh->first_error[0] ? ": " : "",
		        sh->first_error);
		free(cur.steps);
		return EXIT_USAGE;
	}
	char out[4200], comment[1400];
	if (sh->so->out_path)
		copy_str(out, sizeof out, sh->so->out_path);
	else
		default_out(sh, out, sizeof out);
	/* Nothing that depends on --jobs (the trials made): the same file
	 * whatever it is. */
	snprintf(comment, sizeof comment, "Fails check %s with seed %" PRIu64 " (shrunk from %zu "
	         "steps to %zu).", sh->target, sh->seed, from, cur.n);
	struct shrink_script s = { sh->o->scenario_path, comment, cur.steps, cur.n, cur.order_scale,
		                   cur.customer_scale };
	if (shrink_script_write(&s, out, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		free(cur.steps);
		return EXIT_USAGE;
	}
	printf("shrunk from %zu steps to %zu (%zu to %zu with the end of each step that has a "
	       "duration), orders x%g, customer operations x%g, in %u trials: %s fails %s\n",
	       from, cur.n, from_expanded, expanded(&cur), cur.order_scale, cur.customer_scale,
	       sh->searched, out, sh->target);
	if (sh->trials != sh->searched && !sh->so->quiet)
		printf("(%u runs with --jobs %u: a round's trials run %u at a time)\n", sh->trials,
		       sh->so->jobs, sh->so->jobs);
	sweep_print_command(stdout, "run it: ", out, sh->o, sh->so->config_given, 0, sh->seed);
	free(cur.steps);
	return EXIT_CHECK_FAILED;
}

int shrink_run(const struct shrink_options *so, struct engine_options *o)
{
	char err[2048];
	struct shrinker *sh = calloc(1, sizeof *sh);
	if (!sh) {
		fprintf(stderr, "ddbsim: out of memory\n");
		return EXIT_USAGE;
	}
	sh->so = so;
	sh->o = o;
	sh->seed = o->seed;
	o->on_loaded = NULL;
	int rc;
	if (snprintf(sh->dir, sizeof sh->dir, "%s/shrink-trials", o->data_dir) >= (int)sizeof sh->dir) {
		fprintf(stderr, "ddbsim: %s: the data directory's path is too long\n", o->data_dir);
		rc = EXIT_USAGE;
	} else if (mkdir(sh->dir, 0777) != 0 && access(sh->dir, F_OK) != 0) {
		fprintf(stderr, "ddbsim: cannot create %s\n", sh->dir);
		rc = EXIT_USAGE;
	} else if (!(sh->pool = run_pool_start(o, so->jobs, err, sizeof err))) {
		fprintf(stderr, "ddbsim: %s\n", err);
		rc = EXIT_USAGE;
	} else {
		rc = shrink_with_pool(sh);
	}
	fflush(stdout);
	if (run_pool_stop(sh->pool, err, sizeof err) != 0 && rc <= EXIT_CHECK_FAILED) {
		fprintf(stderr, "ddbsim: %s\n", err);
		rc = EXIT_USAGE;
	}
	if (run_pool_remove_tree(sh->dir, err, sizeof err) != 0)
		fprintf(stderr, "ddbsim: %s\n", err);
	free(sh);
	return rc;
}
