/*
 * buggy.c - a test storage plugin, "buggy", with two bugs a plugin author
 * typically makes, for the sweeps and the shrinker to find (README, "Testing
 * a plugin under faults").  Built only for make check, never installed.
 *
 * It is the SQLite plugin (loaded from the build tree with dlopen, its
 * operations taken as they are) with two operations replaced:
 *
 *   BUG 1, apply_events (central): not idempotent.  An order event applied
 *   before (by this open store) is applied again as a new order, so a
 *   redelivered event (a duplicate, a redelivery after a drop, a crash of
 *   the relay or the applier) is counted twice.  The plugin remembers the
 *   ids it applied in memory, as a store keyed by its own row number would.
 *
 *   BUG 2, put_customers (regional): the last write wins.  A record that
 *   arrives after a newer version of it (reordered, delayed, redelivered)
 *   replaces the newer one instead of being refused; it is stored above
 *   the newer version's number, as a store that numbers its own writes
 *   would, so the stale record stays.
 *
 * Everything else is the SQLite plugin's, settings included.
 */
#include <ddbsim/plugin.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BUGGY_INNER_PLUGIN
#error "BUGGY_INNER_PLUGIN: the path of the SQLite plugin's shared object"
#endif

static void *inner_dl;
static const struct ddb_plugin *inner;
static struct ddb_storage_ops buggy_ops;
static struct ddb_plugin buggy_plugin;

/* ---- BUG 1: the order ids a central store applied, by open store --------- */

#define SEEN_BUCKETS 4096
#define STORES_MAX 64

struct seen_id {
	struct seen_id *next;
	unsigned times;
	char id[DDB_ID_MAX];
};

struct seen_store {
	void *handle; /* NULL: free slot */
	struct seen_id *buckets[SEEN_BUCKETS];
};

static struct seen_store stores[STORES_MAX];

static struct seen_store *seen_of(void *handle, int create)
{
	struct seen_store *free_slot = NULL;
	for (size_t i = 0; i < STORES_MAX; i++) {
		if (stores[i].handle == handle)
			return &stores[i];
		if (!stores[i].handle && !free_slot)
			free_slot = &stores[i];
	}
	if (create && free_slot)
		free_slot->handle = handle;
	return create ? free_slot : NULL;
}

static void seen_clear(struct seen_store *s)
{
	for (size_t b = 0; b < SEEN_BUCKETS; b++) {
		while (s->buckets[b]) {
			struct seen_id *e = s->buckets[b];
			s->buckets[b] = e->next;
			free(e);
		}
	}
}

static unsigned hash_id(const char *id)
{
	unsigned h = 2166136261u;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % SEEN_BUCKETS;
}

static struct seen_id *seen_find(struct seen_store *s, const char *id)
{
	for (struct seen_id *e = s->buckets[hash_id(id)]; e; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static int seen_add(struct seen_store *s, const char *id)
{
	struct seen_id *e = seen_find(s, id);
	if (e) {
		e->times++;
		return 0;
	}
	if (!(e = calloc(1, sizeof *e)))
		return -1;
	snprintf(e->id, sizeof e->id, "%s", id);
	e->times = 1;
	unsigned b = hash_id(id);
	e->next = s->buckets[b];
	s->buckets[b] = e;
	return 0;
}

static enum ddb_status buggy_apply_events(void *handle, const struct ddb_event *events, size_t n,
                                          int64_t applied_at_us, struct ddb_err *err)
{
	if (n == 0) /* nothing to change: the inner plugin checks the arguments */
		return inner->storage->apply_events(handle, events, n, applied_at_us, err);
	struct seen_store *s = seen_of(handle, 1);
	struct ddb_event *copy = calloc(n, sizeof *copy);
	if (!s || !copy) {
		free(copy);
		snprintf(err->msg, sizeof err->msg, "apply_events: out of memory");
		return DDB_INTERNAL;
	}
	memcpy(copy, events, n * sizeof *copy);
	for (size_t i = 0; i < n; i++) {
		struct seen_id *e = copy[i].kind == DDB_EVENT_ORDER ? seen_find(s, copy[i].order.id)
		                                                    : NULL;
		/* BUG 1: applied before, so applied again under a new key. */
		if (e && strlen(e->id) + 12 < sizeof copy[i].order.id)
			snprintf(copy[i].order.id, sizeof copy[i].order.id, "%s~again%u", e->id, e->times);
	}
	enum ddb_status st = inner->storage->apply_events(handle, copy, n, applied_at_us, err);
	for (size_t i = 0; st == DDB_OK && i < n; i++)
		if (events[i].kind == DDB_EVENT_ORDER && seen_add(s, events[i].order.id) != 0)
			st = DDB_INTERNAL;
	free(copy);
	return st;
}

static enum ddb_status buggy_reset(void *handle, struct ddb_err *err)
{
	struct seen_store *s = seen_of(handle, 0);
	if (s)
		seen_clear(s);
	return inner->storage->reset(handle, err);
}

static void buggy_close(void *handle)
{
	struct seen_store *s = seen_of(handle, 0);
	if (s) {
		seen_clear(s);
		s->handle = NULL;
	}
	inner->storage->close(handle);
}

/* ---- BUG 2: the last write wins ------------------------------------------- */

static enum ddb_status buggy_put_customers(void *handle, const struct ddb_customer *customers,
                                           size_t n, enum ddb_status *results,
                                           struct ddb_err *err)
{
	struct ddb_customer *copy = malloc((n ? n : 1) * sizeof *copy);
	if (!copy) {
		snprintf(err->msg, sizeof err->msg, "put_customers: out of memory");
		return DDB_INTERNAL;
	}
	if (customers)
		memcpy(copy, customers, n * sizeof *copy);
	for (size_t i = 0; customers && i < n; i++) {
		struct ddb_customer stored;
		struct ddb_err ignored = { "" };
		if (inner->storage->get_customer(handle, copy[i].id, &stored, &ignored) == DDB_OK &&
		    stored.version > copy[i].version)
			copy[i].version = stored.version + 1; /* BUG 2: older, written anyway */
	}
	enum ddb_status st = inner->storage->put_customers(handle, customers ? copy : NULL, n,
	                                                   results, err);
	free(copy);
	return st;
}

/* ---- the descriptor ---------------------------------------------------------- */

__attribute__((destructor)) static void buggy_unload(void)
{
	for (size_t i = 0; i < STORES_MAX; i++)
		seen_clear(&stores[i]);
	if (inner_dl)
		dlclose(inner_dl);
}

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	if (!inner) {
		inner_dl = dlopen(BUGGY_INNER_PLUGIN, RTLD_NOW | RTLD_LOCAL);
		ddb_plugin_entry_fn entry = NULL;
		if (inner_dl)
			*(void **)&entry = dlsym(inner_dl, DDB_PLUGIN_ENTRY_SYMBOL);
		inner = entry ? entry() : NULL;
		if (!inner || inner->abi != DDB_PLUGIN_ABI || !inner->storage) {
			fprintf(stderr, "buggy: cannot load %s: %s\n", BUGGY_INNER_PLUGIN,
			        inner_dl ? "not a storage plugin of this ABI" : dlerror());
			inner = NULL;
			return NULL;
		}
		buggy_ops = *inner->storage;
		buggy_ops.apply_events = buggy_apply_events;
		buggy_ops.put_customers = buggy_put_customers;
		buggy_ops.reset = buggy_reset;
		buggy_ops.close = buggy_close;
		buggy_plugin = *inner;
		buggy_plugin.name = "buggy";
		buggy_plugin.storage = &buggy_ops;
	}
	return &buggy_plugin;
}
