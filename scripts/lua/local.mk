# scripts/lua/local.mk - bundled scenarios and the shared Lua library.
scriptsdir = $(pkgdatadir)/scripts
dist_scripts_DATA = \
	scripts/lua/shop.lua \
	scripts/lua/ecommerce.lua \
	scripts/lua/flash_sale.lua \
	scripts/lua/customers.lua \
	scripts/lua/chaos.lua \
	scripts/lua/live.lua
