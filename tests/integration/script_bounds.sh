#!/bin/sh
# A scenario script cannot hang ddbsim or exhaust the machine: loading it,
# each hook and each check run under a memory limit and an instruction and
# time limit per call; going past one stops the run with exit status 2 and
# a message naming the script, the line and the hook, even when the script
# wraps the work in pcall.  Finalizers (__gc), which Lua runs where no limit
# applies, are refused.  Every run here is bounded with timeout: a hang is a
# failure (exit 124), not a stuck test.
. "$top_srcdir/tests/integration/lib.sh"

# seconds: far above what a bounded run takes, even under ASan
LIMIT=${SCRIPT_BOUNDS_TIMEOUT:-120}

# run ARGS...: like ddbsim, within LIMIT seconds.
run() {
	rc=0
	timeout "$LIMIT" "$DDBSIM" "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?
}

# script NAME TOP TABLE: a valid scenario; TOP is Lua before it (line 1 on),
# TABLE is Lua inside its table.
script() {
	cat > "$TMP/$1" <<LUA
$2
local shop = require "shop"
return shop.scenario {
  duration = 2,
  regions = { "east", "west" },
  catalog = { { sku = "A", price = 1, stock = 100000 } },
  ${3:-}
}
LUA
}

# A config with small limits, for the memory and time cases (fast under
# ASan too).
limits_conf() { # NAME KEY=VALUE...
	name=$1
	shift
	sed '/^data_dir/q' "$CONF" > "$TMP/$name"
	for kv in "$@"; do
		echo "$kv" | sed 's/=/ = /' >> "$TMP/$name"
	done
	sed '1,/^data_dir/d' "$CONF" >> "$TMP/$name"
}

# ---- instructions: at load, in a hook, in a check, behind pcall ------------
# With the default limits (100000000 instructions, 5 s: on a loaded machine
# the time may run out first).
script load.lua 'local n = 0
while true do n = n + 1 end'
run run -c "$CONF" "$TMP/load.lua"
expect_rc 2 "infinite loop at load"
expect_err "load.lua:2: in the script's top level: " "infinite loop at load"
grep -Eq "(instruction limit exceeded \(100000000 instructions|time limit exceeded \(5000 ms)" "$TMP/err" ||
	fail "infinite loop at load: $(cat "$TMP/err")"

# The rest with a lower instruction limit, and time to spare.
limits_conf loops.conf lua_instruction_limit=10000000 lua_time_limit_ms=600000
script rule.lua '' 'rules = { order = function(o)
    while true do end
  end },'
run run -c "$TMP/loops.conf" "$TMP/rule.lua"
expect_rc 2 "infinite loop in rules.order"
expect_err "rule.lua:8: in hook rules.order: instruction limit exceeded (10000000 instructions; lua_instruction_limit)" "infinite loop in rules.order"
expect_err "the run stopped" "infinite loop in rules.order stops the run"

script check.lua '' 'checks = { ["spins"] = function(facts)
    local x = 0
    repeat x = x + 1 until false
  end },'
run run -c "$TMP/loops.conf" "$TMP/check.lua"
expect_rc 2 "infinite loop in a check"
expect_err "check.lua:9: in check 'spins': instruction limit exceeded" "infinite loop in a check"

# The error is raised again at the next instruction outside the pcall.
script pcall.lua '' 'rules = { order = function(o)
    while true do
      pcall(function() while true do end end)
    end
  end },'
run run -c "$TMP/loops.conf" "$TMP/pcall.lua"
expect_rc 2 "pcall-wrapped infinite loop"
expect_err "pcall.lua:9: in hook rules.order: instruction limit exceeded" "pcall-wrapped infinite loop"
pass "an endless loop at load, in a rule, in a check or behind pcall stops the run (exit 2), naming script, line and hook"

# ---- library functions that would loop in C, where no hook runs -------------
script emptyrep.lua 'local s = string.rep("", 1e15) .. string.rep("", 1e15, "")'
run run -c "$TMP/loops.conf" "$TMP/emptyrep.lua"
expect_rc 0 "string.rep of the empty string"

script move.lua '' 'rules = { order = function(o)
    table.move({}, 1, 1e15, 2)
  end },'
run run -c "$TMP/loops.conf" "$TMP/move.lua"
expect_rc 2 "table.move of 10^15 elements"
expect_err "move.lua:8: in hook rules.order: instruction limit exceeded" "table.move of 10^15 elements"
pass "string.rep of the empty string returns at once; table.move counts each element"

# ---- finalizers --------------------------------------------------------------
script gc.lua 'local t = setmetatable({}, { __gc = function() while true do end end })
t = nil
collectgarbage()'
run run -c "$CONF" "$TMP/gc.lua"
expect_rc 2 "__gc that loops"
expect_err "gc.lua:1: in the script's top level: setmetatable: __gc is not available in a scenario" "__gc that loops"

# In a hook too, behind pcall: the run stops.
script gchook.lua '' 'rules = { order = function(o)
    pcall(setmetatable, {}, { __gc = function() while true do end end })
    collectgarbage()
  end },'
run run -c "$CONF" "$TMP/gchook.lua"
expect_rc 2 "__gc set in rules.order"
expect_err "gchook.lua:8: in hook rules.order: setmetatable: __gc is not available in a scenario" "__gc set in rules.order"
pass "a looping __gc is refused where it is set (exit 2), never run"

# ---- time --------------------------------------------------------------------
limits_conf time.conf lua_time_limit_ms=300 lua_instruction_limit=1000000000000000
script slow.lua '' 'workload = {
    rate = 5,
    order = function(region, t)
      local x = 0
      while true do x = x + 1 end
    end },'
run run -c "$TMP/time.conf" "$TMP/slow.lua"
expect_rc 2 "time limit"
expect_err "slow.lua:11: in hook workload.order: time limit exceeded (300 ms; lua_time_limit_ms)" "time limit"
pass "a hook past lua_time_limit_ms stops the run (exit 2)"

# ---- memory ------------------------------------------------------------------
# Each script stops by itself after about 300 MB, so that without a limit
# the run ends (exit 0) instead of taking the machine's memory.  A megabyte
# is string.rep(kb, 1000): a 1-byte pattern would take a million copies.
limits_conf mem.conf lua_memory_mb=32
script grow.lua 'local t, kb = {}, string.rep("x", 1000)
for i = 1, 300 do t[i] = string.rep(kb, 1000) .. i end'
run run -c "$TMP/mem.conf" "$TMP/grow.lua"
expect_rc 2 "string.rep growth at load"
expect_err "grow.lua:2: in the script's top level: memory limit exceeded (32 MiB; lua_memory_mb)" "string.rep growth at load"

script growhook.lua 'local kept, kb = {}, string.rep("y", 1000)' 'rules = { order = function(o)
    for i = 1, 300 do kept[#kept + 1] = string.rep(kb, 1000) .. i end
  end },'
run run -c "$TMP/mem.conf" "$TMP/growhook.lua"
expect_rc 2 "string.rep growth in rules.order"
expect_err "growhook.lua:8: in hook rules.order: memory limit exceeded (32 MiB; lua_memory_mb)" "string.rep growth in rules.order"

# A refused allocation raises "not enough memory", which pcall catches:
# the run must stop all the same.
script pmem.lua '' 'rules = { order = function(o)
    local ok = pcall(string.rep, "z", 200000000)
    return true
  end },'
run run -c "$TMP/mem.conf" "$TMP/pmem.lua"
expect_rc 2 "memory error caught by pcall"
expect_err "pmem.lua:9: in hook rules.order: memory limit exceeded" "memory error caught by pcall"

# Garbage does not count: a script that churns through far more than the
# limit but keeps little runs to the end.
script churn.lua 'local kb = string.rep("w", 1000)
for i = 1, 300 do local s = string.rep(kb, 1000) .. i end' 'rules = { order = function(o)
    for i = 1, 5 do local s = string.rep(kb, 1000) .. i end
  end },'
run run -c "$TMP/mem.conf" "$TMP/churn.lua"
expect_rc 0 "garbage is collected, not counted"
pass "memory past lua_memory_mb stops the run (exit 2), even behind pcall; garbage does not count"

# ---- a library function that loops in C, out of the count hook's reach ------
# A pattern that backtracks without end never returns to the interpreter;
# the watchdog ends the process a second after the time limit, naming the
# hook.  (Before the watchdog this ran for hours: timeout's 124.)
limits_conf c.conf lua_time_limit_ms=300
script cloop.lua '' 'rules = { order = function(o)
    string.find(string.rep("a", 5000), ".-.-.-.-.-b")
  end },'
start=$(date +%s)
run run -c "$TMP/c.conf" "$TMP/cloop.lua"
took=$(( $(date +%s) - start ))
expect_rc 2 "a pattern that backtracks in C"
expect_err "cloop.lua:7: in hook rules.order: time limit exceeded (300 ms; lua_time_limit_ms) in a library function" "a pattern that backtracks in C"
[ "$took" -lt 30 ] || fail "the stuck call was stopped only after $took s"
pass "a call stuck in C is stopped by the watchdog ($took s), exit 2, naming the hook"

# ---- the settings are read strictly -----------------------------------------
for bad in "lua_memory_mb= 0" "lua_memory_mb=-5" "lua_memory_mb=+5" "lua_memory_mb=1048577" \
           "lua_instruction_limit=999" "lua_instruction_limit=1e9" "lua_time_limit_ms=0" \
           "lua_time_limit_ms=86400001" "lua_time_limit_ms=5s"; do
	key=${bad%%=*}
	limits_conf bad.conf "$bad"
	run run -c "$TMP/bad.conf" "$TMP/churn.lua"
	expect_rc 2 "$bad"
	expect_err "bad.conf:4: $key must be a decimal integer from" "$bad"
done
pass "lua_memory_mb, lua_instruction_limit and lua_time_limit_ms are range-checked integers"

# The bundled scenarios keep well within the defaults, and within far
# smaller limits.
limits_conf small.conf lua_memory_mb=16 lua_instruction_limit=1000000
for s in ecommerce flash_sale customers chaos; do
	run run -c "$TMP/small.conf" "$SCRIPTS/$s.lua"
	expect_rc 0 "$s within 16 MiB and a million instructions per call"
done
pass "the bundled scenarios run within 16 MiB and a million instructions per call"
