/*
 * bench_mongo.c - make bench: order-log documents written per second
 * through ddbsim, beside a plain mongo-c-driver loop inserting the same
 * documents into the same server, in the same run.
 *
 * ddbsim: the bench scenario (tests/bench/bench.lua: one region, one
 * product, every order accepted) with the regions and the center on SQLite
 * and the documents store on MongoDB; its rate is the order-log documents
 * written (one per accepted order) over the time until sync drained - the
 * whole way of an order, placed, relayed, applied at the center and logged.
 * The plain loop: one mongoc_client_t, mongoc_collection_insert_one of each
 * document in turn, with the plugin's write concern (w: 1, j: true) and
 * the plugin's unique index on log_id, into a database of its own.  The
 * same fields, the same values.  ddbsim writes its order logs in unordered
 * bulks (as many as one sync batch brings); for reference the bench also
 * prints a plain loop of unordered bulk inserts of 512 (SYNC_BATCH).
 *
 * Usage: bench_mongo DDBSIM SCENARIO URI [ORDERS]
 * Exit 0 when the ratio ddbsim / plain loop is at least 0.8.
 */
#include <bson/bson.h>
#include <mongoc/mongoc.h>

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TARGET 0.8

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_mongo: %s: %s\n", what, why ? why : strerror(errno));
	exit(1);
}

static void command(mongoc_client_t *c, const char *db, const char *json)
{
	bson_error_t e;
	bson_t *cmd = bson_new_from_json((const uint8_t *)json, -1, &e);
	if (!cmd)
		die(json, e.message);
	if (!mongoc_client_write_command_with_opts(c, db, cmd, NULL, NULL, &e) && e.code != 26)
		die(json, e.message);
	bson_destroy(cmd);
}

/* The plain loop: documents per second.  batch 1: insert_one each; more:
 * unordered bulk inserts of that many (for reference). */
static double raw_loop(const char *uri, const char *db, long n, long batch)
{
	bson_error_t e;
	mongoc_client_t *c = mongoc_client_new(uri);
	if (!c)
		die("mongoc_client_new", uri);
	mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
	command(c, db, "{\"dropDatabase\": 1}");
	command(c, db, "{\"createIndexes\": \"order_product\", \"indexes\": [{\"key\": "
	               "{\"log_id\": 1}, \"name\": \"log_id\", \"unique\": true}, {\"key\": "
	               "{\"region\": 1}, \"name\": \"region\"}]}");
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, "order_product");
	mongoc_write_concern_t *wc = mongoc_write_concern_new();
	mongoc_write_concern_set_w(wc, 1);
	mongoc_write_concern_set_journal(wc, true);
	bson_t opts = BSON_INITIALIZER;
	mongoc_write_concern_append(wc, &opts);
	mongoc_bulk_operation_t *bulk = NULL;
	bson_t bulk_opts = BSON_INITIALIZER;
	BSON_APPEND_BOOL(&bulk_opts, "ordered", false);
	mongoc_write_concern_append(wc, &bulk_opts);
	double t0 = now_s();
	for (long i = 1; i <= n; i++) {
		char id[64], log_id[72], customer[32];
		snprintf(id, sizeof id, "bench-%012ld", i);
		snprintf(log_id, sizeof log_id, "log:%s", id);
		snprintf(customer, sizeof customer, "c-%ld", 1 + i % 5000);
		bson_t doc = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&doc, "_id", id);
		BSON_APPEND_UTF8(&doc, "order_id", id);
		BSON_APPEND_UTF8(&doc, "log_id", log_id);
		BSON_APPEND_UTF8(&doc, "customer", customer);
		BSON_APPEND_UTF8(&doc, "product", "MOUSE");
		BSON_APPEND_INT64(&doc, "quantity", 1);
		BSON_APPEND_INT64(&doc, "unit_price_cents", 2500);
		BSON_APPEND_UTF8(&doc, "region", "bench");
		BSON_APPEND_INT64(&doc, "placed_at_us", i * 100);
		BSON_APPEND_INT64(&doc, "logged_at_us", i * 100 + 10000);
		if (batch <= 1) {
			if (!mongoc_collection_insert_one(col, &doc, &opts, NULL, &e))
				die("insert_one", e.message);
		} else {
			if (!bulk)
				bulk = mongoc_collection_create_bulk_operation_with_opts(col, &bulk_opts);
			if (!mongoc_bulk_operation_insert_with_opts(bulk, &doc, NULL, &e))
				die("bulk insert", e.message);
			if (i % batch == 0 || i == n) {
				if (!mongoc_bulk_operation_execute(bulk, NULL, &e))
					die("bulk execute", e.message);
				mongoc_bulk_operation_destroy(bulk);
				bulk = NULL;
			}
		}
		bson_destroy(&doc);
	}
	double t = now_s() - t0;
	bson_destroy(&bulk_opts);
	command(c, db, "{\"dropDatabase\": 1}");
	bson_destroy(&opts);
	mongoc_write_concern_destroy(wc);
	mongoc_collection_destroy(col);
	mongoc_client_destroy(c);
	return (double)n / t;
}

static long count_docs(const char *uri, const char *db)
{
	bson_error_t e;
	mongoc_client_t *c = mongoc_client_new(uri);
	if (!c)
		die("mongoc_client_new", uri);
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, "order_product");
	bson_t filter = BSON_INITIALIZER;
	int64_t n = mongoc_collection_count_documents(col, &filter, NULL, NULL, NULL, &e);
	if (n < 0)
		die("count_documents", e.message);
	bson_destroy(&filter);
	mongoc_collection_destroy(col);
	mongoc_client_destroy(c);
	return (long)n;
}

struct sim {
	double docs_per_s, accepted, seconds;
	int all_checks_hold;
};

/* ddbsim on the bench scenario, the documents store on MongoDB. */
static struct sim run_ddbsim(const char *ddbsim, const char *scenario, const char *config,
                             const char *dir, long orders)
{
	char report[4096], data[4096], param[64];
	snprintf(report, sizeof report, "%s/report.json", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(param, sizeof param, "orders=%ld", orders);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", NULL);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(ddbsim, ddbsim, "run", scenario, "-c", config, "-d", data, "--param", param,
		      "--report", report, "-q", (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid", NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		fprintf(stderr, "bench_mongo: ddbsim failed (status %d)\n", status);
		exit(1);
	}
	struct sim r = { 0, 0, 0, WEXITSTATUS(status) == 0 };
	FILE *f = fopen(report, "r");
	if (!f)
		die(report, NULL);
	static char buf[1 << 22];
	size_t len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = '\0';
	cJSON *root = cJSON_Parse(buf);
	if (!root)
		die(report, "not JSON");
	cJSON *tp = cJSON_GetObjectItem(root, "throughput");
	r.accepted = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "orders"),
	                                                      "accepted"));
	r.seconds = cJSON_GetNumberValue(cJSON_GetObjectItem(tp, "seconds_until_synced"));
	r.docs_per_s = r.seconds > 0 ? r.accepted / r.seconds : 0;
	cJSON_Delete(root);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_mongo DDBSIM SCENARIO URI [ORDERS]\n");
		return 2;
	}
	const char *uri = argv[3];
	long n = argc > 4 ? atol(argv[4]) : 20000;
	char dir[] = "/tmp/ddbsim-bench-mongo-XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp", NULL);
	mongoc_init();
	char prefix[64], raw_db[80], docs_db[80], config[4200];
	snprintf(prefix, sizeof prefix, "bench%ld_", (long)getpid());
	snprintf(raw_db, sizeof raw_db, "%sraw", prefix);
	snprintf(docs_db, sizeof docs_db, "%sdocuments", prefix);
	snprintf(config, sizeof config, "%s/bench.conf", dir);
	FILE *f = fopen(config, "w");
	if (!f)
		die(config, NULL);
	fprintf(f,
	        "[ddbsim]\nplugin_dir = ${DDBSIM_PLUGIN_DIR}\n\n[transport]\nplugin = memory\n\n"
	        "[regions]\nplugin = sqlite\nsynchronous = NORMAL\n\n"
	        "[central]\nplugin = sqlite\nsynchronous = NORMAL\n\n"
	        "[documents]\nplugin = mongo\nuri = %s\ndatabase_prefix = %s\njournal = yes\n",
	        uri, prefix);
	fclose(f);

	printf("bench_mongo: %ld order-log documents, server %s\n", n, uri);
	fflush(stdout);
	/* Interleaved, twice each; the best of each is compared. */
	double raw_best = 0, sim_best = 0;
	for (int round = 1; round <= 2; round++) {
		double raw = raw_loop(uri, raw_db, n, 1);
		struct sim s = run_ddbsim(argv[1], argv[2], config, dir, n);
		long stored = count_docs(uri, docs_db);
		if (s.accepted < (double)n * 0.99 || !s.all_checks_hold || stored != (long)s.accepted) {
			fprintf(stderr,
			        "bench_mongo: ddbsim accepted %.0f of %ld orders, %ld order logs stored "
			        "(checks %s)\n",
			        s.accepted, n, stored, s.all_checks_hold ? "hold" : "FAILED");
			return 1;
		}
		printf("  round %d: plain mongo-c-driver insert loop %7.0f docs/s   ddbsim %7.0f docs/s"
		       " (%ld documents in %.2f s, end to end)\n",
		       round, raw, s.docs_per_s, stored, s.seconds);
		fflush(stdout);
		raw_best = raw > raw_best ? raw : raw_best;
		sim_best = s.docs_per_s > sim_best ? s.docs_per_s : sim_best;
	}
	double ratio = sim_best / raw_best;
	printf("ratio ddbsim / plain insert loop: %.2f (target >= %.1f)\n", ratio, TARGET);
	/* For reference, no target: what a client gets from the server when
	 * it batches as ddbsim's documents applier does. */
	double bulk = raw_loop(uri, raw_db, n, 512);
	printf("for reference: plain unordered bulk inserts of 512 %7.0f docs/s (ddbsim / that: "
	       "%.2f)\n", bulk, sim_best / bulk);

	mongoc_client_t *c = mongoc_client_new(uri);
	if (c) {
		command(c, docs_db, "{\"dropDatabase\": 1}");
		mongoc_client_destroy(c);
	}
	mongoc_cleanup();
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_mongo: could not remove %s\n", dir);
	return ratio >= TARGET ? 0 : 1;
}
