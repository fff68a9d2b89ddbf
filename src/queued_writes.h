/*
 * queued_writes.h - the record of the customer writes queued for nodes that
 * were down, kept in DATA_DIR/queued_writes so that any later process (a
 * drain, a check) can tell whether each one reached its node.
 *
 * The queue node.NAME holds the writes themselves; this file only says
 * which were queued: one line per write, "NODE VERSION ID" (the id in hex),
 * appended once the broker confirmed the write.  A run's wipe removes it.
 * A write queued and then lost from the queue (a broker that lost its
 * messages, a damaged or deleted DATA_DIR/broker.queues) is in this file and
 * not in its node: check_node_queues reports it.
 */
#ifndef DDBSIM_QUEUED_WRITES_H
#define DDBSIM_QUEUED_WRITES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ddbsim/plugin.h"

#define QUEUED_WRITES_FILE "queued_writes"

/* The appending side; opened on the first write. */
struct queued_writes {
	char *path;
	FILE *f;
	int failed; /* an append failed (reported once) */
};

/* 0, or -1 on ENOMEM. */
int queued_writes_init(struct queued_writes *q, const char *data_dir);
/* Appends a write queued for node.  -1 with err set if it cannot. */
int queued_writes_add(struct queued_writes *q, const char *node, const char *id, int64_t version,
                      char *err, size_t errlen);
void queued_writes_free(struct queued_writes *q);
/* Removes the file (a fresh run queued nothing yet). */
int queued_writes_clear(const char *data_dir, char *err, size_t errlen);

/* One record as read back. */
struct queued_write {
	char node[DDB_NAME_MAX];
	char id[DDB_NAME_MAX];
	int64_t version;
};

/* Reads every record, sorted by node, then id, then highest version first.
 * No file: none.  A damaged line is an error naming the file and line (a
 * last line cut short by a crash is ignored). */
int queued_writes_load(const char *data_dir, struct queued_write **out, size_t *n, char *err,
                       size_t errlen);

#endif
