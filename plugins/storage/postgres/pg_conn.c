/*
 * pg_conn.c - the PostgreSQL plugin's connection: its options, connecting
 * (session settings, then the schema of the roles served from schema.sql,
 * or read-only checks), reconnecting with backoff, running prepared
 * statements with binary parameters, failures as a status and one line of
 * message, and resolving a write whose outcome a lost connection left
 * unknown.  See pg_conn.h; the operations are in postgres.c.
 *
 * Connection.  Options (every one optional):
 *   conninfo            a libpq connection string or URI
 *   host, port, dbname, user, password
 *                       single settings; they win over the same ones in
 *                       conninfo
 *   connect_timeout     seconds (default 5)
 *   application_name    (default "ddbsim-NODE")
 *   synchronous_commit  on (default), off, local, remote_write, remote_apply
 *   create_database     yes (default) or no: at open, create the database
 *                       when it does not exist
 *   resolve_timeout_ms  how long a write whose outcome a lost connection
 *                       left unknown waits for the server to come back and
 *                       say (default 30000)
 *   backoff_min_ms, backoff_max_ms
 *                       reconnection backoff (default 50 and 2000)
 * Without a dbname (in neither conninfo nor dbname) the database is the node
 * name; the rest comes from libpq's defaults (PGHOST, PGPORT, PGUSER, ...).
 *
 * Read-only (DDB_OPEN_READONLY, ddbsim check): no database, table or
 * function is created and no schema migrated; a missing database, or one
 * without the schema of a role served (at this plugin's version), is
 * DDB_NOT_FOUND; the session runs with default_transaction_read_only on, so
 * the server itself refuses any write.
 *
 * Lost connections.  A call that finds the connection broken returns
 * DDB_UNAVAILABLE; a later call reconnects, no sooner than the backoff
 * allows (doubling from backoff_min_ms to backoff_max_ms, wall clock; at
 * once when another instance of the process has got through meanwhile),
 * and prepares the statements again.  Before sending, a call reads what the
 * server may have said while the connection was idle, so that a connection
 * the server closed is found dead before anything is sent into it; after
 * sending, the first answer decides: an error from the server means the
 * statement's transaction rolled back.  A statement is never sent twice by
 * the plugin.  Every operation is idempotent except place_orders and
 * restock (postgres.c says why); those two record, in the same
 * transaction, their outcome under this instance's writer id and an
 * operation number (ddbsim_writes).  When a connection breaks with their
 * outcome unknown (a crash: no answer at all), the call reconnects for up to
 * resolve_timeout_ms and reads that record: committed, it returns what was
 * committed; not committed, UNAVAILABLE.  If the server stays away longer,
 * the call returns UNAVAILABLE and the first reconnection undoes the write
 * if it did commit (ddbsim_undo_write), so that UNAVAILABLE always means
 * "nothing changed", as the ABI promises.
 */
/* The statements' SQL (stmt_table) is defined here, where it is prepared. */
#define STMT_DEFINE_TABLE
#include "pg_conn.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The version of the schema in schema.sql, recorded in ddbsim_schema. */
#define SCHEMA_VERSION 2

/* Connections made by any instance of this process.  When one instance gets
 * through, the server is back: the others try again at once instead of
 * waiting out their backoff. */
static atomic_uint_fast64_t connections_made;

/* ---- schema ------------------------------------------------------------- */

/* Taken by every schema change and reset, so that instances opening at the
 * same time do not create the same objects at once. */
#define SCHEMA_LOCK "SELECT pg_advisory_xact_lock(7234017355514110001)"

/* schema_meta, schema_regional, schema_central, schema_documents: the
 * sections of schema.sql, made into C strings by make (sql2c.awk). */
#include "pg_schema.h"

static const struct {
	unsigned role;
	const char *name;
	const char *schema;
	const char *reset;
} role_tables[] = {
	{ DDB_ROLE_REGIONAL, "regional", schema_regional,
	  "TRUNCATE products, product_components, inventory, orders, outbox, customers"
	  " RESTART IDENTITY" },
	{ DDB_ROLE_CENTRAL, "central", schema_central, "TRUNCATE central_products, central_orders" },
	{ DDB_ROLE_DOCUMENTS, "documents", schema_documents,
	  "TRUNCATE order_product, product_component" },
};
#define N_ROLE_TABLES (sizeof role_tables / sizeof role_tables[0])

/* ---- errors ------------------------------------------------------------- */

/* libpq's messages end with a newline and may span lines: one line, in dst. */
void pgc_one_line(char *dst, size_t size, const char *msg)
{
	size_t n = 0;
	for (const char *p = msg ? msg : ""; *p && n + 1 < size; p++) {
		char c = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p;
		if (c == ' ' && (n == 0 || dst[n - 1] == ' '))
			continue;
		dst[n++] = c;
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

/* What a SQLSTATE means for the caller. */
static enum ddb_status status_of_sqlstate(const char *s)
{
	if (!s || strlen(s) != 5)
		return DDB_INTERNAL;
	if (!strncmp(s, "08", 2) || /* connection exception */
	    !strncmp(s, "57P", 3) || /* admin or crash shutdown, cannot connect now */
	    !strncmp(s, "53", 2) ||  /* insufficient resources: disk full, out of memory */
	    !strcmp(s, "57014") ||   /* query canceled: statement timeout */
	    !strcmp(s, "40001") ||   /* serialization failure: retry */
	    !strcmp(s, "40P01") ||   /* deadlock detected: retry */
	    !strcmp(s, "55P03") ||   /* lock not available */
	    !strcmp(s, "55006"))     /* object in use */
		return DDB_UNAVAILABLE;
	if (!strcmp(s, "23505"))
		return DDB_DUPLICATE;
	if (!strncmp(s, "23", 2) || !strncmp(s, "22", 2)) /* constraint, data exception */
		return DDB_INVALID;
	return DDB_INTERNAL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The connection is gone: forget it and its prepared statements; the next
 * call reconnects at once, later ones back off. */
void pgc_drop(struct pg *h, const char *why)
{
	if (why)
		pgc_one_line(h->last_error, sizeof h->last_error, why);
	if (h->conn)
		PQfinish(h->conn);
	h->conn = NULL;
	memset(h->prepared, 0, sizeof h->prepared);
}

/* A failed statement: its status and "postgres: NODE: OP: message" in err;
 * a broken connection is dropped (UNAVAILABLE). */
static enum ddb_status db_fail(struct pg *h, const PGresult *res, const char *op,
                               struct ddb_err *err)
{
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[DDB_ERR_MAX];
	const char *text = res ? PQresultErrorMessage(res) : "";
	if (!text || !*text)
		text = h->conn ? PQerrorMessage(h->conn) : "no connection";
	pgc_one_line(msg, sizeof msg, text);
	if (!msg[0])
		snprintf(msg, sizeof msg, "unexpected result %s",
		         res ? PQresStatus(PQresultStatus(res)) : "(none)");
	int lost = !h->conn || PQstatus(h->conn) != CONNECTION_OK;
	enum ddb_status st = status_of_sqlstate(sqlstate);
	if (lost || (sqlstate && !strncmp(sqlstate, "57P", 3))) {
		pgc_drop(h, msg);
		st = DDB_UNAVAILABLE;
	}
	if (st == DDB_OK)
		st = DDB_INTERNAL;
	pgc_fail(h, st, err, "%s: %s%s", op, msg,
	         st == DDB_UNAVAILABLE && lost ? " (connection lost)" : "");
	return st;
}

/* ---- connection --------------------------------------------------------- */

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Runs a statement without parameters (simple protocol: it may hold several);
 * OK or the failure in err. */
static enum ddb_status exec_simple(struct pg *h, const char *op, const char *sql,
                                   struct ddb_err *err)
{
	PGresult *res = PQexec(h->conn, sql);
	ExecStatusType s = PQresultStatus(res);
	enum ddb_status st = DDB_OK;
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		st = db_fail(h, res, op, err);
	PQclear(res);
	return st;
}

static void rollback(struct pg *h)
{
	if (h->conn && PQtransactionStatus(h->conn) != PQTRANS_IDLE) {
		PGresult *res = PQexec(h->conn, "ROLLBACK");
		PQclear(res);
	}
}

/* Creates the schema of every role served where it is missing or older;
 * with wipe, empties the role's tables.  One transaction. */
static enum ddb_status ensure_schema(struct pg *h, const char *op, int wipe, struct ddb_err *err)
{
	enum ddb_status st = exec_simple(h, op, "BEGIN; " SCHEMA_LOCK, err);
	if (st == DDB_OK)
		st = exec_simple(h, op, schema_meta, err);
	PGresult *res = NULL;
	if (st == DDB_OK) {
		res = PQexec(h->conn, "SELECT role, version FROM ddbsim_schema");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			st = db_fail(h, res, op, err);
	}
	for (size_t i = 0; st == DDB_OK && i < N_ROLE_TABLES; i++) {
		if (!(h->roles & role_tables[i].role))
			continue;
		int current = 0;
		for (int r = 0; r < PQntuples(res); r++)
			if (!strcmp(PQgetvalue(res, r, 0), role_tables[i].name) &&
			    atoi(PQgetvalue(res, r, 1)) == SCHEMA_VERSION)
				current = 1;
		if (!current) {
			st = exec_simple(h, op, role_tables[i].schema, err);
			if (st == DDB_OK) {
				char sql[256];
				/* Only constants of this file go into the text. */
				snprintf(sql, sizeof sql,
				         "INSERT INTO ddbsim_schema (role, version) VALUES ('%s', %d)"
				         " ON CONFLICT (role) DO UPDATE SET version = excluded.version",
				         role_tables[i].name, SCHEMA_VERSION);
				st = exec_simple(h, op, sql, err);
			}
		}
		if (st == DDB_OK && wipe)
			st = exec_simple(h, op, role_tables[i].reset, err);
	}
	PQclear(res);
	if (st == DDB_OK)
		st = exec_simple(h, op, "COMMIT", err);
	if (st != DDB_OK)
		rollback(h);
	return st;
}

/* Read-only: the schema of every role served is there, at this plugin's
 * version (nothing is created or migrated). */
static enum ddb_status verify_schema(struct pg *h, const char *op, struct ddb_err *err)
{
	PGresult *res = PQexec(h->conn, "SELECT to_regclass('ddbsim_schema') IS NOT NULL");
	enum ddb_status st = DDB_OK;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		st = db_fail(h, res, op, err);
	else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		st = pgc_fail(h, DDB_NOT_FOUND, err, "%s: %s: no ddbsim schema: not a store set up by a "
		              "run (a read-only open creates none)", op, h->where);
	PQclear(res);
	if (st != DDB_OK)
		return st;
	res = PQexec(h->conn, "SELECT role, version FROM ddbsim_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		st = db_fail(h, res, op, err);
	for (size_t i = 0; st == DDB_OK && i < N_ROLE_TABLES; i++) {
		if (!(h->roles & role_tables[i].role))
			continue;
		int version = -1;
		for (int r = 0; r < PQntuples(res); r++)
			if (!strcmp(PQgetvalue(res, r, 0), role_tables[i].name))
				version = atoi(PQgetvalue(res, r, 1));
		if (version < 0)
			st = pgc_fail(h, DDB_NOT_FOUND, err, "%s: %s: no %s schema: not a store of this role "
			              "set up by a run", op, h->where, role_tables[i].name);
		else if (version != SCHEMA_VERSION)
			st = pgc_fail(h, DDB_INVALID, err, "%s: %s: the %s schema is version %d, this plugin "
			              "reads version %d: a run migrates it, a read-only open does not", op,
			              h->where, role_tables[i].name, version, SCHEMA_VERSION);
	}
	PQclear(res);
	return st;
}

static enum ddb_status undo_doubt(struct pg *h, struct ddb_err *err);

/* Connects now: session settings, schema.  On failure the reason is in err
 * and h->last_error. */
static enum ddb_status connect_now(struct pg *h, const char *op, struct ddb_err *err)
{
	pgc_drop(h, NULL);
	PGconn *c = PQconnectdbParams(h->set.kw, h->set.val, h->set.expand_dbname);
	if (!c)
		return pgc_fail(h, DDB_INTERNAL, err, "%s: connect: out of memory", op);
	if (PQstatus(c) != CONNECTION_OK) {
		pgc_one_line(h->last_error, sizeof h->last_error, PQerrorMessage(c));
		PQfinish(c);
		return pgc_fail(h, DDB_UNAVAILABLE, err, "%s: cannot connect: %s", op, h->last_error);
	}
	h->conn = c;
	PQsetNoticeProcessor(c, quiet_notices, NULL);
	snprintf(h->where, sizeof h->where, "%s@%s:%s", PQdb(c), PQhost(c), PQport(c));
	if (PQserverVersion(c) < 110000) {
		enum ddb_status st = pgc_fail(h, DDB_INTERNAL, err,
		                              "%s: %s: PostgreSQL %d is too old: 11 or later is needed", op,
		                              h->where, PQserverVersion(c));
		pgc_drop(h, NULL);
		return st;
	}
	const char *values[2] = { h->set.sync_commit, h->readonly ? "on" : "off" };
	PGresult *res = PQexecParams(c,
	                             "SELECT set_config('synchronous_commit', $1, false),"
	                             " set_config('client_min_messages', 'warning', false),"
	                             " set_config('default_transaction_read_only', $2, false)",
	                             2, NULL, values, NULL, NULL, 0);
	enum ddb_status st = DDB_OK;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		st = db_fail(h, res, op, err);
	PQclear(res);
	if (st == DDB_OK)
		st = h->readonly ? verify_schema(h, op, err) : ensure_schema(h, op, 0, err);
	if (st == DDB_OK && h->doubt)
		st = undo_doubt(h, err);
	if (st != DDB_OK && h->conn) {
		pgc_one_line(h->last_error, sizeof h->last_error, err ? err->msg : "");
		pgc_drop(h, NULL);
	}
	return st;
}

/* A server that went away while the connection was idle has sent its
 * goodbye and closed: find that out before sending anything into the dead
 * connection (where the reset that answers would also discard the goodbye
 * and leave the outcome of the statement looking unknown).  Twice: libpq
 * reads the goodbye on one call and sees the end of the connection only on
 * the next.  On a live idle connection each is one read that finds nothing. */
void pgc_drop_if_closed(struct pg *h)
{
	if (h->conn && (!PQconsumeInput(h->conn) || !PQconsumeInput(h->conn) ||
	                PQstatus(h->conn) != CONNECTION_OK))
		pgc_drop(h, PQerrorMessage(h->conn));
}

/* A live connection, or UNAVAILABLE: reconnects when the backoff allows. */
enum ddb_status pgc_ensure(struct pg *h, const char *op, struct ddb_err *err)
{
	if (h->conn && PQstatus(h->conn) == CONNECTION_OK)
		return DDB_OK;
	if (h->conn)
		pgc_drop(h, PQerrorMessage(h->conn));
	int64_t now = mono_ms();
	if (now < h->next_try_ms && atomic_load(&connections_made) == h->connects_seen)
		return pgc_fail(h, DDB_UNAVAILABLE, err, "%s: not connected (%s); next attempt in %lld ms",
		                op, h->last_error[0] ? h->last_error : "connection lost",
		                (long long)(h->next_try_ms - now));
	enum ddb_status st = connect_now(h, op, err);
	if (st == DDB_OK) {
		atomic_fetch_add(&connections_made, 1);
		h->backoff_ms = h->set.backoff_min_ms;
		h->next_try_ms = 0;
		h->last_error[0] = '\0';
	} else {
		h->connects_seen = atomic_load(&connections_made);
		h->next_try_ms = mono_ms() + h->backoff_ms;
		h->backoff_ms = h->backoff_ms * 2 > h->set.backoff_max_ms ? h->set.backoff_max_ms
		                                                          : h->backoff_ms * 2;
	}
	return st;
}

/* Runs prepared statement id with r's parameters, binary results.  The
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK) or NULL with the failure in
 * *st and err.  *unknown (if not NULL) is set when the connection broke
 * with the outcome unknown: the statement may have committed.  It did not
 * when the server's first answer was an error (a statement that fails
 * aborts its implicit transaction): a server that shuts down sends FATAL
 * 57P01 before it closes, which libpq's own "server closed the connection"
 * would hide behind it, hence the results are read one by one here. */
PGresult *pgc_run(struct pg *h, enum stmt_id id, const struct pgb_req *r, const char *op,
                     enum ddb_status *st, int *unknown, struct ddb_err *err)
{
	if (unknown)
		*unknown = 0;
	if (r && r->b->oom) {
		*st = pgc_fail(h, DDB_INTERNAL, err, "%s: out of memory (or a batch too large)", op);
		return NULL;
	}
	pgc_drop_if_closed(h);
	if ((*st = pgc_ensure(h, op, err)) != DDB_OK)
		return NULL;
	char name[16];
	snprintf(name, sizeof name, "s%d", (int)id);
	if (!h->prepared[id]) {
		PGresult *p = PQprepare(h->conn, name, stmt_table[id].sql, 0, NULL);
		if (PQresultStatus(p) != PGRES_COMMAND_OK) {
			/* Nothing was executed: the outcome is known. */
			*st = db_fail(h, p, op, err);
			PQclear(p);
			return NULL;
		}
		PQclear(p);
		h->prepared[id] = 1;
	}
	const char *values[PGB_MAX_PARAMS];
	int formats[PGB_MAX_PARAMS];
	int n = r ? r->n : 0;
	for (int i = 0; i < n; i++) {
		values[i] = r->null[i] ? NULL : (const char *)r->b->p + r->off[i];
		formats[i] = 1;
	}
	if (!PQsendQueryPrepared(h->conn, name, n, n ? values : NULL, r ? r->len : NULL,
	                         n ? formats : NULL, 1)) {
		/* Not sent. */
		*st = db_fail(h, NULL, op, err);
		return NULL;
	}
	PGresult *ok = NULL, *bad = NULL, *x;
	while ((x = PQgetResult(h->conn)) != NULL) {
		ExecStatusType s = PQresultStatus(x);
		if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
			if (!ok && !bad) {
				ok = x;
				continue;
			}
		} else if (!bad) {
			bad = x;
			continue;
		}
		PQclear(x);
	}
	/* The loop ends at ReadyForQuery, or when the connection broke
	 * (after an error result saying so). */
	if (ok && !bad)
		return ok;
	if (unknown)
		*unknown = !PQresultErrorField(bad, PG_DIAG_SQLSTATE) || ok;
	*st = db_fail(h, bad, op, err);
	PQclear(ok);
	PQclear(bad);
	return NULL;
}

/* ---- writes whose outcome a lost connection may hide ------------------- */

/* After a lost connection left write h->op unknown: reconnects (backing
 * off) for up to resolve_timeout_ms and reads the write log.  Returns 1 and
 * the log row (op, kind, outcome) when the write committed, 0 when it did
 * not, -1 when the server did not come back in time (h->doubt is set: the
 * next connection undoes it if it committed). */
int pgc_resolve(struct pg *h, const char *op, PGresult **row, struct ddb_err *err)
{
	*row = NULL;
	int64_t deadline = mono_ms() + h->set.resolve_timeout_ms;
	long wait = h->set.backoff_min_ms;
	for (;;) {
		h->next_try_ms = 0; /* this loop does its own backing off */
		struct ddb_err e = { "" };
		enum ddb_status st = pgc_ensure(h, op, &e);
		if (st == DDB_OK) {
			struct pgb_req r;
			pgb_begin(&r, &h->buf);
			pgb_text(&r, h->writer);
			int unknown;
			PGresult *res = pgc_run(h, S_WRITE_GET, &r, op, &st, &unknown, &e);
			if (res) {
				if (PQntuples(res) == 1 && pgb_get_int(res, 0, 0) == h->op &&
				    PQgetvalue(res, 0, 1)[0] != 'U') {
					*row = res;
					return 1;
				}
				PQclear(res);
				return 0;
			}
		}
		int64_t now = mono_ms();
		if (now >= deadline) {
			h->doubt = 1;
			h->doubt_op = h->op;
			pgc_fail(h, DDB_UNAVAILABLE, err,
			         "%s: connection lost with the outcome unknown, and the server did not come"
			         " back within %ld ms: %s (it will be undone on reconnection if it committed)",
			         op, h->set.resolve_timeout_ms, h->last_error);
			return -1;
		}
		sleep_ms(wait < deadline - now ? wait : (long)(deadline - now));
		wait = wait * 2 > h->set.backoff_max_ms ? h->set.backoff_max_ms : wait * 2;
	}
}

/* At a new connection: undoes the write reported UNAVAILABLE whose outcome
 * was unknown, if it committed after all. */
static enum ddb_status undo_doubt(struct pg *h, struct ddb_err *err)
{
	static const char op[] = "undoing a write of unknown outcome";
	const char *values[2];
	char opbuf[24];
	snprintf(opbuf, sizeof opbuf, "%lld", (long long)h->doubt_op);
	values[0] = h->writer;
	values[1] = opbuf;
	/* Text parameters: the prepared statements are not there yet. */
	PGresult *res = PQexecParams(h->conn, stmt_table[S_WRITE_UNDO].sql, 2, NULL, values, NULL,
	                             NULL, 0);
	enum ddb_status st = DDB_OK;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		st = db_fail(h, res, op, err);
	} else {
		const char *what = PQgetvalue(res, 0, 0);
		h->doubt = 0;
		if (strcmp(what, "none") != 0 && strcmp(what, "undone") != 0)
			st = pgc_fail(h, DDB_INTERNAL, err,
			              "%s: write %lld committed although it was reported UNAVAILABLE, and"
			              " cannot be undone: %s",
			              op, (long long)h->doubt_op, what);
	}
	PQclear(res);
	return st;
}

/* At open, when the first connection failed: asks the server, on its
 * maintenance database, whether the node's database is there, and with
 * create, creates it if not.  1: it is there (now); 0: it is not; -1: no
 * answer. */
static int database_there(struct pg *h, int create)
{
	/* The database libpq would have used. */
	PGconn *probe = PQconnectStartParams(h->set.kw, h->set.val, h->set.expand_dbname);
	if (!probe)
		return -1;
	char db[256];
	snprintf(db, sizeof db, "%s", PQdb(probe) ? PQdb(probe) : "");
	PQfinish(probe);
	if (!db[0] || !strcmp(db, "postgres"))
		return -1;

	const char *kw[20], *val[20];
	int n = 0;
	for (; h->set.kw[n]; n++)
		kw[n] = h->set.kw[n], val[n] = h->set.val[n];
	kw[n] = "dbname", val[n++] = "postgres";
	kw[n] = NULL, val[n] = NULL;
	PGconn *c = PQconnectdbParams(kw, val, h->set.expand_dbname);
	int exists = -1;
	char *ident = NULL;
	if (c && PQstatus(c) == CONNECTION_OK) {
		PQsetNoticeProcessor(c, quiet_notices, NULL);
		ident = PQescapeIdentifier(c, db, strlen(db));
	}
	/* Instances opening at once may all try: whatever the error, what
	 * counts is whether the database is there afterwards. */
	for (int tries = 0; ident && tries < 10; tries++) {
		const char *values[1] = { db };
		PGresult *res = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL,
		                             values, NULL, NULL, 0);
		int failed = PQresultStatus(res) != PGRES_TUPLES_OK;
		exists = failed ? -1 : PQntuples(res) > 0;
		PQclear(res);
		if (exists != 0 || !create)
			break;
		/* An identifier cannot be a parameter: quoted by libpq. */
		char sql[600];
		snprintf(sql, sizeof sql, "CREATE DATABASE %s", ident);
		res = PQexec(c, sql);
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		int raced = state && (!strcmp(state, "42P04") || /* created meanwhile */
		                      !strcmp(state, "23505") || /* the same, seen in the catalog */
		                      !strcmp(state, "55006"));  /* the template is busy */
		int refused = PQresultStatus(res) != PGRES_COMMAND_OK && !raced;
		PQclear(res);
		if (refused) {
			exists = -1; /* no CREATEDB privilege, say: the open reports why it failed */
			break;
		}
		if (raced)
			sleep_ms(50 + 50 * tries);
	}
	PQfreemem(ident);
	PQfinish(c);
	return exists;
}

/* ---- options ----------------------------------------------------------- */

/* The option names of enum pgc_opt. */
static const char *const pgc_opt_keys[PGC_N_OPTS] = {
	[PGC_CONNINFO] = "conninfo", [PGC_HOST] = "host", [PGC_PORT] = "port",
	[PGC_USER] = "user", [PGC_PASSWORD] = "password", [PGC_DBNAME] = "dbname",
};

static char *dup_opt(const struct ddb_open_args *args, const char *key, int *oom)
{
	const char *v = ddb_option_get(args, key, NULL);
	if (!v || !*v)
		return NULL;
	char *s = strdup(v);
	if (!s)
		*oom = 1;
	return s;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	errno = 0;
	long long v = s ? strtoll(s, &end, 10) : 0;
	if (!s || end == s || *end != '\0' || errno || v < min || v > max)
		return -1;
	*out = (long)v;
	return 0;
}

/* A port setting: a number from 1 to 65535, or a comma-separated list of
 * them (one per host); empty entries take the default. */
static int port_ok(const char *s)
{
	for (;;) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		if (n > 0) {
			char num[8];
			long v;
			if (n >= sizeof num)
				return 0;
			memcpy(num, s, n);
			num[n] = '\0';
			if (parse_long(num, 1, 65535, &v) != 0)
				return 0;
		}
		if (!end)
			return 1;
		s = end + 1;
	}
}

/* libpq's keywords and values for the connection, from the options read.
 * Later entries win over the connection string, which is expanded from the
 * first dbname entry. */
static void set_keywords(struct pg *h, int conninfo_has_db)
{
	struct pgc_settings *s = &h->set;
	int n = 0;
	s->expand_dbname = 0;
	if (h->opt[PGC_CONNINFO]) {
		s->kw[n] = "dbname", s->val[n++] = h->opt[PGC_CONNINFO];
		s->expand_dbname = 1;
	}
	for (int i = PGC_HOST; i < PGC_N_OPTS; i++)
		if (h->opt[i])
			s->kw[n] = pgc_opt_keys[i], s->val[n++] = h->opt[i];
	if (!h->opt[PGC_DBNAME] && !conninfo_has_db)
		s->kw[n] = "dbname", s->val[n++] = h->node;
	s->kw[n] = "connect_timeout", s->val[n++] = s->connect_timeout;
	s->kw[n] = "application_name", s->val[n++] = s->application_name;
	s->kw[n] = "client_encoding", s->val[n++] = "UTF8";
	s->kw[n] = NULL, s->val[n] = NULL;
}

/* Reads and checks the options, before anything connects. */
static enum ddb_status read_options(struct pg *h, const struct ddb_open_args *args,
                                    struct ddb_err *err)
{
	struct pgc_settings *s = &h->set;
	int oom = 0;
	for (int i = 0; i < PGC_N_OPTS; i++)
		h->opt[i] = dup_opt(args, pgc_opt_keys[i], &oom);
	if (oom)
		return pgc_fail(h, DDB_INTERNAL, err, "open: out of memory");

	int conninfo_has_db = 0;
	if (h->opt[PGC_CONNINFO]) {
		char *msg = NULL;
		PQconninfoOption *opts = PQconninfoParse(h->opt[PGC_CONNINFO], &msg);
		if (!opts) {
			char line[DDB_ERR_MAX];
			pgc_one_line(line, sizeof line, msg ? msg : "out of memory");
			PQfreemem(msg);
			return pgc_fail(h, DDB_INVALID, err, "open: option conninfo: %s", line);
		}
		int bad_port = 0;
		for (PQconninfoOption *o = opts; o->keyword; o++) {
			if (!strcmp(o->keyword, "dbname") && o->val && *o->val)
				conninfo_has_db = 1;
			if (!strcmp(o->keyword, "port") && o->val && !port_ok(o->val))
				bad_port = 1;
		}
		PQconninfoFree(opts);
		if (bad_port)
			return pgc_fail(h, DDB_INVALID, err,
			                "open: option conninfo: a port is not a number from 1 to 65535");
	}
	const char *port = h->opt[PGC_PORT];
	if (port && !port_ok(port))
		return pgc_fail(h, DDB_INVALID, err, "open: option port = '%s': expected 1 to 65535", port);

	static const char *const levels[] = { "on", "off", "local", "remote_write", "remote_apply",
		                              NULL };
	struct ddb_err why;
	long timeout;
	int level;
	if (ddb_option_long(args, "connect_timeout", 5, 0, 3600, &timeout, &why) != DDB_OK ||
	    ddb_option_enum(args, "synchronous_commit", 0, levels, &level, &why) != DDB_OK ||
	    ddb_option_bool(args, "create_database", 1, &s->create_database, &why) != DDB_OK ||
	    ddb_option_long(args, "resolve_timeout_ms", 30000, 0, 86400000L, &s->resolve_timeout_ms,
	                    &why) != DDB_OK ||
	    ddb_option_long(args, "backoff_min_ms", 50, 0, 3600000L, &s->backoff_min_ms, &why) != DDB_OK ||
	    ddb_option_long(args, "backoff_max_ms", 2000, 0, 3600000L, &s->backoff_max_ms, &why) != DDB_OK)
		return pgc_fail(h, DDB_INVALID, err, "open: %s", why.msg);
	snprintf(s->connect_timeout, sizeof s->connect_timeout, "%ld", timeout);
	snprintf(s->sync_commit, sizeof s->sync_commit, "%s", levels[level]);
	if (s->backoff_min_ms < 1)
		s->backoff_min_ms = 1;
	if (s->backoff_max_ms < s->backoff_min_ms)
		s->backoff_max_ms = s->backoff_min_ms;
	h->backoff_ms = s->backoff_min_ms;

	const char *app = ddb_option_get(args, "application_name", NULL);
	snprintf(s->application_name, sizeof s->application_name, "%s%s",
	         app ? "" : "ddbsim-", app ? app : h->node);
	set_keywords(h, conninfo_has_db);
	return DDB_OK;
}

/* ---- open, close, reset: the storage operations that manage the instance -- */

void pgc_close(void *handle)
{
	struct pg *h = handle;
	if (!h)
		return;
	/* Forget this writer's log row (not while a write is in doubt). */
	pgc_drop_if_closed(h);
	if (h->conn && PQstatus(h->conn) == CONNECTION_OK && !h->doubt &&
	    (h->roles & DDB_ROLE_REGIONAL)) {
		const char *values[1] = { h->writer };
		PGresult *res = PQexecParams(h->conn, stmt_table[S_WRITE_FORGET].sql, 1, NULL, values,
		                             NULL, NULL, 0);
		PQclear(res);
	}
	pgc_drop(h, NULL);
	for (int i = 0; i < PGC_N_OPTS; i++)
		free(h->opt[i]);
	free(h->buf.p);
	free(h);
}

enum ddb_status pgc_open(const struct ddb_open_args *args, void **handle,
                         struct ddb_err *err)
{
	static unsigned instances;
	struct ddb_err msg;
	const char *why = ddb_open_problem(args, handle, &msg);
	if (why)
		return pgc_fail(NULL, DDB_INVALID, err, "%s", why);

	struct pg *h = calloc(1, sizeof *h);
	if (!h)
		return pgc_fail(NULL, DDB_INTERNAL, err, "%s: open: out of memory", args->node);
	snprintf(h->node, sizeof h->node, "%s", args->node);
	h->roles = args->roles;
	h->readonly = (args->flags & DDB_OPEN_READONLY) != 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(h->writer, sizeof h->writer, "%ld-%lld.%09ld-%u", (long)getpid(),
	         (long long)ts.tv_sec, ts.tv_nsec, ++instances);
	enum ddb_status st = read_options(h, args, err);
	if (st == DDB_OK) {
		st = connect_now(h, "open", err);
		if (st == DDB_UNAVAILABLE && h->readonly && database_there(h, 0) == 0)
			st = pgc_fail(h, DDB_NOT_FOUND, err, "open read-only: its database does not exist "
			              "(a read-only open creates none): %s", h->last_error);
		else if (st == DDB_UNAVAILABLE && !h->readonly && h->set.create_database &&
		         database_there(h, 1) == 1)
			st = connect_now(h, "open", err);
	}
	return ddb_open_done(st, h, handle, pgc_close);
}

/* Idempotent: a wipe. */
enum ddb_status pgc_reset(void *handle, struct ddb_err *err)
{
	struct pg *h = handle;
	const char *why = ddb_reset_problem(h != NULL, h && h->readonly);
	if (why)
		return pgc_fail(h, DDB_INVALID, err, "%s", why);
	pgc_drop_if_closed(h);
	enum ddb_status st = pgc_ensure(h, "reset", err);
	if (st == DDB_OK)
		st = ensure_schema(h, "reset", 1, err);
	return st;
}
