/*
 * mongo_bson.c - the MongoDB storage plugin's helpers: the crash tests'
 * failpoints, errors and their statuses, BSON building and reading for the
 * plugin's records, and the driver calls the operations and the intents
 * share (one document or many, bulk writes, sequence numbers, conditional
 * upserts).  See mongo_int.h for how the plugin's files fit.
 */
#include "mongo_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- failpoints ---------------------------------------------------------- */

/* For the crash tests: DDBSIM_MONGO_FAILPOINT=NAME[:N] ends the process
 * with _exit(86), as a crash would, the Nth time (default the first) the
 * plugin passes the point NAME, between two of its writes.  The names are
 * those of the calls in mongo.c and mongo_intent.c (doc/mongo.md lists
 * them). */
static pthread_mutex_t fp_lock = PTHREAD_MUTEX_INITIALIZER;
static long fp_count;

void mgb_failpoint(const char *name)
{
	const char *spec = getenv("DDBSIM_MONGO_FAILPOINT");
	if (!spec || !*spec)
		return;
	/* NAME, or NAME:N with N all digits (names hold colons too). */
	size_t len = strlen(spec);
	long want = 1;
	const char *colon = strrchr(spec, ':');
	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		len = (size_t)(colon - spec);
		want = strtol(colon + 1, NULL, 10);
	}
	if (len != strlen(name) || strncmp(spec, name, len) != 0)
		return;
	pthread_mutex_lock(&fp_lock);
	long n = ++fp_count;
	pthread_mutex_unlock(&fp_lock);
	if (n == want) {
		fprintf(stderr, "mongo: failpoint %s (%ld): the process ends here\n", name, n);
		fflush(stderr);
		_exit(86);
	}
}

/* ---- errors ------------------------------------------------------------- */

/* Server error codes that mean "not now": the server is going away, or
 * not the primary any more. */
static int transient_code(uint32_t code)
{
	switch (code) {
	case 6:     /* HostUnreachable */
	case 7:     /* HostNotFound */
	case 89:    /* NetworkTimeout */
	case 91:    /* ShutdownInProgress */
	case 189:   /* PrimarySteppedDown */
	case 262:   /* ExceededTimeLimit */
	case 9001:  /* SocketException */
	case 10107: /* NotWritablePrimary */
	case 11600: /* InterruptedAtShutdown */
	case 11602: /* InterruptedDueToReplStateChange */
	case 13435: /* NotPrimaryNoSecondaryOk */
	case 13436: /* NotPrimaryOrSecondary */
		return 1;
	}
	return 0;
}

static int network_error(const bson_error_t *e)
{
	return e->domain == MONGOC_ERROR_STREAM || e->domain == MONGOC_ERROR_SERVER_SELECTION;
}

enum ddb_status mgb_status_of(const bson_error_t *e)
{
	if (network_error(e) || transient_code(e->code))
		return DDB_UNAVAILABLE;
	if (e->domain == MONGOC_ERROR_WRITE_CONCERN)
		return DDB_UNAVAILABLE; /* durability not confirmed: try again */
	return DDB_INTERNAL;
}

/* A failed driver call: its status, and "mongo: DB: OP: what it said". */
enum ddb_status mgb_db_fail(const struct mg *h, const char *op, const bson_error_t *e,
                            struct ddb_err *err)
{
	return mgb_fail(h, mgb_status_of(e), err, "%s: %s", op, e->message);
}

static int is_dup(const bson_error_t *e)
{
	return !network_error(e) && e->code == 11000;
}

/* The checks that open an operation (ddbsim/validate.h): its role, then
 * its pointer arguments (ddb_call_problem): 1 to go on. */
int mgb_need_args(const struct mg *h, unsigned role, int given, const char *missing,
                  const char *op, struct ddb_err *err)
{
	const char *why = ddb_call_problem(h->roles, role, given, missing);
	if (why)
		mgb_fail(h, DDB_INVALID, err, "%s: %s", op, why);
	return !why;
}

int mgb_need_role(const struct mg *h, unsigned role, const char *op, struct ddb_err *err)
{
	return mgb_need_args(h, role, 1, NULL, op, err);
}

/* ---- validation (as in every plugin) -------------------------------------- */

/* Length of s when it ends within size bytes, else -1. */
/* ---- BSON: writing ----------------------------------------------------------- */

void mgb_append_order(bson_t *b, const struct ddb_order *o, int with_id)
{
	if (with_id)
		BSON_APPEND_UTF8(b, "id", o->id);
	BSON_APPEND_UTF8(b, "region", o->region);
	BSON_APPEND_UTF8(b, "customer", o->customer);
	BSON_APPEND_UTF8(b, "sku", o->sku);
	BSON_APPEND_INT64(b, "quantity", o->quantity);
	BSON_APPEND_INT64(b, "unit_price_cents", o->unit_price_cents);
	BSON_APPEND_INT64(b, "placed_at_us", o->placed_at_us);
}

/* components: [{sku, quantity}, ...] in the product's order. */
void mgb_append_product(bson_t *b, const struct ddb_product *p, int with_sku)
{
	if (with_sku)
		BSON_APPEND_UTF8(b, "sku", p->sku);
	BSON_APPEND_UTF8(b, "name", p->name);
	BSON_APPEND_INT64(b, "price_cents", p->price_cents);
	BSON_APPEND_INT64(b, "version", p->version);
	bson_t arr, el;
	BSON_APPEND_ARRAY_BEGIN(b, "components", &arr);
	for (size_t i = 0; i < p->n_components; i++) {
		char idx[16];
		const char *key;
		bson_uint32_to_string((uint32_t)i, &key, idx, sizeof idx);
		bson_append_document_begin(&arr, key, -1, &el);
		BSON_APPEND_UTF8(&el, "sku", p->components[i].sku);
		BSON_APPEND_INT64(&el, "quantity", p->components[i].quantity);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(b, &arr);
}

/* ASCII letters folded to lower case, nothing else: what find_customers
 * compares city and state by. */
void mgb_ascii_lower(char *dst, const char *src, size_t size)
{
	size_t i = 0;
	for (; src[i] && i + 1 < size; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = '\0';
}

void mgb_append_customer(bson_t *b, const struct ddb_customer *c)
{
	char lc[DDB_TITLE_MAX];
	BSON_APPEND_UTF8(b, "unique_id", c->unique_id);
	BSON_APPEND_INT64(b, "zip_prefix", c->zip_prefix);
	BSON_APPEND_UTF8(b, "city", c->city);
	BSON_APPEND_UTF8(b, "state", c->state);
	BSON_APPEND_UTF8(b, "name", c->name);
	BSON_APPEND_UTF8(b, "email", c->email);
	BSON_APPEND_UTF8(b, "home", c->home);
	BSON_APPEND_INT64(b, "version", c->version);
	BSON_APPEND_INT32(b, "deleted", c->deleted);
	BSON_APPEND_INT64(b, "updated_at_us", c->updated_at_us);
	mgb_ascii_lower(lc, c->city, sizeof lc);
	BSON_APPEND_UTF8(b, "city_lc", lc);
	mgb_ascii_lower(lc, c->state, sizeof lc);
	BSON_APPEND_UTF8(b, "state_lc", lc);
}

/* ---- BSON: reading ------------------------------------------------------------ */

/* Copies the string at key into dst (size bytes with the NUL); -1 when it
 * is missing, not a string or too long. */
int mgb_read_str(const bson_t *d, const char *key, char *dst, size_t size)
{
	bson_iter_t it;
	uint32_t len = 0;
	dst[0] = '\0';
	if (!bson_iter_init_find(&it, d, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return -1;
	const char *s = bson_iter_utf8(&it, &len);
	if (len >= size || memchr(s, '\0', len))
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int mgb_read_i64(const bson_t *d, const char *key, int64_t *out)
{
	bson_iter_t it;
	*out = 0;
	if (!bson_iter_init_find(&it, d, key))
		return -1;
	if (!BSON_ITER_HOLDS_INT64(&it) && !BSON_ITER_HOLDS_INT32(&it) &&
	    !BSON_ITER_HOLDS_DOUBLE(&it) && !BSON_ITER_HOLDS_BOOL(&it))
		return -1;
	*out = bson_iter_as_int64(&it);
	return 0;
}

/* The subdocument at key, as a read-only bson_t over d's bytes. */
int mgb_read_doc(const bson_t *d, const char *key, bson_t *out)
{
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;
	if (!bson_iter_init_find(&it, d, key) || !BSON_ITER_HOLDS_DOCUMENT(&it))
		return -1;
	bson_iter_document(&it, &len, &data);
	return bson_init_static(out, data, len) ? 0 : -1;
}

/* An order from {id_key, region, customer, sku_key, quantity, ...}. */
int mgb_fill_order(const bson_t *d, const char *id_key, const char *sku_key,
                   struct ddb_order *o)
{
	memset(o, 0, sizeof *o);
	return mgb_read_str(d, id_key, o->id, sizeof o->id) |
	       mgb_read_str(d, "region", o->region, sizeof o->region) |
	       mgb_read_str(d, "customer", o->customer, sizeof o->customer) |
	       mgb_read_str(d, sku_key, o->sku, sizeof o->sku) |
	       mgb_read_i64(d, "quantity", &o->quantity) |
	       mgb_read_i64(d, "unit_price_cents", &o->unit_price_cents) |
	       mgb_read_i64(d, "placed_at_us", &o->placed_at_us);
}

int mgb_fill_product(const bson_t *d, const char *sku_key, struct ddb_product *p)
{
	memset(p, 0, sizeof *p);
	int bad = mgb_read_str(d, sku_key, p->sku, sizeof p->sku) |
	          mgb_read_str(d, "name", p->name, sizeof p->name) |
	          mgb_read_i64(d, "price_cents", &p->price_cents) |
	          mgb_read_i64(d, "version", &p->version);
	bson_iter_t it, arr;
	if (!bson_iter_init_find(&it, d, "components") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return -1;
	while (bson_iter_next(&arr)) {
		const uint8_t *data;
		uint32_t len;
		bson_t el;
		if (p->n_components == DDB_COMPONENTS_MAX || !BSON_ITER_HOLDS_DOCUMENT(&arr))
			return -1;
		bson_iter_document(&arr, &len, &data);
		if (!bson_init_static(&el, data, len))
			return -1;
		struct ddb_component *c = &p->components[p->n_components++];
		bad |= mgb_read_str(&el, "sku", c->sku, sizeof c->sku) |
		       mgb_read_i64(&el, "quantity", &c->quantity);
	}
	return bad;
}

int mgb_fill_customer(const bson_t *d, struct ddb_customer *c)
{
	memset(c, 0, sizeof *c);
	int64_t deleted = 0;
	int bad = mgb_read_str(d, "_id", c->id, sizeof c->id) |
	          mgb_read_str(d, "unique_id", c->unique_id, sizeof c->unique_id) |
	          mgb_read_i64(d, "zip_prefix", &c->zip_prefix) |
	          mgb_read_str(d, "city", c->city, sizeof c->city) |
	          mgb_read_str(d, "state", c->state, sizeof c->state) |
	          mgb_read_str(d, "name", c->name, sizeof c->name) |
	          mgb_read_str(d, "email", c->email, sizeof c->email) |
	          mgb_read_str(d, "home", c->home, sizeof c->home) |
	          mgb_read_i64(d, "version", &c->version) | mgb_read_i64(d, "deleted", &deleted) |
	          mgb_read_i64(d, "updated_at_us", &c->updated_at_us);
	c->deleted = deleted != 0;
	return bad;
}

/* An outbox document: {_id: seq, origin, kind, state, created_at_us,
 * order: {...} | product: {...}}. */
int mgb_fill_event(const bson_t *d, struct ddb_event *ev)
{
	memset(ev, 0, sizeof *ev);
	int64_t kind = 0, state = 0;
	bson_t sub;
	int bad = mgb_read_i64(d, "_id", &ev->seq) |
	          mgb_read_str(d, "origin", ev->origin, sizeof ev->origin) |
	          mgb_read_i64(d, "kind", &kind) | mgb_read_i64(d, "state", &state) |
	          mgb_read_i64(d, "created_at_us", &ev->created_at_us);
	ev->kind = (int)kind;
	ev->state = (int)state;
	int n = snprintf(ev->id, sizeof ev->id, "%s:%lld", ev->origin, (long long)ev->seq);
	if (n < 0 || (size_t)n >= sizeof ev->id)
		bad = -1;
	if (kind == DDB_EVENT_ORDER)
		bad |= mgb_read_doc(d, "order", &sub) ? -1 : mgb_fill_order(&sub, "id", "sku", &ev->order);
	else if (kind == DDB_EVENT_PRODUCT)
		bad |= mgb_read_doc(d, "product", &sub) ? -1 : mgb_fill_product(&sub, "sku", &ev->product);
	else
		bad = -1;
	return bad;
}

/* ---- driver helpers --------------------------------------------------------- */

mongoc_collection_t *mgb_coll_of(struct mg *h, mongoc_client_t *c, const char *name)
{
	return mongoc_client_get_collection(c, h->db, name);
}

/* opts for a write: upsert (-1: absent), and the sure write concern. */
static void write_opts(struct mg *h, bson_t *opts, int upsert, int sure)
{
	bson_init(opts);
	if (upsert >= 0)
		BSON_APPEND_BOOL(opts, "upsert", upsert != 0);
	if (sure)
		bson_concat(opts, h->wc_sure);
}

/* One update; *matched (may be NULL) how many documents matched; *dup set
 * when the server refused it for a duplicate key (then OK is returned). */
enum ddb_status mgb_update_one(struct mg *h, mongoc_client_t *c, const char *coll,
                               const bson_t *sel, const bson_t *upd, int upsert, int sure,
                               int64_t *matched, int *dup, const char *op,
                               struct ddb_err *err)
{
	mongoc_collection_t *col = mgb_coll_of(h, c, coll);
	bson_t opts, reply;
	bson_error_t e;
	write_opts(h, &opts, upsert, sure);
	int ok = mongoc_collection_update_one(col, sel, upd, &opts, &reply, &e);
	enum ddb_status st = DDB_OK;
	if (dup)
		*dup = 0;
	if (matched)
		*matched = 0;
	if (ok) {
		int64_t m = 0, u = 0;
		mgb_read_i64(&reply, "matchedCount", &m);
		mgb_read_i64(&reply, "upsertedCount", &u);
		if (matched)
			*matched = m + u;
	} else if (dup && is_dup(&e)) {
		*dup = 1;
	} else {
		st = mgb_db_fail(h, op, &e, err);
	}
	bson_destroy(&reply);
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

enum ddb_status mgb_update_many(struct mg *h, mongoc_client_t *c, const char *coll,
                                const bson_t *sel, const bson_t *upd, int sure,
                                const char *op, struct ddb_err *err)
{
	mongoc_collection_t *col = mgb_coll_of(h, c, coll);
	bson_t opts;
	bson_error_t e;
	write_opts(h, &opts, -1, sure);
	enum ddb_status st = mongoc_collection_update_many(col, sel, upd, &opts, NULL, &e)
	                             ? DDB_OK
	                             : mgb_db_fail(h, op, &e, err);
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

enum ddb_status mgb_delete_many(struct mg *h, mongoc_client_t *c, const char *coll,
                                const bson_t *sel, int sure, const char *op,
                                struct ddb_err *err)
{
	mongoc_collection_t *col = mgb_coll_of(h, c, coll);
	bson_t opts;
	bson_error_t e;
	write_opts(h, &opts, -1, sure);
	enum ddb_status st = mongoc_collection_delete_many(col, sel, &opts, NULL, &e)
	                             ? DDB_OK
	                             : mgb_db_fail(h, op, &e, err);
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

/* Inserts one document; *dup set (and OK returned) on a duplicate key.  A
 * network error leaves *unknown set: the insert may or may not have been
 * applied. */
enum ddb_status mgb_insert_one(struct mg *h, mongoc_client_t *c, const char *coll,
                               const bson_t *doc, int sure, int *dup, int *unknown,
                               const char *op, struct ddb_err *err)
{
	mongoc_collection_t *col = mgb_coll_of(h, c, coll);
	bson_t opts;
	bson_error_t e;
	write_opts(h, &opts, -1, sure);
	enum ddb_status st = DDB_OK;
	*dup = 0;
	if (unknown)
		*unknown = 0;
	if (!mongoc_collection_insert_one(col, doc, &opts, NULL, &e)) {
		if (is_dup(&e)) {
			*dup = 1;
		} else {
			/* Lost on the way, or written but not confirmed
			 * durable: either way it may have happened. */
			if (unknown && (e.domain == MONGOC_ERROR_STREAM ||
			                e.domain == MONGOC_ERROR_WRITE_CONCERN))
				*unknown = 1;
			st = mgb_db_fail(h, op, &e, err);
		}
	}
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

/* The first document matching filter into *out (bson_copy: destroy it), or
 * *out = NULL. */
enum ddb_status mgb_find_one(struct mg *h, mongoc_client_t *c, const char *coll,
                             const bson_t *filter, bson_t **out, const char *op,
                             struct ddb_err *err)
{
	mongoc_collection_t *col = mgb_coll_of(h, c, coll);
	bson_t opts;
	bson_init(&opts);
	BSON_APPEND_INT64(&opts, "limit", 1);
	BSON_APPEND_BOOL(&opts, "singleBatch", true);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, &opts, NULL);
	const bson_t *doc;
	bson_error_t e;
	*out = NULL;
	if (mongoc_cursor_next(cur, &doc))
		*out = bson_copy(doc);
	enum ddb_status st = DDB_OK;
	if (!*out && mongoc_cursor_error(cur, &e))
		st = mgb_db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}


void mgb_bulk_begin(struct mg *h, mongoc_client_t *c, const char *coll, int sure,
                    struct bulk *k)
{
	bson_t opts;
	write_opts(h, &opts, -1, sure);
	BSON_APPEND_BOOL(&opts, "ordered", false);
	memset(k, 0, sizeof *k);
	k->col = mgb_coll_of(h, c, coll);
	k->b = mongoc_collection_create_bulk_operation_with_opts(k->col, &opts);
	bson_destroy(&opts);
}

void mgb_bulk_update(struct bulk *k, const bson_t *sel, const bson_t *upd, int upsert)
{
	bson_t opts;
	bson_init(&opts);
	BSON_APPEND_BOOL(&opts, "upsert", upsert != 0);
	if (!k->bad && !mongoc_bulk_operation_update_one_with_opts(k->b, sel, upd, &opts, &k->e))
		k->bad = 1;
	bson_destroy(&opts);
	k->n++;
}

void mgb_bulk_insert(struct bulk *k, const bson_t *doc)
{
	if (!k->bad && !mongoc_bulk_operation_insert_with_opts(k->b, doc, NULL, &k->e))
		k->bad = 1;
	k->n++;
}

/* Runs the bulk (none: nothing to do) and frees it.  codes (n of them, may
 * be NULL when no error but a duplicate key is expected) gets each
 * operation's error code.  OK when every failure was a duplicate key; a
 * network error, any other write error or a write concern error fails the
 * call. */
enum ddb_status mgb_bulk_end(struct mg *h, struct bulk *k, int32_t *codes, const char *op,
                             struct ddb_err *err)
{
	enum ddb_status st = DDB_OK;
	if (codes)
		memset(codes, 0, k->n * sizeof *codes);
	if (k->bad) {
		st = mgb_fail(h, DDB_INTERNAL, err, "%s: %s", op, k->e.message);
	} else if (k->n > 0) {
		bson_t reply;
		bson_error_t e;
		if (!mongoc_bulk_operation_execute(k->b, &reply, &e)) {
			bson_iter_t it, arr;
			int only_dups = !network_error(&e);
			if (bson_iter_init_find(&it, &reply, "writeConcernErrors") &&
			    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr) &&
			    bson_iter_next(&arr))
				only_dups = 0;
			int any = 0;
			if (only_dups && bson_iter_init_find(&it, &reply, "writeErrors") &&
			    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
				while (bson_iter_next(&arr)) {
					bson_t we;
					const uint8_t *data;
					uint32_t len;
					int64_t index = -1, code = 0;
					if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
						continue;
					bson_iter_document(&arr, &len, &data);
					if (!bson_init_static(&we, data, len))
						continue;
					mgb_read_i64(&we, "index", &index);
					mgb_read_i64(&we, "code", &code);
					any = 1;
					if (code != 11000 || !codes || index < 0 || (size_t)index >= k->n) {
						only_dups = 0;
						break;
					}
					codes[index] = (int32_t)code;
				}
			}
			if (!only_dups || !any)
				st = mgb_db_fail(h, op, &e, err);
		}
		bson_destroy(&reply);
	}
	mongoc_bulk_operation_destroy(k->b);
	mongoc_collection_destroy(k->col);
	k->b = NULL;
	k->col = NULL;
	return st;
}

/* Runs a command on the instance's database. */
enum ddb_status mgb_db_command(struct mg *h, mongoc_client_t *c, const bson_t *cmd,
                               int ignore_code, const char *op, struct ddb_err *err)
{
	bson_error_t e;
	bson_t reply;
	enum ddb_status st = DDB_OK;
	if (!mongoc_client_write_command_with_opts(c, h->db, cmd, NULL, &reply, &e) &&
	    !(ignore_code && !network_error(&e) && e.code == (uint32_t)ignore_code))
		st = mgb_db_fail(h, op, &e, err);
	bson_destroy(&reply);
	return st;
}

/* The next n outbox numbers: *first .. *first + n - 1. */
enum ddb_status mgb_next_seqs(struct mg *h, mongoc_client_t *c, int64_t n, int64_t *first,
                              const char *op, struct ddb_err *err)
{
	mongoc_collection_t *col = mgb_coll_of(h, c, C_COUNTERS);
	mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
	bson_t query = BSON_INITIALIZER, upd = BSON_INITIALIZER, inc, reply, value;
	bson_error_t e;
	BSON_APPEND_UTF8(&query, "_id", "outbox");
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$inc", &inc);
	BSON_APPEND_INT64(&inc, "n", n);
	bson_append_document_end(&upd, &inc);
	mongoc_find_and_modify_opts_set_update(fam, &upd);
	mongoc_find_and_modify_opts_set_flags(
	    fam, MONGOC_FIND_AND_MODIFY_UPSERT | MONGOC_FIND_AND_MODIFY_RETURN_NEW);
	enum ddb_status st = DDB_OK;
	if (!mongoc_collection_find_and_modify_with_opts(col, &query, fam, &reply, &e)) {
		st = mgb_db_fail(h, op, &e, err);
	} else {
		int64_t last = 0;
		if (mgb_read_doc(&reply, "value", &value) || mgb_read_i64(&value, "n", &last) || last < n)
			st = mgb_fail(h, DDB_INTERNAL, err, "%s: the outbox counter reads wrong", op);
		else
			*first = last - n + 1;
	}
	bson_destroy(&reply);
	bson_destroy(&query);
	bson_destroy(&upd);
	mongoc_find_and_modify_opts_destroy(fam);
	mongoc_collection_destroy(col);
	return st;
}

/* Conditional upserts "newer wins": ops[i] is update {_id: key, version:
 * {$lt|$lte: v}} with upsert; a duplicate key means a document with that
 * _id exists and the filter did not match.  That is "the stored version is
 * as new" - unless another writer inserted the _id between this upsert's
 * match and its insert; so each duplicate is checked against the stored
 * version and, when that is older, tried once more.  dup[i] (n of them) says
 * which were refused as not newer. */

enum ddb_status mgb_cond_upserts(struct mg *h, mongoc_client_t *c, const char *coll,
                                 struct cond_op *ops, size_t n, int inclusive, int *dup,
                                 const char *op, struct ddb_err *err)
{
	int32_t *codes = calloc(n ? n : 1, sizeof *codes);
	size_t *retry = calloc(n ? n : 1, sizeof *retry);
	if (!codes || !retry) {
		free(codes);
		free(retry);
		return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	}
	for (size_t i = 0; i < n; i++)
		dup[i] = 0;
	enum ddb_status st = DDB_OK;
	size_t *todo = NULL, n_todo = n;
	for (int round = 0; round < 2 && st == DDB_OK && n_todo > 0; round++) {
		struct bulk k;
		mgb_bulk_begin(h, c, coll, 1, &k);
		for (size_t j = 0; j < n_todo; j++) {
			size_t i = todo ? todo[j] : j;
			mgb_bulk_update(&k, ops[i].sel, ops[i].upd, 1);
		}
		st = mgb_bulk_end(h, &k, codes, op, err);
		if (st != DDB_OK)
			break;
		/* The refused ones, against what is stored now. */
		bson_t filter = BSON_INITIALIZER, in, arr, proj = BSON_INITIALIZER, opts;
		size_t n_dup = 0;
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &in);
		BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
		for (size_t j = 0; j < n_todo; j++) {
			size_t i = todo ? todo[j] : j;
			if (codes[j] == 11000) {
				char idx[16];
				const char *key;
				bson_uint32_to_string((uint32_t)n_dup++, &key, idx, sizeof idx);
				BSON_APPEND_UTF8(&arr, key, ops[i].key);
				dup[i] = 1;
			}
		}
		bson_append_array_end(&in, &arr);
		bson_append_document_end(&filter, &in);
		size_t n_retry = 0;
		if (n_dup > 0) {
			bson_init(&opts);
			BSON_APPEND_INT32(&proj, "version", 1);
			BSON_APPEND_DOCUMENT(&opts, "projection", &proj);
			mongoc_collection_t *col = mgb_coll_of(h, c, coll);
			mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
			const bson_t *doc;
			while (mongoc_cursor_next(cur, &doc)) {
				char id[DDB_TITLE_MAX];
				int64_t v = 0;
				if (mgb_read_str(doc, "_id", id, sizeof id) || mgb_read_i64(doc, "version", &v))
					continue;
				for (size_t j = 0; j < n_todo; j++) {
					size_t i = todo ? todo[j] : j;
					if (codes[j] != 11000 || strcmp(ops[i].key, id) != 0)
						continue;
					int older = inclusive ? v > ops[i].version : v >= ops[i].version;
					if (!older && round == 0) {
						dup[i] = 0;
						retry[n_retry++] = i;
					}
				}
			}
			bson_error_t e;
			if (mongoc_cursor_error(cur, &e))
				st = mgb_db_fail(h, op, &e, err);
			mongoc_cursor_destroy(cur);
			mongoc_collection_destroy(col);
			bson_destroy(&opts);
		}
		bson_destroy(&filter);
		bson_destroy(&proj);
		/* The retry list only grows in round 0: round 1 is the last. */
		size_t *next = malloc((n_retry ? n_retry : 1) * sizeof *next);
		if (!next) {
			st = mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
			break;
		}
		memcpy(next, retry, n_retry * sizeof *next);
		free(todo);
		todo = next;
		n_todo = n_retry;
	}
	free(todo);
	free(codes);
	free(retry);
	return st;
}

/* ---- the driver and the schema: log, collections, indexes ----------------- */

/* The driver's own log: errors only.  A lost server is the plugin's to
 * report (UNAVAILABLE, with the driver's message); the monitor's debug lines
 * and warnings about it would only flood the terminal during an outage. */
static int log_handler_set;

static void log_errors_only(mongoc_log_level_t level, const char *domain, const char *message,
                            void *data)
{
	(void)data;
	if (level <= MONGOC_LOG_LEVEL_ERROR)
		fprintf(stderr, "mongo-c-driver: %s: %s\n", domain, message);
}

void mgb_global_init(void)
{
	/* Once per process and never undone: another instance may live, and
	 * the process exit releases what the driver holds. */
	mongoc_init();
	mongoc_log_set_handler(log_errors_only, NULL);
	log_handler_set = 1;
}

#if defined(__GNUC__)
/* The handler lives in this module: should it be unloaded while the driver
 * stays, the driver must not call into it. */
__attribute__((destructor)) static void restore_log_handler(void)
{
	if (log_handler_set)
		mongoc_log_set_handler(mongoc_log_default_handler, NULL);
}
#endif

static const struct {
	unsigned role;
	const char *name;
} collections[] = {
	{ DDB_ROLE_REGIONAL, C_PRODUCTS },  { DDB_ROLE_REGIONAL, C_INVENTORY },
	{ DDB_ROLE_REGIONAL, C_ORDERS },    { DDB_ROLE_REGIONAL, C_OUTBOX },
	{ DDB_ROLE_REGIONAL, C_INTENTS },   { DDB_ROLE_REGIONAL, C_COUNTERS },
	{ DDB_ROLE_REGIONAL, C_CUSTOMERS }, { DDB_ROLE_CENTRAL, C_CPRODUCTS },
	{ DDB_ROLE_CENTRAL, C_CORDERS },    { DDB_ROLE_DOCUMENTS, C_LOGS },
	{ DDB_ROLE_DOCUMENTS, C_COMPONENTS },
};

/* Indexes: what the operations query by, and the unique log id. */
static const struct {
	unsigned role;
	const char *coll, *name, *json;
	int unique, sparse;
} indexes[] = {
	{ DDB_ROLE_REGIONAL, C_ORDERS, "tentative", "{\"t\": 1}", 0, 1 },
	{ DDB_ROLE_REGIONAL, C_OUTBOX, "pending", "{\"state\": 1, \"_id\": 1}", 0, 0 },
	{ DDB_ROLE_REGIONAL, C_INVENTORY, "holds", "{\"holds.b\": 1}", 0, 1 },
	{ DDB_ROLE_REGIONAL, C_CUSTOMERS, "live_zip", "{\"deleted\": 1, \"zip_prefix\": 1}", 0, 0 },
	{ DDB_ROLE_CENTRAL, C_CORDERS, "region", "{\"region\": 1}", 0, 0 },
	{ DDB_ROLE_CENTRAL, C_CORDERS, "sku", "{\"sku\": 1}", 0, 0 },
	{ DDB_ROLE_DOCUMENTS, C_LOGS, "log_id", "{\"log_id\": 1}", 1, 0 },
	{ DDB_ROLE_DOCUMENTS, C_LOGS, "region", "{\"region\": 1}", 0, 0 },
};

enum ddb_status mgb_ensure_indexes(struct mg *h, mongoc_client_t *c, const char *op,
                                   struct ddb_err *err)
{
	for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
		if (!(h->roles & indexes[i].role))
			continue;
		bson_error_t e;
		bson_t *key = bson_new_from_json((const uint8_t *)indexes[i].json, -1, &e);
		if (!key)
			return mgb_fail(h, DDB_INTERNAL, err, "%s: index %s: %s", op, indexes[i].name,
			                e.message);
		bson_t cmd = BSON_INITIALIZER, arr, spec;
		BSON_APPEND_UTF8(&cmd, "createIndexes", indexes[i].coll);
		BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
		BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &spec);
		BSON_APPEND_DOCUMENT(&spec, "key", key);
		BSON_APPEND_UTF8(&spec, "name", indexes[i].name);
		if (indexes[i].unique)
			BSON_APPEND_BOOL(&spec, "unique", true);
		if (indexes[i].sparse)
			BSON_APPEND_BOOL(&spec, "sparse", true);
		bson_append_document_end(&arr, &spec);
		bson_append_array_end(&cmd, &arr);
		enum ddb_status st = mgb_db_command(h, c, &cmd, 0, op, err);
		bson_destroy(&cmd);
		bson_destroy(key);
		if (st != DDB_OK)
			return st;
	}
	return DDB_OK;
}

/* Read-only: the collections a read-write open creates for every role
 * served (those with indexes) are there, so a run has set the database up. */
enum ddb_status mgb_verify_collections(struct mg *h, mongoc_client_t *c, const char *op,
                                       struct ddb_err *err)
{
	mongoc_database_t *db = mongoc_client_get_database(c, h->db);
	bson_error_t e;
	char **names = mongoc_database_get_collection_names_with_opts(db, NULL, &e);
	mongoc_database_destroy(db);
	if (!names)
		return mgb_db_fail(h, op, &e, err);
	enum ddb_status st = DDB_OK;
	for (size_t i = 0; st == DDB_OK && i < sizeof indexes / sizeof indexes[0]; i++) {
		if (!(h->roles & indexes[i].role))
			continue;
		int found = 0;
		for (char **n = names; *n && !found; n++)
			found = strcmp(*n, indexes[i].coll) == 0;
		if (!found)
			st = mgb_fail(h, DDB_NOT_FOUND, err, "%s: database %s has no collection %s: not a "
			              "store set up by a run (a read-only open creates none)", op, h->db,
			              indexes[i].coll);
	}
	bson_strfreev(names);
	return st;
}

/* Reset: drops the collections of every role served. */
enum ddb_status mgb_drop_collections(struct mg *h, mongoc_client_t *c, const char *op,
                                     struct ddb_err *err)
{
	enum ddb_status st = DDB_OK;
	for (size_t i = 0; st == DDB_OK && i < sizeof collections / sizeof collections[0]; i++) {
		if (!(h->roles & collections[i].role))
			continue;
		bson_t cmd = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&cmd, "drop", collections[i].name);
		st = mgb_db_command(h, c, &cmd, 26 /* NamespaceNotFound */, op, err);
		bson_destroy(&cmd);
	}
	return st;
}
