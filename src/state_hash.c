/*
 * state_hash.c - FNV-1a (64 bit) over a canonical serialisation of every
 * row of every store.  Strings are hashed with their length, so field
 * boundaries cannot shift.
 */
#include "state_hash.h"

#include <stdlib.h>
#include <string.h>

#include "world.h"
#include "util.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static void mix(uint64_t *h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		*h ^= p[i];
		*h *= FNV_PRIME;
	}
}

static void mix_i64(uint64_t *h, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	mix(h, b, 8);
}

static void mix_str(uint64_t *h, const char *s)
{
	size_t n = strlen(s);
	mix_i64(h, (int64_t)n);
	mix(h, s, n);
}

static void mix_order(uint64_t *h, const struct ddb_order *o)
{
	mix_str(h, o->id);
	mix_str(h, o->region);
	mix_str(h, o->customer);
	mix_str(h, o->sku);
	mix_i64(h, o->quantity);
	mix_i64(h, o->unit_price_cents);
	mix_i64(h, o->placed_at_us);
}

static void mix_product(uint64_t *h, const struct ddb_product *p)
{
	mix_str(h, p->sku);
	mix_str(h, p->name);
	mix_i64(h, p->price_cents);
	mix_i64(h, p->version);
	mix_i64(h, (int64_t)p->n_components);
	for (size_t i = 0; i < p->n_components && i < DDB_COMPONENTS_MAX; i++) {
		mix_str(h, p->components[i].sku);
		mix_i64(h, p->components[i].quantity);
	}
}

static void mix_row(uint64_t *h, int dataset, const struct ddb_row *row)
{
	switch (dataset) {
	case DDB_DS_PRODUCTS:
	case DDB_DS_CENTRAL_PRODUCTS:
	case DDB_DS_COMPONENTS:
		mix_product(h, &row->product);
		break;
	case DDB_DS_INVENTORY:
		mix_str(h, row->stock.sku);
		mix_i64(h, row->stock.stock);
		mix_i64(h, row->stock.received);
		mix_i64(h, row->stock.sold);
		break;
	case DDB_DS_ORDERS:
	case DDB_DS_ORDER_LOGS:
		mix_order(h, &row->order);
		break;
	case DDB_DS_CENTRAL_ORDERS:
		mix_order(h, &row->order);
		mix_i64(h, row->applied_at_us);
		break;
	case DDB_DS_OUTBOX:
		mix_i64(h, row->event.seq);
		mix_str(h, row->event.id);
		mix_str(h, row->event.origin);
		mix_i64(h, row->event.kind);
		mix_i64(h, row->event.state);
		mix_i64(h, row->event.created_at_us);
		if (row->event.kind == DDB_EVENT_ORDER)
			mix_order(h, &row->event.order);
		else
			mix_product(h, &row->event.product);
		break;
	}
}

static int hash_dataset(uint64_t *h, struct store *s, int dataset, char *err, size_t errlen)
{
	void *cur = NULL;
	struct ddb_err e = { "" };
	struct ddb_row *row = malloc(sizeof *row);
	if (!row)
		return errorf(err, errlen, "out of memory");
	mix_str(h, s->node->name);
	mix_i64(h, dataset);
	int rc = 0;
	enum ddb_status st = store_scan_observed(s, dataset, NULL, &cur, &e);
	if (st != DDB_OK) {
		rc = errorf(err, errlen, "%s: scan: %s", s->node->name, e.msg);
	} else {
		while ((st = s->ops->scan_next(cur, row, &e)) == DDB_OK)
			mix_row(h, dataset, row);
		if (st != DDB_NOT_FOUND)
			rc = errorf(err, errlen, "%s: scan: %s", s->node->name, e.msg);
		s->ops->scan_close(cur);
	}
	free(row);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	const struct store *x = *(struct store *const *)a, *y = *(struct store *const *)b;
	return strcmp(x->node->name, y->node->name);
}

int state_hash(struct world *w, uint64_t *out, char *err, size_t errlen)
{
	uint64_t h = FNV_OFFSET;
	struct store **order = malloc((w->n_regions ? w->n_regions : 1) * sizeof *order);
	if (!order)
		return errorf(err, errlen, "out of memory");
	for (size_t i = 0; i < w->n_regions; i++)
		order[i] = &w->regions[i];
	qsort(order, w->n_regions, sizeof *order, compare_names);
	static const int regional[] = { DDB_DS_PRODUCTS, DDB_DS_INVENTORY, DDB_DS_ORDERS,
		                        DDB_DS_OUTBOX };
	static const int central[] = { DDB_DS_CENTRAL_PRODUCTS, DDB_DS_CENTRAL_ORDERS };
	static const int documents[] = { DDB_DS_ORDER_LOGS, DDB_DS_COMPONENTS };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < w->n_regions; i++)
		for (size_t d = 0; rc == 0 && d < ARRAY_LEN(regional); d++)
			rc = hash_dataset(&h, order[i], regional[d], err, errlen);
	for (size_t d = 0; rc == 0 && d < ARRAY_LEN(central); d++)
		rc = hash_dataset(&h, &w->central, central[d], err, errlen);
	for (size_t d = 0; rc == 0 && d < ARRAY_LEN(documents); d++)
		rc = hash_dataset(&h, &w->documents, documents[d], err, errlen);
	free(order);
	*out = h;
	return rc;
}
