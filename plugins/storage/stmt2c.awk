# stmt2c.awk - turns a storage plugin's statements.sql into a C header of
# its statements: enum stmt_id (S_NAME for each "-- statement: NAME role:
# ROLE" line, in file order, then S_COUNT) and struct stmt_def; and, where
# STMT_DEFINE_TABLE is defined before the header is included (in the one
# file that prepares the statements), the table stmt_table[S_COUNT] of
# { role, sql }.  ROLE: regional, central or documents (DDB_ROLE_*), or any
# (0: every instance).  The lines of a statement are joined with one space,
# their leading and trailing blanks dropped; comment lines ("--" first) and
# blank lines are left out, and a "--" or a backslash inside a line is
# refused.  Run: awk -v header=NAME.h -f stmt2c.awk statements.sql >NAME.h
# (header names the output in its comment and include guard).  POSIX awk.
BEGIN {
	n = 0
	failed = 0
	role_c["regional"] = "DDB_ROLE_REGIONAL"
	role_c["central"] = "DDB_ROLE_CENTRAL"
	role_c["documents"] = "DDB_ROLE_DOCUMENTS"
	role_c["any"] = "0"
}
function fail(msg) {
	print FILENAME ":" FNR ": " msg > "/dev/stderr"
	failed = 1
	exit 1
}
/^-- statement:/ {
	if (!match($0, /^-- statement: [A-Z][A-Z0-9_]* role: [a-z]+$/))
		fail("expected \"-- statement: NAME role: ROLE\" (NAME in capitals)")
	if (!($5 in role_c))
		fail("role " $5 ": not regional, central, documents or any")
	if ($3 in seen)
		fail("statement " $3 " a second time")
	if (n && lines[n] == 0)
		fail("statement " name[n] " has no SQL")
	seen[$3] = 1
	n++
	name[n] = $3
	role[n] = role_c[$5]
	lines[n] = 0
	next
}
/^[ \t]*--/ || /^[ \t]*$/ { next }
{
	if (!n)
		fail("SQL before the first \"-- statement: NAME role: ROLE\" line")
	if (index($0, "--"))
		fail("\"--\" inside a line: comments go on lines of their own")
	if (index($0, "\\"))
		fail("a backslash: not supported")
	line = $0
	sub(/^[ \t]+/, "", line)
	sub(/[ \t]+$/, "", line)
	gsub(/"/, "\\\"", line)
	sql[n, ++lines[n]] = line
}
END {
	if (failed)
		exit 1
	if (!n) {
		print FILENAME ": no \"-- statement: NAME role: ROLE\" line" > "/dev/stderr"
		exit 1
	}
	if (lines[n] == 0) {
		print FILENAME ": statement " name[n] " has no SQL" > "/dev/stderr"
		exit 1
	}
	guard = "DDBSIM_" toupper(header)
	gsub(/[^A-Z0-9]/, "_", guard)
	print "/* " header " - generated from statements.sql by stmt2c.awk: do not edit. */"
	print "#ifndef " guard
	print "#define " guard
	print ""
	print "enum stmt_id {"
	for (i = 1; i <= n; i++)
		print "\tS_" name[i] ","
	print "\tS_COUNT"
	print "};"
	print ""
	print "/* A statement: the role that uses it (0: every instance), its SQL. */"
	print "struct stmt_def {"
	print "\tunsigned role;"
	print "\tconst char *sql;"
	print "};"
	print ""
	print "#ifdef STMT_DEFINE_TABLE"
	print "static const struct stmt_def stmt_table[S_COUNT] = {"
	for (i = 1; i <= n; i++) {
		print "\t[S_" name[i] "] = { " role[i] ","
		for (j = 1; j <= lines[i]; j++)
			print "\t\t\"" (j > 1 ? " " : "") sql[i, j] "\"" (j == lines[i] ? " }," : "")
	}
	print "};"
	print "#endif"
	print ""
	print "#endif"
}
