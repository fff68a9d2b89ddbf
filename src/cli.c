/*
 * cli.c - parses the command line, finds the config, scenario, data
 * directory and seed, runs the engine and prints the report.  With sweep.c
 * (--runs) and shrink.c (--shrink), the only files of the core that write
 * to stdout.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "datadir_lock.h"
#include "engine.h"
#include "loader.h"
#include "node.h"
#include "scenario.h"
#include "report.h"
#include "report_html.h"
#include "serve.h"
#include "run_pool.h"
#include "shrink.h"
#include "sweep.h"
#include "world.h"
#include "util.h"

#define DEFAULT_DATA_DIR "ddbsim-data"
#define DEFAULT_SCENARIO "ecommerce.lua"

static const char usage_text[] =
    "Usage: ddbsim COMMAND [OPTIONS]\n"
    "Emulates a multi-region e-commerce system and lets you break it on purpose.\n"
    "\n"
    "Commands:\n"
    "  run [SCENARIO.lua]   run a scenario (default: the config's, else the bundled\n"
    "                       ecommerce.lua) on fresh stores, then check every invariant;\n"
    "                       a bare name not in the working directory is looked for\n"
    "                       among the bundled scenarios\n"
    "  drain                finish the sync left pending in existing stores (after a\n"
    "                       crash, say), then run the checks\n"
    "  check                run the checks against the existing stores\n"
    "  serve [SCENARIO.lua] run a scenario (default: the bundled live.lua) on the\n"
    "                       wall clock behind an HTTP API, until SIGINT, SIGTERM or\n"
    "                       POST /api/v1/shutdown; then check every invariant\n"
    "  plugins              list the plugins found: version, ABI, kind, roles, settings\n"
    "  node list            the nodes of the data directory and their states\n"
    "  node set NAME STATE  set a node's state, kept across runs: up, down, slow\n"
    "                       (with --latency S [--jitter S]), partitioned NODE[,NODE]\n"
    "                       (cut off from those nodes, both ways), connected\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE    config file (default: $DDBSIM_CONFIG, else\n"
    "                       " DDBSIM_DEFAULT_CONFIG ")\n"
    "  -d, --data-dir DIR   where the embedded stores live (default: the config's\n"
    "                       data_dir, else ./" DEFAULT_DATA_DIR ")\n"
    "  -s, --seed N         seed of the run's random choices (run; default: the\n"
    "                       config's seed, else 1)\n"
    "  -r, --report FILE    also write the report as JSON to FILE\n"
    "      --html FILE      run: also write a self-contained HTML report with charts\n"
    "                       (with --runs: the table of the seeds) to FILE\n"
    "  -b, --batch N        orders per group commit, 1-256 (run; default 256)\n"
    "  -p, --param NAME=VALUE\n"
    "                       a parameter the scenario reads with ddbsim.param (run)\n"
    "  -n, --runs N         run N seeds from --seed on, and print each failing seed\n"
    "                       with the command that reproduces it (run)\n"
    "  -j, --jobs J         run --runs or --shrink in J worker processes (default:\n"
    "                       the number of cores; 1 with server-backed stores)\n"
    "      --shrink         when the run fails a check: search for the smallest\n"
    "                       failure schedule and workload that still fail it, and\n"
    "                       write it as a scenario (run)\n"
    "      --shrink-out FILE\n"
    "                       where --shrink writes it (default:\n"
    "                       ./NAME-seed-S.shrunk.lua)\n"
    "  -D, --check-determinism\n"
    "                       run twice and compare the event traces and final states\n"
    "  -L, --latency S      node set NAME slow: added latency, seconds (0-3600)\n"
    "  -J, --jitter S       node set NAME slow: up to this much more, seconds\n"
    "  -t, --trace          print failure steps as they happen (run)\n"
    "      --listen ADDR:PORT\n"
    "                       serve: where the API listens (default " SERVE_DEFAULT_LISTEN ";\n"
    "                       port 0 picks a free one); not loopback: --token-file too\n"
    "      --speed X        serve: engine seconds per wall second (default 1)\n"
    "      --token-file FILE\n"
    "                       serve: every API request (not GET /metrics, nor the\n"
    "                       page's files) must carry 'Authorization: Bearer TOKEN',\n"
    "                       TOKEN the file's first line\n"
    "      --record FILE    serve: write the session's calls as a Lua scenario that\n"
    "                       'ddbsim run FILE' replays\n"
    "  -q, --quiet          print only the checks that failed and the verdict\n"
    "  -h, --help           this help\n"
    "  -V, --version        version and plugin ABI\n"
    "\n"
    "Exit status: 0 every check holds, 1 a check failed, 2 usage, config, script\n"
    "or store error, or the data directory is in use by another process; 130 or\n"
    "143: run or drain interrupted by SIGINT or SIGTERM (no check was run).\n"
    "\n"
    "Examples:\n"
    "  ddbsim run                             the default scenario, embedded stores\n"
    "  ddbsim run flash_sale.lua --seed 7 --report out.json\n"
    "  ddbsim run -c my.conf customers.lua    other stores, as my.conf says\n"
    "  ddbsim drain -d ddbsim-data            after a kill -9 of a run\n"
    "  ddbsim run chaos.lua --runs 200 --seed 1\n"
    "  ddbsim run chaos.lua --seed 17 --shrink --shrink-out small.lua\n"    "  ddbsim serve                           live, on http://127.0.0.1:8080/ (page and API)\n"
    "  ddbsim node set boston down            boston starts down in later runs\n"
    "See ddbsim(1), ddbsim.conf(5) and ddbsim-lua(7).\n";

struct cli {
	const char *command;
	const char *config_path;
	const char *data_dir;
	const char *report_path;
	const char *html_path; /* --html FILE */
	const char *scenario;
	int has_seed;
	uint64_t seed;
	long batch;
	struct ddb_option params[32];
	size_t n_params;
	const char *args[8]; /* positional arguments after the command */
	size_t n_args;
	unsigned long runs;
	unsigned jobs; /* 0: not given */
	int shrink;
	const char *shrink_out;
	int check_determinism;
	int64_t latency_us, jitter_us; /* -1: not given */
	int trace;
	int quiet;
	const char *listen, *token_file, *record; /* serve */
	double speed;                             /* serve; 0: not given */
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ddbsim: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'ddbsim --help'.\n");
	va_end(ap);
	return EXIT_USAGE;
}

/* A whole number written with decimal digits only: no blank, no sign, no
 * other character.  0 when it is one and at most max; -1 otherwise. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	if (!*s)
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* The most seconds --latency and --jitter take. */
#define SECONDS_MAX 3600

/* Seconds as a plain decimal, digits with at most one '.' (no blank, sign,
 * exponent, hex, inf or nan), from 0 to SECONDS_MAX; to microseconds,
 * rounded.  -1 when it is not one. */
static int64_t parse_seconds(const char *s)
{
	size_t digits = 0, dots = 0;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.' && dots == 0)
			dots++;
		else
			return -1;
	}
	if (digits == 0)
		return -1;
	double x = strtod(s, NULL);
	if (!(x >= 0) || x > SECONDS_MAX)
		return -1;
	return (int64_t)(x * 1e6 + 0.5);
}

/* --param NAME=VALUE (arg is split in place at the '='); 0, or EXIT_USAGE after saying why not. */
static int add_param(struct cli *c, char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return usage_error("--param needs NAME=VALUE, not '%s'", arg);
	if (c->n_params == ARRAY_LEN(c->params))
		return usage_error("at most %zu --param options", ARRAY_LEN(c->params));
	*eq = '\0';
	for (size_t i = 0; i < c->n_params; i++)
		if (strcmp(c->params[i].key, arg) == 0)
			return usage_error("--param %s is given twice", arg);
	c->params[c->n_params].key = arg;
	c->params[c->n_params++].value = eq + 1;
	return 0;
}

/* The words after the options: the command, then run's scenario or node's arguments;
 * 0, or EXIT_USAGE after saying why not. */
static int take_operands(struct cli *c, int n, char **words)
{
	for (int i = 0; i < n; i++) {
		if (!c->command)
			c->command = words[i];
		else if (!c->scenario && (strcmp(c->command, "run") == 0 ||
		                          strcmp(c->command, "serve") == 0))
			c->scenario = words[i];
		else if (strcmp(c->command, "node") == 0 && c->n_args < ARRAY_LEN(c->args))
			c->args[c->n_args++] = words[i];
		else
			return usage_error("unexpected argument '%s'", words[i]);
	}
	return 0;
}

/* Options without a short form. */
enum { OPT_LISTEN = 1000, OPT_SPEED, OPT_TOKEN_FILE, OPT_RECORD, OPT_HTML, OPT_SHRINK,
       OPT_SHRINK_OUT };

/* A whole number from min to max for option name; 0, or the usage error's
 * exit status. */
static int whole_number(const char *name, const char *arg, uint64_t min, uint64_t max,
                        uint64_t *out)
{
	if (parse_uint(arg, max, out) == 0 && *out >= min)
		return 0;
	if (max == UINT64_MAX)
		return usage_error("%s needs a whole number from %" PRIu64 " to 2^64-1 (digits only), "
		                   "not '%s'", name, min, arg);
	return usage_error("%s needs a whole number from %" PRIu64 " to %" PRIu64 " (digits "
	                   "only), not '%s'", name, min, max, arg);
}

/* The options that take a number: --seed, --batch, --runs, --jobs,
 * --latency, --jitter, --speed.  0, or the usage error's exit status. */
static int take_number(struct cli *c, int ch, const char *arg)
{
	uint64_t v;
	switch (ch) {
	case 's':
		c->has_seed = 1;
		return whole_number("--seed", arg, 0, UINT64_MAX, &c->seed);
	case 'b':
		if (whole_number("--batch", arg, 1, 256, &v) != 0)
			return EXIT_USAGE;
		c->batch = (long)v;
		return 0;
	case 'n':
		if (whole_number("--runs", arg, 1, 1000000, &v) != 0)
			return EXIT_USAGE;
		c->runs = (unsigned long)v;
		return 0;
	case 'j':
		if (whole_number("--jobs", arg, 1, RUN_POOL_WORKERS_MAX, &v) != 0)
			return EXIT_USAGE;
		c->jobs = (unsigned)v;
		return 0;
	case 'L':
	case 'J': {
		int64_t us = parse_seconds(arg);
		if (us < 0)
			return usage_error("%s needs seconds from 0 to %d (a decimal such as 0.25), "
			                   "not '%s'", ch == 'L' ? "--latency" : "--jitter", SECONDS_MAX,
			                   arg);
		*(ch == 'L' ? &c->latency_us : &c->jitter_us) = us;
		return 0;
	}
	default: { /* OPT_SPEED */
		char *end;
		errno = 0;
		double d = strtod(arg, &end);
		if (errno || end == arg || *end || !(d >= 0.01 && d <= SERVE_SPEED_MAX))
			return usage_error("--speed needs a number from 0.01 to %g, not '%s'",
			                   SERVE_SPEED_MAX, arg);
		c->speed = d;
		return 0;
	}
	}
}

static int parse_args(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "report", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "param", required_argument, NULL, 'p' },
		{ "runs", required_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "shrink", no_argument, NULL, OPT_SHRINK },
		{ "shrink-out", required_argument, NULL, OPT_SHRINK_OUT },
		{ "check-determinism", no_argument, NULL, 'D' },
		{ "latency", required_argument, NULL, 'L' },
		{ "jitter", required_argument, NULL, 'J' },
		{ "trace", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "html", required_argument, NULL, OPT_HTML },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":c:d:s:r:b:p:n:j:DL:J:tqhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'd': c->data_dir = optarg; break;
		case 'r': c->report_path = optarg; break;
		case 't': c->trace = 1; break;
		case 'q': c->quiet = 1; break;
		case 's':
		case 'b':
		case 'n':
		case 'j':
		case 'L':
		case 'J':
		case OPT_SPEED:
			if (take_number(c, ch, optarg) != 0)
				return EXIT_USAGE;
			break;
		case 'p':
			if (add_param(c, optarg) != 0)
				return EXIT_USAGE;
			break;
		case OPT_SHRINK: c->shrink = 1; break;
		case OPT_SHRINK_OUT: c->shrink_out = optarg; break;
		case 'D': c->check_determinism = 1; break;
		case OPT_LISTEN: c->listen = optarg; break;
		case OPT_TOKEN_FILE: c->token_file = optarg; break;
		case OPT_RECORD: c->record = optarg; break;
		case OPT_HTML: c->html_path = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_CHECKS_HOLD);
		case 'V':
			printf("ddbsim %s (plugin ABI %d)\n", PACKAGE_VERSION, DDB_PLUGIN_ABI);
			exit(EXIT_CHECKS_HOLD);
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	return take_operands(c, argc - optind, argv + optind);
}

/* The path of the config when there is no file. */
#define BUILT_IN_CONFIG "(built-in defaults)"
#define REPRODUCE_MAX 16384 /* a reproduce command, longer ones truncated */

static struct config *load_config(const struct cli *c, char *err, size_t errlen)
{
	const char *path = c->config_path;
	if (!path) {
		const char *env = getenv("DDBSIM_CONFIG");
		path = env && *env ? env : NULL;
	}
	if (!path) {
		if (access(DDBSIM_DEFAULT_CONFIG, F_OK) != 0) {
			/* Not installed: built-in defaults (SQLite, memory). */
			struct config *cfg = calloc(1, sizeof *cfg);
			if (cfg && !(cfg->path = strdup(BUILT_IN_CONFIG))) {
				free(cfg);
				cfg = NULL;
			}
			if (!cfg)
				errorf(err, errlen, "out of memory");
			return cfg;
		}
		path = DDBSIM_DEFAULT_CONFIG;
	}
	return config_load(path, err, errlen);
}

static void print_found(void *ctx, const struct plugin *p)
{
	(void)ctx;
	char caps[128];
	plugin_caps_string(p->desc, caps, sizeof caps);
	printf("%-10s %-9s %-4d %-10s %-28s %s\n", p->desc->name, p->desc->version, p->desc->abi,
	       plugin_kind_name(p->desc->kind), caps, p->path);
	const char *const *keys = p->desc->settings;
	printf("  settings:");
	for (size_t i = 0; keys && keys[i]; i++)
		printf("%s %s", i ? "," : "", keys[i]);
	printf("%s\n", keys && keys[0] ? "" : " none");
}

static void print_failed(void *ctx, const char *path, const char *msg)
{
	(void)path;
	int *failures = ctx;
	(*failures)++;
	fprintf(stderr, "ddbsim: skipped %s\n", msg);
}

static int cmd_plugins(const struct config *cfg)
{
	const char *path = world_plugin_path(cfg);
	int failures = 0;
	printf("plugin path: %s\n", path);
	printf("%-10s %-9s %-4s %-10s %-28s %s\n", "NAME", "VERSION", "ABI", "KIND", "ROLES", "FILE");
	plugin_scan(path, print_found, print_failed, &failures);
	return EXIT_CHECKS_HOLD;
}

/* Set by SIGINT and SIGTERM (to the signal's number) during run and drain:
 * the engine stops at the next safe point.  The handler does nothing else. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* SIGINT and SIGTERM stop a run or drain cleanly instead of killing it.  A
 * signal the process was started with ignored (a background job of a
 * script, nohup) stays ignored. */
static void catch_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	for (size_t i = 0; i < ARRAY_LEN(sigs); i++) {
		struct sigaction old, sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_stop_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

/* The command that finishes what an interrupted run left, for the message. */
static void print_drain_hint(const struct engine_options *o)
{
	fprintf(stderr, "ddbsim: 'ddbsim drain -d %s", o->data_dir);
	if (strcmp(o->cfg->path, BUILT_IN_CONFIG) != 0)
		fprintf(stderr, " -c %s", o->cfg->path);
	fprintf(stderr, "' finishes the sync and runs the checks\n");
}

/* What an interrupted run or drain says on stderr; its exit status. */
static int report_interrupted(const struct run_result *res, const struct engine_options *o)
{
	const char *sig = report_signal_name(res->interrupted);
	const char *in = res->interrupted_in ? res->interrupted_in : "";
	if (strcmp(in, "start") == 0) {
		fprintf(stderr, "ddbsim: interrupted (%s) before the stores were touched\n", sig);
	} else if (strcmp(in, "setup") == 0) {
		fprintf(stderr, "ddbsim: interrupted (%s) while setting up the stores of %s: they stay "
		                "incomplete until a new run (drain and check refuse them)\n", sig,
		        o->data_dir);
	} else if (strcmp(in, "drain") == 0) {
		fprintf(stderr, "ddbsim: drain interrupted (%s): the checks were not run; drain again "
		                "to finish\n", sig);
	} else {
		fprintf(stderr, "ddbsim: run interrupted (%s) at t=%.3f s: the checks were not run\n",
		        sig, (double)res->virtual_us / 1e6);
		print_drain_hint(o);
	}
	return 128 + res->interrupted;
}

static int finish_report(const struct cli *c, struct run_result *res, struct report_file *rf,
                         const struct engine_options *o)
{
	char err[1024];
	if (c->quiet && res->interrupted) {
		printf("INTERRUPTED (%s) during %s: the checks were not run\n",
		       report_signal_name(res->interrupted),
		       res->interrupted_in ? res->interrupted_in : "the run");
	} else if (c->quiet) {
		for (size_t i = 0; i < res->checks.n; i++)
			if (!res->checks.v[i].ok)
				printf("FAIL %s: %s\n", res->checks.v[i].name, res->checks.v[i].detail);
		printf("%s (state_hash %016" PRIx64 ")\n",
		       res->failed_checks ? "SOME CHECKS FAILED" : "all checks hold", res->state_hash);
	} else {
		report_text(res, stdout);
	}
	fflush(stdout);
	int rc = res->interrupted ? report_interrupted(res, o)
	         : res->failed_checks ? EXIT_CHECK_FAILED : EXIT_CHECKS_HOLD;
	if (rf->f && report_file_commit(rf, res, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: cannot write the report: %s\n", err);
		rc = EXIT_USAGE;
	}
	return rc;
}

/* The failure schedule on one line, as the run will apply it (derived
 * from the seed for a random schedule): with the seed it reproduces the run. */
static void print_schedule(void *ctx, const struct scenario_info *si)
{
	(void)ctx;
	if (si->n_failures == 0)
		return;
	printf("failure schedule (%zu steps):", si->n_failures);
	for (size_t i = 0; i < si->n_failures; i++) {
		const struct scenario_failure *f = &si->failures[i];
		printf("%s t=%.3f %s", i ? ";" : "", (double)f->at_us / 1e6, failure_action_name(f->action));
		if (f->target[0])
			printf(" %s", f->target);
		if (f->action == FAILURE_SLOW)
			printf(" latency=%.3f jitter=%.3f", (double)f->latency_us / 1e6,
			       (double)f->jitter_us / 1e6);
		if (f->action == FAILURE_PARTITION || f->action == FAILURE_HEAL) {
			printf(" %s", f->oneway ? "one-way " : "");
			for (size_t k = 0; k < f->n_from; k++)
				printf("%s%s", k ? "," : "", f->from[k]);
			printf("->");
			for (size_t k = 0; k < f->n_to; k++)
				printf("%s%s", k ? "," : "", f->to[k]);
		}
		if (f->action >= FAILURE_DROP && f->action <= FAILURE_REORDER)
			printf(" p=%.3f", f->probability);
		if (f->action == FAILURE_DELAY && f->probability > 0)
			printf(" delay=%.3f", (double)f->delay_us / 1e6);
	}
	printf("\n");
	fflush(stdout);
}

/* The command that reproduces the run of seed (sweep.c quotes it). */
static void format_reproduce(const struct engine_options *o, uint64_t seed, char *out, size_t len)
{
	sweep_format_command(out, len, o->scenario_path, o, strcmp(o->cfg->path, BUILT_IN_CONFIG) != 0,
	                     1, seed);
}

static void print_reproduce(const struct engine_options *o, uint64_t seed)
{
	char cmd[REPRODUCE_MAX];
	format_reproduce(o, seed, cmd, sizeof cmd);
	printf("  reproduce: %s\n", cmd);
}

/* --runs --html: each seed's row, in seed order, as the sweep prints it. */
struct html_rows {
	struct report_html_runs rows;
	const struct engine_options *o;
	int failed; /* out of memory */
};

static void html_row(void *ctx, const struct sweep_seed *seed)
{
	struct html_rows *h = ctx;
	char cmd[REPRODUCE_MAX];
	format_reproduce(h->o, seed->seed, cmd, sizeof cmd);
	if (!h->failed && report_html_runs_add(&h->rows, seed->seed, seed->failed, seed->state_hash,
	                                       seed->orders, seed->checks, seed->details,
	                                       cmd) != 0) {
		fprintf(stderr, "ddbsim: --html: out of memory\n");
		h->failed = 1;
	}
}

/* --runs N [--jobs J]: seeds S .. S+N-1 (sweep.c); with --html, the table
 * of the seeds. */
static int cmd_runs(const struct cli *c, struct engine_options *o, struct report_html *html)
{
	struct html_rows h = { .o = o };
	report_html_runs_init(&h.rows, o->scenario_path);
	struct sweep_options so = {
		.runs = c->runs,
		.jobs = c->jobs ? c->jobs : sweep_default_jobs(o->cfg),
		.quiet = c->quiet,
		.config_given = strcmp(o->cfg->path, BUILT_IN_CONFIG) != 0,
		.on_seed = html->file.f ? html_row : NULL,
		.on_seed_ctx = &h,
	};
	int rc = sweep_run(&so, o);
	if (html->file.f && (rc == EXIT_CHECKS_HOLD || rc == EXIT_CHECK_FAILED)) {
		char err[2048];
		if (h.failed || report_html_commit_runs(html, &h.rows, err, sizeof err) != 0) {
			if (!h.failed)
				fprintf(stderr, "ddbsim: cannot write the HTML report: %s\n", err);
			rc = EXIT_USAGE;
		}
	}
	report_html_runs_free(&h.rows);
	return rc;
}

/* --seed S --shrink [--shrink-out FILE] [--jobs J] (shrink.c). */
static int cmd_shrink(const struct cli *c, struct engine_options *o)
{
	struct shrink_options so = {
		.jobs = c->jobs ? c->jobs : sweep_default_jobs(o->cfg),
		.quiet = c->quiet,
		.config_given = strcmp(o->cfg->path, BUILT_IN_CONFIG) != 0,
		.out_path = c->shrink_out,
	};
	return shrink_run(&so, o);
}

/* --check-determinism: the same run twice must give the same event trace
 * and the same final state. */
static int cmd_determinism(const struct cli *c, struct engine_options *o)
{
	struct run_result a, b;
	char err[2048];
	if (engine_run(o, &a, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		run_result_free(&a);
		return EXIT_USAGE;
	}
	if (a.interrupted) {
		int rc = report_interrupted(&a, o);
		run_result_free(&a);
		return rc;
	}
	o->on_loaded = NULL;
	if (engine_run(o, &b, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		run_result_free(&a);
		run_result_free(&b);
		return EXIT_USAGE;
	}
	if (b.interrupted) {
		int rc = report_interrupted(&b, o);
		run_result_free(&a);
		run_result_free(&b);
		return rc;
	}
	int same = a.trace_hash == b.trace_hash && a.state_hash == b.state_hash;
	printf("first run:  trace %016" PRIx64 "  state %016" PRIx64 "\n", a.trace_hash, a.state_hash);
	printf("second run: trace %016" PRIx64 "  state %016" PRIx64 "\n", b.trace_hash, b.state_hash);
	printf("%s\n", same ? "deterministic: both runs are the same" : "NOT DETERMINISTIC");
	if (!same)
		print_reproduce(o, o->seed);
	int rc = !same || a.failed_checks || b.failed_checks ? EXIT_CHECK_FAILED : EXIT_CHECKS_HOLD;
	if (a.failed_checks)
		printf("and checks failed: see `ddbsim run` with this seed\n");
	run_result_free(&a);
	run_result_free(&b);
	return rc;
}

/* ddbsim node list | node set NAME STATE: the states in DATA_DIR/nodes,
 * which every later run starts from. */
static int cmd_node(const struct cli *c, const char *data_dir)
{
	char err[1024];
	struct node_table t = { 0 };
	int is_list = c->n_args >= 1 && strcmp(c->args[0], "list") == 0;
	int is_set = c->n_args >= 1 && strcmp(c->args[0], "set") == 0;
	if (!is_list && !is_set)
		return usage_error("node needs 'list' or 'set NAME STATE'");
	if ((is_list && c->n_args != 1) || (is_set && c->n_args != 3 && c->n_args != 4))
		return usage_error("usage: ddbsim node list | ddbsim node set NAME STATE [NODES]");
	if (node_table_load(&t, data_dir, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		node_table_free(&t);
		return EXIT_USAGE;
	}
	int rc = EXIT_CHECKS_HOLD;
	if (is_set) {
		struct node *n = node_find(&t, c->args[1]);
		const char *state = c->args[2];
		if (!n) {
			rc = usage_error("no node '%s' in %s/nodes", c->args[1], data_dir);
		} else if (strcmp(state, "partitioned") == 0 || strcmp(state, "connected") == 0) {
			int cut = state[0] == 'p';
			if (cut && c->n_args != 4) {
				rc = usage_error("node set %s partitioned needs the nodes it is cut off from",
				                 n->name);
			} else if (!cut) {
				for (size_t i = 0; i < t.n; i++)
					t.v[i].cut_to &= ~node_bit(&t, n);
				n->cut_to = 0;
			} else {
				char list[1024];
				copy_str(list, sizeof list, c->args[3]);
				uint64_t to = 0;
				char *save = NULL;
				for (char *name = strtok_r(list, ",", &save); name && rc == 0;
				     name = strtok_r(NULL, ",", &save)) {
					struct node *other = node_find(&t, name);
					if (!other || other == n)
						rc = usage_error("cannot cut %s off from '%s'", n->name, name);
					else
						to |= node_bit(&t, other);
				}
				if (rc == 0)
					node_cut(&t, node_bit(&t, n), to, 0, 1);
			}
		} else {
			int s = node_state_parse(state);
			int64_t latency = c->latency_us > 0 ? c->latency_us : 0;
			int64_t jitter = c->jitter_us > 0 ? c->jitter_us : 0;
			if (s < 0)
				rc = usage_error("unknown state '%s': up, down, slow, partitioned or connected",
				                 state);
			else if (s == NODE_SLOW && latency == 0)
				rc = usage_error("node set %s slow needs --latency SECONDS", n->name);
			else if (s == NODE_SLOW)
				node_set_slow(n, latency, jitter, 0);
			else
				node_set_state(n, s, 0);
		}
		if (rc == 0 && node_table_save(&t, data_dir, err, sizeof err) != 0) {
			fprintf(stderr, "ddbsim: %s\n", err);
			rc = EXIT_USAGE;
		}
	}
	if (rc == 0) {
		printf("%-12s %-10s %-6s %-10s %-10s %s\n", "NODE", "KIND", "STATE", "LATENCY", "JITTER",
		       "CUT OFF FROM");
		for (size_t i = 0; i < t.n; i++) {
			const struct node *n = &t.v[i];
			printf("%-12s %-10s %-6s %-10.3f %-10.3f ", n->name, node_kind_name(n->kind),
			       node_state_name(n->state), (double)n->latency_us / 1e6,
			       (double)n->jitter_us / 1e6);
			int any = 0;
			for (size_t k = 0; k < t.n; k++)
				if (n->cut_to & (1ULL << k))
					printf("%s%s", any++ ? "," : "", t.v[k].name);
			printf("%s\n", any ? "" : "-");
		}
	}
	node_table_free(&t);
	return rc;
}

/* A scenario given by a bare name that is not in the working directory
 * is looked for in the scripts directory: `ddbsim run chaos.lua` works
 * anywhere. */
static void resolve_scenario(const char *name, char *out, size_t len)
{
	copy_str(out, len, name);
	if (strchr(name, '/') || access(name, F_OK) == 0)
		return;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", engine_script_dir(), name);
	if (access(path, F_OK) == 0)
		copy_str(out, len, path);
}

/* Takes the data directory's lock for a command; 0, or EXIT_USAGE after
 * saying why not. */
static int lock_data_dir(struct datadir_lock *lock, const char *data_dir,
                         enum datadir_lock_mode mode)
{
	char err[4600];
	if (datadir_lock(lock, data_dir, mode, err, sizeof err) == 0)
		return 0;
	fprintf(stderr, "ddbsim: %s\n", err);
	return EXIT_USAGE;
}

enum cli_command { CMD_RUN, CMD_DRAIN, CMD_CHECK, CMD_PLUGINS, CMD_NODE, CMD_SERVE };

/* The command named on the command line, and whether the options go with
 * it; 0, or the usage error's exit status. */
static int check_command(const struct cli *c, enum cli_command *cmd)
{
	static const char *const names[] = { "run", "drain", "check", "plugins", "node", "serve" };
	if (!c->command)
		return usage_error("no command given: run, serve, drain, check, plugins or node");
	size_t i = 0;
	while (i < ARRAY_LEN(names) && strcmp(c->command, names[i]) != 0)
		i++;
	if (i == ARRAY_LEN(names))
		return usage_error("unknown command '%s': use run, serve, drain, check, plugins or node",
		                   c->command);
	*cmd = (enum cli_command)i;
	int is_plugins = *cmd == CMD_PLUGINS, is_node = *cmd == CMD_NODE;
	if ((c->runs || c->check_determinism) && *cmd != CMD_RUN)
		return usage_error("--runs and --check-determinism go with run");
	if ((c->listen || c->speed || c->token_file || c->record) && *cmd != CMD_SERVE)
		return usage_error("--listen, --speed, --token-file and --record go with serve");
	if (c->runs && c->check_determinism)
		return usage_error("--runs and --check-determinism do not go together");
	if ((c->shrink || c->shrink_out) && (*cmd != CMD_RUN || c->runs || c->check_determinism))
		return usage_error("--shrink and --shrink-out go with a single run (not with --runs "
		                   "or --check-determinism)");
	if (c->shrink_out && !c->shrink)
		return usage_error("--shrink-out goes with --shrink");
	if (c->jobs && !c->runs && !c->shrink)
		return usage_error("--jobs goes with --runs or --shrink");
	if ((c->latency_us >= 0 || c->jitter_us >= 0) &&
	    !(is_node && c->n_args >= 3 && strcmp(c->args[0], "set") == 0 &&
	      strcmp(c->args[2], "slow") == 0))
		return usage_error("--latency and --jitter go with node set NAME slow");
	if (c->html_path && (*cmd != CMD_RUN || c->check_determinism || c->shrink))
		return usage_error("--html goes with run (one run, or --runs)");
	if (c->report_path && (is_plugins || is_node || c->runs || c->check_determinism || c->shrink))
		return usage_error("--report goes with a single run, drain or check (not with --runs, "
		                   "--shrink, --check-determinism, plugins or node)");
	return 0;
}

/* node list reads the nodes file, which is replaced whole by a rename: no
 * lock needed to read it; node set takes the data directory's lock. */
static int cmd_node_locked(const struct cli *c, const char *data_dir)
{
	struct datadir_lock lock = { -1, 0 };
	int is_set = c->n_args >= 1 && strcmp(c->args[0], "set") == 0;
	int rc = is_set ? lock_data_dir(&lock, data_dir, DATADIR_EXISTING) : 0;
	if (rc == 0)
		rc = cmd_node(c, data_dir);
	datadir_unlock(&lock);
	return rc;
}

/* The scenario to run: the command line's, else the config's, else the bundled default. */
static void choose_scenario(const struct cli *c, const struct config *cfg, char *out, size_t len)
{
	if (c->scenario)
		resolve_scenario(c->scenario, out, len);
	else if (strcmp(c->command, "serve") == 0)
		snprintf(out, len, "%s/%s", engine_script_dir(), SERVE_DEFAULT_SCENARIO);
	else if (cfg->scenario)
		copy_str(out, len, cfg->scenario);
	else
		snprintf(out, len, "%s/%s", engine_script_dir(), DEFAULT_SCENARIO);
}

/* The engine's options from the command line and the config; 0, or the
 * usage error's exit status when --runs would go past the last seed. */
static int set_engine_options(const struct cli *c, struct config *cfg, const char *scenario,
                              const char *data_dir, struct engine_options *o)
{
	engine_options_init(o);
	o->cfg = cfg;
	o->scenario_path = scenario;
	o->data_dir = data_dir;
	o->seed = c->has_seed ? c->seed : cfg->has_seed ? cfg->seed : 1;
	o->trace = c->trace;
	if (c->batch)
		o->batch_max = (size_t)c->batch;
	o->params = c->params;
	o->n_params = c->n_params;
	if (!c->quiet)
		o->on_loaded = print_schedule;
	if (c->runs > 1 && o->seed > UINT64_MAX - (c->runs - 1))
		return usage_error("--runs %lu from %s %" PRIu64 " would go past the last seed, 2^64-1 "
		                   "(at most --runs %" PRIu64 " from that seed)", c->runs,
		                   c->has_seed ? "--seed" : "the config's seed", o->seed,
		                   UINT64_MAX - o->seed + 1);
	return 0;
}

static void print_banner(const struct cli *c, enum cli_command cmd, const struct engine_options *o)
{
	if (c->quiet || cmd == CMD_SERVE) /* serve's first line says where it listens */
		return;
	if (cmd == CMD_RUN)
		printf("ddbsim %s: run %s seed=%" PRIu64 " config=%s data-dir=%s\n", PACKAGE_VERSION,
		       o->scenario_path, o->seed, o->cfg->path, o->data_dir);
	else
		printf("ddbsim %s: %s config=%s data-dir=%s\n", PACKAGE_VERSION, c->command,
		       o->cfg->path, o->data_dir);
	fflush(stdout);
}

/* One run, drain or check, its report printed and written to rf. */
static int cmd_once(const struct cli *c, enum cli_command cmd, struct engine_options *o,
                    struct report_file *rf, struct report_html *html)
{
	char err[2048] = "";
	struct run_result res;
	int r = cmd == CMD_RUN ? engine_run(o, &res, err, sizeof err)
	        : cmd == CMD_DRAIN ? engine_drain(o, &res, err, sizeof err)
	                           : engine_check(o, &res, err, sizeof err);
	int rc;
	if (r != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		rc = EXIT_USAGE;
	} else {
		rc = finish_report(c, &res, rf, o);
		char cmdline[REPRODUCE_MAX];
		format_reproduce(o, o->seed, cmdline, sizeof cmdline);
		if (html->file.f && report_html_commit_run(html, &res, cmdline, err, sizeof err) != 0) {
			fprintf(stderr, "ddbsim: cannot write the HTML report: %s\n", err);
			rc = EXIT_USAGE;
		}
	}
	run_result_free(&res);
	return rc;
}

/* The first line serve prints: where it listens. */
static void print_listening(void *ctx, const char *url)
{
	(void)ctx;
	printf("listening on %s\n", url);
	fflush(stdout);
}

/* The token of --token-file: its first line, without the line end. */
static int read_token(const char *path, char *token, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "ddbsim: --token-file %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	int ok = fgets(token, (int)len, f) != NULL;
	fclose(f);
	token[ok ? strcspn(token, "\r\n") : 0] = 0;
	if (!token[0] || strlen(token) >= len - 1) {
		fprintf(stderr, "ddbsim: --token-file %s: the first line must hold the token, 1 to %zu "
		                "bytes\n", path, len - 2);
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_serve(const struct cli *c, struct engine_options *o, struct report_file *rf)
{
	struct serve_options so;
	char token[512], err[2048] = "";
	serve_options_init(&so);
	if (c->listen)
		so.listen = c->listen;
	if (c->speed)
		so.speed = c->speed;
	so.record = c->record;
	if (c->token_file) {
		int rc = read_token(c->token_file, token, sizeof token);
		if (rc != 0)
			return rc;
		so.token = token;
	}
	so.on_listening = print_listening;
	/* The first line on stdout is "listening on": the schedule shows in
	 * the report's timeline and on GET /api/v1/events instead. */
	o->on_loaded = NULL;
	struct run_result res;
	int rc;
	if (serve(&so, o, &res, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		rc = EXIT_USAGE;
	} else {
		rc = finish_report(c, &res, rf, o);
	}
	run_result_free(&res);
	return rc;
}

/* run, drain and check: what must be there is checked before the data
 * directory is locked, then the command runs once, or per --runs or
 * --check-determinism. */
static int cmd_stores(const struct cli *c, enum cli_command cmd, struct engine_options *o)
{
	/* A scenario that is not there fails before the data directory is
	 * created to hold the lock. */
	if ((cmd == CMD_RUN || cmd == CMD_SERVE) && access(o->scenario_path, R_OK) != 0) {
		fprintf(stderr, "ddbsim: %s: cannot open the script: %s\n", o->scenario_path,
		        strerror(errno));
		return EXIT_USAGE;
	}
	/* Before anything runs: a report that cannot be written fails now. */
	char err[2048] = "";
	struct report_file rf = { 0 };
	if (c->report_path && report_file_open(&rf, c->report_path, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: --report %s\n", err);
		return EXIT_USAGE;
	}
	struct report_html html = { 0 };
	if (c->html_path && report_html_open(&html, c->html_path, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: --html %s\n", err);
		report_file_discard(&rf);
		return EXIT_USAGE;
	}
	/* One process per data directory. */
	struct datadir_lock lock = { -1, 0 };
	int rc = lock_data_dir(&lock, o->data_dir,
	                       cmd == CMD_RUN || cmd == CMD_SERVE ? DATADIR_CREATE
	                       : cmd == CMD_DRAIN ? DATADIR_EXISTING : DATADIR_OBSERVE);
	if (rc == 0) {
		/* A check only reads: interrupted, it may die at once. */
		if (cmd == CMD_RUN || cmd == CMD_DRAIN || cmd == CMD_SERVE) {
			catch_stop_signals();
			o->stop = &stop_signal;
		}
		print_banner(c, cmd, o);
		if (cmd == CMD_SERVE)
			rc = cmd_serve(c, o, &rf);
		else if (c->runs)
			rc = cmd_runs(c, o, &html);
		else if (c->shrink)
			rc = cmd_shrink(c, o);
		else if (c->check_determinism)
			rc = cmd_determinism(c, o);
		else
			rc = cmd_once(c, cmd, o, &rf, &html);
	}
	report_file_discard(&rf);
	report_html_discard(&html);
	datadir_unlock(&lock);
	return rc;
}

int cli_main(int argc, char **argv)
{
	struct cli c = { 0 };
	c.latency_us = c.jitter_us = -1;
	enum cli_command cmd = CMD_RUN; /* set by check_command */
	int rc = parse_args(&c, argc, argv);
	if (rc == 0)
		rc = check_command(&c, &cmd);
	if (rc != 0)
		return rc;

	char err[2048] = "";
	struct config *cfg = load_config(&c, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "ddbsim: %s\n", err);
		return EXIT_USAGE;
	}
	const char *data_dir = c.data_dir ? c.data_dir : cfg->data_dir ? cfg->data_dir : DEFAULT_DATA_DIR;
	if (cmd == CMD_PLUGINS) {
		rc = cmd_plugins(cfg);
	} else if (cmd == CMD_NODE) {
		rc = cmd_node_locked(&c, data_dir);
	} else {
		char scenario[4096];
		struct engine_options o;
		choose_scenario(&c, cfg, scenario, sizeof scenario);
		rc = set_engine_options(&c, cfg, scenario, data_dir, &o);
		if (rc == 0)
			rc = cmd_stores(&c, cmd, &o);
	}
	config_free(cfg);
	return rc;
}
