/*
 * api_compat.c - the customer-records system's own endpoints, at the root
 * path and in its request and response shapes, so that its pages and
 * clients work against serve unchanged: GET /node-statuses, POST
 * /node-status, POST /create-customer and POST /filter-records.  Its nodes
 * are the regions (region_1..3 with `live.lua --param naming=regions`); a
 * record's copy on the next region is named HOME_backup, as it names it.
 *
 * Unlike that system: a region's return replays only what was queued for
 * it, each write once; a create that no copy could take answers 503 and
 * is kept (queued); a zip in no region's range answers 400; a region that
 * cannot be read is listed in "unavailable_regions".
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

/* filter-records answers at most this many records. */
#define COMPAT_FILTER_MAX LIVE_SEARCH_MAX

static const char *region_name(struct api *a, size_t r)
{
	return live_world(a->live)->regions[r].node->name;
}

static const char *availability(const struct node *n)
{
	return n->state == NODE_DOWN ? "unavailable" : "available";
}

enum http_outcome api_compat_node_statuses(struct api *a, struct http_request *r,
                                           const char *arg)
{
	(void)arg;
	struct world *w = live_world(a->live);
	cJSON *list = cJSON_CreateArray();
	for (size_t i = 0; list && i < w->n_regions; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddStringToObject(o, "node_id", w->regions[i].node->name);
		cJSON_AddStringToObject(o, "status", availability(w->regions[i].node));
		cJSON_AddItemToArray(list, o);
	}
	return api_json(r, 200, list);
}

/* The region a node_id names: a region's name, or its number 1..N (as a
 * JSON number or a string of digits).  -1 when none. */
static long region_of_node_id(struct world *w, const cJSON *v, char *shown, size_t shownlen)
{
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		snprintf(shown, shownlen, "%g", d);
		if (d >= 1 && d <= (double)w->n_regions && d == (double)(long)d)
			return (long)d - 1;
		return -1;
	}
	if (!cJSON_IsString(v))
		return -1;
	const char *s = v->valuestring;
	copy_str(shown, shownlen, s);
	for (size_t i = 0; i < w->n_regions; i++)
		if (strcmp(w->regions[i].node->name, s) == 0)
			return (long)i;
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (*s && !*end && !errno && n >= 1 && (size_t)n <= w->n_regions)
		return n - 1;
	return -1;
}

enum http_outcome api_compat_node_status(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	struct world *w = live_world(a->live);
	char err[512], status[32] = "", shown[64] = "";
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "node_id");
	long region = id ? region_of_node_id(w, id, shown, sizeof shown) : -1;
	int bad_status = api_field_string(o, "status", API_REQUIRED, status, sizeof status, err,
	                                  sizeof err) != 0;
	cJSON_Delete(o);
	if (!id)
		return api_error(r, 400, "node_id", "node_id is required");
	if (region < 0)
		return api_error(r, 400, "node_id", "no node %s: region_1..region_%zu or 1..%zu",
		                 shown, w->n_regions, w->n_regions);
	if (bad_status)
		return api_error(r, 400, "status", "%s", err);
	struct scenario_failure f;
	memset(&f, 0, sizeof f);
	copy_str(f.target, sizeof f.target, region_name(a, (size_t)region));
	if (strcmp(status, "available") == 0)
		f.action = FAILURE_UP;
	else if (strcmp(status, "unavailable") == 0)
		f.action = FAILURE_DOWN;
	else
		return api_error(r, 400, "status", "status must be available or unavailable, not '%s'",
		                 status);
	if (live_start_step(a->live, &f, 0, err, sizeof err) < 0)
		return api_error(r, 503, NULL, "%s", err);
	cJSON *j = cJSON_CreateObject();
	if (j) {
		cJSON_AddStringToObject(j, "node_id", region_name(a, (size_t)region));
		cJSON_AddStringToObject(j, "status", availability(w->regions[region].node));
		cJSON_AddStringToObject(j, "message", f.action == FAILURE_UP ? "Node is now available"
		                                                             : "Node is now unavailable");
	}
	return api_json(r, 200, j);
}

/* The name that system gives the copy of a home region's record on
 * region k: HOME for the home's own, HOME_backup for a replica's. */
static void copy_name(struct api *a, const struct customer_entry *e, size_t k, char *out,
                      size_t outlen)
{
	snprintf(out, outlen, "%s%s", region_name(a, e->home), k ? "_backup" : "");
}

static cJSON *fields_json(const struct ddb_customer *c)
{
	char zip[32];
	snprintf(zip, sizeof zip, "%lld", (long long)c->zip_prefix);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "customer_id", c->id);
	cJSON_AddStringToObject(o, "customer_unique_id", c->unique_id);
	cJSON_AddStringToObject(o, "customer_zip_code_prefix", zip); /* stored as a string there */
	cJSON_AddStringToObject(o, "customer_city", c->city);
	cJSON_AddStringToObject(o, "customer_state", c->state);
	return o;
}

/* The zip prefix as a whole number, given as one or as a string of digits. */
static int read_zip(const cJSON *o, int64_t *zip, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "customer_zip_code_prefix");
	if (!v || cJSON_IsNull(v))
		return errorf(err, errlen, "customer_zip_code_prefix is required");
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 0 || v->valuedouble > 999999999 ||
		    v->valuedouble != (double)(int64_t)v->valuedouble)
			return errorf(err, errlen, "customer_zip_code_prefix must be a whole number "
			                           "from 0 to 999999999");
		*zip = (int64_t)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		if (*s && strlen(s) <= 9 && strspn(s, "0123456789") == strlen(s)) {
			*zip = strtoll(s, NULL, 10);
			return 0;
		}
	}
	return errorf(err, errlen, "customer_zip_code_prefix must be a whole number (or its digits)");
}

enum http_outcome api_compat_create_customer(struct api *a, struct http_request *r,
                                             const char *arg)
{
	(void)arg;
	char err[512], what[32] = "";
	struct ddb_customer c;
	memset(&c, 0, sizeof c);
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	/* Fields it does not know are ignored, as that system ignores them. */
	const struct api_text_field ids[] = {
		{ "customer_id", API_REQUIRED, c.id, sizeof c.id },
		{ "customer_unique_id", API_REQUIRED, c.unique_id, sizeof c.unique_id },
	};
	const struct api_text_field place[] = {
		{ "customer_city", API_REQUIRED, c.city, sizeof c.city },
		{ "customer_state", API_REQUIRED, c.state, sizeof c.state },
	};
	int bad = api_fields_text(o, ids, ARRAY_LEN(ids), what, sizeof what, err, sizeof err) != 0;
	if (!bad && read_zip(o, &c.zip_prefix, err, sizeof err) != 0)
		copy_str(what, sizeof what, "customer_zip_code_prefix"), bad = 1;
	if (!bad && api_fields_text(o, place, ARRAY_LEN(place), what, sizeof what, err,
	                            sizeof err) != 0)
		bad = 1;
	cJSON_Delete(o);
	if (!bad && !c.id[0])
		copy_str(what, sizeof what, "customer_id"), bad = 1,
		        snprintf(err, sizeof err, "customer_id must not be empty");
	if (bad)
		return api_error(r, 400, what, "%s", err);
	struct customer_outcome out;
	int status, repeated;
	char field[32];
	if (live_customer_create(a->live, &c, &out, &repeated, &status, field, sizeof field, err,
	                         sizeof err) != 0) {
		if (strcmp(field, "zip_prefix") == 0)
			return api_error(r, 400, "customer_zip_code_prefix",
			                 "customer_zip_code_prefix %lld is in no region's range",
			                 (long long)c.zip_prefix);
		return api_error(r, status, strcmp(field, "id") == 0 ? "customer_id" : field, "%s",
		                 err);
	}
	const struct customer_entry *e = out.entry;
	int any = 0;
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return api_json(r, 503, NULL);
	cJSON *affected = cJSON_CreateArray(), *queued = cJSON_CreateArray();
	for (size_t k = 0; affected && queued && k <= e->n_replicas; k++) {
		char name[DDB_NAME_MAX + 8];
		copy_name(a, e, k, name, sizeof name);
		if (e->created[k] == CUSTOMER_WRITTEN) {
			cJSON_AddItemToArray(affected, cJSON_CreateString(name));
			any = 1;
			continue;
		}
		cJSON *q = cJSON_CreateObject();
		if (!q)
			continue;
		cJSON_AddStringToObject(q, "copy", name);
		cJSON_AddStringToObject(q, "node_id", region_name(a, k ? e->replicas[k - 1] : e->home));
		cJSON_AddItemToArray(queued, q);
	}
	if (any)
		cJSON_AddStringToObject(j, "message", "Record created successfully");
	else
		cJSON_AddStringToObject(j, "error", "no copy of the record's regions is available: "
		                                    "it is queued and written when they return");
	cJSON_AddStringToObject(j, "customer_id", e->latest.id);
	cJSON_AddItemToObject(j, "fields_processed", fields_json(&e->latest));
	cJSON_AddItemToObject(j, "regions_affected", affected);
	cJSON_AddItemToObject(j, "queued", queued);
	return api_json(r, any ? 200 : 503, j);
}

enum http_outcome api_compat_filter_records(struct api *a, struct http_request *r,
                                            const char *arg)
{
	(void)arg;
	char err[512], what[16] = "", city[DDB_TITLE_MAX] = "", state[DDB_NAME_MAX] = "";
	int64_t zip_min = 0, zip_max = 0;
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	int bad = 0;
	if (api_field_int(o, "zipRangeMin", API_REQUIRED, 0, 999999999, &zip_min, err,
	                  sizeof err) != 0)
		copy_str(what, sizeof what, "zipRangeMin"), bad = 1;
	if (!bad && api_field_int(o, "zipRangeMax", API_REQUIRED, 0, 999999999, &zip_max, err,
	                          sizeof err) != 0)
		copy_str(what, sizeof what, "zipRangeMax"), bad = 1;
	if (!bad && api_field_string(o, "city", API_OPTIONAL, city, sizeof city, err,
	                             sizeof err) != 0)
		copy_str(what, sizeof what, "city"), bad = 1;
	if (!bad && api_field_string(o, "state", API_OPTIONAL, state, sizeof state, err,
	                             sizeof err) != 0)
		copy_str(what, sizeof what, "state"), bad = 1;
	cJSON_Delete(o);
	if (bad)
		return api_error(r, 400, what, "%s", err);
	if (zip_min > zip_max)
		return api_error(r, 400, "zipRangeMin", "zipRangeMin is above zipRangeMax");
	struct ddb_customer_filter f = { zip_min, zip_max, city[0] ? city : NULL,
		                         state[0] ? state : NULL, 0 };
	struct live_customer_page page;
	int status;
	if (live_customer_search(a->live, &f, "", COMPAT_FILTER_MAX, &page, &status, err,
	                         sizeof err) != 0)
		return api_error(r, status, NULL, "%s", err);
	cJSON *j = cJSON_CreateObject();
	cJSON *records = j ? cJSON_AddArrayToObject(j, "records") : NULL;
	for (size_t i = 0; records && i < page.n; i++) {
		const struct live_customer_row *row = &page.rows[i];
		cJSON *rec = fields_json(&row->c);
		if (!rec)
			break;
		char region[DDB_NAME_MAX + 8];
		snprintf(region, sizeof region, "%s%s", row->c.home, row->replica ? "_backup" : "");
		cJSON_AddStringToObject(rec, "region", region);
		cJSON_AddItemToArray(records, rec);
	}
	if (j) {
		cJSON_AddNumberToObject(j, "count", (double)page.n);
		cJSON *un = cJSON_AddArrayToObject(j, "unavailable_regions");
		size_t n_regions = live_world(a->live)->n_regions;
		for (size_t k = 0; un && k < n_regions && k < 64; k++)
			if (page.unavailable & (UINT64_C(1) << k))
				cJSON_AddItemToArray(un, cJSON_CreateString(region_name(a, k)));
		cJSON_AddBoolToObject(j, "truncated", page.more);
	}
	live_customer_page_free(&page);
	return api_json(r, 200, j);
}
