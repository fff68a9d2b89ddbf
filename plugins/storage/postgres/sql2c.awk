# sql2c.awk - turns schema.sql into pg_schema.h, C string constants for
# postgres.c (see the top of schema.sql): "-- schema: NAME" starts
# static const char schema_NAME[]; comment and blank lines are left out;
# every other line becomes one "line\n" piece of the string.  POSIX awk.
BEGIN {
	print "/* pg_schema.h - generated from schema.sql by sql2c.awk: do not edit. */"
	in_section = 0
}
/^-- schema: [a-z_]+$/ {
	if (in_section)
		print "\t;"
	print "static const char schema_" $3 "[] ="
	in_section = 1
	next
}
/^[ \t]*--/ || /^[ \t]*$/ { next }
{
	if (!in_section) {
		print FILENAME ":" FNR ": SQL before the first \"-- schema: NAME\" line" > "/dev/stderr"
		exit 1
	}
	if (index($0, "\\")) {
		print FILENAME ":" FNR ": a backslash: not supported" > "/dev/stderr"
		exit 1
	}
	line = ""
	for (i = 1; i <= length($0); i++) {
		c = substr($0, i, 1)
		if (c == "\"")
			c = "\\\""
		line = line c
	}
	print "\t\"" line "\\n\""
}
END {
	if (in_section)
		print "\t;"
}
