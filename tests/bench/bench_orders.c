/*
 * bench_orders.c - make bench: ddbsim's end-to-end order throughput beside
 * a plain C loop doing the same per-order transaction directly on SQLite,
 * measured in the same run; and the peak RSS of a 1,000,000-order run.
 *
 * The plain loop: one SQLite file in WAL mode at the same synchronous
 * level as ddbsim's stores; per order one transaction with the conditional
 * stock decrement, the order row and the outbox row, through prepared
 * statements.  ddbsim: the bench scenario run by the ddbsim program on the
 * embedded default (SQLite + memory transport), central sync and order logs
 * included; its rate is accepted orders over the time until sync drained.
 *
 * Usage: bench_orders DDBSIM SCENARIO CONFIG [ORDERS [RSS_ORDERS]]
 */
#include <cJSON.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, sqlite3 *db)
{
	fprintf(stderr, "bench: %s: %s\n", what, db ? sqlite3_errmsg(db) : strerror(errno));
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sql, db);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die(sql, db);
	return st;
}

static void step(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		die("step", db);
	sqlite3_reset(st);
}

/* The plain loop: returns orders per second. */
static double raw_sqlite_loop(const char *dir, long n)
{
	char path[4400];
	snprintf(path, sizeof path, "%s/raw.db", dir);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("open", db);
	exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	         "CREATE TABLE inventory(sku TEXT PRIMARY KEY, stock INTEGER NOT NULL CHECK(stock >= 0),"
	         " received INTEGER NOT NULL);"
	         "CREATE TABLE orders(id TEXT PRIMARY KEY, region TEXT NOT NULL, customer TEXT NOT NULL,"
	         " sku TEXT NOT NULL, quantity INTEGER NOT NULL, unit_price_cents INTEGER NOT NULL,"
	         " placed_at_us INTEGER NOT NULL);"
	         "CREATE TABLE outbox(seq INTEGER PRIMARY KEY, id TEXT NOT NULL, kind INTEGER NOT NULL,"
	         " state INTEGER NOT NULL, created_at_us INTEGER NOT NULL, order_id TEXT, region TEXT,"
	         " customer TEXT, sku TEXT, quantity INTEGER, unit_price_cents INTEGER,"
	         " placed_at_us INTEGER);"
	         "CREATE INDEX outbox_pending ON outbox(state, seq) WHERE state < 2;"
	         "INSERT INTO inventory VALUES('MOUSE', 1000000000, 1000000000);");
	sqlite3_stmt *begin = prepare(db, "BEGIN IMMEDIATE");
	sqlite3_stmt *commit = prepare(db, "COMMIT");
	sqlite3_stmt *take = prepare(db, "UPDATE inventory SET stock = stock - ?1 WHERE sku = ?2 AND stock >= ?1");
	sqlite3_stmt *order = prepare(db, "INSERT INTO orders VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	sqlite3_stmt *outbox = prepare(db, "INSERT INTO outbox(id, kind, state, created_at_us, order_id,"
	                                   " region, customer, sku, quantity, unit_price_cents, placed_at_us)"
	                                   " VALUES(?1, 1, 0, ?7, ?2, ?3, ?4, ?5, ?6, 2500, ?7)");
	double t0 = now_s();
	for (long i = 1; i <= n; i++) {
		char id[64], ev[64], customer[32];
		snprintf(id, sizeof id, "bench-%012ld", i);
		snprintf(ev, sizeof ev, "bench:%ld", i);
		snprintf(customer, sizeof customer, "c-%ld", i % 5000);
		step(db, begin);
		sqlite3_bind_int64(take, 1, 1);
		sqlite3_bind_text(take, 2, "MOUSE", -1, SQLITE_STATIC);
		step(db, take);
		if (sqlite3_changes(db) != 1)
			die("stock", db);
		sqlite3_bind_text(order, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(order, 2, "bench", -1, SQLITE_STATIC);
		sqlite3_bind_text(order, 3, customer, -1, SQLITE_STATIC);
		sqlite3_bind_text(order, 4, "MOUSE", -1, SQLITE_STATIC);
		sqlite3_bind_int64(order, 5, 1);
		sqlite3_bind_int64(order, 6, 2500);
		sqlite3_bind_int64(order, 7, i * 1000);
		step(db, order);
		sqlite3_bind_text(outbox, 1, ev, -1, SQLITE_STATIC);
		sqlite3_bind_text(outbox, 2, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(outbox, 3, "bench", -1, SQLITE_STATIC);
		sqlite3_bind_text(outbox, 4, customer, -1, SQLITE_STATIC);
		sqlite3_bind_text(outbox, 5, "MOUSE", -1, SQLITE_STATIC);
		sqlite3_bind_int64(outbox, 6, 1);
		sqlite3_bind_int64(outbox, 7, i * 1000);
		step(db, outbox);
		step(db, commit);
	}
	double t = now_s() - t0;
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_finalize(take);
	sqlite3_finalize(order);
	sqlite3_finalize(outbox);
	sqlite3_close(db);
	return (double)n / t;
}

struct ddbsim_result {
	double orders_per_s;
	double accepted;
	long max_rss_kib;
	int all_checks_hold;
};

/* Runs the ddbsim program on the bench scenario with `orders` orders. */
static struct ddbsim_result run_ddbsim(const char *ddbsim, const char *scenario, const char *config,
                                       const char *dir, long orders)
{
	char report[4096], data[4096], param[64];
	snprintf(report, sizeof report, "%s/report.json", dir);
	snprintf(data, sizeof data, "%s/data-%ld", dir, orders);
	snprintf(param, sizeof param, "orders=%ld", orders);
	unlink(report); /* never read an earlier run's report */
	fflush(stdout); /* the child must not inherit unwritten output */
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
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4", NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		fprintf(stderr, "bench: ddbsim failed (status %d)\n", status);
		exit(1);
	}
	struct ddbsim_result r = { 0, 0, ru.ru_maxrss, WEXITSTATUS(status) == 0 };
	FILE *f = fopen(report, "r");
	if (!f)
		die(report, NULL);
	static char buf[1 << 22];
	size_t len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = '\0';
	cJSON *root = cJSON_Parse(buf);
	cJSON *tp = cJSON_GetObjectItem(root, "throughput");
	cJSON *orders_obj = cJSON_GetObjectItem(root, "orders");
	r.orders_per_s = cJSON_GetNumberValue(cJSON_GetObjectItem(tp, "orders_per_second"));
	r.accepted = cJSON_GetNumberValue(cJSON_GetObjectItem(orders_obj, "accepted"));
	cJSON_Delete(root);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_orders DDBSIM SCENARIO CONFIG [ORDERS [RSS_ORDERS]]\n");
		return 2;
	}
	long n = argc > 4 ? atol(argv[4]) : 200000;
	long rss_n = argc > 5 ? atol(argv[5]) : 1000000;
	char dir[] = "/tmp/ddbsim-bench-XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp", NULL);

	printf("bench: %ld orders, SQLite WAL synchronous=NORMAL, in %s\n", n, dir);
	fflush(stdout);
	/* Interleaved, twice each, so that drift on a shared machine hits
	 * both sides; the best of each is compared. */
	double raw_best = 0, sim_best = 0;
	for (int round = 0; round < 2; round++) {
		char sub[4200];
		snprintf(sub, sizeof sub, "%s/raw%d", dir, round);
		if (mkdir(sub, 0700) != 0)
			die(sub, NULL);
		double raw = raw_sqlite_loop(sub, n);
		struct ddbsim_result sim = run_ddbsim(argv[1], argv[2], argv[3], dir, n);
		if (sim.accepted < (double)n * 0.99 || !sim.all_checks_hold) {
			fprintf(stderr, "bench: ddbsim accepted %.0f of %ld orders (checks %s)\n", sim.accepted,
			        n, sim.all_checks_hold ? "hold" : "FAILED");
			return 1;
		}
		printf("  round %d: raw SQLite loop %8.0f orders/s   ddbsim end to end %8.0f orders/s\n",
		       round + 1, raw, sim.orders_per_s);
		fflush(stdout);
		raw_best = raw > raw_best ? raw : raw_best;
		sim_best = sim.orders_per_s > sim_best ? sim.orders_per_s : sim_best;
	}
	printf("ratio ddbsim / raw SQLite loop: %.2f (target >= 1.0)\n", sim_best / raw_best);

	struct ddbsim_result big = run_ddbsim(argv[1], argv[2], argv[3], dir, rss_n);
	printf("peak RSS of a %ld-order run: %.1f MiB (target <= 64 MiB); %.0f orders/s; checks %s\n",
	       rss_n, (double)big.max_rss_kib / 1024.0, big.orders_per_s,
	       big.all_checks_hold ? "hold" : "FAILED");
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
	if (big.accepted < (double)rss_n * 0.99)
		fprintf(stderr, "bench: the %ld-order run accepted only %.0f\n", rss_n, big.accepted);
	return (sim_best / raw_best >= 1.0 && big.max_rss_kib <= 64 * 1024 && big.all_checks_hold &&
	        big.accepted >= (double)rss_n * 0.99)
	           ? 0
	           : 1;
}
