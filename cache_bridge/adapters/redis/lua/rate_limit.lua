-- RateLimitHit (see cache_bridge/adapters/redis/limit_script.py): KEYS the state keys;
-- ARGV six per limit: algorithm, limit, period_ms, now_ms or '', cost, mode ('hit', 'peek'
-- or 'force'). Reply: six integers per limit.
local server_now
local function clock(given)
  if given ~= '' then return tonumber(given) end
  if not server_now then
    if redis.replicate_commands then redis.replicate_commands() end
    local t = redis.call('TIME')
    server_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return server_now
end
local function ceil_div(a, b) return -math.floor(-a / b) end
-- Each returns: allowed, remaining, reset, retry, state or false, ttl, idle_remaining, idle_reset
local function fixed(state, limit, period, now, cost, force)
  local window = math.floor(now / period)
  local count = 0
  local w, c = string.match(state, '^(%-?%d+) (%d+)$')
  if w and tonumber(w) == window then count = tonumber(c) end
  local reset = (window + 1) * period - now
  if count + cost > limit and not force then
    return 0, math.max(0, limit - count), reset, reset, false, 0, 0, reset
  end
  count = count + cost
  local state = string.format('%.0f %.0f', window, count)
  return 1, math.max(0, limit - count), reset, 0, state, reset, math.max(0, limit - count + cost), reset
end
local function sliding(state, limit, period, now, cost, force)
  local window = math.floor(now / period)
  local current, previous = 0, 0
  local w, c, p = string.match(state, '^(%-?%d+) (%d+) (%d+)$')
  if w then
    w = tonumber(w)
    if w == window then
      current, previous = tonumber(c), tonumber(p)
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
  return 1, remaining, left + period, 0, state, left + period, idle_remaining, idle_reset
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
local pending, decided, all = {}, {}, true
for i = 1, #KEYS do
  local rule = rules[ARGV[6 * i - 5]]
  if not rule then
    return redis.error_reply('unknown rate-limit algorithm ' .. tostring(ARGV[6 * i - 5]))
  end
  local key = KEYS[i]
  local mode = ARGV[6 * i]
  local state = pending[key]
  if state == nil then state = redis.call('GET', KEYS[i]) or '' end
  local now = clock(ARGV[6 * i - 2])
  local allowed, remaining, reset, retry, new, ttl, idle_remaining, idle_reset =
    rule(state, tonumber(ARGV[6 * i - 4]), tonumber(ARGV[6 * i - 3]), now,
      tonumber(ARGV[6 * i - 1]), mode == 'force')
  if mode == 'peek' then new = false end
  if new then pending[key] = new end
  if allowed == 0 then all = false end
  decided[i] = {allowed, remaining, reset, retry, new, ttl, idle_remaining, idle_reset, now, mode}
end
local reply = {}
for i = 1, #KEYS do
  local d = decided[i]
  if all and d[10] ~= 'peek' then
    if d[5] then redis.call('SET', KEYS[i], d[5], 'PX', string.format('%.0f', d[6])) end
    for _, v in ipairs({1, d[2], d[3], 0, 1, d[9]}) do reply[#reply + 1] = v end
  elseif d[1] == 1 then
    for _, v in ipairs({1, d[7], d[8], 0, 0, d[9]}) do reply[#reply + 1] = v end
  else
    for _, v in ipairs({0, d[2], d[3], d[4], 0, d[9]}) do reply[#reply + 1] = v end
  end
end
return reply
