/*
 * test_engine.c - the engine's run, drain and check modes on the embedded
 * plugins (SQLite stores, memory transport), where a shell test cannot aim:
 * a stop flag already set when a run or a drain starts (the flag a SIGINT
 * handler sets), drain and check on a directory whose setup did not finish,
 * and check's read-only opens.  make check exports DDBSIM_PLUGIN_DIR and
 * top_srcdir (for the bundled shop.lua).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_file.h"
#include "engine.h"
#include "node.h"
#include "plugin_fixture.h"

static char dir[256];      /* the test's scratch directory */
static char data_dir[300]; /* dir/data */
static char scenario[300]; /* dir/two.lua */
static struct config cfg;
static volatile sig_atomic_t stop;

static const char two_regions[] =
	"local shop = require \"shop\"\n"
	"return shop.scenario {\n"
	"  name = \"two\", duration = 2, regions = { \"north\", \"south\" },\n"
	"  catalog = { { sku = \"A\", name = \"A\", price = 1, stock = 1000 } },\n"
	"  workload = { rate = 20, order = shop.orders { products = { A = 1 },\n"
	"               quantity = { [1] = 1 }, customers = 5 } },\n"
	"}\n";

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/ddbsim-test-engine-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(data_dir, sizeof data_dir, "%s/data", dir);
	snprintf(scenario, sizeof scenario, "%s/two.lua", dir);
	FILE *f = fopen(scenario, "w");
	if (!f || fputs(two_regions, f) < 0 || fclose(f) != 0)
		return -1;
	const char *top = getenv("top_srcdir");
	char scripts[4096];
	snprintf(scripts, sizeof scripts, "%s/scripts/lua", top && *top ? top : "..");
	setenv("DDBSIM_SCRIPTDIR", scripts, 1);
	memset(&cfg, 0, sizeof cfg);
	cfg.path = "(test)"; /* no sections: SQLite everywhere, the memory transport */
	stop = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_remove_tree(dir);
	return 0;
}

static struct engine_options options(void)
{
	struct engine_options o;
	engine_options_init(&o);
	o.cfg = &cfg;
	o.scenario_path = scenario;
	o.data_dir = data_dir;
	o.seed = 1;
	o.stop = &stop;
	return o;
}

static int exists(const char *name)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s", data_dir, name);
	return access(path, F_OK) == 0;
}

static void run_ok(void)
{
	struct engine_options o = options();
	struct run_result res;
	char err[2048] = "";
	int rc = engine_run(&o, &res, err, sizeof err);
	if (rc != 0)
		fail_msg("run: %s", err);
	assert_int_equal(res.interrupted, 0);
	assert_int_equal(res.failed_checks, 0);
	run_result_free(&res);
}

/* A stop asked for before the setup: nothing written, no check claimed. */
static void run_stopped_before_setup(void **state)
{
	(void)state;
	stop = SIGINT;
	struct engine_options o = options();
	struct run_result res;
	char err[2048] = "";
	assert_int_equal(engine_run(&o, &res, err, sizeof err), 0);
	assert_int_equal(res.interrupted, SIGINT);
	assert_string_equal(res.interrupted_in, "start");
	assert_int_equal(res.checks.n, 0);
	assert_int_equal(res.metrics->orders_generated, 0);
	assert_false(exists("nodes"));
	run_result_free(&res);
}

/* Drain stops between two rounds of sync when asked, claims no check, and
 * a drain without the flag goes on from there. */
static void drain_stops_and_resumes(void **state)
{
	(void)state;
	run_ok();
	struct engine_options o = options();
	struct run_result res;
	char err[2048] = "";
	stop = SIGTERM;
	assert_int_equal(engine_drain(&o, &res, err, sizeof err), 0);
	assert_int_equal(res.interrupted, SIGTERM);
	assert_string_equal(res.interrupted_in, "drain");
	assert_int_equal(res.checks.n, 0);
	run_result_free(&res);
	stop = 0;
	if (engine_drain(&o, &res, err, sizeof err) != 0)
		fail_msg("drain: %s", err);
	assert_int_equal(res.interrupted, 0);
	assert_true(res.checks.n > 0);
	assert_int_equal(res.failed_checks, 0);
	run_result_free(&res);
}

/* A directory whose setup did not finish: drain and check refuse it. */
static void unfinished_setup_refused(void **state)
{
	(void)state;
	run_ok();
	struct node_table t = { 0 };
	char err[2048] = "";
	assert_int_equal(node_table_load(&t, data_dir, err, sizeof err), 0);
	t.resetting = 1;
	assert_int_equal(node_table_save(&t, data_dir, err, sizeof err), 0);
	node_table_free(&t);
	struct engine_options o = options();
	struct run_result res;
	char want[600];
	snprintf(want, sizeof want, "setup of %s did not finish (interrupted run)", data_dir);
	assert_int_equal(engine_check(&o, &res, err, sizeof err), -1);
	assert_non_null(strstr(err, want));
	run_result_free(&res);
	err[0] = '\0';
	assert_int_equal(engine_drain(&o, &res, err, sizeof err), -1);
	assert_non_null(strstr(err, want));
	run_result_free(&res);
	/* A new run sets it up again. */
	run_ok();
}

/* check opens the stores read-only: a missing one is an error naming it,
 * and is not created. */
static void check_creates_no_store(void **state)
{
	(void)state;
	run_ok();
	char path[400], moved[400];
	snprintf(path, sizeof path, "%s/south.db", data_dir);
	snprintf(moved, sizeof moved, "%s/south.db.away", dir);
	assert_int_equal(rename(path, moved), 0);
	struct engine_options o = options();
	struct run_result res;
	char err[2048] = "";
	assert_int_equal(engine_check(&o, &res, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	run_result_free(&res);
	assert_false(exists("south.db"));
	assert_int_equal(rename(moved, path), 0);
	if (engine_check(&o, &res, err, sizeof err) != 0)
		fail_msg("check: %s", err);
	assert_int_equal(res.failed_checks, 0);
	run_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(run_stopped_before_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(drain_stops_and_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(unfinished_setup_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(check_creates_no_store, setup, teardown),
	};
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
