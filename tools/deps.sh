#!/bin/sh
# tools/deps.sh - installs the Debian 12 packages ddbsim needs, only those
# missing; uses sudo when not run as root.
#   tools/deps.sh           to build and run (embedded backends)
#   tools/deps.sh --test    also the servers and clients the test suite
#                           starts: PostgreSQL, RabbitMQ, the MongoDB stand-in,
#                           headless Chromium for the browser tests;
#                           and what `make fuzz` needs (as --fuzz)
#   tools/deps.sh --fuzz    to build and run, and clang 14 with libFuzzer and
#                           its sanitizer runtimes, for `make fuzz`
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
liblua5.4-dev libinih-dev libcjson-dev libmicrohttpd-dev libcmocka-dev libsqlite3-dev
libpq-dev librabbitmq-dev libmongoc-dev libbson-dev libjs-dygraphs"
TEST_PACKAGES="sqlite3 jq python3 postgresql postgresql-contrib rabbitmq-server
python3-pymongo python3-bson-ext python3-mongomock python3-prometheus-client curl
chromium chromium-driver python3-selenium fonts-dejavu-core"
# libclang-rt-14-dev (the sanitizer and libFuzzer runtimes) is only a
# recommendation of clang-14, and recommendations are not installed here.
FUZZ_PACKAGES="clang-14 libclang-rt-14-dev libfuzzer-14-dev"

case "${1:-}" in
"") want=$PACKAGES ;;
--test) want="$PACKAGES $TEST_PACKAGES $FUZZ_PACKAGES" ;;
--fuzz) want="$PACKAGES $FUZZ_PACKAGES" ;;
*) echo "usage: tools/deps.sh [--test | --fuzz]" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "tools/deps.sh: installing:$missing"
$SUDO apt-get update -qq
# Package scripts may not start services here (policy-rc.d); tests start
# their own servers.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
