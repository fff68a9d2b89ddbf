/*
 * fault_steps.c - the failure steps in force, and the node states, links
 * and message faults derived from them (see fault_steps.h).
 */
#include "fault_steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fault_steps_init(struct fault_steps *fs, struct node_table *nodes, struct fault_layer *fl)
{
	memset(fs, 0, sizeof *fs);
	fs->nodes = nodes;
	fs->fl = fl;
	fs->base = calloc(nodes->n ? nodes->n : 1, sizeof *fs->base);
	if (!fs->base)
		return -1;
	for (size_t i = 0; i < nodes->n; i++) {
		const struct node *n = &nodes->v[i];
		fs->base[i].down = n->state == NODE_DOWN;
		if (n->state != NODE_UP) {
			fs->base[i].latency_us = n->latency_us;
			fs->base[i].jitter_us = n->jitter_us;
		}
		fs->base[i].cut_to = n->cut_to;
	}
	fs->base_p[0] = fl->p_drop;
	fs->base_p[1] = fl->p_duplicate;
	fs->base_p[2] = fl->p_delay;
	fs->base_p[3] = fl->p_reorder;
	fs->base_delay_us = fl->delay_us;
	return 0;
}

void fault_steps_free(struct fault_steps *fs)
{
	free(fs->base);
	free(fs->active);
	memset(fs, 0, sizeof *fs);
}

static int is_message_fault(int action)
{
	return action >= FAILURE_DROP && action <= FAILURE_REORDER;
}

/* Node mask of a list of names (names the schedule validated). */
static uint64_t mask_of(struct node_table *t, const char (*names)[DDB_NAME_MAX], size_t n)
{
	uint64_t m = 0;
	for (size_t i = 0; i < n; i++) {
		struct node *nd = node_find(t, names[i]);
		if (nd)
			m |= node_bit(t, nd);
	}
	return m;
}

/* The links of node i that partition step f cuts (as node_cut does). */
static uint64_t links_cut(struct node_table *t, const struct scenario_failure *f, size_t i)
{
	uint64_t from = mask_of(t, (const char (*)[DDB_NAME_MAX])f->from, f->n_from);
	uint64_t to = mask_of(t, (const char (*)[DDB_NAME_MAX])f->to, f->n_to);
	uint64_t bit = 1ULL << i, links = 0;
	if (from & bit)
		links |= to;
	if (!f->oneway && (to & bit))
		links |= from;
	return links & ~bit;
}

static int targets(const struct scenario_failure *f, const struct node *n)
{
	return strcmp(f->target, n->name) == 0;
}

/* Takes out of the steps in force the start of `end` (one start per end),
 * and with `up` every down and slow step on that node. */
static void remove_where(struct fault_steps *fs, const struct scenario_failure *end,
                         const struct node *up)
{
	size_t kept = 0;
	int removed_end = 0;
	for (size_t i = 0; i < fs->n_active; i++) {
		const struct scenario_failure *a = fs->active[i];
		int drop = 0;
		if (end && !removed_end && a->step == end->step && strcmp(a->target, end->target) == 0)
			drop = removed_end = 1; /* one start per end */
		if (up && targets(a, up) && (a->action == FAILURE_DOWN || a->action == FAILURE_SLOW))
			drop = 1;
		if (!drop)
			fs->active[kept++] = a;
	}
	fs->n_active = kept;
}

/* Sets every node and the message faults from the base and the steps in
 * force. */
static void derive(struct fault_steps *fs, int64_t now_us, uint64_t *changed)
{
	struct node_table *t = fs->nodes;
	for (size_t i = 0; i < t->n; i++) {
		struct node *n = &t->v[i];
		const struct fault_base *b = &fs->base[i];
		int down = b->down;
		int64_t latency = b->latency_us, jitter = b->jitter_us;
		uint64_t cut = b->cut_to;
		for (size_t k = 0; k < fs->n_active; k++) {
			const struct scenario_failure *a = fs->active[k];
			if (a->action == FAILURE_DOWN && targets(a, n))
				down = 1;
			else if (a->action == FAILURE_SLOW && targets(a, n)) {
				latency = a->latency_us > latency ? a->latency_us : latency;
				jitter = a->jitter_us > jitter ? a->jitter_us : jitter;
			} else if (a->action == FAILURE_PARTITION)
				cut |= links_cut(t, a, i);
		}
		int was_down = n->state == NODE_DOWN;
		node_set_state(n, down ? NODE_DOWN : latency > 0 ? NODE_SLOW : NODE_UP, now_us);
		if (was_down != (n->state == NODE_DOWN))
			*changed |= 1ULL << i;
		n->latency_us = latency;
		n->jitter_us = jitter;
		n->cut_to = cut;
	}
	double p[FAULT_MESSAGE_KINDS];
	memcpy(p, fs->base_p, sizeof p);
	int64_t delay = fs->base_delay_us;
	for (size_t k = 0; k < fs->n_active; k++) {
		const struct scenario_failure *a = fs->active[k];
		if (!is_message_fault(a->action))
			continue;
		int m = a->action - FAILURE_DROP;
		int delay_kind = a->action == FAILURE_DELAY;
		if (a->probability > p[m] ||
		    (delay_kind && a->probability == p[m] && a->delay_us > delay)) {
			p[m] = a->probability;
			if (delay_kind)
				delay = a->delay_us;
		}
	}
	struct fault_layer *fl = fs->fl;
	fl->p_drop = p[0];
	fl->p_duplicate = p[1];
	fl->p_delay = p[2];
	fl->p_reorder = p[3];
	fl->delay_us = delay;
}

static void describe_node(const struct node *n, char *out, size_t outlen)
{
	if (n->state == NODE_SLOW)
		snprintf(out, outlen, "slow %.3f s", (double)n->latency_us / 1e6);
	else
		snprintf(out, outlen, "%s", node_state_name(n->state));
}

int fault_steps_crashed(const struct fault_steps *fs, const char *target)
{
	for (size_t i = 0; i < fs->n_active; i++)
		if (fs->active[i]->action == FAILURE_CRASH && strcmp(fs->active[i]->target, target) == 0)
			return 1;
	return 0;
}

/* What the step did, for the report: the step itself, or for an end whose
 * target other steps keep in a fault, what still holds. */
static void describe(struct fault_steps *fs, const struct scenario_failure *f, char *what,
                     size_t whatlen)
{
	struct node *n = f->target[0] ? node_find(fs->nodes, f->target) : NULL;
	char state[64];
	int a = f->action;
	switch (a) {
	case FAILURE_DOWN:
	case FAILURE_UP:
	case FAILURE_SLOW:
		if (!n) {
			snprintf(what, whatlen, "%s", failure_action_name(a));
			break;
		}
		describe_node(n, state, sizeof state);
		if (!f->ends && a == FAILURE_SLOW)
			snprintf(what, whatlen, "slow %.3f s", (double)f->latency_us / 1e6);
		else if (!f->ends)
			snprintf(what, whatlen, "%s", failure_action_name(a));
		else if (n->state == NODE_UP)
			snprintf(what, whatlen, "%s", a == FAILURE_SLOW ? "fast" : "up");
		else if (a == FAILURE_UP && n->state == NODE_SLOW)
			snprintf(what, whatlen, "up, %s", state); /* a slow step is in force */
		else
			snprintf(what, whatlen, "%s ends, still %s", a == FAILURE_SLOW ? "slow" : "down",
			         state);
		break;
	case FAILURE_PARTITION:
	case FAILURE_HEAL: {
		int still = 0;
		for (size_t i = 0; a == FAILURE_HEAL && i < fs->nodes->n; i++)
			still |= (fs->nodes->v[i].cut_to & links_cut(fs->nodes, f, i)) != 0;
		snprintf(what, whatlen, "%s%s %s... / %s...%s", failure_action_name(a),
		         f->oneway ? " one-way" : "", f->from[0], f->to[0],
		         still ? " (still cut)" : "");
		break;
	}
	case FAILURE_DROP:
	case FAILURE_DUPLICATE:
	case FAILURE_DELAY:
	case FAILURE_REORDER: {
		const struct fault_layer *fl = fs->fl;
		const double p[] = { fl->p_drop, fl->p_duplicate, fl->p_delay, fl->p_reorder };
		double now_p = p[a - FAILURE_DROP];
		if (f->ends && now_p > 0)
			snprintf(what, whatlen, "%s ends, still p=%.3g", failure_action_name(a), now_p);
		else
			snprintf(what, whatlen, "%s p=%.3g", failure_action_name(a), f->probability);
		break;
	}
	case FAILURE_RESTART:
		if (fault_steps_crashed(fs, f->target))
			snprintf(what, whatlen, "crash ends, still crashed");
		else
			snprintf(what, whatlen, "restart");
		break;
	default:
		snprintf(what, whatlen, "%s", failure_action_name(a));
		break;
	}
}

int fault_steps_apply(struct fault_steps *fs, const struct scenario_failure *f, int64_t now_us,
                      uint64_t *changed, char *what, size_t whatlen)
{
	*changed = 0;
	struct node *n = f->target[0] ? node_find(fs->nodes, f->target) : NULL;
	size_t ni = n ? (size_t)(n - fs->nodes->v) : 0;
	if (f->ends) {
		remove_where(fs, f, NULL);
	} else if (f->has_end) {
		if (fs->n_active == fs->cap_active) {
			size_t cap = fs->cap_active ? fs->cap_active * 2 : 16;
			const struct scenario_failure **grown = realloc(fs->active, cap * sizeof *grown);
			if (!grown)
				return -1;
			fs->active = grown;
			fs->cap_active = cap;
		}
		fs->active[fs->n_active++] = f;
	} else {
		/* Without a duration: the base changes for the rest of the run. */
		switch (f->action) {
		case FAILURE_DOWN:
			if (n)
				fs->base[ni].down = 1;
			break;
		case FAILURE_UP:
			if (n) {
				fs->base[ni].down = 0;
				fs->base[ni].latency_us = fs->base[ni].jitter_us = 0;
				remove_where(fs, NULL, n);
			}
			break;
		case FAILURE_SLOW:
			if (n) {
				fs->base[ni].latency_us = f->latency_us;
				fs->base[ni].jitter_us = f->jitter_us;
			}
			break;
		case FAILURE_PARTITION:
			for (size_t i = 0; i < fs->nodes->n; i++)
				fs->base[i].cut_to |= links_cut(fs->nodes, f, i);
			break;
		case FAILURE_DROP:
		case FAILURE_DUPLICATE:
		case FAILURE_DELAY:
		case FAILURE_REORDER:
			fs->base_p[f->action - FAILURE_DROP] = f->probability;
			if (f->action == FAILURE_DELAY)
				fs->base_delay_us = f->delay_us;
			break;
		default:
			break;
		}
	}
	derive(fs, now_us, changed);
	describe(fs, f, what, whatlen);
	return 0;
}
