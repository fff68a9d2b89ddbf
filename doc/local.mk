# doc/local.mk - man pages.
dist_man_MANS = doc/ddbsim.1 doc/ddbsim.conf.5 doc/ddbsim-lua.7
# The screenshots README.md shows (taken by tests/integration/report_html.sh).
EXTRA_DIST += doc/report.png doc/report-runs.png
