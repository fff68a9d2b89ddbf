/*
 * bench_rabbitmq.c - make bench-rabbitmq: ddbsim's end-to-end sync through
 * RabbitMQ beside a plain rabbitmq-c loop that moves the same messages
 * through the same broker, measured in the same run.
 *
 * ddbsim: the bench scenario (one region, every order accepted) run by the
 * ddbsim program with SQLite stores and the rabbitmq transport.  Each event
 * crosses the broker twice, as ddbsim's sync does: published with confirms
 * to sync.central, consumed with an ack by the central applier, published
 * with confirms to sync.documents, consumed with an ack by the documents
 * applier.  Its rate: events relayed over seconds_until_synced (first
 * order to drained: order placement and the databases included; the setup
 * before, connecting and resetting the stores and queues, is not, as the
 * raw loop's connection and queue declarations are not).
 *
 * The raw rabbitmq-c loop, as the issue asks: "publishes with confirms and
 * consumes with acks the same number of messages of the same size and
 * durability".  Two messages per event ddbsim relayed, each the size of an
 * order event as ddbsim encodes it, persistent, in a durable queue of the
 * kind the plugin declares (classic, x-queue-version 2): published with
 * confirms (at most 1000 unconfirmed) and consumed with an ack per message
 * (prefetch 1000), both at once, from one connection and one thread.  The
 * window and prefetch are the loop's best of those tried here (500, 1000,
 * 2000, and ddbsim's 8192 and 4096, at which it is half as fast): the
 * loop is given its own best settings, ddbsim its own (bench_rabbitmq.conf
 * as the plugin's defaults).  Its rate: events (message pairs)
 * over the time until every message was confirmed and consumed.  Both sides
 * move the same number of messages, so the ratio of their events/s is the
 * ratio of their messages/s.
 *
 * For information, a second raw loop makes the same two hops as ddbsim
 * (queue A, consumed with an ack, forwarded with confirms to queue B,
 * consumed with an ack), pipelined, so that the broker works on both queues
 * at once.  Only the first ratio is held to the target.
 *
 * The machine is shared and its speed drifts by tens of percent within a
 * minute, so a round runs ddbsim and the raw loop back to back (in turns
 * first) and takes the ratio of the two; the target holds the median of
 * five such ratios.  The ratio of the best of each is printed beside it.
 *
 * Usage: bench_rabbitmq DDBSIM SCENARIO CONFIG [ORDERS]
 * The broker: $AMQP_URL (the config should use it too).
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ddbsim/plugin.h"
#include "wire.h"

#define WINDOW 1000
#define PREFETCH 1000
#define ROUNDS 5

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

static void check_reply(amqp_rpc_reply_t r, const char *what)
{
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		fprintf(stderr, "bench: %s failed (reply type %d, %s)\n", what, (int)r.reply_type,
		        r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION ? amqp_error_string2(r.library_error)
		                                                        : "broker error");
		exit(1);
	}
}

/* The size of an order event of the bench scenario on the wire. */
static size_t event_size(void)
{
	struct ddb_event ev;
	memset(&ev, 0, sizeof ev);
	ev.seq = 123456;
	ev.kind = DDB_EVENT_ORDER;
	ev.state = DDB_OUTBOX_NEW;
	ev.created_at_us = 12345678901;
	snprintf(ev.origin, sizeof ev.origin, "bench");
	snprintf(ev.id, sizeof ev.id, "bench:%lld", (long long)ev.seq);
	snprintf(ev.order.id, sizeof ev.order.id, "bench-%012lld", (long long)ev.seq);
	snprintf(ev.order.region, sizeof ev.order.region, "bench");
	snprintf(ev.order.customer, sizeof ev.order.customer, "c-2500");
	snprintf(ev.order.sku, sizeof ev.order.sku, "MOUSE");
	ev.order.quantity = 1;
	ev.order.unit_price_cents = 2500;
	ev.order.placed_at_us = 12345678901;
	unsigned char buf[WIRE_MAX];
	size_t n = wire_encode(&ev, buf, sizeof buf);
	if (n == 0)
		die("cannot encode a sample event");
	return n;
}

/* ---- the raw loop ------------------------------------------------------- */

static void publish(amqp_connection_state_t c, const char *queue, const void *body, size_t len)
{
	amqp_basic_properties_t props;
	memset(&props, 0, sizeof props);
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	amqp_bytes_t b = { len, (void *)body };
	if (amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 1, 0, &props, b) !=
	    AMQP_STATUS_OK)
		die("publish failed");
}

/* Moves n events as 2n messages: through queue A and then B (two_queues),
 * or all through A; returns events per second. */
static double raw_loop(const char *url, long n, size_t size, int two_queues)
{
	char *u = strdup(url);
	struct amqp_connection_info ci;
	if (!u || amqp_parse_url(u, &ci) != AMQP_STATUS_OK)
		die("AMQP_URL is not an amqp:// URL");
	if (!*ci.vhost)
		ci.vhost = "/";
	amqp_connection_state_t c = amqp_new_connection();
	amqp_socket_t *s = amqp_tcp_socket_new(c);
	if (!s || amqp_socket_open(s, ci.host, ci.port) != AMQP_STATUS_OK)
		die("cannot connect to the broker");
	check_reply(amqp_login(c, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password),
	            "login");
	static const char *const queues[] = { "ddbsim-bench-raw-a", "ddbsim-bench-raw-b" };
	for (amqp_channel_t ch = 1; ch <= 3; ch++) {
		amqp_channel_open(c, ch);
		check_reply(amqp_get_rpc_reply(c), "channel.open");
	}
	/* Queues of the kind the plugin declares: durable classic queues with
	 * x-queue-version 2. */
	amqp_table_entry_t version;
	memset(&version, 0, sizeof version);
	version.key = amqp_cstring_bytes("x-queue-version");
	version.value.kind = AMQP_FIELD_KIND_I32;
	version.value.value.i32 = 2;
	amqp_table_t qargs = { 1, &version };
	for (int i = 0; i < 2; i++) {
		amqp_queue_declare(c, 1, amqp_cstring_bytes(queues[i]), 0, 1, 0, 0, qargs);
		check_reply(amqp_get_rpc_reply(c), "queue.declare");
		amqp_queue_purge(c, 1, amqp_cstring_bytes(queues[i]));
		check_reply(amqp_get_rpc_reply(c), "queue.purge");
	}
	amqp_confirm_select(c, 1);
	check_reply(amqp_get_rpc_reply(c), "confirm.select");
	for (int i = 0; i < 2; i++) {
		amqp_channel_t ch = (amqp_channel_t)(2 + i);
		amqp_basic_qos(c, ch, 0, PREFETCH, 0);
		check_reply(amqp_get_rpc_reply(c), "basic.qos");
		amqp_basic_consume(c, ch, amqp_cstring_bytes(queues[i]), amqp_empty_bytes, 0, 0, 0,
		                   amqp_empty_table);
		check_reply(amqp_get_rpc_reply(c), "basic.consume");
	}
	unsigned char *body = malloc(size);
	if (!body)
		die("out of memory");
	for (size_t i = 0; i < size; i++)
		body[i] = (unsigned char)(i * 31 + 7);

	double t0 = now_s();
	uint64_t published = 0, confirmed = 0;
	long sent_a = 0, to_forward = 0, consumed_b = 0;
	/* One queue: 2n messages published to A and consumed from it. */
	long to_send = two_queues ? n : 2 * n;
	struct timeval tv = { 30, 0 };
	while (consumed_b < to_send || confirmed < published) {
		/* Publish what there is room for: forwards first, as ddbsim's
		 * applier does before the relay's next batch. */
		while (published - confirmed < WINDOW && (to_forward > 0 || sent_a < to_send)) {
			if (to_forward > 0) {
				publish(c, queues[1], body, size);
				to_forward--;
			} else {
				publish(c, queues[0], body, size);
				sent_a++;
			}
			published++;
		}
		amqp_frame_t f;
		amqp_maybe_release_buffers(c);
		int rc = amqp_simple_wait_frame_noblock(c, &f, &tv);
		if (rc != AMQP_STATUS_OK) {
			fprintf(stderr, "bench: raw loop: %s\n", amqp_error_string2(rc));
			exit(1);
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		amqp_method_number_t id = f.payload.method.id;
		if (f.channel == 1 && id == AMQP_BASIC_ACK_METHOD) {
			const amqp_basic_ack_t *a = f.payload.method.decoded;
			if (a->multiple || a->delivery_tag == confirmed + 1)
				confirmed = a->delivery_tag > confirmed ? a->delivery_tag : confirmed;
			else
				confirmed++; /* out of order: count it (RabbitMQ acks in order) */
		} else if (f.channel == 1 && (id == AMQP_BASIC_NACK_METHOD || id == AMQP_BASIC_RETURN_METHOD)) {
			die("raw loop: the broker refused or returned a message");
		} else if ((f.channel == 2 || f.channel == 3) && id == AMQP_BASIC_DELIVER_METHOD) {
			const amqp_basic_deliver_t *d = f.payload.method.decoded;
			uint64_t tag = d->delivery_tag;
			amqp_message_t m;
			check_reply(amqp_read_message(c, f.channel, &m, 0), "read a message");
			if (m.body.len != size)
				die("raw loop: a message of the wrong size");
			amqp_destroy_message(&m);
			if (amqp_basic_ack(c, f.channel, tag, 0) != AMQP_STATUS_OK)
				die("ack failed");
			if (f.channel == 2 && two_queues)
				to_forward++;
			else
				consumed_b++;
		} else if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
			die("raw loop: the broker closed the channel or connection");
		}
	}
	double t = now_s() - t0;
	for (int i = 0; i < 2; i++) {
		amqp_queue_delete(c, 1, amqp_cstring_bytes(queues[i]), 0, 0);
		check_reply(amqp_get_rpc_reply(c), "queue.delete");
	}
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	free(body);
	free(u);
	return (double)n / t;
}

/* ---- ddbsim ---------------------------------------------------------------- */

struct ddbsim_result {
	double seconds;
	double relayed, applied_central, applied_documents, accepted;
	int all_checks_hold;
};

static double number(cJSON *root, const char *obj, const char *key)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(root, obj), key));
}

static struct ddbsim_result run_ddbsim(const char *ddbsim, const char *scenario, const char *config,
                                       const char *dir, long orders, int round)
{
	char report[4096], data[4096], param[64];
	snprintf(report, sizeof report, "%s/report-%d.json", dir, round);
	snprintf(data, sizeof data, "%s/data-%d", dir, round);
	snprintf(param, sizeof param, "orders=%ld", orders);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(ddbsim, ddbsim, "run", scenario, "-c", config, "-d", data, "--param", param,
		      "--report", report, "-q", (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid failed");
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		fprintf(stderr, "bench: ddbsim failed (status %d)\n", status);
		exit(1);
	}
	struct ddbsim_result r;
	memset(&r, 0, sizeof r);
	r.all_checks_hold = WEXITSTATUS(status) == 0;
	FILE *f = fopen(report, "r");
	if (!f)
		die("ddbsim wrote no report");
	static char buf[1 << 22];
	size_t len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = '\0';
	cJSON *root = cJSON_Parse(buf);
	if (!root)
		die("the report is not JSON");
	r.seconds = number(root, "throughput", "seconds_until_synced");
	r.relayed = number(root, "sync", "events_relayed");
	r.applied_central = number(root, "sync", "applied_central");
	r.applied_documents = number(root, "sync", "applied_documents");
	r.accepted = number(root, "orders", "accepted");
	cJSON_Delete(root);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_rabbitmq DDBSIM SCENARIO CONFIG [ORDERS]\n");
		return 2;
	}
	long n = argc > 4 ? atol(argv[4]) : 50000;
	const char *url = getenv("AMQP_URL");
	if (!url || !*url)
		die("AMQP_URL is not set");
	char dir[] = "/tmp/ddbsim-bench-rabbitmq-XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp failed");
	size_t size = event_size();
	printf("bench-rabbitmq: %ld orders, SQLite synchronous=NORMAL, %zu-byte persistent messages, "
	       "2 per event\n", n, size);
	fflush(stdout);
	double sim_best = 0, raw_best = 0, raw2_best = 0, ratios[ROUNDS];
	int ok = 1, rounds = 0;
	long events = 0; /* what ddbsim relayed: round 1 runs it first */
	for (int round = 0; round < ROUNDS; round++) {
		double raw = 0, sim_rate = 0;
		/* In turns first: drift within a round favours neither. */
		for (int turn = 0; turn < 2; turn++) {
			if ((turn == 0) == (round % 2 == 0)) {
				struct ddbsim_result sim = run_ddbsim(argv[1], argv[2], argv[3], dir, n, round);
				if (sim.accepted < (double)n * 0.99 || !sim.all_checks_hold ||
				    sim.applied_documents < sim.relayed || sim.seconds <= 0) {
					fprintf(stderr, "bench: ddbsim accepted %.0f of %ld orders, relayed %.0f, "
					                "applied %.0f (checks %s)\n", sim.accepted, n, sim.relayed,
					        sim.applied_documents, sim.all_checks_hold ? "hold" : "FAILED");
					ok = 0;
					break;
				}
				sim_rate = sim.relayed / sim.seconds;
				events = (long)sim.relayed;
			} else {
				raw = raw_loop(url, events, size, 0);
			}
		}
		if (!ok)
			break;
		double raw2 = raw_loop(url, events, size, 1);
		ratios[rounds++] = sim_rate / raw;
		printf("  round %d: ddbsim sync %6.0f events/s (%ld events)   raw loop %6.0f   ratio %.2f   "
		       "(raw two-hop loop %6.0f)\n", round + 1, sim_rate, events, raw, sim_rate / raw, raw2);
		fflush(stdout);
		sim_best = sim_rate > sim_best ? sim_rate : sim_best;
		raw_best = raw > raw_best ? raw : raw_best;
		raw2_best = raw2 > raw2_best ? raw2 : raw2_best;
	}
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
	if (!ok)
		return 1;
	qsort(ratios, (size_t)rounds, sizeof *ratios, compare_doubles);
	double ratio = ratios[rounds / 2];
	printf("ratio ddbsim sync events/s / raw rabbitmq-c loop: %.2f (median of %d rounds; target "
	       ">= 0.8)\n", ratio, rounds);
	printf("  (best of each: %.0f vs %.0f messages/s, ratio %.2f; against the best raw two-hop "
	       "loop: %.2f)\n", 2 * sim_best, 2 * raw_best, sim_best / raw_best, sim_best / raw2_best);
	return ratio >= 0.8 ? 0 : 1;
}
