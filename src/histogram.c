/*
 * histogram.c - log-linear buckets: exact below 32, then 32 buckets per
 * power of two.
 */
#include "histogram.h"

#include <string.h>

void hist_init(struct histogram *h)
{
	memset(h, 0, sizeof *h);
}

static int bucket_of(uint64_t v)
{
	if (v < HIST_SUB)
		return (int)v;
	int m = 63 - __builtin_clzll(v); /* >= 5 */
	int idx = (m - 4) * HIST_SUB + (int)((v >> (m - 5)) & (HIST_SUB - 1));
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

uint64_t hist_bucket_top(int idx)
{
	if (idx < HIST_SUB)
		return (uint64_t)idx;
	int m = idx / HIST_SUB + 4, sub = idx % HIST_SUB;
	uint64_t low = ((uint64_t)(HIST_SUB + sub)) << (m - 5);
	return low + (1ULL << (m - 5)) - 1;
}

void hist_add(struct histogram *h, int64_t value)
{
	if (value < 0)
		value = 0;
	if (h->count == 0 || value < h->min)
		h->min = value;
	if (h->count == 0 || value > h->max)
		h->max = value;
	h->count++;
	h->sum += (double)value;
	h->buckets[bucket_of((uint64_t)value)]++;
}

int64_t hist_percentile(const struct histogram *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	uint64_t seen = 0;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen > rank) {
			uint64_t top = hist_bucket_top(i);
			return top > (uint64_t)h->max ? h->max : (int64_t)top;
		}
	}
	return h->max;
}

void hist_subtract(struct histogram *out, const struct histogram *now,
                   const struct histogram *then)
{
	hist_init(out);
	for (int i = 0; i < HIST_BUCKETS; i++) {
		uint64_t d = now->buckets[i] >= then->buckets[i] ? now->buckets[i] - then->buckets[i] : 0;
		out->buckets[i] = d;
		out->count += d;
	}
	if (out->count) {
		out->min = 0;
		out->max = now->max;
		out->sum = now->sum - then->sum;
	}
}

double hist_mean(const struct histogram *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}

uint64_t hist_count_at_most(const struct histogram *h, int64_t value)
{
	if (value < 0)
		return 0;
	if (h->count == 0 || value >= h->max)
		return h->count;
	uint64_t n = 0;
	for (int i = 0; i < HIST_BUCKETS && hist_bucket_top(i) <= (uint64_t)value; i++)
		n += h->buckets[i];
	return n;
}
