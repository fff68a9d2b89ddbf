/*
 * world.h - the emulated system as configured: a store per region, the
 * central store, the documents store, the broker, and the node table that
 * says which of them are up.  Opens and closes the plugin instances.
 */
#ifndef DDBSIM_WORLD_H
#define DDBSIM_WORLD_H

#include "faults.h"
#include "node.h"

struct config;

#define QUEUE_CENTRAL "sync.central"     /* regions' outbox events, to the center */
#define QUEUE_DOCUMENTS "sync.documents" /* applied events, to the documents store */
#define QUEUE_NODE_PREFIX "node."        /* node.NAME: writes held for a node that is down */

struct world {
	char *plugin_path;
	char *data_dir;
	struct node_table nodes;
	size_t n_regions;
	struct store *regions; /* same order as the scenario's regions */
	struct store central;
	struct store documents;
	struct bus bus;
	struct fault_layer faults; /* every store and the bus call through it */
	unsigned open_flags;       /* DDB_OPEN_* every plugin instance was opened with */
};

/* The plugin search path: the config's plugin_dir, else $DDBSIM_PLUGIN_DIR,
 * else the installed plugin directory. */
const char *world_plugin_path(const struct config *cfg);

/* Opens every node.  data_dir is created if missing.  On error everything
 * opened so far is closed and err says what failed (file, section, plugin). */
int world_open(struct world *w, const struct config *cfg, const char *data_dir,
               char (*regions)[DDB_NAME_MAX], size_t n_regions, char *err, size_t errlen);
/* The same, opening every plugin instance with open_flags (DDB_OPEN_*):
 * with DDB_OPEN_READONLY (ddbsim check) nothing is created, the data
 * directory neither, and a missing store is an error. */
int world_open_flags(struct world *w, const struct config *cfg, const char *data_dir,
                     char (*regions)[DDB_NAME_MAX], size_t n_regions, unsigned open_flags,
                     char *err, size_t errlen);
void world_close(struct world *w);
/* Deletes all data in every store and queue: a fresh run starts empty. */
int world_reset(struct world *w, char *err, size_t errlen);
/* The name of the queue that holds writes for node n while it is down. */
void world_node_queue(const struct node *n, char *buf, size_t len);
/* Messages in region r's node queue (ready + unacked), as the transport
 * counts them: an observation, past the fault layer (0 on failure). */
enum ddb_status world_node_queue_depth(const struct world *w, size_t r, uint64_t *depth,
                                       struct ddb_err *err);
/* The region store called name, or NULL. */
struct store *world_region(struct world *w, const char *name);

#endif
