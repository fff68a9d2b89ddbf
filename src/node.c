/*
 * node.c - the node table: names, kinds, up/down states, and the file in the
 * data directory that remembers which nodes the last run had.
 */
#include "node.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int node_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= DDB_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
			return 0;
	return 1;
}

int node_add(struct node_table *t, const char *name, int kind, char *err, size_t errlen)
{
	if (!node_name_valid(name))
		return errorf(err, errlen,
		              "invalid node name '%s': use 1-63 letters, digits, '_' or '-', starting with "
		              "a letter or digit", name);
	if (node_find(t, name))
		return errorf(err, errlen, "node name '%s' is used twice", name);
	if (t->n == NODE_MAX)
		return errorf(err, errlen, "too many nodes (at most %d)", NODE_MAX);
	struct node *grown = realloc(t->v, (t->n + 1) * sizeof *grown);
	if (!grown)
		return errorf(err, errlen, "out of memory");
	t->v = grown;
	struct node *n = &t->v[t->n++];
	memset(n, 0, sizeof *n);
	copy_str(n->name, sizeof n->name, name);
	n->kind = kind;
	n->state = NODE_UP;
	return 0;
}

struct node *node_find(struct node_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

int node_set_state(struct node *n, int state, int64_t now_us)
{
	if (state == NODE_UP)
		n->latency_us = n->jitter_us = 0;
	if (n->state == state)
		return 0;
	n->state = state;
	n->since_us = now_us;
	n->transitions++;
	return 1;
}

void node_set_slow(struct node *n, int64_t latency_us, int64_t jitter_us, int64_t now_us)
{
	n->latency_us = latency_us;
	n->jitter_us = jitter_us;
	if (n->state == NODE_DOWN)
		return;
	node_set_state(n, latency_us > 0 ? NODE_SLOW : NODE_UP, now_us);
	n->latency_us = latency_us;
	n->jitter_us = jitter_us;
}

uint64_t node_bit(const struct node_table *t, const struct node *n)
{
	return 1ULL << (size_t)(n - t->v);
}

void node_cut(struct node_table *t, const uint64_t from, const uint64_t to, int oneway, int cut)
{
	for (size_t i = 0; i < t->n; i++) {
		uint64_t bit = 1ULL << i, links = 0;
		if (from & bit)
			links |= to;
		if (!oneway && (to & bit))
			links |= from;
		links &= ~bit;
		if (cut)
			t->v[i].cut_to |= links;
		else
			t->v[i].cut_to &= ~links;
	}
}

int node_reaches(const struct node_table *t, const struct node *a, const struct node *b)
{
	return !a || !(a->cut_to & node_bit(t, b));
}

void node_table_free(struct node_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static const char *const kind_names[] = { NULL, "region", "central", "documents", "broker" };
static const char *const state_names[] = { "up", "down", "slow" };

const char *node_kind_name(int kind)
{
	return kind >= NODE_REGION && kind <= NODE_BROKER ? kind_names[kind] : "unknown";
}

const char *node_state_name(int state)
{
	return state >= 0 && state <= NODE_SLOW ? state_names[state] : "unknown";
}

int node_state_parse(const char *s)
{
	for (int i = 0; i <= NODE_SLOW; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

static int kind_parse(const char *s)
{
	for (int i = NODE_REGION; i <= NODE_BROKER; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

int node_table_save(const struct node_table *t, const char *data_dir, char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/nodes", data_dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return errorf(err, errlen, "%s: %s", tmp, strerror(errno));
	fprintf(f, "# ddbsim nodes: NAME KIND STATE LATENCY_US JITTER_US CUT_TO\nresetting %s\n",
	        t->resetting ? "yes" : "no");
	for (size_t i = 0; i < t->n; i++) {
		const struct node *n = &t->v[i];
		fprintf(f, "%s %s %s %lld %lld ", n->name, node_kind_name(n->kind),
		        node_state_name(n->state), (long long)n->latency_us, (long long)n->jitter_us);
		int any = 0;
		for (size_t k = 0; k < t->n; k++)
			if (n->cut_to & (1ULL << k))
				fprintf(f, "%s%s", any++ ? "," : "", t->v[k].name);
		fprintf(f, "%s\n", any ? "" : "-");
	}
	/* Write, flush to disk, then rename: the file is either old or new. */
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		fclose(f);
		return errorf(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return errorf(err, errlen, "%s: %s", path, strerror(errno));
	/* And the rename itself to disk: the setup mark must survive a crash. */
	int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errorf(err, errlen, "%s: %s", data_dir, strerror(errno));
	int rc = fsync(dfd) != 0 && errno != EINVAL ? errno : 0;
	close(dfd);
	if (rc)
		return errorf(err, errlen, "%s: %s", data_dir, strerror(rc));
	return 0;
}

int node_table_load(struct node_table *t, const char *data_dir, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/nodes", data_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return errorf(err, errlen, "%s: %s (no run has used this data directory yet?)", path,
		              strerror(errno));
	char line[8192];
	int lineno = 0, rc = 0;
	struct cut_line {
		size_t node;
		char names[4096];
	} *cut_lines = calloc(NODE_MAX, sizeof *cut_lines);
	size_t cut_count = 0;
	if (!cut_lines) {
		fclose(f);
		return errorf(err, errlen, "out of memory");
	}
	while (rc == 0 && fgets(line, sizeof line, f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char name[DDB_NAME_MAX + 1], kind[32], state[32], cuts[4096] = "-";
		long long latency = 0, jitter = 0;
		int got = sscanf(line, "%64s %31s %31s %lld %lld %4095s", name, kind, state, &latency,
		                 &jitter, cuts);
		/* "resetting yes|no" has two words, a node's line three or six:
		 * a node may be called "resetting" too (a region of that name). */
		if (got == 2 && strcmp(name, "resetting") == 0) {
			if (strcmp(kind, "yes") != 0 && strcmp(kind, "no") != 0) {
				rc = errorf(err, errlen, "%s:%d: expected resetting yes or resetting no",
				            path, lineno);
				break;
			}
			t->resetting = strcmp(kind, "yes") == 0;
			continue;
		}
		if (got != 3 && got != 6) {
			rc = errorf(err, errlen, "%s:%d: expected NAME KIND STATE LATENCY_US JITTER_US CUT_TO",
			            path, lineno);
			break;
		}
		if (strcmp(cuts, "-") != 0 && cut_count < NODE_MAX) {
			cut_lines[cut_count].node = t->n;
			copy_str(cut_lines[cut_count++].names, sizeof cut_lines[0].names, cuts);
		}
		int k = kind_parse(kind), s = node_state_parse(state);
		if (k < 0 || s < 0) {
			rc = errorf(err, errlen, "%s:%d: unknown kind or state", path, lineno);
			break;
		}
		/* A negative latency would schedule calls in the past (a run
		 * never ends); a huge one would overflow the clock. */
		if (latency < 0 || latency > NODE_LATENCY_MAX_US || jitter < 0 ||
		    jitter > NODE_LATENCY_MAX_US) {
			rc = errorf(err, errlen, "%s:%d: latency and jitter must be from 0 to %lld us",
			            path, lineno, (long long)NODE_LATENCY_MAX_US);
			break;
		}
		char msg[256];
		if (node_add(t, name, k, msg, sizeof msg) != 0) {
			rc = errorf(err, errlen, "%s:%d: %s", path, lineno, msg);
			break;
		}
		t->v[t->n - 1].state = s;
		t->v[t->n - 1].latency_us = latency;
		t->v[t->n - 1].jitter_us = jitter;
	}
	fclose(f);
	/* Links, once every node is known. */
	for (size_t i = 0; rc == 0 && i < cut_count; i++) {
		char *save = NULL;
		for (char *name = strtok_r(cut_lines[i].names, ",", &save); name;
		     name = strtok_r(NULL, ",", &save)) {
			struct node *to = node_find(t, name);
			if (!to) {
				rc = errorf(err, errlen, "%s: %s is cut off from an unknown node '%s'", path,
				            t->v[cut_lines[i].node].name, name);
				break;
			}
			t->v[cut_lines[i].node].cut_to |= node_bit(t, to);
		}
	}
	free(cut_lines);
	return rc;
}
