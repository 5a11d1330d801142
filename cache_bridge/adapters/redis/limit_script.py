"""The Lua script behind :class:`~cache_bridge.commands.RateLimitHit` on Redis.

It is a port of :func:`cache_bridge.limit_state.hit` (a differential test keeps the two
alike): one ``EVAL`` reads the state, decides, and writes the new state with its expiry in one
``SET ... PX``, so one check is one round trip and no state is ever left without an expiry.
Without a caller's time (``ARGV[4] == ''``) it takes the server's ``TIME``, so every process
sharing the server shares one clock.

KEYS[1]: the state key. ARGV: algorithm, limit, period_ms, now_ms or ''.
Reply: {allowed, remaining, reset_ms, retry_ms}.
"""

from __future__ import annotations

__all__ = ["RATE_LIMIT_SCRIPT"]

RATE_LIMIT_SCRIPT = """
local algorithm = ARGV[1]
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local now
if ARGV[4] == '' then
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[4])
end
local function ceil_div(a, b) return -math.floor(-a / b) end
local function store(state, ttl)
  redis.call('SET', KEYS[1], state, 'PX', string.format('%.0f', ttl))
end
local state = redis.call('GET', KEYS[1])
if not state then state = '' end
if algorithm == 'fixed-window' then
  local window = math.floor(now / period)
  local count = 0
  local w, c = string.match(state, '^(%-?%d+) (%d+)$')
  if w and tonumber(w) == window then count = tonumber(c) end
  local reset = (window + 1) * period - now
  if count >= limit then return {0, 0, reset, reset} end
  count = count + 1
  store(string.format('%.0f %.0f', window, count), reset)
  return {1, limit - count, reset, 0}
elseif algorithm == 'sliding-window' then
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
  if weighted + (current + 1) * period > limit * period then
    local retry
    if current >= limit then
      retry = left + math.max(0, ceil_div(period * (current - limit + 1), current))
    else
      retry = ceil_div(weighted - (limit - 1 - current) * period, previous)
    end
    local reset = left
    if current > 0 then reset = left + period end
    return {0, 0, reset, math.max(1, retry)}
  end
  current = current + 1
  local remaining = math.floor((limit * period - weighted - current * period) / period)
  store(string.format('%.0f %.0f %.0f', window, current, previous), left + period)
  return {1, math.max(0, remaining), left + period, 0}
elseif algorithm == 'token-bucket' then
  local a, b = now, 0
  local sa, sb = string.match(state, '^(%-?%d+) (%d+)$')
  if sa then
    sa, sb = tonumber(sa), tonumber(sb)
    if (sa - now) * limit + sb > 0 then a, b = sa, sb end
  end
  local ahead_before = (a - now) * limit + b
  b = b + period
  a = a + math.floor(b / limit)
  b = b % limit
  local ahead = (a - now) * limit + b
  local capacity = period * limit
  if ahead > capacity then
    return {0, 0, ceil_div(ahead_before, limit), math.max(1, ceil_div(ahead - capacity, limit))}
  end
  local ttl = math.max(1, ceil_div(ahead, limit))
  store(string.format('%.0f %.0f', a, b), ttl)
  return {1, math.floor((capacity - ahead) / period), ttl, 0}
end
return redis.error_reply('unknown rate-limit algorithm ' .. tostring(algorithm))
"""
