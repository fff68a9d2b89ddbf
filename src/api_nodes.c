/*
 * api_nodes.c - GET /api/v1/nodes and PUT /api/v1/nodes/{name}: an
 * operator reads and changes the nodes' states.  A change is a failure
 * step, as in a scenario's schedule (live_start_step), so it nests with
 * the schedule's steps and is recorded like them.
 */
#include "api.h"

#include <cJSON.h>
#include <string.h>

#include "live.h"
#include "world.h"
#include "util.h"

static cJSON *node_json(const struct node *n)
{
	static const char *const kinds[] = { "?", "region", "central", "documents", "broker" };
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", n->name);
	cJSON_AddStringToObject(o, "kind", n->kind >= 1 && n->kind <= 4 ? kinds[n->kind] : "?");
	cJSON_AddStringToObject(o, "state", node_state_name(n->state));
	if (n->state == NODE_SLOW) {
		cJSON_AddNumberToObject(o, "latency_ms", (double)n->latency_us / 1e3);
		cJSON_AddNumberToObject(o, "jitter_ms", (double)n->jitter_us / 1e3);
	}
	cJSON *cut = cJSON_AddArrayToObject(o, "cut_from");
	(void)cut;
	return o;
}

enum http_outcome api_nodes_list(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	struct world *w = live_world(a->live);
	cJSON *o = cJSON_CreateObject();
	cJSON *list = o ? cJSON_AddArrayToObject(o, "nodes") : NULL;
	for (size_t i = 0; list && i < w->nodes.n; i++) {
		const struct node *n = &w->nodes.v[i];
		cJSON *j = node_json(n);
		cJSON *cut = j ? cJSON_GetObjectItemCaseSensitive(j, "cut_from") : NULL;
		for (size_t k = 0; cut && k < w->nodes.n; k++)
			if (n->cut_to & (1ULL << k))
				cJSON_AddItemToArray(cut, cJSON_CreateString(w->nodes.v[k].name));
		if (j)
			cJSON_AddItemToArray(list, j);
	}
	if (o)
		cJSON_AddNumberToObject(o, "clock_s", (double)live_now(a->live) / 1e6);
	return api_json(r, 200, o);
}

enum http_outcome api_nodes_put(struct api *a, struct http_request *r, const char *arg)
{
	static const char *const known[] = { "state", "latency_ms", "jitter_ms", "for_s", NULL };
	struct world *w = live_world(a->live);
	struct node *n = node_find(&w->nodes, arg);
	if (!n)
		return api_error(r, 404, "name", "no node called %s", arg);
	cJSON *o = api_body_object(r);
	if (!o)
		return HTTP_DONE;
	char err[512], state[16] = "", what[16] = "";
	int64_t latency_ms = 0, jitter_ms = 0;
	double for_s = 0;
	int bad = api_fields_known(o, known, err, sizeof err) != 0;
	if (!bad && api_field_string(o, "state", API_REQUIRED, state, sizeof state, err,
	                             sizeof err) != 0)
		copy_str(what, sizeof what, "state"), bad = 1;
	if (!bad && api_field_int(o, "latency_ms", API_OPTIONAL, 0, 3600000, &latency_ms, err,
	                          sizeof err) != 0)
		copy_str(what, sizeof what, "latency_ms"), bad = 1;
	if (!bad && api_field_int(o, "jitter_ms", API_OPTIONAL, 0, 3600000, &jitter_ms, err,
	                          sizeof err) != 0)
		copy_str(what, sizeof what, "jitter_ms"), bad = 1;
	if (!bad && api_field_number(o, "for_s", API_OPTIONAL, 0, 86400 * 365, &for_s, err,
	                             sizeof err) != 0)
		copy_str(what, sizeof what, "for_s"), bad = 1;
	cJSON_Delete(o);
	if (bad)
		return api_error(r, 400, what, "%s", err);
	struct scenario_failure f;
	memset(&f, 0, sizeof f);
	copy_str(f.target, sizeof f.target, n->name);
	if (strcmp(state, "down") == 0)
		f.action = FAILURE_DOWN;
	else if (strcmp(state, "up") == 0)
		f.action = FAILURE_UP;
	else if (strcmp(state, "slow") == 0)
		f.action = FAILURE_SLOW;
	else
		return api_error(r, 400, "state", "state must be up, down or slow, not '%s'", state);
	if (f.action == FAILURE_SLOW && latency_ms == 0)
		return api_error(r, 400, "latency_ms", "slow needs latency_ms >= 1");
	if (f.action != FAILURE_SLOW && (latency_ms || jitter_ms))
		return api_error(r, 400, "latency_ms", "latency_ms and jitter_ms go with state slow");
	if (f.action == FAILURE_UP && for_s > 0)
		return api_error(r, 400, "for_s", "up holds until changed: for_s goes with down and "
		                 "slow");
	f.latency_us = latency_ms * 1000;
	f.jitter_us = jitter_ms * 1000;
	long id = live_start_step(a->live, &f, (int64_t)(for_s * 1e6), err, sizeof err);
	if (id < 0)
		return api_error(r, 503, NULL, "%s", err);
	cJSON *j = node_json(n);
	if (j) {
		cJSON_AddNumberToObject(j, "step", (double)id);
		if (for_s > 0)
			cJSON_AddNumberToObject(j, "until_s", (double)live_now(a->live) / 1e6 + for_s);
	}
	return api_json(r, 200, j);
}
