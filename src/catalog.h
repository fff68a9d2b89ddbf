/*
 * catalog.h - the product catalog of a run: products keyed by SKU, each
 * with a price and components that must themselves be in the catalog, and
 * the initial stock of each product in each region.
 */
#ifndef DDBSIM_CATALOG_H
#define DDBSIM_CATALOG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "ddbsim/plugin.h"

struct scenario_info;
struct world;
struct metrics;

struct catalog {
	size_t n;
	struct ddb_product *products; /* sorted by sku (bytewise) */
};

/* Copies and checks the scenario's catalog: SKUs unique and non-empty,
 * prices non-negative, every component a product of the catalog, no product
 * its own component.  Errors name the SKU. */
int catalog_build(struct catalog *c, const struct scenario_info *si, char *err, size_t errlen);
void catalog_free(struct catalog *c);
const struct ddb_product *catalog_find(const struct catalog *c, const char *sku);
/* Adds p to the catalog, or replaces the product with its sku, keeping the
 * order by sku (serve adds products while it runs).  0, or -1 out of
 * memory (the catalog unchanged). */
int catalog_put(struct catalog *c, const struct ddb_product *p);

/* Writes every product and its initial stock to every region store. */
int catalog_install(struct world *w, const struct scenario_info *si,
                    int64_t now_us, char *err, size_t errlen);
/* The same, stopping between two products once *stop is set (stop may be
 * NULL): returns 1 then, with the catalog half installed. */
int catalog_install_until(struct world *w, const struct scenario_info *si, int64_t now_us,
                          const volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Restocks sku in a region; a refusal (region down, unknown sku) is counted
 * and reported, not fatal. */
void catalog_restock(struct world *w, struct metrics *m, const char *region, const char *sku,
                     int64_t quantity);

#endif
