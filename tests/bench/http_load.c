/*
 * http_load.c - the load generator of `make bench-serve`: N threads, each
 * with one HTTP/1.1 keep-alive connection over a plain socket, POST
 * /api/v1/orders with a JSON body (a fresh id each time) for a number of
 * seconds, timing every request from its first byte sent to its last byte
 * read.  Prints one line the bench script reads:
 *
 *   requests N ok N accepted N errors N seconds S per_s R p50_ms A p99_ms B
 *
 * "ok" counts 200 answers, "accepted" those whose body says
 * "status":"accepted".  A broken connection is reopened (and counted as
 * an error).
 *
 *   http_load HOST PORT THREADS SECONDS [ID_PREFIX]
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_THREADS_MAX 256
#define LOAD_REPLY_MAX (64 * 1024)

struct load_thread {
	pthread_t tid;
	int index;
	double *latencies; /* seconds, one per request */
	size_t n, cap;
	uint64_t ok, accepted, errors;
};

static const char *host, *id_prefix = "b";
static int port;
static double deadline;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(void)
{
	struct sockaddr_in sa = { 0 };
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one reply into buf (headers and body, NUL-terminated); its status,
 * or -1 when the connection broke or the reply is not HTTP/1.1 with a
 * Content-Length.  *closing: the server said Connection: close. */
static int read_reply(int fd, char *buf, size_t cap, int *closing)
{
	size_t have = 0, need = 0;
	char *body = NULL;
	*closing = 0;
	for (;;) {
		if (body && have >= need)
			break;
		if (have + 1 >= cap)
			return -1;
		ssize_t n = recv(fd, buf + have, cap - 1 - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = 0;
		if (!body && (body = strstr(buf, "\r\n\r\n")) != NULL) {
			body += 4;
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			if (!cl || cl > body)
				return -1;
			need = (size_t)(body - buf) + strtoul(cl + 17, NULL, 10);
			const char *conn = strcasestr(buf, "\r\nConnection: close");
			*closing = conn && conn < body;
		}
	}
	if (strncmp(buf, "HTTP/1.1 ", 9) != 0)
		return -1;
	return atoi(buf + 9);
}

static void record(struct load_thread *t, double latency)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		double *v = realloc(t->latencies, cap * sizeof *v);
		if (!v) {
			perror("http_load");
			exit(2);
		}
		t->latencies = v;
		t->cap = cap;
	}
	t->latencies[t->n++] = latency;
}

static void *run_thread(void *arg)
{
	static const char *const regions[] = { "east", "middle", "west" };
	struct load_thread *t = arg;
	char *reply = malloc(LOAD_REPLY_MAX);
	char req[1024], body[256];
	int fd = -1;
	if (!reply)
		return NULL;
	for (uint64_t i = 0; now_s() < deadline; i++) {
		if (fd < 0 && (fd = connect_to()) < 0) {
			t->errors++;
			usleep(10000);
			continue;
		}
		int bl = snprintf(body, sizeof body,
		                  "{\"region\":\"%s\",\"sku\":\"MOUSE\",\"quantity\":1,"
		                  "\"id\":\"%s-%d-%llu\"}",
		                  regions[(i + (uint64_t)t->index) % 3], id_prefix, t->index,
		                  (unsigned long long)i);
		int rl = snprintf(req, sizeof req,
		                  "POST /api/v1/orders HTTP/1.1\r\nHost: %s:%d\r\n"
		                  "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		                  host, port, bl, body);
		double t0 = now_s();
		int closing = 0, status = -1;
		if (send_all(fd, req, (size_t)rl) == 0)
			status = read_reply(fd, reply, LOAD_REPLY_MAX, &closing);
		double t1 = now_s();
		if (status < 0) {
			t->errors++;
			close(fd);
			fd = -1;
			continue;
		}
		record(t, t1 - t0);
		if (status == 200)
			t->ok++;
		if (strstr(reply, "\"status\":\"accepted\""))
			t->accepted++;
		if (closing) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(reply);
	return NULL;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: http_load HOST PORT THREADS SECONDS [ID_PREFIX]\n");
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	int n = atoi(argv[3]);
	double seconds = atof(argv[4]);
	if (argc == 6)
		id_prefix = argv[5];
	if (port <= 0 || port > 65535 || n < 1 || n > LOAD_THREADS_MAX || !(seconds > 0)) {
		fprintf(stderr, "http_load: bad PORT, THREADS (1-%d) or SECONDS\n", LOAD_THREADS_MAX);
		return 2;
	}
	struct load_thread *t = calloc((size_t)n, sizeof *t);
	if (!t)
		return 2;
	double start = now_s();
	deadline = start + seconds;
	for (int i = 0; i < n; i++) {
		t[i].index = i;
		if (pthread_create(&t[i].tid, NULL, run_thread, &t[i]) != 0) {
			fprintf(stderr, "http_load: cannot start a thread\n");
			return 2;
		}
	}
	size_t total = 0;
	uint64_t ok = 0, accepted = 0, errors = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i].tid, NULL);
		total += t[i].n;
		ok += t[i].ok;
		accepted += t[i].accepted;
		errors += t[i].errors;
	}
	double elapsed = now_s() - start;
	double *all = malloc((total ? total : 1) * sizeof *all);
	if (!all)
		return 2;
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		memcpy(all + k, t[i].latencies, t[i].n * sizeof *all);
		k += t[i].n;
		free(t[i].latencies);
	}
	qsort(all, total, sizeof *all, by_value);
	double p50 = total ? all[total / 2] : 0, p99 = total ? all[total * 99 / 100] : 0;
	printf("requests %zu ok %llu accepted %llu errors %llu seconds %.2f per_s %.0f p50_ms %.3f "
	       "p99_ms %.3f\n",
	       total, (unsigned long long)ok, (unsigned long long)accepted,
	       (unsigned long long)errors, elapsed, (double)total / elapsed, p50 * 1e3, p99 * 1e3);
	free(all);
	free(t);
	return errors || !total ? 1 : 0;
}
