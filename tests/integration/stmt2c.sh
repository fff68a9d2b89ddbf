#!/bin/sh
# plugins/storage/stmt2c.awk, which turns a storage plugin's statements.sql
# into its header at build time: the ids in file order, each statement's
# lines joined with one space, its role; and a clear refusal, naming the
# file and line, of what it cannot turn into the same SQL.
. "$top_srcdir/tests/integration/lib.sh"
STMT2C="$top_srcdir/plugins/storage/stmt2c.awk"

# stmt2c FILE: runs the awk on FILE; output in $TMP/out, messages in
# $TMP/err, exit status in $rc.
stmt2c() {
	rc=0
	${AWK:-awk} -v header=t_statements.h -f "$STMT2C" "$1" >"$TMP/out" 2>"$TMP/err" || rc=$?
}

cat >"$TMP/good.sql" <<'SQL'
-- a comment before the first statement
-- statement: FIRST role: regional
-- a comment inside, then indented lines and a blank one
SELECT a, "b"
    FROM t

  WHERE c = ?1
-- statement: SECOND role: any
COMMIT
SQL
stmt2c "$TMP/good.sql"
expect_rc 0 "a good statements.sql"
grep -q '^#ifndef DDBSIM_T_STATEMENTS_H$' "$TMP/out" || fail "no include guard named after the header"
ids=$(sed -n '/^enum stmt_id {$/,/^};$/p' "$TMP/out" | tr -d '\t\n')
[ "$ids" = "enum stmt_id {S_FIRST,S_SECOND,S_COUNT};" ] || fail "ids: $ids"
# One space between the lines, the quotes escaped, no comment kept.
sql=$(sed -n '/\[S_FIRST\]/,/},$/p' "$TMP/out" | sed -n 's/^\t\t"\(.*\)"\( },\)\{0,1\}$/\1/p' | tr -d '\n')
[ "$sql" = 'SELECT a, \"b\" FROM t WHERE c = ?1' ] || fail "FIRST's SQL: $sql"
grep -q 'comment' "$TMP/out" && fail "a comment line of the SQL file reached the header"
grep -q '\[S_FIRST\] = { DDB_ROLE_REGIONAL,$' "$TMP/out" || fail "FIRST's role"
grep -q '\[S_SECOND\] = { 0,$' "$TMP/out" || fail "role any is not 0"
pass "statements, in order, their lines joined with one space, their roles"

# refuse LINE WHAT SQL: stmt2c refuses the file with "FILE:LINE: ...WHAT".
refuse() {
	printf '%s\n' "$3" >"$TMP/bad.sql"
	stmt2c "$TMP/bad.sql"
	[ "$rc" -ne 0 ] || fail "accepted $2"
	grep -q "^$TMP/bad.sql:$1: .*$2" "$TMP/err" ||
		fail "refusing $2: $(cat "$TMP/err"), want $TMP/bad.sql:$1: ...$2"
	pass "refuses $2 (line $1)"
}
refuse 1 'SQL before the first' 'SELECT 1'
refuse 1 'role bogus' '-- statement: X role: bogus
SELECT 1'
refuse 1 'expected "-- statement: NAME role: ROLE"' '-- statement: lower role: any
SELECT 1'
refuse 3 'statement X a second time' '-- statement: X role: any
SELECT 1
-- statement: X role: any
SELECT 2'
refuse 2 'statement X has no SQL' '-- statement: X role: any
-- statement: Y role: any
SELECT 1'
refuse 2 '"--" inside a line' '-- statement: X role: any
SELECT 1 -- one'
refuse 2 'a backslash' '-- statement: X role: any
SELECT '"'"'\\'"'"
