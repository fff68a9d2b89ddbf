/*
 * mongo.c - the MongoDB storage plugin: mongo-c-driver 1.23, one client pool
 * per instance, one database per node ("ddbsim_" + node name by default).
 *
 * It serves the documents role as MongoDB's native ground (one order-log
 * document per order in order_product, one product-component document per
 * product in product_component), and the regional and central roles as far
 * as single-document atomicity carries them, made whole where it does not by
 * an intent record.  doc/mongo.md says in full what is and is not atomic and
 * how a crash between two steps is recovered; in short:
 *
 *   place_orders, upsert_product  commit by one intent document, finished
 *                 or rolled back by recovery after a crash (mongo_intent.c).
 *   restock, outbox_mark, customers, central, documents  single-document
 *                 writes, each idempotent (conditional on versions or states,
 *                 upserts keyed by the global id): a call cut short leaves some
 *                 documents written and converges when repeated.
 *
 * Collections (strings sort bytewise: no collation anywhere):
 *   regional   products, inventory, orders, outbox, intents, counters,
 *              customers
 *   central    central_products, central_orders
 *   documents  order_product, product_component
 *
 * Options: uri (default mongodb://127.0.0.1:27017/; serverSelectionTimeoutMS
 * 2000, connectTimeoutMS 2000 and socketTimeoutMS 60000 unless it sets
 * them), database (default: database_prefix + node), database_prefix
 * (default "ddbsim_"), journal (yes/no, default yes: commit points and the
 * last write of an operation wait for the server's journal, j: true).
 *
 * Read-only (DDB_OPEN_READONLY, ddbsim check): open creates no index or
 * collection and runs no recovery; the database must hold the collections a
 * read-write open creates for every role served (else DDB_NOT_FOUND), and
 * reset is refused.  What a crash left for recovery is seen as it is.
 */
#include "mongo_int.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_VERSION "0.1.0"

struct mg_cursor {
	struct mg *h;
	mongoc_client_t *client;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	int dataset;
	int done;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* The preamble of a batch operation (ddbsim/validate.h): 1 to go on, else
 * 0 and *st what to return (DDB_OK: an empty batch, nothing to do). */
static int batch_go(struct mg *h, unsigned role, size_t n, int arrays_given, const char *missing,
                    const char *op, enum ddb_status *st, struct ddb_err *err)
{
	int empty;
	const char *why = ddb_batch_problem(h->roles, role, n, arrays_given, missing, &empty);
	*st = why ? mgb_fail(h, DDB_INVALID, err, "%s: %s", op, why) : DDB_OK;
	return !why && !empty;
}

/* ---- open, close, reset ----------------------------------------------------- */

static int valid_db_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= DB_NAME_MAX)
		return 0;
	return strpbrk(s, "/\\. \"$*<>:|?") == NULL;
}

/* Every operation borrows a client of the pool once, after its argument
 * checks, and gives it back at its one exit. */
static mongoc_client_t *client_borrow(struct mg *h)
{
	return mongoc_client_pool_pop(h->pool);
}

static void client_return(struct mg *h, mongoc_client_t *c)
{
	mongoc_client_pool_push(h->pool, c);
}

static void mg_close(void *handle)
{
	struct mg *h = handle;
	if (!h)
		return;
	/* Stops the pool's monitoring threads and closes its connections. */
	if (h->pool)
		mongoc_client_pool_destroy(h->pool);
	if (h->uri)
		mongoc_uri_destroy(h->uri);
	if (h->wc_sure)
		bson_destroy(h->wc_sure);
	free(h);
}

static void default_timeout(mongoc_uri_t *uri, const char *option, int32_t ms)
{
	if (mongoc_uri_get_option_as_int32(uri, option, -1) < 0)
		mongoc_uri_set_option_as_int32(uri, option, ms);
}

/* open: the database's name, from the options database or
 * database_prefix. */
static enum ddb_status name_database(struct mg *h, const struct ddb_open_args *args,
                                     const char *database, const char *prefix, const char *op,
                                     struct ddb_err *err)
{
	int n = database ? snprintf(h->db, sizeof h->db, "%s", database)
	                 : snprintf(h->db, sizeof h->db, "%s%s", prefix, args->node);
	if (n < 0 || (size_t)n >= sizeof h->db || !valid_db_name(h->db))
		return mgb_fail(NULL, DDB_INVALID, err,
		                "%s: node %s: '%s%s' is no MongoDB database name (at most "
		                "%d bytes, none of /\\. \"$*<>:|?): set database",
		                op, args->node, database ? "" : prefix,
		                database ? database : args->node, DB_NAME_MAX - 1);
	return DDB_OK;
}

/* open: the URI (with the default timeouts), the sure write concern and
 * the client pool. */
static enum ddb_status open_pool(struct mg *h, const struct ddb_open_args *args,
                                 const char *uri_s, int journal, const char *op,
                                 struct ddb_err *err)
{
	bson_error_t e;
	h->uri = mongoc_uri_new_with_error(uri_s, &e);
	if (!h->uri)
		return mgb_fail(NULL, DDB_INVALID, err, "%s: node %s: uri: %s", op, args->node,
		                e.message);
	default_timeout(h->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
	default_timeout(h->uri, MONGOC_URI_CONNECTTIMEOUTMS, 2000);
	default_timeout(h->uri, MONGOC_URI_SOCKETTIMEOUTMS, 60000);
	if (!mongoc_uri_get_option_as_utf8(h->uri, MONGOC_URI_APPNAME, NULL))
		mongoc_uri_set_appname(h->uri, "ddbsim");

	mongoc_write_concern_t *wc = mongoc_write_concern_new();
	mongoc_write_concern_set_w(wc, 1);
	if (journal)
		mongoc_write_concern_set_journal(wc, true);
	mongoc_write_concern_append(wc, h->wc_sure);
	mongoc_write_concern_destroy(wc);

	h->pool = mongoc_client_pool_new_with_error(h->uri, &e);
	if (!h->pool)
		return mgb_fail(NULL, DDB_INVALID, err, "%s: node %s: %s", op, args->node, e.message);
	mongoc_client_pool_set_error_api(h->pool, MONGOC_ERROR_API_VERSION_2);
	return DDB_OK;
}

/* open: the server reachable?  Then the indexes (read-only: the
 * collections), and the recovery of what a crash left. */
static enum ddb_status open_check(struct mg *h, const char *op, struct ddb_err *err)
{
	mongoc_client_t *c = client_borrow(h);
	bson_t ping = BSON_INITIALIZER;
	BSON_APPEND_INT32(&ping, "ping", 1);
	enum ddb_status st = DDB_OK;
	bson_error_t e;
	if (!mongoc_client_command_simple(c, "admin", &ping, NULL, NULL, &e))
		st = mgb_fail(h, mgb_status_of(&e), err, "%s: cannot reach the server of %s: %s", op,
		              mongoc_uri_get_string(h->uri), e.message);
	bson_destroy(&ping);
	if (st == DDB_OK && h->readonly)
		st = mgb_verify_collections(h, c, op, err);
	else if (st == DDB_OK)
		st = mgb_ensure_indexes(h, c, op, err);
	if (st == DDB_OK && !h->readonly && (h->roles & DDB_ROLE_REGIONAL))
		st = mgi_recover(h, c, err);
	client_return(h, c);
	return st;
}

static enum ddb_status mg_open(const struct ddb_open_args *args, void **handle,
                               struct ddb_err *err)
{
	static const char op[] = "open";
	if (!handle)
		return mgb_fail(NULL, DDB_INVALID, err, "%s: no handle pointer", op);
	*handle = NULL;
	if (!args || !args->node)
		return mgb_fail(NULL, DDB_INVALID, err, "%s: no node name", op);
	if (args->roles == 0 || (args->roles & ~(unsigned)DDB_ROLES_ALL))
		return mgb_fail(NULL, DDB_INVALID, err, "%s: %s: unknown roles %#x", op, args->node,
		                args->roles);
	if (ddb_field_len(args->node, DDB_NAME_MAX) <= 0)
		return mgb_fail(NULL, DDB_INVALID, err, "%s: node name empty or too long", op);
	pthread_once(&init_once, mgb_global_init);

	const char *uri_s = ddb_option_get(args, "uri", "mongodb://127.0.0.1:27017/");
	const char *database = ddb_option_get(args, "database", NULL);
	const char *prefix = ddb_option_get(args, "database_prefix", "ddbsim_");
	int journal;
	struct ddb_err why;
	if (ddb_option_bool(args, "journal", 1, &journal, &why) != DDB_OK)
		return mgb_fail(NULL, DDB_INVALID, err, "%s: %s: %s", op, args->node, why.msg);

	struct mg *h = calloc(1, sizeof *h);
	if (!h)
		return mgb_fail(NULL, DDB_INTERNAL, err, "%s: out of memory", op);
	h->wc_sure = bson_new();
	memcpy(h->node, args->node, strlen(args->node) + 1);
	h->roles = args->roles;
	h->readonly = (args->flags & DDB_OPEN_READONLY) != 0;
	enum ddb_status st = name_database(h, args, database, prefix, op, err);
	if (st == DDB_OK)
		st = open_pool(h, args, uri_s, journal, op, err);
	if (st == DDB_OK)
		st = open_check(h, op, err);
	return ddb_open_done(st, h, handle, mg_close);
}

static enum ddb_status mg_reset(void *handle, struct ddb_err *err)
{
	static const char op[] = "reset";
	struct mg *h = handle;
	const char *why = ddb_reset_problem(h != NULL, h && h->readonly);
	if (why)
		return mgb_fail(h, DDB_INVALID, err, "%s", why);
	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = mgb_drop_collections(h, c, op, err);
	if (st == DDB_OK)
		st = mgb_ensure_indexes(h, c, op, err);
	if (st == DDB_OK)
		h->recover = 0;
	client_return(h, c);
	return st;
}

/* ---- regional: products and stock --------------------------------------------- */

static enum ddb_status mg_upsert_product(void *handle, const struct ddb_product *product,
                                         int64_t now_us, struct ddb_err *err)
{
	static const char op[] = "upsert_product";
	struct mg *h = handle;
	if (!mgb_need_args(h, DDB_ROLE_REGIONAL, product != NULL, "no product", op, err))
		return DDB_INVALID;
	const char *why = ddb_product_problem_utf8(product);
	if (why)
		return mgb_fail(h, DDB_INVALID, err, "%s: %.*s: %s", op, DDB_SKU_MAX - 1, product->sku,
		                why);

	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = mgi_regional_ready(h, c, err);
	bson_t sel = BSON_INITIALIZER, *found = NULL;
	BSON_APPEND_UTF8(&sel, "_id", product->sku);
	if (st == DDB_OK)
		st = mgb_find_one(h, c, C_PRODUCTS, &sel, &found, op, err);
	bson_destroy(&sel);
	int64_t stored = 0;
	if (st == DDB_OK && found && mgb_read_i64(found, "version", &stored) == 0 &&
	    stored >= product->version)
		st = mgb_fail(h, DDB_DUPLICATE, err, "%s: %s: version %lld is stored, not older than %lld",
		              op, product->sku, (long long)stored, (long long)product->version);
	if (found)
		bson_destroy(found);
	int64_t seq = 0;
	if (st == DDB_OK)
		st = mgb_next_seqs(h, c, 1, &seq, op, err);
	if (st == DDB_OK)
		mgb_failpoint("product:numbered");
	if (st == DDB_OK) {
		char b[BATCH_ID_LEN];
		mgi_new_batch_id(b);
		bson_t intent = BSON_INITIALIZER, sub;
		BSON_APPEND_UTF8(&intent, "_id", b);
		BSON_APPEND_UTF8(&intent, "state", "committed");
		BSON_APPEND_UTF8(&intent, "kind", "product");
		BSON_APPEND_UTF8(&intent, "origin", h->node);
		BSON_APPEND_INT64(&intent, "seq", seq);
		BSON_APPEND_INT64(&intent, "created_at_us", now_us);
		BSON_APPEND_DOCUMENT_BEGIN(&intent, "product", &sub);
		mgb_append_product(&sub, product, 1);
		bson_append_document_end(&intent, &sub);
		int committed;
		st = mgi_commit(h, c, &intent, b, &committed, op, err);
		bson_destroy(&intent);
	}
	client_return(h, c);
	return st;
}

static enum ddb_status mg_restock(void *handle, const char *sku, int64_t quantity,
                                  struct ddb_err *err)
{
	static const char op[] = "restock";
	struct mg *h = handle;
	if (!mgb_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = sku ? ddb_field_len(sku, DDB_SKU_MAX) : -1;
	if (len <= 0)
		return mgb_fail(h, DDB_INVALID, err, "%s: empty sku, or longer than %d bytes", op,
		                DDB_SKU_MAX - 1);
	if (quantity < 1)
		return mgb_fail(h, DDB_INVALID, err, "%s: %s: quantity %lld must be at least 1", op, sku,
		                (long long)quantity);

	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = mgi_regional_ready(h, c, err);
	if (st == DDB_OK) {
		/* The guard keeps stock and received within int64: no match
		 * means unknown sku or overflow, told apart below. */
		bson_t sel = BSON_INITIALIZER, g1, g2, upd = BSON_INITIALIZER, inc;
		BSON_APPEND_UTF8(&sel, "_id", sku);
		BSON_APPEND_DOCUMENT_BEGIN(&sel, "stock", &g1);
		BSON_APPEND_INT64(&g1, "$lte", INT64_MAX - quantity);
		bson_append_document_end(&sel, &g1);
		BSON_APPEND_DOCUMENT_BEGIN(&sel, "received", &g2);
		BSON_APPEND_INT64(&g2, "$lte", INT64_MAX - quantity);
		bson_append_document_end(&sel, &g2);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$inc", &inc);
		BSON_APPEND_INT64(&inc, "stock", quantity);
		BSON_APPEND_INT64(&inc, "received", quantity);
		bson_append_document_end(&upd, &inc);
		int64_t matched = 0;
		st = mgb_update_one(h, c, C_INVENTORY, &sel, &upd, 0, 1, &matched, NULL, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
		if (st == DDB_OK && matched == 0) {
			bson_t q = BSON_INITIALIZER, *found = NULL;
			BSON_APPEND_UTF8(&q, "_id", sku);
			st = mgb_find_one(h, c, C_INVENTORY, &q, &found, op, err);
			bson_destroy(&q);
			if (st == DDB_OK)
				st = found ? mgb_fail(h, DDB_INVALID, err,
				                      "%s: %s: restocking %lld would overflow the stock", op,
				                      sku, (long long)quantity)
				           : mgb_fail(h, DDB_NOT_FOUND, err, "%s: %s: no such product", op, sku);
			if (found)
				bson_destroy(found);
		}
	}
	client_return(h, c);
	return st;
}

static enum ddb_status mg_place_orders(void *handle, const struct ddb_order *orders, size_t n,
                                       enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "place_orders";
	struct mg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, orders && results, "no orders or no results array",
	              op, &early, err))
		return early;
	unsigned char *invalid = calloc(n, 1);
	if (!invalid)
		return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	for (size_t i = 0; i < n; i++) {
		invalid[i] = ddb_order_problem_utf8(&orders[i]) != NULL;
		results[i] = invalid[i] ? DDB_INVALID : DDB_OK;
	}
	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = mgi_regional_ready(h, c, err);
	if (st == DDB_OK)
		st = mgi_place(h, c, orders, n, results, invalid, err);
	client_return(h, c);
	if (st != DDB_OK)
		for (size_t i = 0; i < n; i++)
			results[i] = st;
	free(invalid);
	return st;
}

/* ---- regional: the outbox ------------------------------------------------------ */

static enum ddb_status mg_outbox_read(void *handle, int64_t after_seq, int want_state,
                                      struct ddb_event *events, size_t max, size_t *n_out,
                                      struct ddb_err *err)
{
	static const char op[] = "outbox_read";
	struct mg *h = handle;
	if (n_out)
		*n_out = 0;
	if (!mgb_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!n_out)
		return mgb_fail(h, DDB_INVALID, err, "%s: no count pointer", op);
	if (!ddb_outbox_state_ok(want_state))
		return mgb_fail(h, DDB_INVALID, err, "%s: unknown state %d", op, want_state);
	if (max == 0)
		return DDB_OK;
	if (!events)
		return mgb_fail(h, DDB_INVALID, err, "%s: no events array", op);

	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = mgi_regional_ready(h, c, err);
	if (st == DDB_OK) {
		bson_t filter = BSON_INITIALIZER, gt, opts = BSON_INITIALIZER, sort;
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &gt);
		BSON_APPEND_INT64(&gt, "$gt", after_seq);
		bson_append_document_end(&filter, &gt);
		BSON_APPEND_INT32(&filter, "state", want_state);
		BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
		BSON_APPEND_INT32(&sort, "_id", 1);
		bson_append_document_end(&opts, &sort);
		BSON_APPEND_INT64(&opts, "limit", max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
		mongoc_collection_t *col = mgb_coll_of(h, c, C_OUTBOX);
		mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
		const bson_t *doc;
		size_t k = 0;
		while (st == DDB_OK && k < max && mongoc_cursor_next(cur, &doc)) {
			if (mgb_fill_event(doc, &events[k]))
				st = mgb_fail(h, DDB_INTERNAL, err, "%s: an outbox document is malformed", op);
			else
				k++;
		}
		bson_error_t e;
		if (st == DDB_OK && mongoc_cursor_error(cur, &e))
			st = mgb_db_fail(h, op, &e, err);
		*n_out = st == DDB_OK ? k : 0;
		mongoc_cursor_destroy(cur);
		mongoc_collection_destroy(col);
		bson_destroy(&filter);
		bson_destroy(&opts);
	}
	client_return(h, c);
	return st;
}

#define MARK_CHUNK 50000

static enum ddb_status mg_outbox_mark(void *handle, const int64_t *seqs, size_t n, int state,
                                      struct ddb_err *err)
{
	static const char op[] = "outbox_mark";
	struct mg *h = handle;
	if (!mgb_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!ddb_outbox_state_ok(state))
		return mgb_fail(h, DDB_INVALID, err, "%s: unknown state %d", op, state);
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, seqs != NULL, "no seqs array", op, &early, err))
		return early;

	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = mgi_regional_ready(h, c, err);
	/* Each event on its own, and only upwards: a repeat, or a mark cut
	 * short and repeated, changes nothing more. */
	for (size_t at = 0; st == DDB_OK && at < n; at += MARK_CHUNK) {
		size_t m = n - at < MARK_CHUNK ? n - at : MARK_CHUNK;
		bson_t sel = BSON_INITIALIZER, in, arr, lt, upd = BSON_INITIALIZER, set;
		BSON_APPEND_DOCUMENT_BEGIN(&sel, "_id", &in);
		BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
		for (size_t i = 0; i < m; i++) {
			char idx[16];
			const char *key;
			bson_uint32_to_string((uint32_t)i, &key, idx, sizeof idx);
			BSON_APPEND_INT64(&arr, key, seqs[at + i]);
		}
		bson_append_array_end(&in, &arr);
		bson_append_document_end(&sel, &in);
		BSON_APPEND_DOCUMENT_BEGIN(&sel, "state", &lt);
		BSON_APPEND_INT32(&lt, "$lt", state);
		bson_append_document_end(&sel, &lt);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
		BSON_APPEND_INT32(&set, "state", state);
		bson_append_document_end(&upd, &set);
		st = mgb_update_many(h, c, C_OUTBOX, &sel, &upd, 1, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	client_return(h, c);
	return st;
}

static enum ddb_status mg_outbox_requeue(void *handle, struct ddb_err *err)
{
	static const char op[] = "outbox_requeue";
	struct mg *h = handle;
	if (!mgb_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = mgi_regional_ready(h, c, err);
	if (st == DDB_OK) {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
		BSON_APPEND_INT32(&sel, "state", DDB_OUTBOX_PUBLISHED);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
		BSON_APPEND_INT32(&set, "state", DDB_OUTBOX_NEW);
		bson_append_document_end(&upd, &set);
		st = mgb_update_many(h, c, C_OUTBOX, &sel, &upd, 1, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	client_return(h, c);
	return st;
}

/* ---- regional: customers ------------------------------------------------------ */

static enum ddb_status mg_put_customers(void *handle, const struct ddb_customer *customers,
                                        size_t n, enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "put_customers";
	struct mg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, customers && results, "no customers or no results array",
	              op, &early, err))
		return early;
	if (err)
		err->msg[0] = '\0';

	struct cond_op *ops = calloc(n, sizeof *ops);
	size_t *which = calloc(n, sizeof *which);
	int *dup = calloc(n, sizeof *dup);
	if (!ops || !which || !dup) {
		free(ops);
		free(which);
		free(dup);
		return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	}
	/* One conditional upsert per valid record, in batch order: a later
	 * record of the same id sees the earlier one as stored. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ddb_customer *cu = &customers[i];
		const char *why = ddb_customer_problem_utf8(cu);
		if (why) {
			if (err && !err->msg[0])
				mgb_fail(h, DDB_INVALID, err, "%s: customer %zu (%.*s): %s", op, i,
				         DDB_NAME_MAX - 1, cu->id, why);
			results[i] = DDB_INVALID;
			continue;
		}
		struct cond_op *co = &ops[m];
		co->key = cu->id;
		co->version = cu->version;
		co->sel = bson_new();
		co->upd = bson_new();
		bson_t lt, set;
		BSON_APPEND_UTF8(co->sel, "_id", cu->id);
		BSON_APPEND_DOCUMENT_BEGIN(co->sel, "version", &lt);
		BSON_APPEND_INT64(&lt, "$lt", cu->version);
		bson_append_document_end(co->sel, &lt);
		BSON_APPEND_DOCUMENT_BEGIN(co->upd, "$set", &set);
		mgb_append_customer(&set, cu);
		bson_append_document_end(co->upd, &set);
		which[m++] = i;
	}
	enum ddb_status st = DDB_OK;
	if (m > 0) {
		mongoc_client_t *c = client_borrow(h);
		struct ddb_err e2 = { "" };
		st = mgb_cond_upserts(h, c, C_CUSTOMERS, ops, m, 0, dup, op, &e2);
		client_return(h, c);
		if (st != DDB_OK) {
			/* Some records may be written: each one idempotently,
			 * so the call repeated converges (doc/mongo.md). */
			if (err)
				*err = e2;
			for (size_t i = 0; i < n; i++)
				results[i] = st;
		} else {
			for (size_t j = 0; j < m; j++)
				results[which[j]] = dup[j] ? DDB_DUPLICATE : DDB_OK;
		}
	}
	for (size_t j = 0; j < m; j++) {
		bson_destroy(ops[j].sel);
		bson_destroy(ops[j].upd);
	}
	free(ops);
	free(which);
	free(dup);
	return st;
}

static enum ddb_status mg_get_customer(void *handle, const char *id, struct ddb_customer *out,
                                       struct ddb_err *err)
{
	static const char op[] = "get_customer";
	struct mg *h = handle;
	if (!mgb_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = id ? ddb_field_len(id, DDB_NAME_MAX) : -1;
	if (len <= 0)
		return mgb_fail(h, DDB_INVALID, err, "%s: empty id, or longer than %d bytes", op,
		                DDB_NAME_MAX - 1);
	if (!out)
		return mgb_fail(h, DDB_INVALID, err, "%s: no record to fill", op);
	mongoc_client_t *c = client_borrow(h);
	bson_t sel = BSON_INITIALIZER, *found = NULL;
	BSON_APPEND_UTF8(&sel, "_id", id);
	enum ddb_status st = mgb_find_one(h, c, C_CUSTOMERS, &sel, &found, op, err);
	bson_destroy(&sel);
	client_return(h, c);
	if (st == DDB_OK && !found)
		st = mgb_fail(h, DDB_NOT_FOUND, err, "%s: %s: no such customer", op, id);
	else if (st == DDB_OK && mgb_fill_customer(found, out))
		st = mgb_fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op, id);
	if (found)
		bson_destroy(found);
	return st;
}

static enum ddb_status mg_find_customers(void *handle, const struct ddb_customer_filter *filter,
                                         void (*emit)(void *ctx, const struct ddb_customer *c),
                                         void *ctx, struct ddb_err *err)
{
	static const char op[] = "find_customers";
	struct mg *h = handle;
	if (!mgb_need_args(h, DDB_ROLE_REGIONAL, filter && emit, "no filter or no emit function", op,
	                   err))
		return DDB_INVALID;
	if (filter->zip_min > filter->zip_max)
		return DDB_OK;

	/* Live records in the zip range, city and state compared folded to
	 * ASCII lower case (stored folded beside the originals), by id. */
	bson_t q = BSON_INITIALIZER, range, opts = BSON_INITIALIZER, sort;
	BSON_APPEND_INT32(&q, "deleted", 0);
	BSON_APPEND_DOCUMENT_BEGIN(&q, "zip_prefix", &range);
	BSON_APPEND_INT64(&range, "$gte", filter->zip_min);
	BSON_APPEND_INT64(&range, "$lte", filter->zip_max);
	bson_append_document_end(&q, &range);
	const char *keys[2] = { "city_lc", "state_lc" };
	const char *vals[2] = { filter->city, filter->state };
	for (int i = 0; i < 2; i++) {
		if (!vals[i])
			continue;
		size_t len = strlen(vals[i]) + 1;
		char *lc = malloc(len);
		if (!lc) {
			bson_destroy(&q);
			bson_destroy(&opts);
			return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
		}
		mgb_ascii_lower(lc, vals[i], len);
		BSON_APPEND_UTF8(&q, keys[i], lc);
		free(lc);
	}
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&opts, &sort);
	if (filter->limit > 0 && filter->limit <= (size_t)INT64_MAX)
		BSON_APPEND_INT64(&opts, "limit", (int64_t)filter->limit);

	mongoc_client_t *c = client_borrow(h);
	mongoc_collection_t *col = mgb_coll_of(h, c, C_CUSTOMERS);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &q, &opts, NULL);
	const bson_t *doc;
	enum ddb_status st = DDB_OK;
	while (st == DDB_OK && mongoc_cursor_next(cur, &doc)) {
		struct ddb_customer cu;
		if (mgb_fill_customer(doc, &cu))
			st = mgb_fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op, cu.id);
		else
			emit(ctx, &cu);
	}
	bson_error_t e;
	if (st == DDB_OK && mongoc_cursor_error(cur, &e))
		st = mgb_db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	client_return(h, c);
	bson_destroy(&q);
	bson_destroy(&opts);
	return st;
}

/* ---- central -------------------------------------------------------------------- */

static enum ddb_status mg_apply_events(void *handle, const struct ddb_event *events, size_t n,
                                       int64_t applied_at_us, struct ddb_err *err)
{
	static const char op[] = "apply_events";
	struct mg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_CENTRAL, n, events != NULL, "no events array", op, &early, err))
		return early;
	/* One bad event fails the call before anything is written. */
	size_t n_products = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_event_problem_utf8(&events[i]);
		if (why)
			return mgb_fail(h, DDB_INVALID, err, "%s: event %zu (seq %lld): %s", op, i,
			                (long long)events[i].seq, why);
		n_products += events[i].kind == DDB_EVENT_PRODUCT;
	}

	mongoc_client_t *c = client_borrow(h);
	/* Orders: inserted once by their global id, applied_at_us of the
	 * first application. */
	struct bulk k;
	mgb_bulk_begin(h, c, C_CORDERS, 1, &k);
	for (size_t i = 0; i < n; i++) {
		if (events[i].kind != DDB_EVENT_ORDER)
			continue;
		const struct ddb_order *o = &events[i].order;
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, soi;
		BSON_APPEND_UTF8(&sel, "_id", o->id);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$setOnInsert", &soi);
		mgb_append_order(&soi, o, 0);
		BSON_APPEND_INT64(&soi, "applied_at_us", applied_at_us);
		bson_append_document_end(&upd, &soi);
		mgb_bulk_update(&k, &sel, &upd, 1);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	int32_t *codes = calloc(n, sizeof *codes);
	enum ddb_status st = codes ? DDB_OK : mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	if (st == DDB_OK)
		/* A duplicate key: two upserts of one id raced; it is there. */
		st = mgb_bulk_end(h, &k, codes, op, err);
	else
		mgb_bulk_end(h, &k, NULL, op, NULL);
	free(codes);
	/* Products: a higher version replaces a lower one. */
	if (st == DDB_OK && n_products > 0) {
		struct cond_op *ops = calloc(n_products, sizeof *ops);
		int *dup = calloc(n_products, sizeof *dup);
		if (!ops || !dup) {
			st = mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
		} else {
			size_t m = 0;
			for (size_t i = 0; i < n; i++) {
				if (events[i].kind != DDB_EVENT_PRODUCT)
					continue;
				const struct ddb_product *p = &events[i].product;
				struct cond_op *co = &ops[m++];
				co->key = p->sku;
				co->version = p->version;
				co->sel = bson_new();
				co->upd = bson_new();
				bson_t lt, set;
				BSON_APPEND_UTF8(co->sel, "_id", p->sku);
				BSON_APPEND_DOCUMENT_BEGIN(co->sel, "version", &lt);
				BSON_APPEND_INT64(&lt, "$lt", p->version);
				bson_append_document_end(co->sel, &lt);
				BSON_APPEND_DOCUMENT_BEGIN(co->upd, "$set", &set);
				mgb_append_product(&set, p, 0);
				bson_append_document_end(co->upd, &set);
			}
			st = mgb_cond_upserts(h, c, C_CPRODUCTS, ops, m, 0, dup, op, err);
			for (size_t j = 0; j < m; j++) {
				bson_destroy(ops[j].sel);
				bson_destroy(ops[j].upd);
			}
		}
		free(ops);
		free(dup);
	}
	client_return(h, c);
	return st;
}

static enum ddb_status mg_sales_report(void *handle, int by,
                                       void (*emit)(void *ctx, const struct ddb_sales *line),
                                       void *ctx, struct ddb_err *err)
{
	static const char op[] = "sales_report";
	struct mg *h = handle;
	if (!mgb_need_args(h, DDB_ROLE_CENTRAL, emit != NULL, "no emit function", op, err))
		return DDB_INVALID;
	const char *key = by == DDB_SALES_BY_REGION    ? "$region"
	                  : by == DDB_SALES_BY_PRODUCT ? "$sku"
	                                               : NULL;
	if (!key)
		return mgb_fail(h, DDB_INVALID, err, "%s: unknown grouping %d", op, by);

	bson_t pipeline = BSON_INITIALIZER, stage, group, sum, mul, arr, sort;
	BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &stage);
	BSON_APPEND_DOCUMENT_BEGIN(&stage, "$group", &group);
	BSON_APPEND_UTF8(&group, "_id", key);
	BSON_APPEND_DOCUMENT_BEGIN(&group, "orders", &sum);
	BSON_APPEND_INT32(&sum, "$sum", 1);
	bson_append_document_end(&group, &sum);
	BSON_APPEND_DOCUMENT_BEGIN(&group, "units", &sum);
	BSON_APPEND_UTF8(&sum, "$sum", "$quantity");
	bson_append_document_end(&group, &sum);
	BSON_APPEND_DOCUMENT_BEGIN(&group, "revenue", &sum);
	BSON_APPEND_DOCUMENT_BEGIN(&sum, "$sum", &mul);
	BSON_APPEND_ARRAY_BEGIN(&mul, "$multiply", &arr);
	BSON_APPEND_UTF8(&arr, "0", "$quantity");
	BSON_APPEND_UTF8(&arr, "1", "$unit_price_cents");
	bson_append_array_end(&mul, &arr);
	bson_append_document_end(&sum, &mul);
	bson_append_document_end(&group, &sum);
	bson_append_document_end(&stage, &group);
	bson_append_document_end(&pipeline, &stage);
	BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "1", &stage);
	BSON_APPEND_DOCUMENT_BEGIN(&stage, "$sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&stage, &sort);
	bson_append_document_end(&pipeline, &stage);

	mongoc_client_t *c = client_borrow(h);
	mongoc_collection_t *col = mgb_coll_of(h, c, C_CORDERS);
	mongoc_cursor_t *cur =
	    mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, &pipeline, NULL, NULL);
	const bson_t *doc;
	enum ddb_status st = DDB_OK;
	while (st == DDB_OK && mongoc_cursor_next(cur, &doc)) {
		struct ddb_sales line;
		memset(&line, 0, sizeof line);
		if (mgb_read_str(doc, "_id", line.key, sizeof line.key) ||
		    mgb_read_i64(doc, "orders", &line.orders) || mgb_read_i64(doc, "units", &line.units) ||
		    mgb_read_i64(doc, "revenue", &line.revenue_cents))
			st = mgb_fail(h, DDB_INTERNAL, err, "%s: a line of the report does not fit", op);
		else
			emit(ctx, &line);
	}
	bson_error_t e;
	if (st == DDB_OK && mongoc_cursor_error(cur, &e))
		st = mgb_db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	client_return(h, c);
	bson_destroy(&pipeline);
	return st;
}

/* ---- documents ------------------------------------------------------------------- */

static enum ddb_status mg_put_order_logs(void *handle, const struct ddb_order *orders, size_t n,
                                         int64_t logged_at_us, struct ddb_err *err)
{
	static const char op[] = "put_order_logs";
	struct mg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_DOCUMENTS, n, orders != NULL, "no orders array", op, &early, err))
		return early;
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_order_problem_utf8(&orders[i]);
		if (why)
			return mgb_fail(h, DDB_INVALID, err, "%s: order %zu: %s", op, i, why);
	}
	/* One document per order, keyed by the order id.  Inserted, all in one
	 * unordered bulk: the unique _id refuses a replayed order (a message
	 * delivered twice) with a duplicate key, and those are then upserted
	 * ($set: the same values again change nothing; logged_at_us stays the
	 * first).  An insert is the cheaper write, and a replay is rare. */
	int32_t *codes = calloc(n, sizeof *codes);
	if (!codes)
		return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = DDB_OK;
	size_t n_dup = n;
	for (int pass = 0; st == DDB_OK && n_dup > 0 && pass < 2; pass++) {
		struct bulk k;
		mgb_bulk_begin(h, c, C_LOGS, 1, &k);
		for (size_t i = 0; i < n; i++) {
			if (pass && codes[i] != 11000)
				continue;
			const struct ddb_order *o = &orders[i];
			char log_id[DDB_ID_MAX + 4];
			snprintf(log_id, sizeof log_id, "log:%s", o->id);
			bson_t doc = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, soi, sel;
			bson_t *fields = &doc;
			if (pass) {
				BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
				fields = &set;
			} else {
				BSON_APPEND_UTF8(&doc, "_id", o->id);
			}
			BSON_APPEND_UTF8(fields, "order_id", o->id);
			BSON_APPEND_UTF8(fields, "log_id", log_id);
			BSON_APPEND_UTF8(fields, "customer", o->customer);
			BSON_APPEND_UTF8(fields, "product", o->sku);
			BSON_APPEND_INT64(fields, "quantity", o->quantity);
			BSON_APPEND_INT64(fields, "unit_price_cents", o->unit_price_cents);
			BSON_APPEND_UTF8(fields, "region", o->region);
			BSON_APPEND_INT64(fields, "placed_at_us", o->placed_at_us);
			if (pass) {
				bson_append_document_end(&upd, &set);
				BSON_APPEND_DOCUMENT_BEGIN(&upd, "$setOnInsert", &soi);
				BSON_APPEND_INT64(&soi, "logged_at_us", logged_at_us);
				bson_append_document_end(&upd, &soi);
				bson_init(&sel);
				BSON_APPEND_UTF8(&sel, "_id", o->id);
				mgb_bulk_update(&k, &sel, &upd, 1);
				bson_destroy(&sel);
			} else {
				BSON_APPEND_INT64(&doc, "logged_at_us", logged_at_us);
				mgb_bulk_insert(&k, &doc);
			}
			bson_destroy(&doc);
			bson_destroy(&upd);
		}
		/* Pass 0: a duplicate key is a replay (codes[i] = 11000), any
		 * other failure fails the call.  Pass 1: none is expected. */
		st = mgb_bulk_end(h, &k, pass ? NULL : codes, op, err);
		n_dup = 0;
		if (!pass)
			for (size_t i = 0; i < n; i++)
				n_dup += codes[i] == 11000;
	}
	client_return(h, c);
	free(codes);
	return st;
}

static enum ddb_status mg_put_components(void *handle, const struct ddb_product *products,
                                         size_t n, struct ddb_err *err)
{
	static const char op[] = "put_components";
	struct mg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_DOCUMENTS, n, products != NULL, "no products array", op, &early, err))
		return early;
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_product_problem_utf8(&products[i]);
		if (why)
			return mgb_fail(h, DDB_INVALID, err, "%s: product %zu: %s", op, i, why);
	}
	struct cond_op *ops = calloc(n, sizeof *ops);
	int *dup = calloc(n, sizeof *dup);
	if (!ops || !dup) {
		free(ops);
		free(dup);
		return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	}
	/* By sku, replacing a document of the same or an older version. */
	for (size_t i = 0; i < n; i++) {
		const struct ddb_product *p = &products[i];
		struct cond_op *co = &ops[i];
		co->key = p->sku;
		co->version = p->version;
		co->sel = bson_new();
		co->upd = bson_new();
		bson_t lte, set;
		BSON_APPEND_UTF8(co->sel, "_id", p->sku);
		BSON_APPEND_DOCUMENT_BEGIN(co->sel, "version", &lte);
		BSON_APPEND_INT64(&lte, "$lte", p->version);
		bson_append_document_end(co->sel, &lte);
		BSON_APPEND_DOCUMENT_BEGIN(co->upd, "$set", &set);
		BSON_APPEND_UTF8(&set, "product_id", p->sku);
		mgb_append_product(&set, p, 0);
		bson_append_document_end(co->upd, &set);
	}
	mongoc_client_t *c = client_borrow(h);
	enum ddb_status st = mgb_cond_upserts(h, c, C_COMPONENTS, ops, n, 1, dup, op, err);
	client_return(h, c);
	for (size_t i = 0; i < n; i++) {
		bson_destroy(ops[i].sel);
		bson_destroy(ops[i].upd);
	}
	free(ops);
	free(dup);
	return st;
}

/* ---- scans --------------------------------------------------------------------- */

/* The collection of each dataset (its role: ddb_dataset_role). */
static const struct {
	const char *coll;
	int by_region; /* the region filter applies */
} scan_sets[] = {
	[DDB_DS_PRODUCTS] = { C_PRODUCTS, 0 },
	[DDB_DS_INVENTORY] = { C_INVENTORY, 0 },
	[DDB_DS_ORDERS] = { C_ORDERS, 1 },
	[DDB_DS_OUTBOX] = { C_OUTBOX, 0 },
	[DDB_DS_CENTRAL_PRODUCTS] = { C_CPRODUCTS, 0 },
	[DDB_DS_CENTRAL_ORDERS] = { C_CORDERS, 1 },
	[DDB_DS_ORDER_LOGS] = { C_LOGS, 1 },
	[DDB_DS_COMPONENTS] = { C_COMPONENTS, 0 },
	[DDB_DS_CUSTOMERS] = { C_CUSTOMERS, 0 },
};

static enum ddb_status mg_scan_open(void *handle, int dataset, const char *region,
                                    void **cursor, struct ddb_err *err)
{
	static const char op[] = "scan_open";
	struct mg *h = handle;
	struct ddb_err msg;
	const char *why = ddb_scan_problem(h->roles, dataset, cursor, &msg);
	if (why)
		return mgb_fail(h, DDB_INVALID, err, "%s: %s", op, why);
	if (region && scan_sets[dataset].by_region && ddb_field_len(region, DDB_NAME_MAX) < 0)
		return mgb_fail(h, DDB_INVALID, err, "%s: region longer than %d bytes", op,
		                DDB_NAME_MAX - 1);

	struct mg_cursor *cu = calloc(1, sizeof *cu);
	if (!cu)
		return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	cu->h = h;
	cu->dataset = dataset;
	cu->client = client_borrow(h);
	if (ddb_dataset_role(dataset) == DDB_ROLE_REGIONAL) {
		enum ddb_status st = mgi_regional_ready(h, cu->client, err);
		if (st != DDB_OK) {
			client_return(h, cu->client);
			free(cu);
			return st;
		}
	}
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, ex;
	if (dataset == DDB_DS_ORDERS) {
		/* Claims of batches not committed are no orders. */
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "t", &ex);
		BSON_APPEND_BOOL(&ex, "$exists", false);
		bson_append_document_end(&filter, &ex);
	}
	if (region && scan_sets[dataset].by_region)
		BSON_APPEND_UTF8(&filter, "region", region);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&opts, &sort);
	cu->coll = mgb_coll_of(h, cu->client, scan_sets[dataset].coll);
	cu->cur = mongoc_collection_find_with_opts(cu->coll, &filter, &opts, NULL);
	bson_destroy(&filter);
	bson_destroy(&opts);
	*cursor = cu;
	return DDB_OK;
}

static enum ddb_status mg_scan_next(void *cursor, struct ddb_row *row, struct ddb_err *err)
{
	struct mg_cursor *cu = cursor;
	if (!cu || !row)
		return mgb_fail(cu ? cu->h : NULL, DDB_INVALID, err, "scan_next: no cursor or row");
	struct mg *h = cu->h;
	if (cu->done)
		return DDB_NOT_FOUND;
	const bson_t *doc;
	if (!mongoc_cursor_next(cu->cur, &doc)) {
		bson_error_t e;
		cu->done = 1;
		if (mongoc_cursor_error(cu->cur, &e))
			return mgb_db_fail(h, "scan", &e, err);
		return DDB_NOT_FOUND;
	}
	row->dataset = cu->dataset;
	row->applied_at_us = 0;
	int bad = 0;
	switch (cu->dataset) {
	case DDB_DS_PRODUCTS:
	case DDB_DS_CENTRAL_PRODUCTS:
	case DDB_DS_COMPONENTS:
		bad = mgb_fill_product(doc, "_id", &row->product);
		break;
	case DDB_DS_INVENTORY:
		memset(&row->stock, 0, sizeof row->stock);
		bad = mgb_read_str(doc, "_id", row->stock.sku, sizeof row->stock.sku) |
		      mgb_read_i64(doc, "stock", &row->stock.stock) |
		      mgb_read_i64(doc, "received", &row->stock.received) |
		      mgb_read_i64(doc, "sold", &row->stock.sold);
		break;
	case DDB_DS_ORDERS:
		bad = mgb_fill_order(doc, "_id", "sku", &row->order);
		break;
	case DDB_DS_CENTRAL_ORDERS:
		bad = mgb_fill_order(doc, "_id", "sku", &row->order) |
		      mgb_read_i64(doc, "applied_at_us", &row->applied_at_us);
		break;
	case DDB_DS_ORDER_LOGS:
		bad = mgb_fill_order(doc, "_id", "product", &row->order);
		break;
	case DDB_DS_OUTBOX:
		bad = mgb_fill_event(doc, &row->event);
		break;
	case DDB_DS_CUSTOMERS:
		bad = mgb_fill_customer(doc, &row->customer);
		break;
	}
	if (bad)
		return mgb_fail(h, DDB_INTERNAL, err, "scan: dataset %d: a stored document does not fit",
		                cu->dataset);
	return DDB_OK;
}

static void mg_scan_close(void *cursor)
{
	struct mg_cursor *cu = cursor;
	if (!cu)
		return;
	mongoc_cursor_destroy(cu->cur);
	mongoc_collection_destroy(cu->coll);
	client_return(cu->h, cu->client);
	free(cu);
}

/* ---- the descriptor ------------------------------------------------------------ */

static const struct ddb_storage_ops mongo_ops = {
	.open = mg_open,
	.close = mg_close,
	.reset = mg_reset,
	.upsert_product = mg_upsert_product,
	.restock = mg_restock,
	.place_orders = mg_place_orders,
	.outbox_read = mg_outbox_read,
	.outbox_mark = mg_outbox_mark,
	.outbox_requeue = mg_outbox_requeue,
	.put_customers = mg_put_customers,
	.get_customer = mg_get_customer,
	.find_customers = mg_find_customers,
	.apply_events = mg_apply_events,
	.sales_report = mg_sales_report,
	.put_order_logs = mg_put_order_logs,
	.put_components = mg_put_components,
	.scan_open = mg_scan_open,
	.scan_next = mg_scan_next,
	.scan_close = mg_scan_close,
};

/* The options open() reads (the core refuses others). */
static const char *const option_keys[] = { "uri", "database", "database_prefix", "journal", NULL };

static const struct ddb_plugin mongo_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_STORAGE,
	.name = "mongo",
	.version = PLUGIN_VERSION,
	.caps = DDB_ROLES_ALL,
	.storage = &mongo_ops,
	.settings = option_keys,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &mongo_plugin;
}
