/*
 * pg_conn.h - the PostgreSQL plugin's instance and its connection (private
 * to the plugin).  pg_conn.c reads the options, opens, closes and resets an
 * instance, connects (session settings, then the schema of the roles
 * served: schema.sql), reconnects with backoff after a lost connection,
 * runs prepared statements with binary parameters (pg_binary.h), turns
 * failures into a status and a one-line message, and resolves a write whose
 * outcome a lost connection left unknown.  The SQL of the statements is
 * in statements.sql (pg_statements.h, generated), postgres.c holds the other
 * operations and the descriptor.
 */
#ifndef DDBSIM_PG_CONN_H
#define DDBSIM_PG_CONN_H

#include <ddbsim/plugin.h>
#include <ddbsim/validate.h>
#include <libpq-fe.h>

#include <stdint.h>

#include "pg_binary.h"
/* enum stmt_id and struct stmt_def, from statements.sql (stmt2c.awk). */
#include "pg_statements.h"


/* The connection options, checked (read_options in pg_conn.c). */
struct pgc_settings {
	const char *kw[16];
	const char *val[16];
	int expand_dbname;
	char sync_commit[16];
	int create_database;
	long resolve_timeout_ms;
	long backoff_min_ms, backoff_max_ms;
	char application_name[DDB_NAME_MAX + 8];
	char connect_timeout[16];
};

/* The options passed on to libpq, kept (copied) for reconnecting; all but
 * conninfo under libpq's keyword of the same name (pgc_opt_keys, pg_conn.c).
 * Their order is the order in which libpq gets them. */
enum pgc_opt { PGC_CONNINFO, PGC_HOST, PGC_PORT, PGC_USER, PGC_PASSWORD, PGC_DBNAME, PGC_N_OPTS };

/* An open instance (the handle of the storage operations). */
struct pg {
	PGconn *conn;
	char node[DDB_NAME_MAX];
	unsigned roles;
	int readonly; /* DDB_OPEN_READONLY */
	struct pgc_settings set;
	char *opt[PGC_N_OPTS]; /* owned copies of the options pgc_opt_keys names */
	char where[192]; /* "db@host:port" of the last connection */
	unsigned char prepared[S_COUNT];
	/* reconnection */
	int64_t next_try_ms;
	long backoff_ms;
	uint_fast64_t connects_seen; /* connections_made at the last failed attempt */
	char last_error[192];
	/* the write log: this instance's writer id and operation number */
	char writer[64];
	int64_t op;
	/* a write reported UNAVAILABLE whose outcome is still unknown: undone
	 * (if it committed) at the next connection */
	int doubt;
	int64_t doubt_op;
	struct pgb_buf buf;
};

/* ---- errors ------------------------------------------------------------ */

/* Returns st, with "postgres: NODE: MESSAGE" in err (h NULL: no node):
 * pgc_fail(h, st, err, fmt, ...). */
static inline const char *pgc_where(const struct pg *h)
{
	return h ? h->node : NULL;
}
#define pgc_fail(h, st, err, ...) ddb_fail((err), (st), "postgres", pgc_where(h), __VA_ARGS__)
/* libpq's messages end with a newline and may span lines: one line, in dst. */
void pgc_one_line(char *dst, size_t size, const char *msg);

/* ---- the storage operations open, close and reset ------------------------- */

/* open: reads the options, connects (creating the database if it may), sets
 * up the schema of the roles served. */
enum ddb_status pgc_open(const struct ddb_open_args *args, void **handle, struct ddb_err *err);
/* close: forgets this writer's log row (unless a write is in doubt),
 * disconnects, frees. */
void pgc_close(void *handle);
/* reset: empties the tables of the roles served (a wipe: idempotent). */
enum ddb_status pgc_reset(void *handle, struct ddb_err *err);

/* ---- the connection ------------------------------------------------------ */

/* A live connection, or UNAVAILABLE: reconnects when the backoff allows. */
enum ddb_status pgc_ensure(struct pg *h, const char *op, struct ddb_err *err);
/* Forgets the connection and its prepared statements (why, if not NULL,
 * becomes h->last_error). */
void pgc_drop(struct pg *h, const char *why);
/* Drops a connection the server closed while it was idle. */
void pgc_drop_if_closed(struct pg *h);

/* ---- statements ---------------------------------------------------------- */

/* Runs prepared statement id with r's parameters (r may be NULL), binary
 * results: the result, or NULL with the failure in *st and err.  *unknown
 * (if not NULL) is set when the connection broke with the outcome unknown. */
PGresult *pgc_run(struct pg *h, enum stmt_id id, const struct pgb_req *r, const char *op,
                  enum ddb_status *st, int *unknown, struct ddb_err *err);
/* After a lost connection left write h->op unknown: 1 and the write log row
 * when it committed, 0 when it did not, -1 when the server did not come back
 * within resolve_timeout_ms (UNAVAILABLE in err; undone at reconnection if
 * it committed). */
int pgc_resolve(struct pg *h, const char *op, PGresult **row, struct ddb_err *err);

#endif
