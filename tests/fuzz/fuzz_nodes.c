/*
 * fuzz_nodes.c - the reader of DATA_DIR/nodes (src/node.c) on any bytes.
 *
 * Two ways in, both ending in the same property, that what node_table_save
 * writes node_table_load reads back as the same table (names, kinds,
 * states, latencies, links and the resetting flag):
 *   1. the input is written as a nodes file and loaded; a refusal must
 *      name the file; what loads must have latencies and jitters in range
 *      (0 to NODE_LATENCY_MAX_US), and is saved and loaded again;
 *   2. a table is built from the input, each word of it that is a valid
 *      node name becoming a node, with a kind, a state, a latency and links
 *      drawn from the bytes; it is saved and loaded.
 */
#include "node.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same_table(const struct node_table *a, const struct node_table *b, const char *how)
{
	if (a->n != b->n)
		fuzz_fail("%s: %zu nodes saved, %zu loaded", how, a->n, b->n);
	if (!a->resetting != !b->resetting)
		fuzz_fail("%s: resetting %d saved, %d loaded", how, a->resetting, b->resetting);
	for (size_t i = 0; i < a->n; i++) {
		const struct node *x = &a->v[i], *y = &b->v[i];
		if (strcmp(x->name, y->name) != 0 || x->kind != y->kind || x->state != y->state ||
		    x->latency_us != y->latency_us || x->jitter_us != y->jitter_us ||
		    x->cut_to != y->cut_to)
			fuzz_fail("%s: node %zu saved as %s %d %d %lld %lld %llx, loaded as %s %d %d %lld "
			          "%lld %llx", how, i, x->name, x->kind, x->state,
			          (long long)x->latency_us, (long long)x->jitter_us,
			          (unsigned long long)x->cut_to, y->name, y->kind, y->state,
			          (long long)y->latency_us, (long long)y->jitter_us,
			          (unsigned long long)y->cut_to);
	}
}

/* Saves t in dir and loads it back; they must be the same. */
static void round_trip(const struct node_table *t, const char *dir, const char *how)
{
	char err[1024];
	if (node_table_save(t, dir, err, sizeof err) != 0)
		fuzz_fail("%s: cannot save: %s", how, err);
	struct node_table back = { 0 };
	if (node_table_load(&back, dir, err, sizeof err) != 0)
		fuzz_fail("%s: what was saved does not load: %s", how, err);
	same_table(t, &back, how);
	node_table_free(&back);
}

/* The next byte of the input (0 past its end). */
static unsigned next_byte(const uint8_t *data, size_t size, size_t *at)
{
	return *at < size ? data[(*at)++] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[4200], path[4300];
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "%s", fuzz_scratch_dir());
		snprintf(path, sizeof path, "%s/nodes", dir);
	}

	/* 1. The input as a nodes file. */
	fuzz_write_file(path, data, size);
	struct node_table t = { 0 };
	char err[1024] = "";
	if (node_table_load(&t, dir, err, sizeof err) != 0) {
		if (!strstr(err, path))
			fuzz_fail("node_table_load refused %s without naming it: '%s'", path, err);
	} else {
		for (size_t i = 0; i < t.n; i++)
			if (t.v[i].latency_us < 0 || t.v[i].latency_us > NODE_LATENCY_MAX_US ||
			    t.v[i].jitter_us < 0 || t.v[i].jitter_us > NODE_LATENCY_MAX_US)
				fuzz_fail("node %s loaded with latency %lld us and jitter %lld us",
				          t.v[i].name, (long long)t.v[i].latency_us,
				          (long long)t.v[i].jitter_us);
		round_trip(&t, dir, "a nodes file");
	}
	node_table_free(&t);

	/* 2. A table made of the input's words. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	size_t at = 0;
	t.resetting = (int)(next_byte(data, size, &at) & 1);
	char *save = NULL;
	for (char *w = strtok_r(text, " \t\r\n,#", &save); w; w = strtok_r(NULL, " \t\r\n,#", &save)) {
		if (!node_name_valid(w) || node_find(&t, w) || t.n == NODE_MAX)
			continue;
		int kind = NODE_REGION + (int)(next_byte(data, size, &at) % 4);
		if (node_add(&t, w, kind, err, sizeof err) != 0)
			fuzz_fail("node_add refused a valid name '%s': %s", w, err);
		struct node *n = &t.v[t.n - 1];
		unsigned b = next_byte(data, size, &at);
		n->state = (int)(b % 3);
		if (n->state == NODE_SLOW) {
			n->latency_us = (int64_t)next_byte(data, size, &at) * 1000;
			n->jitter_us = (int64_t)next_byte(data, size, &at) * 100;
		}
	}
	for (size_t i = 0; i < t.n; i++)
		for (size_t k = 0; k < t.n; k++)
			if (k != i && (next_byte(data, size, &at) & 7) == 0)
				t.v[i].cut_to |= 1ULL << k;
	round_trip(&t, dir, "a table of the input's words");
	node_table_free(&t);
	free(text);
	return 0;
}
