# doc/local.mk - man pages.
dist_man_MANS = doc/ddbsim.1 doc/ddbsim.conf.5 doc/ddbsim-lua.7
