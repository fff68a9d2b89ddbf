/*
 * mongo_intent.c - the MongoDB storage plugin's intents: placing a batch of
 * orders and committing it (or a product) by one intent document, making a
 * committed intent take effect, rolling back a batch without one, and the
 * recovery that finishes or rolls back what a crash left.  doc/mongo.md says
 * it in full; in short:
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
 *
 * See mongo_int.h for how the plugin's files fit.
 */
#include "mongo_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOLD_ATTEMPTS 8

/* ---- regional: intents and recovery ---------------------------------------- */

void mgi_new_batch_id(char id[BATCH_ID_LEN])
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
	mongoc_collection_t *col = mgb_coll_of(h, c, C_INVENTORY);
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
		if (mgb_read_str(doc, "_id", sku, sizeof sku) || !bson_iter_init_find(&it, doc, "holds") ||
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
			if (!bson_init_static(&el, data, len) || mgb_read_str(&el, "b", hb, sizeof hb) ||
			    strcmp(hb, b) != 0 || mgb_read_i64(&el, "q", &q))
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				struct give *g = realloc(gives, cap * sizeof *g);
				if (!g) {
					st = mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
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
		st = mgb_db_fail(h, op, &e, err);
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
		st = mgb_update_one(h, c, C_INVENTORY, &sel, &upd, 0, 0, NULL, NULL, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	free(gives);
	if (st == DDB_OK && n > 0)
		mgb_failpoint("rollback:given");
	if (st == DDB_OK) {
		bson_t claims = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&claims, "t", b);
		st = mgb_delete_many(h, c, C_ORDERS, &claims, 0, op, err);
		bson_destroy(&claims);
	}
	return st;
}

/* finish, a product intent: the product if this version is newer than the
 * stored one, its inventory row (stock 0) unless it has one, its event. */
static enum ddb_status finish_product(struct mg *h, mongoc_client_t *c, const bson_t *intent,
                                      const char *b, const char *origin, struct ddb_err *err)
{
	static const char op[] = "finish";
	bson_t pd;
	struct ddb_product p;
	int64_t seq = 0, created = 0;
	if (mgb_read_doc(intent, "product", &pd) || mgb_fill_product(&pd, "sku", &p) ||
	    mgb_read_i64(intent, "seq", &seq) || mgb_read_i64(intent, "created_at_us", &created))
		return mgb_fail(h, DDB_INTERNAL, err, "%s: intent %s is malformed", op, b);
	struct cond_op cop = { .key = p.sku, .version = p.version };
	bson_t lt, set;
	cop.sel = bson_new();
	cop.upd = bson_new();
	BSON_APPEND_UTF8(cop.sel, "_id", p.sku);
	BSON_APPEND_DOCUMENT_BEGIN(cop.sel, "version", &lt);
	BSON_APPEND_INT64(&lt, "$lt", p.version);
	bson_append_document_end(cop.sel, &lt);
	BSON_APPEND_DOCUMENT_BEGIN(cop.upd, "$set", &set);
	mgb_append_product(&set, &p, 0);
	bson_append_document_end(cop.upd, &set);
	int dup;
	enum ddb_status st = mgb_cond_upserts(h, c, C_PRODUCTS, &cop, 1, 0, &dup, op, err);
	bson_destroy(cop.sel);
	bson_destroy(cop.upd);
	if (st == DDB_OK)
		mgb_failpoint("finish:product");
	if (st == DDB_OK) {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, soi;
		BSON_APPEND_UTF8(&sel, "_id", p.sku);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$setOnInsert", &soi);
		BSON_APPEND_INT64(&soi, "stock", 0);
		BSON_APPEND_INT64(&soi, "received", 0);
		BSON_APPEND_INT64(&soi, "sold", 0);
		bson_append_document_end(&upd, &soi);
		int d;
		st = mgb_update_one(h, c, C_INVENTORY, &sel, &upd, 1, 0, NULL, &d, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	if (st == DDB_OK) {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, soi, sub;
		BSON_APPEND_INT64(&sel, "_id", seq);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$setOnInsert", &soi);
		BSON_APPEND_UTF8(&soi, "origin", origin);
		BSON_APPEND_INT32(&soi, "kind", DDB_EVENT_PRODUCT);
		BSON_APPEND_INT32(&soi, "state", DDB_OUTBOX_NEW);
		BSON_APPEND_INT64(&soi, "created_at_us", created);
		BSON_APPEND_DOCUMENT_BEGIN(&soi, "product", &sub);
		mgb_append_product(&sub, &p, 1);
		bson_append_document_end(&soi, &sub);
		bson_append_document_end(&upd, &soi);
		int d;
		st = mgb_update_one(h, c, C_OUTBOX, &sel, &upd, 1, 0, NULL, &d, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	return st;
}

/* Queues order o of batch b made final (ko) and its event seq (ke). */
static void queue_order_final(struct bulk *ko, struct bulk *ke, const struct ddb_order *o,
                              int64_t seq, const char *b, const char *origin)
{
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, unset;
	BSON_APPEND_UTF8(&sel, "_id", o->id);
	BSON_APPEND_UTF8(&sel, "t", b);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	mgb_append_order(&set, o, 0);
	bson_append_document_end(&upd, &set);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$unset", &unset);
	BSON_APPEND_UTF8(&unset, "t", "");
	bson_append_document_end(&upd, &unset);
	mgb_bulk_update(ko, &sel, &upd, 0);
	bson_destroy(&sel);
	bson_destroy(&upd);

	bson_t esel = BSON_INITIALIZER, eupd = BSON_INITIALIZER, soi, sub;
	BSON_APPEND_INT64(&esel, "_id", seq);
	BSON_APPEND_DOCUMENT_BEGIN(&eupd, "$setOnInsert", &soi);
	BSON_APPEND_UTF8(&soi, "origin", origin);
	BSON_APPEND_INT32(&soi, "kind", DDB_EVENT_ORDER);
	BSON_APPEND_INT32(&soi, "state", DDB_OUTBOX_NEW);
	BSON_APPEND_INT64(&soi, "created_at_us", o->placed_at_us);
	BSON_APPEND_DOCUMENT_BEGIN(&soi, "order", &sub);
	mgb_append_order(&sub, o, 1);
	bson_append_document_end(&soi, &sub);
	bson_append_document_end(&eupd, &soi);
	mgb_bulk_update(ke, &esel, &eupd, 1);
	bson_destroy(&esel);
	bson_destroy(&eupd);
}

/* The holds of batch b become sales: each once, conditional on the hold. */
static enum ddb_status finish_holds(struct mg *h, mongoc_client_t *c, const bson_t *intent,
                                    const char *b, struct ddb_err *err)
{
	static const char op[] = "finish";
	enum ddb_status st = DDB_OK;
	bson_iter_t it, arr;
	if (!bson_iter_init_find(&it, intent, "holds") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return DDB_OK;
	while (st == DDB_OK && bson_iter_next(&arr)) {
		bson_t el;
		const uint8_t *data;
		uint32_t len;
		char sku[DDB_SKU_MAX];
		int64_t q = 0;
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &len, &data);
		if (!bson_init_static(&el, data, len) || mgb_read_str(&el, "sku", sku, sizeof sku) ||
		    mgb_read_i64(&el, "q", &q))
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
		st = mgb_update_one(h, c, C_INVENTORY, &sel, &upd, 0, 0, NULL, NULL, op, err);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	return st;
}

/* finish, an orders intent: the order claims made final and one event per
 * order, then the holds become sales. */
static enum ddb_status finish_orders(struct mg *h, mongoc_client_t *c, const bson_t *intent,
                                     const char *b, const char *origin, struct ddb_err *err)
{
	static const char op[] = "finish";
	bson_iter_t it, arr;
	struct bulk ko, ke;
	mgb_bulk_begin(h, c, C_ORDERS, 0, &ko);
	mgb_bulk_begin(h, c, C_OUTBOX, 0, &ke);
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
		if (!bson_init_static(&el, data, len) || mgb_fill_order(&el, "id", "sku", &o) ||
		    mgb_read_i64(&el, "seq", &seq)) {
			bad = 1;
			break;
		}
		queue_order_final(&ko, &ke, &o, seq, b, origin);
	}
	if (bad) {
		mgb_bulk_end(h, &ko, NULL, op, NULL);
		mgb_bulk_end(h, &ke, NULL, op, NULL);
		return mgb_fail(h, DDB_INTERNAL, err, "%s: intent %s is malformed", op, b);
	}
	enum ddb_status st = mgb_bulk_end(h, &ko, NULL, op, err);
	if (st == DDB_OK)
		mgb_failpoint("finish:orders");
	enum ddb_status st2 = mgb_bulk_end(h, &ke, NULL, op, st == DDB_OK ? err : NULL);
	if (st == DDB_OK)
		st = st2;
	if (st == DDB_OK)
		mgb_failpoint("finish:events");
	if (st == DDB_OK)
		st = finish_holds(h, c, intent, b, err);
	return st;
}

/* Makes a committed intent take effect; every step is idempotent, so this
 * may run any number of times, from the writer or from recovery. */
static enum ddb_status finish(struct mg *h, mongoc_client_t *c, const bson_t *intent,
                              struct ddb_err *err)
{
	static const char op[] = "finish";
	char b[BATCH_ID_LEN], kind[16], origin[DDB_NAME_MAX];
	if (mgb_read_str(intent, "_id", b, sizeof b) ||
	    mgb_read_str(intent, "kind", kind, sizeof kind) ||
	    mgb_read_str(intent, "origin", origin, sizeof origin))
		return mgb_fail(h, DDB_INTERNAL, err, "%s: an intent document is malformed", op);
	enum ddb_status st;
	if (strcmp(kind, "product") == 0)
		st = finish_product(h, c, intent, b, origin, err);
	else if (strcmp(kind, "orders") == 0)
		st = finish_orders(h, c, intent, b, origin, err);
	else
		return mgb_fail(h, DDB_INTERNAL, err, "%s: intent %s of unknown kind '%s'", op, b,
		                kind);
	if (st == DDB_OK)
		mgb_failpoint("finish:done");
	/* Done: the intent goes. */
	if (st == DDB_OK) {
		bson_t sel = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&sel, "_id", b);
		st = mgb_delete_many(h, c, C_INTENTS, &sel, 0, op, err);
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
	enum ddb_status st = mgb_insert_one(h, c, C_INTENTS, &doc, 1, &dup, NULL, op, err);
	bson_destroy(&doc);
	*committed = 0;
	if (st != DDB_OK)
		return st;
	if (!dup)
		mgb_failpoint("settle:aborted");
	if (dup) {
		bson_t sel = BSON_INITIALIZER, *found = NULL;
		BSON_APPEND_UTF8(&sel, "_id", b);
		st = mgb_find_one(h, c, C_INTENTS, &sel, &found, op, err);
		bson_destroy(&sel);
		if (st != DDB_OK)
			return st;
		char state[16] = "";
		if (found)
			mgb_read_str(found, "state", state, sizeof state);
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
		st = mgb_update_one(h, c, C_INTENTS, &sel, &upd, 0, 0, NULL, NULL, op, err);
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
		return mgb_fail(h, DDB_INTERNAL, err, "%s: %s", op, e.message);
	bson_t opts = BSON_INITIALIZER, proj;
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, key, 1);
	bson_append_document_end(&opts, &proj);
	mongoc_collection_t *col = mgb_coll_of(h, c, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, &opts, NULL);
	const bson_t *doc;
	enum ddb_status st = DDB_OK;
	while (st == DDB_OK && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it, arr;
		char id[BATCH_ID_LEN];
		if (mgb_read_str(doc, key, id, sizeof id) == 0) {
			if (idlist_add(l, id) != 0)
				st = mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
		} else if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_ARRAY(&it) &&
		           bson_iter_recurse(&it, &arr)) {
			while (st == DDB_OK && bson_iter_next(&arr)) {
				bson_t el;
				const uint8_t *data;
				uint32_t len;
				if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
					continue;
				bson_iter_document(&arr, &len, &data);
				if (bson_init_static(&el, data, len) &&
				    mgb_read_str(&el, "b", id, sizeof id) == 0 && idlist_add(l, id) != 0)
					st = mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
			}
		}
	}
	if (st == DDB_OK && mongoc_cursor_error(cur, &e))
		st = mgb_db_fail(h, op, &e, err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(&opts);
	bson_destroy(filter);
	return st;
}

/* What a crash (of this process or another) left between two steps:
 * committed intents are finished, aborted ones cleaned, and batches with
 * claims or holds but no intent are aborted. */
enum ddb_status mgi_recover(struct mg *h, mongoc_client_t *c, struct ddb_err *err)
{
	static const char op[] = "recovery";
	struct idlist l = { 0 };
	enum ddb_status st =
	    collect_batches(h, c, C_INTENTS, "{\"state\": \"committed\"}", "_id", &l, err);
	for (size_t i = 0; st == DDB_OK && i < l.n; i++) {
		bson_t sel = BSON_INITIALIZER, *found = NULL;
		BSON_APPEND_UTF8(&sel, "_id", l.v[i]);
		st = mgb_find_one(h, c, C_INTENTS, &sel, &found, op, err);
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
enum ddb_status mgi_regional_ready(struct mg *h, mongoc_client_t *c, struct ddb_err *err)
{
	return h->recover ? mgi_recover(h, c, err) : DDB_OK;
}

/* Commits an intent (its insert is the commit point) and finishes it.
 * *committed says whether it took effect, whatever the return: a call may
 * fail after the commit (OK is then still the honest answer, the rest is
 * recovery's), and a lost connection during the insert is resolved by
 * reading or, failing that, aborting under the same id. */
enum ddb_status mgi_commit(struct mg *h, mongoc_client_t *c, const bson_t *intent,
                           const char *b, int *committed, const char *op,
                           struct ddb_err *err)
{
	int dup, unknown;
	*committed = 0;
	enum ddb_status st = mgb_insert_one(h, c, C_INTENTS, intent, 1, &dup, &unknown, op, err);
	if (st == DDB_OK && !dup) {
		*committed = 1;
		mgb_failpoint(strcmp(op, "upsert_product") == 0 ? "product:committed" : "place:committed");
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
		return mgb_fail(h, DDB_UNAVAILABLE, err,
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
		return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	struct bulk k;
	mgb_bulk_begin(h, c, C_ORDERS, 0, &k);
	for (size_t g = 0; g < p->n_ids; g++) {
		bson_t doc = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&doc, "_id", o[p->id_first[g]].id);
		BSON_APPEND_UTF8(&doc, "t", b);
		mgb_bulk_insert(&k, &doc);
		bson_destroy(&doc);
	}
	enum ddb_status st = mgb_bulk_end(h, &k, codes, op, err);
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
	mongoc_collection_t *col = mgb_coll_of(h, c, C_INVENTORY);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
	const bson_t *doc;
	while (mongoc_cursor_next(cur, &doc)) {
		char sku[DDB_SKU_MAX];
		int64_t stock = 0;
		if (mgb_read_str(doc, "_id", sku, sizeof sku) || mgb_read_i64(doc, "stock", &stock))
			continue;
		for (size_t g = 0; g < p->n_skus; g++)
			if (strcmp(o[p->sku_first[g]].sku, sku) == 0) {
				p->sku_found[g] = 1;
				p->stock[g] = stock;
			}
	}
	bson_error_t e;
	enum ddb_status st = mongoc_cursor_error(cur, &e) ? mgb_db_fail(h, op, &e, err) : DDB_OK;
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
	enum ddb_status st =
	    mgb_update_one(h, c, C_INVENTORY, &sel, &upd, 0, 0, &matched, NULL, op, err);
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

/* place, step 2: reads the stock, decides, and takes it with conditional
 * updates; if the stock moved meanwhile (another writer), gives it back and
 * tries again. */
static enum ddb_status hold_stock(struct mg *h, mongoc_client_t *c, const struct ddb_order *o,
                                  struct batch *p, const char *b, enum ddb_status *results,
                                  const unsigned char *invalid, const char *op,
                                  struct ddb_err *err)
{
	enum ddb_status st = DDB_OK;
	int placed = 0;
	for (int attempt = 0; st == DDB_OK && !placed; attempt++) {
		if (attempt == HOLD_ATTEMPTS) {
			st = mgb_fail(h, DDB_UNAVAILABLE, err,
			              "%s: the stock kept changing under %d attempts: try again", op,
			              HOLD_ATTEMPTS);
			break;
		}
		st = read_stock(h, c, o, p, op, err);
		if (st != DDB_OK)
			break;
		simulate(o, p, results, invalid);
		placed = 1;
		for (size_t g = 0; st == DDB_OK && placed && g < p->n_skus; g++) {
			if (p->take[g] == 0)
				continue;
			int ok;
			st = take_hold(h, c, o[p->sku_first[g]].sku, p->take[g], b, &ok, op, err);
			if (st == DDB_OK && !ok)
				placed = 0;
			else if (st == DDB_OK)
				p->held[g] = 1;
		}
		if (st == DDB_OK && !placed) {
			st = rollback(h, c, b, err);
			/* rollback deleted the claims too: claim again. */
			memset(p->held, 0, p->n_skus);
			if (st == DDB_OK)
				st = claim_ids(h, c, o, p, b, op, err);
		}
	}
	return st;
}

/* The intent of batch b: the orders placed (results[i] OK), numbered from
 * seq, and the holds taken. */
static void orders_intent(bson_t *intent, const struct mg *h, const struct ddb_order *o,
                          size_t n, const enum ddb_status *results, const struct batch *p,
                          const char *b, int64_t seq)
{
	bson_t arr, el;
	BSON_APPEND_UTF8(intent, "_id", b);
	BSON_APPEND_UTF8(intent, "state", "committed");
	BSON_APPEND_UTF8(intent, "kind", "orders");
	BSON_APPEND_UTF8(intent, "origin", h->node);
	BSON_APPEND_ARRAY_BEGIN(intent, "orders", &arr);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (results[i] != DDB_OK)
			continue;
		char idx[16];
		const char *key;
		bson_uint32_to_string((uint32_t)k, &key, idx, sizeof idx);
		bson_append_document_begin(&arr, key, -1, &el);
		mgb_append_order(&el, &o[i], 1);
		BSON_APPEND_INT64(&el, "seq", seq + (int64_t)k);
		bson_append_document_end(&arr, &el);
		k++;
	}
	bson_append_array_end(intent, &arr);
	BSON_APPEND_ARRAY_BEGIN(intent, "holds", &arr);
	k = 0;
	for (size_t g = 0; g < p->n_skus; g++) {
		if (!p->held[g])
			continue;
		char idx[16];
		const char *key;
		bson_uint32_to_string((uint32_t)k++, &key, idx, sizeof idx);
		bson_append_document_begin(&arr, key, -1, &el);
		BSON_APPEND_UTF8(&el, "sku", o[p->sku_first[g]].sku);
		BSON_APPEND_INT64(&el, "q", p->take[g]);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(intent, &arr);
}

/* The body of place_orders once the orders are validated: see the top of
 * this file.  Any failure before the commit leaves nothing committed (what
 * was written is rolled back here, or by recovery). */
enum ddb_status mgi_place(struct mg *h, mongoc_client_t *c, const struct ddb_order *o,
                          size_t n, enum ddb_status *results, const unsigned char *invalid,
                          struct ddb_err *err)
{
	static const char op[] = "place_orders";
	struct batch p;
	if (batch_init(&p, o, n, results) != 0)
		return mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	char b[BATCH_ID_LEN];
	mgi_new_batch_id(b);
	const char **release = malloc((n ? n : 1) * sizeof *release);
	enum ddb_status st = release ? DDB_OK : mgb_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);

	/* 1. Claims. */
	if (st == DDB_OK)
		st = claim_ids(h, c, o, &p, b, op, err);
	if (st == DDB_OK)
		mgb_failpoint("place:claimed");
	/* 2. Stock. */
	if (st == DDB_OK)
		st = hold_stock(h, c, o, &p, b, results, invalid, op, err);
	/* 3. Claims no order of the batch uses go. */
	size_t n_release = 0, n_ok = 0;
	if (st == DDB_OK)
		mgb_failpoint("place:held");
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
			st = mgb_delete_many(h, c, C_ORDERS, &sel, 0, op, err);
			bson_destroy(&sel);
		}
	}
	if (st == DDB_OK)
		mgb_failpoint("place:released");
	/* 4. Numbers, 5. the commit, 6. finishing. */
	int64_t seq = 0;
	if (st == DDB_OK && n_ok > 0)
		st = mgb_next_seqs(h, c, (int64_t)n_ok, &seq, op, err);
	if (st == DDB_OK && n_ok > 0)
		mgb_failpoint("place:numbered");
	if (st == DDB_OK && n_ok > 0) {
		bson_t intent = BSON_INITIALIZER;
		orders_intent(&intent, h, o, n, results, &p, b, seq);
		int committed;
		st = mgi_commit(h, c, &intent, b, &committed, op, err);
		bson_destroy(&intent);
	} else if (st != DDB_OK) {
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

