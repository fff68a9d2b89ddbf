/*
 * engine_actions.c - the operations of serve's clients on the engine: an
 * order, the commit of a region's orders, a new product, a failure step and
 * its end, settling the sync.  Each runs at the engine clock's now; live.c
 * calls them once the clock has caught up with the wall, and the replay of
 * a recorded session calls the very same ones at the recorded times
 * (EV_ACTION), which is why the two end in the same state.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

/* ---- products ------------------------------------------------------------ */

static int compare_components(const void *a, const void *b)
{
	return strcmp(((const struct ddb_component *)a)->sku, ((const struct ddb_component *)b)->sku);
}

/* What a product must be before it reaches a store; -1 with field and err. */
static int product_invalid(const struct engine *e, const struct ddb_product *p,
                           const int64_t *stock, char *field, size_t fieldlen, char *err,
                           size_t errlen)
{
	if (!p->sku[0]) {
		copy_str(field, fieldlen, "sku");
		return errorf(err, errlen, "sku: must not be empty");
	}
	if (p->price_cents < 0 || p->price_cents > SCENARIO_PRICE_MAX_CENTS) {
		copy_str(field, fieldlen, "price");
		return errorf(err, errlen, "price: must be from 0 to %lld (currency units)",
		              (long long)(SCENARIO_PRICE_MAX_CENTS / 100));
	}
	if (p->n_components > DDB_COMPONENTS_MAX) {
		copy_str(field, fieldlen, "components");
		return errorf(err, errlen, "components: more than %d", DDB_COMPONENTS_MAX);
	}
	for (size_t i = 0; i < p->n_components; i++) {
		const struct ddb_component *c = &p->components[i];
		snprintf(field, fieldlen, "components.%s", c->sku);
		if (strcmp(c->sku, p->sku) == 0)
			return errorf(err, errlen, "%s: a product cannot be its own component", field);
		if (!catalog_find(&e->cat, c->sku))
			return errorf(err, errlen, "%s: not a product of the catalog", field);
		if (c->quantity < 1 || c->quantity > SCENARIO_UNITS_MAX)
			return errorf(err, errlen, "%s: must be from 1 to %lld", field,
			              (long long)SCENARIO_UNITS_MAX);
		for (size_t k = 0; k < i; k++)
			if (strcmp(p->components[k].sku, c->sku) == 0)
				return errorf(err, errlen, "%s: given twice", field);
	}
	int64_t units = 0;
	for (size_t r = 0; r < e->w.n_regions; r++) {
		snprintf(field, fieldlen, "stock.%s", e->w.regions[r].node->name);
		if (stock[r] < 0 || stock[r] > SCENARIO_UNITS_MAX)
			return errorf(err, errlen, "%s: must be from 0 to %lld", field,
			              (long long)SCENARIO_UNITS_MAX);
		units += stock[r]; /* at most 61 x 10^10: no overflow */
	}
	if (units > SCENARIO_UNITS_MAX - e->units_total) {
		copy_str(field, fieldlen, "stock");
		return errorf(err, errlen, "stock: the stock of every product in every region and the "
		              "restocks would add up to more than %lld units, the most a run may sell",
		              (long long)SCENARIO_UNITS_MAX);
	}
	field[0] = 0;
	return 0;
}

static void append_name(char *list, size_t size, const char *name, const char *why)
{
	size_t used = strlen(list);
	if (used < size)
		snprintf(list + used, size - used, "%s%s (%s)", used ? ", " : "", name, why);
}

int engine_add_product(struct engine *e, const struct ddb_product *p, const int64_t *stock,
                       struct product_added *out, char *field, size_t fieldlen, char *err,
                       size_t errlen)
{
	memset(out, 0, sizeof *out);
	field[0] = 0;
	if (product_invalid(e, p, stock, field, fieldlen, err, errlen) != 0)
		return -1;
	struct ddb_product q = *p;
	qsort(q.components, q.n_components, sizeof *q.components, compare_components);
	const struct ddb_product *old = catalog_find(&e->cat, q.sku);
	q.version = old ? old->version + 1 : 1;
	out->version = q.version;
	int64_t now = e->clock.now_us;
	e->w.faults.caller = NULL; /* a client's call */
	for (size_t r = 0; r < e->w.n_regions; r++) {
		struct store *s = &e->w.regions[r];
		struct ddb_err de = { "" };
		enum ddb_status st = store_upsert_product(s, &q, now, &de);
		if (st != DDB_OK && st != DDB_DUPLICATE) {
			append_name(out->skipped, sizeof out->skipped, s->node->name,
			            ddb_status_name(st));
			continue;
		}
		out->n_took++;
		if (stock[r] > 0 && (st = store_restock(s, q.sku, stock[r], &de)) != DDB_OK)
			append_name(out->unstocked, sizeof out->unstocked, s->node->name,
			            ddb_status_name(st));
		else if (stock[r] > 0)
			e->m->restocks++;
	}
	faults_take_latency(&e->w.faults);
	for (size_t r = 0; r < e->w.n_regions; r++)
		e->units_total += stock[r];
	if (out->n_took == 0)
		return 0; /* no region has it: the catalog stays as it was */
	if (catalog_put(&e->cat, &q) != 0) {
		e->out_of_memory = 1;
		return errorf(err, errlen, "out of memory");
	}
	return 0;
}
