/*
 * node.c - the node table: names, kinds, up/down states, and the file in the
 * data directory that remembers which nodes the last run had.
 */
#include "node.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int node_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= DDB_NAME_MAX || !isalpha((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return 0;
	return 1;
}

int node_add(struct node_table *t, const char *name, int kind, char *err, size_t errlen)
{
	if (!node_name_valid(name))
		return errorf(err, errlen,
		              "invalid node name '%s': use 1-63 letters, digits or '_', starting with a letter",
		              name);
	if (node_find(t, name))
		return errorf(err, errlen, "node name '%s' is used twice", name);
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
	if (n->state == state)
		return 0;
	n->state = state;
	n->since_us = now_us;
	n->transitions++;
	return 1;
}

void node_table_free(struct node_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static const char *const kind_names[] = { NULL, "region", "central", "documents", "broker" };
static const char *const state_names[] = { "up", "down" };

const char *node_kind_name(int kind)
{
	return kind >= NODE_REGION && kind <= NODE_BROKER ? kind_names[kind] : "unknown";
}

const char *node_state_name(int state)
{
	return state >= 0 && state <= NODE_DOWN ? state_names[state] : "unknown";
}

int node_state_parse(const char *s)
{
	for (int i = 0; i <= NODE_DOWN; i++)
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
	fprintf(f, "# ddbsim nodes: NAME KIND STATE\nresetting %s\n", t->resetting ? "yes" : "no");
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, "%s %s %s\n", t->v[i].name, node_kind_name(t->v[i].kind),
		        node_state_name(t->v[i].state));
	/* Write, flush to disk, then rename: the file is either old or new. */
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		fclose(f);
		return errorf(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return errorf(err, errlen, "%s: %s", path, strerror(errno));
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
	char line[512];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char flag[8];
		if (sscanf(line, "resetting %7s", flag) == 1) {
			t->resetting = strcmp(flag, "yes") == 0;
			continue;
		}
		char name[DDB_NAME_MAX + 1], kind[32], state[32];
		if (sscanf(line, "%64s %31s %31s", name, kind, state) != 3) {
			rc = errorf(err, errlen, "%s:%d: expected NAME KIND STATE", path, lineno);
			break;
		}
		int k = kind_parse(kind), s = node_state_parse(state);
		if (k < 0 || s < 0) {
			rc = errorf(err, errlen, "%s:%d: unknown kind or state", path, lineno);
			break;
		}
		char msg[256];
		if (node_add(t, name, k, msg, sizeof msg) != 0) {
			rc = errorf(err, errlen, "%s:%d: %s", path, lineno, msg);
			break;
		}
		t->v[t->n - 1].state = s;
	}
	fclose(f);
	return rc;
}
