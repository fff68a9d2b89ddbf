/*
 * customers.c - customer records: the decision table for every write, the
 * node.NAME queues and their replay, reads from the home or a replica (see
 * customers.h).
 */
#include "customers.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "scenario.h"
#include "world.h"
#include "util.h"

#define REPLAY_BATCH 256

/* ---- the map of known customers -------------------------------------------- */

const struct customer_entry *customers_find(const struct customers *cs, const char *id)
{
	return id_map_find(&cs->entries, id);
}

static struct customer_entry *insert(struct customers *cs, const char *id)
{
	if (id_map_reserve(&cs->entries) != 0)
		return NULL;
	void **slot = id_map_slot(&cs->entries, id);
	if (!*slot) {
		struct customer_entry *e = calloc(1, sizeof *e);
		if (!e)
			return NULL;
		*slot = e;
		cs->entries.n++;
	}
	return *slot;
}

void customers_each(const struct customers *cs, void (*fn)(void *ctx, const struct customer_entry *e),
                    void *ctx)
{
	for (size_t i = 0; i < cs->entries.cap; i++)
		if (cs->entries.slots[i])
			fn(ctx, cs->entries.slots[i]);
}

/* ---- setup ---------------------------------------------------------------- */

int customers_init(struct customers *cs, struct world *w, struct scenario *sc, struct metrics *m)
{
	memset(cs, 0, sizeof *cs);
	id_map_init(&cs->entries, offsetof(struct customer_entry, latest.id));
	cs->w = w;
	cs->sc = sc;
	cs->m = m;
	size_t n = w->n_regions ? w->n_regions : 1;
	cs->back_since = malloc(n * sizeof *cs->back_since);
	cs->conv_index = malloc(n * sizeof *cs->conv_index);
	cs->deliveries = calloc(REPLAY_BATCH, sizeof *cs->deliveries);
	cs->batch = calloc(REPLAY_BATCH, sizeof *cs->batch);
	cs->results = calloc(REPLAY_BATCH, sizeof *cs->results);
	cs->replica_regions = calloc(n, sizeof *cs->replica_regions);
	cs->reads = calloc(n, sizeof *cs->reads);
	if (!cs->back_since || !cs->conv_index || !cs->deliveries || !cs->batch || !cs->results ||
	    !cs->replica_regions || !cs->reads ||
	    queued_writes_init(&cs->journal, w->data_dir) != 0 ||
	    id_map_reserve(&cs->entries) != 0) {
		customers_free(cs);
		return -1;
	}
	for (size_t r = 0; r < n; r++)
		cs->back_since[r] = -1;
	return 0;
}

void customers_free(struct customers *cs)
{
	for (size_t i = 0; i < cs->entries.cap; i++)
		free(cs->entries.slots[i]);
	id_map_free(&cs->entries);
	free(cs->held);
	free(cs->back_since);
	free(cs->conv_index);
	free(cs->deliveries);
	free(cs->batch);
	free(cs->results);
	free(cs->replica_regions);
	free(cs->reads);
	queued_writes_free(&cs->journal);
	memset(cs, 0, sizeof *cs);
}

/* ---- writes ----------------------------------------------------------------- */

static int hold(struct customers *cs, size_t r, const struct ddb_customer *c)
{
	if (cs->n_held == cs->cap_held) {
		size_t cap = cs->cap_held ? cs->cap_held * 2 : 64;
		struct held_write *grown = realloc(cs->held, cap * sizeof *grown);
		if (!grown)
			return -1;
		cs->held = grown;
		cs->cap_held = cap;
	}
	cs->held[cs->n_held].region = r;
	cs->held[cs->n_held++].c = *c;
	cs->m->customers.writes_held++;
	return 0;
}

/* Queues a write for region r on node.NAME; if the broker cannot take it
 * either, keeps it in memory (reported as pending) and tries again later. */
static enum customer_copy_fate enqueue(struct customers *cs, size_t r, const struct ddb_customer *c)
{
	struct bus *bus = &cs->w->bus;
	char q[DDB_ID_MAX];
	world_node_queue(cs->w->regions[r].node, q, sizeof q);
	size_t len = wire_encode_customer(c, cs->wire, sizeof cs->wire);
	struct ddb_err e = { "" };
	uint64_t before = bus_published(bus);
	if (len && bus_publish(bus, q, cs->wire, len, &e) == DDB_OK &&
	    bus_confirm(bus, before, &e) == DDB_OK) {
		cs->m->customers.writes_queued++;
		char why[512];
		if (queued_writes_add(&cs->journal, cs->w->regions[r].node->name, c->id, c->version, why,
		                      sizeof why) != 0 && !cs->journal.failed) {
			cs->journal.failed = 1;
			fprintf(stderr, "ddbsim: cannot record a queued write (no_lost_queued_write "
			                "will not see it): %s\n", why);
		}
		return CUSTOMER_QUEUED;
	}
	if (hold(cs, r, c) != 0)
		fprintf(stderr, "ddbsim: out of memory holding a write for %s\n",
		        cs->w->regions[r].node->name);
	return CUSTOMER_HELD;
}

/* Writes c to region r directly, or queues it. */
static enum customer_copy_fate write_copy(struct customers *cs, size_t r, const struct ddb_customer *c)
{
	struct ddb_err e = { "" };
	enum ddb_status res;
	cs->w->faults.caller = NULL; /* the clients' customer service */
	enum ddb_status st = store_put_customers(&cs->w->regions[r], c, 1, &res, &e);
	if (st == DDB_OK) {
		cs->m->customers.writes_direct++;
		return CUSTOMER_WRITTEN;
	}
	if (st == DDB_UNAVAILABLE)
		cs->m->unavailable_calls++;
	else
		fprintf(stderr, "ddbsim: customer %s on %s: %s\n", c->id, cs->w->regions[r].node->name,
		        e.msg);
	return enqueue(cs, r, c);
}

/* The decision table, for the record c of entry e; fates (if not NULL)
 * gets what became of each copy, the home's first. */
static void write_everywhere(struct customers *cs, const struct customer_entry *e, uint8_t *fates)
{
	enum customer_copy_fate f = write_copy(cs, e->home, &e->latest);
	int home = f == CUSTOMER_WRITTEN, replica = 0;
	if (fates)
		fates[0] = (uint8_t)f;
	for (size_t k = 0; k < e->n_replicas; k++) {
		f = write_copy(cs, e->replicas[k], &e->latest);
		replica |= f == CUSTOMER_WRITTEN;
		if (fates)
			fates[1 + k] = (uint8_t)f;
	}
	if (home)
		cs->m->customers.writes_ok++;
	else if (replica)
		cs->m->customers.writes_home_pending++;
	else
		cs->m->customers.writes_unavailable++;
}

static void reject(struct customers *cs, const char *reason)
{
	metrics_customer_reject(cs->m, reason);
}

/* Rejects with reason, telling out (if any) why. */
static int refuse(struct customers *cs, struct customer_outcome *out, const char *reason)
{
	reject(cs, reason);
	if (out)
		copy_str(out->reason, sizeof out->reason, reason);
	return -1;
}

/* Whether a customer rule's verdict lets the write go on; a rejection is
 * counted as rule:REASON, an error of the hook as rule_error. */
static int rule_accepts(struct customers *cs, enum rule_verdict v, const char *msg,
                        struct customer_outcome *out)
{
	switch (v) {
	case RULE_ACCEPT:
		return 1;
	case RULE_REJECT: {
		char r[5 + SCENARIO_REASON_MAX] = "rule:";
		copy_str(r + 5, sizeof r - 5, msg);
		refuse(cs, out, r);
		return 0;
	}
	case RULE_ERROR:
		fprintf(stderr, "ddbsim: %s\n", msg);
		refuse(cs, out, "rule_error");
		return 0;
	}
	return 0;
}

int customers_create(struct customers *cs, const struct ddb_customer *c, int64_t now_us,
                     struct customer_outcome *out)
{
	if (out)
		memset(out, 0, sizeof *out);
	if (customers_find(cs, c->id))
		return refuse(cs, out, "exists");
	char msg[512];
	size_t home, replicas[CUSTOMER_REPLICAS_MAX], n = 0;
	if (!rule_accepts(cs, scenario_customer_home(cs->sc, c, &home, msg, sizeof msg), msg, out) ||
	    !rule_accepts(cs, scenario_customer_replicas(cs->sc, c, home, replicas,
	                                                 CUSTOMER_REPLICAS_MAX, &n, msg, sizeof msg),
	                  msg, out))
		return -1;
	struct customer_entry *e = insert(cs, c->id);
	if (!e)
		return refuse(cs, out, "out_of_memory");
	e->latest = *c;
	e->latest.version = 1;
	e->latest.deleted = 0;
	e->latest.updated_at_us = now_us;
	copy_str(e->latest.home, sizeof e->latest.home, cs->w->regions[home].node->name);
	e->home = (uint8_t)home;
	e->n_replicas = (uint8_t)n;
	if (home < 64)
		cs->homes |= UINT64_C(1) << home;
	for (size_t k = 0; k < n; k++) {
		e->replicas[k] = (uint8_t)replicas[k];
		if (replicas[k] < 64)
			cs->replica_regions[home] |= UINT64_C(1) << replicas[k];
	}
	cs->m->customers.created++;
	write_everywhere(cs, e, e->created);
	if (out) {
		out->accepted = 1;
		out->entry = e;
	}
	return 0;
}

const char *customers_create_result(const struct customer_entry *e)
{
	if (e->created[0] == CUSTOMER_WRITTEN)
		return "ok";
	for (size_t k = 0; k < e->n_replicas; k++)
		if (e->created[1 + k] == CUSTOMER_WRITTEN)
			return "home_pending";
	return "unavailable";
}

static void change(struct customers *cs, const struct customer_request *req, int64_t now_us)
{
	struct customer_entry *e = id_map_find(&cs->entries, req->c.id);
	if (!e) {
		reject(cs, "unknown_customer");
		return;
	}
	if (e->latest.deleted) {
		reject(cs, "deleted_customer");
		return;
	}
	struct ddb_customer *c = &e->latest;
	if (req->op == CUSTOMER_DELETE) {
		c->deleted = 1;
		cs->m->customers.deleted++;
	} else {
		if (req->changed & CF_UNIQUE_ID)
			copy_str(c->unique_id, sizeof c->unique_id, req->c.unique_id);
		if (req->changed & CF_ZIP)
			c->zip_prefix = req->c.zip_prefix;
		if (req->changed & CF_CITY)
			copy_str(c->city, sizeof c->city, req->c.city);
		if (req->changed & CF_STATE)
			copy_str(c->state, sizeof c->state, req->c.state);
		if (req->changed & CF_NAME)
			copy_str(c->name, sizeof c->name, req->c.name);
		if (req->changed & CF_EMAIL)
			copy_str(c->email, sizeof c->email, req->c.email);
		cs->m->customers.updated++;
	}
	c->version++;
	c->updated_at_us = now_us;
	write_everywhere(cs, e, NULL);
}

/* ---- reads ----------------------------------------------------------------- */

const struct customer_entry *customers_get(struct customers *cs, const char *id,
                                           struct customer_read *out)
{
	struct customer_metrics *cm = &cs->m->customers;
	const struct customer_entry *e = customers_find(cs, id);
	memset(out, 0, sizeof *out);
	cm->gets++;
	if (!e) {
		cm->reads_not_found++;
		return NULL;
	}
	cs->w->faults.caller = NULL;
	struct ddb_customer *got = &out->c;
	struct ddb_err err = { "" };
	size_t order[1 + CUSTOMER_REPLICAS_MAX], n = 0;
	order[n++] = e->home;
	for (size_t k = 0; k < e->n_replicas; k++)
		order[n++] = e->replicas[k];
	for (size_t i = 0; i < n; i++) {
		enum ddb_status st = store_get_customer(&cs->w->regions[order[i]], id, got, &err);
		if (st == DDB_UNAVAILABLE)
			continue;
		if (i == 0)
			cm->reads_home++;
		else
			cm->reads_replica++;
		out->answered = 1;
		out->region = order[i];
		out->replica = i > 0;
		out->has_record = st == DDB_OK;
		out->stale = st == DDB_NOT_FOUND || (st == DDB_OK && got->version < e->latest.version);
		if (out->stale)
			cm->reads_stale++; /* a copy that has not caught up yet */
		return e;
	}
	cm->reads_failed++;
	return e;
}

/* One store's answer for the records of one home region. */
struct region_rows {
	const char *home_name; /* only records whose home this is */
	size_t home, served_by;
	customer_row_fn fn;
	void *ctx;
};

static void home_row(void *ctx, const struct ddb_customer *c)
{
	struct region_rows *rr = ctx;
	if (strcmp(c->home, rr->home_name) == 0)
		rr->fn(rr->ctx, rr->home, rr->served_by, c);
}

void customers_search(struct customers *cs, const struct ddb_customer_filter *f,
                      customer_row_fn fn, void *ctx, struct customer_region_read *reads)
{
	cs->w->faults.caller = NULL;
	for (size_t r = 0; r < cs->w->n_regions; r++) {
		struct region_rows rr = { cs->w->regions[r].node->name, r, r, fn, ctx };
		struct ddb_err e = { "" };
		reads[r].answered = 0;
		reads[r].home_answered =
			store_find_customers(&cs->w->regions[r], f, home_row, &rr, &e) == DDB_OK;
		if (reads[r].home_answered)
			continue;
		for (size_t k = 0; k < cs->w->n_regions; k++) {
			rr.served_by = k;
			if (k != r && store_find_customers(&cs->w->regions[k], f, home_row, &rr, &e) ==
			                      DDB_OK && k < 64)
				reads[r].answered |= UINT64_C(1) << k;
		}
	}
}

int customers_region_read(const struct customers *cs, size_t r,
                          const struct customer_region_read *reads)
{
	return reads[r].home_answered || (reads[r].answered & cs->replica_regions[r]) != 0 ||
	       (r < 64 && !(cs->homes & (UINT64_C(1) << r)));
}

static void count_row(void *ctx, size_t home, size_t served_by, const struct ddb_customer *c)
{
	(void)home, (void)served_by, (void)c;
	(*(size_t *)ctx)++;
}

/* Each region answers for the customers whose home it is; for a region that
 * is down, the other regions answer with their replicas of its customers. */
static void find(struct customers *cs, const struct customer_request *req)
{
	struct customer_metrics *cm = &cs->m->customers;
	struct ddb_customer_filter f = req->filter;
	f.limit = 0; /* the limit applies to the merged answer */
	cm->finds++;
	size_t total = 0; /* replicas may repeat a record: an upper bound */
	int partial = 0;
	customers_search(cs, &f, count_row, &total, cs->reads);
	for (size_t r = 0; r < cs->w->n_regions; r++)
		partial |= !cs->reads[r].home_answered && cs->reads[r].answered == 0;
	if (req->filter.limit && total > req->filter.limit)
		total = req->filter.limit;
	cm->found += total;
	cm->finds_partial += partial;
}

void customers_apply(struct customers *cs, const struct customer_request *req, int64_t now_us)
{
	switch (req->op) {
	case CUSTOMER_CREATE: customers_create(cs, &req->c, now_us, NULL); break;
	case CUSTOMER_UPDATE:
	case CUSTOMER_DELETE: change(cs, req, now_us); break;
	case CUSTOMER_GET: {
		struct customer_read got;
		customers_get(cs, req->c.id, &got);
		break;
	}
	case CUSTOMER_FIND: find(cs, req); break;
	}
}

void customers_operate(struct customers *cs, int64_t now_us)
{
	struct customer_request req;
	char err[1024];
	cs->m->customers.generated++;
	scenario_set_time(cs->sc, now_us);
	if (scenario_next_customer(cs->sc, &req, err, sizeof err) != 0) {
		fprintf(stderr, "ddbsim: %s\n", err);
		reject(cs, "rule_error");
		return;
	}
	customers_apply(cs, &req, now_us);
}

/* ---- replay ------------------------------------------------------------------ */

/* Writes the broker could not take are offered to it again, in order, as
 * the clients' customer service offered them first. */
static void retry_held(struct customers *cs)
{
	if (cs->n_held == 0 || cs->w->bus.node->state == NODE_DOWN)
		return;
	size_t n = cs->n_held;
	struct held_write *v = cs->held;
	cs->held = NULL;
	cs->n_held = cs->cap_held = 0;
	cs->w->faults.caller = NULL;
	for (size_t i = 0; i < n; i++) {
		cs->m->customers.writes_held--; /* enqueue holds it again if it must */
		enqueue(cs, v[i].region, &v[i].c);
	}
	free(v);
}

void customers_retry_held(struct customers *cs)
{
	retry_held(cs);
}

static void requeue(struct customers *cs, const char *q, size_t n)
{
	struct ddb_err e = { "" };
	for (size_t i = 0; i < n; i++)
		bus_reject(&cs->w->bus, q, cs->deliveries[i].tag, 1, &e);
}

static void note_converged(struct customers *cs, size_t r, int64_t now_us)
{
	if (cs->back_since[r] < 0)
		return;
	struct customer_metrics *cm = &cs->m->customers;
	size_t i = cs->conv_index[r];
	if (i < cm->n_conv) {
		cm->conv[i].converged_at_us = now_us;
		cm->conv[i].converged_wall_s = wall_now();
	}
	cs->back_since[r] = -1;
}

size_t customers_replay(struct customers *cs, size_t r, int64_t now_us)
{
	retry_held(cs);
	struct store *region = &cs->w->regions[r];
	if (region->node->state == NODE_DOWN)
		return 0;
	char q[DDB_ID_MAX];
	world_node_queue(region->node, q, sizeof q);
	struct bus *bus = &cs->w->bus;
	struct ddb_err e = { "" };
	cs->w->faults.caller = region->node; /* the replayer runs at the node */
	size_t n = 0;
	if (bus_receive(bus, q, cs->deliveries, REPLAY_BATCH, &n, &e) != DDB_OK)
		return 0;
	if (n == 0) {
		uint64_t ready = 1, unacked = 1;
		int pending_held = 0;
		for (size_t i = 0; i < cs->n_held; i++)
			pending_held |= cs->held[i].region == r;
		if (bus_depth(bus, q, &ready, &unacked, &e) == DDB_OK && ready + unacked == 0 &&
		    !pending_held)
			note_converged(cs, r, now_us);
		return 0;
	}
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (wire_decode_customer(cs->deliveries[i].body, cs->deliveries[i].len, &cs->batch[kept]) !=
		    0) {
			cs->m->poison_messages++;
			bus_reject(bus, q, cs->deliveries[i].tag, 0, &e);
			continue;
		}
		cs->deliveries[kept++] = cs->deliveries[i];
	}
	if (kept == 0)
		return n;
	enum ddb_status st = store_put_customers(region, cs->batch, kept, cs->results, &e);
	if (st != DDB_OK) {
		if (st == DDB_UNAVAILABLE)
			cs->m->unavailable_calls++;
		requeue(cs, q, kept);
		return 0;
	}
	for (size_t i = 0; i < kept; i++) {
		if (cs->results[i] == DDB_DUPLICATE)
			cs->m->customers.replay_stale++;
		bus_ack(bus, q, cs->deliveries[i].tag, &e);
	}
	cs->m->customers.replayed += kept;
	size_t ci = cs->conv_index[r];
	if (cs->back_since[r] >= 0 && ci < cs->m->customers.n_conv)
		cs->m->customers.conv[ci].replayed += kept;
	return n;
}

void customers_node_changed(struct customers *cs, size_t r, int up, int64_t now_us)
{
	struct customer_metrics *cm = &cs->m->customers;
	if (!up) {
		/* Down again before its queue drained: that recovery never
		 * finished. */
		if (cs->back_since[r] >= 0 && cs->conv_index[r] < cm->n_conv)
			cm->conv[cs->conv_index[r]].converged_at_us = CONVERGENCE_INTERRUPTED;
		cs->back_since[r] = -1;
		return;
	}
	cs->back_since[r] = now_us;
	cs->conv_index[r] = cm->n_conv;
	if (cm->n_conv < METRICS_CONVERGENCES) {
		struct convergence *c = &cm->conv[cm->n_conv++];
		copy_str(c->node, sizeof c->node, cs->w->regions[r].node->name);
		c->up_at_us = now_us;
		c->up_wall_s = wall_now();
		c->converged_at_us = CONVERGENCE_PENDING;
		c->replayed = 0;
	}
}

int customers_pending(struct customers *cs, uint64_t *queued, uint64_t *held)
{
	*queued = 0;
	*held = cs->n_held;
	int failed = 0;
	for (size_t r = 0; r < cs->w->n_regions; r++) {
		uint64_t depth;
		struct ddb_err e = { "" };
		/* Observed directly: the observer is never cut off. */
		if (world_node_queue_depth(cs->w, r, &depth, &e) != DDB_OK)
			failed = 1;
		*queued += depth;
	}
	return failed ? -1 : (*queued || *held);
}
