#!/bin/sh
# tests/fuzz/make_corpus.sh - writes the seed corpora of tests/fuzz/corpus/
# from real inputs, with the real code: a developer's tool, run by hand when
# a format changes, its output committed.
#
#   tests/fuzz/make_corpus.sh BUILDDIR
#
# BUILDDIR is a configured build tree of ddbsim where `make` has run (the
# ddbsim program and the sqlite and memory plugins).  It writes
#   corpus/config/         the config files of etc/ and tests/
#   corpus/scenario/       the bundled and test scenarios, as the table each
#                          returns (scenario_seed.c; the notation of
#                          fuzz_scenario.c)
#   corpus/broker_queues/  broker.queues files that real runs left, with
#                          events for a center that was down and customer
#                          records for a region that was down (a few
#                          messages of each queue: seeds stay small)
#   corpus/wire/           the messages of those files, one a file: events
#                          and customer records as wire.c encodes them
#   corpus/nodes/          nodes files of those runs (down, slow, cut off)
# Files named regress-* (inputs that once crashed a harness) are left alone.
set -eu
[ $# -eq 1 ] || { echo "usage: tests/fuzz/make_corpus.sh BUILDDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
corpus=$here/corpus
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ddbsim-corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

for d in config scenario broker_queues wire nodes; do
	mkdir -p "$corpus/$d"
	find "$corpus/$d" -type f ! -name 'regress-*' -exec rm -f {} +
done

# --- config ---------------------------------------------------------------
for f in "$top"/etc/*.conf "$top"/etc/ddbsim.conf.in "$top"/tests/bench/*.conf; do
	cp "$f" "$corpus/config/$(basename "$f")"
done
cat > "$corpus/config/test.conf" <<'CONF'
[ddbsim]
plugin_dir = ${DDBSIM_PLUGIN_DIR}
data_dir = /tmp/ddbsim-test/data
seed = 42

[transport]
plugin = memory
max_queue = 100000

[regions]
plugin = sqlite
synchronous = NORMAL

[region.boston]
plugin = sqlite
synchronous = FULL
busy_timeout_ms = 1000

[central]
plugin = sqlite

[documents]
plugin = sqlite
CONF

# --- scenario -------------------------------------------------------------
cc -std=c11 -D_POSIX_C_SOURCE=200809L -o "$tmp/scenario_seed" "$here/scenario_seed.c" \
	$(pkg-config --cflags --libs lua5.4) -lm
for f in "$top"/scripts/lua/*.lua "$top"/tests/integration/data/*.lua \
         "$top"/tests/integration/data/*/*.lua; do
	[ "$(basename "$f")" = shop.lua ] && continue
	name=$(basename "$(dirname "$f")")-$(basename "$f" .lua)
	"$tmp/scenario_seed" "$f" "$top/scripts/lua" > "$corpus/scenario/$name"
done

# --- runs: broker.queues, nodes, wire -------------------------------------
export DDBSIM_PLUGIN_DIR="$build/plugins/storage/sqlite/.libs:$build/plugins/transport/memory/.libs"
export DDBSIM_SCRIPTDIR="$top/scripts/lua"
unset DDBSIM_CONFIG
ddbsim() { "$build/ddbsim" "$@" -q >/dev/null 2>&1 || true; }
scripts=$top/scripts/lua

# Customer writes held for a region that is down at exit; a slow node and
# a partition in the nodes file.
d=$tmp/customers
ddbsim run -d "$d" "$scripts/customers.lua" --param outages=no --param duration=5
ddbsim node set west down -d "$d"
ddbsim node set east slow --latency 0.05 -d "$d"
ddbsim run -d "$d" "$scripts/customers.lua" --param outages=no --param duration=5
mkdir -p "$tmp/queues"
cp "$d/broker.queues" "$tmp/queues/customers-west-down"
cp "$d/nodes" "$corpus/nodes/customers-west-down"

# Order and product events for a center that is down at exit.
d=$tmp/ecommerce
ddbsim run -d "$d" "$scripts/ecommerce.lua"
ddbsim node set central down -d "$d"
ddbsim node set seattle partitioned boston -d "$d"
ddbsim node set denver slow --latency 0.2 -d "$d"
ddbsim run -d "$d" "$scripts/ecommerce.lua"
cp "$d/broker.queues" "$tmp/queues/ecommerce-central-down"
cp "$d/nodes" "$corpus/nodes/ecommerce-central-down-partitioned"
ddbsim node set seattle connected -d "$d"
ddbsim node set central up -d "$d"
ddbsim node set denver up -d "$d"
cp "$d/nodes" "$corpus/nodes/ecommerce-all-up"

# Of each file, a few messages of each queue (the first ones, the first of
# each kind, the longest), as a broker.queues of its own and one message a
# file.
python3 - "$tmp/queues" "$corpus" <<'PY'
import os, sys
queues, corpus = sys.argv[1], sys.argv[2]
FEW = 3
for name in sorted(os.listdir(queues)):
    data = open(os.path.join(queues, name), "rb").read()
    lines = data.split(b"\n", 1)
    assert lines[0] == b"ddbsim memory queues 1", name
    rest, kept = lines[1], {}
    while not rest.startswith(b"end\n"):
        head, rest = rest.split(b"\n", 1)
        _, name_len, count = head.split(b" ")
        queue, rest = rest[:int(name_len)], rest[int(name_len) + 1:]
        for k in range(int(count)):
            head, rest = rest.split(b"\n", 1)
            _, length, redelivered = head.split(b" ")
            body, rest = rest[:int(length)], rest[int(length) + 1:]
            kept.setdefault(queue, []).append((body, redelivered))
    out = [b"ddbsim memory queues 1\n"]
    for queue, messages in sorted(kept.items()):
        # the first few, the first of each kind (byte 3), the longest
        pick = set(range(min(FEW, len(messages))))
        for kind in {m[0][3] for m in messages}:
            pick.add(next(i for i, m in enumerate(messages) if m[0][3] == kind))
        pick.add(max(range(len(messages)), key=lambda i: len(messages[i][0])))
        few = [messages[i] for i in sorted(pick)]
        out.append(b"queue %d %d\n%s\n" % (len(queue), len(few), queue))
        for k, (body, redelivered) in zip(sorted(pick), few):
            out.append(b"message %d %s\n%s\n" % (len(body), redelivered, body))
            fname = "%s-%s-%d" % (name, queue.decode(), k)
            open(os.path.join(corpus, "wire", fname), "wb").write(body)
    out.append(b"end\n")
    open(os.path.join(corpus, "broker_queues", name), "wb").write(b"".join(out))
PY
echo "make_corpus.sh: $(find "$corpus" -type f | wc -l) files in $corpus"
