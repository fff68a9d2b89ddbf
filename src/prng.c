/*
 * prng.c - xoshiro256** seeded through splitmix64: small, fast, and the same
 * sequence on every machine for a given seed.
 */
#include "prng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void prng_seed(struct prng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t prng_next(struct prng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double prng_double(struct prng *r)
{
	return (double)(prng_next(r) >> 11) * 0x1.0p-53;
}

int64_t prng_range(struct prng *r, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo; /* hi - lo, without overflow */
	if (span == UINT64_MAX)
		return (int64_t)prng_next(r);
	uint64_t n = span + 1;
	/* Reject the top values that would make some results likelier. */
	uint64_t limit = UINT64_MAX - (UINT64_MAX % n) - 1;
	uint64_t x;
	do
		x = prng_next(r);
	while (x > limit);
	return (int64_t)((uint64_t)lo + x % n);
}

double prng_exponential(struct prng *r, double mean)
{
	/* 1 - u is in (0, 1]: log never sees 0. */
	return -mean * log(1.0 - prng_double(r));
}
