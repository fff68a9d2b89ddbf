# ddb_plugin.m4 - one line per plugin in configure.ac.
#
# DDB_PLUGIN(NAME, PKG-CONFIG-MODULES, DESCRIPTION)
#   Adds --enable-NAME / --disable-NAME.  Default: built when its modules are
#   found (always, when it needs none).  --enable-NAME with a module missing
#   is an error.  Defines NAME_CFLAGS/NAME_LIBS (upper case), the automake
#   conditional BUILD_NAME, and a line in the summary configure prints.
AC_DEFUN([DDB_PLUGIN], [
  m4_ifval([$2],
    [AC_ARG_ENABLE([$1],
      [AS_HELP_STRING([--enable-$1], [build the $1 plugin: $3 @<:@default: if $2 is found@:>@])],
      [], [enable_$1=auto])],
    [AC_ARG_ENABLE([$1],
      [AS_HELP_STRING([--enable-$1], [build the $1 plugin: $3 @<:@default: yes@:>@])],
      [], [enable_$1=auto])])
  ddb_have_$1=yes
  m4_ifval([$2], [
    AS_IF([test "x$enable_$1" != xno], [
      PKG_CHECK_MODULES(m4_toupper([$1]), [$2], [ddb_have_$1=yes], [ddb_have_$1=no])
    ])
  ])
  AS_CASE(["$enable_$1"],
    [yes], [AS_IF([test "x$ddb_have_$1" != xyes],
              [AC_MSG_ERROR([--enable-$1 was given, but the $1 plugin cannot be built: pkg-config found no $2 (install its -dev package, or use --disable-$1)])])
            ddb_build_$1=yes],
    [no], [ddb_build_$1=no],
    [ddb_build_$1=$ddb_have_$1])
  AM_CONDITIONAL(m4_toupper([BUILD_$1]), [test "x$ddb_build_$1" = xyes])
  ddb_plugin_summary="$ddb_plugin_summary
    m4_format([%-10s], [$1]) $ddb_build_$1	($3)"
])
