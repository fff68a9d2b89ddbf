/*
 * test_shrink_script.c - the shrunk scenarios that --shrink writes
 * (src/shrink_script.c): a script's schedule read back as steps, and
 * written again with every kind of step, loads to the same expanded
 * schedule, after the same random draws of the original's top level;
 * fewer steps, a shorter duration and a lower probability are written as
 * given; the rates are scaled (a number, a table, a function).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prng.h"
#include "scenario.h"
#include "shrink_script.h"

#define ERRLEN 2048

static char tmpdir[64];
static char original[128], written[128];

/* Every action a script may give, with a random draw at the top level whose
 * value the name shows, a #! first line and a step with two targets. */
static const char every_step[] =
    "#!/usr/bin/env ddbsim\n"
    "local r = math.random(1000000)\n"
    "return {\n"
    "  name = 'mini-' .. r,\n"
    "  duration = 20,\n"
    "  regions = { 'north', 'south' },\n"
    "  catalog = { { sku = 'A', price = 1.5, stock = 10 } },\n"
    "  workload = { rate = { north = 4, south = 6 },\n"
    "               order = function() return { sku = 'A' } end,\n"
    "               customers = { rate = function(t) return 8 end,\n"
    "                             operation = function(t) return { op = 'get', id = 'x' } end } },\n"
    "  failures = {\n"
    "    { at = 1 + math.random(), action = 'down', target = { 'north', 'south' }, duration = 2 },\n"
    "    { at = 4.5, action = 'up', target = 'central' },\n"
    "    { at = 1.25, action = 'slow', target = 'documents', latency = 0.2, jitter = 0.05,\n"
    "      duration = 3 },\n"
    "    { at = 2, action = 'partition', from = { 'north' }, to = { 'broker', 'central' },\n"
    "      oneway = true, duration = 1.5 },\n"
    "    { at = 3.000001, action = 'drop', probability = 0.123456789, duration = 1 },\n"
    "    { at = 3.000001, action = 'duplicate', probability = 0.5 },\n"
    "    { at = 5, action = 'delay', probability = 0.25, delay = 0.3, duration = 2 },\n"
    "    { at = 6, action = 'reorder', probability = 1, duration = 0.5 },\n"
    "    { at = 7, action = 'crash', target = 'applier' },\n"
    "    { at = 6.5, action = 'crash', target = 'relay', duration = 0.25 },\n"
    "  },\n"
    "}\n";

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/ddbsim-test-shrink-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(original, sizeof original, "%s/original.lua", tmpdir);
	snprintf(written, sizeof written, "%s/written.lua", tmpdir);
	FILE *f = fopen(original, "w");
	if (!f || fputs(every_step, f) < 0 || fclose(f) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove(original);
	remove(written);
	rmdir(tmpdir);
	return 0;
}

static struct scenario *load(const char *path, uint64_t seed, struct prng *rng)
{
	char err[ERRLEN] = "";
	prng_seed(rng, seed);
	struct scenario *sc = scenario_load(path, NULL, rng, err, sizeof err);
	if (!sc)
		fail_msg("loading %s: %s", path, err);
	return sc;
}

static void write_ok(const struct shrink_step *steps, size_t n, double orders, double customers)
{
	char err[ERRLEN] = "";
	struct shrink_script s = { original, "a test", steps, n, orders, customers };
	if (shrink_script_write(&s, written, err, sizeof err) != 0)
		fail_msg("writing %s: %s", written, err);
}

static void assert_same_step(const struct scenario_failure *a, const struct scenario_failure *b)
{
	assert_int_equal(a->at_us, b->at_us);
	assert_string_equal(a->target, b->target);
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->latency_us, b->latency_us);
	assert_int_equal(a->jitter_us, b->jitter_us);
	assert_int_equal(a->n_from, b->n_from);
	assert_int_equal(a->n_to, b->n_to);
	for (size_t k = 0; k < a->n_from; k++)
		assert_string_equal(a->from[k], b->from[k]);
	for (size_t k = 0; k < a->n_to; k++)
		assert_string_equal(a->to[k], b->to[k]);
	assert_int_equal(a->oneway, b->oneway);
	assert_true(a->probability == b->probability);
	assert_int_equal(a->delay_us, b->delay_us);
	assert_int_equal(a->has_end, b->has_end);
	assert_int_equal(a->ends, b->ends);
}

/* The whole schedule, written again: the same expanded schedule, in the
 * same order, after the same draws (the name and the first step's time come
 * from them). */
static void test_round_trip(void **state)
{
	(void)state;
	struct prng rng_a, rng_b;
	struct scenario *a = load(original, 7, &rng_a);
	const struct scenario_info *ia = scenario_info(a);
	struct shrink_step *steps = NULL;
	size_t n = 0;
	assert_int_equal(shrink_script_steps(ia, &steps, &n), 0);
	assert_int_equal(n, 11); /* 10 steps, the first with two targets */
	assert_string_equal(steps[0].start.target, "north");
	assert_string_equal(steps[1].start.target, "south");
	assert_int_equal(steps[0].duration_us, 2000000);
	assert_int_equal(steps[2].duration_us, -1); /* up */
	assert_int_equal(steps[9].duration_us, 1000000); /* a crash lasts a second */
	write_ok(steps, n, 1, 1);

	struct scenario *b = load(written, 7, &rng_b);
	const struct scenario_info *ib = scenario_info(b);
	assert_string_equal(ia->name, ib->name);
	assert_int_equal(ia->n_failures, ib->n_failures);
	for (size_t i = 0; i < ia->n_failures; i++)
		assert_same_step(&ia->failures[i], &ib->failures[i]);
	assert_int_equal(prng_next(&rng_a), prng_next(&rng_b)); /* the same draws after loading */
	free(steps);
	scenario_free(a);
	scenario_free(b);
}

/* Two steps kept, one shorter, one less likely; the rates scaled. */
static void test_fewer_and_smaller(void **state)
{
	(void)state;
	struct prng rng;
	struct scenario *a = load(original, 7, &rng);
	struct shrink_step *steps = NULL;
	size_t n = 0;
	assert_int_equal(shrink_script_steps(scenario_info(a), &steps, &n), 0);
	struct shrink_step kept[2] = { steps[5], steps[9] }; /* drop, crash applier */
	assert_int_equal(kept[0].start.action, FAILURE_DROP);
	assert_int_equal(kept[1].start.action, FAILURE_CRASH);
	kept[0].start.probability = 0.125 / 16;
	kept[1].duration_us = 62500;
	write_ok(kept, 2, 0.25, 0.5);

	struct scenario *b = load(written, 7, &rng);
	const struct scenario_info *ib = scenario_info(b);
	assert_int_equal(ib->n_failures, 4);
	assert_int_equal(ib->failures[0].action, FAILURE_DROP);
	assert_true(ib->failures[0].probability == 0.125 / 16);
	assert_int_equal(ib->failures[1].at_us, 4000001); /* the drop's end */
	assert_int_equal(ib->failures[2].action, FAILURE_CRASH);
	assert_string_equal(ib->failures[2].target, "applier");
	assert_int_equal(ib->failures[3].action, FAILURE_RESTART);
	assert_int_equal(ib->failures[3].at_us - ib->failures[2].at_us, 62500);

	char err[256];
	assert_true(scenario_rate(b, 0, err, sizeof err) == 1.0); /* north 4 x 0.25 */
	assert_true(scenario_rate(b, 1, err, sizeof err) == 1.5); /* south 6 x 0.25 */
	assert_true(scenario_customer_rate(b, err, sizeof err) == 4.0); /* function 8 x 0.5 */
	free(steps);
	scenario_free(a);
	scenario_free(b);
}

/* No step at all: an empty schedule; a missing original is an error naming it. */
static void test_empty_and_missing(void **state)
{
	(void)state;
	struct prng rng;
	write_ok(NULL, 0, 1, 1);
	struct scenario *b = load(written, 7, &rng);
	assert_int_equal(scenario_info(b)->n_failures, 0);
	scenario_free(b);

	char err[ERRLEN] = "", missing[160];
	snprintf(missing, sizeof missing, "%s/missing.lua", tmpdir);
	struct shrink_script s = { missing, NULL, NULL, 0, 1, 1 };
	assert_int_equal(shrink_script_write(&s, written, err, sizeof err), -1);
	assert_non_null(strstr(err, missing));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fewer_and_smaller),
		cmocka_unit_test(test_empty_and_missing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
