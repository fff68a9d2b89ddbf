/*
 * fuzz_broker_queues.c - the memory transport's reader of kept queues
 * (DATA_DIR/broker.queues, plugins/transport/memory/memory.c) on any bytes.
 *
 * The input is written to broker.queues in a scratch data directory, and
 * the plugin is opened there through its descriptor, as ddbsim opens it;
 * closing it writes what its queues hold back to the file.  The plugin's
 * source is included here, so that the harness can look at the queues it
 * loaded.  Besides the sanitizers, the harness checks that
 *   - a refusal names the file;
 *   - what a close writes reads back to the same queues (the same messages,
 *     in the same order, with the same redelivered flags): a second open
 *     and close lose or add nothing.
 */
#include "../../plugins/transport/memory/memory.c"

#include "fuzz.h"

/* A digest of the queues an instance holds, whatever their order in its
 * table: queues sorted by name, each with its messages in publish order. */
struct held {
	char *name;    /* a copy */
	uint64_t hash; /* FNV-1a over every message's length, flag and body */
	size_t count;
};

static int held_by_name(const void *a, const void *b)
{
	return strcmp(((const struct held *)a)->name, ((const struct held *)b)->name);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* The queues of in that hold messages, sorted; *n of them. */
static struct held *digest(struct instance *in, size_t *n)
{
	struct held *v = calloc(in->count ? in->count : 1, sizeof *v);
	if (!v)
		fuzz_fail("out of memory");
	*n = 0;
	for (size_t i = 0; i < in->cap; i++) {
		const struct queue *q = in->table[i];
		if (!q)
			continue;
		size_t count = 0;
		int oom = 0;
		struct msg **all = queue_messages(q, &count, &oom);
		if (oom)
			fuzz_fail("out of memory");
		if (count == 0)
			continue; /* an empty queue is not kept */
		uint64_t h = UINT64_C(0xcbf29ce484222325);
		for (size_t k = 0; k < count; k++) {
			uint64_t len = all[k]->len;
			unsigned char flag = (unsigned char)all[k]->redelivered;
			h = fnv(h, &len, sizeof len);
			h = fnv(h, &flag, 1);
			h = fnv(h, all[k]->body, all[k]->len);
		}
		free(all);
		char *name = strdup(q->name);
		if (!name)
			fuzz_fail("out of memory");
		v[*n] = (struct held){ name, h, count };
		(*n)++;
	}
	qsort(v, *n, sizeof *v, held_by_name);
	return v;
}

static void held_free(struct held *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void *open_broker(const char *dir, const char *path, enum ddb_status *st)
{
	const struct ddb_plugin *p = ddbsim_plugin_entry();
	struct ddb_open_args args = { .node = "broker", .data_dir = dir };
	struct ddb_err err = { "" };
	void *handle = NULL;
	*st = p->transport->open(&args, &handle, &err);
	if (*st != DDB_OK && !strstr(err.msg, path))
		fuzz_fail("open refused %s without naming it: '%s'", path, err.msg);
	if ((*st == DDB_OK) != (handle != NULL))
		fuzz_fail("open returned %d with handle %p", (int)*st, handle);
	return handle;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[4200];
	const char *dir = fuzz_scratch_dir();
	if (!path[0])
		snprintf(path, sizeof path, "%s/broker.queues", dir);
	fuzz_write_file(path, data, size);
	const struct ddb_plugin *p = ddbsim_plugin_entry();

	enum ddb_status st;
	struct instance *first = open_broker(dir, path, &st);
	if (!first) {
		remove(path);
		return 0;
	}
	size_t n1;
	struct held *h1 = digest(first, &n1);
	p->transport->close(first);
	size_t written_size = 0;
	unsigned char *written = fuzz_read_file(path, &written_size);
	if (!written && n1 > 0)
		fuzz_fail("%zu queues held messages, and close kept none of them", n1);
	free(written);

	struct instance *second = open_broker(dir, path, &st);
	if (!second)
		fuzz_fail("the file a close wrote is refused: status %d", (int)st);
	size_t n2;
	struct held *h2 = digest(second, &n2);
	p->transport->close(second);
	if (n1 != n2)
		fuzz_fail("%zu queues with messages were kept as %zu", n1, n2);
	for (size_t i = 0; i < n1; i++)
		if (strcmp(h1[i].name, h2[i].name) != 0 || h1[i].count != h2[i].count ||
		    h1[i].hash != h2[i].hash)
			fuzz_fail("queue '%s' (%zu messages) came back as '%s' (%zu messages)%s",
			          h1[i].name, h1[i].count, h2[i].name, h2[i].count,
			          h1[i].hash != h2[i].hash ? ", changed" : "");
	held_free(h1, n1);
	held_free(h2, n2);
	remove(path);
	return 0;
}
