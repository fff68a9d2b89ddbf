/*
 * api_customers.c - customer records over the API: POST /api/v1/customers
 * (where the record went: home, replicas, what was queued for which down
 * node), GET /api/v1/customers/{id} (which copy answered, its version) and
 * GET /api/v1/customers?zip_min=&zip_max=&city=&state=&limit=&cursor= (a
 * search across regions that names the regions it could not read).
 */
#include "api.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customers.h"
#include "live.h"
#include "world.h"
#include "util.h"

#define ZIP_MAX 999999999

/* An id a client may choose: letters, digits and ._:- only. */
static int plain_id(const char *s)
{
	return s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
	                       strlen(s);
}

static const char *region_name(struct api *a, size_t r)
{
	return live_world(a->live)->regions[r].node->name;
}

static const char *fate_name(int fate)
{
	switch (fate) {
	case CUSTOMER_WRITTEN: return "written";
	case CUSTOMER_QUEUED: return "queued";
	case CUSTOMER_HELD: return "held";
	}
	return "unknown";
}

static cJSON *record_json(const struct ddb_customer *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", c->id);
	cJSON_AddStringToObject(o, "unique_id", c->unique_id);
	cJSON_AddNumberToObject(o, "zip_prefix", (double)c->zip_prefix);
	cJSON_AddStringToObject(o, "city", c->city);
	cJSON_AddStringToObject(o, "state", c->state);
	if (c->name[0])
		cJSON_AddStringToObject(o, "name", c->name);
	if (c->email[0])
		cJSON_AddStringToObject(o, "email", c->email);
	cJSON_AddStringToObject(o, "home", c->home);
	cJSON_AddNumberToObject(o, "version", (double)c->version);
	if (c->deleted)
		cJSON_AddBoolToObject(o, "deleted", 1);
	return o;
}

static cJSON *copy_json(struct api *a, size_t region, int fate)
{
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "region", region_name(a, region));
		cJSON_AddStringToObject(o, "write", fate_name(fate));
	}
	return o;
}

/* Where a created record went, as POST answers it (the first time and
 * every time the same id comes again with the same record). */
static cJSON *created_json(struct api *a, const struct customer_entry *e)
{
	const char *result = customers_create_result(e);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", e->latest.id);
	cJSON_AddStringToObject(o, "result", result);
	cJSON_AddBoolToObject(o, "accepted", 1);
	cJSON_AddBoolToObject(o, "pending", strcmp(result, "unavailable") == 0);
	cJSON_AddItemToObject(o, "home", copy_json(a, e->home, e->created[0]));
	cJSON *reps = cJSON_AddArrayToObject(o, "replicas");
	cJSON *queued = cJSON_AddArrayToObject(o, "queued");
	for (size_t k = 0; reps && k < e->n_replicas; k++)
		cJSON_AddItemToArray(reps, copy_json(a, e->replicas[k], e->created[1 + k]));
	for (size_t k = 0; queued && k <= e->n_replicas; k++) {
		if (e->created[k] == CUSTOMER_WRITTEN)
			continue;
		cJSON *q = copy_json(a, k ? e->replicas[k - 1] : e->home, e->created[k]);
		if (q)
			cJSON_AddStringToObject(q, "copy", k ? "replica" : "home");
		cJSON_AddItemToArray(queued, q);
	}
	cJSON_AddItemToObject(o, "record", record_json(&e->latest));
	return o;
}

/* 201 when a copy took the record, 202 when none did (accepted, pending). */
static int created_status(const struct customer_entry *e)
{
	return strcmp(customers_create_result(e), "unavailable") == 0 ? 202 : 201;
}

enum http_outcome api_customers_post(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	static const char *const known[] = { "id", "unique_id", "zip_prefix", "city", "state",
		                             "name", "email", NULL };
	char err[512], what[16] = "";
	struct ddb_customer c;
	memset(&c, 0, sizeof c);
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	int bad = api_fields_known(o, known, err, sizeof err) != 0;
	if (!bad && (api_field_string(o, "id", API_REQUIRED, c.id, sizeof c.id, err, sizeof err) !=
	                     0 ||
	             !plain_id(c.id))) {
		if (c.id[0])
			snprintf(err, sizeof err, "id may hold letters, digits and ._:- only");
		copy_str(what, sizeof what, "id"), bad = 1;
	}
	const struct api_text_field unique = { "unique_id", API_REQUIRED, c.unique_id,
		                               sizeof c.unique_id };
	const struct api_text_field place[] = {
		{ "city", API_REQUIRED, c.city, sizeof c.city },
		{ "state", API_REQUIRED, c.state, sizeof c.state },
		{ "name", API_OPTIONAL, c.name, sizeof c.name },
		{ "email", API_OPTIONAL, c.email, sizeof c.email },
	};
	if (!bad && api_fields_text(o, &unique, 1, what, sizeof what, err, sizeof err) != 0)
		bad = 1;
	if (!bad && api_field_int(o, "zip_prefix", API_REQUIRED, 0, ZIP_MAX, &c.zip_prefix, err,
	                          sizeof err) != 0)
		copy_str(what, sizeof what, "zip_prefix"), bad = 1;
	if (!bad && api_fields_text(o, place, ARRAY_LEN(place), what, sizeof what, err,
	                            sizeof err) != 0)
		bad = 1;
	cJSON_Delete(o);
	if (bad)
		return api_error(r, 400, what, "%s", err);
	struct customer_outcome out;
	int status, repeated;
	char field[32];
	if (live_customer_create(a->live, &c, &out, &repeated, &status, field, sizeof field, err,
	                         sizeof err) != 0)
		return api_error(r, status, field, "%s", err);
	return api_json(r, created_status(out.entry), created_json(a, out.entry));
}

enum http_outcome api_customers_get(struct api *a, struct http_request *r, const char *arg)
{
	struct customer_read got;
	const struct customer_entry *e = live_customer_get(a->live, arg, &got);
	if (!e)
		return api_error(r, 404, "id", "no customer %s", arg);
	if (!got.answered)
		return api_error(r, 503, NULL, "no copy of customer %s is up (home %s)", arg,
		                 region_name(a, e->home));
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return api_json(r, 503, NULL);
	cJSON_AddStringToObject(o, "id", e->latest.id);
	cJSON *by = cJSON_AddObjectToObject(o, "served_by");
	if (by) {
		cJSON_AddStringToObject(by, "region", region_name(a, got.region));
		cJSON_AddStringToObject(by, "copy", got.replica ? "replica" : "home");
	}
	if (got.has_record)
		cJSON_AddNumberToObject(o, "version", (double)got.c.version);
	else
		cJSON_AddNullToObject(o, "version");
	cJSON_AddNumberToObject(o, "latest_version", (double)e->latest.version);
	cJSON_AddBoolToObject(o, "stale", got.stale);
	if (got.has_record)
		cJSON_AddItemToObject(o, "record", record_json(&got.c));
	else
		cJSON_AddNullToObject(o, "record");
	return api_json(r, 200, o);
}

/* A whole number from a query argument, or -1 with err naming it. */
static int query_int(struct http_request *r, const char *name, int64_t min, int64_t max,
                     int64_t *out, char *err, size_t errlen)
{
	const char *v = http_query(r, name);
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max)
		return errorf(err, errlen, "%s must be a whole number from %lld to %lld", name,
		              (long long)min, (long long)max);
	*out = n;
	return 0;
}

enum http_outcome api_customers_search(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	static const char *const known[] = { "zip_min", "zip_max", "city", "state", "limit",
		                             "cursor", NULL };
	const char *unknown = NULL;
	if (http_query_unknown(r, known, &unknown))
		return api_error(r, 400, unknown, "unknown query argument %s", unknown);
	char err[512];
	int64_t zip_min = 0, zip_max = ZIP_MAX, limit = 100;
	if (query_int(r, "zip_min", 0, ZIP_MAX, &zip_min, err, sizeof err) != 0)
		return api_error(r, 400, "zip_min", "%s", err);
	if (query_int(r, "zip_max", 0, ZIP_MAX, &zip_max, err, sizeof err) != 0)
		return api_error(r, 400, "zip_max", "%s", err);
	if (zip_min > zip_max)
		return api_error(r, 400, "zip_min", "zip_min (%lld) is above zip_max (%lld)",
		                 (long long)zip_min, (long long)zip_max);
	if (query_int(r, "limit", 1, LIVE_SEARCH_MAX, &limit, err, sizeof err) != 0)
		return api_error(r, 400, "limit", "%s", err);
	const char *city = http_query(r, "city"), *state = http_query(r, "state");
	const char *cursor = http_query(r, "cursor");
	if (city && strlen(city) >= DDB_TITLE_MAX)
		return api_error(r, 400, "city", "city is longer than %d bytes", DDB_TITLE_MAX - 1);
	if (state && strlen(state) >= DDB_NAME_MAX)
		return api_error(r, 400, "state", "state is longer than %d bytes", DDB_NAME_MAX - 1);
	if (cursor && strlen(cursor) >= DDB_NAME_MAX)
		return api_error(r, 400, "cursor", "cursor is longer than %d bytes", DDB_NAME_MAX - 1);
	struct ddb_customer_filter f = { zip_min, zip_max, city && *city ? city : NULL,
		                         state && *state ? state : NULL, 0 };
	struct live_customer_page page;
	int status;
	if (live_customer_search(a->live, &f, cursor ? cursor : "", (size_t)limit, &page, &status,
	                         err, sizeof err) != 0)
		return api_error(r, status, NULL, "%s", err);
	cJSON *o = cJSON_CreateObject();
	cJSON *rows = o ? cJSON_AddArrayToObject(o, "customers") : NULL;
	for (size_t i = 0; rows && i < page.n; i++) {
		cJSON *row = record_json(&page.rows[i].c);
		cJSON *by = row ? cJSON_AddObjectToObject(row, "served_by") : NULL;
		if (by) {
			cJSON_AddStringToObject(by, "region", region_name(a, page.rows[i].served_by));
			cJSON_AddStringToObject(by, "copy", page.rows[i].replica ? "replica" : "home");
		}
		cJSON_AddItemToArray(rows, row);
	}
	cJSON *un = o ? cJSON_AddArrayToObject(o, "unavailable_regions") : NULL;
	size_t n_regions = live_world(a->live)->n_regions;
	for (size_t k = 0; un && k < n_regions && k < 64; k++)
		if (page.unavailable & (UINT64_C(1) << k))
			cJSON_AddItemToArray(un, cJSON_CreateString(region_name(a, k)));
	if (o) {
		cJSON_AddNumberToObject(o, "count", (double)page.n);
		if (page.more && page.n)
			cJSON_AddStringToObject(o, "next_cursor", page.rows[page.n - 1].c.id);
		else
			cJSON_AddNullToObject(o, "next_cursor");
	}
	live_customer_page_free(&page);
	return api_json(r, 200, o);
}
