/*
 * metrics.c - counters and samples of a run (see metrics.h).
 */
#include "metrics.h"

#include <string.h>

#include "util.h"

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof *m);
	hist_init(&m->order_latency_us);
	hist_init(&m->sync_lag_us);
	hist_init(&m->sync_lag_interval_us);
	m->sample_every_us = US_PER_S;
}

static void count_reason(struct reason_count *v, size_t *n, const char *reason)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i].reason, reason) == 0) {
			v[i].n++;
			return;
		}
	if (*n >= METRICS_REASONS - 1) { /* the last slot is "other" */
		reason = "other";
		for (size_t i = 0; i < *n; i++)
			if (strcmp(v[i].reason, reason) == 0) {
				v[i].n++;
				return;
			}
	}
	if (*n == METRICS_REASONS)
		return;
	struct reason_count *r = &v[(*n)++];
	copy_str(r->reason, sizeof r->reason, reason);
	r->n = 1;
}

void metrics_reject(struct metrics *m, const char *reason)
{
	m->orders_rejected++;
	count_reason(m->reasons, &m->n_reasons, reason);
}

void metrics_customer_reject(struct metrics *m, const char *reason)
{
	m->customers.rejected++;
	count_reason(m->customers.reasons, &m->customers.n_reasons, reason);
}

void metrics_sample(struct metrics *m, struct depth_sample *s)
{
	s->accepted = m->orders_accepted;
	s->rejected = m->orders_rejected;
	for (size_t i = 0; i < m->n_reasons && i < METRICS_SAMPLE_REASONS; i++)
		s->rejected_by_reason[i] = m->reasons[i].n;
	const struct histogram *lag = &m->sync_lag_interval_us;
	s->lag_p50_us = lag->count ? hist_percentile(lag, 0.50) : -1;
	s->lag_p99_us = lag->count ? hist_percentile(lag, 0.99) : -1;
	hist_init(&m->sync_lag_interval_us);
	if (s->central > m->max_depth_central)
		m->max_depth_central = s->central;
	if (s->documents > m->max_depth_documents)
		m->max_depth_documents = s->documents;
	if (m->n_samples == METRICS_SAMPLES) {
		for (size_t i = 0; i < METRICS_SAMPLES / 2; i++)
			m->samples[i] = m->samples[2 * i + 1];
		m->n_samples = METRICS_SAMPLES / 2;
		m->sample_every_us *= 2;
	}
	m->samples[m->n_samples++] = *s;
}

void metrics_step(struct metrics *m, int64_t at_us, const char *target, const char *action)
{
	if (m->n_steps == METRICS_STEPS)
		return;
	struct step_record *r = &m->steps[m->n_steps++];
	r->at_us = at_us;
	copy_str(r->target, sizeof r->target, target);
	copy_str(r->action, sizeof r->action, action);
}
