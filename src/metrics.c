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
	m->sample_every_us = US_PER_S;
}

void metrics_reject(struct metrics *m, const char *reason)
{
	m->orders_rejected++;
	for (size_t i = 0; i < m->n_reasons; i++)
		if (strcmp(m->reasons[i].reason, reason) == 0) {
			m->reasons[i].n++;
			return;
		}
	if (m->n_reasons == METRICS_REASONS - 1) {
		reason = "other";
		for (size_t i = 0; i < m->n_reasons; i++)
			if (strcmp(m->reasons[i].reason, reason) == 0) {
				m->reasons[i].n++;
				return;
			}
	}
	if (m->n_reasons == METRICS_REASONS)
		return;
	struct reason_count *r = &m->reasons[m->n_reasons++];
	copy_str(r->reason, sizeof r->reason, reason);
	r->n = 1;
}

void metrics_sample(struct metrics *m, const struct depth_sample *s)
{
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
