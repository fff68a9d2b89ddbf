/*
 * id_map.h - a map from a string id to an entry that holds it: open
 * addressing with linear probing (FNV-1a), a power-of-two table grown to
 * keep it at most 70% full.  The entries are the caller's (it allocates and
 * frees them); the map only finds them.  Used for the customers of a run
 * and for the orders the API placed.
 */
#ifndef DDBSIM_ID_MAP_H
#define DDBSIM_ID_MAP_H

#include <stddef.h>

struct id_map {
	void **slots;
	size_t cap, n;
	size_t key_offset; /* where in an entry its NUL-terminated id starts */
};

/* An empty map (no table yet) of entries whose id is at key_offset. */
void id_map_init(struct id_map *m, size_t key_offset);
/* Makes room for one more entry (grows the table if it would pass 70%).
 * 0, or -1 when out of memory (the map is unchanged). */
int id_map_reserve(struct id_map *m);
/* The slot of id: it holds the entry, or NULL where id would go (then
 * store an entry there and count it in m->n).  The table must exist. */
void **id_map_slot(const struct id_map *m, const char *id);
/* The entry of id, or NULL. */
void *id_map_find(const struct id_map *m, const char *id);
/* Frees the table (not the entries). */
void id_map_free(struct id_map *m);

#endif
