/*
 * sqlite_schema.c - opening a store of the SQLite storage plugin: the
 * options, the file's path, the connection's settings, the tables of each
 * role (created at open, emptied by reset), the read-only open that creates
 * nothing (see the top of sqlite.c), and close.  Shared through
 * sqlite_int.h (prefix sqs_).
 */
#include "sqlite_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- schema ------------------------------------------------------------- */

static const char schema_regional[] =
	"CREATE TABLE IF NOT EXISTS products ("
	" sku TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" price_cents INTEGER NOT NULL CHECK (price_cents >= 0),"
	" version INTEGER NOT NULL CHECK (version >= 1)"
	") STRICT, WITHOUT ROWID;"
	/* pos keeps the components in the order they were given. */
	"CREATE TABLE IF NOT EXISTS product_components ("
	" sku TEXT NOT NULL,"
	" component_sku TEXT NOT NULL,"
	" quantity INTEGER NOT NULL CHECK (quantity >= 1),"
	" pos INTEGER NOT NULL,"
	" PRIMARY KEY (sku, component_sku)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS inventory ("
	" sku TEXT PRIMARY KEY NOT NULL,"
	" stock INTEGER NOT NULL CHECK (stock >= 0),"
	" received INTEGER NOT NULL CHECK (received >= 0)"
	") STRICT, WITHOUT ROWID;"
	/* No index on region: a regional store holds its own region's orders,
	 * so it would not narrow a scan, and it would cost every order. */
	"CREATE TABLE IF NOT EXISTS orders ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" region TEXT NOT NULL,"
	" customer TEXT NOT NULL,"
	" sku TEXT NOT NULL,"
	" quantity INTEGER NOT NULL,"
	" unit_price_cents INTEGER NOT NULL,"
	" placed_at_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	/* seq is the rowid, without AUTOINCREMENT: after a reset it restarts
	 * at 1.  The payload columns are those of the event's kind, the rest
	 * NULL (sku serves both kinds). */
	"CREATE TABLE IF NOT EXISTS outbox ("
	" seq INTEGER PRIMARY KEY,"
	" origin TEXT NOT NULL,"
	" id TEXT GENERATED ALWAYS AS (origin || ':' || seq) VIRTUAL,"
	" kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	" state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 2),"
	" created_at_us INTEGER NOT NULL,"
	" order_id TEXT, region TEXT, customer TEXT, sku TEXT,"
	" quantity INTEGER, unit_price_cents INTEGER, placed_at_us INTEGER,"
	" name TEXT, price_cents INTEGER, version INTEGER, components BLOB"
	") STRICT;"
	/* What the relay reads: the events not yet applied, in (state, seq)
	 * order since every entry ends with the rowid, seq.  Small: applied
	 * events leave it. */
	"CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state) WHERE state < 2;"
	/* A customer record, the latest version of it.  Validation happens
	 * before the INSERT; the CHECKs only guard the file. */
	"CREATE TABLE IF NOT EXISTS customers ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" unique_id TEXT NOT NULL,"
	" zip_prefix INTEGER NOT NULL CHECK (zip_prefix >= 0),"
	" city TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" email TEXT NOT NULL,"
	" home TEXT NOT NULL,"
	" version INTEGER NOT NULL CHECK (version >= 1),"
	" deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),"
	" updated_at_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	/* What find_customers reads: the live records by zip prefix (each
	 * entry ends with the key, id).  Tombstones stay out of it. */
	"CREATE INDEX IF NOT EXISTS customers_live_zip ON customers (zip_prefix)"
	" WHERE deleted = 0;";

static const char schema_central[] =
	"CREATE TABLE IF NOT EXISTS central_products ("
	" sku TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" price_cents INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" components BLOB NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS central_orders ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" region TEXT NOT NULL,"
	" customer TEXT NOT NULL,"
	" sku TEXT NOT NULL,"
	" quantity INTEGER NOT NULL,"
	" unit_price_cents INTEGER NOT NULL,"
	" placed_at_us INTEGER NOT NULL,"
	" applied_at_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS central_orders_region ON central_orders (region);"
	"CREATE INDEX IF NOT EXISTS central_orders_sku ON central_orders (sku);";

static const char schema_documents[] =
	"CREATE TABLE IF NOT EXISTS order_product ("
	" order_id TEXT PRIMARY KEY NOT NULL,"
	" log_id TEXT NOT NULL,"
	" customer TEXT NOT NULL,"
	" sku TEXT NOT NULL,"
	" quantity INTEGER NOT NULL,"
	" unit_price_cents INTEGER NOT NULL,"
	" region TEXT NOT NULL,"
	" placed_at_us INTEGER NOT NULL,"
	" logged_at_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS order_product_region ON order_product (region);"
	"CREATE TABLE IF NOT EXISTS product_component ("
	" sku TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" price_cents INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" components BLOB NOT NULL"
	") STRICT, WITHOUT ROWID;";

static const char reset_regional[] =
	"DELETE FROM products; DELETE FROM product_components; DELETE FROM inventory;"
	"DELETE FROM orders; DELETE FROM outbox; DELETE FROM customers;";
static const char reset_central[] = "DELETE FROM central_products; DELETE FROM central_orders;";
static const char reset_documents[] = "DELETE FROM order_product; DELETE FROM product_component;";

static const struct {
	unsigned role;
	const char *schema;
	const char *reset;
} role_tables[] = {
	{ DDB_ROLE_REGIONAL, schema_regional, reset_regional },
	{ DDB_ROLE_CENTRAL, schema_central, reset_central },
	{ DDB_ROLE_DOCUMENTS, schema_documents, reset_documents },
};

/* The tables of each role: a store opened read-only must have them all. */
static const struct {
	unsigned role;
	const char *table;
} role_table_names[] = {
	{ DDB_ROLE_REGIONAL, "products" },     { DDB_ROLE_REGIONAL, "product_components" },
	{ DDB_ROLE_REGIONAL, "inventory" },    { DDB_ROLE_REGIONAL, "orders" },
	{ DDB_ROLE_REGIONAL, "outbox" },       { DDB_ROLE_REGIONAL, "customers" },
	{ DDB_ROLE_CENTRAL, "central_products" }, { DDB_ROLE_CENTRAL, "central_orders" },
	{ DDB_ROLE_DOCUMENTS, "order_product" }, { DDB_ROLE_DOCUMENTS, "product_component" },
};

/* ---- open, close, reset --------------------------------------------------- */

void sqs_close(void *handle)
{
	struct sq *h = handle;
	if (!h)
		return;
	sqc_stop(h);
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(h->stmt[i]);
	/* v2: a cursor left open keeps the connection until it is closed. */
	sqlite3_close_v2(h->db);
	free(h->path);
	free(h);
}

static enum ddb_status exec_script(struct sq *h, const char *op, const char *sql,
                                   struct ddb_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return DDB_OK;
	enum ddb_status st = sqt_status_of(rc);
	sqt_fail(h, st, err, "%s: %s", op, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return st == DDB_OK ? DDB_INTERNAL : st;
}

/* Creates the tables of every role served; with wipe, empties them.  One
 * transaction; it runs at open too, before the statements are prepared. */
static enum ddb_status ensure_schema(struct sq *h, const char *op, int wipe, struct ddb_err *err)
{
	enum ddb_status st = exec_script(h, op, "BEGIN IMMEDIATE", err);
	for (size_t i = 0; st == DDB_OK && i < sizeof role_tables / sizeof role_tables[0]; i++) {
		if (!(h->roles & role_tables[i].role))
			continue;
		st = exec_script(h, op, role_tables[i].schema, err);
		if (st == DDB_OK && wipe)
			st = exec_script(h, op, role_tables[i].reset, err);
	}
	if (st == DDB_OK)
		st = exec_script(h, op, "COMMIT", err);
	if (st != DDB_OK && !sqlite3_get_autocommit(h->db))
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}

static int journal_mode_cb(void *ctx, int n, char **values, char **names)
{
	(void)names;
	char *mode = ctx;
	snprintf(mode, 16, "%s", n > 0 && values[0] ? values[0] : "");
	return 0;
}

struct settings {
	const char *synchronous_sql;
	int busy_timeout_ms;
};

/* Reads the options, before anything touches the file. */
static enum ddb_status read_options(const struct ddb_open_args *args, struct settings *set,
                                    struct ddb_err *err)
{
	static const char *const sync_modes[] = { "OFF", "NORMAL", "FULL", "EXTRA", NULL };
	static const char *const sync_sql[] = {
		"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL",
		"PRAGMA synchronous = FULL", "PRAGMA synchronous = EXTRA",
	};
	struct ddb_err why;
	int sync;
	long ms;
	if (ddb_option_enum(args, "synchronous", 1, sync_modes, &sync, &why) != DDB_OK ||
	    ddb_option_long(args, "busy_timeout_ms", 5000, 0, INT_MAX, &ms, &why) != DDB_OK)
		return sqt_fail(NULL, DDB_INVALID, err, "%s: open: %s", args->node, why.msg);
	set->synchronous_sql = sync_sql[sync];
	set->busy_timeout_ms = (int)ms;
	return DDB_OK;
}

/* The file's path: the option path, else DATA_DIR/NODE.db. */
static enum ddb_status make_path(const struct ddb_open_args *args, char **path,
                                 struct ddb_err *err)
{
	const char *opt = ddb_option_get(args, "path", NULL);
	if (opt && *opt) {
		*path = strdup(opt);
	} else {
		const char *dir = args->data_dir && *args->data_dir ? args->data_dir : NULL;
		if (!dir || strchr(args->node, '/'))
			return sqt_fail(NULL, DDB_INVALID, err, "%s: open: no option path, and %s",
			            args->node,
			            dir ? "the node name holds a '/'" : "no data_dir to put NODE.db in");
		size_t len = strlen(dir) + 1 + strlen(args->node) + sizeof ".db";
		if ((*path = malloc(len)) != NULL)
			snprintf(*path, len, "%s/%s.db", dir, args->node);
	}
	if (!*path)
		return sqt_fail(NULL, DDB_INTERNAL, err, "%s: open: out of memory", args->node);
	return DDB_OK;
}

static enum ddb_status configure(struct sq *h, const struct settings *set, struct ddb_err *err)
{
	sqlite3_extended_result_codes(h->db, 1);
	sqlite3_busy_timeout(h->db, set->busy_timeout_ms);
	if (h->readonly)
		return DDB_OK; /* the journal mode is the file's already; nothing is written */

	char mode[16] = "";
	char *msg = NULL;
	int rc = sqlite3_exec(h->db, "PRAGMA journal_mode = WAL", journal_mode_cb, mode, &msg);
	if (rc != SQLITE_OK) {
		enum ddb_status st = sqt_status_of(rc);
		sqt_fail(h, st, err, "open: journal_mode = WAL: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return st == DDB_OK ? DDB_INTERNAL : st;
	}
	/* An in-memory database (path ":memory:") cannot be in WAL mode. */
	if (strcasecmp(mode, "wal") != 0 && strcasecmp(mode, "memory") != 0)
		return sqt_fail(h, DDB_INTERNAL, err, "open: cannot switch to WAL mode (mode is '%s')",
		            mode);
	return exec_script(h, "open: synchronous", set->synchronous_sql, err);
}

/* "file:PATH?mode=ro[&immutable=1]", PATH percent-encoded: the read-only
 * open of h->path (see the top of the file); NULL on ENOMEM. */
static char *readonly_uri(const char *path, int immutable)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(path);
	char *uri = malloc(sizeof "file:" + 3 * len + sizeof "?mode=ro&immutable=1");
	if (!uri)
		return NULL;
	char *o = uri + sprintf(uri, "file:");
	while (path[0] == '/' && path[1] == '/')
		path++; /* "file://" would start an authority */
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '/' || *p == '.' || *p == '_' || *p == '-' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	strcpy(o, immutable ? "?mode=ro&immutable=1" : "?mode=ro");
	return uri;
}

/* Read-only: opens the existing file, creating nothing. */
static enum ddb_status open_readonly(struct sq *h, struct ddb_err *err)
{
	struct stat st;
	if (strcmp(h->path, ":memory:") == 0)
		return sqt_fail(h, DDB_INVALID, err, "open read-only: a database in memory holds nothing");
	if (stat(h->path, &st) != 0) {
		int e = errno;
		return sqt_fail(h, e == ENOENT ? DDB_NOT_FOUND : DDB_UNAVAILABLE, err,
		            "open read-only: %s%s", strerror(e),
		            e == ENOENT ? " (no store here: a read-only open creates none)" : "");
	}
	if (!S_ISREG(st.st_mode))
		return sqt_fail(h, DDB_INVALID, err, "open read-only: not a regular file");
	size_t len = strlen(h->path) + sizeof "-wal";
	char *wal = malloc(len);
	if (!wal)
		return sqt_fail(h, DDB_INTERNAL, err, "open: out of memory");
	snprintf(wal, len, "%s-wal", h->path);
	int has_log = stat(wal, &st) == 0 && st.st_size > 0;
	free(wal);
	char *uri = readonly_uri(h->path, !has_log);
	if (!uri)
		return sqt_fail(h, DDB_INTERNAL, err, "open: out of memory");
	int rc = sqlite3_open_v2(uri, &h->db,
	                         SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return h->db ? sqt_db_fail(h, "open read-only", rc, err)
		             : sqt_fail(h, DDB_INTERNAL, err, "open: out of memory");
	return DDB_OK;
}

/* Read-only: every table of every role served must be there. */
static enum ddb_status check_tables(struct sq *h, struct ddb_err *err)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(h->db,
	                            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
	                            "name = ?1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return sqt_db_fail(h, "open read-only: reading the schema", rc, err);
	enum ddb_status st = DDB_OK;
	for (size_t i = 0; st == DDB_OK && i < sizeof role_table_names / sizeof role_table_names[0];
	     i++) {
		if (!(h->roles & role_table_names[i].role))
			continue;
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, role_table_names[i].table, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		if (rc != SQLITE_ROW)
			st = sqt_db_fail(h, "open read-only: reading the schema", rc, err);
		else if (sqlite3_column_int(q, 0) == 0)
			st = sqt_fail(h, DDB_NOT_FOUND, err,
			          "open read-only: no table %s: not a store of this node (empty, or "
			          "never set up by a run)", role_table_names[i].table);
	}
	sqlite3_finalize(q);
	return st;
}

enum ddb_status sqs_open(const struct ddb_open_args *args, void **handle, struct ddb_err *err)
{
	struct ddb_err msg;
	const char *why = ddb_open_problem(args, handle, &msg);
	if (why)
		return sqt_fail(NULL, DDB_INVALID, err, "%s", why);
	if (sqlite3_libversion_number() < 3037000)
		return sqt_fail(NULL, DDB_INTERNAL, err,
		            "%s: open: SQLite %s is too old, 3.37 or later is needed (STRICT tables)",
		            args->node, sqlite3_libversion());
	struct settings set = { 0 };
	enum ddb_status st = read_options(args, &set, err);
	if (st != DDB_OK)
		return st;

	struct sq *h = calloc(1, sizeof *h);
	if (!h)
		return sqt_fail(NULL, DDB_INTERNAL, err, "%s: open: out of memory", args->node);
	h->node_len = (int)strlen(args->node);
	memcpy(h->node, args->node, (size_t)h->node_len + 1);
	h->roles = args->roles;
	h->readonly = (args->flags & DDB_OPEN_READONLY) != 0;
	if ((st = make_path(args, &h->path, err)) != DDB_OK) {
		free(h);
		return st;
	}

	if (h->readonly) {
		st = open_readonly(h, err);
	} else {
		int rc = sqlite3_open_v2(h->path, &h->db,
		                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
		                         NULL);
		if (rc != SQLITE_OK)
			st = h->db ? sqt_db_fail(h, "open", rc, err)
			           : sqt_fail(h, DDB_INTERNAL, err, "open: out of memory");
	}
	if (st == DDB_OK)
		st = configure(h, &set, err);
	if (st == DDB_OK)
		st = h->readonly ? check_tables(h, err) : ensure_schema(h, "open: creating tables", 0, err);
	if (st == DDB_OK)
		st = sqt_prepare_all(h, err);
	if (st == DDB_OK && !h->readonly && strcmp(h->path, ":memory:") != 0)
		sqc_start(h, set.synchronous_sql);
	return ddb_open_done(st, h, handle, sqs_close);
}

enum ddb_status sqs_reset(void *handle, struct ddb_err *err)
{
	struct sq *h = handle;
	const char *why = ddb_reset_problem(h != NULL, h && h->readonly);
	return why ? sqt_fail(h, DDB_INVALID, err, "%s", why) : ensure_schema(h, "reset", 1, err);
}

