-- RateLimitHit (see cache_bridge/adapters/redis/limit_script.py; SET KEEPTTL: Redis 6+): KEYS the state keys;
-- ARGV one per limit: 'algorithm limit period_ms cost mode[ now_ms]' (mode 'hit', 'peek' or
-- 'force'; without now_ms, the server's TIME). Reply: six integers per limit; or, when every
-- limit is a fixed window on the server's clock and no extra ARGV follows (Redis Cluster's
-- split parts add one), two per limit (the count form, first below).
-- The count form, first (the usual check: every limit a fixed window on the server's clock,
-- no extra ARGV), so that a check in it creates none of the functions below. Such a limit
-- (state keys of their own, 'fc' in cache_bridge/ratelimit/policy.py) keeps its window's
-- count, its key expiring at the window's end (set when the count is created), so a count
-- found is this window's and a hit is an INCRBY. Per limit, {n, pttl} as steps.counted_reply
-- reads it: 'hit' and 'force', the count after this request, or -1 - the count before it
-- when not counted; 'peek', the count before it (a GET); pttl the time left in the window
-- (-2: no count yet).
local COUNTED = '^fixed%-window (%d+) (%d+) (%d+) (%a+)$'
-- The server's time in Unix ms (both forms read it).
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Limit i's hit: n, pttl, and whether it refuses; or nil and the error reply of a key that
-- holds another type (nothing written). A value that is not a count counts as none (as a
-- state string that does not parse, below). A refused hit is taken back at once (a later
-- limit of the group on the same key reads the count without it).
local function count_hit(i, limit, period, cost, mode)
  if mode == 'peek' then
    local found = redis.pcall('GET', KEYS[i])
    if type(found) == 'table' and found.err then return nil, found end
    local n = tonumber(found or '0') or 0
    return n, redis.call('PTTL', KEYS[i]), n + cost > limit
  end
  -- Effects replication before the first write: TIME may follow it (Redis 5 and 6 without
  -- lua-replicate-commands would refuse a write after TIME otherwise).
  if redis.replicate_commands then redis.replicate_commands() end
  local c = redis.pcall('INCRBY', KEYS[i], cost)
  if type(c) == 'table' then
    if not string.find(c.err or '', 'not an integer', 1, true) then return nil, c end
    redis.call('DEL', KEYS[i]) -- not a count: none, and this hit the new count's first
    c = redis.call('INCRBY', KEYS[i], cost)
  end
  if c == cost then
    local ttl = period - server_ms() % period
    redis.call('PEXPIRE', KEYS[i], ttl)
    return c, ttl, false
  end
  if c > limit and mode ~= 'force' then
    redis.call('DECRBY', KEYS[i], cost)
    return cost - c - 1, redis.call('PTTL', KEYS[i]), true
  end
  return c, redis.call('PTTL', KEYS[i]), false
end
if #ARGV == #KEYS then
  if #KEYS == 1 then
    local limit, period, cost, mode = string.match(ARGV[1], COUNTED)
    if limit then
      local n, ttl = count_hit(1, tonumber(limit), tonumber(period), tonumber(cost), mode)
      if n == nil then return ttl end
      return {n, ttl}
    end
  else
    -- A group: every limit in order; if any refuses, every other count is taken back too,
    -- so a refused request costs no limit. take_back: limits 'last' down to 1, in reverse
    -- (a key named twice is back to its count before the first); a count that was none
    -- before is removed, so a refused request leaves no key (the state-string path writes
    -- none).
    local function take_back(parsed, reply, last)
      for i = last, 1, -1 do
        local cost = parsed[i][3]
        local n = reply[2 * i - 1]
        if parsed[i][4] ~= 'peek' and n >= 0 then
          if n == cost then
            redis.call('DEL', KEYS[i])
          else
            redis.call('DECRBY', KEYS[i], cost)
          end
          reply[2 * i - 1] = cost - n - 1
        end
      end
    end
    local parsed = {}
    for i = 1, #KEYS do
      local limit, period, cost, mode = string.match(ARGV[i], COUNTED)
      if not limit then parsed = nil break end
      parsed[i] = {tonumber(limit), tonumber(period), tonumber(cost), mode}
    end
    if parsed then
      local reply, refused = {}, false
      for i = 1, #KEYS do
        local p = parsed[i]
        local n, ttl, no = count_hit(i, p[1], p[2], p[3], p[4])
        if n == nil then
          take_back(parsed, reply, i - 1)
          return ttl
        end
        reply[2 * i - 1], reply[2 * i], refused = n, ttl, refused or no
      end
      if refused then take_back(parsed, reply, #KEYS) end
      return reply
    end
  end
end
-- Any other check: each limit's state a string, read, decided and written back (SET PX, or
-- KEEPTTL within its window) only if every limit allows.
local server_now
local function clock(given)
  if given ~= '' then return tonumber(given) end
  if not server_now then
    if redis.replicate_commands then redis.replicate_commands() end
    server_now = server_ms()
  end
  return server_now
end
-- One limit's argument: its rule and numbers, or nil when it is not one.
local function limit_args(arg)
  local algorithm, limit, period, cost, mode, now =
    string.match(arg, '^(%S+) (%d+) (%d+) (%d+) (%a+) ?(%-?%d*)$')
  return algorithm, tonumber(limit), tonumber(period), tonumber(cost), mode, now
end
local function ceil_div(a, b) return -math.floor(-a / b) end
-- Each returns: allowed, remaining, reset, retry, state or false, ttl, idle_remaining, idle_reset
local function fixed(state, limit, period, now, cost, force, counted)
  local window = math.floor(now / period)
  local count, ttl = 0, (window + 1) * period - now
  local reset = ttl
  local n = tonumber(state)
  if n and counted then
    -- The count form: a count whose key expires at its window's end (server clock), so
    -- a count found is this window's.
    count, ttl = n, 0
  else
    local w, c = string.match(state, '^(%-?%d+) (%d+)$')
    if w and tonumber(w) == window then count, ttl = tonumber(c), 0 end
  end
  if count + cost > limit and not force then
    return 0, math.max(0, limit - count), reset, reset, false, 0, 0, reset
  end
  count = count + cost
  local state
  if counted then state = string.format('%.0f', count)
  else state = string.format('%.0f %.0f', window, count) end
  return 1, math.max(0, limit - count), reset, 0, state, ttl, math.max(0, limit - count + cost), reset
end
local function sliding(state, limit, period, now, cost, force)
  local window = math.floor(now / period)
  local current, previous, keep = 0, 0, false
  local w, c, p = string.match(state, '^(%-?%d+) (%d+) (%d+)$')
  if w then
    w = tonumber(w)
    if w == window then
      current, previous, keep = tonumber(c), tonumber(p), true
    elseif w == window - 1 then
      previous = tonumber(c)
    end
  end
  local left = period - (now - window * period)
  local weighted = previous * left
  if weighted + (current + cost) * period > limit * period and not force then
    local retry
    if current + cost > limit then
      local slide = 0
      if current > 0 then slide = ceil_div(period * (current - limit + cost), current) end
      retry = left + math.max(0, slide)
    else
      retry = ceil_div(weighted - (limit - cost - current) * period, previous)
    end
    local reset = left
    if current > 0 then reset = left + period end
    local now_left = math.max(0, math.floor((limit * period - weighted - current * period) / period))
    return 0, now_left, reset, math.max(1, retry), false, 0, 0, reset
  end
  local idle_reset = 0
  if current > 0 then idle_reset = left + period elseif previous > 0 then idle_reset = left end
  local idle_remaining =
    math.max(0, math.floor((limit * period - weighted - current * period) / period))
  current = current + cost
  local remaining = math.max(0, math.floor((limit * period - weighted - current * period) / period))
  local state = string.format('%.0f %.0f %.0f', window, current, previous)
  local ttl = left + period
  if keep then ttl = 0 end
  return 1, remaining, left + period, 0, state, ttl, idle_remaining, idle_reset
end
local function bucket(state, limit, period, now, cost, force)
  local a, b = now, 0
  local sa, sb = string.match(state, '^(%-?%d+) (%d+)$')
  if sa then
    sa, sb = tonumber(sa), tonumber(sb)
    if (sa - now) * limit + sb > 0 then a, b = sa, sb end
  end
  local ahead_before = (a - now) * limit + b
  b = b + period * cost
  a = a + math.floor(b / limit)
  b = b % limit
  local ahead = (a - now) * limit + b
  local capacity = period * limit
  local idle_reset = ceil_div(ahead_before, limit)
  local idle_remaining = math.max(0, math.floor((capacity - ahead_before) / period))
  if ahead > capacity and not force then
    local retry = math.max(1, ceil_div(ahead - capacity, limit))
    return 0, idle_remaining, idle_reset, retry, false, 0, 0, idle_reset
  end
  local ttl = math.max(1, ceil_div(ahead, limit))
  local remaining = math.max(0, math.floor((capacity - ahead) / period))
  return 1, remaining, ttl, 0, string.format('%.0f %.0f', a, b), ttl, idle_remaining, idle_reset
end
local rules = {['fixed-window'] = fixed, ['sliding-window'] = sliding, ['token-bucket'] = bucket}
-- A ttl of 0: the state's window is the one it was written in, and so is its expiry (the
-- window's end, whatever the time of that write): KEEPTTL is cheaper than PX.
local function write(i, state, ttl)
  if ttl == 0 then
    redis.call('SET', KEYS[i], state, 'KEEPTTL')
  else
    redis.call('SET', KEYS[i], state, 'PX', string.format('%.0f', ttl))
  end
end
local function unknown(i)
  return redis.error_reply('unknown rate-limit algorithm or bad arguments ' .. tostring(ARGV[i]))
end
if #KEYS == 1 then -- the usual case, without the tables of the loop below
  local algorithm, limit, period, cost, mode, given = limit_args(ARGV[1])
  local rule = rules[algorithm]
  if not rule or not limit then return unknown(1) end
  local now = clock(given)
  local allowed, remaining, reset, retry, new, ttl, idle_remaining, idle_reset =
    rule(redis.call('GET', KEYS[1]) or '', limit, period, now, cost, mode == 'force', given == '')
  if allowed == 0 then return {0, remaining, reset, retry, 0, now} end
  if mode == 'peek' then return {1, idle_remaining, idle_reset, 0, 0, now} end
  if new then write(1, new, ttl) end
  return {1, remaining, reset, 0, 1, now}
end
local pending, decided, all = {}, {}, true
for i = 1, #KEYS do
  local algorithm, limit, period, cost, mode, given = limit_args(ARGV[i])
  local rule = rules[algorithm]
  if not rule or not limit then return unknown(i) end
  local key = KEYS[i]
  local state = pending[key]
  if state == nil then state = redis.call('GET', KEYS[i]) or '' end
  local now = clock(given)
  local allowed, remaining, reset, retry, new, ttl, idle_remaining, idle_reset =
    rule(state, limit, period, now, cost, mode == 'force', given == '')
  if mode == 'peek' then new = false end
  if new then pending[key] = new end
  if allowed == 0 then all = false end
  decided[i] = {allowed, remaining, reset, retry, new, ttl, idle_remaining, idle_reset, now, mode}
end
local reply = {}
for i = 1, #KEYS do
  local d, n = decided[i], 6 * i
  if all and d[10] ~= 'peek' then
    if d[5] then write(i, d[5], d[6]) end
    reply[n - 5], reply[n - 4], reply[n - 3], reply[n - 2], reply[n - 1], reply[n] =
      1, d[2], d[3], 0, 1, d[9]
  elseif d[1] == 1 then
    reply[n - 5], reply[n - 4], reply[n - 3], reply[n - 2], reply[n - 1], reply[n] =
      1, d[7], d[8], 0, 0, d[9]
  else
    reply[n - 5], reply[n - 4], reply[n - 3], reply[n - 2], reply[n - 1], reply[n] =
      0, d[2], d[3], d[4], 0, d[9]
  end
end
return reply
