/*
 * pg_binary.c - the PostgreSQL plugin's binary codec: parameters in
 * PostgreSQL's binary send format (big-endian integers, text as its bytes,
 * arrays as array_recv reads them) built in one growing buffer, and binary
 * result values read back.  See pg_binary.h.
 */
#include "pg_binary.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---------------------------------------------------------- */

static unsigned char *buf_room(struct pgb_buf *b, size_t more)
{
	if (b->oom)
		return NULL;
	if (b->cap - b->len < more) {
		size_t cap = b->cap ? b->cap : 8192;
		while (cap - b->len < more) {
			if (cap > SIZE_MAX / 2) {
				b->oom = 1;
				return NULL;
			}
			cap *= 2;
		}
		unsigned char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	unsigned char *at = b->p + b->len;
	b->len += more;
	return at;
}

static void put32(struct pgb_buf *b, uint32_t v)
{
	unsigned char *p = buf_room(b, 4);
	if (p) {
		p[0] = (unsigned char)(v >> 24);
		p[1] = (unsigned char)(v >> 16);
		p[2] = (unsigned char)(v >> 8);
		p[3] = (unsigned char)v;
	}
}

static void put64(struct pgb_buf *b, uint64_t v)
{
	put32(b, (uint32_t)(v >> 32));
	put32(b, (uint32_t)v);
}

static void put_bytes(struct pgb_buf *b, const void *s, size_t n)
{
	unsigned char *p = buf_room(b, n);
	if (p && n)
		memcpy(p, s, n);
}

void pgb_begin(struct pgb_req *r, struct pgb_buf *b)
{
	b->len = 0;
	b->oom = 0;
	r->b = b;
	r->n = 0;
}

static void p_start(struct pgb_req *r)
{
	r->off[r->n] = r->b->len;
	r->null[r->n] = 0;
}

void pgb_end(struct pgb_req *r)
{
	size_t len = r->b->len - r->off[r->n];
	if (len > INT_MAX)
		r->b->oom = 1;
	r->len[r->n] = (int)len;
	r->n++;
}

void pgb_text(struct pgb_req *r, const char *s)
{
	p_start(r);
	put_bytes(r->b, s, strlen(s));
	pgb_end(r);
}

void pgb_i64(struct pgb_req *r, int64_t v)
{
	p_start(r);
	put64(r->b, (uint64_t)v);
	pgb_end(r);
}

void pgb_i32(struct pgb_req *r, int32_t v)
{
	p_start(r);
	put32(r->b, (uint32_t)v);
	pgb_end(r);
}

void pgb_null(struct pgb_req *r)
{
	r->off[r->n] = 0;
	r->len[r->n] = 0;
	r->null[r->n] = 1;
	r->n++;
}

/* A one-dimensional array of count elements of type oid follows
 * (array_recv's format); then pgb_elem_*() count times, then pgb_end(). */
void pgb_array(struct pgb_req *r, uint32_t oid, size_t count)
{
	p_start(r);
	if (count > INT32_MAX)
		r->b->oom = 1;
	put32(r->b, count ? 1 : 0); /* dimensions */
	put32(r->b, 0);             /* no NULLs */
	put32(r->b, oid);
	if (count) {
		put32(r->b, (uint32_t)count);
		put32(r->b, 1); /* lower bound */
	}
}

void pgb_elem_text(struct pgb_req *r, const char *s)
{
	size_t n = strlen(s);
	put32(r->b, (uint32_t)n);
	put_bytes(r->b, s, n);
}

void pgb_elem_i64(struct pgb_req *r, int64_t v)
{
	put32(r->b, 8);
	put64(r->b, (uint64_t)v);
}

void pgb_elem_i32(struct pgb_req *r, int32_t v)
{
	put32(r->b, 4);
	put32(r->b, (uint32_t)v);
}

void pgb_elem_bool(struct pgb_req *r, int v)
{
	unsigned char c = v ? 1 : 0;
	put32(r->b, 1);
	put_bytes(r->b, &c, 1);
}

/* ---- results ------------------------------------------------------------- */

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static int64_t to_i64(uint64_t u)
{
	int64_t v;
	memcpy(&v, &u, sizeof v);
	return v;
}

/* An integer (int2, int4, int8) or bool column; NULL is 0. */
int64_t pgb_get_int(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	const unsigned char *v = (const unsigned char *)PQgetvalue(res, row, col);
	switch (PQgetlength(res, row, col)) {
	case 8:
		return to_i64(rd64(v));
	case 4:
		return (int32_t)rd32(v);
	case 2:
		return (int16_t)((uint16_t)(v[0] << 8 | v[1]));
	case 1:
		return v[0];
	}
	return 0;
}

/* A text column into dst (size bytes with the NUL); NULL is ""; -1 when it
 * does not fit. */
int pgb_get_text(const PGresult *res, int row, int col, char *dst, size_t size)
{
	size_t n = PQgetisnull(res, row, col) ? 0 : (size_t)PQgetlength(res, row, col);
	if (n >= size) {
		dst[0] = '\0';
		return -1;
	}
	if (n)
		memcpy(dst, PQgetvalue(res, row, col), n);
	dst[n] = '\0';
	return 0;
}

/* A one-dimensional array column: its elements start at *at (each a 4-byte
 * length and the bytes), *count of them; -1 if malformed. */
static int g_array(const PGresult *res, int row, int col, const unsigned char **at,
                   const unsigned char **end, size_t *count)
{
	*count = 0;
	if (PQgetisnull(res, row, col))
		return 0;
	const unsigned char *p = (const unsigned char *)PQgetvalue(res, row, col);
	size_t len = (size_t)PQgetlength(res, row, col);
	if (len < 12)
		return -1;
	uint32_t ndim = rd32(p);
	*end = p + len;
	if (ndim == 0) {
		*at = p + 12;
		return 0;
	}
	if (ndim != 1 || len < 20)
		return -1;
	*count = rd32(p + 12);
	*at = p + 20;
	return 0;
}

/* Reads the next element of an array: its bytes and length (-1 NULL). */
static int next_elem(const unsigned char **at, const unsigned char *end, const unsigned char **v,
                     int32_t *len)
{
	if (end - *at < 4)
		return -1;
	*len = (int32_t)rd32(*at);
	*at += 4;
	if (*len < 0) {
		*v = NULL;
		return 0;
	}
	if (end - *at < *len)
		return -1;
	*v = *at;
	*at += *len;
	return 0;
}

/* Components from a text[] and an int8[] column. */
int pgb_get_components(const PGresult *res, int row, int col_sku, int col_qty,
                        struct ddb_product *p)
{
	const unsigned char *sa = NULL, *se = NULL, *qa = NULL, *qe = NULL;
	size_t ns, nq;
	p->n_components = 0;
	if (g_array(res, row, col_sku, &sa, &se, &ns) || g_array(res, row, col_qty, &qa, &qe, &nq) ||
	    ns != nq || ns > DDB_COMPONENTS_MAX)
		return -1;
	for (size_t i = 0; i < ns; i++) {
		const unsigned char *sv, *qv;
		int32_t sl, ql;
		if (next_elem(&sa, se, &sv, &sl) || next_elem(&qa, qe, &qv, &ql) || sl < 0 ||
		    sl >= DDB_SKU_MAX || ql != 8)
			return -1;
		struct ddb_component *c = &p->components[i];
		memcpy(c->sku, sv, (size_t)sl);
		c->sku[sl] = '\0';
		c->quantity = to_i64(rd64(qv));
	}
	p->n_components = ns;
	return 0;
}
