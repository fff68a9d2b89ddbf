/*
 * state_hash.h - a fingerprint of the final contents of every store, read
 * in a canonical order (regions by name, then central, then documents; each
 * dataset in key order; every field in a fixed order).  Same seed, config
 * and scenario on the embedded backends give the same hash.
 */
#ifndef DDBSIM_STATE_HASH_H
#define DDBSIM_STATE_HASH_H

#include <stddef.h>
#include <stdint.h>

struct world;

/* 0 and the hash in *out, or -1 with a message in err. */
int state_hash(struct world *w, uint64_t *out, char *err, size_t errlen);

#endif
