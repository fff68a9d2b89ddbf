/*
 * fuzz_api.c - the HTTP API's router and JSON bodies (src/api.c,
 * src/api_orders.c) on any bytes, without a server or an engine.
 *
 * The input is "METHOD PATH\n" and then a body.  Properties:
 *   1. api_route_find: a route found has the method asked, and its pattern
 *      with the "*" replaced by arg (non-empty, no '/', shorter than argmax)
 *      is the path after /api/v1; "known path, other method" (405) holds
 *      only when some other method finds a route for that path;
 *   2. api_parse_json takes the body or says why not; an object goes
 *      through api_order_parse, which accepts only what POST /orders may
 *      take (a region and sku of at most their sizes, a quantity from 1 to
 *      10^9, an id and customer of letters, digits and ._:-, no field
 *      twice) or refuses
 *      with a message; every member of the object is read by each typed
 *      reader (string, number, whole number in the widest range), which
 *      answers a value in range (a whole number equal to the JSON number)
 *      or a message.
 */
#include "api.h"
#include "fuzz.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ddbsim/plugin.h"

#define FUZZ_LINE_MAX 4096

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD" };

static int plain(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
	       strlen(s);
}

static void check_route(const char *method, const char *path)
{
	char arg[64];
	int known;
	const struct api_route *route = api_route_find(method, path, arg, sizeof arg, &known);
	if (!route) {
		if (arg[0])
			fuzz_fail("%s %s: no route, but arg '%s' left", method, path, arg);
		if (!known)
			return;
		for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
			char other[64];
			int k;
			if (strcmp(methods[i], method) != 0 &&
			    api_route_find(methods[i], path, other, sizeof other, &k))
				return;
		}
		fuzz_fail("%s %s: 405 (path known), but no other method has a route", method, path);
	}
	if (strcmp(route->method, method) != 0)
		fuzz_fail("%s %s: found the route of %s %s", method, path, route->method, route->pattern);
	if (strncmp(path, "/api/v1", 7) != 0)
		fuzz_fail("%s %s: routed outside /api/v1", method, path);
	/* The pattern with arg in place of "*" is the path. */
	char rebuilt[FUZZ_LINE_MAX + 64];
	size_t n = 0;
	for (const char *p = route->pattern; *p; p++) {
		const char *piece = *p == '*' ? arg : (char[2]){ *p, 0 };
		if (*p == '*' && (!arg[0] || strchr(arg, '/') || strlen(arg) >= sizeof arg))
			fuzz_fail("%s %s: a bad arg '%s'", method, path, arg);
		size_t l = strlen(piece);
		if (n + l >= sizeof rebuilt)
			fuzz_fail("%s %s: the route is longer than the path", method, path);
		memcpy(rebuilt + n, piece, l);
		n += l;
	}
	rebuilt[n] = 0;
	if (strcmp(rebuilt, path + 7) != 0)
		fuzz_fail("%s %s: routed to %s (arg '%s'), which is %s", method, path, route->pattern,
		          arg, rebuilt);
}

static void check_readers(const cJSON *o)
{
	const cJSON *item;
	cJSON_ArrayForEach(item, o) {
		const char *name = item->string;
		char err[256], s[32];
		double d = 0;
		int64_t i = 0;
		if (!name)
			fuzz_fail("a member without a name");
		err[0] = 0;
		if (api_field_string(o, name, API_REQUIRED, s, sizeof s, err, sizeof err) == 0) {
			if (strlen(s) >= sizeof s)
				fuzz_fail("%s: a string longer than its buffer", name);
		} else if (!err[0]) {
			fuzz_fail("%s: string refused without a message", name);
		}
		err[0] = 0;
		if (api_field_number(o, name, API_REQUIRED, -1e6, 1e6, &d, err, sizeof err) == 0) {
			if (!(d >= -1e6 && d <= 1e6))
				fuzz_fail("%s: number %g out of range", name, d);
		} else if (!err[0]) {
			fuzz_fail("%s: number refused without a message", name);
		}
		err[0] = 0;
		if (api_field_int(o, name, API_OPTIONAL, INT64_MIN, INT64_MAX, &i, err, sizeof err) != 0) {
			if (!err[0])
				fuzz_fail("%s: whole number refused without a message", name);
		} else if (cJSON_IsNumber(item) && cJSON_GetObjectItemCaseSensitive(o, name) == item &&
		           (double)i != item->valuedouble) { /* a repeated name reads the first */
			fuzz_fail("%s: %.17g read as the whole number %lld", name, item->valuedouble,
			          (long long)i);
		}
		err[0] = 0;
		if (api_field_int(o, name, API_REQUIRED, -5, 5, &i, err, sizeof err) == 0) {
			if (i < -5 || i > 5)
				fuzz_fail("%s: whole number %lld out of range", name, (long long)i);
		} else if (!err[0]) {
			fuzz_fail("%s: small whole number refused without a message", name);
		}
	}
}

static void check_order(const cJSON *o)
{
	char region[DDB_NAME_MAX], field[32], err[512];
	struct ddb_order req;
	if (api_order_parse(o, region, sizeof region, &req, field, sizeof field, err, sizeof err) !=
	    0) {
		if (!err[0])
			fuzz_fail("an order refused without a message");
		return;
	}
	if (!region[0] || strlen(region) >= sizeof region || !req.sku[0])
		fuzz_fail("an order accepted without a region or sku");
	if (req.quantity < 1 || req.quantity > 1000000000)
		fuzz_fail("an order accepted with quantity %lld", (long long)req.quantity);
	if (!plain(req.id) || strlen(req.id) > 64 || !plain(req.customer))
		fuzz_fail("an order accepted with id '%s', customer '%s'", req.id, req.customer);
	const cJSON *a, *b;
	cJSON_ArrayForEach(a, o) {
		for (b = a->next; b; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				fuzz_fail("an order accepted with %s given twice", a->string);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t line = nl ? (size_t)(nl - data) : size;
	if (line >= FUZZ_LINE_MAX)
		return 0;
	char head[FUZZ_LINE_MAX];
	memcpy(head, data, line);
	head[line] = 0;
	char *space = strchr(head, ' ');
	if (space && line == strlen(head)) { /* no NUL inside: MHD gives C strings */
		*space = 0;
		check_route(head, space + 1);
	}
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t len = nl ? size - line - 1 : 0;
	char err[256] = "";
	cJSON *v = api_parse_json(body, len, err, sizeof err);
	if (!v) {
		if (!err[0])
			fuzz_fail("a body refused without a message");
		return 0;
	}
	if (cJSON_IsObject(v)) {
		check_order(v);
		check_readers(v);
	}
	cJSON_Delete(v);
	return 0;
}
