/*
 * report.c - turns a run_result into the text and JSON reports.
 */
#include "report.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "engine.h"
#include "utf8.h"
#include "util.h"

static void add_percentiles(cJSON *parent, const char *name, const struct histogram *h)
{
	cJSON *o = cJSON_AddObjectToObject(parent, name);
	cJSON_AddNumberToObject(o, "count", (double)h->count);
	cJSON_AddNumberToObject(o, "p50", (double)hist_percentile(h, 0.50) / 1000.0);
	cJSON_AddNumberToObject(o, "p90", (double)hist_percentile(h, 0.90) / 1000.0);
	cJSON_AddNumberToObject(o, "p99", (double)hist_percentile(h, 0.99) / 1000.0);
	cJSON_AddNumberToObject(o, "max", (double)(h->count ? h->max : 0) / 1000.0);
	cJSON_AddNumberToObject(o, "mean", hist_mean(h) / 1000.0);
}

static double throughput(const struct run_result *res)
{
	return res->sync_seconds > 0 ? (double)res->metrics->orders_accepted / res->sync_seconds : 0;
}

const char *report_signal_name(int sig)
{
	switch (sig) {
	case SIGINT: return "SIGINT";
	case SIGTERM: return "SIGTERM";
	case SIGHUP: return "SIGHUP";
	default: return "a signal";
	}
}

/* The header: version, mode, scenario, seed, the hashes or where the run was stopped. */
static void add_header(cJSON *root, const struct run_result *res)
{
	char hash[32];
	snprintf(hash, sizeof hash, "%016" PRIx64, res->state_hash);
	cJSON_AddStringToObject(root, "ddbsim", PACKAGE_VERSION);
	cJSON_AddStringToObject(root, "mode", res->mode);
	if (res->scenario[0])
		cJSON_AddStringToObject(root, "scenario", res->scenario);
	if (res->has_seed)
		cJSON_AddNumberToObject(root, "seed", (double)res->seed);
	if (res->interrupted) {
		/* Stopped early: no state hash, no checks (see engine.h). */
		cJSON_AddNullToObject(root, "state_hash");
		cJSON *in = cJSON_AddObjectToObject(root, "interrupted");
		cJSON_AddStringToObject(in, "signal", report_signal_name(res->interrupted));
		cJSON_AddStringToObject(in, "during", res->interrupted_in ? res->interrupted_in : "");
		cJSON_AddNumberToObject(in, "at", (double)res->virtual_us / 1e6);
	} else {
		cJSON_AddStringToObject(root, "state_hash", hash);
	}
	if (strcmp(res->mode, "run") == 0) {
		snprintf(hash, sizeof hash, "%016" PRIx64, res->trace_hash);
		cJSON_AddStringToObject(root, "trace_hash", hash);
	}
}

/* "orders" (without "routed", added with the faults to keep the key order) and the restocks. */
static cJSON *add_orders(cJSON *root, const struct metrics *m)
{
	cJSON *orders = cJSON_AddObjectToObject(root, "orders");
	cJSON_AddNumberToObject(orders, "generated", (double)m->orders_generated);
	cJSON_AddNumberToObject(orders, "accepted", (double)m->orders_accepted);
	cJSON_AddNumberToObject(orders, "rejected_total", (double)m->orders_rejected);
	cJSON *rejected = cJSON_AddObjectToObject(orders, "rejected");
	for (size_t i = 0; i < m->n_reasons; i++)
		cJSON_AddNumberToObject(rejected, m->reasons[i].reason, (double)m->reasons[i].n);
	cJSON_AddNumberToObject(orders, "group_commits", (double)m->group_commits);
	cJSON_AddNumberToObject(root, "restocks", (double)m->restocks);
	cJSON_AddNumberToObject(root, "restocks_refused", (double)m->restocks_refused);
	return orders;
}

static void add_throughput(cJSON *root, const struct run_result *res)
{
	cJSON *tp = cJSON_AddObjectToObject(root, "throughput");
	cJSON_AddNumberToObject(tp, "wall_seconds", res->wall_seconds);
	cJSON_AddNumberToObject(tp, "setup_seconds", res->setup_seconds);
	cJSON_AddNumberToObject(tp, "seconds_until_synced", res->sync_seconds);
	cJSON_AddNumberToObject(tp, "virtual_seconds", (double)res->virtual_us / 1e6);
	cJSON_AddNumberToObject(tp, "orders_per_second", throughput(res));
}

static void add_latency(cJSON *root, const struct metrics *m)
{
	add_percentiles(root, "latency_ms", &m->order_latency_us);
	add_percentiles(root, "sync_lag_ms", &m->sync_lag_us);
}

static void add_sync(cJSON *root, const struct metrics *m)
{
	cJSON *sync = cJSON_AddObjectToObject(root, "sync");
	cJSON_AddNumberToObject(sync, "events_relayed", (double)m->events_relayed);
	cJSON_AddNumberToObject(sync, "applied_central", (double)m->events_applied_central);
	cJSON_AddNumberToObject(sync, "applied_documents", (double)m->events_applied_documents);
	cJSON_AddNumberToObject(sync, "redeliveries", (double)m->redeliveries);
	cJSON_AddNumberToObject(sync, "poison_messages", (double)m->poison_messages);
}

/* node.NAME queues over time, by region (the first 16). */
static void add_node_queues(cJSON *queues, const struct run_result *res)
{
	const struct metrics *m = res->metrics;
	cJSON *nq = cJSON_AddObjectToObject(queues, "node_queues");
	for (size_t r = 0; r < res->n_nodes && r < 16; r++) {
		if (res->nodes[r].kind != NODE_REGION)
			continue;
		cJSON *q = cJSON_AddObjectToObject(nq, res->nodes[r].name);
		cJSON_AddNumberToObject(q, "max_depth", (double)m->node_depth_max[r]);
		cJSON_AddNumberToObject(q, "depth", (double)m->node_depth_end[r]);
		cJSON *tl = cJSON_AddArrayToObject(q, "timeline");
		for (size_t i = 0; i < m->n_samples; i++) {
			cJSON *pt = cJSON_CreateArray();
			cJSON_AddItemToArray(pt, cJSON_CreateNumber((double)m->samples[i].at_us / 1e6));
			cJSON_AddItemToArray(pt, cJSON_CreateNumber((double)m->samples[i].node_queues[r]));
			cJSON_AddItemToArray(pt, cJSON_CreateString(node_state_name(m->samples[i].node_states[r])));
			cJSON_AddItemToArray(tl, pt);
		}
	}
}

static void add_queues(cJSON *root, const struct run_result *res)
{
	const struct metrics *m = res->metrics;
	cJSON *queues = cJSON_AddObjectToObject(root, "queues");
	cJSON *maxd = cJSON_AddObjectToObject(queues, "max_depth");
	cJSON_AddNumberToObject(maxd, "sync.central", (double)m->max_depth_central);
	cJSON_AddNumberToObject(maxd, "sync.documents", (double)m->max_depth_documents);
	cJSON *timeline = cJSON_AddArrayToObject(queues, "timeline");
	for (size_t i = 0; i < m->n_samples; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "t", (double)m->samples[i].at_us / 1e6);
		cJSON_AddNumberToObject(s, "sync.central", (double)m->samples[i].central);
		cJSON_AddNumberToObject(s, "sync.documents", (double)m->samples[i].documents);
		cJSON_AddItemToArray(timeline, s);
	}
	add_node_queues(queues, res);
}

static void add_customer_writes_reads(cJSON *cu, const struct customer_metrics *cm)
{
	cJSON *wr = cJSON_AddObjectToObject(cu, "writes");
	cJSON_AddNumberToObject(wr, "ok", (double)cm->writes_ok);
	cJSON_AddNumberToObject(wr, "home_pending", (double)cm->writes_home_pending);
	cJSON_AddNumberToObject(wr, "unavailable", (double)cm->writes_unavailable);
	cJSON_AddNumberToObject(wr, "copies_direct", (double)cm->writes_direct);
	cJSON_AddNumberToObject(wr, "copies_queued", (double)cm->writes_queued);
	cJSON_AddNumberToObject(wr, "copies_held", (double)cm->writes_held);
	cJSON *rd = cJSON_AddObjectToObject(cu, "reads");
	cJSON_AddNumberToObject(rd, "gets", (double)cm->gets);
	cJSON_AddNumberToObject(rd, "from_home", (double)cm->reads_home);
	cJSON_AddNumberToObject(rd, "from_replica", (double)cm->reads_replica);
	cJSON_AddNumberToObject(rd, "failed", (double)cm->reads_failed);
	cJSON_AddNumberToObject(rd, "stale", (double)cm->reads_stale);
	cJSON_AddNumberToObject(rd, "finds", (double)cm->finds);
	cJSON_AddNumberToObject(rd, "finds_partial", (double)cm->finds_partial);
}

/* One entry per node that came back: the writes replayed and how long it took to converge. */
static void add_customer_recoveries(cJSON *cu, const struct customer_metrics *cm)
{
	cJSON *conv = cJSON_AddArrayToObject(cu, "recoveries");
	for (size_t i = 0; i < cm->n_conv; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "node", cm->conv[i].node);
		cJSON_AddNumberToObject(c, "up_at", (double)cm->conv[i].up_at_us / 1e6);
		cJSON_AddNumberToObject(c, "replayed", (double)cm->conv[i].replayed);
		if (cm->conv[i].converged_at_us >= 0) {
			cJSON_AddNumberToObject(c, "seconds_to_converge",
			                        (double)(cm->conv[i].converged_at_us - cm->conv[i].up_at_us) / 1e6);
			cJSON_AddNumberToObject(c, "wall_seconds_to_converge",
			                        cm->conv[i].converged_wall_s - cm->conv[i].up_wall_s);
		} else {
			cJSON_AddNullToObject(c, "seconds_to_converge");
			cJSON_AddNullToObject(c, "wall_seconds_to_converge");
		}
		cJSON_AddBoolToObject(c, "interrupted",
		                      cm->conv[i].converged_at_us == CONVERGENCE_INTERRUPTED);
		cJSON_AddItemToArray(conv, c);
	}
}

static void add_customers(cJSON *root, const struct customer_metrics *cm)
{
	cJSON *cu = cJSON_AddObjectToObject(root, "customers");
	cJSON_AddNumberToObject(cu, "operations", (double)cm->generated);
	cJSON_AddNumberToObject(cu, "created", (double)cm->created);
	cJSON_AddNumberToObject(cu, "updated", (double)cm->updated);
	cJSON_AddNumberToObject(cu, "deleted", (double)cm->deleted);
	cJSON_AddNumberToObject(cu, "rejected_total", (double)cm->rejected);
	cJSON *crj = cJSON_AddObjectToObject(cu, "rejected");
	for (size_t i = 0; i < cm->n_reasons; i++)
		cJSON_AddNumberToObject(crj, cm->reasons[i].reason, (double)cm->reasons[i].n);
	add_customer_writes_reads(cu, cm);
	cJSON *rp = cJSON_AddObjectToObject(cu, "replays");
	cJSON_AddNumberToObject(rp, "records", (double)cm->replayed);
	cJSON_AddNumberToObject(rp, "older_than_stored", (double)cm->replay_stale);
	add_customer_recoveries(cu, cm);
}

/* "faults", and "routed" at the end of "orders", where it has always been. */
static void add_faults(cJSON *root, cJSON *orders, const struct run_result *res)
{
	const struct metrics *m = res->metrics;
	cJSON *faults = cJSON_AddObjectToObject(root, "faults");
	cJSON_AddNumberToObject(faults, "unavailable_calls", (double)m->unavailable_calls);
	cJSON_AddNumberToObject(faults, "refused_down", (double)res->faults.refused_down);
	cJSON_AddNumberToObject(faults, "refused_partition", (double)res->faults.refused_cut);
	cJSON_AddNumberToObject(faults, "replies_lost", (double)res->faults.replies_lost);
	cJSON_AddNumberToObject(faults, "messages_dropped", (double)res->faults.dropped);
	cJSON_AddNumberToObject(faults, "messages_duplicated", (double)res->faults.duplicated);
	cJSON_AddNumberToObject(faults, "messages_delayed", (double)res->faults.delayed_count);
	cJSON_AddNumberToObject(faults, "batches_reordered", (double)res->faults.reordered);
	cJSON_AddNumberToObject(faults, "commits_in_doubt", (double)m->commits_in_doubt);
	cJSON_AddNumberToObject(orders, "routed", (double)m->orders_routed);
	cJSON *steps = cJSON_AddArrayToObject(faults, "steps");
	for (size_t i = 0; i < m->n_steps; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "t", (double)m->steps[i].at_us / 1e6);
		cJSON_AddStringToObject(s, "target", m->steps[i].target);
		cJSON_AddStringToObject(s, "action", m->steps[i].action);
		cJSON_AddItemToArray(steps, s);
	}
}

static void add_checks(cJSON *root, const struct run_result *res)
{
	cJSON *checks = cJSON_AddArrayToObject(root, "checks");
	for (size_t i = 0; i < res->checks.n; i++) {
		const struct check_result *c = &res->checks.v[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddBoolToObject(o, "ok", c->ok);
		cJSON_AddStringToObject(o, "detail", c->detail);
		cJSON_AddItemToArray(checks, o);
	}
	cJSON_AddBoolToObject(root, "checks_run", !res->interrupted);
	cJSON_AddBoolToObject(root, "all_checks_hold", !res->interrupted && res->failed_checks == 0);
}

cJSON *report_json(const struct run_result *res)
{
	const struct metrics *m = res->metrics;
	cJSON *root = cJSON_CreateObject();
	add_header(root, res);
	cJSON *orders = add_orders(root, m);
	add_throughput(root, res);
	add_latency(root, m);
	add_sync(root, m);
	add_queues(root, res);
	add_customers(root, &m->customers);
	add_faults(root, orders, res);
	add_checks(root, res);
	if (res->facts)
		cJSON_AddItemReferenceToObject(root, "facts", res->facts);
	return root;
}

static void print_latency(FILE *out, const char *what, const struct histogram *h)
{
	if (h->count == 0) {
		fprintf(out, "  %-14s -\n", what);
		return;
	}
	fprintf(out, "  %-14s p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n", what,
	        (double)hist_percentile(h, 0.5) / 1000.0, (double)hist_percentile(h, 0.9) / 1000.0,
	        (double)hist_percentile(h, 0.99) / 1000.0, (double)h->max / 1000.0);
}

/* A run's orders, throughput, latencies and queue depths. */
static void print_run_summary(const struct run_result *res, FILE *out)
{
	const struct metrics *m = res->metrics;
	fprintf(out, "  orders         %" PRIu64 " accepted, %" PRIu64 " rejected of %" PRIu64 "\n",
	        m->orders_accepted, m->orders_rejected, m->orders_generated);
	for (size_t i = 0; i < m->n_reasons; i++)
		fprintf(out, "    %-26s %" PRIu64 "\n", m->reasons[i].reason, m->reasons[i].n);
	if (res->interrupted)
		fprintf(out, "  throughput     - (interrupted before the sync finished; %.2f s wall, "
		             "%.1f s simulated)\n", res->sync_seconds, (double)res->virtual_us / 1e6);
	else
		fprintf(out, "  throughput     %.0f orders/s accepted and synced (%.2f s wall, %.1f s "
		             "simulated)\n", throughput(res), res->sync_seconds,
		        (double)res->virtual_us / 1e6);
	print_latency(out, "order latency", &m->order_latency_us);
	print_latency(out, "sync lag", &m->sync_lag_us);
	fprintf(out, "  queues         max depth sync.central %" PRIu64 ", sync.documents %" PRIu64,
	        m->max_depth_central, m->max_depth_documents);
	for (size_t r = 0; r < res->n_nodes && r < 16; r++)
		if (res->nodes[r].kind == NODE_REGION && m->node_depth_max[r])
			fprintf(out, ", node.%s %" PRIu64, res->nodes[r].name, m->node_depth_max[r]);
	fprintf(out, "\n");
}

/* The writes still queued for nodes that are down at the end, on one line if any. */
static void print_still_queued(const struct run_result *res, FILE *out)
{
	const struct metrics *m = res->metrics;
	int waiting = 0;
	for (size_t r = 0; r < res->n_nodes && r < ARRAY_LEN(m->node_depth_end); r++) {
		if (res->nodes[r].kind != NODE_REGION || !m->node_depth_end[r])
			continue;
		fprintf(out, "%s node.%s %" PRIu64, waiting++ ? "," : "  still queued  writes for down nodes:",
		        res->nodes[r].name, m->node_depth_end[r]);
	}
	if (waiting)
		fprintf(out, "\n");
}

static void print_customer_recoveries(const struct customer_metrics *cm, FILE *out)
{
	for (size_t i = 0; i < cm->n_conv; i++) {
		if (cm->conv[i].converged_at_us >= 0)
			fprintf(out, "      %s back at t=%.3f: %" PRIu64 " writes replayed, converged in %.3f s "
			        "(%.3f s of wall time)\n",
			        cm->conv[i].node, (double)cm->conv[i].up_at_us / 1e6, cm->conv[i].replayed,
			        (double)(cm->conv[i].converged_at_us - cm->conv[i].up_at_us) / 1e6,
			        cm->conv[i].converged_wall_s - cm->conv[i].up_wall_s);
		else
			fprintf(out, "      %s back at t=%.3f: %s\n", cm->conv[i].node,
			        (double)cm->conv[i].up_at_us / 1e6,
			        cm->conv[i].converged_at_us == CONVERGENCE_INTERRUPTED
			            ? "down again before it converged" : "not converged");
	}
}

static void print_customers(const struct customer_metrics *cm, FILE *out)
{
	if (!cm->generated)
		return;
	fprintf(out, "  customers      %" PRIu64 " operations: %" PRIu64 " created, %" PRIu64
	        " updated, %" PRIu64 " deleted, %" PRIu64 " rejected\n",
	        cm->generated, cm->created, cm->updated, cm->deleted, cm->rejected);
	for (size_t i = 0; i < cm->n_reasons; i++)
		fprintf(out, "    %-26s %" PRIu64 "\n", cm->reasons[i].reason, cm->reasons[i].n);
	fprintf(out, "    writes       %" PRIu64 " ok, %" PRIu64 " with the home pending, %" PRIu64
	        " unavailable (queued, pending); %" PRIu64 " copies queued for down nodes\n",
	        cm->writes_ok, cm->writes_home_pending, cm->writes_unavailable, cm->writes_queued);
	fprintf(out, "    reads        %" PRIu64 " from the home, %" PRIu64 " from a replica, %" PRIu64
	        " failed, %" PRIu64 " stale; %" PRIu64 " finds (%" PRIu64 " partial)\n",
	        cm->reads_home, cm->reads_replica, cm->reads_failed, cm->reads_stale, cm->finds,
	        cm->finds_partial);
	fprintf(out, "    replays      %" PRIu64 " records (%" PRIu64 " older than the stored one)\n",
	        cm->replayed, cm->replay_stale);
	print_customer_recoveries(cm, out);
}

static void print_faults(const struct run_result *res, FILE *out)
{
	const struct metrics *m = res->metrics;
	if (!m->n_steps && !m->unavailable_calls)
		return;
	const struct fault_layer *f = &res->faults;
	fprintf(out, "  faults         %" PRIu64 " calls refused (%" PRIu64 " node down, %" PRIu64
	        " partition), %" PRIu64 " replies lost\n",
	        f->refused_down + f->refused_cut, f->refused_down, f->refused_cut, f->replies_lost);
	if (f->dropped || f->duplicated || f->delayed_count || f->reordered)
		fprintf(out, "    messages     %" PRIu64 " dropped, %" PRIu64 " duplicated, %" PRIu64
		        " delayed, %" PRIu64 " batches reordered\n",
		        f->dropped, f->duplicated, f->delayed_count, f->reordered);
	if (m->orders_routed || m->commits_in_doubt)
		fprintf(out, "    orders       %" PRIu64 " routed to another region, %" PRIu64
		        " commits in doubt (retried)\n", m->orders_routed, m->commits_in_doubt);
	fprintf(out, "    timeline\n");
	for (size_t i = 0; i < m->n_steps; i++)
		fprintf(out, "      t=%-8.3f %s %s\n", (double)m->steps[i].at_us / 1e6,
		        m->steps[i].target, m->steps[i].action);
}

/* Which signal stopped the run, and when: instead of the checks, which were not run. */
static void print_interrupted(const struct run_result *res, FILE *out)
{
	const char *in = res->interrupted_in ? res->interrupted_in : "";
	fprintf(out, "  INTERRUPTED by %s ", report_signal_name(res->interrupted));
	if (strcmp(in, "setup") == 0 || strcmp(in, "start") == 0)
		fprintf(out, "%s: no order was placed\n",
		        in[1] == 'e' ? "while setting up the stores" : "before the setup");
	else
		fprintf(out, "at t=%.3f s (%s): the checks were not run\n",
		        (double)res->virtual_us / 1e6, in);
}

static void print_checks(const struct run_result *res, FILE *out)
{
	fprintf(out, "  checks\n");
	for (size_t i = 0; i < res->checks.n; i++) {
		const struct check_result *c = &res->checks.v[i];
		fprintf(out, "    %-4s %s: %s\n", c->ok ? "ok" : "FAIL", c->name, c->detail);
	}
	fprintf(out, "  %s\n", res->failed_checks == 0 ? "all checks hold" : "SOME CHECKS FAILED");
}

void report_text(const struct run_result *res, FILE *out)
{
	const struct metrics *m = res->metrics;
	fprintf(out, "\n== ddbsim %s report ==\n", res->mode);
	if (res->scenario[0])
		fprintf(out, "  scenario       %s\n", res->scenario);
	if (res->has_seed)
		fprintf(out, "  seed           %" PRIu64 "\n", res->seed);
	if (res->interrupted)
		fprintf(out, "  state_hash     - (interrupted)\n");
	else
		fprintf(out, "  state_hash     %016" PRIx64 "\n", res->state_hash);
	if (strcmp(res->mode, "run") == 0)
		print_run_summary(res, out);
	else
		fprintf(out, "  sync           %" PRIu64 " events relayed, %" PRIu64 " applied (%.2f s)\n",
		        m->events_relayed, m->events_applied_central, res->wall_seconds);
	print_still_queued(res, out);
	print_customers(&m->customers, out);
	print_faults(res, out);
	if (res->interrupted)
		print_interrupted(res, out);
	else
		print_checks(res, out);
}

int report_file_open(struct report_file *rf, const char *path, char *err, size_t errlen)
{
	memset(rf, 0, sizeof *rf);
	if (!*path)
		return errorf(err, errlen, "'': not a file name");
	if (copy_str(rf->path, sizeof rf->path, path) != 0)
		return errorf(err, errlen, "%s: path too long", path);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return errorf(err, errlen, "%s: is a directory", path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device or a pipe (/dev/stdout, say): written in place. */
		rf->f = fopen(path, "w");
		if (!rf->f)
			return errorf(err, errlen, "%s: %s", path, strerror(errno));
		return 0;
	}
	snprintf(rf->tmp, sizeof rf->tmp, "%s.tmp", path);
	rf->f = fopen(rf->tmp, "w");
	if (!rf->f) {
		int e = errno;
		rf->tmp[0] = '\0';
		return errorf(err, errlen, "%s: cannot write the report there: %s", path, strerror(e));
	}
	return 0;
}

void report_file_discard(struct report_file *rf)
{
	if (rf->f)
		fclose(rf->f);
	if (rf->tmp[0])
		remove(rf->tmp);
	memset(rf, 0, sizeof *rf);
}

int report_file_commit(struct report_file *rf, const struct run_result *res, char *err,
                       size_t errlen)
{
	cJSON *root = report_json(res);
	char *text = root ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!text) {
		report_file_discard(rf);
		return errorf(err, errlen, "%s: out of memory", rf->path);
	}
	/* Names are valid UTF-8 at input, but a detail cut to fit its buffer
	 * may end inside a character, and a path may be any bytes: JSON text
	 * must be UTF-8. */
	utf8_scrub(text);
	int ok = fputs(text, rf->f) >= 0 && fputc('\n', rf->f) != EOF;
	cJSON_free(text);
	return report_file_finish(rf, ok, err, errlen);
}

int report_file_finish(struct report_file *rf, int ok, char *err, size_t errlen)
{
	ok = ok && fflush(rf->f) == 0;
	int e = errno;
	if (fclose(rf->f) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	rf->f = NULL;
	if (ok && rf->tmp[0]) {
		if (rename(rf->tmp, rf->path) == 0) {
			rf->tmp[0] = '\0';
		} else {
			ok = 0;
			e = errno;
		}
	}
	int rc = ok ? 0 : errorf(err, errlen, "%s: %s", rf->path, strerror(e ? e : EIO));
	report_file_discard(rf); /* removes the temp file if the rename did not happen */
	return rc;
}
