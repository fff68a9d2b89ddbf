/*
 * node.h - the nodes of the emulated system (each region's store, the
 * central store, the documents store, the broker) and their availability.
 *
 * The list of nodes of the last run is kept in DATA_DIR/nodes, so that
 * `ddbsim drain` and `ddbsim check` know which stores exist.
 */
#ifndef DDBSIM_NODE_H
#define DDBSIM_NODE_H

#include <stddef.h>
#include <stdint.h>
#include "ddbsim/plugin.h"

enum node_kind { NODE_REGION = 1, NODE_CENTRAL, NODE_DOCUMENTS, NODE_BROKER };
enum node_state { NODE_UP = 0, NODE_DOWN = 1, NODE_SLOW = 2 };

/* A node table holds at most this many nodes (links are bitmasks). */
#define NODE_MAX 64
/* The largest latency or jitter of a slow node: 10^9 s, the longest time a
 * scenario may give. */
#define NODE_LATENCY_MAX_US INT64_C(1000000000000000)

#define NODE_CENTRAL_NAME "central"
#define NODE_DOCUMENTS_NAME "documents"
#define NODE_BROKER_NAME "broker"

struct node {
	char name[DDB_NAME_MAX];
	int kind;  /* enum node_kind */
	int state; /* enum node_state */
	int64_t latency_us, jitter_us; /* NODE_SLOW: added to every call */
	uint64_t cut_to;       /* bit i: this node cannot reach node i (a partition) */
	int64_t since_us;      /* when the state last changed */
	uint64_t transitions;  /* how many times it changed */
	uint64_t refused;      /* calls the fault layer refused while down */
};

struct node_table {
	struct node *v;
	size_t n;
	/* Set while a run sets its stores up (the wipe, then the catalog and
	 * its stock): if ddbsim dies or is interrupted then, the stores are
	 * half old, half new, and only a new run makes them whole again;
	 * drain and check refuse them.  Saved as "resetting yes". */
	int resetting;
};

/* Adds a node (up); -1 if the name is taken, invalid, or on ENOMEM. */
int node_add(struct node_table *t, const char *name, int kind, char *err, size_t errlen);
struct node *node_find(struct node_table *t, const char *name);
/* Sets a node's state; returns 1 if it changed, 0 if it was already so.
 * NODE_UP clears a latency too. */
int node_set_state(struct node *n, int state, int64_t now_us);
/* Slow with a latency (0: back to up), unless it is down. */
void node_set_slow(struct node *n, int64_t latency_us, int64_t jitter_us, int64_t now_us);
/* Cuts (cut = 1) or heals (0) the links from each node of `from` to each of
 * `to`, and back unless oneway. */
void node_cut(struct node_table *t, const uint64_t from, const uint64_t to, int oneway, int cut);
/* The bit of a node in link masks. */
uint64_t node_bit(const struct node_table *t, const struct node *n);
/* Whether a can send to b (NULL a: the clients, never cut off). */
int node_reaches(const struct node_table *t, const struct node *a, const struct node *b);
void node_table_free(struct node_table *t);

const char *node_kind_name(int kind);
const char *node_state_name(int state);
int node_state_parse(const char *s); /* -1 if unknown */

/* DATA_DIR/nodes: "resetting yes|no", then one line per node, "NAME KIND
 * STATE LATENCY_US JITTER_US CUT_TO" (CUT_TO: the names it cannot reach,
 * comma-separated, or -).  Saved atomically and durably (temp file, fsync,
 * rename, fsync of the directory). */
int node_table_save(const struct node_table *t, const char *data_dir, char *err, size_t errlen);
int node_table_load(struct node_table *t, const char *data_dir, char *err, size_t errlen);

/* A valid node name: 1-63 bytes of [A-Za-z0-9_-], starting with a letter or
 * a digit (the same rule as region names in scenarios). */
int node_name_valid(const char *name);

#endif
