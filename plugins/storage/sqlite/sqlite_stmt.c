/*
 * sqlite_stmt.c - the statements of the SQLite storage plugin (their SQL is
 * in statements.sql; prepared once at open) and what every operation uses
 * around them: errors and their messages, the role and batch preambles,
 * binding and stepping, transactions, the components BLOB and validation.
 * Shared through sqlite_int.h (prefix sqt_).
 */
/* The statements' SQL (stmt_table, statements.sql) is defined here, where it
 * is prepared. */
#define STMT_DEFINE_TABLE
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

/* ---- errors ------------------------------------------------------------- */

enum ddb_status sqt_status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return DDB_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_PROTOCOL: /* WAL locks not obtained after many tries */
		return DDB_UNAVAILABLE;
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_PRIMARYKEY:
		case SQLITE_CONSTRAINT_UNIQUE:
			return DDB_DUPLICATE;
		default:
			return DDB_INVALID;
		}
	}
	return DDB_INTERNAL;
}

/* A failed SQLite call: its status, and "sqlite: PATH: OP: what SQLite
 * said" in err.  Call it before anything else touches the connection. */
enum ddb_status sqt_db_fail(struct sq *h, const char *op, int rc, struct ddb_err *err)
{
	enum ddb_status st = sqt_status_of(rc);
	if (st == DDB_OK)
		st = DDB_INTERNAL; /* an unexpected row or success code */
	return sqt_fail(h, st, err, "%s: %s", op,
	                rc == SQLITE_ROW || rc == SQLITE_DONE ? sqlite3_errstr(rc)
	                                                      : sqlite3_errmsg(h->db));
}


/* The checks that open an operation (ddbsim/validate.h): its role, then
 * its pointer arguments (ddb_call_problem): 1 to go on. */
int sqt_need_args(struct sq *h, unsigned role, int given, const char *missing, const char *op,
                  struct ddb_err *err)
{
	const char *why = ddb_call_problem(h->roles, role, given, missing);
	if (why)
		sqt_fail(h, DDB_INVALID, err, "%s: %s", op, why);
	return !why;
}

int sqt_need_role(struct sq *h, unsigned role, const char *op, struct ddb_err *err)
{
	return sqt_need_args(h, role, 1, NULL, op, err);
}

/* The preamble of a batch operation (ddbsim/validate.h): 1 to go on, else
 * 0 and *st what to return (DDB_OK: an empty batch, nothing to do). */
int sqt_batch_go(struct sq *h, unsigned role, size_t n, int arrays_given, const char *missing,
                 const char *op, enum ddb_status *st, struct ddb_err *err)
{
	int empty;
	const char *why = ddb_batch_problem(h->roles, role, n, arrays_given, missing, &empty);
	*st = why ? sqt_fail(h, DDB_INVALID, err, "%s: %s", op, why) : DDB_OK;
	return !why && !empty;
}

/* ---- statement helpers -------------------------------------------------- */

int sqt_bind_text(sqlite3_stmt *s, int i, const char *v, int len)
{
	return sqlite3_bind_text(s, i, v, len, SQLITE_STATIC);
}

int sqt_bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v);
}

/* Steps a statement once and resets it; the step's result code.  A failing
 * step leaves its message in the connection for sqt_db_fail(). */
int sqt_run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc;
}

/* Copies a text column into dst (size bytes with the NUL); -1 when it does
 * not fit. */
int sqt_column_text(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	if (!v)
		n = 0;
	if (n >= size) {
		dst[0] = '\0';
		return -1;
	}
	if (n)
		memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

enum ddb_status sqt_tx_begin(struct sq *h, const char *op, struct ddb_err *err)
{
	int rc = sqt_run(h->stmt[S_BEGIN]);
	return rc == SQLITE_DONE ? DDB_OK : sqt_db_fail(h, op, rc, err);
}

enum ddb_status sqt_tx_commit(struct sq *h, const char *op, struct ddb_err *err)
{
	int rc = sqt_run(h->stmt[S_COMMIT]);
	return rc == SQLITE_DONE ? DDB_OK : sqt_db_fail(h, op, rc, err);
}

void sqt_tx_rollback(struct sq *h)
{
	if (!sqlite3_get_autocommit(h->db))
		sqt_run(h->stmt[S_ROLLBACK]);
}

enum ddb_status sqt_tx_end(struct sq *h, const char *op, int rc, struct ddb_err *err)
{
	enum ddb_status st = rc == SQLITE_OK ? sqt_tx_commit(h, op, err)
	                                     : sqt_db_fail(h, op, rc, err);
	if (st != DDB_OK)
		sqt_tx_rollback(h);
	return st;
}

/* ---- components as a BLOB ----------------------------------------------- */

/* Per component: one byte of sku length, the sku bytes, the quantity as 8
 * bytes big-endian (two's complement). */

/* p has been validated: skus terminated, n_components in range. */
int sqt_components_encode(const struct ddb_product *p, unsigned char *buf)
{
	size_t len = 0;
	for (size_t i = 0; i < p->n_components; i++) {
		const struct ddb_component *c = &p->components[i];
		size_t n = strlen(c->sku);
		uint64_t q = (uint64_t)c->quantity;
		buf[len++] = (unsigned char)n;
		memcpy(buf + len, c->sku, n);
		len += n;
		for (int b = 7; b >= 0; b--)
			buf[len++] = (unsigned char)(q >> (8 * b));
	}
	return (int)len;
}

int sqt_components_decode(const unsigned char *buf, size_t len, struct ddb_product *p)
{
	size_t at = 0;
	p->n_components = 0;
	while (at < len) {
		if (p->n_components == DDB_COMPONENTS_MAX)
			return -1;
		size_t n = buf[at++];
		if (n >= DDB_SKU_MAX || len - at < n + 8)
			return -1;
		struct ddb_component *c = &p->components[p->n_components++];
		memcpy(c->sku, buf + at, n);
		c->sku[n] = '\0';
		at += n;
		uint64_t q = 0;
		for (int b = 0; b < 8; b++)
			q = q << 8 | buf[at++];
		c->quantity = q <= INT64_MAX ? (int64_t)q : -(int64_t)(~q) - 1;
	}
	return 0;
}

/* ---- validation ----------------------------------------------------------- */

/* The rules are every backend's (ddbsim/validate.h); the lengths are for
 * binding the text fields. */
const char *sqt_order_invalid(const struct ddb_order *o, struct order_lens *l)
{
	l->id = DDB_FIELD_LEN(o->id);
	l->region = DDB_FIELD_LEN(o->region);
	l->customer = DDB_FIELD_LEN(o->customer);
	l->sku = DDB_FIELD_LEN(o->sku);
	return ddb_order_problem(o);
}

const char *sqt_product_invalid(const struct ddb_product *p, struct product_lens *l)
{
	l->sku = DDB_FIELD_LEN(p->sku);
	l->name = DDB_FIELD_LEN(p->name);
	return ddb_product_problem(p);
}

const char *sqt_customer_invalid(const struct ddb_customer *c, struct customer_lens *l)
{
	l->id = DDB_FIELD_LEN(c->id);
	l->unique_id = DDB_FIELD_LEN(c->unique_id);
	l->city = DDB_FIELD_LEN(c->city);
	l->state = DDB_FIELD_LEN(c->state);
	l->name = DDB_FIELD_LEN(c->name);
	l->email = DDB_FIELD_LEN(c->email);
	l->home = DDB_FIELD_LEN(c->home);
	return ddb_customer_problem(c);
}

enum ddb_status sqt_prepare_all(struct sq *h, struct ddb_err *err)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (stmt_table[i].role && !(h->roles & stmt_table[i].role))
			continue;
		int rc = sqlite3_prepare_v3(h->db, stmt_table[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
		                            &h->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return sqt_db_fail(h, "open: preparing statements", rc, err);
	}
	return DDB_OK;
}


const char *sqt_sql(enum stmt_id id)
{
	return stmt_table[id].sql;
}
