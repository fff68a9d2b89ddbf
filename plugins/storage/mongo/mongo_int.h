/*
 * mongo_int.h - what the three files of the MongoDB storage plugin share:
 * the instance, the collection names, the BSON and driver helpers of
 * mongo_bson.c (prefix mgb_) and the intents of mongo_intent.c (prefix mgi_).
 * mongo.c holds the operations and the descriptor.  Private to the plugin:
 * nothing here is exported (the plugin exports ddbsim_plugin_entry only).
 */
#ifndef DDBSIM_MONGO_INT_H
#define DDBSIM_MONGO_INT_H

#include <ddbsim/plugin.h>
#include <ddbsim/validate.h>

#include <bson/bson.h>
#include <mongoc/mongoc.h>

#include <stddef.h>
#include <stdint.h>

#define DB_NAME_MAX 64 /* MongoDB: fewer than 64 bytes */
#define BATCH_ID_LEN 25 /* an ObjectId in hex, with the NUL */

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

/* An instance: one per open. */
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

/* A bulk write (unordered: every operation is tried), and the error code of
 * each operation afterwards (0: done). */
struct bulk {
	mongoc_collection_t *col;
	mongoc_bulk_operation_t *b;
	size_t n;
	int bad; /* an operation could not be added */
	bson_error_t e;
};

/* One conditional upsert for mgb_cond_upserts. */
struct cond_op {
	const char *key;
	int64_t version;
	bson_t *sel, *upd; /* bson_new(): see struct mg */
};

/* ---- mongo_bson.c: failpoints, errors, BSON, driver helpers ---------------- */

void mgb_failpoint(const char *name);

/* Returns st, with "mongo: DATABASE: MESSAGE" in err (h NULL: no
 * database): mgb_fail(h, st, err, fmt, ...). */
static inline const char *mgb_where(const struct mg *h)
{
	return h ? h->db : NULL;
}
#define mgb_fail(h, st, err, ...) ddb_fail((err), (st), "mongo", mgb_where(h), __VA_ARGS__)

enum ddb_status mgb_status_of(const bson_error_t *e);

enum ddb_status mgb_db_fail(const struct mg *h, const char *op, const bson_error_t *e,
                            struct ddb_err *err);

int mgb_need_args(const struct mg *h, unsigned role, int given, const char *missing,
                  const char *op, struct ddb_err *err);
int mgb_need_role(const struct mg *h, unsigned role, const char *op, struct ddb_err *err);

void mgb_append_order(bson_t *b, const struct ddb_order *o, int with_id);

void mgb_append_product(bson_t *b, const struct ddb_product *p, int with_sku);

void mgb_ascii_lower(char *dst, const char *src, size_t size);

void mgb_append_customer(bson_t *b, const struct ddb_customer *c);

int mgb_read_str(const bson_t *d, const char *key, char *dst, size_t size);

int mgb_read_i64(const bson_t *d, const char *key, int64_t *out);

int mgb_read_doc(const bson_t *d, const char *key, bson_t *out);

int mgb_fill_order(const bson_t *d, const char *id_key, const char *sku_key,
                   struct ddb_order *o);

int mgb_fill_product(const bson_t *d, const char *sku_key, struct ddb_product *p);

int mgb_fill_customer(const bson_t *d, struct ddb_customer *c);

int mgb_fill_event(const bson_t *d, struct ddb_event *ev);

mongoc_collection_t *mgb_coll_of(struct mg *h, mongoc_client_t *c, const char *name);

enum ddb_status mgb_update_one(struct mg *h, mongoc_client_t *c, const char *coll,
                               const bson_t *sel, const bson_t *upd, int upsert, int sure,
                               int64_t *matched, int *dup, const char *op,
                               struct ddb_err *err);

enum ddb_status mgb_update_many(struct mg *h, mongoc_client_t *c, const char *coll,
                                const bson_t *sel, const bson_t *upd, int sure,
                                const char *op, struct ddb_err *err);

enum ddb_status mgb_delete_many(struct mg *h, mongoc_client_t *c, const char *coll,
                                const bson_t *sel, int sure, const char *op,
                                struct ddb_err *err);

enum ddb_status mgb_insert_one(struct mg *h, mongoc_client_t *c, const char *coll,
                               const bson_t *doc, int sure, int *dup, int *unknown,
                               const char *op, struct ddb_err *err);

enum ddb_status mgb_find_one(struct mg *h, mongoc_client_t *c, const char *coll,
                             const bson_t *filter, bson_t **out, const char *op,
                             struct ddb_err *err);

void mgb_bulk_begin(struct mg *h, mongoc_client_t *c, const char *coll, int sure,
                    struct bulk *k);

void mgb_bulk_update(struct bulk *k, const bson_t *sel, const bson_t *upd, int upsert);

void mgb_bulk_insert(struct bulk *k, const bson_t *doc);

enum ddb_status mgb_bulk_end(struct mg *h, struct bulk *k, int32_t *codes, const char *op,
                             struct ddb_err *err);

enum ddb_status mgb_db_command(struct mg *h, mongoc_client_t *c, const bson_t *cmd,
                               int ignore_code, const char *op, struct ddb_err *err);

enum ddb_status mgb_next_seqs(struct mg *h, mongoc_client_t *c, int64_t n, int64_t *first,
                              const char *op, struct ddb_err *err);

enum ddb_status mgb_cond_upserts(struct mg *h, mongoc_client_t *c, const char *coll,
                                 struct cond_op *ops, size_t n, int inclusive, int *dup,
                                 const char *op, struct ddb_err *err);

void mgb_global_init(void);

enum ddb_status mgb_ensure_indexes(struct mg *h, mongoc_client_t *c, const char *op,
                                   struct ddb_err *err);

enum ddb_status mgb_verify_collections(struct mg *h, mongoc_client_t *c, const char *op,
                                       struct ddb_err *err);

enum ddb_status mgb_drop_collections(struct mg *h, mongoc_client_t *c, const char *op,
                                     struct ddb_err *err);

/* ---- mongo_intent.c: intents, rollback and recovery ------------------------ */

void mgi_new_batch_id(char id[BATCH_ID_LEN]);

enum ddb_status mgi_recover(struct mg *h, mongoc_client_t *c, struct ddb_err *err);

enum ddb_status mgi_regional_ready(struct mg *h, mongoc_client_t *c, struct ddb_err *err);

enum ddb_status mgi_commit(struct mg *h, mongoc_client_t *c, const bson_t *intent,
                           const char *b, int *committed, const char *op,
                           struct ddb_err *err);

enum ddb_status mgi_place(struct mg *h, mongoc_client_t *c, const struct ddb_order *o,
                          size_t n, enum ddb_status *results, const unsigned char *invalid,
                          struct ddb_err *err);

#endif
