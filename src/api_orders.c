/*
 * api_orders.c - POST /api/v1/orders, GET /api/v1/orders/{id} and GET
 * /api/v1/sales: an admin places an order in a region and reads the
 * center's sales.  An order's answer waits for its group commit (the
 * connection is suspended meanwhile), so "accepted" means durable.
 */
#include "api.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "live.h"
#include "world.h"
#include "util.h"

/* An id or customer a client may choose: letters, digits and ._:- only. */
static int plain_name(const char *s)
{
	return s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
	                       strlen(s);
}

static cJSON *order_json(const struct live_order *lo)
{
	static const char *const states[] = { "pending", "accepted", "rejected" };
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", lo->order.id);
	cJSON_AddStringToObject(o, "status", states[lo->state]);
	cJSON_AddStringToObject(o, "region", lo->order.region);
	cJSON_AddStringToObject(o, "sku", lo->order.sku);
	cJSON_AddNumberToObject(o, "quantity", (double)lo->order.quantity);
	if (lo->order.customer[0])
		cJSON_AddStringToObject(o, "customer", lo->order.customer);
	if (lo->state == LIVE_ORDER_ACCEPTED)
		cJSON_AddNumberToObject(o, "unit_price_cents", (double)lo->order.unit_price_cents);
	if (lo->state == LIVE_ORDER_REJECTED) {
		cJSON_AddStringToObject(o, "reason", lo->reason);
		cJSON_AddStringToObject(o, "detail", lo->detail);
	}
	cJSON_AddNumberToObject(o, "placed_at_s", (double)lo->order.placed_at_us / 1e6);
	return o;
}

/* An order's commit came: its client hears the outcome. */
static void order_done(void *ctx, void *tag, const struct live_order *lo)
{
	(void)ctx;
	api_json(tag, 200, order_json(lo));
}

void api_orders_init(struct api *a)
{
	live_on_order_done(a->live, order_done, a);
}

int api_order_parse(const cJSON *o, char *region, size_t regionlen, struct ddb_order *req,
                    char *field, size_t fieldlen, char *err, size_t errlen)
{
	static const char *const known[] = { "region", "sku", "quantity", "customer", "id", NULL };
	const char *what = "";
	memset(req, 0, sizeof *req);
	region[0] = field[0] = err[0] = 0;
	int bad = api_fields_known(o, known, err, errlen) != 0;
	if (!bad && api_field_string(o, "region", API_REQUIRED, region, regionlen, err, errlen) != 0)
		what = "region", bad = 1;
	if (!bad && api_field_string(o, "sku", API_REQUIRED, req->sku, sizeof req->sku, err,
	                             errlen) != 0)
		what = "sku", bad = 1;
	if (!bad && (!region[0] || !req->sku[0])) {
		what = !region[0] ? "region" : "sku";
		snprintf(err, errlen, "%s must not be empty", what);
		bad = 1;
	}
	if (!bad && api_field_int(o, "quantity", API_REQUIRED, 1, 1000000000, &req->quantity, err,
	                          errlen) != 0)
		what = "quantity", bad = 1;
	if (!bad && (api_field_string(o, "customer", API_OPTIONAL, req->customer,
	                              sizeof req->customer, err, errlen) != 0 ||
	             (req->customer[0] && !plain_name(req->customer)))) {
		if (!err[0] || req->customer[0])
			snprintf(err, errlen, "customer may hold letters, digits and ._:- only");
		what = "customer", bad = 1;
	}
	/* An id leaves room for nothing else in DDB_ID_MAX: 64 bytes at most. */
	if (!bad && (api_field_string(o, "id", API_OPTIONAL, req->id, 65, err, errlen) != 0 ||
	             (req->id[0] && !plain_name(req->id)))) {
		if (req->id[0])
			snprintf(err, errlen, "id may hold letters, digits and ._:- only");
		what = "id", bad = 1;
	}
	if (!bad)
		return 0;
	copy_str(field, fieldlen, what);
	return -1;
}

enum http_outcome api_orders_post(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	char err[512], region[DDB_NAME_MAX], field[32];
	struct ddb_order req;
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	int bad = api_order_parse(o, region, sizeof region, &req, field, sizeof field, err,
	                          sizeof err);
	cJSON_Delete(o);
	if (bad)
		return api_error(r, 400, field, "%s", err);
	int status;
	const struct live_order *lo = live_order(a->live, region, &req, r, &status, field,
	                                         sizeof field, err, sizeof err);
	if (!lo)
		return api_error(r, status, field, "%s", err);
	if (lo->state == LIVE_ORDER_PENDING)
		return HTTP_LATER; /* order_done answers at the commit */
	return api_json(r, 200, order_json(lo));
}

enum http_outcome api_orders_get(struct api *a, struct http_request *r, const char *arg)
{
	const struct live_order *lo = live_order_find(a->live, arg);
	if (!lo)
		return api_error(r, 404, "id", "no order %s was placed through the API", arg);
	return api_json(r, 200, order_json(lo));
}

/* ---- sales ------------------------------------------------------------------- */

static void add_line(void *ctx, const struct ddb_sales *s)
{
	cJSON *list = ctx, *o = cJSON_CreateObject();
	if (!o)
		return;
	cJSON_AddStringToObject(o, "key", s->key);
	cJSON_AddNumberToObject(o, "orders", (double)s->orders);
	cJSON_AddNumberToObject(o, "units", (double)s->units);
	cJSON_AddNumberToObject(o, "revenue_cents", (double)s->revenue_cents);
	cJSON_AddItemToArray(list, o);
}

/* The center's sales report, one view; -1 with err when it cannot answer. */
static int sales_view(struct world *w, int by, cJSON *into, const char *name, char *err,
                      size_t errlen)
{
	cJSON *list = cJSON_AddArrayToObject(into, name);
	struct ddb_err e = { "" };
	struct store *c = &w->central;
	if (!list)
		return errorf(err, errlen, "out of memory");
	/* An observation: the admin reads the center even while the emulated
	 * links to it are cut, as the checks do. */
	if (c->ops->sales_report(c->h, by, add_line, list, &e) != DDB_OK)
		return errorf(err, errlen, "the central store did not answer: %s", e.msg);
	return 0;
}

enum http_outcome api_sales(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	struct world *w = live_world(a->live);
	char err[512];
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return api_json(r, 503, NULL);
	if (sales_view(w, DDB_SALES_BY_REGION, o, "by_region", err, sizeof err) != 0 ||
	    sales_view(w, DDB_SALES_BY_PRODUCT, o, "by_product", err, sizeof err) != 0) {
		cJSON_Delete(o);
		return api_error(r, 503, NULL, "%s", err);
	}
	cJSON *behind = cJSON_AddObjectToObject(o, "behind");
	for (size_t i = 0; behind && i < w->n_regions; i++) {
		uint64_t n;
		int capped;
		cJSON *b = cJSON_CreateObject();
		if (!b)
			break;
		if (live_region_behind(a->live, i, 1024, &n, &capped) != 0) {
			cJSON_AddNullToObject(b, "events");
			cJSON_AddStringToObject(b, "error", "the region's store did not answer");
		} else {
			cJSON_AddNumberToObject(b, "events", (double)n);
			cJSON_AddBoolToObject(b, "at_least", capped);
		}
		cJSON_AddItemToObject(behind, w->regions[i].node->name, b);
	}
	cJSON_AddNumberToObject(o, "clock_s", (double)live_now(a->live) / 1e6);
	return api_json(r, 200, o);
}
