/*
 * api_faults.c - /api/v1/partitions and /api/v1/faults: an operator cuts
 * links between nodes and turns on message faults (drop, duplicate, delay,
 * reorder), for a time or until undone, lists what is in force, and ends
 * it.  Each is a failure step built as the scenario parser builds one
 * (scenario_parse.c) and applied through the engine (live_start_step), so
 * it nests with the schedule's steps exactly as fault_steps.c says.
 */
#include "api.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "node.h"
#include "scenario.h"
#include "util.h"
#include "world.h"

/* The longest for_s: a year. */
#define FOR_S_MAX (86400.0 * 365)
/* The longest delay of a delay fault: an hour. */
#define DELAY_MS_MAX 3600000

/* Which steps an endpoint lists and ends. */
enum step_family { FAMILY_PARTITION, FAMILY_FAULT };

static int in_family(const struct scenario_failure *f, enum step_family fam)
{
	if (fam == FAMILY_PARTITION)
		return f->action == FAILURE_PARTITION;
	return f->action >= FAILURE_DROP && f->action <= FAILURE_REORDER;
}

/* ---- reading a body --------------------------------------------------------- */

/* 400 naming the first field of o not in known, or 0. */
static int unknown_field(struct http_request *r, const cJSON *o, const char *const *known)
{
	const cJSON *item;
	cJSON_ArrayForEach(item, o) {
		int found = 0;
		for (const char *const *k = known; *k && !found; k++)
			found = item->string && strcmp(item->string, *k) == 0;
		if (!found) {
			api_error(r, 400, item->string, "unknown field %s", item->string ? item->string : "?");
			return -1;
		}
	}
	return 0;
}

/* for_s (optional): 0 until undone, else the engine microseconds. */
static int read_for(struct http_request *r, const cJSON *o, int64_t *for_us)
{
	char err[256];
	double for_s = 0;
	if (api_field_number(o, "for_s", API_OPTIONAL, 0, FOR_S_MAX, &for_s, err, sizeof err) != 0) {
		api_error(r, 400, "for_s", "%s", err);
		return -1;
	}
	*for_us = (int64_t)llround(for_s * 1e6);
	if (for_s > 0 && *for_us < 1)
		*for_us = 1;
	return 0;
}

/* A set of nodes: a name or a list of 1 to FAILURE_SET_MAX distinct names,
 * each a node of the world.  0, or -1 with the 400 answered. */
static int read_node_set(struct http_request *r, struct world *w, const cJSON *o, const char *name,
                         char (*out)[DDB_NAME_MAX], size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	*n = 0;
	if (!v || cJSON_IsNull(v)) {
		api_error(r, 400, name, "%s is required: a list of node names", name);
		return -1;
	}
	const cJSON *one = cJSON_IsString(v) ? v : NULL;
	if (!one && !cJSON_IsArray(v)) {
		api_error(r, 400, name, "%s must be a list of node names", name);
		return -1;
	}
	int count = one ? 1 : cJSON_GetArraySize(v);
	if (count < 1 || count > FAILURE_SET_MAX) {
		api_error(r, 400, name, "%s must name 1 to %d nodes", name, FAILURE_SET_MAX);
		return -1;
	}
	for (int i = 0; i < count; i++) {
		const cJSON *item = one ? one : cJSON_GetArrayItem(v, i);
		if (!cJSON_IsString(item)) {
			api_error(r, 400, name, "%s[%d] must be a node name", name, i);
			return -1;
		}
		const struct node *nd = node_find(&w->nodes, item->valuestring);
		if (!nd) {
			api_error(r, 400, name, "%s: no node called '%.64s'", name, item->valuestring);
			return -1;
		}
		for (size_t k = 0; k < *n; k++)
			if (strcmp(out[k], nd->name) == 0) {
				api_error(r, 400, name, "%s names %s twice", name, nd->name);
				return -1;
			}
		copy_str(out[*n], DDB_NAME_MAX, nd->name);
		(*n)++;
	}
	return 0;
}

/* ---- answers ------------------------------------------------------------------ */

static void add_names(cJSON *o, const char *key, const char (*names)[DDB_NAME_MAX], size_t n)
{
	cJSON *list = cJSON_AddArrayToObject(o, key);
	for (size_t i = 0; list && i < n; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(names[i]));
}

/* A step in force as the API shows it. */
static cJSON *step_json(long id, const struct scenario_failure *f, int64_t ends_at_us)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)id);
	if (f->action == FAILURE_PARTITION) {
		add_names(o, "from", (const char (*)[DDB_NAME_MAX])f->from, f->n_from);
		add_names(o, "to", (const char (*)[DDB_NAME_MAX])f->to, f->n_to);
		cJSON_AddBoolToObject(o, "oneway", f->oneway);
	} else {
		cJSON_AddStringToObject(o, "kind", failure_action_name(f->action));
		cJSON_AddNumberToObject(o, "probability", f->probability);
		if (f->action == FAILURE_DELAY)
			cJSON_AddNumberToObject(o, "delay_ms", (double)f->delay_us / 1e3);
	}
	cJSON_AddNumberToObject(o, "since_s", (double)f->at_us / 1e6);
	if (ends_at_us > 0)
		cJSON_AddNumberToObject(o, "until_s", (double)ends_at_us / 1e6);
	else
		cJSON_AddNullToObject(o, "until_s");
	return o;
}

struct step_list {
	enum step_family fam;
	cJSON *list;
	long find_id; /* > 0: only look for this id */
	int found;
	const struct scenario_failure *f;
	int64_t ends_at_us;
};

static void collect(void *ctx, long id, const struct scenario_failure *f, int64_t ends_at_us)
{
	struct step_list *sl = ctx;
	if (!in_family(f, sl->fam))
		return;
	if (sl->find_id > 0) {
		if (id == sl->find_id) {
			sl->found = 1;
			sl->f = f;
			sl->ends_at_us = ends_at_us;
		}
		return;
	}
	cJSON *j = step_json(id, f, ends_at_us);
	if (j)
		cJSON_AddItemToArray(sl->list, j);
}

/* Starts step f (for_us 0: until undone) and answers 201 with it. */
static enum http_outcome start(struct api *a, struct http_request *r,
                               const struct scenario_failure *f, int64_t for_us)
{
	char err[512];
	long id = live_start_step(a->live, f, for_us, err, sizeof err);
	if (id < 0)
		return api_error(r, 503, NULL, "%s", err);
	struct scenario_failure shown = *f;
	shown.at_us = live_now(a->live);
	return api_json(r, 201, step_json(id, &shown, for_us > 0 ? shown.at_us + for_us : 0));
}

static enum http_outcome list(struct api *a, struct http_request *r, enum step_family fam)
{
	cJSON *o = cJSON_CreateObject();
	struct step_list sl = { fam, NULL, 0, 0, NULL, 0 };
	sl.list = o ? cJSON_AddArrayToObject(o, fam == FAMILY_PARTITION ? "partitions" : "faults")
	            : NULL;
	if (!sl.list) {
		cJSON_Delete(o);
		return api_json(r, 503, NULL);
	}
	live_steps_each(a->live, collect, &sl);
	cJSON_AddNumberToObject(o, "clock_s", (double)live_now(a->live) / 1e6);
	return api_json(r, 200, o);
}

static enum http_outcome end(struct api *a, struct http_request *r, const char *arg,
                             enum step_family fam)
{
	const char *what = fam == FAMILY_PARTITION ? "partition" : "fault";
	long id = strspn(arg, "0123456789") == strlen(arg) && strlen(arg) <= 9
	                  ? strtol(arg, NULL, 10) : 0;
	if (id < 1)
		return api_error(r, 404, "id", "no %s %.32s in force", what, arg);
	struct step_list sl = { fam, NULL, id, 0, NULL, 0 };
	live_steps_each(a->live, collect, &sl);
	if (!sl.found)
		return api_error(r, 404, "id", "no %s %ld in force", what, id);
	cJSON *shown = step_json(id, sl.f, sl.ends_at_us);
	char err[512];
	if (live_end_step(a->live, id, err, sizeof err) != 0) {
		cJSON_Delete(shown);
		return api_error(r, 404, "id", "%s", err);
	}
	if (shown) {
		cJSON_AddBoolToObject(shown, "ended", 1);
		cJSON_AddNumberToObject(shown, "ended_s", (double)live_now(a->live) / 1e6);
	}
	return api_json(r, 200, shown);
}

/* ---- partitions ------------------------------------------------------------------ */

enum http_outcome api_partitions_post(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	static const char *const known[] = { "from", "to", "oneway", "for_s", NULL };
	struct world *w = live_world(a->live);
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	struct scenario_failure f;
	memset(&f, 0, sizeof f);
	f.action = FAILURE_PARTITION;
	int64_t for_us = 0;
	int bad = unknown_field(r, o, known) != 0 ||
	          read_node_set(r, w, o, "from", f.from, &f.n_from) != 0 ||
	          read_node_set(r, w, o, "to", f.to, &f.n_to) != 0 || read_for(r, o, &for_us) != 0;
	const cJSON *oneway = bad ? NULL : cJSON_GetObjectItemCaseSensitive(o, "oneway");
	if (oneway && !cJSON_IsNull(oneway) && !cJSON_IsBool(oneway)) {
		api_error(r, 400, "oneway", "oneway must be true or false");
		bad = 1;
	}
	f.oneway = oneway && cJSON_IsTrue(oneway);
	cJSON_Delete(o);
	if (bad)
		return HTTP_DONE;
	for (size_t i = 0; i < f.n_from; i++)
		for (size_t k = 0; k < f.n_to; k++)
			if (strcmp(f.from[i], f.to[k]) == 0)
				return api_error(r, 400, "to", "%s is in from and in to: a node cannot be "
				                 "cut from itself", f.to[k]);
	return start(a, r, &f, for_us);
}

enum http_outcome api_partitions_list(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	return list(a, r, FAMILY_PARTITION);
}

enum http_outcome api_partitions_delete(struct api *a, struct http_request *r, const char *arg)
{
	return end(a, r, arg, FAMILY_PARTITION);
}

/* ---- message faults ------------------------------------------------------------------ */

enum http_outcome api_faults_post(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	static const char *const known[] = { "kind", "probability", "delay_ms", "for_s", NULL };
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	char err[512], kind[16] = "";
	struct scenario_failure f;
	memset(&f, 0, sizeof f);
	int64_t for_us = 0, delay_ms = 0;
	const char *field = NULL;
	if (unknown_field(r, o, known) != 0) {
		cJSON_Delete(o);
		return HTTP_DONE;
	}
	if (api_field_string(o, "kind", API_REQUIRED, kind, sizeof kind, err, sizeof err) != 0)
		field = "kind";
	else if (api_field_number(o, "probability", API_REQUIRED, 0, 1, &f.probability, err,
	                          sizeof err) != 0)
		field = "probability";
	else if (api_field_int(o, "delay_ms", API_OPTIONAL, 1, DELAY_MS_MAX, &delay_ms, err,
	                       sizeof err) != 0)
		field = "delay_ms";
	int bad_for = !field && read_for(r, o, &for_us) != 0;
	cJSON_Delete(o);
	if (bad_for)
		return HTTP_DONE;
	if (field)
		return api_error(r, 400, field, "%s", err);
	for (int act = FAILURE_DROP; act <= FAILURE_REORDER; act++)
		if (strcmp(kind, failure_action_name(act)) == 0)
			f.action = act;
	if (!f.action)
		return api_error(r, 400, "kind", "kind must be drop, duplicate, delay or reorder, "
		                 "not '%s'", kind);
	if (f.action == FAILURE_DELAY && delay_ms == 0)
		return api_error(r, 400, "delay_ms", "a delay fault needs delay_ms (1 to %d)",
		                 DELAY_MS_MAX);
	if (f.action != FAILURE_DELAY && delay_ms != 0)
		return api_error(r, 400, "delay_ms", "delay_ms goes with kind delay only");
	f.delay_us = delay_ms * 1000;
	return start(a, r, &f, for_us);
}

enum http_outcome api_faults_list(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	return list(a, r, FAMILY_FAULT);
}

enum http_outcome api_faults_delete(struct api *a, struct http_request *r, const char *arg)
{
	return end(a, r, arg, FAMILY_FAULT);
}
