/*
 * api_products.c - POST /api/v1/products: an admin adds a product (or the
 * next version of one) with its price, components and the stock of each
 * region.  The regions take it at once; their outboxes carry it to the
 * center and the components store (live_add_product).  A region that is
 * down is skipped and named in the answer.
 */
#include "api.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "live.h"
#include "scenario.h"
#include "world.h"
#include "util.h"

/* A SKU a client may choose: letters, digits and ._:- only. */
static int plain_sku(const char *s)
{
	return s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
	                       strlen(s);
}

/* The price: "price" in currency units or "price_cents", exactly one. */
static int read_price(const cJSON *o, int64_t *cents, char *err, size_t errlen)
{
	const cJSON *units = cJSON_GetObjectItemCaseSensitive(o, "price");
	const cJSON *whole = cJSON_GetObjectItemCaseSensitive(o, "price_cents");
	if (units && whole)
		return errorf(err, errlen, "give price (currency units) or price_cents, not both");
	if (whole)
		return api_field_int(o, "price_cents", API_REQUIRED, 0, SCENARIO_PRICE_MAX_CENTS, cents,
		                     err, errlen);
	if (!units)
		return errorf(err, errlen, "price is required (currency units; or price_cents)");
	if (!cJSON_IsNumber(units) || scenario_price_cents(units->valuedouble, cents) != 0)
		return errorf(err, errlen, "price must be a number from 0 to %lld (currency units)",
		              (long long)(SCENARIO_PRICE_MAX_CENTS / 100));
	return 0;
}

/* A map { NAME: integer, ... } of at most max entries, each from min to
 * SCENARIO_UNITS_MAX; each entry goes to put(). */
static int read_map(const cJSON *o, const char *name, int64_t min, size_t max,
                    int (*put)(void *ctx, const char *key, int64_t n, char *err, size_t errlen),
                    void *ctx, char *field, size_t fieldlen, char *err, size_t errlen)
{
	copy_str(field, fieldlen, name);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!m || cJSON_IsNull(m))
		return 0;
	if (!cJSON_IsObject(m))
		return errorf(err, errlen, "%s must be an object { NAME: quantity, ... }", name);
	size_t n = 0;
	for (const cJSON *v = m->child; v; v = v->next) {
		char msg[256];
		int64_t q;
		snprintf(field, fieldlen, "%s.%s", name, v->string);
		if (++n > max)
			return errorf(err, errlen, "%s: more than %zu entries", name, max);
		if (api_field_int(m, v->string, API_REQUIRED, min, SCENARIO_UNITS_MAX, &q, msg,
		                  sizeof msg) != 0)
			return errorf(err, errlen, "%s.%s", name, msg);
		if (put(ctx, v->string, q, err, errlen) != 0)
			return -1;
	}
	return 0;
}

struct stock_ctx {
	struct world *w;
	int64_t *stock;
};

static int put_stock(void *ctx, const char *region, int64_t n, char *err, size_t errlen)
{
	struct stock_ctx *sc = ctx;
	struct store *s = world_region(sc->w, region);
	if (!s)
		return errorf(err, errlen, "stock: no region called '%s'", region);
	sc->stock[s - sc->w->regions] = n;
	return 0;
}

static int put_component(void *ctx, const char *sku, int64_t n, char *err, size_t errlen)
{
	struct ddb_product *p = ctx;
	struct ddb_component *c = &p->components[p->n_components];
	if (copy_str(c->sku, sizeof c->sku, sku) != 0)
		return errorf(err, errlen, "components: sku '%.40s...' is too long", sku);
	c->quantity = n;
	p->n_components++;
	return 0;
}

static cJSON *product_json(const struct ddb_product *p, const struct product_added *out,
                           const int64_t *stock, struct world *w)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "sku", p->sku);
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddNumberToObject(o, "price_cents", (double)p->price_cents);
	cJSON_AddNumberToObject(o, "version", (double)out->version);
	cJSON *c = cJSON_AddObjectToObject(o, "components");
	for (size_t i = 0; c && i < p->n_components; i++)
		cJSON_AddNumberToObject(c, p->components[i].sku, (double)p->components[i].quantity);
	cJSON *s = cJSON_AddObjectToObject(o, "stock");
	for (size_t r = 0; s && r < w->n_regions; r++)
		if (stock[r] > 0)
			cJSON_AddNumberToObject(s, w->regions[r].node->name, (double)stock[r]);
	cJSON_AddNumberToObject(o, "regions", (double)out->n_took);
	if (out->skipped[0])
		cJSON_AddStringToObject(o, "skipped", out->skipped);
	if (out->unstocked[0])
		cJSON_AddStringToObject(o, "unstocked", out->unstocked);
	return o;
}

enum http_outcome api_products_post(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	static const char *const known[] = { "sku",   "name",  "price", "price_cents",
		                             "stock", "components", NULL };
	struct world *w = live_world(a->live);
	char err[512] = "", field[DDB_SKU_MAX + 16] = "";
	struct ddb_product p;
	int64_t stock[NODE_MAX] = { 0 };
	memset(&p, 0, sizeof p);
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	struct stock_ctx sc = { w, stock };
	int bad = api_fields_known(o, known, err, sizeof err) != 0;
	for (const cJSON *v = o->child; bad && v && !field[0]; v = v->next) {
		size_t k = 0;
		while (known[k] && strcmp(known[k], v->string) != 0)
			k++;
		if (!known[k])
			copy_str(field, sizeof field, v->string);
	}
	if (!bad && (api_field_string(o, "sku", API_REQUIRED, p.sku, sizeof p.sku, err,
	                              sizeof err) != 0 || !plain_sku(p.sku))) {
		if (p.sku[0])
			snprintf(err, sizeof err, "sku may hold letters, digits and ._:- only");
		copy_str(field, sizeof field, "sku"), bad = 1;
	}
	if (!bad && api_field_string(o, "name", API_OPTIONAL, p.name, sizeof p.name, err,
	                             sizeof err) != 0)
		copy_str(field, sizeof field, "name"), bad = 1;
	if (!bad && !p.name[0])
		snprintf(p.name, sizeof p.name, "%s", p.sku);
	if (!bad && read_price(o, &p.price_cents, err, sizeof err) != 0)
		copy_str(field, sizeof field,
		         cJSON_GetObjectItemCaseSensitive(o, "price_cents") ? "price_cents" : "price"),
		        bad = 1;
	if (!bad && read_map(o, "stock", 0, w->n_regions, put_stock, &sc, field, sizeof field, err,
	                     sizeof err) != 0)
		bad = 1;
	if (!bad && read_map(o, "components", 1, DDB_COMPONENTS_MAX, put_component, &p, field,
	                     sizeof field, err, sizeof err) != 0)
		bad = 1;
	cJSON_Delete(o);
	if (bad)
		return api_error(r, 400, field[0] ? field : NULL, "%s", err);
	struct product_added out;
	if (live_add_product(a->live, &p, stock, &out, field, sizeof field, err, sizeof err) != 0)
		return api_error(r, field[0] ? 400 : 503, field[0] ? field : NULL, "%s", err);
	if (out.n_took == 0)
		return api_error(r, 503, NULL, "no region could take product %s: %s", p.sku,
		                 out.skipped);
	const struct ddb_product *now = catalog_find(live_catalog(a->live), p.sku);
	return api_json(r, 200, product_json(now ? now : &p, &out, stock, w));
}
