# plugins/storage/local.mk - what the storage plugins' local.mk files share:
# turning a plugin's statements.sql into its C header of statement ids and
# SQL (stmt2c.awk says how), generated in the build tree.  A plugin's
# local.mk names the header as a target with its statements.sql and
# $(STMT2C) as prerequisites, and $(STMT2C_RUN) as the recipe; the header
# goes into the plugin's nodist sources and BUILT_SOURCES.
STMT2C = $(srcdir)/plugins/storage/stmt2c.awk
STMT2C_RUN = $(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(AWK) -v header=$(@F) -f $(STMT2C) $(srcdir)/$(@D)/statements.sql >$@-t && mv $@-t $@
EXTRA_DIST += plugins/storage/stmt2c.awk
