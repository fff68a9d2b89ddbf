# text2c.awk - turns text files (the HTML report's template, CSS and
# JavaScript under www/report/) into C string constants, one per file:
# www/report/report.js becomes static const char www_report_js[].  Every line
# is kept.  Backslashes, double quotes and question marks (no trigraphs) are
# escaped.  POSIX awk.
BEGIN {
	print "/* generated from the files under www/ by www/text2c.awk: do not edit. */"
	open = 0
}
FNR == 1 {
	if (open)
		print "\t;"
	name = FILENAME
	sub(/^.*\//, "", name)
	gsub(/[^A-Za-z0-9]/, "_", name)
	print "static const char www_" name "[] ="
	open = 1
}
{
	line = ""
	for (i = 1; i <= length($0); i++) {
		c = substr($0, i, 1)
		if (c == "\\" || c == "\"" || c == "?")
			c = "\\" c
		line = line c
	}
	print "\t\"" line "\\n\""
}
END {
	if (open)
		print "\t;"
}
