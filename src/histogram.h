/*
 * histogram.h - fixed-memory latency histograms (log-linear buckets, about
 * 3% precision), so a run of a million orders keeps percentiles without
 * keeping a million samples.
 */
#ifndef DDBSIM_HISTOGRAM_H
#define DDBSIM_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB 32
#define HIST_BUCKETS (60 * HIST_SUB)

struct histogram {
	uint64_t count;
	int64_t min, max;
	double sum;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct histogram *h);
void hist_add(struct histogram *h, int64_t value); /* negative counts as 0 */
/* The value at or below which a fraction q (0..1) of the samples fall (the
 * top of its bucket, capped by max); 0 when empty. */
int64_t hist_percentile(const struct histogram *h, double q);
double hist_mean(const struct histogram *h);
/* How many samples are at most value for sure: those of the buckets whose
 * top is at most value (a sample in the bucket that holds value counts
 * only when value is that bucket's top).  Grows with value; at the largest
 * value, count. */
uint64_t hist_count_at_most(const struct histogram *h, int64_t value);
/* out = now - then, then an earlier copy of now: the samples added since
 * (out's min is 0, its max now's; its sum the difference). */
void hist_subtract(struct histogram *out, const struct histogram *now,
                   const struct histogram *then);
/* The largest value that falls in bucket idx (0 .. HIST_BUCKETS-1). */
uint64_t hist_bucket_top(int idx);

#endif
