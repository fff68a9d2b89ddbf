# www/local.mk - the web page of `ddbsim serve` (index.html, app.js,
# app.css), installed as they are (no build step) and served from a fixed
# list by src/api_static.c; and the HTML report's page (template, CSS, JavaScript under
# www/report/), compiled into the program as C strings by text2c.awk, so that
# `ddbsim run --html` needs no file of this tree at run time (only the chart
# library, from the package that configure found: DYGRAPHS_DIR).
www_report_inputs = $(srcdir)/www/report/report.html $(srcdir)/www/report/report.css \
	$(srcdir)/www/report/report.js
www/report/www_report.h: $(www_report_inputs) $(srcdir)/www/text2c.awk
	@$(MKDIR_P) www/report
	$(AM_V_GEN)$(AWK) -f $(srcdir)/www/text2c.awk $(www_report_inputs) >$@-t && mv $@-t $@
BUILT_SOURCES += www/report/www_report.h
CLEANFILES += www/report/www_report.h www/report/www_report.h-t
EXTRA_DIST += www/text2c.awk www/report/report.html www/report/report.css www/report/report.js

wwwdir = $(pkgdatadir)/www
dist_www_DATA = \
	www/index.html \
	www/app.js \
	www/app.css
# The page's screenshots in the README (made by tests/integration/page.sh).
EXTRA_DIST += doc/page.png doc/page-mobile.png
