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
 *   place_orders  claims each order id (an order document {_id, t: batch},
 *                 unique _id), takes the stock per sku with one conditional
 *                 update ({stock: {$gte: n}}, $inc, and a hold {b: batch, q}
 *                 pushed in the same update), allocates outbox numbers, then
 *                 COMMITS by inserting one intent document holding the whole
 *                 batch (journaled).  Finishing - order documents made final,
 *                 outbox events, holds turned into "sold" - is idempotent and
 *                 redone from the intent after a crash.  A batch without an
 *                 intent is aborted by recovery: an "aborted" intent is
 *                 inserted under the same _id (so the writer, if alive, loses
 *                 its commit), the holds are given back (each exactly once: the
 *                 update is conditional on its hold) and the claims deleted.
 *   upsert_product  the same: an intent, then idempotent steps.
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
#include <ddbsim/plugin.h>
#include <ddbsim/validate.h>

#include <bson/bson.h>
#include <mongoc/mongoc.h>

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PLUGIN_VERSION "0.1.0"
#define ALL_ROLES (DDB_ROLE_REGIONAL | DDB_ROLE_CENTRAL | DDB_ROLE_DOCUMENTS)
#define DB_NAME_MAX 64 /* MongoDB: fewer than 64 bytes */
#define BATCH_ID_LEN 25 /* an ObjectId in hex, with the NUL */
#define HOLD_ATTEMPTS 8

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* collections */
#define C_PRODUCTS "products"
#define C_INVENTORY "inventory"
#define C_ORDERS "orders"
#define C_OUTBOX "outbox"
#define C_INTENTS "intents"
#define C_COUNTERS "counters"
#define C_CUSTOMERS "customers"
#define C_CPRODUCTS "central_products"
#define C_CORDERS "central_orders"
#define C_LOGS "order_product"
#define C_COMPONENTS "product_component"

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

/* ---- the instance ------------------------------------------------------- */

struct mg {
	mongoc_uri_t *uri;
	mongoc_client_pool_t *pool;
	char node[DDB_NAME_MAX];
	char db[DB_NAME_MAX];
	unsigned roles;
	/* {writeConcern: {w: 1[, j: true]}}: commit points, last writes.  A
	 * bson_t on the heap (bson_new): a bson_t member would need 128-byte
	 * alignment, which calloc does not give. */
	bson_t *wc_sure;
	int recover;    /* regional: an intent or an orphan may wait for recovery */
	int readonly;   /* DDB_OPEN_READONLY */
};

struct mg_cursor {
	struct mg *h;
	mongoc_client_t *client;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	int dataset;
	int done;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

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

static void global_init(void)
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

/* ---- failpoints ---------------------------------------------------------- */

/* For the crash tests: DDBSIM_MONGO_FAILPOINT=NAME[:N] ends the process
 * with _exit(86), as a crash would, the Nth time (default the first) the
 * plugin passes the point NAME, between two of its writes.  The names are
 * those of the calls below (doc/mongo.md lists them). */
static pthread_mutex_t fp_lock = PTHREAD_MUTEX_INITIALIZER;
static long fp_count;

static void failpoint(const char *name)
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

PRINTF_LIKE(4, 5)
static enum ddb_status fail(const struct mg *h, enum ddb_status st, struct ddb_err *err,
                            const char *fmt, ...)
{
	if (!err)
		return st;
	int n = h ? snprintf(err->msg, sizeof err->msg, "mongo: %s: ", h->db)
	          : snprintf(err->msg, sizeof err->msg, "mongo: ");
	if (n < 0 || (size_t)n >= sizeof err->msg)
		return st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
	va_end(ap);
	return st;
}

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

static enum ddb_status status_of(const bson_error_t *e)
{
	if (network_error(e) || transient_code(e->code))
		return DDB_UNAVAILABLE;
	if (e->domain == MONGOC_ERROR_WRITE_CONCERN)
		return DDB_UNAVAILABLE; /* durability not confirmed: try again */
	return DDB_INTERNAL;
}

/* A failed driver call: its status, and "mongo: DB: OP: what it said". */
static enum ddb_status db_fail(const struct mg *h, const char *op, const bson_error_t *e,
                               struct ddb_err *err)
{
	return fail(h, status_of(e), err, "%s: %s", op, e->message);
}

static int is_dup(const bson_error_t *e)
{
	return !network_error(e) && e->code == 11000;
}

static int need_role(const struct mg *h, unsigned role, const char *op, struct ddb_err *err)
{
	if (h->roles & role)
		return 1;
	fail(h, DDB_INVALID, err, "%s: this instance does not serve the %s role", op,
	     role == DDB_ROLE_REGIONAL ? "regional" : role == DDB_ROLE_CENTRAL ? "central"
	                                                                     : "documents");
	return 0;
}

/* ---- validation (as in every plugin) -------------------------------------- */

/* Length of s when it ends within size bytes, else -1. */
/* ---- BSON: writing ----------------------------------------------------------- */

static void append_order(bson_t *b, const struct ddb_order *o, int with_id)
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
static void append_product(bson_t *b, const struct ddb_product *p, int with_sku)
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
static void ascii_lower(char *dst, const char *src, size_t size)
{
	size_t i = 0;
	for (; src[i] && i + 1 < size; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = '\0';
}

static void append_customer(bson_t *b, const struct ddb_customer *c)
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
	ascii_lower(lc, c->city, sizeof lc);
	BSON_APPEND_UTF8(b, "city_lc", lc);
	ascii_lower(lc, c->state, sizeof lc);
	BSON_APPEND_UTF8(b, "state_lc", lc);
}

/* ---- BSON: reading ------------------------------------------------------------ */

/* Copies the string at key into dst (size bytes with the NUL); -1 when it
 * is missing, not a string or too long. */
static int read_str(const bson_t *d, const char *key, char *dst, size_t size)
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

static int read_i64(const bson_t *d, const char *key, int64_t *out)
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
static int read_doc(const bson_t *d, const char *key, bson_t *out)
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
static int fill_order(const bson_t *d, const char *id_key, const char *sku_key,
                      struct ddb_order *o)
{
	memset(o, 0, sizeof *o);
	return read_str(d, id_key, o->id, sizeof o->id) |
	       read_str(d, "region", o->region, sizeof o->region) |
	       read_str(d, "customer", o->customer, sizeof o->customer) |
	       read_str(d, sku_key, o->sku, sizeof o->sku) |
	       read_i64(d, "quantity", &o->quantity) |
	       read_i64(d, "unit_price_cents", &o->unit_price_cents) |
	       read_i64(d, "placed_at_us", &o->placed_at_us);
}

static int fill_product(const bson_t *d, const char *sku_key, struct ddb_product *p)
{
	memset(p, 0, sizeof *p);
	int bad = read_str(d, sku_key, p->sku, sizeof p->sku) |
	          read_str(d, "name", p->name, sizeof p->name) |
	          read_i64(d, "price_cents", &p->price_cents) | read_i64(d, "version", &p->version);
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
		bad |= read_str(&el, "sku", c->sku, sizeof c->sku) |
		       read_i64(&el, "quantity", &c->quantity);
	}
	return bad;
}

static int fill_customer(const bson_t *d, struct ddb_customer *c)
{
	memset(c, 0, sizeof *c);
	int64_t deleted = 0;
	int bad = read_str(d, "_id", c->id, sizeof c->id) |
	          read_str(d, "unique_id", c->unique_id, sizeof c->unique_id) |
	          read_i64(d, "zip_prefix", &c->zip_prefix) |
	          read_str(d, "city", c->city, sizeof c->city) |
	          read_str(d, "state", c->state, sizeof c->state) |
	          read_str(d, "name", c->name, sizeof c->name) |
	          read_str(d, "email", c->email, sizeof c->email) |
	          read_str(d, "home", c->home, sizeof c->home) |
	          read_i64(d, "version", &c->version) | read_i64(d, "deleted", &deleted) |
	          read_i64(d, "updated_at_us", &c->updated_at_us);
	c->deleted = deleted != 0;
	return bad;
}

/* An outbox document: {_id: seq, origin, kind, state, created_at_us,
 * order: {...} | product: {...}}. */
static int fill_event(const bson_t *d, struct ddb_event *ev)
{
	memset(ev, 0, sizeof *ev);
	int64_t kind = 0, state = 0;
	bson_t sub;
	int bad = read_i64(d, "_id", &ev->seq) | read_str(d, "origin", ev->origin, sizeof ev->origin) |
	          read_i64(d, "kind", &kind) | read_i64(d, "state", &state) |
	          read_i64(d, "created_at_us", &ev->created_at_us);
	ev->kind = (int)kind;
	ev->state = (int)state;
	int n = snprintf(ev->id, sizeof ev->id, "%s:%lld", ev->origin, (long long)ev->seq);
	if (n < 0 || (size_t)n >= sizeof ev->id)
		bad = -1;
	if (kind == DDB_EVENT_ORDER)
		bad |= read_doc(d, "order", &sub) ? -1 : fill_order(&sub, "id", "sku", &ev->order);
	else if (kind == DDB_EVENT_PRODUCT)
		bad |= read_doc(d, "product", &sub) ? -1 : fill_product(&sub, "sku", &ev->product);
	else
		bad = -1;
	return bad;
}

/* ---- driver helpers --------------------------------------------------------- */

static mongoc_collection_t *coll_of(struct mg *h, mongoc_client_t *c, const char *name)
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
static enum ddb_status update_one(struct mg *h, mongoc_client_t *c, const char *coll,
                                  const bson_t *sel, const bson_t *upd, int upsert, int sure,
                                  int64_t *matched, int *dup, const char *op,
                                  struct ddb_err *err)
{
	mongoc_collection_t *col = coll_of(h, c, coll);
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
		read_i64(&reply, "matchedCount", &m);
		read_i64(&reply, "upsertedCount", &u);
		if (matched)
			*matched = m + u;
	} else if (dup && is_dup(&e)) {
		*dup = 1;
	} else {
		st = db_fail(h, op, &e, err);
	}
	bson_destroy(&reply);
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

static enum ddb_status update_many(struct mg *h, mongoc_client_t *c, const char *coll,
                                   const bson_t *sel, const bson_t *upd, int sure,
                                   const char *op, struct ddb_err *err)
{
	mongoc_collection_t *col = coll_of(h, c, coll);
	bson_t opts;
	bson_error_t e;
	write_opts(h, &opts, -1, sure);
	enum ddb_status st = mongoc_collection_update_many(col, sel, upd, &opts, NULL, &e)
	                             ? DDB_OK
	                             : db_fail(h, op, &e, err);
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

static enum ddb_status delete_many(struct mg *h, mongoc_client_t *c, const char *coll,
                                   const bson_t *sel, int sure, const char *op,
                                   struct ddb_err *err)
{
	mongoc_collection_t *col = coll_of(h, c, coll);
	bson_t opts;
	bson_error_t e;
	write_opts(h, &opts, -1, sure);
	enum ddb_status st = mongoc_collection_delete_many(col, sel, &opts, NULL, &e)
	                             ? DDB_OK
	                             : db_fail(h, op, &e, err);
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

/* Inserts one document; *dup set (and OK returned) on a duplicate key.  A
 * network error leaves *unknown set: the insert may or may not have been
 * applied. */
static enum ddb_status insert_one(struct mg *h, mongoc_client_t *c, const char *coll,
                                  const bson_t *doc, int sure, int *dup, int *unknown,
                                  const char *op, struct ddb_err *err)
{
	mongoc_collection_t *col = coll_of(h, c, coll);
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
			st = db_fail(h, op, &e, err);
		}
	}
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

/* The first document matching filter into *out (bson_copy: destroy it), or
 * *out = NULL. */
static enum ddb_status find_one(struct mg *h, mongoc_client_t *c, const char *coll,
                                const bson_t *filter, bson_t **out, const char *op,
                                struct ddb_err *err)
{
	mongoc_collection_t *col = coll_of(h, c, coll);
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
		st = db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	mongoc_collection_destroy(col);
	return st;
}

/* A bulk write (unordered: every operation is tried), and the error code of
 * each operation afterwards (0: done). */
struct bulk {
	mongoc_collection_t *col;
	mongoc_bulk_operation_t *b;
	size_t n;
	int bad; /* an operation could not be added */
	bson_error_t e;
};

static void bulk_begin(struct mg *h, mongoc_client_t *c, const char *coll, int sure,
                       struct bulk *k)
{
	bson_t opts;
	write_opts(h, &opts, -1, sure);
	BSON_APPEND_BOOL(&opts, "ordered", false);
	memset(k, 0, sizeof *k);
	k->col = coll_of(h, c, coll);
	k->b = mongoc_collection_create_bulk_operation_with_opts(k->col, &opts);
	bson_destroy(&opts);
}

static void bulk_update(struct bulk *k, const bson_t *sel, const bson_t *upd, int upsert)
{
	bson_t opts;
	bson_init(&opts);
	BSON_APPEND_BOOL(&opts, "upsert", upsert != 0);
	if (!k->bad && !mongoc_bulk_operation_update_one_with_opts(k->b, sel, upd, &opts, &k->e))
		k->bad = 1;
	bson_destroy(&opts);
	k->n++;
}

static void bulk_insert(struct bulk *k, const bson_t *doc)
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
static enum ddb_status bulk_end(struct mg *h, struct bulk *k, int32_t *codes, const char *op,
                                struct ddb_err *err)
{
	enum ddb_status st = DDB_OK;
	if (codes)
		memset(codes, 0, k->n * sizeof *codes);
	if (k->bad) {
		st = fail(h, DDB_INTERNAL, err, "%s: %s", op, k->e.message);
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
					read_i64(&we, "index", &index);
					read_i64(&we, "code", &code);
					any = 1;
					if (code != 11000 || !codes || index < 0 || (size_t)index >= k->n) {
						only_dups = 0;
						break;
					}
					codes[index] = (int32_t)code;
				}
			}
			if (!only_dups || !any)
				st = db_fail(h, op, &e, err);
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
static enum ddb_status db_command(struct mg *h, mongoc_client_t *c, const bson_t *cmd,
                                  int ignore_code, const char *op, struct ddb_err *err)
{
	bson_error_t e;
	bson_t reply;
	enum ddb_status st = DDB_OK;
	if (!mongoc_client_write_command_with_opts(c, h->db, cmd, NULL, &reply, &e) &&
	    !(ignore_code && !network_error(&e) && e.code == (uint32_t)ignore_code))
		st = db_fail(h, op, &e, err);
	bson_destroy(&reply);
	return st;
}

/* The next n outbox numbers: *first .. *first + n - 1. */
static enum ddb_status next_seqs(struct mg *h, mongoc_client_t *c, int64_t n, int64_t *first,
                                 const char *op, struct ddb_err *err)
{
	mongoc_collection_t *col = coll_of(h, c, C_COUNTERS);
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
		st = db_fail(h, op, &e, err);
	} else {
		int64_t last = 0;
		if (read_doc(&reply, "value", &value) || read_i64(&value, "n", &last) || last < n)
			st = fail(h, DDB_INTERNAL, err, "%s: the outbox counter reads wrong", op);
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
struct cond_op {
	const char *key;
	int64_t version;
	bson_t *sel, *upd; /* bson_new(): see struct mg */
};

static enum ddb_status cond_upserts(struct mg *h, mongoc_client_t *c, const char *coll,
                                    struct cond_op *ops, size_t n, int inclusive, int *dup,
                                    const char *op, struct ddb_err *err)
{
	int32_t *codes = calloc(n ? n : 1, sizeof *codes);
	size_t *retry = calloc(n ? n : 1, sizeof *retry);
	if (!codes || !retry) {
		free(codes);
		free(retry);
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	}
	for (size_t i = 0; i < n; i++)
		dup[i] = 0;
	enum ddb_status st = DDB_OK;
	size_t *todo = NULL, n_todo = n;
	for (int round = 0; round < 2 && st == DDB_OK && n_todo > 0; round++) {
		struct bulk k;
		bulk_begin(h, c, coll, 1, &k);
		for (size_t j = 0; j < n_todo; j++) {
			size_t i = todo ? todo[j] : j;
			bulk_update(&k, ops[i].sel, ops[i].upd, 1);
		}
		st = bulk_end(h, &k, codes, op, err);
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
			mongoc_collection_t *col = coll_of(h, c, coll);
			mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
			const bson_t *doc;
			while (mongoc_cursor_next(cur, &doc)) {
				char id[DDB_TITLE_MAX];
				int64_t v = 0;
				if (read_str(doc, "_id", id, sizeof id) || read_i64(doc, "version", &v))
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
				st = db_fail(h, op, &e, err);
			mongoc_cursor_destroy(cur);
			mongoc_collection_destroy(col);
			bson_destroy(&opts);
		}
		bson_destroy(&filter);
		bson_destroy(&proj);
		/* The retry list only grows in round 0: round 1 is the last. */
		size_t *next = malloc((n_retry ? n_retry : 1) * sizeof *next);
		if (!next) {
			st = fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
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

/* ---- open, close, reset ----------------------------------------------------- */

static int valid_db_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= DB_NAME_MAX)
		return 0;
	return strpbrk(s, "/\\. \"$*<>:|?") == NULL;
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static enum ddb_status ensure_indexes(struct mg *h, mongoc_client_t *c, const char *op,
                                      struct ddb_err *err)
{
	for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
		if (!(h->roles & indexes[i].role))
			continue;
		bson_error_t e;
		bson_t *key = bson_new_from_json((const uint8_t *)indexes[i].json, -1, &e);
		if (!key)
			return fail(h, DDB_INTERNAL, err, "%s: index %s: %s", op, indexes[i].name,
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
		enum ddb_status st = db_command(h, c, &cmd, 0, op, err);
		bson_destroy(&cmd);
		bson_destroy(key);
		if (st != DDB_OK)
			return st;
	}
	return DDB_OK;
}

/* Read-only: the collections a read-write open creates for every role
 * served (those with indexes) are there, so a run has set the database up. */
static enum ddb_status verify_collections(struct mg *h, mongoc_client_t *c, const char *op,
                                          struct ddb_err *err)
{
	mongoc_database_t *db = mongoc_client_get_database(c, h->db);
	bson_error_t e;
	char **names = mongoc_database_get_collection_names_with_opts(db, NULL, &e);
	mongoc_database_destroy(db);
	if (!names)
		return db_fail(h, op, &e, err);
	enum ddb_status st = DDB_OK;
	for (size_t i = 0; st == DDB_OK && i < sizeof indexes / sizeof indexes[0]; i++) {
		if (!(h->roles & indexes[i].role))
			continue;
		int found = 0;
		for (char **n = names; *n && !found; n++)
			found = strcmp(*n, indexes[i].coll) == 0;
		if (!found)
			st = fail(h, DDB_NOT_FOUND, err, "%s: database %s has no collection %s: not a "
			          "store set up by a run (a read-only open creates none)", op, h->db,
			          indexes[i].coll);
	}
	bson_strfreev(names);
	return st;
}

static enum ddb_status recover(struct mg *h, mongoc_client_t *c, struct ddb_err *err);

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

static enum ddb_status mg_open(const struct ddb_open_args *args, void **handle,
                               struct ddb_err *err)
{
	static const char op[] = "open";
	if (!handle)
		return fail(NULL, DDB_INVALID, err, "%s: no handle pointer", op);
	*handle = NULL;
	if (!args || !args->node)
		return fail(NULL, DDB_INVALID, err, "%s: no node name", op);
	if (args->roles == 0 || (args->roles & ~(unsigned)ALL_ROLES))
		return fail(NULL, DDB_INVALID, err, "%s: %s: unknown roles %#x", op, args->node,
		            args->roles);
	if (ddb_field_len(args->node, DDB_NAME_MAX) <= 0)
		return fail(NULL, DDB_INVALID, err, "%s: node name empty or too long", op);
	pthread_once(&init_once, global_init);

	const char *uri_s = ddb_option_get(args, "uri", "mongodb://127.0.0.1:27017/");
	const char *database = ddb_option_get(args, "database", NULL);
	const char *prefix = ddb_option_get(args, "database_prefix", "ddbsim_");
	const char *journal_s = ddb_option_get(args, "journal", "yes");
	int journal;
	if (parse_bool(journal_s, &journal) != 0)
		return fail(NULL, DDB_INVALID, err, "%s: %s: journal = '%s': want yes or no", op,
		            args->node, journal_s);

	struct mg *h = calloc(1, sizeof *h);
	if (!h)
		return fail(NULL, DDB_INTERNAL, err, "%s: out of memory", op);
	h->wc_sure = bson_new();
	memcpy(h->node, args->node, strlen(args->node) + 1);
	h->roles = args->roles;
	h->readonly = (args->flags & DDB_OPEN_READONLY) != 0;
	int n = database ? snprintf(h->db, sizeof h->db, "%s", database)
	                 : snprintf(h->db, sizeof h->db, "%s%s", prefix, args->node);
	if (n < 0 || (size_t)n >= sizeof h->db || !valid_db_name(h->db)) {
		enum ddb_status st = fail(NULL, DDB_INVALID, err,
		                          "%s: node %s: '%s%s' is no MongoDB database name (at most "
		                          "%d bytes, none of /\\. \"$*<>:|?): set database",
		                          op, args->node, database ? "" : prefix,
		                          database ? database : args->node, DB_NAME_MAX - 1);
		mg_close(h);
		return st;
	}

	bson_error_t e;
	h->uri = mongoc_uri_new_with_error(uri_s, &e);
	if (!h->uri) {
		enum ddb_status st =
		    fail(NULL, DDB_INVALID, err, "%s: node %s: uri: %s", op, args->node, e.message);
		mg_close(h);
		return st;
	}
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
	if (!h->pool) {
		enum ddb_status st =
		    fail(NULL, DDB_INVALID, err, "%s: node %s: %s", op, args->node, e.message);
		mg_close(h);
		return st;
	}
	mongoc_client_pool_set_error_api(h->pool, MONGOC_ERROR_API_VERSION_2);

	/* Reachable?  Then the indexes, and the recovery of what a crash left. */
	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	bson_t ping = BSON_INITIALIZER;
	BSON_APPEND_INT32(&ping, "ping", 1);
	enum ddb_status st = DDB_OK;
	if (!mongoc_client_command_simple(c, "admin", &ping, NULL, NULL, &e))
		st = fail(h, status_of(&e), err, "%s: cannot reach the server of %s: %s", op,
		          mongoc_uri_get_string(h->uri), e.message);
	bson_destroy(&ping);
	if (st == DDB_OK && h->readonly)
		st = verify_collections(h, c, op, err);
	else if (st == DDB_OK)
		st = ensure_indexes(h, c, op, err);
	if (st == DDB_OK && !h->readonly && (h->roles & DDB_ROLE_REGIONAL))
		st = recover(h, c, err);
	mongoc_client_pool_push(h->pool, c);
	if (st != DDB_OK) {
		mg_close(h);
		return st;
	}
	*handle = h;
	return DDB_OK;
}

static enum ddb_status mg_reset(void *handle, struct ddb_err *err)
{
	static const char op[] = "reset";
	struct mg *h = handle;
	if (!h)
		return fail(NULL, DDB_INVALID, err, "%s: no handle", op);
	if (h->readonly)
		return fail(h, DDB_INVALID, err, "%s: opened read-only", op);
	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = DDB_OK;
	for (size_t i = 0; st == DDB_OK && i < sizeof collections / sizeof collections[0]; i++) {
		if (!(h->roles & collections[i].role))
			continue;
		bson_t cmd = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&cmd, "drop", collections[i].name);
		st = db_command(h, c, &cmd, 26 /* NamespaceNotFound */, op, err);
		bson_destroy(&cmd);
	}
	if (st == DDB_OK)
		st = ensure_indexes(h, c, op, err);
	if (st == DDB_OK)
		h->recover = 0;
	mongoc_client_pool_push(h->pool, c);
	return st;
}

/* ---- regional: intents and recovery ---------------------------------------- */

static void new_batch_id(char id[BATCH_ID_LEN])
{
	bson_oid_t oid;
	bson_oid_init(&oid, NULL);
	bson_oid_to_string(&oid, id);
}

/* Gives back the stock every hold of batch b took, each hold once, and
 * deletes the batch's order claims. */
static enum ddb_status rollback(struct mg *h, mongoc_client_t *c, const char *b,
                                struct ddb_err *err)
{
	static const char op[] = "recovery: roll back";
	bson_t filter = BSON_INITIALIZER, proj = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	BSON_APPEND_UTF8(&filter, "holds.b", b);
	BSON_APPEND_INT32(&proj, "holds", 1);
	BSON_APPEND_DOCUMENT(&opts, "projection", &proj);
	mongoc_collection_t *col = coll_of(h, c, C_INVENTORY);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
	const bson_t *doc;
	enum ddb_status st = DDB_OK;
	/* Collected first: no writes while the cursor is open. */
	struct give {
		char sku[DDB_SKU_MAX];
		int64_t q;
	} *gives = NULL;
	size_t n = 0, cap = 0;
	while (st == DDB_OK && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it, arr;
		char sku[DDB_SKU_MAX];
		if (read_str(doc, "_id", sku, sizeof sku) || !bson_iter_init_find(&it, doc, "holds") ||
		    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
			continue;
		while (bson_iter_next(&arr)) {
			bson_t el;
			const uint8_t *data;
			uint32_t len;
			char hb[BATCH_ID_LEN];
			int64_t q = 0;
			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &len, &data);
			if (!bson_init_static(&el, data, len) || read_str(&el, "b", hb, sizeof hb) ||
			    strcmp(hb, b) != 0 || read_i64(&el, "q", &q))
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				struct give *g = realloc(gives, cap * sizeof *g);
				if (!g) {
					st = fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
					break;
				}
				gives = g;
			}
			memcpy(gives[n].sku, sku, sizeof sku);
			gives[n++].q = q;
		}
	}
	bson_error_t e;
	if (st == DDB_OK && mongoc_cursor_error(cur, &e))
		st = db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(&filter);
	bson_destroy(&proj);
	bson_destroy(&opts);

	for (size_t i = 0; st == DDB_OK && i < n; i++) {
		/* Conditional on this very hold: given back once, whoever
		 * rolls back and however often. */
		bson_t sel = BSON_INITIALIZER, match, elem, upd = BSON_INITIALIZER, inc, pull, pb;
		BSON_APPEND_UTF8(&sel, "_id", gives[i].sku);
		BSON_APPEND_DOCUMENT_BEGIN(&sel, "holds", &match);
		BSON_APPEND_DOCUMENT_BEGIN(&match, "$elemMatch", &elem);
		BSON_APPEND_UTF8(&elem, "b", b);
		BSON_APPEND_INT64(&elem, "q", gives[i].q);
		bson_append_document_end(&match, &elem);
		bson_append_document_end(&sel, &match);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$inc", &inc);
		BSON_APPEND_INT64(&inc, "stock", gives[i].q);
		bson_append_document_end(&upd, &inc);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$pull", &pull);
		BSON_APPEND_DOCUMENT_BEGIN(&pull, "holds", &pb);
		BSON_APPEND_UTF8(&pb, "b", b);
		bson_append_document_end(&pull, &pb);
		bson_append_document_end(&upd, &pull);
		st = update_one(h, c, C_INVENTORY, &sel, &upd, 0, 0, NULL, NULL, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	free(gives);
	if (st == DDB_OK && n > 0)
		failpoint("rollback:given");
	if (st == DDB_OK) {
		bson_t claims = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&claims, "t", b);
		st = delete_many(h, c, C_ORDERS, &claims, 0, op, err);
		bson_destroy(&claims);
	}
	return st;
}

/* Makes a committed intent take effect; every step is idempotent, so this
 * may run any number of times, from the writer or from recovery. */
static enum ddb_status finish(struct mg *h, mongoc_client_t *c, const bson_t *intent,
                              struct ddb_err *err)
{
	static const char op[] = "finish";
	char b[BATCH_ID_LEN], kind[16], origin[DDB_NAME_MAX];
	int64_t created = 0;
	if (read_str(intent, "_id", b, sizeof b) || read_str(intent, "kind", kind, sizeof kind) ||
	    read_str(intent, "origin", origin, sizeof origin))
		return fail(h, DDB_INTERNAL, err, "%s: an intent document is malformed", op);
	enum ddb_status st = DDB_OK;
	bson_iter_t it, arr;

	if (strcmp(kind, "product") == 0) {
		bson_t pd;
		struct ddb_product p;
		int64_t seq = 0;
		if (read_doc(intent, "product", &pd) || fill_product(&pd, "sku", &p) ||
		    read_i64(intent, "seq", &seq) || read_i64(intent, "created_at_us", &created))
			return fail(h, DDB_INTERNAL, err, "%s: intent %s is malformed", op, b);
		/* The product, if this version is newer than the stored one. */
		struct cond_op cop = { .key = p.sku, .version = p.version };
		bson_t lt, set;
		cop.sel = bson_new();
		cop.upd = bson_new();
		BSON_APPEND_UTF8(cop.sel, "_id", p.sku);
		BSON_APPEND_DOCUMENT_BEGIN(cop.sel, "version", &lt);
		BSON_APPEND_INT64(&lt, "$lt", p.version);
		bson_append_document_end(cop.sel, &lt);
		BSON_APPEND_DOCUMENT_BEGIN(cop.upd, "$set", &set);
		append_product(&set, &p, 0);
		bson_append_document_end(cop.upd, &set);
		int dup;
		st = cond_upserts(h, c, C_PRODUCTS, &cop, 1, 0, &dup, op, err);
		bson_destroy(cop.sel);
		bson_destroy(cop.upd);
		if (st == DDB_OK)
			failpoint("finish:product");
		/* Its inventory row, stock 0, unless it has one. */
		if (st == DDB_OK) {
			bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, soi;
			BSON_APPEND_UTF8(&sel, "_id", p.sku);
			BSON_APPEND_DOCUMENT_BEGIN(&upd, "$setOnInsert", &soi);
			BSON_APPEND_INT64(&soi, "stock", 0);
			BSON_APPEND_INT64(&soi, "received", 0);
			BSON_APPEND_INT64(&soi, "sold", 0);
			bson_append_document_end(&upd, &soi);
			int d;
			st = update_one(h, c, C_INVENTORY, &sel, &upd, 1, 0, NULL, &d, op, err);
			bson_destroy(&sel);
			bson_destroy(&upd);
		}
		/* Its event. */
		if (st == DDB_OK) {
			bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, soi, sub;
			BSON_APPEND_INT64(&sel, "_id", seq);
			BSON_APPEND_DOCUMENT_BEGIN(&upd, "$setOnInsert", &soi);
			BSON_APPEND_UTF8(&soi, "origin", origin);
			BSON_APPEND_INT32(&soi, "kind", DDB_EVENT_PRODUCT);
			BSON_APPEND_INT32(&soi, "state", DDB_OUTBOX_NEW);
			BSON_APPEND_INT64(&soi, "created_at_us", created);
			BSON_APPEND_DOCUMENT_BEGIN(&soi, "product", &sub);
			append_product(&sub, &p, 1);
			bson_append_document_end(&soi, &sub);
			bson_append_document_end(&upd, &soi);
			int d;
			st = update_one(h, c, C_OUTBOX, &sel, &upd, 1, 0, NULL, &d, op, err);
			bson_destroy(&sel);
			bson_destroy(&upd);
		}
	} else if (strcmp(kind, "orders") == 0) {
		/* Order claims made final, and one event per order. */
		struct bulk ko, ke;
		bulk_begin(h, c, C_ORDERS, 0, &ko);
		bulk_begin(h, c, C_OUTBOX, 0, &ke);
		int bad = !bson_iter_init_find(&it, intent, "orders") || !BSON_ITER_HOLDS_ARRAY(&it) ||
		          !bson_iter_recurse(&it, &arr);
		while (!bad && bson_iter_next(&arr)) {
			bson_t el;
			const uint8_t *data;
			uint32_t len;
			struct ddb_order o;
			int64_t seq = 0;
			if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
				bad = 1;
				break;
			}
			bson_iter_document(&arr, &len, &data);
			if (!bson_init_static(&el, data, len) || fill_order(&el, "id", "sku", &o) ||
			    read_i64(&el, "seq", &seq)) {
				bad = 1;
				break;
			}
			bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, unset;
			BSON_APPEND_UTF8(&sel, "_id", o.id);
			BSON_APPEND_UTF8(&sel, "t", b);
			BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
			append_order(&set, &o, 0);
			bson_append_document_end(&upd, &set);
			BSON_APPEND_DOCUMENT_BEGIN(&upd, "$unset", &unset);
			BSON_APPEND_UTF8(&unset, "t", "");
			bson_append_document_end(&upd, &unset);
			bulk_update(&ko, &sel, &upd, 0);
			bson_destroy(&sel);
			bson_destroy(&upd);

			bson_t esel = BSON_INITIALIZER, eupd = BSON_INITIALIZER, soi, sub;
			BSON_APPEND_INT64(&esel, "_id", seq);
			BSON_APPEND_DOCUMENT_BEGIN(&eupd, "$setOnInsert", &soi);
			BSON_APPEND_UTF8(&soi, "origin", origin);
			BSON_APPEND_INT32(&soi, "kind", DDB_EVENT_ORDER);
			BSON_APPEND_INT32(&soi, "state", DDB_OUTBOX_NEW);
			BSON_APPEND_INT64(&soi, "created_at_us", o.placed_at_us);
			BSON_APPEND_DOCUMENT_BEGIN(&soi, "order", &sub);
			append_order(&sub, &o, 1);
			bson_append_document_end(&soi, &sub);
			bson_append_document_end(&eupd, &soi);
			bulk_update(&ke, &esel, &eupd, 1);
			bson_destroy(&esel);
			bson_destroy(&eupd);
		}
		if (bad) {
			bulk_end(h, &ko, NULL, op, NULL);
			bulk_end(h, &ke, NULL, op, NULL);
			return fail(h, DDB_INTERNAL, err, "%s: intent %s is malformed", op, b);
		}
		st = bulk_end(h, &ko, NULL, op, err);
		if (st == DDB_OK)
			failpoint("finish:orders");
		enum ddb_status st2 = bulk_end(h, &ke, NULL, op, st == DDB_OK ? err : NULL);
		if (st == DDB_OK)
			st = st2;
		if (st == DDB_OK)
			failpoint("finish:events");
		/* The holds become sales: each once, conditional on the hold. */
		if (st == DDB_OK && bson_iter_init_find(&it, intent, "holds") &&
		    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
			while (st == DDB_OK && bson_iter_next(&arr)) {
				bson_t el;
				const uint8_t *data;
				uint32_t len;
				char sku[DDB_SKU_MAX];
				int64_t q = 0;
				if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
					continue;
				bson_iter_document(&arr, &len, &data);
				if (!bson_init_static(&el, data, len) ||
				    read_str(&el, "sku", sku, sizeof sku) || read_i64(&el, "q", &q))
					continue;
				bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, inc, pull, pb;
				BSON_APPEND_UTF8(&sel, "_id", sku);
				BSON_APPEND_UTF8(&sel, "holds.b", b);
				BSON_APPEND_DOCUMENT_BEGIN(&upd, "$inc", &inc);
				BSON_APPEND_INT64(&inc, "sold", q);
				bson_append_document_end(&upd, &inc);
				BSON_APPEND_DOCUMENT_BEGIN(&upd, "$pull", &pull);
				BSON_APPEND_DOCUMENT_BEGIN(&pull, "holds", &pb);
				BSON_APPEND_UTF8(&pb, "b", b);
				bson_append_document_end(&pull, &pb);
				bson_append_document_end(&upd, &pull);
				st = update_one(h, c, C_INVENTORY, &sel, &upd, 0, 0, NULL, NULL, op, err);
				bson_destroy(&sel);
				bson_destroy(&upd);
			}
		}
	} else {
		return fail(h, DDB_INTERNAL, err, "%s: intent %s of unknown kind '%s'", op, b, kind);
	}
	if (st == DDB_OK)
		failpoint("finish:done");
	/* Done: the intent goes. */
	if (st == DDB_OK) {
		bson_t sel = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&sel, "_id", b);
		st = delete_many(h, c, C_INTENTS, &sel, 0, op, err);
		bson_destroy(&sel);
	}
	return st;
}

/* Decides the fate of batch b, which has left claims or holds: aborted,
 * unless it is committed already (then it is finished).  The decision is
 * the insert of an intent under the batch's id: whoever inserts first, the
 * writer ("committed") or this ("aborted"), wins. */
static enum ddb_status settle(struct mg *h, mongoc_client_t *c, const char *b, int *committed,
                              struct ddb_err *err)
{
	static const char op[] = "recovery";
	bson_t doc = BSON_INITIALIZER;
	BSON_APPEND_UTF8(&doc, "_id", b);
	BSON_APPEND_UTF8(&doc, "state", "aborted");
	int dup;
	enum ddb_status st = insert_one(h, c, C_INTENTS, &doc, 1, &dup, NULL, op, err);
	bson_destroy(&doc);
	*committed = 0;
	if (st != DDB_OK)
		return st;
	if (!dup)
		failpoint("settle:aborted");
	if (dup) {
		bson_t sel = BSON_INITIALIZER, *found = NULL;
		BSON_APPEND_UTF8(&sel, "_id", b);
		st = find_one(h, c, C_INTENTS, &sel, &found, op, err);
		bson_destroy(&sel);
		if (st != DDB_OK)
			return st;
		char state[16] = "";
		if (found)
			read_str(found, "state", state, sizeof state);
		if (found && strcmp(state, "committed") == 0) {
			*committed = 1;
			st = finish(h, c, found, err);
			bson_destroy(found);
			return st;
		}
		if (found)
			bson_destroy(found);
	}
	st = rollback(h, c, b, err);
	if (st == DDB_OK) {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
		BSON_APPEND_UTF8(&sel, "_id", b);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
		BSON_APPEND_BOOL(&set, "cleaned", true);
		bson_append_document_end(&upd, &set);
		st = update_one(h, c, C_INTENTS, &sel, &upd, 0, 0, NULL, NULL, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	return st;
}

/* A list of batch ids. */
struct idlist {
	char (*v)[BATCH_ID_LEN];
	size_t n, cap;
};

static int idlist_add(struct idlist *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], id) == 0)
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		char(*grown)[BATCH_ID_LEN] = realloc(l->v, cap * sizeof *grown);
		if (!grown)
			return -1;
		l->v = grown;
		l->cap = cap;
	}
	snprintf(l->v[l->n++], BATCH_ID_LEN, "%s", id);
	return 0;
}

/* Adds to l the batch ids found at key (a string, or an array of {b}) in
 * the documents of coll that filter selects. */
static enum ddb_status collect_batches(struct mg *h, mongoc_client_t *c, const char *coll,
                                       const char *filter_json, const char *key,
                                       struct idlist *l, struct ddb_err *err)
{
	static const char op[] = "recovery: scan";
	bson_error_t e;
	bson_t *filter = bson_new_from_json((const uint8_t *)filter_json, -1, &e);
	if (!filter)
		return fail(h, DDB_INTERNAL, err, "%s: %s", op, e.message);
	bson_t opts = BSON_INITIALIZER, proj;
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, key, 1);
	bson_append_document_end(&opts, &proj);
	mongoc_collection_t *col = coll_of(h, c, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, &opts, NULL);
	const bson_t *doc;
	enum ddb_status st = DDB_OK;
	while (st == DDB_OK && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it, arr;
		char id[BATCH_ID_LEN];
		if (read_str(doc, key, id, sizeof id) == 0) {
			if (idlist_add(l, id) != 0)
				st = fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
		} else if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_ARRAY(&it) &&
		           bson_iter_recurse(&it, &arr)) {
			while (st == DDB_OK && bson_iter_next(&arr)) {
				bson_t el;
				const uint8_t *data;
				uint32_t len;
				if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
					continue;
				bson_iter_document(&arr, &len, &data);
				if (bson_init_static(&el, data, len) && read_str(&el, "b", id, sizeof id) == 0 &&
				    idlist_add(l, id) != 0)
					st = fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
			}
		}
	}
	if (st == DDB_OK && mongoc_cursor_error(cur, &e))
		st = db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(&opts);
	bson_destroy(filter);
	return st;
}

/* What a crash (of this process or another) left between two steps:
 * committed intents are finished, aborted ones cleaned, and batches with
 * claims or holds but no intent are aborted. */
static enum ddb_status recover(struct mg *h, mongoc_client_t *c, struct ddb_err *err)
{
	static const char op[] = "recovery";
	struct idlist l = { 0 };
	enum ddb_status st =
	    collect_batches(h, c, C_INTENTS, "{\"state\": \"committed\"}", "_id", &l, err);
	for (size_t i = 0; st == DDB_OK && i < l.n; i++) {
		bson_t sel = BSON_INITIALIZER, *found = NULL;
		BSON_APPEND_UTF8(&sel, "_id", l.v[i]);
		st = find_one(h, c, C_INTENTS, &sel, &found, op, err);
		bson_destroy(&sel);
		if (st == DDB_OK && found) {
			st = finish(h, c, found, err);
			bson_destroy(found);
		}
	}
	l.n = 0;
	if (st == DDB_OK)
		st = collect_batches(h, c, C_INTENTS,
		                     "{\"state\": \"aborted\", \"cleaned\": {\"$ne\": true}}", "_id",
		                     &l, err);
	if (st == DDB_OK)
		st = collect_batches(h, c, C_ORDERS, "{\"t\": {\"$exists\": true}}", "t", &l, err);
	if (st == DDB_OK)
		st = collect_batches(h, c, C_INVENTORY,
		                     "{\"holds\": {\"$elemMatch\": {\"b\": {\"$exists\": true}}}}",
		                     "holds", &l, err);
	for (size_t i = 0; st == DDB_OK && i < l.n; i++) {
		int committed;
		st = settle(h, c, l.v[i], &committed, err);
	}
	free(l.v);
	if (st == DDB_OK)
		h->recover = 0;
	return st;
}

/* Before a regional operation: recovery, when something may wait for it. */
static enum ddb_status regional_ready(struct mg *h, mongoc_client_t *c, struct ddb_err *err)
{
	return h->recover ? recover(h, c, err) : DDB_OK;
}

/* Commits an intent (its insert is the commit point) and finishes it.
 * *committed says whether it took effect, whatever the return: a call may
 * fail after the commit (OK is then still the honest answer, the rest is
 * recovery's), and a lost connection during the insert is resolved by
 * reading or, failing that, aborting under the same id. */
static enum ddb_status commit(struct mg *h, mongoc_client_t *c, const bson_t *intent,
                              const char *b, int *committed, const char *op,
                              struct ddb_err *err)
{
	int dup, unknown;
	*committed = 0;
	enum ddb_status st = insert_one(h, c, C_INTENTS, intent, 1, &dup, &unknown, op, err);
	if (st == DDB_OK && !dup) {
		*committed = 1;
		failpoint(strcmp(op, "upsert_product") == 0 ? "product:committed" : "place:committed");
	} else if (dup || unknown) {
		/* Aborted by a recovery meanwhile, or the insert's fate is
		 * unknown: settle decides, once and for all. */
		struct ddb_err e2 = { "" };
		enum ddb_status s2 = settle(h, c, b, committed, &e2);
		if (s2 != DDB_OK) {
			h->recover = 1;
			if (st == DDB_OK) {
				st = s2;
				if (err)
					*err = e2;
			}
			return st;
		}
		if (*committed)
			return DDB_OK; /* settle finished it */
		return fail(h, DDB_UNAVAILABLE, err,
		            "%s: the batch was aborted before its commit (a recovery ran, or the "
		            "connection was lost): nothing of it was committed",
		            op);
	}
	if (st != DDB_OK) {
		h->recover = 1;
		return st;
	}
	/* Committed: finishing is idempotent; if it fails now, recovery
	 * finishes it before the next regional operation. */
	struct ddb_err e2 = { "" };
	if (finish(h, c, intent, &e2) != DDB_OK)
		h->recover = 1;
	return DDB_OK;
}

/* ---- regional: products and stock --------------------------------------------- */

static enum ddb_status mg_upsert_product(void *handle, const struct ddb_product *product,
                                         int64_t now_us, struct ddb_err *err)
{
	static const char op[] = "upsert_product";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!product)
		return fail(h, DDB_INVALID, err, "%s: no product", op);
	const char *why = ddb_product_problem(product);
	if (why)
		return fail(h, DDB_INVALID, err, "%s: %.*s: %s", op, DDB_SKU_MAX - 1, product->sku,
		            why);

	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = regional_ready(h, c, err);
	bson_t sel = BSON_INITIALIZER, *found = NULL;
	BSON_APPEND_UTF8(&sel, "_id", product->sku);
	if (st == DDB_OK)
		st = find_one(h, c, C_PRODUCTS, &sel, &found, op, err);
	bson_destroy(&sel);
	int64_t stored = 0;
	if (st == DDB_OK && found && read_i64(found, "version", &stored) == 0 &&
	    stored >= product->version)
		st = fail(h, DDB_DUPLICATE, err, "%s: %s: version %lld is stored, not older than %lld",
		          op, product->sku, (long long)stored, (long long)product->version);
	if (found)
		bson_destroy(found);
	int64_t seq = 0;
	if (st == DDB_OK)
		st = next_seqs(h, c, 1, &seq, op, err);
	if (st == DDB_OK)
		failpoint("product:numbered");
	if (st == DDB_OK) {
		char b[BATCH_ID_LEN];
		new_batch_id(b);
		bson_t intent = BSON_INITIALIZER, sub;
		BSON_APPEND_UTF8(&intent, "_id", b);
		BSON_APPEND_UTF8(&intent, "state", "committed");
		BSON_APPEND_UTF8(&intent, "kind", "product");
		BSON_APPEND_UTF8(&intent, "origin", h->node);
		BSON_APPEND_INT64(&intent, "seq", seq);
		BSON_APPEND_INT64(&intent, "created_at_us", now_us);
		BSON_APPEND_DOCUMENT_BEGIN(&intent, "product", &sub);
		append_product(&sub, product, 1);
		bson_append_document_end(&intent, &sub);
		int committed;
		st = commit(h, c, &intent, b, &committed, op, err);
		bson_destroy(&intent);
	}
	mongoc_client_pool_push(h->pool, c);
	return st;
}

static enum ddb_status mg_restock(void *handle, const char *sku, int64_t quantity,
                                  struct ddb_err *err)
{
	static const char op[] = "restock";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = sku ? ddb_field_len(sku, DDB_SKU_MAX) : -1;
	if (len <= 0)
		return fail(h, DDB_INVALID, err, "%s: empty sku, or longer than %d bytes", op,
		            DDB_SKU_MAX - 1);
	if (quantity < 1)
		return fail(h, DDB_INVALID, err, "%s: %s: quantity %lld must be at least 1", op, sku,
		            (long long)quantity);

	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = regional_ready(h, c, err);
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
		st = update_one(h, c, C_INVENTORY, &sel, &upd, 0, 1, &matched, NULL, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
		if (st == DDB_OK && matched == 0) {
			bson_t q = BSON_INITIALIZER, *found = NULL;
			BSON_APPEND_UTF8(&q, "_id", sku);
			st = find_one(h, c, C_INVENTORY, &q, &found, op, err);
			bson_destroy(&q);
			if (st == DDB_OK)
				st = found ? fail(h, DDB_INVALID, err,
				                  "%s: %s: restocking %lld would overflow the stock", op,
				                  sku, (long long)quantity)
				           : fail(h, DDB_NOT_FOUND, err, "%s: %s: no such product", op, sku);
			if (found)
				bson_destroy(found);
		}
	}
	mongoc_client_pool_push(h->pool, c);
	return st;
}

/* ---- regional: orders -------------------------------------------------------- */

struct keyed {
	const char *key;
	size_t i;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Groups equal keys: group[i] for each i of keys, and the number of groups;
 * first[g] is the first i of group g.  keys[i] == NULL: no group (-1). */
static size_t group_keys(const char **keys, size_t n, long *group, size_t *first)
{
	struct keyed *k = malloc((n ? n : 1) * sizeof *k);
	if (!k)
		return (size_t)-1;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		group[i] = -1;
		if (keys[i])
			k[m++] = (struct keyed){ keys[i], i };
	}
	qsort(k, m, sizeof *k, cmp_keyed);
	size_t groups = 0;
	for (size_t j = 0; j < m; j++) {
		if (j == 0 || strcmp(k[j].key, k[j - 1].key) != 0)
			first[groups++] = k[j].i;
		group[k[j].i] = (long)groups - 1;
	}
	free(k);
	return groups;
}

struct batch {
	size_t n;
	long *id_group;   /* per order: its id's group (-1: invalid order) */
	size_t *id_first; /* per id group: its first order */
	size_t n_ids;
	unsigned char *id_exists;  /* per id group: stored before the batch */
	unsigned char *id_claimed; /* per id group: claimed by this batch */
	unsigned char *id_taken;   /* per id group: an order of it is OK */
	long *sku_group;
	size_t *sku_first;
	size_t n_skus;
	unsigned char *sku_found;
	int64_t *stock, *take;
	unsigned char *held; /* per sku group: its hold is in place */
};

static void batch_free(struct batch *p)
{
	free(p->id_group);
	free(p->id_first);
	free(p->id_exists);
	free(p->id_claimed);
	free(p->id_taken);
	free(p->sku_group);
	free(p->sku_first);
	free(p->sku_found);
	free(p->stock);
	free(p->take);
	free(p->held);
}

static int batch_init(struct batch *p, const struct ddb_order *o, size_t n,
                      const enum ddb_status *results)
{
	memset(p, 0, sizeof *p);
	p->n = n;
	const char **keys = malloc(n * sizeof *keys);
	p->id_group = malloc(n * sizeof *p->id_group);
	p->id_first = malloc(n * sizeof *p->id_first);
	p->sku_group = malloc(n * sizeof *p->sku_group);
	p->sku_first = malloc(n * sizeof *p->sku_first);
	p->id_exists = calloc(n, 1);
	p->id_claimed = calloc(n, 1);
	p->id_taken = calloc(n, 1);
	p->sku_found = calloc(n, 1);
	p->held = calloc(n, 1);
	p->stock = calloc(n, sizeof *p->stock);
	p->take = calloc(n, sizeof *p->take);
	int bad = !keys || !p->id_group || !p->id_first || !p->sku_group || !p->sku_first ||
	          !p->id_exists || !p->id_claimed || !p->id_taken || !p->sku_found || !p->held ||
	          !p->stock || !p->take;
	if (!bad) {
		for (size_t i = 0; i < n; i++)
			keys[i] = results[i] == DDB_INVALID ? NULL : o[i].id;
		p->n_ids = group_keys(keys, n, p->id_group, p->id_first);
		for (size_t i = 0; i < n; i++)
			keys[i] = results[i] == DDB_INVALID ? NULL : o[i].sku;
		p->n_skus = group_keys(keys, n, p->sku_group, p->sku_first);
		bad = p->n_ids == (size_t)-1 || p->n_skus == (size_t)-1;
	}
	free(keys);
	if (bad)
		batch_free(p);
	return bad ? -1 : 0;
}

/* Claims each order id of the batch: an order document {_id, t: b}.  A
 * duplicate key: the id is taken (an order, or another batch's claim). */
static enum ddb_status claim_ids(struct mg *h, mongoc_client_t *c, const struct ddb_order *o,
                                 struct batch *p, const char *b, const char *op,
                                 struct ddb_err *err)
{
	if (p->n_ids == 0)
		return DDB_OK;
	int32_t *codes = calloc(p->n_ids, sizeof *codes);
	if (!codes)
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	struct bulk k;
	bulk_begin(h, c, C_ORDERS, 0, &k);
	for (size_t g = 0; g < p->n_ids; g++) {
		bson_t doc = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&doc, "_id", o[p->id_first[g]].id);
		BSON_APPEND_UTF8(&doc, "t", b);
		bulk_insert(&k, &doc);
		bson_destroy(&doc);
	}
	enum ddb_status st = bulk_end(h, &k, codes, op, err);
	for (size_t g = 0; g < p->n_ids; g++) {
		p->id_exists[g] = codes[g] == 11000;
		p->id_claimed[g] = st == DDB_OK && codes[g] == 0;
	}
	free(codes);
	return st;
}

/* The stock of every sku of the batch, now. */
static enum ddb_status read_stock(struct mg *h, mongoc_client_t *c, const struct ddb_order *o,
                                  struct batch *p, const char *op, struct ddb_err *err)
{
	memset(p->sku_found, 0, p->n_skus);
	if (p->n_skus == 0)
		return DDB_OK;
	bson_t filter = BSON_INITIALIZER, in, arr, opts = BSON_INITIALIZER, proj;
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &in);
	BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
	for (size_t g = 0; g < p->n_skus; g++) {
		char idx[16];
		const char *key;
		bson_uint32_to_string((uint32_t)g, &key, idx, sizeof idx);
		BSON_APPEND_UTF8(&arr, key, o[p->sku_first[g]].sku);
	}
	bson_append_array_end(&in, &arr);
	bson_append_document_end(&filter, &in);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "stock", 1);
	bson_append_document_end(&opts, &proj);
	mongoc_collection_t *col = coll_of(h, c, C_INVENTORY);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
	const bson_t *doc;
	while (mongoc_cursor_next(cur, &doc)) {
		char sku[DDB_SKU_MAX];
		int64_t stock = 0;
		if (read_str(doc, "_id", sku, sizeof sku) || read_i64(doc, "stock", &stock))
			continue;
		for (size_t g = 0; g < p->n_skus; g++)
			if (strcmp(o[p->sku_first[g]].sku, sku) == 0) {
				p->sku_found[g] = 1;
				p->stock[g] = stock;
			}
	}
	bson_error_t e;
	enum ddb_status st = mongoc_cursor_error(cur, &e) ? db_fail(h, op, &e, err) : DDB_OK;
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return st;
}

/* Each order in batch order against the stock read: results[i], and what
 * each sku gives (take). */
static void simulate(const struct ddb_order *o, struct batch *p, enum ddb_status *results,
                     const unsigned char *invalid)
{
	memset(p->id_taken, 0, p->n_ids);
	for (size_t g = 0; g < p->n_skus; g++)
		p->take[g] = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (invalid[i]) {
			results[i] = DDB_INVALID;
			continue;
		}
		long ig = p->id_group[i], sg = p->sku_group[i];
		if (p->id_exists[ig] || p->id_taken[ig])
			results[i] = DDB_DUPLICATE;
		else if (!p->sku_found[sg])
			results[i] = DDB_NOT_FOUND;
		else if (o[i].quantity > p->stock[sg] - p->take[sg])
			results[i] = DDB_INSUFFICIENT;
		else {
			results[i] = DDB_OK;
			p->take[sg] += o[i].quantity;
			p->id_taken[ig] = 1;
		}
	}
}

/* Takes the stock of sku group g: one conditional update, the decrement
 * and the hold together.  *ok 0: the stock changed since it was read. */
static enum ddb_status take_hold(struct mg *h, mongoc_client_t *c, const char *sku, int64_t q,
                                 const char *b, int *ok, const char *op, struct ddb_err *err)
{
	bson_t sel = BSON_INITIALIZER, gte, upd = BSON_INITIALIZER, inc, push, hold;
	BSON_APPEND_UTF8(&sel, "_id", sku);
	BSON_APPEND_DOCUMENT_BEGIN(&sel, "stock", &gte);
	BSON_APPEND_INT64(&gte, "$gte", q);
	bson_append_document_end(&sel, &gte);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$inc", &inc);
	BSON_APPEND_INT64(&inc, "stock", -q);
	bson_append_document_end(&upd, &inc);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$push", &push);
	BSON_APPEND_DOCUMENT_BEGIN(&push, "holds", &hold);
	BSON_APPEND_UTF8(&hold, "b", b);
	BSON_APPEND_INT64(&hold, "q", q);
	bson_append_document_end(&push, &hold);
	bson_append_document_end(&upd, &push);
	int64_t matched = 0;
	enum ddb_status st = update_one(h, c, C_INVENTORY, &sel, &upd, 0, 0, &matched, NULL, op, err);
	*ok = st == DDB_OK && matched == 1;
	bson_destroy(&sel);
	bson_destroy(&upd);
	return st;
}

static void append_str_array(bson_t *parent, const char *key, const char **v, size_t n)
{
	bson_t arr;
	BSON_APPEND_ARRAY_BEGIN(parent, key, &arr);
	for (size_t i = 0; i < n; i++) {
		char idx[16];
		const char *k;
		bson_uint32_to_string((uint32_t)i, &k, idx, sizeof idx);
		BSON_APPEND_UTF8(&arr, k, v[i]);
	}
	bson_append_array_end(parent, &arr);
}

/* The body of place_orders once the orders are validated: see the top of
 * this file.  Any failure before the commit leaves nothing committed (what
 * was written is rolled back here, or by recovery). */
static enum ddb_status place(struct mg *h, mongoc_client_t *c, const struct ddb_order *o,
                             size_t n, enum ddb_status *results, const unsigned char *invalid,
                             struct ddb_err *err)
{
	static const char op[] = "place_orders";
	struct batch p;
	if (batch_init(&p, o, n, results) != 0)
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	char b[BATCH_ID_LEN];
	new_batch_id(b);
	const char **release = malloc((n ? n : 1) * sizeof *release);
	enum ddb_status st = release ? DDB_OK : fail(h, DDB_INTERNAL, err, "%s: out of memory", op);

	/* 1. Claims. */
	if (st == DDB_OK)
		st = claim_ids(h, c, o, &p, b, op, err);
	if (st == DDB_OK)
		failpoint("place:claimed");
	/* 2. Stock: read, decide, take with conditional updates; if the
	 * stock moved meanwhile (another writer), give back and again. */
	int placed = 0;
	for (int attempt = 0; st == DDB_OK && !placed; attempt++) {
		if (attempt == HOLD_ATTEMPTS) {
			st = fail(h, DDB_UNAVAILABLE, err,
			          "%s: the stock kept changing under %d attempts: try again", op,
			          HOLD_ATTEMPTS);
			break;
		}
		st = read_stock(h, c, o, &p, op, err);
		if (st != DDB_OK)
			break;
		simulate(o, &p, results, invalid);
		placed = 1;
		for (size_t g = 0; st == DDB_OK && placed && g < p.n_skus; g++) {
			if (p.take[g] == 0)
				continue;
			int ok;
			st = take_hold(h, c, o[p.sku_first[g]].sku, p.take[g], b, &ok, op, err);
			if (st == DDB_OK && !ok)
				placed = 0;
			else if (st == DDB_OK)
				p.held[g] = 1;
		}
		if (st == DDB_OK && !placed) {
			st = rollback(h, c, b, err);
			/* rollback deleted the claims too: claim again. */
			memset(p.held, 0, p.n_skus);
			if (st == DDB_OK)
				st = claim_ids(h, c, o, &p, b, op, err);
		}
	}
	/* 3. Claims no order of the batch uses go. */
	size_t n_release = 0, n_ok = 0;
	if (st == DDB_OK)
		failpoint("place:held");
	if (st == DDB_OK) {
		for (size_t g = 0; g < p.n_ids; g++)
			if (p.id_claimed[g] && !p.id_taken[g])
				release[n_release++] = o[p.id_first[g]].id;
		for (size_t i = 0; i < n; i++)
			n_ok += results[i] == DDB_OK;
		if (n_release > 0) {
			bson_t sel = BSON_INITIALIZER, in;
			BSON_APPEND_DOCUMENT_BEGIN(&sel, "_id", &in);
			append_str_array(&in, "$in", release, n_release);
			bson_append_document_end(&sel, &in);
			BSON_APPEND_UTF8(&sel, "t", b);
			st = delete_many(h, c, C_ORDERS, &sel, 0, op, err);
			bson_destroy(&sel);
		}
	}
	if (st == DDB_OK)
		failpoint("place:released");
	/* 4. Numbers, 5. the commit, 6. finishing. */
	int64_t seq = 0;
	if (st == DDB_OK && n_ok > 0)
		st = next_seqs(h, c, (int64_t)n_ok, &seq, op, err);
	if (st == DDB_OK && n_ok > 0)
		failpoint("place:numbered");
	if (st == DDB_OK && n_ok > 0) {
		bson_t intent = BSON_INITIALIZER, arr, el;
		BSON_APPEND_UTF8(&intent, "_id", b);
		BSON_APPEND_UTF8(&intent, "state", "committed");
		BSON_APPEND_UTF8(&intent, "kind", "orders");
		BSON_APPEND_UTF8(&intent, "origin", h->node);
		BSON_APPEND_ARRAY_BEGIN(&intent, "orders", &arr);
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (results[i] != DDB_OK)
				continue;
			char idx[16];
			const char *key;
			bson_uint32_to_string((uint32_t)k, &key, idx, sizeof idx);
			bson_append_document_begin(&arr, key, -1, &el);
			append_order(&el, &o[i], 1);
			BSON_APPEND_INT64(&el, "seq", seq + (int64_t)k);
			bson_append_document_end(&arr, &el);
			k++;
		}
		bson_append_array_end(&intent, &arr);
		BSON_APPEND_ARRAY_BEGIN(&intent, "holds", &arr);
		k = 0;
		for (size_t g = 0; g < p.n_skus; g++) {
			if (!p.held[g])
				continue;
			char idx[16];
			const char *key;
			bson_uint32_to_string((uint32_t)k++, &key, idx, sizeof idx);
			bson_append_document_begin(&arr, key, -1, &el);
			BSON_APPEND_UTF8(&el, "sku", o[p.sku_first[g]].sku);
			BSON_APPEND_INT64(&el, "q", p.take[g]);
			bson_append_document_end(&arr, &el);
		}
		bson_append_array_end(&intent, &arr);
		int committed;
		st = commit(h, c, &intent, b, &committed, op, err);
		bson_destroy(&intent);
		free(release);
		batch_free(&p);
		return st;
	}
	if (st != DDB_OK) {
		/* Nothing committed: undo what was written, or leave it to
		 * recovery. */
		struct ddb_err e2 = { "" };
		if (rollback(h, c, b, &e2) != DDB_OK)
			h->recover = 1;
	}
	free(release);
	batch_free(&p);
	return st;
}

static enum ddb_status mg_place_orders(void *handle, const struct ddb_order *orders, size_t n,
                                       enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "place_orders";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!orders || !results)
		return fail(h, DDB_INVALID, err, "%s: no orders or no results array", op);
	unsigned char *invalid = calloc(n, 1);
	if (!invalid)
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	for (size_t i = 0; i < n; i++) {
		invalid[i] = ddb_order_problem(&orders[i]) != NULL;
		results[i] = invalid[i] ? DDB_INVALID : DDB_OK;
	}
	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = regional_ready(h, c, err);
	if (st == DDB_OK)
		st = place(h, c, orders, n, results, invalid, err);
	mongoc_client_pool_push(h->pool, c);
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
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!n_out)
		return fail(h, DDB_INVALID, err, "%s: no count pointer", op);
	if (want_state < DDB_OUTBOX_NEW || want_state > DDB_OUTBOX_APPLIED)
		return fail(h, DDB_INVALID, err, "%s: unknown state %d", op, want_state);
	if (max == 0)
		return DDB_OK;
	if (!events)
		return fail(h, DDB_INVALID, err, "%s: no events array", op);

	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = regional_ready(h, c, err);
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
		mongoc_collection_t *col = coll_of(h, c, C_OUTBOX);
		mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
		const bson_t *doc;
		size_t k = 0;
		while (st == DDB_OK && k < max && mongoc_cursor_next(cur, &doc)) {
			if (fill_event(doc, &events[k]))
				st = fail(h, DDB_INTERNAL, err, "%s: an outbox document is malformed", op);
			else
				k++;
		}
		bson_error_t e;
		if (st == DDB_OK && mongoc_cursor_error(cur, &e))
			st = db_fail(h, op, &e, err);
		*n_out = st == DDB_OK ? k : 0;
		mongoc_cursor_destroy(cur);
		mongoc_collection_destroy(col);
		bson_destroy(&filter);
		bson_destroy(&opts);
	}
	mongoc_client_pool_push(h->pool, c);
	return st;
}

#define MARK_CHUNK 50000

static enum ddb_status mg_outbox_mark(void *handle, const int64_t *seqs, size_t n, int state,
                                      struct ddb_err *err)
{
	static const char op[] = "outbox_mark";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (state < DDB_OUTBOX_NEW || state > DDB_OUTBOX_APPLIED)
		return fail(h, DDB_INVALID, err, "%s: unknown state %d", op, state);
	if (n == 0)
		return DDB_OK;
	if (!seqs)
		return fail(h, DDB_INVALID, err, "%s: no seqs array", op);

	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = regional_ready(h, c, err);
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
		st = update_many(h, c, C_OUTBOX, &sel, &upd, 1, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	mongoc_client_pool_push(h->pool, c);
	return st;
}

static enum ddb_status mg_outbox_requeue(void *handle, struct ddb_err *err)
{
	static const char op[] = "outbox_requeue";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = regional_ready(h, c, err);
	if (st == DDB_OK) {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
		BSON_APPEND_INT32(&sel, "state", DDB_OUTBOX_PUBLISHED);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
		BSON_APPEND_INT32(&set, "state", DDB_OUTBOX_NEW);
		bson_append_document_end(&upd, &set);
		st = update_many(h, c, C_OUTBOX, &sel, &upd, 1, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	mongoc_client_pool_push(h->pool, c);
	return st;
}

/* ---- regional: customers ------------------------------------------------------ */

static enum ddb_status mg_put_customers(void *handle, const struct ddb_customer *customers,
                                        size_t n, enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "put_customers";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!customers || !results)
		return fail(h, DDB_INVALID, err, "%s: no customers or no results array", op);
	if (err)
		err->msg[0] = '\0';

	struct cond_op *ops = calloc(n, sizeof *ops);
	size_t *which = calloc(n, sizeof *which);
	int *dup = calloc(n, sizeof *dup);
	if (!ops || !which || !dup) {
		free(ops);
		free(which);
		free(dup);
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	}
	/* One conditional upsert per valid record, in batch order: a later
	 * record of the same id sees the earlier one as stored. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ddb_customer *cu = &customers[i];
		const char *why = ddb_customer_problem(cu);
		if (why) {
			if (err && !err->msg[0])
				fail(h, DDB_INVALID, err, "%s: customer %zu (%.*s): %s", op, i,
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
		append_customer(&set, cu);
		bson_append_document_end(co->upd, &set);
		which[m++] = i;
	}
	enum ddb_status st = DDB_OK;
	if (m > 0) {
		mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
		struct ddb_err e2 = { "" };
		st = cond_upserts(h, c, C_CUSTOMERS, ops, m, 0, dup, op, &e2);
		mongoc_client_pool_push(h->pool, c);
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
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = id ? ddb_field_len(id, DDB_NAME_MAX) : -1;
	if (len <= 0)
		return fail(h, DDB_INVALID, err, "%s: empty id, or longer than %d bytes", op,
		            DDB_NAME_MAX - 1);
	if (!out)
		return fail(h, DDB_INVALID, err, "%s: no record to fill", op);
	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	bson_t sel = BSON_INITIALIZER, *found = NULL;
	BSON_APPEND_UTF8(&sel, "_id", id);
	enum ddb_status st = find_one(h, c, C_CUSTOMERS, &sel, &found, op, err);
	bson_destroy(&sel);
	mongoc_client_pool_push(h->pool, c);
	if (st == DDB_OK && !found)
		st = fail(h, DDB_NOT_FOUND, err, "%s: %s: no such customer", op, id);
	else if (st == DDB_OK && fill_customer(found, out))
		st = fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op, id);
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
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!filter || !emit)
		return fail(h, DDB_INVALID, err, "%s: no filter or no emit function", op);
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
			return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
		}
		ascii_lower(lc, vals[i], len);
		BSON_APPEND_UTF8(&q, keys[i], lc);
		free(lc);
	}
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&opts, &sort);
	if (filter->limit > 0 && filter->limit <= (size_t)INT64_MAX)
		BSON_APPEND_INT64(&opts, "limit", (int64_t)filter->limit);

	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	mongoc_collection_t *col = coll_of(h, c, C_CUSTOMERS);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &q, &opts, NULL);
	const bson_t *doc;
	enum ddb_status st = DDB_OK;
	while (st == DDB_OK && mongoc_cursor_next(cur, &doc)) {
		struct ddb_customer cu;
		if (fill_customer(doc, &cu))
			st = fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op, cu.id);
		else
			emit(ctx, &cu);
	}
	bson_error_t e;
	if (st == DDB_OK && mongoc_cursor_error(cur, &e))
		st = db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	mongoc_client_pool_push(h->pool, c);
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
	if (!need_role(h, DDB_ROLE_CENTRAL, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!events)
		return fail(h, DDB_INVALID, err, "%s: no events array", op);
	/* One bad event fails the call before anything is written. */
	size_t n_products = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_event_problem(&events[i]);
		if (why)
			return fail(h, DDB_INVALID, err, "%s: event %zu (seq %lld): %s", op, i,
			            (long long)events[i].seq, why);
		n_products += events[i].kind == DDB_EVENT_PRODUCT;
	}

	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	/* Orders: inserted once by their global id, applied_at_us of the
	 * first application. */
	struct bulk k;
	bulk_begin(h, c, C_CORDERS, 1, &k);
	for (size_t i = 0; i < n; i++) {
		if (events[i].kind != DDB_EVENT_ORDER)
			continue;
		const struct ddb_order *o = &events[i].order;
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, soi;
		BSON_APPEND_UTF8(&sel, "_id", o->id);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$setOnInsert", &soi);
		append_order(&soi, o, 0);
		BSON_APPEND_INT64(&soi, "applied_at_us", applied_at_us);
		bson_append_document_end(&upd, &soi);
		bulk_update(&k, &sel, &upd, 1);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	int32_t *codes = calloc(n, sizeof *codes);
	enum ddb_status st = codes ? DDB_OK : fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	if (st == DDB_OK)
		/* A duplicate key: two upserts of one id raced; it is there. */
		st = bulk_end(h, &k, codes, op, err);
	else
		bulk_end(h, &k, NULL, op, NULL);
	free(codes);
	/* Products: a higher version replaces a lower one. */
	if (st == DDB_OK && n_products > 0) {
		struct cond_op *ops = calloc(n_products, sizeof *ops);
		int *dup = calloc(n_products, sizeof *dup);
		if (!ops || !dup) {
			st = fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
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
				append_product(&set, p, 0);
				bson_append_document_end(co->upd, &set);
			}
			st = cond_upserts(h, c, C_CPRODUCTS, ops, m, 0, dup, op, err);
			for (size_t j = 0; j < m; j++) {
				bson_destroy(ops[j].sel);
				bson_destroy(ops[j].upd);
			}
		}
		free(ops);
		free(dup);
	}
	mongoc_client_pool_push(h->pool, c);
	return st;
}

static enum ddb_status mg_sales_report(void *handle, int by,
                                       void (*emit)(void *ctx, const struct ddb_sales *line),
                                       void *ctx, struct ddb_err *err)
{
	static const char op[] = "sales_report";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_CENTRAL, op, err))
		return DDB_INVALID;
	if (!emit)
		return fail(h, DDB_INVALID, err, "%s: no emit function", op);
	const char *key = by == DDB_SALES_BY_REGION    ? "$region"
	                  : by == DDB_SALES_BY_PRODUCT ? "$sku"
	                                               : NULL;
	if (!key)
		return fail(h, DDB_INVALID, err, "%s: unknown grouping %d", op, by);

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

	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	mongoc_collection_t *col = coll_of(h, c, C_CORDERS);
	mongoc_cursor_t *cur =
	    mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, &pipeline, NULL, NULL);
	const bson_t *doc;
	enum ddb_status st = DDB_OK;
	while (st == DDB_OK && mongoc_cursor_next(cur, &doc)) {
		struct ddb_sales line;
		memset(&line, 0, sizeof line);
		if (read_str(doc, "_id", line.key, sizeof line.key) ||
		    read_i64(doc, "orders", &line.orders) || read_i64(doc, "units", &line.units) ||
		    read_i64(doc, "revenue", &line.revenue_cents))
			st = fail(h, DDB_INTERNAL, err, "%s: a line of the report does not fit", op);
		else
			emit(ctx, &line);
	}
	bson_error_t e;
	if (st == DDB_OK && mongoc_cursor_error(cur, &e))
		st = db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	mongoc_client_pool_push(h->pool, c);
	bson_destroy(&pipeline);
	return st;
}

/* ---- documents ------------------------------------------------------------------- */

static enum ddb_status mg_put_order_logs(void *handle, const struct ddb_order *orders, size_t n,
                                         int64_t logged_at_us, struct ddb_err *err)
{
	static const char op[] = "put_order_logs";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_DOCUMENTS, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!orders)
		return fail(h, DDB_INVALID, err, "%s: no orders array", op);
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_order_problem(&orders[i]);
		if (why)
			return fail(h, DDB_INVALID, err, "%s: order %zu: %s", op, i, why);
	}
	/* One document per order, keyed by the order id.  Inserted, all in one
	 * unordered bulk: the unique _id refuses a replayed order (a message
	 * delivered twice) with a duplicate key, and those are then upserted
	 * ($set: the same values again change nothing; logged_at_us stays the
	 * first).  An insert is the cheaper write, and a replay is rare. */
	int32_t *codes = calloc(n, sizeof *codes);
	if (!codes)
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = DDB_OK;
	size_t n_dup = n;
	for (int pass = 0; st == DDB_OK && n_dup > 0 && pass < 2; pass++) {
		struct bulk k;
		bulk_begin(h, c, C_LOGS, 1, &k);
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
				bulk_update(&k, &sel, &upd, 1);
				bson_destroy(&sel);
			} else {
				BSON_APPEND_INT64(&doc, "logged_at_us", logged_at_us);
				bulk_insert(&k, &doc);
			}
			bson_destroy(&doc);
			bson_destroy(&upd);
		}
		/* Pass 0: a duplicate key is a replay (codes[i] = 11000), any
		 * other failure fails the call.  Pass 1: none is expected. */
		st = bulk_end(h, &k, pass ? NULL : codes, op, err);
		n_dup = 0;
		if (!pass)
			for (size_t i = 0; i < n; i++)
				n_dup += codes[i] == 11000;
	}
	mongoc_client_pool_push(h->pool, c);
	free(codes);
	return st;
}

static enum ddb_status mg_put_components(void *handle, const struct ddb_product *products,
                                         size_t n, struct ddb_err *err)
{
	static const char op[] = "put_components";
	struct mg *h = handle;
	if (!need_role(h, DDB_ROLE_DOCUMENTS, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!products)
		return fail(h, DDB_INVALID, err, "%s: no products array", op);
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_product_problem(&products[i]);
		if (why)
			return fail(h, DDB_INVALID, err, "%s: product %zu: %s", op, i, why);
	}
	struct cond_op *ops = calloc(n, sizeof *ops);
	int *dup = calloc(n, sizeof *dup);
	if (!ops || !dup) {
		free(ops);
		free(dup);
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
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
		append_product(&set, p, 0);
		bson_append_document_end(co->upd, &set);
	}
	mongoc_client_t *c = mongoc_client_pool_pop(h->pool);
	enum ddb_status st = cond_upserts(h, c, C_COMPONENTS, ops, n, 1, dup, op, err);
	mongoc_client_pool_push(h->pool, c);
	for (size_t i = 0; i < n; i++) {
		bson_destroy(ops[i].sel);
		bson_destroy(ops[i].upd);
	}
	free(ops);
	free(dup);
	return st;
}

/* ---- scans --------------------------------------------------------------------- */

static const struct {
	unsigned role;
	const char *coll;
	int by_region; /* the region filter applies */
} scan_sets[] = {
	[DDB_DS_PRODUCTS] = { DDB_ROLE_REGIONAL, C_PRODUCTS, 0 },
	[DDB_DS_INVENTORY] = { DDB_ROLE_REGIONAL, C_INVENTORY, 0 },
	[DDB_DS_ORDERS] = { DDB_ROLE_REGIONAL, C_ORDERS, 1 },
	[DDB_DS_OUTBOX] = { DDB_ROLE_REGIONAL, C_OUTBOX, 0 },
	[DDB_DS_CENTRAL_PRODUCTS] = { DDB_ROLE_CENTRAL, C_CPRODUCTS, 0 },
	[DDB_DS_CENTRAL_ORDERS] = { DDB_ROLE_CENTRAL, C_CORDERS, 1 },
	[DDB_DS_ORDER_LOGS] = { DDB_ROLE_DOCUMENTS, C_LOGS, 1 },
	[DDB_DS_COMPONENTS] = { DDB_ROLE_DOCUMENTS, C_COMPONENTS, 0 },
	[DDB_DS_CUSTOMERS] = { DDB_ROLE_REGIONAL, C_CUSTOMERS, 0 },
};
#define N_DATASETS ((int)(sizeof scan_sets / sizeof scan_sets[0]))

static enum ddb_status mg_scan_open(void *handle, int dataset, const char *region,
                                    void **cursor, struct ddb_err *err)
{
	static const char op[] = "scan_open";
	struct mg *h = handle;
	if (!cursor)
		return fail(h, DDB_INVALID, err, "%s: no cursor pointer", op);
	*cursor = NULL;
	if (dataset < 1 || dataset >= N_DATASETS)
		return fail(h, DDB_INVALID, err, "%s: unknown dataset %d", op, dataset);
	if (!need_role(h, scan_sets[dataset].role, op, err))
		return DDB_INVALID;
	if (region && scan_sets[dataset].by_region && ddb_field_len(region, DDB_NAME_MAX) < 0)
		return fail(h, DDB_INVALID, err, "%s: region longer than %d bytes", op,
		            DDB_NAME_MAX - 1);

	struct mg_cursor *cu = calloc(1, sizeof *cu);
	if (!cu)
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	cu->h = h;
	cu->dataset = dataset;
	cu->client = mongoc_client_pool_pop(h->pool);
	if (scan_sets[dataset].role == DDB_ROLE_REGIONAL) {
		enum ddb_status st = regional_ready(h, cu->client, err);
		if (st != DDB_OK) {
			mongoc_client_pool_push(h->pool, cu->client);
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
	cu->coll = coll_of(h, cu->client, scan_sets[dataset].coll);
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
		return fail(cu ? cu->h : NULL, DDB_INVALID, err, "scan_next: no cursor or row");
	struct mg *h = cu->h;
	if (cu->done)
		return DDB_NOT_FOUND;
	const bson_t *doc;
	if (!mongoc_cursor_next(cu->cur, &doc)) {
		bson_error_t e;
		cu->done = 1;
		if (mongoc_cursor_error(cu->cur, &e))
			return db_fail(h, "scan", &e, err);
		return DDB_NOT_FOUND;
	}
	row->dataset = cu->dataset;
	row->applied_at_us = 0;
	int bad = 0;
	switch (cu->dataset) {
	case DDB_DS_PRODUCTS:
	case DDB_DS_CENTRAL_PRODUCTS:
	case DDB_DS_COMPONENTS:
		bad = fill_product(doc, "_id", &row->product);
		break;
	case DDB_DS_INVENTORY:
		memset(&row->stock, 0, sizeof row->stock);
		bad = read_str(doc, "_id", row->stock.sku, sizeof row->stock.sku) |
		      read_i64(doc, "stock", &row->stock.stock) |
		      read_i64(doc, "received", &row->stock.received) |
		      read_i64(doc, "sold", &row->stock.sold);
		break;
	case DDB_DS_ORDERS:
		bad = fill_order(doc, "_id", "sku", &row->order);
		break;
	case DDB_DS_CENTRAL_ORDERS:
		bad = fill_order(doc, "_id", "sku", &row->order) |
		      read_i64(doc, "applied_at_us", &row->applied_at_us);
		break;
	case DDB_DS_ORDER_LOGS:
		bad = fill_order(doc, "_id", "product", &row->order);
		break;
	case DDB_DS_OUTBOX:
		bad = fill_event(doc, &row->event);
		break;
	case DDB_DS_CUSTOMERS:
		bad = fill_customer(doc, &row->customer);
		break;
	}
	if (bad)
		return fail(h, DDB_INTERNAL, err, "scan: dataset %d: a stored document does not fit",
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
	mongoc_client_pool_push(cu->h->pool, cu->client);
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
	.caps = ALL_ROLES,
	.storage = &mongo_ops,
	.settings = option_keys,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &mongo_plugin;
}
