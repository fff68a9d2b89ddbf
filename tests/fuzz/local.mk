# tests/fuzz/local.mk - fuzzing: libFuzzer harnesses for the parsers of
# what comes from outside (config files, messages, kept queues, scenario
# tables, the nodes file, the record of queued writes) and the HTTP API's
# router and JSON bodies.
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_HARNESSES='config wire']
#
# builds each harness with clang (FUZZ_CC, found by configure) under
# libFuzzer, AddressSanitizer and UBSan, from the sources themselves (never
# the objects of this build, made by $(CC)), and runs it for FUZZ_SECONDS
# seconds (tests/fuzz/run.sh): one line per harness with its execs/s and
# whether it crashed.  A crash fails make fuzz and is kept under
# tests/fuzz/work/NAME/ in the build directory, where each harness also
# keeps the corpus it grew from its seeds, tests/fuzz/corpus/NAME/.
#
# make check runs each harness once over its seed corpus (tests/fuzz/
# replay.c), built with $(CC) and this build's sanitizers: the seeds, and
# each input that once crashed a parser (regress-*), stay tests.
#
# Adding a harness NAME:
#   1. tests/fuzz/fuzz_NAME.c, defining LLVMFuzzerTestOneInput (fuzz.h);
#   2. a handful of real inputs in tests/fuzz/corpus/NAME/, and if it helps,
#      the words of its format in tests/fuzz/NAME.dict;
#   3. below: FUZZ_NAME_SRC (the harness and the sources it tests), a
#      build rule for tests/fuzz/fuzz_NAME, NAME in FUZZ_ALL, and its replay
#      program.

FUZZ_SECONDS = 60
FUZZ_ALL = config wire broker_queues scenario nodes queued_writes api
FUZZ_HARNESSES = $(FUZZ_ALL)

FUZZ_COMMON = tests/fuzz/fuzz_common.c
# Every harness is rebuilt when one of these changes.
FUZZ_INCLUDED = tests/fuzz/fuzz.h src/ddbsim/plugin.h src/util.h src/config_file.h src/wire.h \
	src/node.h src/scenario.h src/scenario_int.h src/prng.h src/queued_writes.h src/script_watchdog.h src/utf8.h
FUZZ_CONFIG_SRC = tests/fuzz/fuzz_config.c src/config_file.c
FUZZ_WIRE_SRC = tests/fuzz/fuzz_wire.c src/wire.c
FUZZ_BROKER_QUEUES_SRC = tests/fuzz/fuzz_broker_queues.c
FUZZ_SCENARIO_SRC = tests/fuzz/fuzz_scenario.c src/scenario.c src/scenario_limits.c \
	src/scenario_sandbox.c src/scenario_parse.c src/scenario_fields.c src/scenario_actions.c \
	src/scenario_customers.c src/script_watchdog.c src/utf8.c src/prng.c
FUZZ_NODES_SRC = tests/fuzz/fuzz_nodes.c src/node.c
FUZZ_QUEUED_WRITES_SRC = tests/fuzz/fuzz_queued_writes.c src/queued_writes.c src/node.c
# The API's parsers sit beside its endpoints, which reach the whole engine:
# this harness is built with every source of the library.
FUZZ_API_SRC = tests/fuzz/fuzz_api.c
FUZZ_API_LIB_C = `for f in $(src_libddbsim_la_SOURCES); do case $$f in *.c) echo $$f;; esac; done`

EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/make_corpus.sh tests/fuzz/scenario_seed.c \
	tests/fuzz/scenario.dict tests/fuzz/config.dict tests/fuzz/corpus

# --- make fuzz: the harnesses, built with clang ------------------------------
FUZZ_CFLAGS = -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer $(WARN_CFLAGS)
FUZZ_CPPFLAGS = -Isrc -Itests/fuzz -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(DEFS)
# Compiles from the top of the source tree, so that the source lists are
# the same for make fuzz and for make check.
FUZZ_BUILD = $(MKDIR_P) tests/fuzz && out=`pwd`/$@ && cd $(top_srcdir) && \
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -o "$$out"

tests/fuzz/fuzz_config: $(FUZZ_INCLUDED) $(FUZZ_COMMON) $(FUZZ_CONFIG_SRC)
	$(AM_V_GEN)$(FUZZ_BUILD) $(INIH_CFLAGS) $(FUZZ_COMMON) $(FUZZ_CONFIG_SRC) $(INIH_LIBS)
tests/fuzz/fuzz_wire: $(FUZZ_INCLUDED) $(FUZZ_COMMON) $(FUZZ_WIRE_SRC)
	$(AM_V_GEN)$(FUZZ_BUILD) $(FUZZ_COMMON) $(FUZZ_WIRE_SRC)
tests/fuzz/fuzz_broker_queues: $(FUZZ_INCLUDED) $(FUZZ_COMMON) $(FUZZ_BROKER_QUEUES_SRC) \
		plugins/transport/memory/memory.c
	$(AM_V_GEN)$(FUZZ_BUILD) $(FUZZ_COMMON) $(FUZZ_BROKER_QUEUES_SRC)
tests/fuzz/fuzz_scenario: $(FUZZ_INCLUDED) $(FUZZ_COMMON) $(FUZZ_SCENARIO_SRC)
	$(AM_V_GEN)$(FUZZ_BUILD) $(LUA_CFLAGS) $(CJSON_CFLAGS) $(FUZZ_COMMON) $(FUZZ_SCENARIO_SRC) \
		$(LUA_LIBS) $(CJSON_LIBS) $(LIBS)
tests/fuzz/fuzz_nodes: $(FUZZ_INCLUDED) $(FUZZ_COMMON) $(FUZZ_NODES_SRC)
	$(AM_V_GEN)$(FUZZ_BUILD) $(FUZZ_COMMON) $(FUZZ_NODES_SRC)
tests/fuzz/fuzz_queued_writes: $(FUZZ_INCLUDED) $(FUZZ_COMMON) $(FUZZ_QUEUED_WRITES_SRC)
	$(AM_V_GEN)$(FUZZ_BUILD) $(FUZZ_COMMON) $(FUZZ_QUEUED_WRITES_SRC)
# report_html.c includes the page generated in the build tree (www/local.mk).
tests/fuzz/fuzz_api: $(FUZZ_INCLUDED) $(FUZZ_COMMON) $(FUZZ_API_SRC) $(src_libddbsim_la_SOURCES) \
		www/report/www_report.h
	$(AM_V_GEN)$(FUZZ_BUILD) $(LUA_CFLAGS) $(INIH_CFLAGS) $(CJSON_CFLAGS) $(MHD_CFLAGS) \
		$(AM_CPPFLAGS) -I$(abs_top_builddir)/www/report \
		$(FUZZ_COMMON) $(FUZZ_API_SRC) $(FUZZ_API_LIB_C) \
		$(LUA_LIBS) $(INIH_LIBS) $(CJSON_LIBS) $(MHD_LIBS) $(LIBS)

fuzz:
	@if test -n '$(FUZZ_MISSING)'; then \
		echo "make fuzz: $(FUZZ_MISSING)" >&2; exit 2; fi
	@set --; for h in $(FUZZ_HARNESSES); do set -- "$$@" tests/fuzz/fuzz_$$h; done; \
		$(MAKE) $(AM_MAKEFLAGS) "$$@"
	@$(SHELL) $(top_srcdir)/tests/fuzz/run.sh '$(FUZZ_SECONDS)' '$(top_srcdir)/tests/fuzz' \
		tests/fuzz $(FUZZ_HARNESSES)
fuzz-clean:
	rm -rf tests/fuzz/work
	for h in $(FUZZ_ALL); do rm -f tests/fuzz/fuzz_$$h; done
.PHONY: fuzz fuzz-clean
clean-local: fuzz-clean

# --- make check: each harness over its seeds, built with $(CC) ---------------
FUZZ_REPLAY = tests/fuzz/replay.c tests/fuzz/fuzz.h $(FUZZ_COMMON)
FUZZ_REPLAY_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/fuzz
check_PROGRAMS += tests/fuzz/replay_config tests/fuzz/replay_wire \
	tests/fuzz/replay_broker_queues tests/fuzz/replay_scenario tests/fuzz/replay_nodes \
	tests/fuzz/replay_queued_writes tests/fuzz/replay_api
tests_fuzz_replay_config_SOURCES = $(FUZZ_REPLAY) $(FUZZ_CONFIG_SRC)
tests_fuzz_replay_config_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"config"'
tests_fuzz_replay_config_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS)
tests_fuzz_replay_config_LDADD = $(INIH_LIBS)
tests_fuzz_replay_wire_SOURCES = $(FUZZ_REPLAY) $(FUZZ_WIRE_SRC)
tests_fuzz_replay_wire_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"wire"'
tests_fuzz_replay_broker_queues_SOURCES = $(FUZZ_REPLAY) $(FUZZ_BROKER_QUEUES_SRC)
tests_fuzz_replay_broker_queues_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"broker_queues"'
tests_fuzz_replay_scenario_SOURCES = $(FUZZ_REPLAY) $(FUZZ_SCENARIO_SRC)
tests_fuzz_replay_scenario_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"scenario"'
tests_fuzz_replay_scenario_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS) $(CJSON_CFLAGS)
tests_fuzz_replay_scenario_LDADD = $(LUA_LIBS) $(CJSON_LIBS)
tests_fuzz_replay_nodes_SOURCES = $(FUZZ_REPLAY) $(FUZZ_NODES_SRC)
tests_fuzz_replay_nodes_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"nodes"'
tests_fuzz_replay_queued_writes_SOURCES = $(FUZZ_REPLAY) $(FUZZ_QUEUED_WRITES_SRC)
tests_fuzz_replay_queued_writes_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"queued_writes"'
tests_fuzz_replay_api_SOURCES = $(FUZZ_REPLAY) $(FUZZ_API_SRC)
tests_fuzz_replay_api_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"api"'
tests_fuzz_replay_api_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
tests_fuzz_replay_api_LDADD = src/libddbsim.la $(CJSON_LIBS)
