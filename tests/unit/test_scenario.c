/*
 * test_scenario.c - the Lua scenario module: loading and validation, error
 * messages (script, line, hook), the sandbox, math.random, the hooks and the
 * extra checks, and the two bundled scenarios.
 *
 * Fixture scripts are written to a mkdtemp directory by the tests; the
 * bundled scenarios are read from $top_srcdir/scripts/lua (make check
 * exports top_srcdir) or ../scripts/lua.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prng.h"
#include "scenario.h"
#include "utf8.h"

#define ERRLEN 1024

static char tmpdir[256];
static char bundled[4096];
static char *created[512]; /* files and directories to remove, in order */
static size_t n_created;
static struct prng rng;

/* ---- fixtures ------------------------------------------------------------- */

static void track(const char *path)
{
	assert_true(n_created < sizeof created / sizeof *created);
	created[n_created] = strdup(path);
	assert_non_null(created[n_created]);
	n_created++;
}

/* Writes tmpdir/name (name may contain one level of subdirectory, created
 * with mkdir_tmp first) and returns its path (static storage, one per
 * call slot: copy it if needed across calls). */
static const char *write_script(const char *name, const char *text)
{
	static char paths[8][4096];
	static int slot;
	char *path = paths[slot++ % 8];
	snprintf(path, 4096, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	track(path);
	return path;
}

static const char *mkdir_tmp(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	assert_int_equal(mkdir(path, 0700), 0);
	track(path);
	return path;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/ddbsim-test-scenario-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	const char *top = getenv("top_srcdir");
	if (top != NULL && top[0] != '\0')
		snprintf(bundled, sizeof bundled, "%s/scripts/lua", top);
	else
		snprintf(bundled, sizeof bundled, "../scripts/lua");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* newest first: files before the directories that hold them */
	while (n_created > 0) {
		char *p = created[--n_created];
		if (remove(p) != 0)
			fprintf(stderr, "cannot remove %s\n", p);
		free(p);
	}
	rmdir(tmpdir);
	return 0;
}

static struct scenario *load_seeded(const char *path, const char *pkg, uint64_t seed, char *err)
{
	prng_seed(&rng, seed);
	return scenario_load(path, pkg, &rng, err, ERRLEN);
}

static struct scenario *load_ok(const char *path, const char *pkg)
{
	char err[ERRLEN];
	struct scenario *sc = load_seeded(path, pkg, 42, err);
	if (sc == NULL)
		fail_msg("loading %s: %s", path, err);
	assert_string_equal(err, "");
	return sc;
}

/* Loading must fail with a message that starts with "PATH<sep>" and
 * contains want. */
static void load_fails(const char *path, const char *sep, const char *want)
{
	char err[ERRLEN];
	struct scenario *sc = load_seeded(path, NULL, 42, err);
	if (sc != NULL) {
		scenario_free(sc);
		fail_msg("%s loaded, expected an error with \"%s\"", path, want);
	}
	char prefix[4200];
	snprintf(prefix, sizeof prefix, "%s%s", path, sep);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, want) == NULL)
		fail_msg("error \"%s\"\n  expected to start with \"%s\" and contain \"%s\"", err,
		         prefix, want);
}

static void bundled_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", bundled, name);
}

/* A small valid scenario, without shop.lua: lines 1-5. */
#define MINI_HEAD                                                                         \
	"return {\n"                                                                          \
	"  regions = { 'north', 'south' },\n"                                                 \
	"  catalog = { { sku = 'A', price = 1.5, stock = 10 },\n"                             \
	"              { sku = 'B', price = 2, stock = { north = 3 } } },\n"                  \
	"  workload = { rate = 5, order = function() return { sku = 'A' } end },\n"

static struct ddb_order make_order(const char *sku, int64_t qty, int64_t price_cents)
{
	struct ddb_order o;
	memset(&o, 0, sizeof o);
	snprintf(o.id, sizeof o.id, "north-000001");
	snprintf(o.region, sizeof o.region, "north");
	snprintf(o.customer, sizeof o.customer, "c1");
	snprintf(o.sku, sizeof o.sku, "%s", sku);
	o.quantity = qty;
	o.unit_price_cents = price_cents;
	o.placed_at_us = 1500000;
	return o;
}

/* ---- check results -------------------------------------------------------- */

struct results {
	size_t n;
	char *name[16];
	int ok[16];
	char *detail[16];
};

static void collect(void *ctx, const char *name, int ok, const char *detail)
{
	struct results *r = ctx;
	assert_true(r->n < 16);
	assert_non_null(detail);
	r->name[r->n] = strdup(name);
	r->ok[r->n] = ok;
	r->detail[r->n] = strdup(detail);
	r->n++;
}

static void results_free(struct results *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->name[i]);
		free(r->detail[i]);
	}
	r->n = 0;
}

/* ---- loading: the bundled scenarios --------------------------------------- */

static void test_load_ecommerce(void **state)
{
	(void)state;
	char path[4200];
	bundled_path(path, sizeof path, "ecommerce.lua");
	struct scenario *sc = load_ok(path, bundled);
	const struct scenario_info *in = scenario_info(sc);
	assert_string_equal(in->name, "ecommerce");
	assert_string_equal(in->path, path);
	assert_int_equal(in->duration_us, 60 * 1000000LL);
	assert_int_equal(in->n_regions, 3);
	assert_string_equal(in->regions[0], "seattle");
	assert_string_equal(in->regions[1], "boston");
	assert_string_equal(in->regions[2], "denver");
	assert_int_equal(in->n_products, 5);
	static const char *const skus[] = { "LAPTOP", "MONITOR", "KEYBOARD", "MOUSE", "WEBCAM" };
	static const int64_t cents[] = { 99999, 24950, 4999, 1999, 5900 };
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(in->products[i].sku, skus[i]);
		assert_int_equal(in->products[i].price_cents, cents[i]);
		assert_int_equal(in->products[i].version, 1);
	}
	assert_string_equal(in->products[0].name, "Laptop 14\"");
	assert_int_equal(in->products[0].n_components, 2); /* sorted by sku */
	assert_string_equal(in->products[0].components[0].sku, "KEYBOARD");
	assert_int_equal(in->products[0].components[0].quantity, 1);
	assert_string_equal(in->products[0].components[1].sku, "WEBCAM");
	assert_int_equal(in->products[1].n_components, 0);
	/* stock[region * n_products + product] */
	assert_int_equal(in->stock[0 * 5 + 0], 100);
	assert_int_equal(in->stock[1 * 5 + 0], 120);
	assert_int_equal(in->stock[2 * 5 + 0], 60);
	for (size_t r = 0; r < 3; r++)
		assert_int_equal(in->stock[r * 5 + 2], 600);
	assert_int_equal(in->n_restocks, 2);
	assert_int_equal(in->restocks[0].at_us, 30000000);
	assert_string_equal(in->restocks[0].region, "seattle");
	assert_string_equal(in->restocks[0].sku, "LAPTOP");
	assert_int_equal(in->restocks[0].quantity, 50);
	assert_int_equal(in->restocks[1].at_us, 40000000);
	assert_int_equal(in->n_failures, 0);

	char err[ERRLEN];
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 20.0);
	assert_true(scenario_rate(sc, 1, err, sizeof err) == 15.0);
	assert_true(scenario_rate(sc, 2, err, sizeof err) == 10.0);
	assert_string_equal(err, "");

	/* no rule: every order is accepted as it is */
	struct ddb_order o = make_order("LAPTOP", 9, 99999);
	char reason[256];
	assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ACCEPT);
	assert_int_equal(o.quantity, 9);
	scenario_free(sc);
}

/* A small engine: a minute of orders at the scenario's rates against the
 * initial stock and the restocks.  The bundled scenario is designed so that
 * some stock runs out. */
static void test_ecommerce_runs_out_of_stock(void **state)
{
	(void)state;
	char path[4200], err[ERRLEN];
	bundled_path(path, sizeof path, "ecommerce.lua");
	struct scenario *sc = load_ok(path, bundled);
	const struct scenario_info *in = scenario_info(sc);
	size_t np = in->n_products;
	int64_t *stock = malloc(in->n_regions * np * sizeof *stock);
	assert_non_null(stock);
	memcpy(stock, in->stock, in->n_regions * np * sizeof *stock);
	long accepted = 0, insufficient = 0, bulk = 0;
	size_t next_restock = 0;
	uint64_t hash = 1469598103934665603ULL;
	for (int64_t s = 0; s < in->duration_us / 1000000; s++) {
		scenario_set_time(sc, s * 1000000);
		while (next_restock < in->n_restocks && in->restocks[next_restock].at_us <= s * 1000000) {
			const struct scenario_restock *rs = &in->restocks[next_restock++];
			for (size_t r = 0; r < in->n_regions; r++)
				for (size_t p = 0; p < np; p++)
					if (!strcmp(in->regions[r], rs->region) &&
					    !strcmp(in->products[p].sku, rs->sku))
						stock[r * np + p] += rs->quantity;
		}
		for (size_t r = 0; r < in->n_regions; r++) {
			double rate = scenario_rate(sc, r, err, sizeof err);
			for (int k = 0; k < (int)rate; k++) {
				struct ddb_order o;
				memset(&o, 0, sizeof o);
				assert_int_equal(scenario_next_order(sc, r, &o, err, sizeof err), 0);
				size_t p = 0;
				while (p < np && strcmp(in->products[p].sku, o.sku) != 0)
					p++;
				assert_true(p < np);
				assert_true(o.quantity >= 1);
				assert_int_equal(strncmp(o.customer, "c", 1), 0);
				bulk += o.quantity >= 10;
				for (const char *c = o.sku; *c; c++)
					hash = (hash ^ (unsigned char)*c) * 1099511628211ULL;
				hash = (hash ^ (uint64_t)o.quantity) * 1099511628211ULL;
				if (stock[r * np + p] >= o.quantity) {
					stock[r * np + p] -= o.quantity;
					accepted++;
				} else {
					insufficient++;
				}
			}
		}
	}
	assert_true(accepted + insufficient == 45 * 60);
	assert_true(insufficient > 0);
	assert_true(accepted > insufficient);
	assert_true(bulk > 0);
	free(stock);
	scenario_free(sc);

	/* the same seed gives the same orders */
	sc = load_ok(path, bundled);
	uint64_t hash2 = 1469598103934665603ULL;
	for (int64_t s = 0; s < 60; s++) {
		scenario_set_time(sc, s * 1000000);
		for (size_t r = 0; r < 3; r++)
			for (int k = 0; k < (int)scenario_rate(sc, r, err, sizeof err); k++) {
				struct ddb_order o;
				memset(&o, 0, sizeof o);
				assert_int_equal(scenario_next_order(sc, r, &o, err, sizeof err), 0);
				for (const char *c = o.sku; *c; c++)
					hash2 = (hash2 ^ (unsigned char)*c) * 1099511628211ULL;
				hash2 = (hash2 ^ (uint64_t)o.quantity) * 1099511628211ULL;
			}
	}
	assert_true(hash == hash2);
	scenario_free(sc);
}

static cJSON *ecommerce_facts(int central_mouse_units)
{
	cJSON *f = cJSON_CreateObject();
	cJSON *orders = cJSON_AddObjectToObject(f, "orders");
	cJSON_AddNumberToObject(orders, "accepted", 4);
	cJSON *rej = cJSON_AddObjectToObject(orders, "rejected");
	cJSON_AddNumberToObject(rej, "insufficient_stock", 1);
	cJSON *regions = cJSON_AddObjectToObject(f, "regions");
	static const char *const names[] = { "seattle", "boston", "denver" };
	for (int i = 0; i < 3; i++) {
		cJSON *r = cJSON_AddObjectToObject(regions, names[i]);
		cJSON *sold = cJSON_AddObjectToObject(r, "sold");
		cJSON_AddNumberToObject(sold, "MOUSE", i + 1);
		cJSON_AddNumberToObject(sold, "LAPTOP", i == 0 ? 2 : 0);
		cJSON_AddObjectToObject(r, "stock");
		cJSON_AddObjectToObject(r, "received");
	}
	cJSON *central = cJSON_AddObjectToObject(f, "central");
	cJSON *bp = cJSON_AddObjectToObject(central, "by_product");
	cJSON *m = cJSON_AddObjectToObject(bp, "MOUSE");
	cJSON_AddNumberToObject(m, "orders", 3);
	cJSON_AddNumberToObject(m, "units", central_mouse_units);
	cJSON_AddNumberToObject(m, "revenue_cents", central_mouse_units * 1999);
	cJSON *l = cJSON_AddObjectToObject(bp, "LAPTOP");
	cJSON_AddNumberToObject(l, "orders", 1);
	cJSON_AddNumberToObject(l, "units", 2);
	cJSON_AddNumberToObject(l, "revenue_cents", 2 * 99999);
	cJSON_AddObjectToObject(central, "by_region");
	return f;
}

static void test_ecommerce_check(void **state)
{
	(void)state;
	char path[4200];
	bundled_path(path, sizeof path, "ecommerce.lua");
	struct scenario *sc = load_ok(path, bundled);
	struct results res = { 0 };
	cJSON *f = ecommerce_facts(6);
	scenario_run_checks(sc, f, collect, &res);
	cJSON_Delete(f);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.name[0], "central units per product equal the regions' sales");
	if (!res.ok[0])
		fail_msg("check failed: %s", res.detail[0]);
	results_free(&res);
	f = ecommerce_facts(5);
	scenario_run_checks(sc, f, collect, &res);
	cJSON_Delete(f);
	assert_int_equal(res.n, 1);
	assert_false(res.ok[0]);
	assert_string_equal(res.detail[0], "MOUSE: 5 units at the center, 6 sold in the regions");
	results_free(&res);
	scenario_free(sc);
}

static void test_load_flash_sale(void **state)
{
	(void)state;
	char path[4200], err[ERRLEN], reason[256];
	bundled_path(path, sizeof path, "flash_sale.lua");
	struct scenario *sc = load_ok(path, bundled);
	const struct scenario_info *in = scenario_info(sc);
	assert_string_equal(in->name, "flash_sale");
	assert_int_equal(in->n_regions, 3);
	assert_int_equal(in->n_products, 4);
	assert_string_equal(in->products[0].sku, "LAPTOP");
	assert_int_equal(in->products[0].price_cents, 99999);
	/* boston down at 20 s for 15 s */
	assert_int_equal(in->n_failures, 2);
	assert_int_equal(in->failures[0].at_us, 20000000);
	assert_string_equal(in->failures[0].target, "boston");
	assert_int_equal(in->failures[0].action, FAILURE_DOWN);
	assert_int_equal(in->failures[1].at_us, 35000000);
	assert_string_equal(in->failures[1].target, "boston");
	assert_int_equal(in->failures[1].action, FAILURE_UP);

	/* the rate triples during the sale */
	scenario_set_time(sc, 5000000);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 10.0);
	assert_string_equal(err, "");
	scenario_set_time(sc, 15000000);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 30.0);
	assert_true(scenario_rate(sc, 1, err, sizeof err) == 24.0);

	/* the limit: at most 2 laptops per order */
	struct ddb_order o = make_order("LAPTOP", 3, 99999);
	assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_REJECT);
	assert_string_equal(reason, "limit_per_customer");
	/* the discount during the sale */
	o = make_order("LAPTOP", 2, 99999);
	o.placed_at_us = 15000000;
	assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ACCEPT);
	assert_string_equal(reason, "");
	assert_int_equal(o.unit_price_cents, 89999);
	assert_int_equal(o.quantity, 2);
	o = make_order("LAPTOP", 1, 99999);
	o.placed_at_us = 45000000;
	assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ACCEPT);
	assert_int_equal(o.unit_price_cents, 99999);
	o = make_order("MOUSE", 7, 1999);
	assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ACCEPT);
	assert_int_equal(o.quantity, 7);

	/* orders: laptops dominate during the sale, some above the limit */
	long laptops = 0, over = 0;
	for (int i = 0; i < 2000; i++) {
		memset(&o, 0, sizeof o);
		assert_int_equal(scenario_next_order(sc, 0, &o, err, sizeof err), 0);
		if (!strcmp(o.sku, "LAPTOP")) {
			laptops++;
			over += o.quantity > 2;
		}
	}
	assert_true(laptops > 1200 && laptops < 1600);
	assert_true(over > 0);

	/* the checks */
	cJSON *f = cJSON_CreateObject();
	cJSON *l = cJSON_AddObjectToObject(
	        cJSON_AddObjectToObject(cJSON_AddObjectToObject(f, "central"), "by_product"),
	        "LAPTOP");
	cJSON_AddNumberToObject(l, "orders", 3);
	cJSON_AddNumberToObject(l, "units", 5);
	cJSON_AddNumberToObject(l, "revenue_cents", 2 * 89999 + 3 * 99999);
	struct results res = { 0 };
	scenario_run_checks(sc, f, collect, &res);
	assert_int_equal(res.n, 2);
	assert_string_equal(res.name[0], "laptop orders respect the per-order limit");
	assert_string_equal(res.name[1], "laptops sold at the list or the sale price");
	assert_true(res.ok[0]);
	assert_true(res.ok[1]);
	results_free(&res);
	cJSON_ReplaceItemInObject(l, "units", cJSON_CreateNumber(7));
	cJSON_ReplaceItemInObject(l, "revenue_cents", cJSON_CreateNumber(7 * 99999 - 1));
	scenario_run_checks(sc, f, collect, &res);
	assert_false(res.ok[0]);
	assert_string_equal(res.detail[0], "7 laptops in 3 orders: more than 2 per order");
	assert_false(res.ok[1]);
	results_free(&res);
	cJSON_Delete(f);
	scenario_free(sc);
}

/* ---- loading: fixtures ---------------------------------------------------- */

static void test_minimal_defaults(void **state)
{
	(void)state;
	const char *p = write_script("mini.lua", MINI_HEAD "}\n");
	struct scenario *sc = load_ok(p, NULL);
	const struct scenario_info *in = scenario_info(sc);
	assert_string_equal(in->name, "mini"); /* from the file name */
	assert_int_equal(in->duration_us, 60000000);
	assert_int_equal(in->n_products, 2);
	assert_string_equal(in->products[0].name, "A"); /* defaults to the sku */
	assert_int_equal(in->products[0].price_cents, 150);
	assert_int_equal(in->products[1].price_cents, 200);
	assert_int_equal(in->stock[0 * 2 + 0], 10);
	assert_int_equal(in->stock[1 * 2 + 0], 10);
	assert_int_equal(in->stock[0 * 2 + 1], 3);
	assert_int_equal(in->stock[1 * 2 + 1], 0); /* a region left out has none */
	char err[ERRLEN];
	struct ddb_order o;
	memset(&o, 0, sizeof o);
	assert_int_equal(scenario_next_order(sc, 1, &o, err, sizeof err), 0);
	assert_string_equal(o.sku, "A");
	assert_int_equal(o.quantity, 1);           /* default */
	assert_string_equal(o.customer, "guest"); /* default */
	assert_true(scenario_rate(sc, 1, err, sizeof err) == 5.0);
	/* out-of-range region index */
	assert_int_equal(scenario_next_order(sc, 2, &o, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	assert_true(scenario_rate(sc, 7, err, sizeof err) == 0.0);
	assert_true(err[0] != '\0');
	scenario_free(sc);
	scenario_free(NULL);
}

static void test_failures_and_restocks_sorted(void **state)
{
	(void)state;
	const char *p = write_script(
	        "sched.lua", MINI_HEAD
	        "  restocks = { { at = 40, region = 'north', sku = 'A', quantity = 1 },\n"
	        "               { at = 10, region = 'south', sku = 'B', quantity = 2 },\n"
	        "               { at = 10, region = 'north', sku = 'B', quantity = 3.0 } },\n"
	        "  failures = {\n"
	        "    { at = 30, target = 'central', action = 'down', duration = 5 },\n"
	        "    { at = 10, target = 'north', action = 'down', duration = 25 },\n"
	        "    { at = 35, target = 'broker', action = 'down' },\n"
	        "    { at = 0.5, target = 'documents', action = 'up' },\n"
	        "  },\n"
	        "}\n");
	struct scenario *sc = load_ok(p, NULL);
	const struct scenario_info *in = scenario_info(sc);
	assert_int_equal(in->n_restocks, 3);
	assert_int_equal(in->restocks[0].at_us, 10000000);
	assert_string_equal(in->restocks[0].region, "south");
	assert_int_equal(in->restocks[1].at_us, 10000000);
	assert_string_equal(in->restocks[1].region, "north");
	assert_int_equal(in->restocks[1].quantity, 3);
	assert_int_equal(in->restocks[2].at_us, 40000000);
	static const struct {
		int64_t at;
		const char *target;
		int action;
	} want[] = {
		{ 500000, "documents", FAILURE_UP }, { 10000000, "north", FAILURE_DOWN },
		{ 30000000, "central", FAILURE_DOWN }, { 35000000, "central", FAILURE_UP },
		{ 35000000, "north", FAILURE_UP },   { 35000000, "broker", FAILURE_DOWN },
	};
	assert_int_equal(in->n_failures, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(in->failures[i].at_us, want[i].at);
		assert_string_equal(in->failures[i].target, want[i].target);
		assert_int_equal(in->failures[i].action, want[i].action);
	}
	scenario_free(sc);
}

static void test_validation_errors(void **state)
{
	(void)state;
	static const struct {
		const char *script;
		const char *want;
	} cases[] = {
		{ "return { catalog = {}, workload = {} }\n", "regions: must be a list" },
		{ "return { regions = {}, catalog = {} }\n", "regions: must name at least one" },
		{ "return { regions = { 'a', 'a' } }\n", "regions[2]: duplicate region \"a\"" },
		{ "return { regions = { 'central' } }\n", "regions[1]: \"central\" is reserved" },
		{ "return { regions = { 'new york' } }\n", "regions[1]: \"new york\" is not a valid" },
		{ "return { regions = { 'a', x = 1 } }\n", "regions: must be a list" },
		{ "return { regions = { 'a' } }\n", "catalog: must be a list" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 }, "
		  "{ sku = 'A', price = 2 } } }\n",
		  "catalog[2].sku: duplicate sku \"A\"" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, "
		  "stock = { a = 1, east = 2, west = 1 } } } }\n",
		  "catalog[1].stock.east: unknown region" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = -1 } } }\n",
		  "catalog[1].price: must be a non-negative number" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 0/0 } } }\n",
		  "catalog[1].price: must be a non-negative number" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = math.huge } } }\n",
		  "catalog[1].price: must be a non-negative number" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1000000.01 } } }\n",
		  "catalog[1].price: must be a non-negative number of at most 1000000" },
		/* What a run can sell is bounded: stock everywhere + restocks. */
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, "
		  "stock = 10000000001 } } }\n",
		  "catalog[1].stock: must be between 0 and 10000000000, got 10000000001" },
		{ "return { regions = { 'a', 'b' }, catalog = { { sku = 'A', price = 1, "
		  "stock = 5000000001 } } }\n",
		  "catalog[1].stock: the stock of every product in every region and the restocks add "
		  "up to more than 10000000000 units" },
		{ "return { regions = { 'a', 'b' }, catalog = { { sku = 'A', price = 1, "
		  "stock = 5000000000 }, { sku = 'B', price = 1, stock = { b = 1 } } } }\n",
		  "catalog[2].stock.b: the stock of every product in every region and the restocks "
		  "add up to more than 10000000000 units" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, "
		  "stock = 9999999999 } }, restocks = { { at = 1, region = 'a', sku = 'A', "
		  "quantity = 1 }, { at = 2, region = 'a', sku = 'A', quantity = 1 } } }\n",
		  "restocks[2].quantity: the stock of every product in every region and the restocks "
		  "add up to more than 10000000000 units" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = '1' } } }\n",
		  "catalog[1].price: must be a non-negative number" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A' } } }\n",
		  "catalog[1].price: must be a non-negative number" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', prise = 1 } } }\n",
		  "catalog[1].prise: unknown field (expected sku, name, price, components, stock)" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, stock = 2.5 } } }\n",
		  "catalog[1].stock: must be an integer, got 2.5" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, stock = -1 } } }\n",
		  "catalog[1].stock: must be between 0 and" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, "
		  "components = { Z = 1, Y = 2 } } } }\n",
		  "catalog[1].components.Y: unknown sku (not in the catalog)" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, "
		  "components = { A = 1 } } } }\n",
		  "catalog[1].components.A: a product cannot be its own component" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, "
		  "components = { 'B' } }, { sku = 'B', price = 1 } } }\n",
		  "catalog[1].components: must map SKUs to quantities" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 }, "
		  "{ sku = 'B', price = 1, components = { A = 0 } } } }\n",
		  "catalog[2].components.A: must be between 1 and" },
		{ "local c = {}\nfor i = 1, 20 do c[i] = { sku = 'P' .. i, price = 1 } end\n"
		  "c[1].components = {}\nfor i = 2, 18 do c[1].components['P' .. i] = 1 end\n"
		  "return { regions = { 'a' }, catalog = c }\n",
		  "catalog[1].components: more than 16 components" },
		{ "return { regions = { 'a' }, catalog = { { sku = string.rep('S', 64), price = 1 } } }\n",
		  "catalog[1].sku: too long (64 bytes, at most 63)" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1, "
		  "name = string.rep('n', 192) } } }\n",
		  "catalog[1].name: too long (192 bytes, at most 191)" },
		{ "return { regions = { string.rep('r', 64) } }\n",
		  "regions[1]: too long (64 bytes, at most 63)" },
		{ "return { name = string.rep('x', 64), regions = { 'a' } }\n",
		  "name: too long (64 bytes, at most 63)" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A\\0B', price = 1 } } }\n",
		  "catalog[1].sku: must not contain a NUL byte" },
		{ "return { regions = { 'a' }, catalog = { { sku = '', price = 1 } } }\n",
		  "catalog[1].sku: must not be empty" },
		{ "return { colour = 'red', regions = { 'a' } }\n", "colour: unknown field" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "duration = 0 }\n",
		  "duration: must be a number of seconds > 0" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "restocks = { { at = -1, region = 'a', sku = 'A', quantity = 1 } } }\n",
		  "restocks[1].at: must be a number of seconds >= 0" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "restocks = { { at = 1, region = 'b', sku = 'A', quantity = 1 } } }\n",
		  "restocks[1].region: unknown region \"b\"" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "restocks = { { at = 1, region = 'a', sku = 'Q', quantity = 1 } } }\n",
		  "restocks[1].sku: unknown sku \"Q\"" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "restocks = { { at = 1, region = 'a', sku = 'A', quantity = 0 } } }\n",
		  "restocks[1].quantity: must be between 1 and" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "failures = { { at = 1, target = 'a', action = 'explode' } } }\n",
		  "failures[1].action: must be one of \"down\", \"up\"" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "failures = { { at = 1, target = 'mars', action = 'down' } } }\n",
		  "failures[1].target: unknown node \"mars\"" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "failures = { { at = -5, target = 'a', action = 'down' } } }\n",
		  "failures[1].at: must be a number of seconds >= 0" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "failures = { { at = 1, target = 'a', action = 'up', duration = 3 } } }\n",
		  "failures[1].duration: an \"up\" step has no duration" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "failures = { { at = 1, target = 'a', action = 'down', duration = 0 } } }\n",
		  "failures[1].duration: must be a number of seconds > 0" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } } }\n",
		  "workload: must be a table" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1 } }\n",
		  "workload.order: must be a function" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = -1, order = print } }\n",
		  "workload.rate: must be a number of orders per second from 0 to 1000000" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = { a = 1, east = 2 }, order = print } }\n",
		  "workload.rate.east: unknown region" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1, order = print, mix = 2 } }\n",
		  "workload.mix: unknown field (expected rate, order, customers)" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1, order = print }, rules = { customer = print } }\n",
		  "rules.customer: unknown field (expected order, customer_home, customer_replicas)" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1, order = print }, checks = { x = 1 } }\n",
		  "checks[\"x\"]: must be a function" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1, order = print }, checks = { print } }\n",
		  "checks: every check needs a name" },
		{ "return 42\n", "the script returned number" },
		{ "local x = 1\n", "the script returned nothing" },
		/* names are valid UTF-8 */
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 }, "
		  "{ sku = 'B', name = 'caf\\xe9', price = 1 } } }\n",
		  "catalog[2].name: not valid UTF-8" },
		{ "return { regions = { 'a' }, catalog = { { sku = '\\xc3\\x28', price = 1 } } }\n",
		  "catalog[1].sku: not valid UTF-8" },
		{ "return { name = '\\xed\\xa0\\x80', regions = { 'a' }, "
		  "catalog = { { sku = 'A', price = 1 } } }\n",
		  "name: not valid UTF-8" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1, order = print }, "
		  "checks = { ['ok'] = print, ['\\xf8\\x88\\x80\\x80\\x80'] = print } }\n",
		  "checks[\"?????\"]: the name is not valid UTF-8" },
		/* limits */
		{ "local r = {}\nfor i = 1, 62 do r[i] = 'r' .. i end\n"
		  "return { regions = r, catalog = { { sku = 'A', price = 1 } } }\n",
		  "regions: at most 61 regions (64 nodes with central, documents and broker), got 62" },
		{ "local f = {}\nfor i = 1, 32 do\n"
		  "  f[i] = { at = i, action = 'down', target = { 'a', 'b', 'c', 'd' }, duration = 1 }\n"
		  "end\n"
		  "f[33] = { at = 1, action = 'drop', probability = 0.5 }\n"
		  "return { regions = { 'a', 'b', 'c', 'd' }, catalog = { { sku = 'A', price = 1 } }, "
		  "failures = f }\n",
		  "failures[33]: more than 256 failure steps in all" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1, order = print }, "
		  "checks = { [string.rep('c', 92)] = print } }\n",
		  "the name is too long (92 bytes, at most 91)" },
		{ "local r = {}\nfor i = 1, 12 do r[i] = 'r' .. i end\n"
		  "return { regions = r, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1, order = print, customers = { rate = 1, operation = print, "
		  "replication = 9 } } }\n",
		  "workload.customers.replication: at most 8 replicas, got 9" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1000001, order = print } }\n",
		  "workload.rate: must be a number of orders per second from 0 to 1000000, got 1000001" },
		{ "return { regions = { 'a', 'b' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = { a = 1, b = 1e300 }, order = print } }\n",
		  "workload.rate.b: must be a number of orders per second from 0 to 1000000" },
		{ "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } }, "
		  "workload = { rate = 1, order = print, customers = { rate = 2e6, operation = print } } }\n",
		  "workload.customers.rate: must be a number of operations per second from 0 to 1000000" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[32];
		snprintf(name, sizeof name, "bad%02zu.lua", i);
		load_fails(write_script(name, cases[i].script), ": ", cases[i].want);
	}
}

static void test_syntax_and_runtime_errors(void **state)
{
	(void)state;
	char err[ERRLEN];
	/* a syntax error names the script and the line */
	const char *p = write_script("syntax.lua", "-- line 1\nlocal x = 1\nlocal y = = 2\nreturn {}\n");
	load_fails(p, ":3:", "unexpected symbol");
	/* a runtime error at the top level */
	p = write_script("runtime.lua", "local t = {}\n\n\nlocal v = t.a.b\nreturn {}\n");
	load_fails(p, ":4: ", "attempt to index a nil value (field 'a')");
	p = write_script("error.lua", "local x = 1\nerror('boom')\n");
	struct scenario *sc = load_seeded(p, NULL, 1, err);
	assert_null(sc);
	char want[4200];
	snprintf(want, sizeof want, "%s:2: boom", p);
	assert_string_equal(err, want);
	/* error() without a position, and with a table: the line is found */
	p = write_script("error0.lua", "local x = 1\n\nerror('plain', 0)\n");
	load_fails(p, ":3: ", "plain");
	p = write_script("errtab.lua", "local x = 1\nerror({})\n");
	load_fails(p, ":2: ", "(error object is a table value)");
	/* a missing script */
	snprintf(want, sizeof want, "%s/does-not-exist.lua", tmpdir);
	load_fails(want, ": ", "cannot open the script");
	/* with shop.scenario, ddbsim still names the field */
	p = write_script("shopbad.lua", "local shop = require 'shop'\n\nreturn shop.scenario {\n"
	                                "  regions = {},\n}\n");
	sc = load_seeded(p, bundled, 1, err);
	assert_null(sc);
	snprintf(want, sizeof want, "%s: regions: must name at least one region", p);
	assert_string_equal(err, want);
	/* a shop helper misused names the line of the call */
	p = write_script("shopbad2.lua",
	                 "local shop = require 'shop'\n"
	                 "return shop.scenario {\n"
	                 "  regions = { 'a' }, catalog = { { sku = 'A', price = 1 } },\n"
	                 "  workload = { order = shop.orders { products = 5 } },\n"
	                 "}\n");
	sc = load_seeded(p, bundled, 1, err);
	assert_null(sc);
	snprintf(want, sizeof want, "%s:4: shop.orders: products:", p);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
}

static void test_long_path_messages(void **state)
{
	(void)state;
	/* Lua shortens chunk names longer than LUA_IDSIZE to "...tail": the
	 * message gets the full path back. */
	char dir[512], name[600], want[4400], err[ERRLEN];
	snprintf(dir, sizeof dir, "a-directory-name-long-enough-to-make-lua-shorten-the-chunk-id");
	mkdir_tmp(dir);
	snprintf(name, sizeof name, "%s/syntax.lua", dir);
	const char *p = write_script(name, "local x = 1\nlocal y = = 2\n");
	assert_true(strlen(p) > 60);
	snprintf(want, sizeof want, "%s:2: ", p);
	struct scenario *sc = load_seeded(p, NULL, 1, err);
	assert_null(sc);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);

	snprintf(name, sizeof name, "%s/hook.lua", dir);
	p = write_script(name, MINI_HEAD "  rules = { order = function(o)\n"
	                                 "    error('long')\n  end },\n}\n");
	char path[4200];
	snprintf(path, sizeof path, "%s", p);
	sc = load_ok(path, NULL);
	struct ddb_order o = make_order("A", 1, 150);
	char reason[DDB_ERR_MAX];
	assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ERROR);
	snprintf(want, sizeof want, "%s:7: in hook rules.order: long", path);
	assert_string_equal(reason, want);
	scenario_free(sc);
}

/* ---- hooks ---------------------------------------------------------------- */

static void test_hook_errors(void **state)
{
	(void)state;
	const char *p = write_script(
	        "hookerr.lua",
	        "return {\n"                                                              /* 1 */
	        "  regions = { 'north' },\n"                                              /* 2 */
	        "  catalog = { { sku = 'A', price = 1 } },\n"                             /* 3 */
	        "  workload = { rate = 1, order = function() return { sku = 'A' } end },\n" /* 4 */
	        "  rules = {\n"                                                           /* 5 */
	        "    order = function(order)\n"                                           /* 6 */
	        "      if order.quantity == 13 then\n"                                    /* 7 */
	        "        error('unlucky')\n"                                              /* 8 */
	        "      end\n"                                                             /* 9 */
	        "      if order.quantity == 14 then\n"                                    /* 10 */
	        "        local x = nil; return x.y\n"                                     /* 11 */
	        "      end\n"                                                             /* 12 */
	        "      if order.quantity == 15 then error({}) end\n"                      /* 13 */
	        "      if order.quantity == 16 then error('no position', 0) end\n"        /* 14 */
	        "      if order.quantity == 17 then local v = math.random(2, 1) end\n"    /* 15 */
	        "      local function deep(n) return 1 + deep(n + 1) end\n"               /* 16 */
	        "      if order.quantity == 18 then return deep(1) end\n"                 /* 17 */
	        "      return true\n"                                                     /* 18 */
	        "    end,\n"                                                              /* 19 */
	        "  },\n"
	        "}\n");
	char path[4200], want[4400], reason[DDB_ERR_MAX];
	snprintf(path, sizeof path, "%s", p);
	struct scenario *sc = load_ok(path, NULL);
	static const struct {
		int64_t q;
		int line;
		const char *msg;
	} cases[] = {
		{ 13, 8, "unlucky" },
		{ 14, 11, "attempt to index a nil value (local 'x')" },
		{ 15, 13, "(error object is a table value)" },
		{ 16, 14, "no position" },
		{ 17, 15, "bad argument #1 to 'random' (interval is empty)" },
		{ 18, 16, "stack overflow" },
	};
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
			struct ddb_order o = make_order("A", cases[i].q, 100);
			assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ERROR);
			snprintf(want, sizeof want, "%s:%d: in hook rules.order: %s", path, cases[i].line,
			         cases[i].msg);
			if (strncmp(reason, want, strlen(want)) != 0)
				fail_msg("\"%s\"\n  expected \"%s\"", reason, want);
			assert_int_equal(o.quantity, cases[i].q); /* unchanged */
			/* the next call works */
			o = make_order("A", 1, 100);
			assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ACCEPT);
			assert_string_equal(reason, "");
		}
	/* a small reason buffer truncates, never overflows */
	struct ddb_order o = make_order("A", 13, 100);
	char small[8];
	assert_int_equal(scenario_order_rule(sc, &o, small, sizeof small), RULE_ERROR);
	assert_int_equal(strlen(small), 7);
	scenario_free(sc);
}

static void test_next_order_and_rate(void **state)
{
	(void)state;
	const char *p = write_script(
	        "orders.lua",
	        "return {\n"
	        "  regions = { 'north', 'south' },\n"
	        "  catalog = { { sku = 'A', price = 1 }, { sku = 'B', price = 1 } },\n"
	        "  workload = {\n"
	        "    rate = function(region, t)\n"                               /* 5 */
	        "      if t == 1 then error('rate boom') end\n"                  /* 6 */
	        "      if t == 2 then return -1 end\n"                           /* 7 */
	        "      if t == 3 then return 'x' end\n"                          /* 8 */
	        "      return region == 'north' and 7.5 or 2\n"                  /* 9 */
	        "    end,\n"                                                     /* 10 */
	        "    order = function(region, t)\n"                              /* 11 */
	        "      if t == 0 then return { sku = 'A', quantity = 2, customer = 'c-' .. region } end\n"
	        "      if t == 1 then return nil end\n"                          /* 13 */
	        "      if t == 2 then return { sku = 'A', quantity = 1.5 } end\n"
	        "      if t == 3 then return { sku = 'A', quantity = '2' } end\n"
	        "      if t == 4 then return { sku = 'A', customer = string.rep('c', 64) } end\n"
	        "      if t == 5 then return { sku = 'A', qty = 2 } end\n"
	        "      if t == 6 then error('order boom') end\n"                 /* 18 */
	        "      if t == 7 then return { sku = 'A', quantity = 3.0 } end\n"
	        "      if t == 8 then return { sku = 'B' } end\n"
	        "      if t == 9 then return { sku = 'A', quantity = 0 } end\n"
	        "      if t == 10 then return { sku = 'A', quantity = 1e300 } end\n"
	        "      if t == 11 then return { sku = 'A', quantity = math.maxinteger } end\n"
	        "      if t == 12 then return { sku = 42 } end\n"
	        "      if t == 13 then return { quantity = 1 } end\n"
	        "      if t == 14 then return { sku = '\xc3\x9c" "n\xc3\xaf" "code \"q\" \xe2\x9c\x93', "
	        "customer = 'Zo\xc3\xab' } end\n"
	        "      if t == 15 then return { sku = 'A', quantity = -3 } end\n"
	        "      return { sku = 'B', quantity = math.random(1, 100) }\n"
	        "    end,\n"
	        "  },\n"
	        "}\n");
	char path[4200], want[4400], err[ERRLEN];
	snprintf(path, sizeof path, "%s", p);
	struct scenario *sc = load_ok(path, NULL);
	struct ddb_order o;
	memset(&o, 0, sizeof o);

	/* rate */
	scenario_set_time(sc, 0);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 7.5);
	assert_string_equal(err, "");
	assert_true(scenario_rate(sc, 1, err, sizeof err) == 2.0);
	scenario_set_time(sc, 1000000);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 0.0);
	snprintf(want, sizeof want, "%s:6: in hook workload.rate: rate boom", path);
	assert_string_equal(err, want);
	scenario_set_time(sc, 2000000);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 0.0);
	snprintf(want, sizeof want, "%s:5: in hook workload.rate: returned -1", path);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
	scenario_set_time(sc, 3000000);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 0.0);
	assert_non_null(strstr(err, "returned a string"));

	/* orders */
	static const struct {
		int t;
		int rc;
		const char *sku, *customer;
		int64_t q;
		const char *err; /* after "PATH:LINE: in hook workload.order: " */
		int line;
	} cases[] = {
		{ 0, 0, "A", "c-north", 2, NULL, 0 },
		{ 1, -1, NULL, NULL, 0, "returned nothing, expected a table", 11 },
		{ 2, -1, NULL, NULL, 0, "quantity: must be an integer, got 1.5", 11 },
		{ 3, -1, NULL, NULL, 0, "quantity: must be an integer, got a string", 11 },
		{ 4, -1, NULL, NULL, 0, "customer: too long (64 bytes, at most 63)", 11 },
		{ 5, -1, NULL, NULL, 0, "returned an order with the unknown field 'qty'", 11 },
		{ 6, -1, NULL, NULL, 0, "order boom", 18 },
		{ 7, 0, "A", "guest", 3, NULL, 0 },
		{ 8, 0, "B", "guest", 1, NULL, 0 },
		{ 9, 0, "A", "guest", 0, NULL, 0 },
		{ 10, -1, NULL, NULL, 0, "quantity: 1e+300 is out of the 64-bit integer range", 11 },
		{ 11, 0, "A", "guest", INT64_MAX, NULL, 0 },
		{ 12, -1, NULL, NULL, 0, "sku: must be a string, got a number", 11 },
		{ 13, -1, NULL, NULL, 0, "sku: must be a string, got a nil", 11 },
		{ 14, 0, "\xc3\x9c" "n\xc3\xaf" "code \"q\" \xe2\x9c\x93", "Zo\xc3\xab", 1, NULL, 0 },
		{ 15, 0, "A", "guest", -3, NULL, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		memset(&o, 0, sizeof o);
		snprintf(o.sku, sizeof o.sku, "untouched");
		scenario_set_time(sc, cases[i].t * 1000000LL);
		int rc = scenario_next_order(sc, 0, &o, err, sizeof err);
		if (rc != cases[i].rc)
			fail_msg("t=%d: rc %d, err %s", cases[i].t, rc, err);
		if (rc == 0) {
			assert_string_equal(err, "");
			assert_string_equal(o.sku, cases[i].sku);
			assert_string_equal(o.customer, cases[i].customer);
			assert_int_equal(o.quantity, cases[i].q);
		} else {
			snprintf(want, sizeof want, "%s:%d: in hook workload.order: %s", path,
			         cases[i].line, cases[i].err);
			if (strncmp(err, want, strlen(want)) != 0)
				fail_msg("t=%d: error \"%s\"\n  expected \"%s...\"", cases[i].t, err, want);
			assert_string_equal(o.sku, "untouched"); /* not written on failure */
		}
	}
	scenario_set_time(sc, 99000000);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(scenario_next_order(sc, 1, &o, err, sizeof err), 0);
		assert_string_equal(o.sku, "B");
		assert_in_range(o.quantity, 1, 100);
	}
	scenario_free(sc);
}

static void test_rules(void **state)
{
	(void)state;
	const char *p = write_script(
	        "rules.lua", MINI_HEAD
	        "  rules = { order = function(o)\n"                                          /* 6 */
	        "    local q = o.quantity\n"
	        "    if o.sku == 'B' then return false, 'no_b' end\n"
	        "    if q == 2 then return { quantity = 3, unit_price = 0.285 } end\n"
	        "    if q == 4 then o.quantity = 5; o.unit_price = o.unit_price * 0.9 end\n" /* 10 */
	        "    if q == 5 then o.sku = 'B'; return o end\n"
	        "    if q == 6 then return { quantity = 6.5 } end\n"
	        "    if q == 7 then return { quantity = 2^63 } end\n"
	        "    if q == 8 then return { quantity = 0 } end\n"
	        "    if q == 9 then return { quantity = -5 } end\n"
	        "    if q == 10 then return { quantity = 11.0 } end\n"
	        "    if q == 12 then return { zz = 1, qty = 1, [3] = 1 } end\n"
	        "    if q == 15 then return { region = 'south' } end\n"
	        "    if q == 16 then return { region = 'nowhere' } end\n"
	        "    if q == 17 then return { unit_price = -1 } end\n"
	        "    if q == 18 then return 'nope' end\n"
	        "    if q == 19 then return false end\n"
	        "    if q == 20 then return false, string.rep('x', 200) end\n"
	        "    if q == 21 then return { customer = 'Zo\xc3\xab \"Q\" \\'s' } end\n"
	        "    if q == 22 then return false, tostring(ddbsim.now()) end\n"
	        "    if q == 23 then return { sku = string.rep('S', 64) } end\n"
	        "    if q == 24 then o.id = 'other' end\n"
	        "    if q == 25 then return { quantity = math.maxinteger, unit_price = 12 } end\n"
	        "    if q == 26 then return { id = o.id, region = o.region, placed_at = o.placed_at } end\n"
	        "    if q == 27 then return false, {} end\n"
	        "    if q == 28 then return nil end\n"
	        "    if q == 29 then return { unit_price = '3' } end\n"
	        "    return true\n"
	        "  end },\n"
	        "}\n");
	char path[4200], want[4400], reason[DDB_ERR_MAX];
	snprintf(path, sizeof path, "%s", p);
	struct scenario *sc = load_ok(path, NULL);
	scenario_set_time(sc, 1500000);
	static const struct {
		const char *sku;
		int64_t q;
		int verdict;
		const char *text; /* reject: the reason; error: after "in hook rules.order: " */
		const char *want_sku;
		int64_t want_q, want_price;
		const char *want_customer;
	} cases[] = {
		{ "B", 1, RULE_REJECT, "no_b", "B", 1, 150, "c1" },
		{ "A", 2, RULE_ACCEPT, NULL, "A", 3, 29, "c1" },
		{ "A", 4, RULE_ACCEPT, NULL, "A", 5, 135, "c1" },
		{ "A", 5, RULE_ACCEPT, NULL, "B", 5, 150, "c1" },
		{ "A", 6, RULE_ERROR, "order.quantity: must be an integer, got 6.5", "A", 6, 150, "c1" },
		{ "A", 7, RULE_ERROR, "order.quantity: 9.2233720368548e+18 is out of the 64-bit",
		  "A", 7, 150, "c1" },
		{ "A", 8, RULE_ACCEPT, NULL, "A", 0, 150, "c1" },
		{ "A", 9, RULE_ACCEPT, NULL, "A", -5, 150, "c1" },
		{ "A", 10, RULE_ACCEPT, NULL, "A", 11, 150, "c1" },
		{ "A", 12, RULE_ERROR, "returned a table with the unknown field 'qty'", "A", 12, 150,
		  "c1" },
		{ "A", 15, RULE_ACCEPT, NULL, "A", 15, 150, "c1" }, /* routed to south */
		{ "A", 16, RULE_ERROR, "order.region: \"nowhere\" is not a region of the scenario", "A",
		  16, 150, "c1" },
		{ "A", 17, RULE_ERROR, "order.unit_price: must be a non-negative number", "A", 17, 150,
		  "c1" },
		{ "A", 18, RULE_ERROR, "returned a string: return true (or nothing) to accept", "A", 18,
		  150, "c1" },
		{ "A", 19, RULE_REJECT, "rejected", "A", 19, 150, "c1" },
		{ "A", 20, RULE_ERROR, "the reason must be a string of at most 127 bytes", "A", 20,
		  150, "c1" },
		{ "A", 21, RULE_ACCEPT, NULL, "A", 21, 150, "Zo\xc3\xab \"Q\" 's" },
		{ "A", 22, RULE_REJECT, "1.5", "A", 22, 150, "c1" },
		{ "A", 23, RULE_ERROR, "order.sku: too long (64 bytes, at most 63)", "A", 23, 150,
		  "c1" },
		{ "A", 24, RULE_ERROR, "order.id cannot be changed", "A", 24, 150, "c1" },
		{ "A", 25, RULE_ACCEPT, NULL, "A", INT64_MAX, 1200, "c1" },
		{ "A", 26, RULE_ACCEPT, NULL, "A", 26, 150, "c1" },
		{ "A", 27, RULE_ERROR, "returned false and a table: the reason must be a string", "A",
		  27, 150, "c1" },
		{ "A", 28, RULE_REJECT, "rejected", "A", 28, 150, "c1" }, /* nil: as false */
		{ "A", 29, RULE_ERROR, "order.unit_price: must be a number, got a string", "A", 29,
		  150, "c1" },
		{ "A", 30, RULE_ACCEPT, NULL, "A", 30, 150, "c1" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct ddb_order o = make_order(cases[i].sku, cases[i].q, 150);
		int v = (int)scenario_order_rule(sc, &o, reason, sizeof reason);
		if (v != cases[i].verdict)
			fail_msg("q=%lld: verdict %d, reason %s", (long long)cases[i].q, v, reason);
		if (v == RULE_REJECT)
			assert_string_equal(reason, cases[i].text);
		else if (v == RULE_ERROR) {
			snprintf(want, sizeof want, "%s:6: in hook rules.order: %s", path, cases[i].text);
			if (strncmp(reason, want, strlen(want)) != 0)
				fail_msg("q=%lld: \"%s\"\n  expected \"%s...\"", (long long)cases[i].q,
				         reason, want);
		} else
			assert_string_equal(reason, "");
		assert_string_equal(o.sku, cases[i].want_sku);
		assert_int_equal(o.quantity, cases[i].want_q);
		assert_int_equal(o.unit_price_cents, cases[i].want_price);
		assert_string_equal(o.customer, cases[i].want_customer);
		assert_string_equal(o.id, "north-000001");
		assert_int_equal(o.placed_at_us, 1500000);
	}
	scenario_free(sc);
}

/* ---- the sandbox ---------------------------------------------------------- */

static void test_sandbox(void **state)
{
	(void)state;
	static const struct {
		const char *code;
		const char *want;
	} cases[] = {
		{ "os.execute('true')", "attempt to index a nil value (global 'os')" },
		{ "local t = os.time()", "attempt to index a nil value (global 'os')" },
		{ "io.popen('ls')", "attempt to index a nil value (global 'io')" },
		{ "io.open('/etc/passwd')", "attempt to index a nil value (global 'io')" },
		{ "dofile('/etc/passwd')", "attempt to call a nil value (global 'dofile')" },
		{ "loadfile('/etc/passwd')", "attempt to call a nil value (global 'loadfile')" },
		{ "local f, e = load('\\27Lua\\84\\0\\25\\147'); error(e, 0)",
		  "attempt to load a binary chunk (mode is 't')" },
		{ "local f, e = load('\\27LuaT', 'x', 'b'); error(e, 0)",
		  "attempt to load a binary chunk (mode is 't')" },
		{ "local f = string.dump(print)", "attempt to call a nil value (field 'dump')" },
		{ "package.loadlib('libc.so.6', 'system')",
		  "attempt to call a nil value (field 'loadlib')" },
		{ "package.searchpath('x', '/etc/?')", "attempt to call a nil value (field 'searchpath')" },
		{ "require('../x')", "require: module name '../x' refused" },
		{ "require('/etc/passwd')", "require: module name '/etc/passwd' refused" },
		{ "require('a..b')", "refused" },
		{ "require('os')", "module 'os' not found in" },
		{ "require('io')", "module 'io' not found in" },
		{ "require('debug')", "module 'debug' not found in" },
		{ "local d = debug.getinfo(1)", "attempt to index a nil value (global 'debug')" },
		{ "math.randomseed(1)", "use --seed" },
		{ "math.randomseed()", "use --seed" },
		{ "require('missing_module')", "module 'missing_module' not found in" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[32], text[512];
		snprintf(name, sizeof name, "sandbox%02zu.lua", i);
		/* line 2: the forbidden call */
		snprintf(text, sizeof text, "local x = 1\n%s\nreturn {}\n", cases[i].code);
		load_fails(write_script(name, text), ":2: ", cases[i].want);
	}
	/* what remains works: load of text, require from the script's
	 * directory (first) and from pkg_dir, dotted names, print */
	const char *pkg = mkdir_tmp("pkg");
	char pkgdir[4200];
	snprintf(pkgdir, sizeof pkgdir, "%s", pkg);
	write_script("pkg/both.lua", "return 'pkg'\n");
	write_script("pkg/onlypkg.lua", "return 'onlypkg'\n");
	write_script("both.lua", "return 'script dir'\n");
	mkdir_tmp("sub");
	write_script("sub/mod.lua", "return { value = 42, name = ... }\n");
	write_script("pkg/syntaxmod.lua", "local x =\n= 1\n");
	const char *p = write_script(
	        "sandbox_ok.lua",
	        "assert(load('return 1 + 1')() == 2)\n"
	        "assert(load(function() return nil end))\n"
	        "local env = { y = 3 }\n"
	        "assert(load('return y', 'chunk', 't', env)() == 3)\n"
	        "assert(require('both') == 'script dir')\n"
	        "assert(require('onlypkg') == 'onlypkg')\n"
	        "local m = require('sub.mod')\n"
	        "assert(m.value == 42 and m.name == 'sub.mod')\n"
	        "assert(require('sub.mod') == m)\n"
	        "print('print goes to stderr', 1, nil)\n"
	        "ddbsim.log('log goes to stderr', { }, 2.5)\n"
	        "assert(ddbsim.now() == 0)\n"
	        "assert(type(ddbsim.script) == 'string')\n"
	        "assert(collectgarbage('count') > 0)\n"
	        "assert(utf8.len('\xc3\xa9t\xc3\xa9') == 3)\n"
	        "assert(coroutine.wrap(function() coroutine.yield(5) end)() == 5)\n"
	        "assert(string.format('%d-%s', 3, 'x') == '3-x')\n"
	        "assert(os == nil and io == nil and debug == nil)\n"
	        "local ok, e = pcall(require, 'syntaxmod')\n"
	        "assert(not ok and e:find('syntaxmod.lua:2:', 1, true), e)\n"
	        "ok, e = pcall(require, '../x')\n"
	        "assert(not ok and e:find('sandbox_ok.lua:21:', 1, true), e)\n"
	        "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } },\n"
	        "         workload = { rate = 1, order = function() return { sku = 'A' } end } }\n");
	char err[ERRLEN];
	struct scenario *sc = load_seeded(p, pkgdir, 1, err);
	if (sc == NULL)
		fail_msg("%s", err);
	scenario_free(sc);
	/* without pkg_dir, require looks only in the script's directory */
	p = write_script("nopkg.lua", "require('onlypkg')\n");
	sc = load_seeded(p, NULL, 1, err);
	assert_null(sc);
	assert_non_null(strstr(err, ":1: module 'onlypkg' not found in "));
	/* an error in a module names the module and its line */
	p = write_script("usesbad.lua", "require('syntaxmod')\n");
	sc = load_seeded(p, pkgdir, 1, err);
	assert_null(sc);
	char want[4400];
	snprintf(want, sizeof want, "%s/syntaxmod.lua:2: ", pkgdir);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
}

/* ---- math.random ---------------------------------------------------------- */

static char *random_detail(const char *path, uint64_t seed)
{
	char err[ERRLEN];
	struct scenario *sc = load_seeded(path, NULL, seed, err);
	if (sc == NULL)
		fail_msg("%s", err);
	struct results res = { 0 };
	scenario_run_checks(sc, NULL, collect, &res);
	assert_int_equal(res.n, 1);
	assert_false(res.ok[0]);
	char *d = strdup(res.detail[0]);
	results_free(&res);
	scenario_free(sc);
	return d;
}

static void test_math_random(void **state)
{
	(void)state;
	/* argument semantics of Lua 5.4 */
	const char *p = write_script(
	        "random_args.lua",
	        "local x = math.random()\n"
	        "assert(math.type(x) == 'float' and x >= 0 and x < 1)\n"
	        "local seen = {}\n"
	        "for i = 1, 1000 do\n"
	        "  local v = math.random(6)\n"
	        "  assert(math.type(v) == 'integer' and v >= 1 and v <= 6)\n"
	        "  seen[v] = true\n"
	        "end\n"
	        "for v = 1, 6 do assert(seen[v]) end\n"
	        "for i = 1, 1000 do local v = math.random(-3, 3); assert(v >= -3 and v <= 3) end\n"
	        "assert(math.random(5, 5) == 5)\n"
	        "assert(math.random(3.0) <= 3)\n"
	        "assert(math.type(math.random(0)) == 'integer')\n"
	        "assert(pcall(math.random, math.mininteger, math.maxinteger))\n"
	        "local ok, e = pcall(math.random, 2, 1)\n"
	        "assert(not ok and e:find('interval is empty'), e)\n"
	        "ok, e = pcall(math.random, 0, -1)\n"
	        "assert(not ok and e:find('interval is empty'), e)\n"
	        "ok, e = pcall(math.random, -1)\n"
	        "assert(not ok and e:find('interval is empty'), e)\n"
	        "ok, e = pcall(math.random, 1, 2, 3)\n"
	        "assert(not ok and e:find('wrong number of arguments'), e)\n"
	        "ok, e = pcall(math.random, 1.5)\n"
	        "assert(not ok and e:find('number has no integer representation'), e)\n"
	        "ok, e = pcall(math.random, 'x')\n"
	        "assert(not ok and e:find('number expected'), e)\n"
	        "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } },\n"
	        "         workload = { rate = 1, order = function() return { sku = 'A' } end } }\n");
	char err[ERRLEN];
	struct scenario *sc = load_seeded(p, NULL, 7, err);
	if (sc == NULL)
		fail_msg("%s", err);
	scenario_free(sc);

	/* the draws come from the run's PRNG, in order */
	p = write_script(
	        "random_draws.lua",
	        "local d = {}\n"
	        "for i = 1, 5 do d[#d + 1] = tostring(math.random(1, 1000000)) end\n"
	        "d[#d + 1] = string.format('%.17g', math.random())\n"
	        "d[#d + 1] = tostring(math.random(0))\n"
	        "d[#d + 1] = tostring(math.random(10))\n"
	        "return { regions = { 'a' }, catalog = { { sku = 'A', price = 1 } },\n"
	        "         workload = { rate = 1, order = function() return { sku = 'A' } end },\n"
	        "         checks = { draws = function() return false, table.concat(d, ',') end } }\n");
	char path[4200];
	snprintf(path, sizeof path, "%s", p);
	char *a = random_detail(path, 42);
	char *b = random_detail(path, 42);
	char *c = random_detail(path, 43);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	struct prng r;
	prng_seed(&r, 42);
	char want[512];
	size_t n = 0;
	for (int i = 0; i < 5; i++)
		n += (size_t)snprintf(want + n, sizeof want - n, "%lld,",
		                      (long long)prng_range(&r, 1, 1000000));
	n += (size_t)snprintf(want + n, sizeof want - n, "%.17g,", prng_double(&r));
	n += (size_t)snprintf(want + n, sizeof want - n, "%lld,", (long long)(int64_t)prng_next(&r));
	snprintf(want + n, sizeof want - n, "%lld", (long long)prng_range(&r, 1, 10));
	assert_string_equal(a, want);
	free(a);
	free(b);
	free(c);

	/* hooks draw from the same PRNG, continuing the sequence */
	p = write_script("random_hook.lua",
	                 MINI_HEAD "  rules = { order = function(o)\n"
	                           "    return false, tostring(math.random(1, 1000))\n"
	                           "  end },\n}\n");
	sc = load_seeded(p, NULL, 99, err);
	assert_non_null(sc);
	prng_seed(&r, 99);
	for (int i = 0; i < 100; i++) {
		struct ddb_order o = make_order("A", 1, 150);
		char reason[64], expect[64];
		assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_REJECT);
		snprintf(expect, sizeof expect, "%lld", (long long)prng_range(&r, 1, 1000));
		assert_string_equal(reason, expect);
	}
	scenario_free(sc);
}

/* ---- prices and strings --------------------------------------------------- */

static void test_price_rounding(void **state)
{
	(void)state;
	static const struct {
		const char *lua;
		int64_t cents;
	} prices[] = {
		{ "0.285", 29 },   { "1.005", 101 },          { "999.995", 100000 },
		{ "0.004", 0 },    { "0.005", 1 },            { "19", 1900 },
		{ "0", 0 },        { "999.99", 99999 },       { "2.675", 268 },
		{ "0.1 + 0.2", 30 }, { "1e6", 100000000 }, { "123456.784", 12345678 },
		{ "1e-9", 0 },     { "0.015", 2 },            { "-0.0", 0 },
	};
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof text,
	                            "return { regions = { 'a' },\n"
	                            "  workload = { rate = 1, order = print },\n"
	                            "  catalog = {\n");
	for (size_t i = 0; i < sizeof prices / sizeof *prices; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "    { sku = 'P%zu', price = %s },\n",
		                      i, prices[i].lua);
	snprintf(text + n, sizeof text - n, "  },\n}\n");
	struct scenario *sc = load_ok(write_script("prices.lua", text), NULL);
	const struct scenario_info *in = scenario_info(sc);
	for (size_t i = 0; i < sizeof prices / sizeof *prices; i++)
		if (in->products[i].price_cents != prices[i].cents)
			fail_msg("price %s: %lld cents, expected %lld", prices[i].lua,
			         (long long)in->products[i].price_cents, (long long)prices[i].cents);
	scenario_free(sc);

	int64_t c = -7;
	assert_int_equal(scenario_price_cents(-0.01, &c), -1);
	assert_int_equal(scenario_price_cents(NAN, &c), -1);
	assert_int_equal(scenario_price_cents(INFINITY, &c), -1);
	assert_int_equal(scenario_price_cents(1e6 + 0.01, &c), -1);
	assert_int_equal(scenario_price_cents(1e13, &c), -1);
	assert_int_equal(c, -7);
	assert_int_equal(scenario_price_cents(12.345, &c), 0);
	assert_int_equal(c, 1235);
}

static void test_strings_round_trip(void **state)
{
	(void)state;
	/* 63 and 191 bytes fit; non-ASCII and quotes survive byte for byte */
	const char *p = write_script(
	        "strings.lua",
	        "return { name = '\xc3\x89t\xc3\xa9 \"sale\" \\'24',\n"
	        "  regions = { 'north-1', 'South_2' },\n"
	        "  catalog = {\n"
	        "    { sku = string.rep('K', 63), name = string.rep('\xc3\xa9', 95) .. 'x', price = 1 },\n"
	        "    { sku = 'caf\xc3\xa9', name = '\xc3\x89" "cran 27\" \xc2\xabPro\xc2\xbb \xe2\x9c\x93 \\'q\\'', "
	        "price = 1 },\n"
	        "  },\n"
	        "  workload = { rate = 1, order = print },\n"
	        "}\n");
	struct scenario *sc = load_ok(p, NULL);
	const struct scenario_info *in = scenario_info(sc);
	assert_string_equal(in->name, "\xc3\x89t\xc3\xa9 \"sale\" '24");
	assert_string_equal(in->regions[0], "north-1");
	assert_string_equal(in->regions[1], "South_2");
	assert_int_equal(strlen(in->products[0].sku), 63);
	assert_int_equal(strlen(in->products[0].name), 191);
	assert_string_equal(in->products[1].sku, "caf\xc3\xa9");
	assert_string_equal(in->products[1].name,
	                    "\xc3\x89" "cran 27\" \xc2\xabPro\xc2\xbb \xe2\x9c\x93 'q'");
	scenario_free(sc);
}

/* ---- checks --------------------------------------------------------------- */

static void test_run_checks(void **state)
{
	(void)state;
	const char *p = write_script(
	        "checks.lua", MINI_HEAD
	        "  checks = {\n"                                                           /* 6 */
	        "    ['b fails'] = function(f) return false, 'b detail' end,\n"            /* 7 */
	        "    ['a passes'] = function(f)\n"                                         /* 8 */
	        "      assert(math.type(f.orders.accepted) == 'integer')\n"
	        "      assert(f.orders.accepted == 7)\n"
	        "      assert(f.orders.rejected['rule:limit'] == 2)\n"
	        "      assert(math.type(f.ratio) == 'float' and f.ratio == 0.5)\n"
	        "      assert(#f.list == 3 and f.list[1] == 1 and f.list[2] == 'two' and f.list[3] == true)\n"
	        "      assert(f.nothing == nil and f.flag == false)\n"
	        "      assert(f.regions.north.stock.A == 3)\n"
	        "      assert(math.type(f.big) == 'float')\n"
	        "      assert(f.name == '\xc3\xa9t\xc3\xa9 \"q\"')\n"
	        "      f.orders.accepted = 1000\n"
	        "      return true\n"
	        "    end,\n"
	        "    ['c errors'] = function(f)\n"                                         /* 21 */
	        "      error('c boom')\n"                                                  /* 22 */
	        "    end,\n"
	        "    ['d returns nothing'] = function(f) end,\n"                           /* 24 */
	        "    ['e sees fresh facts'] = function(f) return f.orders.accepted == 7, 'mutated' end,\n"
	        "    ['f number detail'] = function(f) return false, 42 end,\n"
	        "    ['g table detail'] = function(f) return false, {} end,\n"
	        "    ['h returns 1'] = function(f) return 1 end,\n"                        /* 28 */
	        "  },\n"
	        "}\n");
	char path[4200], want[4400];
	snprintf(path, sizeof path, "%s", p);
	struct scenario *sc = load_ok(path, NULL);
	cJSON *f = cJSON_Parse("{\"orders\": {\"accepted\": 7, \"rejected\": "
	                       "{\"insufficient_stock\": 1, \"rule:limit\": 2}},"
	                       " \"ratio\": 0.5, \"list\": [1, \"two\", true], \"nothing\": null,"
	                       " \"flag\": false, \"big\": 1e20,"
	                       " \"name\": \"\xc3\xa9t\xc3\xa9 \\\"q\\\"\","
	                       " \"regions\": {\"north\": {\"stock\": {\"A\": 3}}}}");
	assert_non_null(f);
	struct results res = { 0 };
	scenario_run_checks(sc, f, collect, &res);
	cJSON_Delete(f);
	static const char *const names[] = { "a passes",           "b fails",
		                              "c errors",           "d returns nothing",
		                              "e sees fresh facts", "f number detail",
		                              "g table detail",     "h returns 1" };
	assert_int_equal(res.n, 8);
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(res.name[i], names[i]);
	if (!res.ok[0])
		fail_msg("a passes: %s", res.detail[0]);
	assert_string_equal(res.detail[0], "");
	assert_false(res.ok[1]);
	assert_string_equal(res.detail[1], "b detail");
	assert_false(res.ok[2]);
	snprintf(want, sizeof want, "%s:22: in check 'c errors': c boom", path);
	assert_string_equal(res.detail[2], want);
	assert_false(res.ok[3]);
	snprintf(want, sizeof want, "%s:24: in check 'd returns nothing': returned nothing", path);
	assert_int_equal(strncmp(res.detail[3], want, strlen(want)), 0);
	assert_true(res.ok[4]);
	assert_false(res.ok[5]);
	assert_string_equal(res.detail[5], "42");
	assert_false(res.ok[6]);
	snprintf(want, sizeof want, "%s:27: in check 'g table detail': returned false and a table: "
	         "the detail must be a string or a number", path);
	assert_string_equal(res.detail[6], want);
	assert_false(res.ok[7]);
	snprintf(want, sizeof want, "%s:28: in check 'h returns 1': returned a number", path);
	assert_int_equal(strncmp(res.detail[7], want, strlen(want)), 0);
	results_free(&res);

	/* NULL facts: an empty table */
	scenario_run_checks(sc, NULL, collect, &res);
	assert_int_equal(res.n, 8);
	assert_false(res.ok[0]); /* f.orders is nil */
	assert_non_null(strstr(res.detail[0], "in check 'a passes': "));
	results_free(&res);
	scenario_free(sc);

	/* no checks: no calls */
	sc = load_ok(write_script("nochecks.lua", MINI_HEAD "}\n"), NULL);
	scenario_run_checks(sc, NULL, collect, &res);
	assert_int_equal(res.n, 0);
	scenario_free(sc);
}

/* Many calls, including failing ones: the Lua stack stays balanced (a leak
 * of one slot per call would overflow it) and nothing grows. */
static void test_many_calls(void **state)
{
	(void)state;
	const char *p = write_script(
	        "many.lua", "return {\n"
	                    "  regions = { 'north' },\n"
	                    "  catalog = { { sku = 'A', price = 1 } },\n"
	                    "  workload = {\n"
	                    "    rate = function(r, t) if math.random(2) == 1 then error('x') end return 1 end,\n"
	                    "    order = function(r, t)\n"
	                    "      if math.random(3) == 1 then error('y') end\n"
	                    "      return { sku = 'A', quantity = math.random(3) }\n"
	                    "    end },\n"
	                    "  rules = { order = function(o)\n"
	                    "    local k = math.random(4)\n"
	                    "    if k == 1 then error('z') elseif k == 2 then return false, 'r' end\n"
	                    "    if k == 3 then return { quantity = 1 } end\n"
	                    "  end },\n"
	                    "}\n");
	struct scenario *sc = load_ok(p, NULL);
	char err[ERRLEN];
	long failures = 0;
	for (int i = 0; i < 200000; i++) {
		struct ddb_order o = make_order("A", 1, 100);
		scenario_set_time(sc, i);
		scenario_rate(sc, 0, err, sizeof err);
		failures += err[0] != '\0';
		failures += scenario_next_order(sc, 0, &o, err, sizeof err) != 0;
		failures += scenario_order_rule(sc, &o, err, sizeof err) == RULE_ERROR;
	}
	assert_true(failures > 100000);
	scenario_free(sc);
}

/* ---- limits on a script ---------------------------------------------------- */

static struct scenario *load_limited(const char *path, const struct scenario_limits *l,
                                     char *err)
{
	prng_seed(&rng, 42);
	return scenario_load_limited(path, NULL, &rng, NULL, 0, l, err, ERRLEN);
}

static void small_limits(struct scenario_limits *l)
{
	scenario_limits_init(l);
	l->memory_bytes = (size_t)16 << 20;
	l->instructions = 1000000;
	l->time_ms = 60000;
}

/* err must be "PATH:LINE: in WHAT: WHY..." */
static void assert_limit_error(const char *err, const char *path, int line, const char *what,
                               const char *why)
{
	char want[4600];
	snprintf(want, sizeof want, "%s:%d: in %s: %s", path, line, what, why);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\"\n  expected to start with \"%s\"", err, want);
}

static void test_limits_at_load(void **state)
{
	(void)state;
	struct scenario_limits l;
	small_limits(&l);
	char err[ERRLEN], path[4200];

	snprintf(path, sizeof path, "%s", write_script("loop.lua", "local x = 0\n"
	                                                             "while true do x = x + 1 end\n"));
	assert_null(load_limited(path, &l, err));
	assert_limit_error(err, path, 2, "the script's top level",
	                   "instruction limit exceeded (1000000 instructions; lua_instruction_limit)");

	/* a pcall in the script cannot keep it going */
	snprintf(path, sizeof path, "%s",
	         write_script("ploop.lua", "for i = 1, math.maxinteger do\n"
	                                   "  pcall(function() while true do end end)\n"
	                                   "end\n"));
	assert_null(load_limited(path, &l, err));
	assert_limit_error(err, path, 2, "the script's top level", "instruction limit exceeded");

	/* nor a coroutine */
	snprintf(path, sizeof path, "%s",
	         write_script("co.lua", "local co = coroutine.wrap(function()\n"
	                                "  while true do end\n"
	                                "end)\n"
	                                "while true do pcall(co) end\n"));
	assert_null(load_limited(path, &l, err));
	assert_limit_error(err, path, 2, "the script's top level", "instruction limit exceeded");

	/* memory: growth, and one allocation too large to make at all */
	snprintf(path, sizeof path, "%s",
	         write_script("grow.lua", "local t, kb = {}, string.rep('x', 1000)\n"
	                                  "for i = 1, 100 do t[i] = string.rep(kb, 1000) .. i end\n"));
	assert_null(load_limited(path, &l, err));
	assert_limit_error(err, path, 2, "the script's top level",
	                   "memory limit exceeded (16 MiB; lua_memory_mb)");
	snprintf(path, sizeof path, "%s",
	         write_script("huge.lua", "local ok = pcall(string.rep, 'x', 100000000)\n"
	                                  "return ok\n"));
	assert_null(load_limited(path, &l, err));
	assert_limit_error(err, path, 2, "the script's top level", "memory limit exceeded");

	/* time */
	l.instructions = UINT64_C(1000000000000000);
	l.time_ms = 100;
	snprintf(path, sizeof path, "%s", write_script("slow.lua", "while true do end\n"));
	assert_null(load_limited(path, &l, err));
	assert_limit_error(err, path, 1, "the script's top level",
	                   "time limit exceeded (100 ms; lua_time_limit_ms)");

	/* __gc is refused where it is set */
	snprintf(path, sizeof path, "%s",
	         write_script("gc.lua", "local mt = { __gc = function() while true do end end }\n"
	                                "setmetatable({}, mt)\n"));
	assert_null(load_limited(path, NULL, err));
	char want[4400];
	snprintf(want, sizeof want, "%s:2: in the script's top level: setmetatable: __gc is not "
	         "available in a scenario", path);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
	/* setmetatable otherwise works as in Lua */
	struct scenario *sc = load_limited(
	        write_script("mt.lua", "local t = setmetatable({}, { __index = function() return 7 end })\n"
	                               "assert(t.x == 7 and getmetatable(t).__index)\n"
	                               "assert(setmetatable(t, nil) == t and getmetatable(t) == nil)\n"
	                               "setmetatable(t, { __metatable = 'locked' })\n"
	                               "assert(not pcall(setmetatable, t, {}))\n"
	                               "assert(not pcall(setmetatable, 1, {}))\n"
	                               MINI_HEAD "}\n"),
	        NULL, err);
	if (sc == NULL)
		fail_msg("%s", err);
	assert_null(scenario_fatal(sc));
	scenario_free(sc);
}

/* string.rep and table.move, which could loop in C for days, keep Lua's
 * behaviour otherwise. */
static void test_limits_in_library(void **state)
{
	(void)state;
	struct scenario_limits l;
	small_limits(&l);
	char err[ERRLEN], path[4200];
	struct scenario *sc = load_limited(
	        write_script("lib.lua",
	                     "local function eq(a, b)\n"
	                     "  for i = 1, math.max(#a, #b) do if a[i] ~= b[i] then return false end end\n"
	                     "  return true\n"
	                     "end\n"
	                     "local t = { 1, 2, 3, 4, 5 }\n"
	                     "assert(table.move(t, 1, 3, 3) == t and eq(t, { 1, 2, 1, 2, 3 }))\n"
	                     "t = { 1, 2, 3, 4, 5 }\n"
	                     "assert(eq(table.move(t, 3, 5, 1), { 3, 4, 5, 4, 5 }))\n"
	                     "local d = {}\n"
	                     "assert(table.move({ 1, 2, 3 }, 1, 3, 2, d) == d and d[2] == 1 and d[4] == 3)\n"
	                     "assert(eq(table.move({ 1, 2 }, 2, 1, 1), { 1, 2 }))\n"
	                     "local log = {}\n"
	                     "local p = setmetatable({}, { __index = function(_, k) return k * 10 end,\n"
	                     "  __newindex = function(_, k, v) log[#log + 1] = k .. '=' .. v end })\n"
	                     "table.move(p, 1, 2, 5, p)\n"
	                     "assert(log[1] == '5=10' and log[2] == '6=20')\n"
	                     "assert(not pcall(table.move, 1, 1, 2, 3))\n"
	                     "local ok, msg = pcall(table.move, {}, math.mininteger, 1, 1)\n"
	                     "assert(not ok and msg:find('too many elements to move'))\n"
	                     "ok, msg = pcall(table.move, {}, 1, 2, math.maxinteger)\n"
	                     "assert(not ok and msg:find('destination wrap around'))\n"
	                     "ok, msg = pcall(table.move, {}, 1, 2)\n"
	                     "assert(not ok and msg:find(\"bad argument #4 to 'table.move'\"))\n"
	                     "assert(string.rep('', 1e15) == '' and string.rep('', 1e15, '') == '')\n"
	                     "assert(string.rep('ab', 3, ',') == 'ab,ab,ab' and ('y'):rep(2) == 'yy')\n"
	                     "assert(string.rep('x', 0) == '' and string.rep('x', -1) == '')\n"
	                     "ok, msg = pcall(string.rep)\n"
	                     "assert(not ok and msg:find(\"bad argument #1 to 'string.rep'\"))\n"
	                     "ok, msg = pcall(string.rep, 'x', 1e10)\n"
	                     "assert(not ok and msg:find('resulting string too large'))\n"
	                     MINI_HEAD "}\n"),
	        &l, err);
	if (sc == NULL)
		fail_msg("%s", err);
	scenario_free(sc);

	snprintf(path, sizeof path, "%s",
	         write_script("move.lua", "local t = {}\n"
	                                  "table.move(t, 1, 1e15, 2)\n"));
	assert_null(load_limited(path, &l, err));
	assert_limit_error(err, path, 2, "the script's top level",
	                   "instruction limit exceeded (1000000 instructions; lua_instruction_limit)");
}

static void test_limits_in_hooks(void **state)
{
	(void)state;
	struct scenario_limits l;
	small_limits(&l);
	char err[ERRLEN], path[4200], reason[DDB_ERR_MAX];
	snprintf(path, sizeof path, "%s",
	         write_script("hookloop.lua",
	                      MINI_HEAD                                                      /* 1-5 */
	                      "  rules = { order = function(o)\n"                            /* 6 */
	                      "    if o.quantity == 1 then return true end\n"                /* 7 */
	                      "    while true do pcall(function() while true do end end) end\n" /* 8 */
	                      "  end },\n"
	                      "  checks = { ['c'] = function(f) return true end },\n"
	                      "}\n"));
	struct scenario *sc = load_limited(path, &l, err);
	if (sc == NULL)
		fail_msg("%s", err);
	struct ddb_order o = make_order("A", 1, 150);
	for (int i = 0; i < 100; i++) /* many calls within the limit: it is per call */
		assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ACCEPT);
	assert_null(scenario_fatal(sc));
	o.quantity = 2;
	assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ERROR);
	assert_limit_error(reason, path, 8, "hook rules.order", "instruction limit exceeded");
	assert_non_null(scenario_fatal(sc));
	assert_string_equal(scenario_fatal(sc), reason);
	/* from now on every call fails with that error, without running */
	o.quantity = 1;
	assert_int_equal(scenario_order_rule(sc, &o, reason, sizeof reason), RULE_ERROR);
	assert_string_equal(reason, scenario_fatal(sc));
	assert_int_equal(scenario_next_order(sc, 0, &o, err, sizeof err), -1);
	assert_string_equal(err, scenario_fatal(sc));
	struct results res = { 0 };
	scenario_run_checks(sc, NULL, collect, &res);
	assert_int_equal(res.n, 1);
	assert_false(res.ok[0]);
	assert_string_equal(res.detail[0], scenario_fatal(sc));
	results_free(&res);
	scenario_free(sc);

	/* a check */
	snprintf(path, sizeof path, "%s",
	         write_script("checkloop.lua",
	                      MINI_HEAD                                           /* 1-5 */
	                      "  checks = {\n"                                    /* 6 */
	                      "    ['a'] = function(f) return true end,\n"        /* 7 */
	                      "    ['b'] = function(f)\n"                         /* 8 */
	                      "      local kept = {}\n"                           /* 9 */
	                      "      for i = 1, 1e9 do kept[i] = {} end\n"        /* 10 */
	                      "    end,\n"
	                      "    ['c'] = function(f) return true end,\n"
	                      "  },\n"
	                      "}\n"));
	sc = load_limited(path, &l, err);
	if (sc == NULL)
		fail_msg("%s", err);
	scenario_run_checks(sc, NULL, collect, &res);
	assert_int_equal(res.n, 3);
	assert_true(res.ok[0]);
	assert_false(res.ok[1]);
	assert_limit_error(res.detail[1], path, 10, "check 'b'", "");
	assert_non_null(strstr(res.detail[1], "limit exceeded"));
	assert_false(res.ok[2]); /* not run: the state cannot be trusted */
	assert_string_equal(res.detail[2], res.detail[1]);
	assert_string_equal(scenario_fatal(sc), res.detail[1]);
	results_free(&res);
	scenario_free(sc);

	/* memory kept by a hook across calls */
	snprintf(path, sizeof path, "%s",
	         write_script("keep.lua",
	                      "local kept = {}\n"                                   /* 1 */
	                      "return {\n"
	                      "  regions = { 'north' },\n"
	                      "  catalog = { { sku = 'A', price = 1 } },\n"
	                      "  workload = {\n"                                    /* 5 */
	                      "    rate = function(r, t)\n"                         /* 6 */
	                      "      kept[#kept + 1] = string.rep(('k'):rep(1000), 1000) .. t\n"
	                      "      return 1\n"
	                      "    end,\n"
	                      "    order = print },\n"
	                      "}\n"));
	sc = load_limited(path, &l, err);
	if (sc == NULL)
		fail_msg("%s", err);
	int i;
	for (i = 0; i < 100 && scenario_fatal(sc) == NULL; i++) {
		scenario_set_time(sc, i);
		scenario_rate(sc, 0, err, sizeof err);
	}
	assert_true(i > 10 && i < 30);
	assert_string_equal(err, scenario_fatal(sc));
	assert_limit_error(err, path, 7, "hook workload.rate", "memory limit exceeded (16 MiB");
	scenario_free(sc);
}

/* ---- the rule contract, in every hook ------------------------------------- */

static void test_rule_contract(void **state)
{
	(void)state;
	const char *p = write_script(
	        "contract.lua",
	        "return {\n"
	        "  regions = { 'north', 'south', 'east' },\n"
	        "  catalog = { { sku = 'A', price = 1 } },\n"
	        "  workload = { rate = 1, order = print,\n"
	        "    customers = { rate = 1, operation = print } },\n"
	        "  rules = {\n"
	        "    customer_home = function(c)\n"                                  /* 7 */
	        "      local z = c.zip\n"
	        "      if z == 1 then return end\n"
	        "      if z == 2 then return true end\n"
	        "      if z == 3 then return false end\n"
	        "      if z == 4 then return nil end\n"
	        "      if z == 5 then return false, 'five' end\n"
	        "      if z == 6 then return nil, 'six' end\n"
	        "      if z == 7 then return 'south' end\n"
	        "      if z == 8 then return 'nowhere' end\n"
	        "      if z == 9 then return {} end\n"
	        "      if z == 10 then return nil, 10 end\n"
	        "      if z == 11 then return nil, {} end\n"
	        "      if z == 12 then return nil, 'caf\\xe9' end\n"
	        "      if z == 13 then return nil, string.rep('r', 128) end\n"
	        "      if z == 14 then return nil, '' end\n"
	        "      error('z ' .. z)\n"
	        "    end,\n"
	        "    customer_replicas = function(c, home)\n"                        /* 25 */
	        "      local z = c.zip\n"
	        "      if z == 1 then return end\n"
	        "      if z == 2 then return true end\n"
	        "      if z == 3 then return false end\n"
	        "      if z == 4 then return nil end\n"
	        "      if z == 5 then return false, 'five' end\n"
	        "      if z == 6 then return nil, 'six' end\n"
	        "      if z == 7 then return { 'east' } end\n"
	        "      if z == 8 then return { 'north' } end\n"
	        "      if z == 9 then return 'east' end\n"
	        "      error('z ' .. z)\n"
	        "    end,\n"
	        "  },\n"
	        "}\n");
	char path[4200], want[4600], msg[DDB_ERR_MAX];
	snprintf(path, sizeof path, "%s", p);
	struct scenario *sc = load_ok(path, NULL);
	static const struct {
		int zip;
		int verdict;
		size_t home;
		const char *text; /* reject: the reason; error: after "in hook ...: " */
	} homes[] = {
		{ 1, RULE_ACCEPT, 0, NULL },
		{ 2, RULE_ACCEPT, 0, NULL },
		{ 3, RULE_REJECT, 0, "rejected" },
		{ 4, RULE_REJECT, 0, "rejected" },
		{ 5, RULE_REJECT, 0, "five" },
		{ 6, RULE_REJECT, 0, "six" },
		{ 7, RULE_ACCEPT, 1, NULL },
		{ 8, RULE_ERROR, 0, "returned \"nowhere\": not a region of the scenario" },
		{ 9, RULE_ERROR, 0, "returned a table: return the name of the home region" },
		{ 10, RULE_REJECT, 0, "10" },
		{ 11, RULE_ERROR, 0, "returned nil and a table: the reason must be a string or a number" },
		{ 12, RULE_ERROR, 0, "the reason must be valid UTF-8" },
		{ 13, RULE_ERROR, 0, "the reason must be a string of at most 127 bytes" },
		{ 14, RULE_REJECT, 0, "rejected" },
	};
	for (size_t i = 0; i < sizeof homes / sizeof *homes; i++) {
		struct ddb_customer c;
		memset(&c, 0, sizeof c);
		snprintf(c.id, sizeof c.id, "c%d", homes[i].zip);
		c.zip_prefix = homes[i].zip;
		size_t home = 99;
		int v = (int)scenario_customer_home(sc, &c, &home, msg, sizeof msg);
		if (v != homes[i].verdict)
			fail_msg("customer_home zip %d: verdict %d (%s)", homes[i].zip, v, msg);
		if (v == RULE_ACCEPT) {
			assert_int_equal(home, homes[i].home);
			assert_string_equal(msg, "");
		} else if (v == RULE_REJECT) {
			assert_string_equal(msg, homes[i].text);
		} else {
			snprintf(want, sizeof want, "%s:7: in hook rules.customer_home: %s", path,
			         homes[i].text);
			if (strncmp(msg, want, strlen(want)) != 0)
				fail_msg("zip %d: \"%s\"\n  expected \"%s...\"", homes[i].zip, msg, want);
		}
	}
	static const struct {
		int zip;
		int verdict;
		size_t n, first; /* the replicas of a customer at home north (0) */
		const char *text;
	} replicas[] = {
		{ 1, RULE_ACCEPT, 1, 1, NULL }, /* the default: the next region */
		{ 2, RULE_ACCEPT, 1, 1, NULL },
		{ 3, RULE_REJECT, 0, 0, "rejected" },
		{ 4, RULE_REJECT, 0, 0, "rejected" },
		{ 5, RULE_REJECT, 0, 0, "five" },
		{ 6, RULE_REJECT, 0, 0, "six" },
		{ 7, RULE_ACCEPT, 1, 2, NULL },
		{ 8, RULE_ERROR, 0, 0, "returned a bad list" },
		{ 9, RULE_ERROR, 0, 0, "returned a string: return a list of regions" },
		{ 10, RULE_ERROR, 0, 0, "z 10" },
	};
	for (size_t i = 0; i < sizeof replicas / sizeof *replicas; i++) {
		struct ddb_customer c;
		memset(&c, 0, sizeof c);
		snprintf(c.id, sizeof c.id, "c%d", replicas[i].zip);
		c.zip_prefix = replicas[i].zip;
		size_t out[8], n = 99;
		int v = (int)scenario_customer_replicas(sc, &c, 0, out, 8, &n, msg, sizeof msg);
		if (v != replicas[i].verdict)
			fail_msg("customer_replicas zip %d: verdict %d (%s)", replicas[i].zip, v, msg);
		assert_int_equal(n, replicas[i].n);
		if (n > 0)
			assert_int_equal(out[0], replicas[i].first);
		if (v == RULE_REJECT) {
			assert_string_equal(msg, replicas[i].text);
		} else if (v == RULE_ERROR) {
			assert_non_null(strstr(msg, "in hook rules.customer_replicas: "));
			assert_non_null(strstr(msg, replicas[i].text));
		}
	}
	scenario_free(sc);
}

/* ---- rates ----------------------------------------------------------------- */

static void test_rates(void **state)
{
	(void)state;
	char err[ERRLEN], path[4200], want[4600];
	struct scenario *sc = load_ok(write_script("fixed.lua", MINI_HEAD "}\n"), NULL);
	assert_false(scenario_rate_varies(sc));
	assert_false(scenario_has_customers(sc));
	scenario_free(sc);
	snprintf(path, sizeof path, "%s",
	         write_script("ratefn.lua",
	                      "return {\n"
	                      "  regions = { 'north' },\n"
	                      "  catalog = { { sku = 'A', price = 1 } },\n"
	                      "  workload = { order = print,\n"
	                      "    rate = function(r, t) return t == 1 and 1e6 or t == 2 and 1e6 + 1 or 0 end,\n"
	                      "    customers = { operation = print,\n"
	                      "      rate = function(t) return t == 1 and 1e6 or 2e6 end } },\n"
	                      "}\n"));
	sc = load_ok(path, NULL);
	assert_true(scenario_rate_varies(sc));
	assert_true(scenario_customer_rate_varies(sc));
	scenario_set_time(sc, 0);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 0);
	assert_string_equal(err, "");
	scenario_set_time(sc, 1000000);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 1e6);
	assert_string_equal(err, "");
	assert_true(scenario_customer_rate(sc, err, sizeof err) == 1e6);
	assert_string_equal(err, "");
	scenario_set_time(sc, 2000000);
	assert_true(scenario_rate(sc, 0, err, sizeof err) == 0);
	snprintf(want, sizeof want, "%s:5: in hook workload.rate: returned 1000001: a rate is a number "
	         "of orders per second from 0 to 1000000", path);
	assert_string_equal(err, want);
	assert_true(scenario_customer_rate(sc, err, sizeof err) == 0);
	assert_non_null(strstr(err, "in hook workload.customers.rate: must return a number of "
	                            "operations per second from 0 to 1000000"));
	scenario_free(sc);
}

/* ---- UTF-8 ------------------------------------------------------------------ */

static void test_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int valid;
	} cases[] = {
		{ "", 1 },
		{ "plain ascii", 1 },
		{ "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80", 1 },
		{ "\xf4\x8f\xbf\xbf", 1 },         /* U+10FFFF */
		{ "\xef\xbb\xbf", 1 },              /* the byte order mark */
		{ "caf\xe9", 0 },                    /* Latin-1 */
		{ "\xc3", 0 },                       /* truncated */
		{ "\xe6\x9d", 0 },                   /* truncated */
		{ "\x80", 0 },                       /* a stray continuation byte */
		{ "\xc0\xaf", 0 },                   /* overlong */
		{ "\xe0\x80\xaf", 0 },               /* overlong */
		{ "\xf0\x80\x80\xaf", 0 },           /* overlong */
		{ "\xed\xa0\x80", 0 },               /* a surrogate */
		{ "\xf4\x90\x80\x80", 0 },           /* above U+10FFFF */
		{ "\xf8\x88\x80\x80\x80", 0 },       /* five bytes */
		{ "\xff", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		if (utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].valid)
			fail_msg("case %zu: utf8_valid is %d", i, !cases[i].valid);
		char buf[32];
		snprintf(buf, sizeof buf, "%s", cases[i].s);
		size_t replaced = utf8_scrub(buf);
		assert_int_equal(replaced == 0, cases[i].valid);
		assert_int_equal(strlen(buf), strlen(cases[i].s));
		assert_true(utf8_valid(buf, strlen(buf)));
	}
	/* cut on a character boundary */
	const char *t = "ab\xc3\xa9\xe6\x9d\xb1";
	assert_int_equal(utf8_cut(t, 7, 10), 7);
	assert_int_equal(utf8_cut(t, 7, 7), 7);
	assert_int_equal(utf8_cut(t, 7, 6), 4);
	assert_int_equal(utf8_cut(t, 7, 5), 4);
	assert_int_equal(utf8_cut(t, 7, 4), 4);
	assert_int_equal(utf8_cut(t, 7, 3), 2);
	assert_int_equal(utf8_cut(t, 7, 0), 0);

	/* a check's long detail is cut on a character boundary */
	const char *p = write_script("longdetail.lua",
	                             MINI_HEAD "  checks = { ['d'] = function(f)\n"
	                                       "    return false, 'x' .. string.rep('\xc3\xa9', 600)\n"
	                                       "  end },\n"
	                                       "}\n");
	struct scenario *sc = load_ok(p, NULL);
	struct results res = { 0 };
	scenario_run_checks(sc, NULL, collect, &res);
	assert_int_equal(res.n, 1);
	assert_false(res.ok[0]);
	assert_int_equal(strlen(res.detail[0]), 1023); /* 'x' and 511 characters of 2 bytes */
	assert_true(utf8_valid(res.detail[0], strlen(res.detail[0])));
	results_free(&res);
	scenario_free(sc);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	char err[ERRLEN];
	assert_null(scenario_load(NULL, NULL, &rng, err, sizeof err));
	assert_true(err[0] != '\0');
	assert_null(scenario_load("x.lua", NULL, NULL, err, sizeof err));
	assert_true(err[0] != '\0');
	/* a directory is not a script */
	assert_null(scenario_load(tmpdir, NULL, &rng, err, sizeof err));
	assert_true(err[0] != '\0');
	/* no err buffer: no crash */
	assert_null(scenario_load(NULL, NULL, &rng, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_ecommerce),
		cmocka_unit_test(test_ecommerce_runs_out_of_stock),
		cmocka_unit_test(test_ecommerce_check),
		cmocka_unit_test(test_load_flash_sale),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_failures_and_restocks_sorted),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_syntax_and_runtime_errors),
		cmocka_unit_test(test_long_path_messages),
		cmocka_unit_test(test_hook_errors),
		cmocka_unit_test(test_next_order_and_rate),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_math_random),
		cmocka_unit_test(test_price_rounding),
		cmocka_unit_test(test_strings_round_trip),
		cmocka_unit_test(test_run_checks),
		cmocka_unit_test(test_many_calls),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_limits_at_load),
		cmocka_unit_test(test_limits_in_library),
		cmocka_unit_test(test_limits_in_hooks),
		cmocka_unit_test(test_rule_contract),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
