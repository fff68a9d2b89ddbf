#!/bin/sh
# tools/deps.sh - installs the Debian 12 packages ddbsim needs to build,
# test and run; only those missing.  Uses sudo when not run as root.
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
liblua5.4-dev libinih-dev libcjson-dev libcmocka-dev libsqlite3-dev sqlite3 jq"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "tools/deps.sh: installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
