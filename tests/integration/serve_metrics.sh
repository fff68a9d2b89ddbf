#!/bin/sh
# serve_metrics.sh - GET /metrics of `ddbsim serve`: Prometheus text format
# 0.0.4 that python3-prometheus-client's parser reads, with HELP and TYPE on
# every family, the ddbsim_ prefix, _total on counters, histograms whose
# buckets are cumulative and end with le="+Inf" = _count; counters that
# rise with the API's orders, gauges that follow the nodes; no token needed
# for it when the rest of the API requires one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

printf 'metrics-test-token\n' > "$TMP/token"
start_serve m1 -c "$CONF" -d "$TMP/data" --param background=no --token-file "$TMP/token"

cat > "$TMP/metrics.py" <<'PY'
import http.client, json, math, sys, urllib.parse
from prometheus_client.parser import text_string_to_metric_families

url = urllib.parse.urlsplit(sys.argv[1])
AUTH = {"Authorization": "Bearer metrics-test-token", "Content-Type": "application/json"}

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def call(method, path, body=None, headers=AUTH):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), data

def scrape():
    """The families of GET /metrics (no token), checked line by line."""
    st, ctype, data = call("GET", "/metrics", headers={})
    if st != 200:
        fail("GET /metrics without a token: %d" % st)
    if not ctype.startswith("text/plain; version=0.0.4"):
        fail("Content-Type: %s" % ctype)
    text = data.decode("utf-8")
    if not text.endswith("\n"):
        fail("the page does not end with a newline")
    helps, types = set(), {}
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            if name in types:
                fail("TYPE twice for " + name)
            types[name] = kind
        elif line.startswith("#") or not line:
            fail("a stray line: %r" % line)
    families = {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam
    for name, kind in types.items():
        if not name.startswith("ddbsim_"):
            fail(name + " lacks the ddbsim_ prefix")
        if name not in helps:
            fail(name + " has no HELP")
        if kind == "counter" and not name.endswith("_total"):
            fail("counter %s does not end in _total" % name)
        if kind != "counter" and name.endswith("_total"):
            fail("%s ends in _total but is a %s" % (name, kind))
        if "_ms" in name or "millisecond" in name:
            fail(name + " is not in base units")
    for fam in families.values():
        if fam.type not in ("counter", "gauge", "histogram"):
            fail("%s has type %s" % (fam.name, fam.type))
        if not fam.samples:
            fail(fam.name + " has no samples")
        for smp in fam.samples:
            if math.isnan(smp.value) or smp.value < 0:
                fail("%s = %s" % (smp.name, smp.value))
            for label in smp.labels:
                if label not in ("region", "queue", "node", "reason", "store", "le"):
                    fail("%s has a label %s" % (smp.name, label))
        if fam.type == "histogram":
            buckets = [(s.labels["le"], s.value) for s in fam.samples if s.name.endswith("_bucket")]
            count = [s.value for s in fam.samples if s.name == fam.name + "_count"]
            total = [s.value for s in fam.samples if s.name == fam.name + "_sum"]
            if not buckets or buckets[-1][0] != "+Inf" or len(count) != 1 or len(total) != 1:
                fail("%s: buckets %s, _count %s, _sum %s" % (fam.name, buckets, count, total))
            bounds = [float(le) for le, _ in buckets]
            if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
                fail("%s: bounds not increasing: %s" % (fam.name, bounds))
            values = [v for _, v in buckets]
            if values != sorted(values):
                fail("%s: buckets not cumulative: %s" % (fam.name, buckets))
            if values[-1] != count[0]:
                fail("%s: +Inf %s != _count %s" % (fam.name, values[-1], count[0]))
            if not fam.name.endswith("_seconds"):
                fail(fam.name + " is not in seconds")
    return families

def value(families, family, sample=None, **labels):
    fam = families.get(family)
    if fam is None:
        fail("no family " + family)
    for s in fam.samples:
        if (sample is None or s.name == sample) and s.labels == labels:
            return s.value
    fail("no sample %s%s in %s" % (sample or family, labels, family))

st, _, _ = call("GET", "/api/v1/status", headers={})
if st != 401:
    fail("GET /api/v1/status without the token: %d" % st)

before = scrape()
for fam in ("ddbsim_orders_accepted", "ddbsim_orders_rejected", "ddbsim_events_applied",
            "ddbsim_order_latency_seconds", "ddbsim_sync_lag_seconds", "ddbsim_queue_depth",
            "ddbsim_node_up", "ddbsim_customer_writes_queued", "ddbsim_sync_behind_events"):
    if fam not in before:
        fail("no family " + fam + ": " + ", ".join(sorted(before)))
for q in ("sync.central", "sync.documents", "node.east", "node.middle", "node.west"):
    value(before, "ddbsim_queue_depth", queue=q)
for reason in ("stock", "rule", "invalid", "unavailable"):
    value(before, "ddbsim_orders_rejected", reason=reason)
a0 = value(before, "ddbsim_orders_accepted")
print("ok: the page parses strictly; every family has HELP, TYPE and its conventions")

for i in range(3):
    st, _, body = call("POST", "/api/v1/orders",
                       {"region": "east", "sku": "MOUSE", "quantity": 1, "id": "m-%d" % i})
    if st != 200 or json.loads(body)["status"] != "accepted":
        fail("order m-%d: %d %s" % (i, st, body))
st, _, body = call("POST", "/api/v1/orders", {"region": "east", "sku": "NOPE", "quantity": 1})
st, _, body = call("GET", "/api/v1/checks")  # settles the sync
st, _, body = call("PUT", "/api/v1/nodes/west", {"state": "down"})
after = scrape()
if value(after, "ddbsim_orders_accepted") != a0 + 3:
    fail("accepted %s -> %s after 3 orders" % (a0, value(after, "ddbsim_orders_accepted")))
if value(after, "ddbsim_orders_rejected", reason="invalid") != \
        value(before, "ddbsim_orders_rejected", reason="invalid") + 1:
    fail("rejected{reason=invalid} did not rise by 1")
if value(after, "ddbsim_order_latency_seconds", "ddbsim_order_latency_seconds_count") != 3:
    fail("order latency _count is not 3")
if value(after, "ddbsim_sync_lag_seconds", "ddbsim_sync_lag_seconds_count") < 3:
    fail("sync lag _count below 3 after the sync settled")
if value(after, "ddbsim_events_applied", store="central") < 3:
    fail("events_applied{store=central} below 3")
if value(after, "ddbsim_node_up", node="west") != 0 or value(after, "ddbsim_node_up", node="east") != 1:
    fail("node_up does not follow west down")
print("ok: counters rise with the API's orders, node_up follows the nodes")
call("PUT", "/api/v1/nodes/west", {"state": "up"})
st, _, _ = call("POST", "/api/v1/shutdown")
if st != 202:
    fail("shutdown: %d" % st)
PY

timeout 120 "$PY" "$TMP/metrics.py" "$SERVE_URL" || fail "the metrics (above)"
stop_serve TERM
[ "$serve_rc" -eq 0 ] || { cat "$TMP/m1.out" "$TMP/m1.err" >&2; fail "serve exited $serve_rc"; }
grep -q "all checks hold" "$TMP/m1.out" || { cat "$TMP/m1.out" >&2; fail "no 'all checks hold' in the report"; }
pass "shutdown: every check holds"
