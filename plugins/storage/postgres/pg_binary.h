/*
 * pg_binary.h - the PostgreSQL plugin's binary codec (private to the
 * plugin): statement parameters built in PostgreSQL's binary format in one
 * growing buffer (scalars and one-dimensional arrays, as array_recv reads
 * them), and values read back from binary results.  postgres.c builds every
 * statement's parameters with it and reads every row with it; pg_conn.c
 * sends the parameters (struct pgb_req) with PQsendQueryPrepared.
 *
 * A parameter list: pgb_begin(), then per parameter pgb_text(), pgb_i64(),
 * pgb_i32(), pgb_null(), or an array: pgb_array(), pgb_elem_*() count
 * times, pgb_end().  Running out of memory (or a batch over INT_MAX bytes)
 * only sets b->oom, checked before sending.
 */
#ifndef DDBSIM_PG_BINARY_H
#define DDBSIM_PG_BINARY_H

#include <ddbsim/plugin.h>
#include <libpq-fe.h>

#include <stddef.h>
#include <stdint.h>

/* The most parameters a statement has. */
#define PGB_MAX_PARAMS 16

/* Parameters of a statement, binary, built in one growing buffer. */
struct pgb_buf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

struct pgb_req {
	struct pgb_buf *b;
	int n;
	size_t off[PGB_MAX_PARAMS];
	int len[PGB_MAX_PARAMS];
	unsigned char null[PGB_MAX_PARAMS];
};

/* Type OIDs of the binary parameters. */
#define PGB_OID_BOOL 16
#define PGB_OID_INT8 20
#define PGB_OID_INT4 23
#define PGB_OID_TEXT 25


/* ---- parameters ---------------------------------------------------------- */

/* Starts r's parameter list in b (emptied; its memory is kept). */
void pgb_begin(struct pgb_req *r, struct pgb_buf *b);
void pgb_text(struct pgb_req *r, const char *s);
void pgb_i64(struct pgb_req *r, int64_t v);
void pgb_i32(struct pgb_req *r, int32_t v);
void pgb_null(struct pgb_req *r);
/* An array of count elements of type oid follows: pgb_elem_*() count
 * times, then pgb_end(). */
void pgb_array(struct pgb_req *r, uint32_t oid, size_t count);
void pgb_elem_text(struct pgb_req *r, const char *s);
void pgb_elem_i64(struct pgb_req *r, int64_t v);
void pgb_elem_i32(struct pgb_req *r, int32_t v);
void pgb_elem_bool(struct pgb_req *r, int v);
void pgb_end(struct pgb_req *r);

/* ---- results ------------------------------------------------------------- */

/* An integer (int2, int4, int8) or bool column; NULL is 0. */
int64_t pgb_get_int(const PGresult *res, int row, int col);
/* A text column into dst (size bytes with the NUL); NULL is ""; -1 when it
 * does not fit. */
int pgb_get_text(const PGresult *res, int row, int col, char *dst, size_t size);
/* p's components from a text[] (skus) and an int8[] (quantities) column;
 * -1 if malformed or too many. */
int pgb_get_components(const PGresult *res, int row, int col_sku, int col_qty,
                       struct ddb_product *p);

#endif
