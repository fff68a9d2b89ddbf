/*
 * sweep.c - `ddbsim run SCENARIO --runs N [--jobs J]` (see sweep.h): hands
 * the seeds to a run_pool, holds what finishes early until every earlier
 * seed is reported, prints the lines in seed order, and shows a progress
 * line on a terminal.  Part of the command line: it prints to stdout.
 */
#include "sweep.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config_file.h"
#include "engine.h"
#include "report.h"
#include "run_pool.h"
#include "util.h"

/* Plugins known to keep their state in the data directory (or in the
 * process): workers with data directories of their own do not share it. */
static const char *const per_data_dir_plugins[] = { "sqlite", "memory" };

unsigned sweep_default_jobs(const struct config *cfg)
{
	for (size_t i = 0; cfg && i < cfg->n_sections; i++) {
		const char *name = cfg->sections[i].plugin;
		int known = !name;
		for (size_t k = 0; name && k < ARRAY_LEN(per_data_dir_plugins); k++)
			known |= strcmp(name, per_data_dir_plugins[k]) == 0;
		if (!known)
			return 1;
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores < 1 ? 1 : cores > RUN_POOL_WORKERS_MAX ? RUN_POOL_WORKERS_MAX : (unsigned)cores;
}

/* Appends " " and word to out (of len bytes, cut to fit), in single quotes
 * when the shell would read it otherwise. */
static void append_word(char *out, size_t len, const char *word)
{
	size_t n = strlen(out); /* < len */
	int plain = *word != '\0';
	for (const char *p = word; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		               "/._-=,:+@%", *p) != NULL;
	if (plain) {
		snprintf(out + n, len - n, " %s", word);
		return;
	}
	n += (size_t)snprintf(out + n, len - n, " '");
	for (const char *p = word; *p && n < len; p++)
		n += *p == '\'' ? (size_t)snprintf(out + n, len - n, "'\\''")
		                : (size_t)snprintf(out + n, len - n, "%c", *p);
	if (n < len)
		snprintf(out + n, len - n, "'");
}

void sweep_format_command(char *out, size_t len, const char *scenario,
                          const struct engine_options *o, int config_given, int with_data_dir,
                          uint64_t seed)
{
	char word[64];
	snprintf(out, len, "ddbsim run");
	append_word(out, len, scenario);
	append_word(out, len, "--seed");
	snprintf(word, sizeof word, "%" PRIu64, seed);
	append_word(out, len, word);
	if (config_given) {
		append_word(out, len, "-c");
		append_word(out, len, o->cfg->path);
	}
	if (with_data_dir) {
		append_word(out, len, "-d");
		append_word(out, len, o->data_dir);
	}
	for (size_t i = 0; i < o->n_params; i++) {
		char param[4096];
		snprintf(param, sizeof param, "%s=%s", o->params[i].key, o->params[i].value);
		append_word(out, len, "--param");
		append_word(out, len, param);
	}
}

void sweep_print_command(FILE *out, const char *prefix, const char *scenario,
                         const struct engine_options *o, int config_given, int with_data_dir,
                         uint64_t seed)
{
	char cmd[16384];
	sweep_format_command(cmd, sizeof cmd, scenario, o, config_given, with_data_dir, seed);
	fprintf(out, "%s%s\n", prefix, cmd);
}

/* What is kept of a finished seed until it is printed. */
struct seed_line {
	int outcome; /* enum run_pool_outcome; 0: not finished */
	uint64_t state_hash, orders;
	int signal;
	char where[16];
	char *failed, *details, *kept, *msg; /* FAILED, ERROR */
};

struct sweep {
	const struct sweep_options *so;
	const struct engine_options *o;
	uint64_t first;
	struct seed_line lines[RUN_POOL_WINDOW]; /* by index % RUN_POOL_WINDOW */
	size_t printed;     /* seeds printed, in order */
	size_t finished;    /* seeds finished, in any order */
	unsigned long passed, failed, failed_so_far;
	int stopped;        /* an error or an interruption: its index is `stop_at` */
	size_t stop_at;
	int progress;       /* a progress line on stderr */
	double started;
};

static void job_of(void *ctx, size_t index, struct run_pool_job *job)
{
	struct sweep *s = ctx;
	job->seed = s->first + index;
	copy_str(job->scenario, sizeof job->scenario, s->o->scenario_path);
	job->keep_failed = 1;
}

static void clear_progress(struct sweep *s)
{
	if (s->progress)
		fputs("\r\033[K", stderr);
}

static void show_progress(struct sweep *s)
{
	if (!s->progress)
		return;
	double elapsed = wall_now() - s->started;
	double left = s->finished ? elapsed / (double)s->finished *
	                                (double)(s->so->runs - s->finished) : 0;
	fprintf(stderr, "\r\033[K%zu/%lu seeds done, %lu failed, ETA %dm%02ds", s->finished,
	        s->so->runs, s->failed_so_far, (int)(left / 60), (int)left % 60);
	fflush(stderr);
}

static void print_line(struct sweep *s, size_t index, struct seed_line *l)
{
	uint64_t seed = s->first + index;
	if (s->so->on_seed && (l->outcome == RUN_POOL_FAILED || l->outcome == RUN_POOL_PASSED)) {
		struct sweep_seed told = { seed, l->outcome == RUN_POOL_FAILED, l->state_hash,
		                           l->orders, l->failed ? l->failed : "",
		                           l->details ? l->details : "" };
		s->so->on_seed(s->so->on_seed_ctx, &told);
	}
	if (l->outcome == RUN_POOL_FAILED) {
		s->failed++;
		printf("FAIL seed %" PRIu64 ":", seed);
		for (const char *name = l->failed ? l->failed : ""; *name;) {
			size_t len = strcspn(name, "\n");
			printf(" %.*s", (int)len, name);
			name += len + (name[len] != '\0');
		}
		printf("\n");
		sweep_print_command(stdout, "  reproduce: ", s->o->scenario_path, s->o,
		                    s->so->config_given, 1, seed);
		if (l->kept && l->kept[0])
			printf("  stores: %s\n", l->kept);
	} else if (l->outcome == RUN_POOL_PASSED) {
		s->passed++;
		if (!s->so->quiet)
			printf("ok   seed %" PRIu64 " (state_hash %016" PRIx64 ", %" PRIu64 " orders)\n",
			       seed, l->state_hash, l->orders);
	}
}

static void forget_line(struct seed_line *l)
{
	free(l->failed);
	free(l->details);
	free(l->kept);
	free(l->msg);
	memset(l, 0, sizeof *l);
}

/* Prints the seeds that are next in order and finished, up to the first
 * error or interruption. */
static void print_ready(struct sweep *s)
{
	int any = 0;
	while (s->printed < s->so->runs && !(s->stopped && s->printed >= s->stop_at)) {
		struct seed_line *l = &s->lines[s->printed % RUN_POOL_WINDOW];
		if (!l->outcome)
			break;
		if (!any)
			clear_progress(s);
		any = 1;
		print_line(s, s->printed, l);
		forget_line(l);
		s->printed++;
	}
	if (any)
		fflush(stdout);
}

static int on_result(void *ctx, const struct run_pool_result *r)
{
	struct sweep *s = ctx;
	struct seed_line *l = &s->lines[r->index % RUN_POOL_WINDOW];
	forget_line(l);
	l->outcome = r->outcome;
	l->state_hash = r->state_hash;
	l->orders = r->orders_accepted;
	l->signal = r->signal;
	copy_str(l->where, sizeof l->where, r->where);
	if (r->outcome == RUN_POOL_FAILED) {
		l->failed = strdup(r->failed);
		l->details = strdup(r->details);
		l->kept = strdup(r->kept);
		s->failed_so_far++;
	}
	if (r->outcome == RUN_POOL_ERROR || r->outcome == RUN_POOL_INTERRUPTED) {
		l->msg = strdup(r->msg);
		if (!s->stopped || r->index < s->stop_at)
			s->stop_at = r->index;
		s->stopped = 1;
	}
	s->finished++;
	print_ready(s);
	show_progress(s);
	return s->stopped;
}

/* The end of a sweep stopped by an error or an interruption at stop_at. */
static int report_stop(struct sweep *s)
{
	struct seed_line *l = &s->lines[s->stop_at % RUN_POOL_WINDOW];
	uint64_t seed = s->first + s->stop_at;
	if (l->outcome == RUN_POOL_ERROR) {
		fprintf(stderr, "ddbsim: seed %" PRIu64 ": %s\n", seed, l->msg ? l->msg : "");
		return EXIT_USAGE;
	}
	printf("%zu runs from seed %" PRIu64 ": %lu passed, %lu failed, then seed %" PRIu64
	       " was interrupted\n", s->printed, s->first, s->passed, s->failed, seed);
	fflush(stdout);
	fprintf(stderr, "ddbsim: run interrupted (%s) during %s: the checks were not run\n",
	        report_signal_name(l->signal), l->where[0] ? l->where : "the run");
	return 128 + l->signal;
}

int sweep_run(const struct sweep_options *so, struct engine_options *o)
{
	char err[2048];
	struct sweep *s = calloc(1, sizeof *s);
	if (!s) {
		fprintf(stderr, "ddbsim: out of memory\n");
		return EXIT_USAGE;
	}
	s->so = so;
	s->o = o;
	s->first = o->seed;
	s->progress = !so->quiet && isatty(STDERR_FILENO);
	s->started = wall_now();
	o->on_loaded = NULL;
	unsigned jobs = so->jobs < so->runs ? so->jobs : (unsigned)so->runs;
	struct run_pool *pool = run_pool_start(o, jobs, err, sizeof err);
	int rc;
	if (!pool) {
		fprintf(stderr, "ddbsim: %s\n", err);
		rc = EXIT_USAGE;
	} else if (run_pool_run(pool, so->runs, job_of, on_result, s, err, sizeof err) != 0) {
		clear_progress(s);
		fprintf(stderr, "ddbsim: %s\n", err);
		rc = EXIT_USAGE;
	} else {
		clear_progress(s);
		print_ready(s);
		if (s->stopped) {
			rc = report_stop(s);
		} else {
			printf("%lu runs from seed %" PRIu64 ": %lu passed, %lu failed\n", so->runs,
			       s->first, s->passed, s->failed);
			rc = s->failed ? EXIT_CHECK_FAILED : EXIT_CHECKS_HOLD;
		}
	}
	fflush(stdout);
	if (run_pool_stop(pool, err, sizeof err) != 0 && rc <= EXIT_CHECK_FAILED) {
		fprintf(stderr, "ddbsim: %s\n", err);
		rc = EXIT_USAGE;
	}
	for (size_t i = 0; i < RUN_POOL_WINDOW; i++)
		forget_line(&s->lines[i]);
	free(s);
	return rc;
}
