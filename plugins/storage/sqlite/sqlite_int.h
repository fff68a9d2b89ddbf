/*
 * sqlite_int.h - what the four files of the SQLite storage plugin share:
 * the instance, the statement ids (statements.sql), the error, binding,
 * transaction, components-BLOB and validation helpers of sqlite_stmt.c
 * (prefix sqt_), and open, close and reset of sqlite_schema.c
 * (prefix sqs_).  sqlite.c holds the operations, the scans and the
 * descriptor.  Private to the plugin: nothing here is exported (the plugin
 * exports ddbsim_plugin_entry only).  What the plugin does and how the
 * database is laid out: the top of sqlite.c.
 */
#ifndef DDBSIM_SQLITE_INT_H
#define DDBSIM_SQLITE_INT_H

#include <ddbsim/plugin.h>
#include <ddbsim/validate.h>
#include <sqlite3.h>

#include <stddef.h>
#include <stdint.h>

/* ---- statements ---------------------------------------------------------- */

/* enum stmt_id and struct stmt_def, generated from statements.sql by
 * stmt2c.awk (the table stmt_table: in sqlite_stmt.c). */
#include "sqlite_statements.h"

/* ---- the instance ------------------------------------------------------- */

struct sq {
	sqlite3 *db;
	char *path;
	int readonly; /* DDB_OPEN_READONLY */
	char node[DDB_NAME_MAX];
	int node_len;
	unsigned roles;
	sqlite3_stmt *stmt[S_COUNT];
	unsigned char stmt_busy[S_COUNT]; /* a scan cursor is stepping it */
	struct sq_checkpointer *checkpointer; /* NULL: SQLite's own checkpoints */
};

/* ---- sqlite_stmt.c: statements, errors, helpers ----------------------- */

/* The SQL of a statement (a scan cursor prepares its own copy with it). */
const char *sqt_sql(enum stmt_id id);
/* Prepares the statements of the roles served, once, at open. */
enum ddb_status sqt_prepare_all(struct sq *h, struct ddb_err *err);

enum ddb_status sqt_status_of(int rc);
enum ddb_status sqt_db_fail(struct sq *h, const char *op, int rc, struct ddb_err *err);
/* Returns st, with "sqlite: PATH: MESSAGE" in err (h NULL: no path):
 * sqt_fail(h, st, err, fmt, ...). */
static inline const char *sqt_where(const struct sq *h)
{
	return h ? h->path : NULL;
}
#define sqt_fail(h, st, err, ...) ddb_fail((err), (st), "sqlite", sqt_where(h), __VA_ARGS__)
int sqt_need_args(struct sq *h, unsigned role, int given, const char *missing, const char *op,
                  struct ddb_err *err);
int sqt_need_role(struct sq *h, unsigned role, const char *op, struct ddb_err *err);
int sqt_batch_go(struct sq *h, unsigned role, size_t n, int arrays_given, const char *missing,
                 const char *op, enum ddb_status *st, struct ddb_err *err);

int sqt_bind_text(sqlite3_stmt *s, int i, const char *v, int len);
int sqt_bind_i64(sqlite3_stmt *s, int i, int64_t v);
int sqt_run(sqlite3_stmt *s);
int sqt_column_text(sqlite3_stmt *s, int col, char *dst, size_t size);

enum ddb_status sqt_tx_begin(struct sq *h, const char *op, struct ddb_err *err);
enum ddb_status sqt_tx_commit(struct sq *h, const char *op, struct ddb_err *err);
void sqt_tx_rollback(struct sq *h);
/* Ends a write operation's transaction: with rc SQLITE_OK, commits (rolling
 * back when the commit fails); else rc is the failed call's code: its
 * status and message (sqt_db_fail), after which it rolls back. */
enum ddb_status sqt_tx_end(struct sq *h, const char *op, int rc, struct ddb_err *err);

/* Components as a BLOB.  Per component: one byte of sku length, the sku
 * bytes, the quantity as 8 bytes big-endian (two's complement). */
#define COMPONENT_REC_MAX (1 + (DDB_SKU_MAX - 1) + 8)
#define COMPONENTS_BLOB_MAX (DDB_COMPONENTS_MAX * COMPONENT_REC_MAX)
int sqt_components_encode(const struct ddb_product *p, unsigned char *buf);
int sqt_components_decode(const unsigned char *buf, size_t len, struct ddb_product *p);

/* Validation: the rules are every backend's (ddbsim/validate.h); the
 * lengths are for binding the text fields. */
struct order_lens {
	int id, region, customer, sku;
};

struct product_lens {
	int sku, name;
};

struct customer_lens {
	int id, unique_id, city, state, name, email, home;
};

const char *sqt_order_invalid(const struct ddb_order *o, struct order_lens *l);
const char *sqt_product_invalid(const struct ddb_product *p, struct product_lens *l);
const char *sqt_customer_invalid(const struct ddb_customer *c, struct customer_lens *l);

/* ---- sqlite_schema.c: open, close, reset ------------------------------ */

enum ddb_status sqs_open(const struct ddb_open_args *args, void **handle, struct ddb_err *err);
void sqs_close(void *handle);
enum ddb_status sqs_reset(void *handle, struct ddb_err *err);

/* ---- sqlite_checkpoint.c: WAL checkpoints on a thread (prefix sqc_) ----- */
/* Moves the checkpoints of h's WAL to a thread with its own connection,
 * which syncs as synchronous_sql (a static string) says; when the thread
 * cannot be had, h keeps SQLite's own checkpoints.  sqc_stop (at close)
 * ends the thread. */
void sqc_start(struct sq *h, const char *synchronous_sql);
void sqc_stop(struct sq *h);

#endif
