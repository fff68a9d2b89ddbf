# www/local.mk - the web page of `ddbsim serve`, installed as it is (no
# build step) and served from a fixed list by src/api_static.c.
wwwdir = $(pkgdatadir)/www
dist_www_DATA = \
	www/index.html \
	www/app.js \
	www/app.css
