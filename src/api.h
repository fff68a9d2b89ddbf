/*
 * api.h - the HTTP API of `ddbsim serve` (/api/v1/...): routes a request
 * to its endpoint, reads its JSON body into domain values, calls the live
 * engine (live.h), and answers JSON.  Endpoints live in api_*.c, one file
 * per resource; this header is what they share.
 */
#ifndef DDBSIM_API_H
#define DDBSIM_API_H

#include <stddef.h>
#include <stdint.h>

#include "http_server.h"

struct cJSON;
struct live;
struct api_static;
struct metrics;
struct api_events;

struct api {
	struct live *live;
	int shutdown;     /* POST /api/v1/shutdown asked the server to stop */
	uint64_t requests;
	struct api_static *statics; /* the web page's files (api_static.c) */
	struct api_events *events; /* GET /api/v1/events (api_events.c) */
};

void api_init(struct api *a, struct live *l);
/* After the HTTP server stopped (it ended the event streams). */
void api_free(struct api *a);
/* Called by the serve loop every round: what the API does with time
 * (an event sample every second). */
void api_tick(struct api *a);
/* The handler given to the HTTP server. */
enum http_outcome api_handle(void *ctx, struct http_request *r);

/* One endpoint: METHOD and a path pattern, where "*" matches one segment
 * (its text is passed as arg). */
typedef enum http_outcome (*api_endpoint_fn)(struct api *a, struct http_request *r,
                                             const char *arg);
struct api_route {
	const char *method;
	const char *pattern;
	api_endpoint_fn fn;
};
/* Finds the route for method and path: the route (arg: the "*" segment,
 * at most argmax bytes), or NULL with *path_known set when the path exists
 * with another method (405) and not (404).  Pure: for tests and fuzzing. */
const struct api_route *api_route_find(const char *method, const char *path, char *arg,
                                       size_t argmax, int *path_known);

/* ---- pure parsers (no server, no engine): for the endpoints and fuzzing -- */

/* body (len bytes) as one JSON value, nothing but blanks after it: the
 * value, or NULL with err saying where it broke. */
struct cJSON *api_parse_json(const char *body, size_t len, char *err, size_t errlen);
/* The body of POST /orders: 0 with region and req (id and customer empty
 * when not given), or -1 with err and the field at fault ("" when none). */
struct ddb_order;
int api_order_parse(const struct cJSON *o, char *region, size_t regionlen, struct ddb_order *req,
                    char *field, size_t fieldlen, char *err, size_t errlen);

/* ---- for the endpoints ------------------------------------------------- */

/* Answers body (which it frees) with status. */
enum http_outcome api_json(struct http_request *r, int status, struct cJSON *body);
/* Answers {"error": message, "field": field} (field NULL: none). */
enum http_outcome api_error(struct http_request *r, int status, const char *field,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The body as a JSON object, or NULL with the 400 answered. */
struct cJSON *api_body_object(struct http_request *r);

/* Typed readers of a JSON object's fields, as the scenario parser has:
 * each answers 0 (read, or absent and optional), or -1 with the message
 * (naming the field) in err.  A string is UTF-8 of at most size-1 bytes. */
enum api_need { API_OPTIONAL = 0, API_REQUIRED = 1 };
int api_field_string(const struct cJSON *o, const char *name, enum api_need need, char *out,
                     size_t size, char *err, size_t errlen);
int api_field_int(const struct cJSON *o, const char *name, enum api_need need, int64_t min,
                  int64_t max, int64_t *out, char *err, size_t errlen);
int api_field_number(const struct cJSON *o, const char *name, enum api_need need, double min,
                     double max, double *out, char *err, size_t errlen);
/* Text fields read in turn with api_field_string: at the first that is
 * bad, -1 with its name in what and the message in err. */
struct api_text_field {
	const char *name;
	enum api_need need;
	char *out;
	size_t size;
};
int api_fields_text(const struct cJSON *o, const struct api_text_field *f, size_t n, char *what,
                    size_t whatlen, char *err, size_t errlen);
/* Fields not in the NULL-terminated list known, or one of them twice: -1
 * naming the first. */
int api_fields_known(const struct cJSON *o, const char *const *known, char *err, size_t errlen);

/* The endpoints, by resource; an _init registers what a resource needs. */
void api_orders_init(struct api *a);
enum http_outcome api_status(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_shutdown(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_checks(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_orders_post(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_orders_get(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_sales(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_nodes_list(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_products_post(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_nodes_put(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_customers_post(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_customers_get(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_customers_search(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_compat_node_statuses(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_compat_node_status(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_compat_create_customer(struct api *a, struct http_request *r,
                                             const char *arg);
enum http_outcome api_compat_filter_records(struct api *a, struct http_request *r,
                                            const char *arg);
enum http_outcome api_partitions_post(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_partitions_list(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_partitions_delete(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_faults_post(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_faults_list(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_faults_delete(struct api *a, struct http_request *r, const char *arg);

/* The web page (api_static.c): its fixed list of files, read once (a
 * file that cannot be read is answered 503 with the reason). */
struct api_static *api_static_load(void);
void api_static_free(struct api_static *s);
/* Whether path is one of the page's files. */
int api_static_known(const char *path);
/* Whether a request needs no token: GET or HEAD of one of the page's files
 * (they hold no data; the page asks for the token for the API). */
int api_static_public(const char *method, const char *path);
enum http_outcome api_static_get(struct api *a, struct http_request *r);
enum http_outcome api_events_get(struct api *a, struct http_request *r, const char *arg);
enum http_outcome api_metrics_get(struct api *a, struct http_request *r, const char *arg);

/* Event streams: the subscribers and the steps they hear of (api_events.c). */
void api_events_init(struct api *a);
void api_events_free(struct api *a);
void api_events_tick(struct api *a);
/* Streams open now, and streams dropped because their client fell behind. */
void api_events_counts(const struct api *a, uint64_t *open, uint64_t *dropped);

/* The categories of rejected orders (as GET /orders answers them), and the
 * run's rejections counted by category (api_metrics.c). */
#define API_REASONS 6
extern const char *const api_reason_names[API_REASONS];
void api_reasons(const struct metrics *m, uint64_t out[API_REASONS]);

#endif
