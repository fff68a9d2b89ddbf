#!/bin/sh
# serve_events.sh - GET /api/v1/events of `ddbsim serve` (Server-Sent
# Events): a sample a second with the counters, queue depths and node
# states; node, fault and partition events as they happen, from the API and
# from the scenario's schedule; at most 32 streams, a slot freed when its
# client goes; every stream ended at shutdown, whose report holds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

# Two regions, no background workload, and one scheduled step at t=4 s.
cat > "$TMP/sched.lua" <<'LUA'
local shop = require "shop"
return shop.scenario {
  duration = 3600,
  regions = { "east", "west" },
  catalog = { { sku = "MOUSE", name = "Mouse", price = 19.99, stock = 1000 } },
  workload = { rate = 0 },
  failures = {
    { at = 4, action = "partition", from = { "east" }, to = { "central" }, duration = 1 },
  },
}
LUA

start_serve e1 -c "$CONF" -d "$TMP/data" "$TMP/sched.lua"

cat > "$TMP/sse.py" <<'PY'
import http.client, json, sys, time, urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
host, port = url.hostname, url.port

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def call(method, path, body=None):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data)

class Stream:
    """One GET /api/v1/events, read event by event."""
    def __init__(self):
        self.c = http.client.HTTPConnection(host, port, timeout=5)
        self.c.request("GET", "/api/v1/events")
        self.r = self.c.getresponse()
        self.seen = []
    def next(self):
        """(name, data) of the next event; None at the end of the stream."""
        ev = self.read()
        if ev is not None:
            self.seen.append(ev)
        return ev
    def read(self):
        name, data = None, None
        while True:
            line = self.r.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if name:
                    return name, json.loads(data)
                continue
            key, _, value = line.partition(": ")
            if key == "event":
                name = value
            elif key == "data":
                data = value
    def until(self, what, pred, limit_s, since=None):
        """The first event for which pred holds, within limit_s; with since,
        among the events seen from that index on first."""
        for ev in self.seen[since:] if since is not None else []:
            if pred(*ev):
                return ev
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            ev = self.next()
            if ev is None:
                fail("the stream ended while waiting for " + what)
            if pred(*ev):
                return ev
        fail("no %s within %.1f s" % (what, limit_s))

s = Stream()
if s.r.status != 200 or not s.r.getheader("Content-Type", "").startswith("text/event-stream"):
    fail("GET /events: %d %s" % (s.r.status, s.r.getheader("Content-Type")))

# Samples for 2.5 s: the first at once, then one a second.
t0 = time.monotonic()
samples = []
while time.monotonic() - t0 < 2.5:
    name, d = s.next()
    if name == "sample":
        samples.append(d)
if len(samples) < 2:
    fail("%d samples in 2.5 s" % len(samples))
for d in samples:
    for key in ("clock_s", "orders", "sync_lag_s", "queues", "nodes"):
        if key not in d:
            fail("a sample lacks %s: %s" % (key, d))
    o = d["orders"]
    if set(o["rejected_by_reason"]) != {"stock", "rule", "invalid", "unavailable", "duplicate", "error"}:
        fail("rejected_by_reason: %s" % o)
    if not {"accepted", "rejected"} <= set(o) or set(d["sync_lag_s"]) < {"p50", "p99"}:
        fail("orders or sync lag: %s" % d)
    if set(d["queues"]) != {"sync.central", "sync.documents", "node.east", "node.west"}:
        fail("queues: %s" % d["queues"])
    if d["nodes"].get("east") != "up" or d["nodes"].get("west") != "up":
        fail("nodes: %s" % d["nodes"])
print("ok: %d samples in 2.5 s, with the counters, queues and nodes" % len(samples))

# The sync lag of a sample is that of the events applied in its second: 5
# orders show in the samples after them (counts adding up to 5, with a p50
# and p99), a quiet second after them has count 0 and no p50 or p99, and
# count_total keeps the session's.
before = samples[-1]["sync_lag_s"]["count_total"]
for i in range(5):
    st, body = call("POST", "/api/v1/orders", {"region": "east", "sku": "MOUSE", "quantity": 1})
    if st != 200 or body.get("status") != "accepted":
        fail("POST /orders: %d %s" % (st, body))
total, last_total = 0, before
for _ in range(5):
    _, d = s.until("a sample", lambda n, d: n == "sample", 3, since=len(s.seen))
    lag = d["sync_lag_s"]
    if lag["count"] != lag["count_total"] - last_total:
        fail("a sample's count is not what its second added: %s after %d" % (lag, last_total))
    if lag["count"] and (lag["p50"] is None or lag["p99"] is None or lag["p50"] > lag["p99"]):
        fail("a sample with lags but no p50 or p99: %s" % lag)
    total, last_total = total + lag["count"], lag["count_total"]
    if total >= 5:
        break
if total != 5:
    fail("the samples after 5 orders counted %d lags" % total)
_, d = s.until("the quiet sample after them", lambda n, d: n == "sample", 3, since=len(s.seen))
lag = d["sync_lag_s"]
if lag["count"] != 0 or lag["p50"] is not None or lag["p99"] is not None \
        or lag["count_total"] != before + 5:
    fail("a sample of a quiet second: %s" % lag)
print("ok: a sample's sync lag covers its own second (5 orders, then a quiet one)")

# A node change of the API, as it happens, and its end after for_s.
st, body = call("PUT", "/api/v1/nodes/west", {"state": "down", "for_s": 1})
if st != 200:
    fail("PUT /nodes/west: %d %s" % (st, body))
t1 = time.monotonic()
_, d = s.until("the node event of west going down",
               lambda n, d: n == "node" and d["node"] == "west" and d["state"] == "down", 2)
if time.monotonic() - t1 > 2 or d["source"] != "api" or d["ended"]:
    fail("node event: %s" % d)
s.until("the node event of west back up after for_s",
        lambda n, d: n == "node" and d["node"] == "west" and d["state"] == "up" and d["ended"], 3)
print("ok: a node change of the API and its end appear as they happen")

# The schedule's partition at t=4 (and its heal at t=5).
_, d = s.until("the schedule's partition",
               lambda n, d: n == "partition" and d["source"] == "schedule", 5, since=0)
if d["action"] != "partition" or d["from"] != ["east"] or d["to"] != ["central"]:
    fail("the schedule's partition: %s" % d)
s.until("the schedule's heal",
        lambda n, d: n == "partition" and d["source"] == "schedule" and d["action"] == "heal", 3,
        since=0)
print("ok: the schedule's partition and heal appear")

# A fault and a partition of the API, and their ends by DELETE.
st, f = call("POST", "/api/v1/faults", {"kind": "drop", "probability": 0.25})
_, d = s.until("the fault event", lambda n, d: n == "fault", 2)
if d["kind"] != "drop" or d["probability"] != 0.25 or d["id"] != f["id"] or d["ended"]:
    fail("fault event: %s" % d)
call("DELETE", "/api/v1/faults/%d" % f["id"])
s.until("the fault's end", lambda n, d: n == "fault" and d["ended"] and d["id"] == f["id"], 2)
st, p = call("POST", "/api/v1/partitions", {"from": ["west"], "to": ["east"], "oneway": True})
_, d = s.until("the partition event", lambda n, d: n == "partition" and d["source"] == "api", 2)
if d["id"] != p["id"] or not d["oneway"] or d["action"] != "partition":
    fail("partition event: %s" % d)
call("DELETE", "/api/v1/partitions/%d" % p["id"])
s.until("the partition's heal", lambda n, d: n == "partition" and d["action"] == "heal", 2)
print("ok: faults and partitions of the API and their ends appear")

# At most 32 streams; a slot comes back when its client goes.
more = [Stream() for _ in range(31)]
if any(m.r.status != 200 for m in more):
    fail("streams 2..32 refused")
extra = Stream()
if extra.r.status != 503:
    fail("a 33rd stream answered %d" % extra.r.status)
extra.c.close()
for m in more:
    m.c.close()
# At once, not at the streams' next sample: the server looks for clients
# gone when no slot is free.
again = [Stream() for _ in range(31)]
refused = sum(1 for a in again if a.r.status != 200)
if refused:
    fail("%d of 31 streams refused right after 31 clients left" % refused)
for a in again:
    a.c.close()
print("ok: at most 32 streams, slots freed as soon as they are needed when clients go")

# A client that does not read is dropped once its buffer overflows, and the
# server goes on.
def metric(name):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    for line in text.split("\n"):
        if line.startswith(name + " "):
            return float(line.split(" ")[1])
    fail("no %s in /metrics" % name)

import socket
def stalled_stream():
    """A stream whose client reads its status line and nothing more; None
    when the server answered 503."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((host, port))
    sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: test\r\n\r\n")
    head = b""
    while len(head) < 12:
        got = sock.recv(12 - len(head))
        if not got:
            break
        head += got
    if head == b"HTTP/1.1 200":
        return sock
    sock.close()
    if head != b"HTTP/1.1 503":
        fail("the stalled client's stream: %r" % head)
    return None
stalled = None
end = time.monotonic() + 5
while stalled is None and time.monotonic() < end:
    stalled = stalled_stream()
    if stalled is None:
        time.sleep(0.2)
if stalled is None:
    fail("no stream slot for the stalled client within 5 s")
time.sleep(0.5)
# The stream of this test reads on meanwhile, in a thread, so that only the
# stalled client falls behind.
import threading
flooding = True
def drain():
    while True:
        ev = s.next()
        if ev is None or (not flooding and ev[0] == "sample"):
            return
reader = threading.Thread(target=drain)
reader.start()
flood = http.client.HTTPConnection(host, port, timeout=10)
cycles = 0
# Partitions of big sets make big events: the kernel's socket buffers fill
# first (a few MiB), then the stream's 64 KiB.  40000 cycles are 80000 of
# the session's 100000 steps.
cut = '{"from":["east","west"],"to":["central","documents","broker"]}'
while metric("ddbsim_event_streams_dropped_total") < 1 and cycles < 40000:
    for _ in range(500):
        flood.request("POST", "/api/v1/partitions", body=cut)
        p = json.loads(flood.getresponse().read())
        flood.request("DELETE", "/api/v1/partitions/%d" % p["id"])
        flood.getresponse().read()
        cycles += 1
flood.close()
flooding = False
reader.join(10)
if metric("ddbsim_event_streams_dropped_total") != 1:
    fail("a client that does not read was not dropped after %d partition cycles" % cycles)
stalled.close()
s.until("a sample after the flood", lambda n, d: n == "sample", 3)
print("ok: a client that does not read is dropped (after %d partition cycles); the others go on" % cycles)

# Shutdown ends the stream.
st, _ = call("POST", "/api/v1/shutdown")
end = time.monotonic() + 30
while time.monotonic() < end:
    if s.next() is None:
        break
else:
    fail("the stream did not end at shutdown")
print("ok: the stream ends at shutdown")
PY

timeout 120 "$PY" "$TMP/sse.py" "$SERVE_URL" || fail "the event stream (above)"
stop_serve TERM
[ "$serve_rc" -eq 0 ] || { cat "$TMP/e1.out" "$TMP/e1.err" >&2; fail "serve exited $serve_rc"; }
grep -q "all checks hold" "$TMP/e1.out" || { cat "$TMP/e1.out" >&2; fail "no 'all checks hold' in the report"; }
pass "shutdown: every check holds"
