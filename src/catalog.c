/*
 * catalog.c - checks the catalog of a scenario and writes it, with the
 * initial stock, to the regional stores.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "scenario.h"
#include "world.h"
#include "util.h"

static int compare_sku(const void *a, const void *b)
{
	return strcmp(((const struct ddb_product *)a)->sku, ((const struct ddb_product *)b)->sku);
}

int catalog_build(struct catalog *c, const struct scenario_info *si, char *err, size_t errlen)
{
	c->n = si->n_products;
	c->products = calloc(c->n ? c->n : 1, sizeof *c->products);
	if (!c->products)
		return errorf(err, errlen, "out of memory");
	memcpy(c->products, si->products, c->n * sizeof *c->products);
	qsort(c->products, c->n, sizeof *c->products, compare_sku);
	for (size_t i = 0; i < c->n; i++) {
		const struct ddb_product *p = &c->products[i];
		if (!p->sku[0])
			return errorf(err, errlen, "catalog: a product has an empty sku");
		if (i > 0 && strcmp(p->sku, c->products[i - 1].sku) == 0)
			return errorf(err, errlen, "catalog: sku '%s' appears twice", p->sku);
		if (p->price_cents < 0)
			return errorf(err, errlen, "catalog: %s: negative price", p->sku);
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct ddb_product *p = &c->products[i];
		for (size_t k = 0; k < p->n_components; k++) {
			const char *part = p->components[k].sku;
			if (strcmp(part, p->sku) == 0)
				return errorf(err, errlen, "catalog: %s: a product cannot be its own component",
				              p->sku);
			if (!catalog_find(c, part))
				return errorf(err, errlen,
				              "catalog: %s: component '%s' is not a product of the catalog",
				              p->sku, part);
			if (p->components[k].quantity < 1)
				return errorf(err, errlen, "catalog: %s: component '%s' needs a quantity >= 1",
				              p->sku, part);
		}
	}
	return 0;
}

void catalog_free(struct catalog *c)
{
	free(c->products);
	c->products = NULL;
	c->n = 0;
}

const struct ddb_product *catalog_find(const struct catalog *c, const char *sku)
{
	struct ddb_product key;
	if (copy_str(key.sku, sizeof key.sku, sku) != 0)
		return NULL;
	return bsearch(&key, c->products, c->n, sizeof *c->products, compare_sku);
}

int catalog_put(struct catalog *c, const struct ddb_product *p)
{
	struct ddb_product *old = (struct ddb_product *)catalog_find(c, p->sku);
	if (old) {
		*old = *p;
		return 0;
	}
	struct ddb_product *v = realloc(c->products, (c->n + 1) * sizeof *v);
	if (!v)
		return -1;
	c->products = v;
	size_t i = c->n;
	while (i > 0 && strcmp(v[i - 1].sku, p->sku) > 0) {
		v[i] = v[i - 1];
		i--;
	}
	v[i] = *p;
	c->n++;
	return 0;
}

int catalog_install(struct world *w, const struct scenario_info *si,
                    int64_t now_us, char *err, size_t errlen)
{
	return catalog_install_until(w, si, now_us, NULL, err, errlen);
}

int catalog_install_until(struct world *w, const struct scenario_info *si, int64_t now_us,
                          const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	for (size_t r = 0; r < w->n_regions; r++) {
		struct store *s = &w->regions[r];
		/* In the scenario's order, so the outbox order follows the script.
		 * The starting state is written straight to the plugin: a region
		 * that starts down (ddbsim node set) still has its catalog. */
		for (size_t i = 0; i < si->n_products; i++) {
			if (stop && *stop)
				return 1;
			struct ddb_err e = { "" };
			enum ddb_status st = s->ops->upsert_product(s->h, &si->products[i], now_us, &e);
			if (st != DDB_OK && st != DDB_DUPLICATE)
				return errorf(err, errlen, "region %s: product %s: %s (%s)", s->node->name,
				              si->products[i].sku, e.msg, ddb_status_name(st));
			int64_t qty = si->stock[r * si->n_products + i];
			if (qty <= 0)
				continue;
			st = s->ops->restock(s->h, si->products[i].sku, qty, &e);
			if (st != DDB_OK)
				return errorf(err, errlen, "region %s: stock of %s: %s (%s)", s->node->name,
				              si->products[i].sku, e.msg, ddb_status_name(st));
		}
	}
	return 0;
}

void catalog_restock(struct world *w, struct metrics *m, const char *region, const char *sku,
                     int64_t quantity)
{
	struct store *s = world_region(w, region);
	if (!s)
		return;
	struct ddb_err e = { "" };
	enum ddb_status st = store_restock(s, sku, quantity, &e);
	if (st == DDB_OK) {
		m->restocks++;
	} else {
		m->restocks_refused++;
		if (st == DDB_UNAVAILABLE)
			m->unavailable_calls++;
		else
			fprintf(stderr, "ddbsim: restock of %s in %s refused: %s\n", sku, region, e.msg);
	}
}
