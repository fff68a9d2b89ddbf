/*
 * prng.h - the one pseudo-random generator of a run (xoshiro256**, seeded
 * through splitmix64).  Everything random in a run, in C and in Lua, draws
 * from one instance, so a seed reproduces the run.
 */
#ifndef DDBSIM_PRNG_H
#define DDBSIM_PRNG_H

#include <stdint.h>

struct prng {
	uint64_t s[4];
};

void prng_seed(struct prng *r, uint64_t seed);
uint64_t prng_next(struct prng *r);
/* Uniform in [0, 1). */
double prng_double(struct prng *r);
/* Uniform in [lo, hi], without modulo bias; lo <= hi. */
int64_t prng_range(struct prng *r, int64_t lo, int64_t hi);
/* Exponentially distributed with the given mean (> 0). */
double prng_exponential(struct prng *r, double mean);

#endif
