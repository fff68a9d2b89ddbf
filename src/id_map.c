/*
 * id_map.c - a map from a string id to an entry (see id_map.h).
 */
#include "id_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAP_FIRST_CAP 1024

static uint64_t hash_id(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static const char *key_of(const struct id_map *m, const void *entry)
{
	return (const char *)entry + m->key_offset;
}

void id_map_init(struct id_map *m, size_t key_offset)
{
	memset(m, 0, sizeof *m);
	m->key_offset = key_offset;
}

void **id_map_slot(const struct id_map *m, const char *id)
{
	size_t i = (size_t)(hash_id(id) & (m->cap - 1));
	while (m->slots[i] && strcmp(key_of(m, m->slots[i]), id) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

int id_map_reserve(struct id_map *m)
{
	if ((m->n + 1) * 10 <= m->cap * 7)
		return 0;
	size_t old_cap = m->cap;
	void **old = m->slots;
	m->cap = old_cap ? old_cap * 2 : ID_MAP_FIRST_CAP;
	m->slots = calloc(m->cap, sizeof *m->slots);
	if (!m->slots) {
		m->slots = old;
		m->cap = old_cap;
		return -1;
	}
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			*id_map_slot(m, key_of(m, old[i])) = old[i];
	free(old);
	return 0;
}

void *id_map_find(const struct id_map *m, const char *id)
{
	return m->cap ? *id_map_slot(m, id) : NULL;
}

void id_map_free(struct id_map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
