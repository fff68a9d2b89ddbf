-- shop.lua - the shared library of the bundled scenarios: a scenario
-- validator that fills in defaults, deterministic iteration, weighted
-- pickers, an order generator, and helpers for checks.
--
--   local shop = require "shop"
--   return shop.scenario { regions = { ... }, catalog = { ... }, ... }
--
-- Everything random draws from math.random, which is the run's PRNG: the
-- same seed gives the same orders.  Nothing here iterates with pairs() in
-- an order that matters: keys are sorted first (pairs() order changes from
-- one process to the next).

local shop = {}

local function fail(level, fmt, ...)
  error(string.format(fmt, ...), level + 1)
end

-- ---- deterministic iteration ---------------------------------------------

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    return ta == "number" -- numbers before strings
  end
  return a < b
end

-- The keys of t, sorted: numbers first (ascending), then strings (bytewise).
function shop.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    local tk = type(k)
    if tk ~= "number" and tk ~= "string" then
      fail(2, "shop.sorted_keys: cannot sort a key of type %s", tk)
    end
    keys[#keys + 1] = k
  end
  table.sort(keys, key_less)
  return keys
end

-- Like pairs(t), in sorted key order: for k, v in shop.spairs(t) do ... end
function shop.spairs(t)
  local keys, i = shop.sorted_keys(t), 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then
      return k, t[k]
    end
  end
end

-- t[k1][k2]..., or nil as soon as a level is missing.
function shop.get(t, ...)
  for i = 1, select("#", ...) do
    if type(t) ~= "table" then
      return nil
    end
    t = t[select(i, ...)]
  end
  return t
end

-- ---- random choices -------------------------------------------------------

-- A function returning one of the choices at random, each with its weight:
--   shop.weighted { MOUSE = 5, LAPTOP = 1 }          (choice = weight)
--   shop.weighted { [1] = 70, [2] = 25, [10] = 5 }   (the same, numbers as choices)
--   shop.weighted { { "MOUSE", 5 }, { "LAPTOP", 1 } } (pairs { choice, weight })
--   shop.weighted { "MOUSE", "LAPTOP" }               (equal weights)
-- A number is always a weight (for its key); a string or a pair in a list
-- is a choice.  One math.random() per pick.
function shop.weighted(choices)
  if type(choices) ~= "table" then
    fail(2, "shop.weighted: expected a table of choices, got a %s", type(choices))
  end
  local values, cum, total = {}, {}, 0
  local function add(v, w)
    if type(w) ~= "number" or w ~= w or w < 0 or w == math.huge then
      fail(3, "shop.weighted: the weight of %s must be a number >= 0", tostring(v))
    end
    if w > 0 then
      total = total + w
      values[#values + 1] = v
      cum[#cum + 1] = total
    end
  end
  for _, k in ipairs(shop.sorted_keys(choices)) do
    local v = choices[k]
    if type(v) == "number" then
      add(k, v)
    elseif type(k) == "number" and type(v) == "table" then
      add(v[1], v[2] == nil and 1 or v[2])
    elseif type(k) == "number" and type(v) == "string" then
      add(v, 1)
    else
      fail(2, "shop.weighted: %s = %s: expected choice = weight, a list of choices, "
        .. "or a list of { choice, weight }", tostring(k), tostring(v))
    end
  end
  if total <= 0 then
    fail(2, "shop.weighted: no choice has a weight > 0")
  end
  local n = #values
  return function()
    local r = math.random() * total
    local lo, hi = 1, n
    while lo < hi do
      local mid = (lo + hi) // 2
      if cum[mid] > r then
        hi = mid
      else
        lo = mid + 1
      end
    end
    return values[lo]
  end
end

-- A function returning an integer in [lo, hi], uniformly.
function shop.between(lo, hi)
  return function()
    return math.random(lo, hi)
  end
end

-- A quantity spec: nil (1), a number, a weights table { [1] = 70, [2] = 30 },
-- a function(sku, region, t), or per product: { LAPTOP = spec, default = spec }.
local function quantity_picker(spec, level)
  local ts = type(spec)
  if spec == nil then
    return function() return 1 end
  elseif ts == "number" then
    return function() return spec end
  elseif ts == "function" then
    return spec
  elseif ts ~= "table" then
    fail(level + 1, "shop.orders: quantity: a number, a table of quantity = weight, "
      .. "a table by sku, or a function(sku, region, t)")
  end
  local by_sku = false
  for k in pairs(spec) do
    if type(k) == "string" then
      by_sku = true
    end
  end
  if not by_sku then
    local pick = shop.weighted(spec)
    return function() return pick() end
  end
  local pickers = {}
  for _, k in ipairs(shop.sorted_keys(spec)) do
    if type(k) ~= "string" then
      fail(level + 1, "shop.orders: quantity: mixes SKUs and quantities as keys")
    end
    pickers[k] = quantity_picker(spec[k], level + 1)
  end
  local default = pickers.default or quantity_picker(nil, level + 1)
  return function(sku, region, t)
    return (pickers[sku] or default)(sku, region, t)
  end
end

-- A customer spec: nil (1000 customers), a number of customers ("c00042"),
-- or a function(region, t) returning an id.
local function customer_picker(spec, level)
  if spec == nil or type(spec) == "number" then
    local n = spec or 1000
    if math.type(n) ~= "integer" or n < 1 then
      fail(level + 1, "shop.orders: customers: a whole number >= 1")
    end
    local ids = {} -- made once each: string.format per order is slow
    return function()
      local k = math.random(n)
      local id = ids[k]
      if id == nil then
        id = string.format("c%05d", k)
        ids[k] = id
      end
      return id
    end
  elseif type(spec) == "function" then
    return spec
  end
  fail(level + 1, "shop.orders: customers: a number of customers or a function(region, t)")
end

-- A workload.order function:
--   shop.orders {
--     products  = { MOUSE = 5, LAPTOP = 1 },         -- weights (see shop.weighted),
--                                                    -- or a function(region, t) -> sku
--     quantity  = { [1] = 80, [2] = 15, [10] = 5 },  -- see quantity_picker above
--     customers = 500,                               -- or a function(region, t)
--   }
-- Each order draws the sku, then the quantity, then the customer.
function shop.orders(spec)
  if type(spec) ~= "table" then
    fail(2, "shop.orders: expected a table { products = ..., quantity = ..., customers = ... }")
  end
  local pick_sku
  if type(spec.products) == "function" then
    pick_sku = spec.products
  elseif type(spec.products) == "table" then
    pick_sku = shop.weighted(spec.products)
  else
    fail(2, "shop.orders: products: a table of sku = weight, a list of SKUs, "
      .. "or a function(region, t)")
  end
  local pick_quantity = quantity_picker(spec.quantity, 2)
  local pick_customer = customer_picker(spec.customers, 2)
  return function(region, t)
    local sku = pick_sku(region, t)
    return {
      sku = sku,
      quantity = pick_quantity(sku, region, t),
      customer = pick_customer(region, t),
    }
  end
end

-- ---- the scenario ---------------------------------------------------------

-- Fills in the defaults of a scenario and returns it:
--   workload.rate  10 orders per second in each region
--   workload.order one of the catalog's products (equal weights), quantity
--                  1, one of 1000 customers (see shop.orders)
-- It does not judge the rest: ddbsim checks every field when the script
-- returns (types, ranges, names) and an error names the script and the
-- field, e.g. "x.lua: catalog[3].price: must be a non-negative number".
-- (An error raised here could not name the scenario's line anyway:
-- `return shop.scenario { ... }` is a tail call.)
function shop.scenario(s)
  if type(s) ~= "table" then
    return s -- ddbsim says what the script returned instead of a table
  end
  if s.workload == nil then
    s.workload = {}
  end
  local w = s.workload
  if type(w) ~= "table" then
    return s
  end
  if w.rate == nil then
    w.rate = 10
  end
  if w.order == nil and type(s.catalog) == "table" then
    local skus = {}
    for _, p in ipairs(s.catalog) do
      if type(p) == "table" and type(p.sku) == "string" then
        skus[#skus + 1] = p.sku
      end
    end
    if #skus > 0 then
      w.order = shop.orders { products = skus }
    end
  end
  return s
end

-- A failure step: target down at `at` for `duration` seconds.
function shop.outage(target, at, duration)
  return { at = at, target = target, action = "down", duration = duration }
end

-- ---- helpers for checks ---------------------------------------------------
-- facts = { orders = { accepted = n, rejected = { reason = n } },
--           regions = { REGION = { stock = {SKU = n}, sold = {SKU = n},
--                                  received = {SKU = n} } },
--           central = { by_region = { REGION = { orders =, units =, revenue_cents = } },
--                       by_product = { SKU = { orders =, units =, revenue_cents = } } } }

-- The sum of regions[*].sold[sku] (or, without sku, of every product).
function shop.regions_sold(facts, sku)
  local total = 0
  for _, r in shop.spairs(shop.get(facts, "regions") or {}) do
    for k, n in shop.spairs(shop.get(r, "sold") or {}) do
      if sku == nil or k == sku then
        total = total + n
      end
    end
  end
  return total
end

-- How many orders were rejected for reason ("insufficient_stock",
-- "rule:limit_per_customer", ...).
function shop.rejected(facts, reason)
  return shop.get(facts, "orders", "rejected", reason) or 0
end

-- ---- customer records -----------------------------------------------------

-- rules.customer_home from zip code prefix ranges:
--   shop.zip_home { { 1000, 39999, "east" }, { 40000, 69999, "middle" }, ... }
-- A zip in no range is rejected with the reason "zip_out_of_range".
function shop.zip_home(ranges)
  for i, r in ipairs(ranges) do
    if type(r) ~= "table" or type(r[1]) ~= "number" or type(r[2]) ~= "number"
        or type(r[3]) ~= "string" or r[1] > r[2] then
      fail(2, "shop.zip_home: range %d must be { low, high, region }", i)
    end
  end
  return function(c)
    for _, r in ipairs(ranges) do
      if c.zip >= r[1] and c.zip <= r[2] then
        return r[3]
      end
    end
    return nil, "zip_out_of_range"
  end
end

-- rules.customer_replicas in a ring: each region's records are copied to
-- the n regions before it in `regions` (n = 1: region 1 on the last one,
-- region 2 on region 1, region 3 on region 2, ...).
function shop.ring_replicas(regions, n)
  n = n or 1
  if n >= #regions then
    fail(2, "shop.ring_replicas: %d replicas need more than %d regions", n, #regions)
  end
  if n > 8 then
    fail(2, "shop.ring_replicas: at most 8 replicas, not %d", n)
  end
  local index = {}
  for i, r in ipairs(regions) do
    index[r] = i
  end
  return function(_, home)
    local out, i = {}, index[home]
    for k = 1, n do
      out[k] = regions[(i - 1 - k) % #regions + 1]
    end
    return out
  end
end

-- A workload.customers.operation generator.  spec:
--   mix = { create = 40, update = 25, delete = 5, get = 20, find = 10 }
--   places = { { zip_low, zip_high, city, state }, ... } where customers live
--            (cities are written in mixed case now and then, so that filters
--            must ignore case)
--   invalid = a share of creates with a zip outside every place (0..1)
-- It remembers the ids it created, so updates, deletes and gets name real
-- customers (and, now and then, a deleted one).
function shop.customer_ops(spec)
  spec = spec or {}
  local mix = shop.weighted(spec.mix or { create = 40, update = 25, delete = 5, get = 20, find = 10 })
  local places = spec.places or { { 1000, 99999, "Springfield", "IL" } }
  local invalid = spec.invalid or 0
  local ids, n = {}, 0
  local function place()
    return places[math.random(#places)]
  end
  local function cased(s)
    local r = math.random(4)
    if r == 1 then return string.upper(s) end
    if r == 2 then return string.lower(s) end
    return s
  end
  return function(t)
    local op = mix()
    if op ~= "create" and op ~= "find" and n == 0 then
      op = "create"
    end
    if op == "create" then
      n = n + 1
      local id = string.format("c%06d", n)
      ids[n] = id
      local p = place()
      local zip = math.random(p[1], p[2])
      if math.random() < invalid then
        zip = 100000 + math.random(899999)
      end
      return { op = "create", id = id, unique_id = "u-" .. id, zip = zip, city = cased(p[3]),
               state = p[4], name = "Customer " .. n, email = id .. "@example.com" }
    elseif op == "update" then
      local id = ids[math.random(n)]
      if math.random(2) == 1 then
        return { op = "update", id = id, email = id .. "+" .. math.random(1000) .. "@example.com" }
      end
      return { op = "update", id = id, name = "Customer " .. id .. " v" .. math.random(100) }
    elseif op == "delete" then
      return { op = "delete", id = ids[math.random(n)] }
    elseif op == "get" then
      return { op = "get", id = ids[math.random(n)] }
    else
      local p = place()
      if math.random(2) == 1 then
        return { op = "find", zip_min = p[1], zip_max = p[1] + math.random(0, p[2] - p[1]), limit = 50 }
      end
      return { op = "find", city = cased(p[3]), state = string.lower(p[4]) }
    end
  end
end

-- ---- random failure schedules ----------------------------------------------

-- A failure schedule drawn from the run's PRNG (so the seed reproduces it).
--   spec = { duration = seconds of the run, count = steps,
--            nodes = { names that may go down or slow },
--            partitions = { { from = {...}, to = {...} }, ... } (optional),
--            messages = true (add drop, duplicate, delay, reorder steps),
--            crashes = true (crash the relay or the applier now and then),
--            longest = longest fault in seconds }
-- Every fault ends before `duration`, so the run can converge.
function shop.random_schedule(spec)
  local steps = {}
  local longest = spec.longest or spec.duration / 4
  local kinds = { "down", "slow" }
  if spec.partitions then kinds[#kinds + 1] = "partition" end
  if spec.messages then
    for _, k in ipairs { "drop", "duplicate", "delay", "reorder" } do kinds[#kinds + 1] = k end
  end
  if spec.crashes then kinds[#kinds + 1] = "crash" end
  for _ = 1, spec.count do
    local kind = kinds[math.random(#kinds)]
    local length = 0.1 + math.random() * (longest - 0.1)
    local at = math.random() * math.max(0.01, spec.duration - length - 0.01)
    local step = { at = at, action = kind, duration = length }
    if kind == "down" then
      step.target = spec.nodes[math.random(#spec.nodes)]
    elseif kind == "slow" then
      step.target = spec.nodes[math.random(#spec.nodes)]
      step.latency = 0.005 + math.random() * 0.2
      step.jitter = math.random() * 0.05
    elseif kind == "partition" then
      local p = spec.partitions[math.random(#spec.partitions)]
      step.from, step.to, step.oneway = p.from, p.to, math.random(2) == 1
    elseif kind == "crash" then
      step.target = math.random(2) == 1 and "relay" or "applier"
    else
      step.probability = 0.05 + math.random() * 0.3
      if kind == "delay" then step.delay = 0.01 + math.random() * 0.5 end
    end
    steps[#steps + 1] = step
  end
  return steps
end

return shop
