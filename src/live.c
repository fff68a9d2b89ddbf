/*
 * live.c - the engine on the wall clock (see live.h): the clock, the
 * orders of the API and their outcomes, the API's failure steps, and the
 * end of a session.
 */
#include "live.h"

#include <cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customers.h"
#include "engine_int.h"
#include "id_map.h"
#include "metrics.h"
#include "recorder.h"
#include "util.h"

/* Orders the API remembers (for GET /orders/{id} and repeated ids); past
 * this many, new orders are refused with 503. */
#define LIVE_ORDERS_MAX 500000
/* live_region_behind counts at most this many events per state. */
#define LIVE_BEHIND_MAX 1024

struct live {
	struct engine e;
	double speed;
	double wall0;            /* wall clock when the engine clock was 0 */
	struct id_map orders;    /* struct live_order by id */
	live_order_done_fn done_fn;
	void *done_ctx;
	struct ddb_event *scratch; /* LIVE_BEHIND_MAX events: live_region_behind */
	struct recorder *rec;      /* --record: the calls that change something */
	live_step_fn step_fn;    /* told of every step applied */
	void *step_ctx;
};

/* ---- the clock ------------------------------------------------------------ */

int64_t live_now(const struct live *l)
{
	return l->e.clock.now_us;
}

double live_speed(const struct live *l)
{
	return l->speed;
}

double live_uptime_s(const struct live *l)
{
	return wall_now() - l->wall0;
}

/* Where the engine clock should be by now. */
static int64_t due_us(const struct live *l)
{
	double t = (wall_now() - l->wall0) * l->speed * 1e6;
	return t > 4e18 ? (int64_t)4e18 : (int64_t)t;
}

/* API operations happen now: the clock moves up to the wall clock first
 * (events due meanwhile are run by the next live_advance; an operation
 * between two events sees the time it arrived). */
static void catch_up(struct live *l)
{
	int64_t due = due_us(l), next = clock_peek(&l->e.clock);
	int64_t to = due < next ? due : next;
	if (to > l->e.clock.now_us)
		l->e.clock.now_us = to;
	l->e.w.faults.now_us = l->e.clock.now_us;
}

static int engine_broken(struct live *l, char *err, size_t errlen)
{
	if (l->e.sc && scenario_fatal(l->e.sc))
		return errorf(err, errlen, "%s", scenario_fatal(l->e.sc));
	if (l->e.out_of_memory)
		return errorf(err, errlen, "out of memory for the next event");
	return 0;
}

int live_advance(struct live *l, int max_wait_ms, int *wait_ms, char *err, size_t errlen)
{
	int64_t due = due_us(l);
	struct clock_event ev;
	/* Only what is due before now: an operation of a client at `due` comes
	 * before the events at `due`, as it does at any time (catch_up), and as
	 * a recorded session replays it (EV_ACTION). */
	while (clock_peek(&l->e.clock) < due) {
		clock_next(&l->e.clock, &ev);
		engine_handle(&l->e, &ev);
		if (engine_broken(l, err, errlen) != 0)
			return -1;
	}
	if (l->e.clock.now_us < due)
		l->e.clock.now_us = due;
	int64_t next = clock_peek(&l->e.clock);
	double ms = (double)(next - due) / 1e3 / l->speed;
	*wait_ms = ms > max_wait_ms ? max_wait_ms : ms < 0 ? 0 : (int)ms + 1;
	return 0;
}

/* ---- setup and end ------------------------------------------------------------ */

static void order_committed(void *ctx, void *tag, const struct ddb_order *order,
                            enum ddb_status st, const char *reason);

int live_open(struct live **out, const struct engine_options *o, double speed,
              struct run_result *res, char *err, size_t errlen)
{
	struct live *l = calloc(1, sizeof *l);
	*out = l;
	if (!l)
		return errorf(err, errlen, "out of memory");
	l->speed = speed > 0 ? speed : 1;
	id_map_init(&l->orders, offsetof(struct live_order, order.id));
	if (id_map_reserve(&l->orders) != 0)
		return errorf(err, errlen, "out of memory");
	int rc = engine_start_run(&l->e, o, res, err, errlen);
	if (rc != 0)
		return rc;
	l->e.live = 1;
	l->e.orders.on_result = order_committed;
	l->e.orders.on_result_ctx = l;
	l->wall0 = wall_now();
	return 0;
}

/* A recorded session served again: its actions go into the new recording
 * as they run, in order with the API's calls. */
static void action_ran(void *ctx, const struct scenario_action *a, long step_id)
{
	struct live *l = ctx;
	recorder_action(l->rec, l->e.clock.now_us, a, step_id);
}

int live_record(struct live *l, const char *path, char *err, size_t errlen)
{
	const struct engine_options *o = l->e.opt;
	struct recorder_setup s = { l->e.si, o->scenario_path, engine_script_dir(), o->params,
		                    o->n_params, o->seed };
	if (recorder_open(&l->rec, path, &s, err, errlen) != 0)
		return -1;
	l->e.action_observer = action_ran;
	l->e.action_observer_ctx = l;
	return 0;
}

void live_record_customer(struct live *l, const struct customer_request *req)
{
	recorder_customer(l->rec, l->e.clock.now_us, req);
}

void live_close(struct live *l)
{
	if (!l)
		return;
	recorder_close(l->rec, l->e.clock.now_us);
	for (size_t i = 0; i < l->orders.cap; i++)
		free(l->orders.slots[i]);
	id_map_free(&l->orders);
	free(l->scratch);
	engine_free(&l->e);
	free(l);
}

void live_on_order_done(struct live *l, live_order_done_fn fn, void *ctx)
{
	l->done_fn = fn;
	l->done_ctx = ctx;
}

int live_checks(struct live *l, struct check_list *checks, struct cJSON **facts, char *err,
                size_t errlen)
{
	catch_up(l);
	recorder_checks(l->rec, l->e.clock.now_us);
	return engine_checks_now(&l->e, checks, facts, err, errlen);
}

int live_finish(struct live *l, struct run_result *res, char *err, size_t errlen)
{
	struct engine *e = &l->e;
	catch_up(l);
	double started = wall_now();
	/* The workload stops here; the schedule left and the sync play out on
	 * the virtual clock, as after a run's workload. */
	e->live = 0;
	e->end_us = e->clock.now_us;
	recorder_close(l->rec, e->end_us);
	l->rec = NULL;
	int looped = engine_broken(l, err, errlen) != 0 ? -1 : engine_loop(e);
	res->virtual_us = e->clock.now_us;
	return engine_finish_run(e, res, looped, started, err, errlen);
}

/* ---- orders -------------------------------------------------------------------- */

const struct live_order *live_order_find(const struct live *l, const char *id)
{
	return id_map_find(&l->orders, id);
}

const char *live_reason_category(const char *detail)
{
	if (strncmp(detail, "rule:", 5) == 0 || strcmp(detail, "rule_error") == 0)
		return "rule";
	if (strcmp(detail, "insufficient_stock") == 0)
		return "stock";
	if (strcmp(detail, "unavailable") == 0)
		return "unavailable";
	if (strcmp(detail, "duplicate_order") == 0)
		return "duplicate";
	if (strcmp(detail, "store_error") == 0)
		return "error";
	return "invalid";
}

static void decide(struct live *l, struct live_order *lo, int accepted, const char *detail)
{
	lo->state = accepted ? LIVE_ORDER_ACCEPTED : LIVE_ORDER_REJECTED;
	lo->decided_at_us = l->e.clock.now_us;
	if (!accepted) {
		copy_str(lo->detail, sizeof lo->detail, detail);
		copy_str(lo->reason, sizeof lo->reason, live_reason_category(detail));
	}
}

/* Whether id has the form the engine gives orders: REGION-NNNNNNNNNNNN. */
static int generated_id(struct live *l, const char *id)
{
	const char *dash = strrchr(id, '-');
	if (!dash || strlen(dash + 1) != 12 || strspn(dash + 1, "0123456789") != 12)
		return 0;
	for (size_t r = 0; r < l->e.w.n_regions; r++) {
		const char *name = l->e.w.regions[r].node->name;
		if (strlen(name) == (size_t)(dash - id) && strncmp(name, id, (size_t)(dash - id)) == 0)
			return 1;
	}
	return 0;
}

/* The tag the orders module carries is the record; the client's own tag
 * waits beside it, until the outcome. */
struct pending_tag {
	struct live_order *lo;
	void *client;
};

static void order_committed(void *ctx, void *tag, const struct ddb_order *order,
                            enum ddb_status st, const char *reason)
{
	struct live *l = ctx;
	struct pending_tag *pt = tag;
	pt->lo->order = *order;
	decide(l, pt->lo, st == DDB_OK, reason ? reason : "");
	if (l->done_fn)
		l->done_fn(l->done_ctx, pt->client, pt->lo);
	free(pt);
}

const struct live_order *live_order(struct live *l, const char *region, const struct ddb_order *req,
                                    void *tag, int *http_status, char *field, size_t fieldlen,
                                    char *err, size_t errlen)
{
	struct engine *e = &l->e;
	field[0] = 0;
	*http_status = 400;
	struct store *s = world_region(&e->w, region);
	if (!s) {
		copy_str(field, fieldlen, "region");
		errorf(err, errlen, "no region called '%s'", region);
		return NULL;
	}
	if (req->id[0]) {
		const struct live_order *seen = live_order_find(l, req->id);
		if (seen && seen->state == LIVE_ORDER_PENDING) {
			*http_status = 409;
			copy_str(field, fieldlen, "id");
			errorf(err, errlen, "order %s is being committed: ask again with GET", req->id);
			return NULL;
		}
		if (seen)
			return seen; /* the same answer as the first time */
	}
	if (l->orders.n >= LIVE_ORDERS_MAX || id_map_reserve(&l->orders) != 0) {
		*http_status = 503;
		errorf(err, errlen, "too many orders in this session (%d)", LIVE_ORDERS_MAX);
		return NULL;
	}
	size_t r = (size_t)(s - e->w.regions), to;
	struct ddb_order q = *req;
	if (q.id[0] && generated_id(l, q.id)) {
		copy_str(field, fieldlen, "id");
		errorf(err, errlen, "ids of the form REGION-NNNNNNNNNNNN are the engine's: choose another");
		return NULL;
	}
	if (!q.id[0])
		snprintf(q.id, sizeof q.id, "%s-%012lld", region, (long long)e->orders.batches[r].next_seq);
	void **slot = id_map_slot(&l->orders, q.id);
	if (*slot) { /* a generated id cannot repeat: only a client's, looked up above */
		*http_status = 409;
		errorf(err, errlen, "order id %s is taken", q.id);
		return NULL;
	}
	struct live_order *lo = calloc(1, sizeof *lo);
	struct pending_tag *pt = malloc(sizeof *pt);
	if (!lo || !pt) {
		free(lo);
		free(pt);
		*http_status = 503;
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	catch_up(l);
	char why[256];
	pt->lo = lo;
	pt->client = tag;
	recorder_order(l->rec, e->clock.now_us, region, &q);
	int queued = engine_submit_order(e, r, &q, pt, &to, why, sizeof why);
	/* What the client asked, where the rule sent it, when; the commit
	 * fills in the rest. */
	lo->order = q;
	copy_str(lo->order.region, sizeof lo->order.region, e->w.regions[to].node->name);
	lo->order.placed_at_us = e->clock.now_us;
	*slot = lo;
	l->orders.n++;
	if (queued == ORDER_REFUSED) {
		free(pt);
		decide(l, lo, 0, why);
	} else if (queued == ORDER_BATCH_FULL) { /* no room for the next one: commit now */
		recorder_commit(l->rec, e->clock.now_us, e->w.regions[to].node->name);
		engine_commit_region(e, to);
	}
	*http_status = 200;
	return lo;
}

/* How many orders of region r's batch a client waits for. */
static size_t api_orders(const struct order_batch *b)
{
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		n += b->tags[i] != NULL;
	return n;
}

size_t live_orders_waiting(const struct live *l)
{
	size_t n = 0;
	for (size_t r = 0; r < l->e.w.n_regions; r++)
		if (!l->e.orders.batches[r].in_doubt)
			n += api_orders(&l->e.orders.batches[r]);
	return n;
}

void live_commit_orders(struct live *l)
{
	struct engine *e = &l->e;
	for (size_t r = 0; r < e->w.n_regions; r++) {
		const struct order_batch *b = &e->orders.batches[r];
		if (!b->in_doubt && api_orders(b) > 0) {
			recorder_commit(l->rec, e->clock.now_us, e->w.regions[r].node->name);
			engine_commit_region(e, r);
		}
	}
}

int live_add_product(struct live *l, const struct ddb_product *p, const int64_t *stock,
                     struct product_added *out, char *field, size_t fieldlen, char *err,
                     size_t errlen)
{
	catch_up(l);
	int rc = engine_add_product(&l->e, p, stock, out, field, fieldlen, err, errlen);
	if (rc == 0) /* an invalid product changed nothing */
		recorder_product(l->rec, l->e.clock.now_us, p, stock);
	if (rc != 0 && l->e.out_of_memory)
		return -1;
	return rc;
}

/* ---- failure steps ------------------------------------------------------------- */

long live_start_step(struct live *l, const struct scenario_failure *f, int64_t for_us, char *err,
                     size_t errlen)
{
	catch_up(l);
	long id = engine_start_step(&l->e, f, for_us, err, errlen);
	if (id > 0) /* with its id: an end_step names it */
		recorder_step(l->rec, l->e.clock.now_us, f, for_us, id);
	if (id < 0 || engine_broken(l, err, errlen) != 0)
		return -1;
	return id;
}

int live_end_step(struct live *l, long id, char *err, size_t errlen)
{
	catch_up(l);
	if (engine_end_step(&l->e, id, err, errlen) != 0)
		return -1; /* no such step in force: nothing changed */
	recorder_end_step(l->rec, l->e.clock.now_us, id);
	return engine_broken(l, err, errlen);
}

/* The engine applied step f (the schedule's, or the API's): the observer
 * hears it with the API's id of the step (0: the schedule's).  The end of
 * an API step that DELETE ended already changes nothing, and is not told. */
static void step_applied(void *ctx, const struct scenario_failure *f, const char *what)
{
	struct live *l = ctx;
	long id = f->step >= LIVE_STEP_BASE ? (long)(f->step - LIVE_STEP_BASE) + 1 : 0;
	if (id > 0 && f->ends && (size_t)id <= l->e.n_live_steps && l->e.live_step_ends[id - 1] < 0 &&
	    l->e.live_ending_id != id && l->e.live_steps[id - 1]->has_end)
		return;
	if (l->step_fn)
		l->step_fn(l->step_ctx, id, f, what);
}

void live_on_step(struct live *l, live_step_fn fn, void *ctx)
{
	l->step_fn = fn;
	l->step_ctx = ctx;
	l->e.step_observer = fn ? step_applied : NULL;
	l->e.step_observer_ctx = fn ? l : NULL;
}

void live_steps_each(const struct live *l,
                     void (*fn)(void *ctx, long id, const struct scenario_failure *f,
                                int64_t ends_at_us),
                     void *ctx)
{
	for (size_t i = 0; i < l->e.n_live_steps; i++) {
		int64_t ends = l->e.live_step_ends[i];
		/* A timed end that has passed took the step away. */
		if (ends > 0 && ends <= l->e.clock.now_us)
			continue;
		if (ends >= 0)
			fn(ctx, (long)i + 1, l->e.live_steps[i], ends);
	}
}

/* ---- customer records ---------------------------------------------------------- */

/* A read of the API is an observation: it goes through the fault layer (a
 * down region does not answer it), but it leaves the run's random draws
 * and the latency owed by slow nodes as they were, so that a recorded
 * session, which does not hold its reads, replays to the same state. */
struct observation {
	struct prng rng;
	int64_t latency_us;
};

static void observe_begin(struct live *l, struct observation *o)
{
	o->rng = l->e.rng;
	o->latency_us = l->e.w.faults.latency_us;
}

static void observe_end(struct live *l, const struct observation *o)
{
	l->e.rng = o->rng;
	l->e.w.faults.latency_us = o->latency_us;
}

static int same_record(const struct ddb_customer *a, const struct ddb_customer *b)
{
	return strcmp(a->unique_id, b->unique_id) == 0 && a->zip_prefix == b->zip_prefix &&
	       strcmp(a->city, b->city) == 0 && strcmp(a->state, b->state) == 0 &&
	       strcmp(a->name, b->name) == 0 && strcmp(a->email, b->email) == 0;
}

int live_customer_create(struct live *l, const struct ddb_customer *c,
                         struct customer_outcome *out, int *repeated, int *http_status,
                         char *field, size_t fieldlen, char *err, size_t errlen)
{
	struct customers *cs = live_customers(l);
	memset(out, 0, sizeof *out);
	*repeated = 0;
	field[0] = 0;
	*http_status = 404;
	if (!cs)
		return errorf(err, errlen, "this scenario has no customer records");
	catch_up(l);
	l->e.m->customers.generated++; /* an operation of the customer service */
	const struct customer_entry *seen = customers_find(cs, c->id);
	if (seen) {
		*http_status = 409;
		copy_str(field, fieldlen, "id");
		if (seen->latest.deleted || seen->latest.version != 1 || !same_record(&seen->latest, c))
			return errorf(err, errlen, "customer %s exists with other content", c->id);
		out->accepted = 1;
		out->entry = seen;
		*repeated = 1;
		return 0;
	}
	/* As a replay does it (engine_customer): the rules see the time, the
	 * latency of slow copies is taken, the call is recorded. */
	struct customer_request req;
	memset(&req, 0, sizeof req);
	req.op = CUSTOMER_CREATE;
	req.c = *c;
	scenario_set_time(l->e.sc, l->e.clock.now_us);
	l->e.w.faults.caller = NULL;
	int created = customers_create(cs, c, l->e.clock.now_us, out);
	faults_take_latency(&l->e.w.faults);
	live_record_customer(l, &req);
	if (created == 0)
		return 0;
	*http_status = strcmp(out->reason, "out_of_memory") == 0 ? 503 : 400;
	if (strcmp(out->reason, "rule:zip_out_of_range") == 0)
		copy_str(field, fieldlen, "zip_prefix");
	return errorf(err, errlen, "rejected: %s", out->reason);
}

const struct customer_entry *live_customer_get(struct live *l, const char *id,
                                               struct customer_read *out)
{
	struct customers *cs = live_customers(l);
	memset(out, 0, sizeof *out);
	if (!cs)
		return NULL;
	catch_up(l);
	l->e.m->customers.generated++;
	struct observation o;
	observe_begin(l, &o);
	const struct customer_entry *e = customers_get(cs, id, out);
	observe_end(l, &o);
	return e;
}

/* What a search gathers: each store's rows arrive by id, so past limit + 1
 * rows from one store for one home region, the rest cannot be on the page. */
struct gather {
	const char *after;
	size_t limit;
	struct live_customer_row *rows;
	size_t n, cap;
	size_t home, served_by, in_stream; /* the store call the rows come from */
	int failed;
};

static void gather_row(void *ctx, size_t home, size_t served_by, const struct ddb_customer *c)
{
	struct gather *g = ctx;
	if (g->failed || (g->after[0] && strcmp(c->id, g->after) <= 0))
		return;
	if (home != g->home || served_by != g->served_by) {
		g->home = home;
		g->served_by = served_by;
		g->in_stream = 0;
	}
	if (g->in_stream++ > g->limit)
		return;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		struct live_customer_row *v = realloc(g->rows, cap * sizeof *v);
		if (!v) {
			g->failed = 1;
			return;
		}
		g->rows = v;
		g->cap = cap;
	}
	g->rows[g->n].c = *c;
	g->rows[g->n].served_by = served_by;
	g->rows[g->n].replica = served_by != home;
	g->n++;
}

static int by_id(const void *a, const void *b)
{
	const struct live_customer_row *x = a, *y = b;
	int d = strcmp(x->c.id, y->c.id);
	/* The same record from two copies: the one served first (home, then
	 * the nearer replica) comes first. */
	return d ? d : (x->replica - y->replica);
}

int live_customer_search(struct live *l, const struct ddb_customer_filter *f, const char *after,
                         size_t limit, struct live_customer_page *page, int *http_status,
                         char *err, size_t errlen)
{
	struct customers *cs = live_customers(l);
	memset(page, 0, sizeof *page);
	*http_status = 404;
	if (!cs)
		return errorf(err, errlen, "this scenario has no customer records");
	*http_status = 503;
	if (limit < 1 || limit > LIVE_SEARCH_MAX)
		return errorf(err, errlen, "limit must be from 1 to %d", LIVE_SEARCH_MAX);
	size_t n_regions = l->e.w.n_regions;
	struct customer_region_read *reads = calloc(n_regions ? n_regions : 1, sizeof *reads);
	if (!reads)
		return errorf(err, errlen, "out of memory");
	catch_up(l);
	struct customer_metrics *cm = &l->e.m->customers;
	cm->generated++;
	cm->finds++;
	struct ddb_customer_filter all = *f;
	all.limit = 0; /* each store's rows are cut by gather_row */
	struct gather g = { after, limit, NULL, 0, 0, (size_t)-1, (size_t)-1, 0, 0 };
	struct observation o;
	observe_begin(l, &o);
	customers_search(cs, &all, gather_row, &g, reads);
	observe_end(l, &o);
	if (g.failed) {
		free(reads);
		free(g.rows);
		return errorf(err, errlen, "out of memory");
	}
	for (size_t r = 0; r < n_regions && r < 64; r++)
		if (!customers_region_read(cs, r, reads))
			page->unavailable |= UINT64_C(1) << r;
	free(reads);
	if (g.n)
		qsort(g.rows, g.n, sizeof *g.rows, by_id);
	size_t kept = 0;
	for (size_t i = 0; i < g.n; i++) {
		if (kept && strcmp(g.rows[kept - 1].c.id, g.rows[i].c.id) == 0)
			continue; /* a second copy of the same record */
		if (kept == limit) {
			page->more = 1;
			break;
		}
		g.rows[kept++] = g.rows[i];
	}
	page->rows = g.rows;
	page->n = kept;
	cm->found += kept;
	cm->finds_partial += page->unavailable != 0;
	return 0;
}

void live_customer_page_free(struct live_customer_page *page)
{
	free(page->rows);
	memset(page, 0, sizeof *page);
}

/* ---- what the API reads ----------------------------------------------------------- */

struct world *live_world(struct live *l)
{
	return &l->e.w;
}

struct metrics *live_metrics(struct live *l)
{
	return l->e.m;
}

struct customers *live_customers(struct live *l)
{
	return l->e.customers_ready ? &l->e.customers : NULL;
}

const struct catalog *live_catalog(const struct live *l)
{
	return &l->e.cat;
}

int live_sync_backlog(struct live *l, struct sync_backlog *b)
{
	return sync_pending(&l->e.sync, b) < 0 ? -1 : 0;
}

int live_region_behind(struct live *l, size_t r, uint64_t cap, uint64_t *behind, int *capped)
{
	struct engine *e = &l->e;
	struct store *s = &e->w.regions[r];
	*behind = 0;
	*capped = 0;
	if (cap > LIVE_BEHIND_MAX)
		cap = LIVE_BEHIND_MAX;
	if (!l->scratch && !(l->scratch = calloc(LIVE_BEHIND_MAX, sizeof *l->scratch)))
		return -1;
	static const int states[] = { DDB_OUTBOX_NEW, DDB_OUTBOX_PUBLISHED };
	for (size_t k = 0; k < ARRAY_LEN(states); k++) {
		size_t n = 0;
		struct ddb_err de = { "" };
		/* An observation: past the fault layer, as the checks read. */
		if (s->ops->outbox_read(s->h, 0, states[k], l->scratch, (size_t)cap, &n, &de) !=
		    DDB_OK)
			return -1;
		*behind += n;
		if (n == cap)
			*capped = 1;
	}
	return 0;
}
