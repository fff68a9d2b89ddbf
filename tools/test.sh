#!/bin/sh
# tools/test.sh - the whole test suite from a clone: installs what is
# missing, builds in build-check/ with AddressSanitizer, UBSan and warnings
# as errors, runs `make check`, and ends with "N passed, N failed, N skipped".
# With DDBSIM_REQUIRE_BACKENDS=1 (CI) a skipped test counts as a failure.
#
# The build is made from a copy of the sources, build-check/source/, never
# from the clone itself: the README's quick start configures and builds the
# clone in place, and configure refuses a second, out-of-tree build of a
# source directory that is configured (and make would find the in-tree
# objects through VPATH and take them for its own).  The copy holds the
# files git lists (tracked, and untracked ones it does not ignore), so that
# nothing a build wrote in the clone gets in.  It is refreshed on each run:
# a file whose contents changed is replaced and stamped with the current
# time (so make rebuilds what depends on it, whatever time the clone's file
# carries), a file git no longer lists is removed, and every other file keeps
# its time, so a second run rebuilds only what changed.  The clone is only
# read: an in-tree build there stays as it was.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd -P)
check=$top/build-check

tools/deps.sh --test

# Where the sources come from: the copy in a git clone; without git (an
# unpacked release tarball), the source directory itself, which must not be
# configured in place.
if [ -e "$top/.git" ] && command -v git >/dev/null 2>&1 &&
   git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	srcdir=$check/source
else
	srcdir=$top
	if [ -f "$top/config.status" ]; then
		echo "tools/test.sh: $top is configured in place and is not a git clone, so there is" \
		     "no clean copy of its sources to build from: run 'make distclean' there first"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
fi

# A build-check/ configured from another source directory (as tools/test.sh
# did before it built from a copy) is started over.
if [ -f "$check/Makefile" ] &&
   [ "$(sed -n 's/^abs_top_srcdir = //p' "$check/Makefile")" != "$srcdir" ]; then
	echo "tools/test.sh: build-check/ was configured from another source directory: starting over"
	rm -rf "$check"
fi
mkdir -p "$check"

executable() {
	if [ -x "$1" ]; then echo yes; else echo no; fi
}

# Refreshes build-check/source/ from the clone (see the top of this file).
refresh_copy() {
	list=$check/source.files    # what the copy holds, one path a line
	stage=$check/source.stage   # this run's files, before they replace the copy's
	if ! git -C "$top" -c core.quotepath=off ls-files --cached --others --exclude-standard \
	     >"$list.git"; then
		echo "tools/test.sh: git cannot list the files of $top"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
	sort -u "$list.git" | while IFS= read -r f; do
		# A tracked file deleted in the clone is not copied.
		if [ -f "$top/$f" ] || [ -L "$top/$f" ]; then
			printf '%s\n' "$f"
		fi
	done >"$list.new"
	rm -f "$list.git"
	rm -rf "$stage"
	mkdir -p "$stage" "$srcdir"
	tar -C "$top" -cf - --no-recursion --verbatim-files-from -T "$list.new" |
		tar -C "$stage" -xf -
	while IFS= read -r f; do
		if cmp -s "$stage/$f" "$srcdir/$f" 2>/dev/null &&
		   [ "$(executable "$stage/$f")" = "$(executable "$srcdir/$f")" ]; then
			continue # unchanged: keeps its time
		fi
		mkdir -p "$srcdir/$(dirname "$f")"
		rm -rf "$srcdir/$f"
		mv "$stage/$f" "$srcdir/$f"
		touch "$srcdir/$f"
	done <"$list.new"
	if [ -f "$list" ]; then
		sort "$list" >"$list.old"
		sort "$list.new" | comm -23 "$list.old" - | while IFS= read -r f; do
			rm -f "$srcdir/$f"
		done
		rm -f "$list.old"
	fi
	mv "$list.new" "$list"
	rm -rf "$stage"
}

status=0
if [ "$srcdir" = "$check/source" ]; then
	refresh_copy
fi
[ -x "$srcdir/configure" ] || (cd "$srcdir" && autoreconf -fi)
cd "$check"
if ! { [ -f Makefile ] || "$srcdir/configure" --enable-sanitizers --enable-werror --quiet; } ||
   ! make -j"$(nproc)" >/dev/null; then
	echo "tools/test.sh: the build failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# Results of an earlier run (or of a test since removed) are not counted.
find . -path ./source -prune -o -name '*.trs' -exec rm -f {} +
make -j"$(nproc)" check || status=$?

# Count the results the test driver recorded.
passed=0 failed=0 skipped=0
for trs in $(find . -path ./source -prune -o -name '*.trs' -print); do
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
