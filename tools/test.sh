#!/bin/sh
# tools/test.sh - the whole test suite from a clean clone: installs what is
# missing, builds in build-check/ with AddressSanitizer, UBSan and warnings
# as errors, runs `make check`, and ends with "N passed, N failed, N skipped".
# With DDBSIM_REQUIRE_BACKENDS=1 (CI) a skipped test counts as a failure.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

tools/deps.sh --test
[ -x configure ] || autoreconf -fi
mkdir -p build-check
cd build-check
status=0
if ! { [ -f Makefile ] || "$top/configure" --enable-sanitizers --enable-werror --quiet; } ||
   ! make -j"$(nproc)" >/dev/null; then
	echo "tools/test.sh: the build failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
make -j"$(nproc)" check || status=$?

# Count the results the test driver recorded.
passed=0 failed=0 skipped=0
for trs in $(find . -name '*.trs'); do
	case $(sed -n 's/^:test-result: //p' "$trs") in
	PASS|XFAIL) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
if [ "${DDBSIM_REQUIRE_BACKENDS:-0}" = 1 ] && [ "$skipped" -gt 0 ]; then
	echo "DDBSIM_REQUIRE_BACKENDS=1: $skipped skipped tests count as failed"
	failed=$((failed + skipped))
	skipped=0
fi
[ "$failed" -eq 0 ] && [ "$status" -ne 0 ] && failed=1
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
