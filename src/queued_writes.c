/*
 * queued_writes.c - DATA_DIR/queued_writes, the record of the customer
 * writes queued for nodes that were down (see queued_writes.h).
 */
#include "queued_writes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "util.h"

static char *path_in(const char *data_dir)
{
	size_t len = strlen(data_dir) + sizeof QUEUED_WRITES_FILE + 1;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%s/%s", data_dir, QUEUED_WRITES_FILE);
	return p;
}

int queued_writes_init(struct queued_writes *q, const char *data_dir)
{
	memset(q, 0, sizeof *q);
	q->path = path_in(data_dir);
	return q->path ? 0 : -1;
}

void queued_writes_free(struct queued_writes *q)
{
	if (q->f)
		fclose(q->f);
	free(q->path);
	memset(q, 0, sizeof *q);
}

int queued_writes_add(struct queued_writes *q, const char *node, const char *id, int64_t version,
                      char *err, size_t errlen)
{
	if (!q->f && !(q->f = fopen(q->path, "a")))
		return errorf(err, errlen, "%s: %s", q->path, strerror(errno));
	char hex[2 * DDB_NAME_MAX + 1];
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)id; *c && n + 2 < sizeof hex; c++)
		n += (size_t)snprintf(hex + n, sizeof hex - n, "%02x", *c);
	hex[n] = '\0';
	/* One line per write, flushed at once: a process killed later keeps it. */
	if (fprintf(q->f, "%s %lld %s\n", node, (long long)version, hex) < 0 || fflush(q->f) != 0)
		return errorf(err, errlen, "%s: %s", q->path, strerror(errno));
	return 0;
}

int queued_writes_clear(const char *data_dir, char *err, size_t errlen)
{
	char *p = path_in(data_dir);
	if (!p)
		return errorf(err, errlen, "out of memory");
	int rc = 0;
	if (remove(p) != 0 && errno != ENOENT)
		rc = errorf(err, errlen, "%s: cannot remove it: %s", p, strerror(errno));
	free(p);
	return rc;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "NODE VERSION HEXID\n" -> w; 0 when the line is one. */
static int parse_line(const char *line, struct queued_write *w)
{
	char node[DDB_NAME_MAX + 1], hex[2 * DDB_NAME_MAX + 2], end;
	long long version;
	if (sscanf(line, "%64s %lld %129s%c", node, &version, hex, &end) != 4 || end != '\n' ||
	    !node_name_valid(node) || version < 1)
		return -1;
	size_t len = strlen(hex);
	if (len == 0 || len % 2 != 0 || len / 2 >= DDB_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -1;
		w->id[i / 2] = (char)(hi * 16 + lo);
	}
	w->id[len / 2] = '\0';
	copy_str(w->node, sizeof w->node, node);
	w->version = version;
	return 0;
}

static int by_node_id_version(const void *a, const void *b)
{
	const struct queued_write *x = a, *y = b;
	int c = strcmp(x->node, y->node);
	if (c == 0)
		c = strcmp(x->id, y->id);
	if (c == 0)
		c = x->version > y->version ? -1 : x->version < y->version;
	return c;
}

int queued_writes_load(const char *data_dir, struct queued_write **out, size_t *n, char *err,
                       size_t errlen)
{
	*out = NULL;
	*n = 0;
	char *path = path_in(data_dir);
	if (!path)
		return errorf(err, errlen, "out of memory");
	FILE *f = fopen(path, "r");
	if (!f) {
		int rc = errno == ENOENT ? 0 : errorf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	struct queued_write *v = NULL;
	size_t cap = 0, count = 0;
	char line[512];
	int rc = 0, lineno = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		lineno++;
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n') {
			/* Cut short: the last line of a process killed while it wrote
			 * it (the write it names was confirmed, the record not yet). */
			if (feof(f))
				break;
			rc = errorf(err, errlen, "%s:%d: line too long", path, lineno);
			break;
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct queued_write *grown = realloc(v, ncap * sizeof *grown);
			if (!grown) {
				rc = errorf(err, errlen, "out of memory");
				break;
			}
			v = grown;
			cap = ncap;
		}
		if (parse_line(line, &v[count]) != 0)
			rc = errorf(err, errlen, "%s:%d: expected NODE VERSION ID (the id in hex)", path,
			            lineno);
		else
			count++;
	}
	if (rc == 0 && ferror(f))
		rc = errorf(err, errlen, "%s: %s", path, strerror(errno));
	fclose(f);
	free(path);
	if (rc != 0) {
		free(v);
		return rc;
	}
	if (count > 1)
		qsort(v, count, sizeof *v, by_node_id_version);
	*out = v;
	*n = count;
	return 0;
}
