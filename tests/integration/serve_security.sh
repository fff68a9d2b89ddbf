#!/bin/sh
# serve_security.sh - the limits of `ddbsim serve`: a non-loopback --listen
# without --token-file is refused before anything listens; bad --listen,
# --speed and --token-file values exit 2 naming the option; with a token,
# every request but GET /metrics needs "Authorization: Bearer TOKEN" (401
# without it or with a wrong one, compared whole); a body over 64 KiB is
# refused 413 (declared or chunked) while one of exactly 64 KiB is read;
# no answer carries Access-Control-Allow-Origin; past the connection limit
# a new connection waits unanswered, and is served once others leave.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

# refused WHAT OPTION ARGS...: serve exits 2 at once, naming OPTION.
refused() {
	what=$1 option=$2
	shift 2
	rc=0
	timeout 30 "$DDBSIM" serve -c "$CONF" -d "$TMP/refused" --param background=no "$@" \
		> "$TMP/out" 2> "$TMP/err" || rc=$?
	expect_rc 2 "$what"
	grep -q -- "$option" "$TMP/err" || { cat "$TMP/err" >&2; fail "$what: the message does not name $option"; }
	grep -q "listening on" "$TMP/out" && fail "$what: it listened"
	grep -q "orders" "$TMP/out" && fail "$what: a report was printed"
	return 0
}

refused "0.0.0.0 without a token" --token-file --listen 0.0.0.0:0
grep -q "not a loopback address" "$TMP/err" || fail "the refusal does not say why: $(cat "$TMP/err")"
refused "[::] without a token" --token-file --listen '[::]:0'
refused "no port" --listen --listen 127.0.0.1
refused "port 99999" --listen --listen 127.0.0.1:99999
refused "a host name" --listen --listen localhost:0
refused "a letter in the port" --listen --listen 127.0.0.1:8o
refused "speed 0" --speed --speed 0
refused "speed not a number" --speed --speed fast
refused "a missing token file" --token-file --token-file "$TMP/no-such-token"
: > "$TMP/empty-token"
refused "an empty token file" --token-file --token-file "$TMP/empty-token"
pass "bad --listen, --speed, --token-file values and an open address without a token: exit 2"

printf 'the-token-0123456789\n' > "$TMP/token"
start_serve sec -c "$CONF" -d "$TMP/data" --param background=no --token-file "$TMP/token"
port=${SERVE_URL##*:}
# A serve refused for its port touches no store: the session that holds
# the port keeps its order (on full.conf the refused one, with another data
# directory, would share its PostgreSQL databases and queues; the report at
# the end says the order is still stored), and the refused one's data
# directory holds no store.
status=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST --max-time 30 \
	-H 'Authorization: Bearer the-token-0123456789' -H 'Content-Type: application/json' \
	--data-binary '{"region":"east","sku":"MOUSE","quantity":1,"id":"sec-1"}' \
	"$SERVE_URL/api/v1/orders") || status=000
[ "$status" = 200 ] && grep -q '"status":"accepted"' "$TMP/body" ||
	fail "an order before the refused serve: $status $(cat "$TMP/body")"
rm -rf "$TMP/refused"
refused "a port in use" --listen --listen "127.0.0.1:$port"
grep -q "cannot listen there" "$TMP/err" || fail "a port in use: $(cat "$TMP/err")"
grep -q "port 0" "$TMP/err" && fail "a port in use: a message names port 0: $(cat "$TMP/err")"
left=$(ls -A "$TMP/refused" 2>/dev/null | grep -v '^lock$' || true)
[ -z "$left" ] || fail "a serve refused for its port created $left"
pass "a port in use: exit 2 naming --listen"
timeout 120 "$PY" - "$SERVE_URL" the-token-0123456789 <<'PY' || fail "the limits (see above)"
import http.client, json, socket, sys, time, urllib.parse

url, token = sys.argv[1], sys.argv[2]
u = urllib.parse.urlsplit(url)
host, port = u.hostname, u.port
seen_headers = []

def call(method, path, body=None, headers=None, auth=token):
    h = dict(headers or {})
    if auth is not None:
        h["Authorization"] = "Bearer " + auth
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request(method, path, body=body, headers=h,
              encode_chunked=h.get("Transfer-Encoding") == "chunked")
    r = c.getresponse()
    data = r.read()
    seen_headers.append((method, path, r.status, r.getheaders()))
    c.close()
    return r.status, data

def expect(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)

# The token.
expect(call("GET", "/api/v1/status")[0] == 200, "GET /status with the token")
for auth, what in ((None, "no token"), ("the-token-012345678", "a prefix of the token"),
                   ("the-token-01234567899", "the token and more"),
                   ("the-token-0123456780", "a wrong last byte"), ("", "an empty token")):
    s, b = call("GET", "/api/v1/status", auth=auth)
    expect(s == 401, "%s: status %d" % (what, s))
    expect(json.loads(b).get("error"), "%s: no JSON error: %r" % (what, b))
s, _ = call("GET", "/api/v1/status", headers={"Authorization": "Basic dGhlOnRva2Vu"}, auth=None)
expect(s == 401, "Basic auth: status %d" % s)
s, _ = call("POST", "/api/v1/orders", body=b'{"region":"east","sku":"MOUSE","quantity":1,"id":"x1"}',
            auth=None)
expect(s == 401, "an order without the token: status %d" % s)
expect(call("GET", "/api/v1/orders/x1")[0] == 404, "an order refused 401 was placed")
s, b = call("POST", "/api/v1/orders", body=b'{"region":"east","sku":"MOUSE","quantity":1,"id":"x2"}')
expect(s == 200 and json.loads(b)["status"] == "accepted", "an order with the token: %d %r" % (s, b))
s, b = call("GET", "/metrics", auth=None)
expect(s == 200 and b.startswith(b"# HELP ddbsim_"), "GET /metrics without the token: status %d" % s)
expect(call("POST", "/metrics", auth=None)[0] == 401, "POST /metrics without the token")
print("ok: the token: 401 without it or with a wrong one, every request but GET /metrics")

# The body limit.
order = b'{"region":"east","sku":"MOUSE","quantity":1,"id":"big-ok"}'
exact = order + b" " * (65536 - len(order))
s, b = call("POST", "/api/v1/orders", body=exact)
expect(s == 200 and json.loads(b)["status"] == "accepted", "a body of exactly 64 KiB: %d %r" % (s, b[:200]))
# Past the limit, the answer comes as soon as the headers are in: the body
# is never read (the client is told before it sends it).
c = socket.create_connection((host, port), timeout=30)
c.sendall(b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() +
          b"\r\nContent-Type: application/json\r\nContent-Length: 65537\r\n\r\n")
reply = b""
while True:
    got = c.recv(4096)
    if not got:
        break
    reply += got
c.close()
head, _, b = reply.partition(b"\r\n\r\n")
expect(head.startswith(b"HTTP/1.1 413 "), "a body of 64 KiB + 1: %r" % reply[:200])
expect(json.loads(b).get("error"), "413 is not a JSON error: %r" % b)
expect(b"access-control-" not in head.lower(), "the 413 has a CORS header: %r" % head)
def chunks(n):
    for _ in range(n):
        yield b" " * 4096
s, b = call("POST", "/api/v1/orders", body=chunks(20), headers={"Transfer-Encoding": "chunked"})
expect(s == 413, "a chunked body of 80 KiB: status %d" % s)
s, b = call("POST", "/api/v1/orders", body=chunks(2), headers={"Transfer-Encoding": "chunked"})
expect(s == 400, "a chunked body of 8 KiB of spaces: status %d" % s)
print("ok: bodies up to 64 KiB are read, larger ones answered 413")

# Ambiguous bodies are refused, naming the field (found by fuzz_api).
for body, field in ((b'{"region":"east","sku":"MOUSE","quantity":1,"quantity":1000}', None),
                    (b'{"region":"","sku":"MOUSE","quantity":1}', "region"),
                    (b'{"region":"east","sku":"","quantity":1}', "sku"),
                    (b'{"region":"east","sku":"MOUSE","quantity":9223372036854775807}', "quantity")):
    s, b = call("POST", "/api/v1/orders", body=body)
    d = json.loads(b)
    expect(s == 400 and d.get("field") == field, "%r: %d %r" % (body, s, d))
expect("twice" in json.loads(call("POST", "/api/v1/orders", body=b'{"sku":"A","sku":"B"}')[1])["error"],
       "a field given twice is not said so")
print("ok: a field given twice, an empty region or sku, a quantity past 2^63: 400")

# No CORS: not on any answer so far, not on a preflight.
call("OPTIONS", "/api/v1/orders", headers={"Origin": "http://evil.example",
     "Access-Control-Request-Method": "POST"})
call("GET", "/api/v1/status", headers={"Origin": "http://evil.example"})
for method, path, status, headers in seen_headers:
    names = [k.lower() for k, _ in headers]
    expect(not any(n.startswith("access-control-") for n in names),
           "%s %s (%d) has a CORS header: %r" % (method, path, status, headers))
print("ok: no Access-Control-* header on %d answers" % len(seen_headers))

# The connection limit: with 256 connections held, the next one waits
# unanswered (MHD stops accepting); once they are gone, it is answered.
held = []
for i in range(256):
    held.append(socket.create_connection((host, port), timeout=10))
time.sleep(0.5)
extra = socket.create_connection((host, port), timeout=2)
extra.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Authorization: Bearer " + token.encode() + b"\r\n\r\n")
try:
    got = extra.recv(100)
except socket.timeout:
    got = None
expect(got is None, "connection 257 was not held back: %r" % got)
for s_ in held:
    s_.close()
extra.settimeout(10)
got = b""
while True:
    part = extra.recv(4096)
    if not part:
        break
    got += part
extra.close()
expect(got.startswith(b"HTTP/1.1 200 "), "connection 257, once others left: %r" % got[:100])
print("ok: past 256 connections a new one waits; it is served once others leave")
PY

api POST /api/v1/shutdown
expect_status 401 "shutdown without the token"
kill -0 "$SERVE_PID" || fail "a shutdown without the token stopped the server"
stop_serve TERM
[ "$serve_rc" -eq 0 ] || { cat "$TMP/sec.out" "$TMP/sec.err" >&2; fail "serve exited $serve_rc"; }
grep -q "all checks hold" "$TMP/sec.out" || fail "no 'all checks hold' in the report"
pass "a shutdown without the token is refused; SIGTERM ends it with every check holding"
