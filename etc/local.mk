# etc/local.mk - the default config, with the install paths filled in.
ddbsimconfdir = $(sysconfdir)/ddbsim
ddbsimconf_DATA = etc/ddbsim.conf
EXTRA_DIST += etc/ddbsim.conf.in
CLEANFILES += etc/ddbsim.conf

etc/ddbsim.conf: $(top_srcdir)/etc/ddbsim.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && sed \
		-e 's|@pkglibdir[@]|$(pkglibdir)|g' \
		-e 's|@scriptsdir[@]|$(pkgdatadir)/scripts|g' \
		$(top_srcdir)/etc/ddbsim.conf.in > $@.tmp && mv $@.tmp $@

# Examples with servers, installed beside the default.
dist_ddbsimconf_DATA = etc/postgres.conf etc/mongo.conf etc/full.conf
