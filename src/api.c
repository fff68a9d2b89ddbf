/*
 * api.c - the API's router, its JSON helpers and typed field readers, and
 * the endpoints about the server itself: status, checks, shutdown.
 */
#include "api.h"

#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "live.h"
#include "metrics.h"
#include "utf8.h"
#include "util.h"

#define API_PREFIX "/api/v1"

static const struct api_route routes[] = {
	{ "GET", "/status", api_status },
	{ "POST", "/shutdown", api_shutdown },
	{ "GET", "/checks", api_checks },
	{ "POST", "/orders", api_orders_post },
	{ "GET", "/orders/*", api_orders_get },
	{ "GET", "/sales", api_sales },
	{ "GET", "/nodes", api_nodes_list },
	{ "PUT", "/nodes/*", api_nodes_put },
	{ "POST", "/customers", api_customers_post },
	{ "GET", "/customers", api_customers_search },
	{ "GET", "/customers/*", api_customers_get },
	{ "POST", "/products", api_products_post },
	{ "POST", "/partitions", api_partitions_post },
	{ "GET", "/partitions", api_partitions_list },
	{ "DELETE", "/partitions/*", api_partitions_delete },
	{ "POST", "/faults", api_faults_post },
	{ "GET", "/faults", api_faults_list },
	{ "DELETE", "/faults/*", api_faults_delete },
	{ "GET", "/events", api_events_get },
};

/* Outside /api/v1: the metrics (no token needed: http_server.c), and the
 * customer-records system's own endpoints (api_compat.c). */
static const struct api_route root_routes[] = {
	{ "GET", "/metrics", api_metrics_get },
	{ "GET", "/node-statuses", api_compat_node_statuses },
	{ "POST", "/node-status", api_compat_node_status },
	{ "POST", "/create-customer", api_compat_create_customer },
	{ "POST", "/filter-records", api_compat_filter_records },
};

void api_init(struct api *a, struct live *l)
{
	memset(a, 0, sizeof *a);
	a->live = l;
	a->statics = api_static_load();
	api_orders_init(a);
	api_events_init(a);
}

void api_free(struct api *a)
{
	api_static_free(a->statics);
	api_events_free(a);
	memset(a, 0, sizeof *a);
}

void api_tick(struct api *a)
{
	api_events_tick(a);
}

/* ---- routing ------------------------------------------------------------------ */

/* Whether path matches pattern ("*": one non-empty segment, copied to arg). */
static int matches(const char *pattern, const char *path, char *arg, size_t argmax)
{
	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= argmax)
				return 0;
			memcpy(arg, path, n);
			arg[n] = 0;
			path += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *pattern == 0 && *path == 0;
}

static const struct api_route *find_in(const struct api_route *table, size_t n,
                                       const char *method, const char *path, char *arg,
                                       size_t argmax, int *path_known)
{
	for (size_t i = 0; i < n; i++) {
		if (!matches(table[i].pattern, path, arg, argmax))
			continue;
		if (strcmp(table[i].method, method) == 0)
			return &table[i];
		*path_known = 1;
	}
	arg[0] = 0;
	return NULL;
}

const struct api_route *api_route_find(const char *method, const char *path, char *arg,
                                       size_t argmax, int *path_known)
{
	*path_known = 0;
	arg[0] = 0;
	size_t plen = strlen(API_PREFIX);
	if (strncmp(path, API_PREFIX, plen) != 0)
		return find_in(root_routes, ARRAY_LEN(root_routes), method, path, arg, argmax,
		               path_known);
	return find_in(routes, ARRAY_LEN(routes), method, path + plen, arg, argmax, path_known);
}

enum http_outcome api_handle(void *ctx, struct http_request *r)
{
	struct api *a = ctx;
	char arg[256];
	int known;
	a->requests++;
	const struct api_route *route = api_route_find(http_method(r), http_path(r), arg, sizeof arg,
	                                               &known);
	if (route)
		return route->fn(a, r, arg);
	if (api_static_known(http_path(r)))
		return api_static_get(a, r);
	if (known)
		return api_error(r, 405, NULL, "%s is not allowed on %s", http_method(r), http_path(r));
	return api_error(r, 404, NULL, "no such endpoint: %s %s", http_method(r), http_path(r));
}

/* ---- JSON ----------------------------------------------------------------------- */

enum http_outcome api_json(struct http_request *r, int status, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	if (!text) {
		static const char oom[] = "{\"error\":\"out of memory\"}";
		http_reply(r, 503, "application/json", oom, sizeof oom - 1);
		return HTTP_DONE;
	}
	http_reply(r, status, "application/json", text, strlen(text));
	free(text);
	return HTTP_DONE;
}

enum http_outcome api_error(struct http_request *r, int status, const char *field,
                            const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "error", msg);
		if (field && *field)
			cJSON_AddStringToObject(o, "field", field);
	}
	return api_json(r, status, o);
}

cJSON *api_parse_json(const char *body, size_t len, char *err, size_t errlen)
{
	if (len == 0) {
		errorf(err, errlen, "a JSON object is required as the body");
		return NULL;
	}
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	/* Nothing but blanks may follow the value. */
	while (o && end && end < body + len && strchr(" \t\r\n", *end) && *end)
		end++;
	if (o && end && end < body + len) {
		cJSON_Delete(o);
		o = NULL;
	}
	if (!o) {
		size_t at = end && end >= body ? (size_t)(end - body) : 0;
		errorf(err, errlen, "the body is not valid JSON (at byte %zu)", at);
	}
	return o;
}

cJSON *api_body_object(struct http_request *r)
{
	size_t len;
	char err[256];
	const char *body = http_body(r, &len);
	cJSON *o = api_parse_json(body, len, err, sizeof err);
	if (!o) {
		api_error(r, 400, NULL, "%s", err);
		return NULL;
	}
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		api_error(r, 400, NULL, "the body must be a JSON object");
		return NULL;
	}
	return o;
}

/* ---- field readers ----------------------------------------------------------------- */

static const cJSON *field(const cJSON *o, const char *name, enum api_need need, char *err,
                          size_t errlen, int *missing)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	*missing = !v || cJSON_IsNull(v);
	if (*missing && need == API_REQUIRED)
		errorf(err, errlen, "%s is required", name);
	return *missing ? NULL : v;
}

int api_field_string(const cJSON *o, const char *name, enum api_need need, char *out, size_t size,
                     char *err, size_t errlen)
{
	int missing;
	const cJSON *v = field(o, name, need, err, errlen, &missing);
	if (missing)
		return need == API_REQUIRED ? -1 : 0;
	if (!cJSON_IsString(v))
		return errorf(err, errlen, "%s must be a string", name);
	size_t n = strlen(v->valuestring);
	if (n >= size)
		return errorf(err, errlen, "%s is longer than %zu bytes", name, size - 1);
	if (!utf8_valid(v->valuestring, n))
		return errorf(err, errlen, "%s is not valid UTF-8", name);
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

int api_fields_text(const cJSON *o, const struct api_text_field *f, size_t n, char *what,
                    size_t whatlen, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (api_field_string(o, f[i].name, f[i].need, f[i].out, f[i].size, err, errlen) != 0) {
			copy_str(what, whatlen, f[i].name);
			return -1;
		}
	return 0;
}

int api_field_number(const cJSON *o, const char *name, enum api_need need, double min, double max,
                     double *out, char *err, size_t errlen)
{
	int missing;
	const cJSON *v = field(o, name, need, err, errlen, &missing);
	if (missing)
		return need == API_REQUIRED ? -1 : 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return errorf(err, errlen, "%s must be a number", name);
	if (v->valuedouble < min || v->valuedouble > max)
		return errorf(err, errlen, "%s must be from %g to %g", name, min, max);
	*out = v->valuedouble;
	return 0;
}

int api_field_int(const cJSON *o, const char *name, enum api_need need, int64_t min, int64_t max,
                  int64_t *out, char *err, size_t errlen)
{
	double d = 0;
	int missing;
	field(o, name, API_OPTIONAL, err, errlen, &missing);
	if (api_field_number(o, name, need, (double)min, (double)max, &d, err, errlen) != 0)
		return -1;
	if (missing)
		return 0;
	if (d != floor(d))
		return errorf(err, errlen, "%s must be a whole number", name);
	/* (double)INT64_MAX is 2^63, one past it: it must not be converted. */
	if (d >= 9223372036854775808.0)
		return errorf(err, errlen, "%s must be from %" PRId64 " to %" PRId64, name, min, max);
	*out = (int64_t)d;
	return 0;
}

int api_fields_known(const cJSON *o, const char *const *known, char *err, size_t errlen)
{
	const cJSON *item;
	uint64_t seen = 0; /* bit k: known[k] was met (lists are shorter than 64) */
	cJSON_ArrayForEach(item, o) {
		int found = -1;
		for (int k = 0; known[k] && found < 0; k++)
			if (item->string && strcmp(item->string, known[k]) == 0)
				found = k;
		if (found < 0)
			return errorf(err, errlen, "unknown field %s", item->string ? item->string : "?");
		/* A field given twice: which one counts would be a guess. */
		if (found < 64 && (seen & (UINT64_C(1) << found)))
			return errorf(err, errlen, "field %s is given twice", item->string);
		if (found < 64)
			seen |= UINT64_C(1) << found;
	}
	return 0;
}

/* ---- the server itself ------------------------------------------------------------- */

enum http_outcome api_status(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	const struct metrics *m = live_metrics(a->live);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return api_json(r, 503, NULL);
	cJSON_AddNumberToObject(o, "clock_s", (double)live_now(a->live) / 1e6);
	cJSON_AddNumberToObject(o, "speed", live_speed(a->live));
	cJSON_AddNumberToObject(o, "uptime_s", live_uptime_s(a->live));
	cJSON_AddNumberToObject(o, "requests", (double)a->requests);
	cJSON *c = cJSON_AddObjectToObject(o, "counters");
	if (c) {
		cJSON_AddNumberToObject(c, "orders_accepted", (double)m->orders_accepted);
		cJSON_AddNumberToObject(c, "orders_rejected", (double)m->orders_rejected);
		cJSON_AddNumberToObject(c, "events_relayed", (double)m->events_relayed);
		cJSON_AddNumberToObject(c, "events_applied_central", (double)m->events_applied_central);
		cJSON_AddNumberToObject(c, "events_applied_documents",
		                        (double)m->events_applied_documents);
		cJSON_AddNumberToObject(c, "customers_created", (double)m->customers.created);
		cJSON_AddNumberToObject(c, "customer_writes_queued", (double)m->customers.writes_queued);
		cJSON_AddNumberToObject(c, "customer_writes_replayed", (double)m->customers.replayed);
	}
	return api_json(r, 200, o);
}

enum http_outcome api_shutdown(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	a->shutdown = 1;
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddStringToObject(o, "status", "shutting down: the report follows on the "
		                                     "server's output");
	return api_json(r, 202, o);
}

enum http_outcome api_checks(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	struct check_list checks = { 0 };
	cJSON *facts = NULL;
	char err[1024];
	int failed = live_checks(a->live, &checks, &facts, err, sizeof err);
	cJSON_Delete(facts);
	if (failed < 0) {
		check_list_free(&checks);
		return api_error(r, 503, NULL, "the checks could not run: %s", err);
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *list = o ? cJSON_AddArrayToObject(o, "checks") : NULL;
	for (size_t i = 0; list && i < checks.n; i++) {
		cJSON *c = cJSON_CreateObject();
		if (!c)
			break;
		cJSON_AddStringToObject(c, "name", checks.v[i].name);
		cJSON_AddBoolToObject(c, "ok", checks.v[i].ok);
		cJSON_AddStringToObject(c, "detail", checks.v[i].detail);
		cJSON_AddItemToArray(list, c);
	}
	if (o) {
		cJSON_AddNumberToObject(o, "failed", failed);
		cJSON_AddBoolToObject(o, "all_hold", failed == 0);
		cJSON_AddNumberToObject(o, "clock_s", (double)live_now(a->live) / 1e6);
	}
	check_list_free(&checks);
	return api_json(r, 200, o);
}
