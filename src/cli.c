/*
 * cli.c - parses the command line, finds the config, scenario, data
 * directory and seed, runs the engine and prints the report.  The only file
 * of the core that writes to stdout.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "loader.h"
#include "report.h"
#include "topology.h"
#include "util.h"

#define DEFAULT_DATA_DIR "ddbsim-data"
#define DEFAULT_SCENARIO "ecommerce.lua"

static const char usage_text[] =
    "Usage: ddbsim COMMAND [OPTIONS]\n"
    "Emulates a multi-region e-commerce system and lets you break it on purpose.\n"
    "\n"
    "Commands:\n"
    "  run [SCENARIO.lua]   run a scenario (default: the config's, else the bundled\n"
    "                       ecommerce.lua) on fresh stores, then check every invariant\n"
    "  drain                finish the sync left pending in existing stores (after a\n"
    "                       crash, say), then run the checks\n"
    "  check                run the checks against the existing stores\n"
    "  plugins              list the plugins found: version, ABI, kind, roles\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE    config file (default: $DDBSIM_CONFIG, else\n"
    "                       " DDBSIM_DEFAULT_CONFIG ")\n"
    "  -d, --data-dir DIR   where the embedded stores live (default: the config's\n"
    "                       data_dir, else ./" DEFAULT_DATA_DIR ")\n"
    "  -s, --seed N         seed of the run's random choices (run; default: the\n"
    "                       config's seed, else 1)\n"
    "  -r, --report FILE    also write the report as JSON to FILE\n"
    "  -b, --batch N        orders per group commit, 1-256 (run; default 256)\n"
    "  -p, --param NAME=VALUE\n"
    "                       a parameter the scenario reads with ddbsim.param (run)\n"
    "  -t, --trace          print failure steps as they happen (run)\n"
    "  -q, --quiet          print only the checks that failed and the verdict\n"
    "  -h, --help           this help\n"
    "  -V, --version        version and plugin ABI\n"
    "\n"
    "Exit status: 0 every check holds, 1 a check failed, 2 usage, config, script\n"
    "or store error.\n"
    "\n"
    "Examples:\n"
    "  ddbsim run                             the default scenario, embedded stores\n"
    "  ddbsim run flash_sale.lua --seed 7 --report out.json\n"
    "  ddbsim run -c /etc/ddbsim/postgres.conf\n"
    "  ddbsim drain -d ddbsim-data            after a kill -9 of a run\n"
    "See ddbsim(1), ddbsim.conf(5) and ddbsim-lua(7).\n";

struct cli {
	const char *command;
	const char *config_path;
	const char *data_dir;
	const char *report_path;
	const char *scenario;
	int has_seed;
	uint64_t seed;
	long batch;
	struct ddb_option params[32];
	size_t n_params;
	int trace;
	int quiet;
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

static int parse_u64(const char *s, uint64_t *out)
{
	if (!*s || *s == '-' || *s == '+')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
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
		{ "trace", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":c:d:s:r:b:p:tqhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'd': c->data_dir = optarg; break;
		case 'r': c->report_path = optarg; break;
		case 't': c->trace = 1; break;
		case 'q': c->quiet = 1; break;
		case 's':
			if (parse_u64(optarg, &c->seed) != 0)
				return usage_error("--seed needs a whole number from 0 to 2^64-1, not '%s'",
				                   optarg);
			c->has_seed = 1;
			break;
		case 'b': {
			uint64_t v;
			if (parse_u64(optarg, &v) != 0 || v < 1 || v > 256)
				return usage_error("--batch needs a number from 1 to 256, not '%s'", optarg);
			c->batch = (long)v;
			break;
		}
		case 'p': {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				return usage_error("--param needs NAME=VALUE, not '%s'", optarg);
			if (c->n_params == ARRAY_LEN(c->params))
				return usage_error("at most %zu --param options", ARRAY_LEN(c->params));
			*eq = '\0';
			for (size_t i = 0; i < c->n_params; i++)
				if (strcmp(c->params[i].key, optarg) == 0)
					return usage_error("--param %s is given twice", optarg);
			c->params[c->n_params].key = optarg;
			c->params[c->n_params++].value = eq + 1;
			break;
		}
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
	for (int i = optind; i < argc; i++) {
		if (!c->command)
			c->command = argv[i];
		else if (!c->scenario && strcmp(c->command, "run") == 0)
			c->scenario = argv[i];
		else
			return usage_error("unexpected argument '%s'", argv[i]);
	}
	return 0;
}

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
			if (cfg && !(cfg->path = strdup("(built-in defaults)"))) {
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

static int finish_report(const struct cli *c, struct run_result *res)
{
	char err[1024];
	if (c->quiet) {
		for (size_t i = 0; i < res->checks.n; i++)
			if (!res->checks.v[i].ok)
				printf("FAIL %s: %s\n", res->checks.v[i].name, res->checks.v[i].detail);
		printf("%s (state_hash %016" PRIx64 ")\n",
		       res->failed_checks ? "SOME CHECKS FAILED" : "all checks hold", res->state_hash);
	} else {
		report_text(res, stdout);
	}
	fflush(stdout);
	if (c->report_path && report_write(res, c->report_path, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: cannot write the report: %s\n", err);
		return EXIT_USAGE;
	}
	return res->failed_checks ? EXIT_CHECK_FAILED : EXIT_CHECKS_HOLD;
}

int cli_main(int argc, char **argv)
{
	struct cli c = { 0 };
	int rc = parse_args(&c, argc, argv);
	if (rc != 0)
		return rc;
	if (!c.command)
		return usage_error("no command given: run, drain, check or plugins");
	int is_run = strcmp(c.command, "run") == 0, is_drain = strcmp(c.command, "drain") == 0,
	    is_check = strcmp(c.command, "check") == 0, is_plugins = strcmp(c.command, "plugins") == 0;
	if (!is_run && !is_drain && !is_check && !is_plugins)
		return usage_error("unknown command '%s': use run, drain, check or plugins", c.command);

	char err[2048] = "";
	struct config *cfg = load_config(&c, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "ddbsim: %s\n", err);
		return EXIT_USAGE;
	}
	if (is_plugins) {
		rc = cmd_plugins(cfg);
		config_free(cfg);
		return rc;
	}

	char scenario[4096];
	if (c.scenario)
		copy_str(scenario, sizeof scenario, c.scenario);
	else if (cfg->scenario)
		copy_str(scenario, sizeof scenario, cfg->scenario);
	else
		snprintf(scenario, sizeof scenario, "%s/%s",
		         getenv("DDBSIM_SCRIPTDIR") ? getenv("DDBSIM_SCRIPTDIR") : DDBSIM_SCRIPTDIR,
		         DEFAULT_SCENARIO);

	struct engine_options o;
	engine_options_init(&o);
	o.cfg = cfg;
	o.scenario_path = scenario;
	o.data_dir = c.data_dir ? c.data_dir : cfg->data_dir ? cfg->data_dir : DEFAULT_DATA_DIR;
	o.seed = c.has_seed ? c.seed : cfg->has_seed ? cfg->seed : 1;
	o.trace = c.trace;
	if (c.batch)
		o.batch_max = (size_t)c.batch;
	o.params = c.params;
	o.n_params = c.n_params;

	if (!c.quiet) {
		if (is_run)
			printf("ddbsim %s: run %s seed=%" PRIu64 " config=%s data-dir=%s\n", PACKAGE_VERSION,
			       scenario, o.seed, cfg->path, o.data_dir);
		else
			printf("ddbsim %s: %s config=%s data-dir=%s\n", PACKAGE_VERSION, c.command,
			       cfg->path, o.data_dir);
		fflush(stdout);
	}
	struct run_result res;
	int r = is_run ? engine_run(&o, &res, err, sizeof err)
	        : is_drain ? engine_drain(&o, &res, err, sizeof err)
	                   : engine_check(&o, &res, err, sizeof err);
	if (r != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		rc = EXIT_USAGE;
	} else {
		rc = finish_report(&c, &res);
	}
	run_result_free(&res);
	config_free(cfg);
	return rc;
}
