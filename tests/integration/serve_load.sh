#!/bin/sh
# serve_load.sh - `ddbsim serve` under load, the background workload on:
#   1. 8 concurrent keep-alive clients x 2,000 requests (orders with
#      unique ids, 1 in 10 a GET of an earlier order, 1 in 50 GET
#      /sales): every order is answered accepted or rejected, the GETs
#      agree with the answers, and at shutdown the regions hold exactly
#      the orders the API accepted plus the background workload's, the
#      report counts them all, and every check holds;
#   2. SIGTERM with the clients still running: a clean report, every check
#      holding, exit 0, and every order answered accepted is stored, none
#      answered rejected is.
# DDBSIM_SERVE_LOAD_REQUESTS sets the requests per client (default 2,000):
# serve_full.sh runs this on etc/full.conf (DDBSIM_SERVE_CONFIG=full) with
# 1,000, half the time of 2,000 there (about 10 s against 20 s); every
# check above holds with any count (the same share of GETs, and at least
# one GET /sales per client from 50 on).  On
# full.conf the stores are read in PostgreSQL (the orders of the databases
# east, middle and west) instead of the SQLite files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

# clients MODE PREFIX OUT: the load (python below) against $SERVE_URL.
# MODE count: 8 x $REQUESTS requests; MODE until-gone: until the server goes.
REQUESTS=${DDBSIM_SERVE_LOAD_REQUESTS:-2000}
case "$REQUESTS" in
''|*[!0-9]*) fail "DDBSIM_SERVE_LOAD_REQUESTS=$REQUESTS: a number of requests per client" ;;
esac
[ "$REQUESTS" -ge 50 ] || fail "DDBSIM_SERVE_LOAD_REQUESTS=$REQUESTS: at least 50 (one GET /sales)"
clients() {
	timeout 300 "$PY" - "$SERVE_URL" "$1" "$2" "$3" "$REQUESTS" <<'PY'
import http.client, json, sys, threading, urllib.parse

url, mode, prefix, out = sys.argv[1:5]
u = urllib.parse.urlsplit(url)
N_CLIENTS, N_REQUESTS = 8, int(sys.argv[5])
REGIONS = ("east", "middle", "west")
SKUS = ("MOUSE", "KEYBOARD", "WEBCAM", "LAPTOP")
answers = {}  # id -> "accepted" / "rejected"
problems = []
counts = {"post": 0, "get": 0, "sales": 0, "gone": 0}
lock = threading.Lock()

def client(k):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    mine = []
    i = 0
    while mode == "until-gone" or i < N_REQUESTS:
        i += 1
        try:
            if i % 50 == 0:
                conn.request("GET", "/api/v1/sales")
                r = conn.getresponse()
                r.read()
                if mode == "until-gone" and r.status == 503:
                    break  # shutting down
                if r.status != 200:
                    problems.append("GET /sales: %d" % r.status)
                with lock:
                    counts["sales"] += 1
            elif i % 10 == 0 and mine:
                oid, said = mine[(i * 7919) % len(mine)]
                conn.request("GET", "/api/v1/orders/" + oid)
                r = conn.getresponse()
                d = json.loads(r.read())
                if mode == "until-gone" and r.status == 503:
                    break  # shutting down
                if r.status != 200 or d["status"] != said:
                    problems.append("GET %s: %d %r, answered %s" % (oid, r.status, d, said))
                with lock:
                    counts["get"] += 1
            else:
                oid = "%s-%d-%d" % (prefix, k, i)
                body = json.dumps({"region": REGIONS[(k + i) % 3], "sku": SKUS[i % 4],
                                   "quantity": 1 + i % 3, "id": oid})
                conn.request("POST", "/api/v1/orders", body=body,
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                raw = r.read()
                if mode == "until-gone" and r.status == 503:
                    break  # shutting down: this order's fate is not known
                d = json.loads(raw)
                if r.status != 200 or d.get("status") not in ("accepted", "rejected"):
                    problems.append("POST %s: %d %r" % (oid, r.status, d))
                    continue
                mine.append((oid, d["status"]))
                with lock:
                    answers[oid] = d["status"]
                    counts["post"] += 1
        except (OSError, http.client.HTTPException) as e:
            if mode == "until-gone":
                with lock:
                    counts["gone"] += 1
                break
            problems.append("client %d request %d: %r" % (k, i, e))
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

threads = [threading.Thread(target=client, args=(k,)) for k in range(N_CLIENTS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
json.dump(answers, open(out, "w"))
acc = sum(1 for s in answers.values() if s == "accepted")
print("clients: %d orders (%d accepted), %d GET orders, %d GET sales, %d problems" %
      (counts["post"], acc, counts["get"], counts["sales"], len(problems)))
for p in problems[:10]:
    print("  ", p, file=sys.stderr)
sys.exit(1 if problems or (mode == "count" and counts["post"] + counts["get"] +
                           counts["sales"] != N_CLIENTS * N_REQUESTS) else 0)
PY
}

# stored DATA ANSWERS REPORT PREFIX: the regions' stores against the
# clients' answers and the report's count of accepted orders.  The ids the
# regions hold go to DATA.ids first: from the SQLite files of DATA, or on
# full.conf from PostgreSQL.
stored() {
	if [ "$SERVE_CONFIG" = full ]; then
		: > "$1.ids"
		for r in east middle west; do
			pg_sql "$r" "SELECT id FROM orders" >> "$1.ids" || fail "cannot read $r's orders"
		done
	else
		"$PY" - "$1" > "$1.ids" <<'PY'
import glob, sqlite3, sys
for f in glob.glob(sys.argv[1] + "/*.db"):
    db = sqlite3.connect("file:%s?mode=ro" % f, uri=True)
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'orders'").fetchone():
        for r in db.execute("SELECT id FROM orders"):
            print(r[0])
    db.close()
PY
	fi
	"$PY" - "$1.ids" "$2" "$3" "$4" <<'PY'
import json, re, sys

id_file, answers, report, prefix = sys.argv[1:5]
answers = json.load(open(answers))
ids = set(line.rstrip("\n") for line in open(id_file) if line.strip())
ours = {i for i in ids if i.startswith(prefix + "-")}
accepted = {i for i, s in answers.items() if s == "accepted"}
rejected = {i for i, s in answers.items() if s == "rejected"}
m = re.search(r"orders +(\d+) accepted", open(report).read())
reported = int(m.group(1))
bad = []
if accepted - ours:
    bad.append("answered accepted, not stored: %s" % sorted(accepted - ours)[:5])
if rejected & ours:
    bad.append("answered rejected, stored: %s" % sorted(rejected & ours)[:5])
if ours - set(answers):
    bad.append("stored, never answered: %d" % len(ours - set(answers)))
if reported != len(ids):
    bad.append("the report counts %d accepted, the stores hold %d" % (reported, len(ids)))
print("stores: %d orders: %d through the API (%d answered accepted), %d by the background workload;"
      " the report: %d accepted" % (len(ids), len(ours), len(accepted), len(ids - ours), reported))
for b in bad:
    print("  ", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

start_serve load -c "$CONF" -d "$TMP/data"
clients count L "$TMP/answers.json" || fail "the clients saw problems (above)"
end_session load
stored "$TMP/data" "$TMP/answers.json" "$TMP/load.out" L || fail "the stores disagree (above)"
pass "8 clients x $REQUESTS requests: nothing lost, every check holds"

start_serve term -c "$CONF" -d "$TMP/term"
clients until-gone T "$TMP/term.json" > "$TMP/term-clients.out" 2>&1 &
CLIENTS_PID=$!
sleep 3
kill -0 "$CLIENTS_PID" 2>/dev/null || { cat "$TMP/term-clients.out" >&2; fail "the clients stopped early"; }
stop_serve TERM
wait "$CLIENTS_PID" || { cat "$TMP/term-clients.out" >&2; fail "the clients saw problems"; }
cat "$TMP/term-clients.out"
[ "$serve_rc" -eq 0 ] || { cat "$TMP/term.out" "$TMP/term.err" >&2; fail "serve exited $serve_rc after SIGTERM under load"; }
grep -q "all checks hold" "$TMP/term.out" || { cat "$TMP/term.out" >&2; fail "a check failed after SIGTERM"; }
stored "$TMP/term" "$TMP/term.json" "$TMP/term.out" T || fail "the stores disagree after SIGTERM (above)"
pass "SIGTERM under load: a clean report, every check holding, exit 0"
