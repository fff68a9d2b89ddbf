/*
 * world.c - builds the emulated system from the config: which plugin
 * serves each node, with which settings, and checks that it can serve the
 * node's role before anything runs.
 */
#include "world.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "datadir_lock.h"
#include "loader.h"
#include "queued_writes.h"
#include "util.h"

#define DEFAULT_STORAGE "sqlite"
#define DEFAULT_TRANSPORT "memory"

const char *world_plugin_path(const struct config *cfg)
{
	if (cfg && cfg->plugin_dir && *cfg->plugin_dir)
		return cfg->plugin_dir;
	const char *env = getenv("DDBSIM_PLUGIN_DIR");
	return env && *env ? env : DDBSIM_PKGLIBDIR;
}

static void fill_open_args(struct ddb_open_args *a, const char *node, const char *data_dir,
                           unsigned roles, const struct config_section *sec, unsigned flags)
{
	a->flags = flags;
	a->node = node;
	a->data_dir = data_dir;
	a->roles = roles;
	a->options = sec ? sec->options : NULL;
	a->n_options = sec ? sec->n_options : 0;
}

static const char *section_label(const struct config_section *sec, char *buf, size_t len,
                                 const struct config *cfg)
{
	if (!sec)
		return "built-in default";
	snprintf(buf, len, "%s:%d [%s]", cfg->path, sec->line, sec->name);
	return buf;
}

/* 0 when every key of sec is a setting the plugin reads; else an error
 * naming the line of the first one that is not. */
static int check_settings(const struct config_section *sec, const struct plugin *p,
                          const struct config *cfg, char *err, size_t errlen)
{
	const char *const *known = p->desc->settings;
	for (size_t i = 0; sec && i < sec->n_options; i++) {
		const char *key = sec->options[i].key;
		size_t k = 0;
		while (known && known[k] && strcmp(known[k], key) != 0)
			k++;
		if (known && known[k])
			continue;
		char list[512] = "";
		size_t used = 0;
		for (size_t j = 0; known && known[j] && used < sizeof list; j++)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "",
			                         known[j]);
		return errorf(err, errlen, "%s:%d: [%s]: plugin '%s' has no setting '%s' (%s%s)",
		              cfg->path, sec->option_lines[i], sec->name, p->desc->name, key,
		              known && known[0] ? "its settings: " : "it takes none", list);
	}
	return 0;
}

static const char *role_name(unsigned role)
{
	return role == DDB_ROLE_REGIONAL ? "regional" : role == DDB_ROLE_CENTRAL ? "central" : "documents";
}

static int open_store(struct world *w, const struct config *cfg, struct store *s, struct node *node,
                      unsigned role, char *err, size_t errlen)
{
	const struct config_section *sec =
	    config_storage_section(cfg, node->name, node->kind == NODE_REGION);
	const char *name = sec && sec->plugin ? sec->plugin : NULL;
	if (!name && node->kind == NODE_REGION) {
		/* [region.NAME] without plugin = takes the plugin of [regions]. */
		const struct config_section *all = config_section(cfg, "regions");
		name = all && all->plugin ? all->plugin : NULL;
	}
	if (!name)
		name = DEFAULT_STORAGE;
	char label[512], msg[1024];
	const char *where = section_label(sec, label, sizeof label, cfg);
	struct plugin *p = plugin_load(name, w->plugin_path, DDB_KIND_STORAGE, msg, sizeof msg);
	if (!p)
		return errorf(err, errlen, "%s: node %s: %s", where, node->name, msg);
	if (!(p->desc->caps & role)) {
		errorf(err, errlen, "%s: node %s: plugin '%s' cannot serve the %s role", where,
		       node->name, p->desc->name, role_name(role));
		plugin_unload(p);
		return -1;
	}
	if (check_settings(sec, p, cfg, err, errlen) != 0) {
		plugin_unload(p);
		return -1;
	}
	struct ddb_open_args args;
	fill_open_args(&args, node->name, w->data_dir, role, sec, w->open_flags);
	struct ddb_err e = { "" };
	enum ddb_status st = p->desc->storage->open(&args, &s->h, &e);
	if (st != DDB_OK) {
		errorf(err, errlen, "%s: node %s: plugin '%s' cannot open: %s (%s)", where, node->name,
		       p->desc->name, e.msg, ddb_status_name(st));
		plugin_unload(p);
		return -1;
	}
	s->node = node;
	s->plugin = p;
	s->ops = p->desc->storage;
	s->fl = &w->faults;
	return 0;
}

static void close_store(struct store *s)
{
	if (s->plugin) {
		s->ops->close(s->h);
		plugin_unload(s->plugin);
	}
	memset(s, 0, sizeof *s);
}

/* The sync queues and a node.NAME queue per region. */
static int declare_queues(struct world *w, char *err, size_t errlen)
{
	static const char *const queues[] = { QUEUE_CENTRAL, QUEUE_DOCUMENTS };
	struct ddb_err e = { "" };
	for (size_t i = 0; i < ARRAY_LEN(queues); i++)
		if (w->bus.ops->declare(w->bus.h, queues[i], &e) != DDB_OK)
			return errorf(err, errlen, "transport: cannot declare queue %s: %s", queues[i],
			              e.msg);
	for (size_t r = 0; r < w->n_regions; r++) {
		char q[DDB_ID_MAX];
		world_node_queue(w->regions[r].node, q, sizeof q);
		if (w->bus.ops->declare(w->bus.h, q, &e) != DDB_OK)
			return errorf(err, errlen, "transport: cannot declare queue %s: %s", q, e.msg);
	}
	return 0;
}

void world_node_queue(const struct node *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", QUEUE_NODE_PREFIX, n->name);
}

enum ddb_status world_node_queue_depth(const struct world *w, size_t r, uint64_t *depth,
                                       struct ddb_err *err)
{
	char q[DDB_ID_MAX];
	uint64_t ready = 0, unacked = 0;
	world_node_queue(w->regions[r].node, q, sizeof q);
	enum ddb_status st = w->bus.ops->depth(w->bus.h, q, &ready, &unacked, err);
	*depth = st == DDB_OK ? ready + unacked : 0;
	return st;
}

static int open_bus(struct world *w, const struct config *cfg, struct node *node, char *err,
                    size_t errlen)
{
	const struct config_section *sec = config_section(cfg, "transport");
	const char *name = sec && sec->plugin ? sec->plugin : DEFAULT_TRANSPORT;
	char label[512], msg[1024];
	const char *where = section_label(sec, label, sizeof label, cfg);
	struct plugin *p = plugin_load(name, w->plugin_path, DDB_KIND_TRANSPORT, msg, sizeof msg);
	if (!p)
		return errorf(err, errlen, "%s: transport: %s", where, msg);
	if (check_settings(sec, p, cfg, err, errlen) != 0) {
		plugin_unload(p);
		return -1;
	}
	struct ddb_open_args args;
	fill_open_args(&args, node->name, w->data_dir, 0, sec, w->open_flags);
	struct ddb_err e = { "" };
	enum ddb_status st = p->desc->transport->open(&args, &w->bus.h, &e);
	if (st != DDB_OK) {
		errorf(err, errlen, "%s: transport plugin '%s' cannot open: %s (%s)", where,
		       p->desc->name, e.msg, ddb_status_name(st));
		plugin_unload(p);
		return -1;
	}
	w->bus.node = node;
	w->bus.fl = &w->faults;
	w->bus.plugin = p;
	w->bus.ops = p->desc->transport;
	w->bus.durable = (p->desc->caps & DDB_TRANSPORT_DURABLE) != 0;
	return declare_queues(w, err, errlen);
}

int world_open(struct world *w, const struct config *cfg, const char *data_dir,
               char (*regions)[DDB_NAME_MAX], size_t n_regions, char *err, size_t errlen)
{
	return world_open_flags(w, cfg, data_dir, regions, n_regions, 0, err, errlen);
}

int world_open_flags(struct world *w, const struct config *cfg, const char *data_dir,
                     char (*regions)[DDB_NAME_MAX], size_t n_regions, unsigned open_flags,
                     char *err, size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->open_flags = open_flags;
	w->plugin_path = strdup(world_plugin_path(cfg));
	w->data_dir = strdup(data_dir);
	w->regions = calloc(n_regions ? n_regions : 1, sizeof *w->regions);
	if (!w->plugin_path || !w->data_dir || !w->regions) {
		world_close(w);
		return errorf(err, errlen, "out of memory");
	}
	/* An observer creates nothing, not even the directory. */
	if (!(open_flags & DDB_OPEN_READONLY) && datadir_create(data_dir, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < n_regions; i++)
		if (node_add(&w->nodes, regions[i], NODE_REGION, err, errlen) != 0)
			goto fail;
	if (node_add(&w->nodes, NODE_CENTRAL_NAME, NODE_CENTRAL, err, errlen) != 0 ||
	    node_add(&w->nodes, NODE_DOCUMENTS_NAME, NODE_DOCUMENTS, err, errlen) != 0 ||
	    node_add(&w->nodes, NODE_BROKER_NAME, NODE_BROKER, err, errlen) != 0)
		goto fail;
	/* The node table does not move from here on: stores keep pointers. */
	w->faults.nodes = &w->nodes;
	w->n_regions = n_regions;
	for (size_t i = 0; i < n_regions; i++)
		if (open_store(w, cfg, &w->regions[i], &w->nodes.v[i], DDB_ROLE_REGIONAL, err, errlen) != 0)
			goto fail;
	if (open_store(w, cfg, &w->central, node_find(&w->nodes, NODE_CENTRAL_NAME), DDB_ROLE_CENTRAL,
	               err, errlen) != 0 ||
	    open_store(w, cfg, &w->documents, node_find(&w->nodes, NODE_DOCUMENTS_NAME),
	               DDB_ROLE_DOCUMENTS, err, errlen) != 0 ||
	    open_bus(w, cfg, node_find(&w->nodes, NODE_BROKER_NAME), err, errlen) != 0)
		goto fail;
	return 0;
fail:
	world_close(w);
	return -1;
}

void world_close(struct world *w)
{
	for (size_t i = 0; w->regions && i < w->n_regions; i++)
		close_store(&w->regions[i]);
	close_store(&w->central);
	close_store(&w->documents);
	if (w->bus.plugin) {
		w->bus.ops->close(w->bus.h);
		plugin_unload(w->bus.plugin);
	}
	faults_free(&w->faults);
	free(w->regions);
	free(w->plugin_path);
	free(w->data_dir);
	node_table_free(&w->nodes);
	memset(w, 0, sizeof *w);
}

static int reset_store(struct store *s, char *err, size_t errlen)
{
	struct ddb_err e = { "" };
	if (s->ops->reset(s->h, &e) != DDB_OK)
		return errorf(err, errlen, "node %s: reset failed: %s", s->node->name, e.msg);
	return 0;
}

int world_reset(struct world *w, char *err, size_t errlen)
{
	for (size_t i = 0; i < w->n_regions; i++)
		if (reset_store(&w->regions[i], err, errlen) != 0)
			return -1;
	if (reset_store(&w->central, err, errlen) != 0 || reset_store(&w->documents, err, errlen) != 0)
		return -1;
	struct ddb_err e = { "" };
	if (w->bus.ops->reset(w->bus.h, &e) != DDB_OK)
		return errorf(err, errlen, "transport: reset failed: %s", e.msg);
	faults_free(&w->faults);
	/* Nothing queued any more: forget what was (see queued_writes.h). */
	if (queued_writes_clear(w->data_dir, err, errlen) != 0)
		return -1;
	return declare_queues(w, err, errlen);
}

struct store *world_region(struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n_regions; i++)
		if (strcmp(w->regions[i].node->name, name) == 0)
			return &w->regions[i];
	return NULL;
}
