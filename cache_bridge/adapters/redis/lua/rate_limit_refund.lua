-- RateLimitRefund (see cache_bridge/adapters/redis/limit_script.py): KEYS the state keys;
-- ARGV six per limit: algorithm, limit, period_ms, hit_ms, cost, mode (unused). Reply: how
-- many states changed.
local changed = 0
for i = 1, #KEYS do
  local algorithm = ARGV[6 * i - 5]
  local limit, period = tonumber(ARGV[6 * i - 4]), tonumber(ARGV[6 * i - 3])
  local hit_window = math.floor(tonumber(ARGV[6 * i - 2]) / period)
  local cost = tonumber(ARGV[6 * i - 1])
  local state = redis.call('GET', KEYS[i]) or ''
  local new
  if algorithm == 'fixed-window' then
    local w, c = string.match(state, '^(%-?%d+) (%d+)$')
    if w and tonumber(w) == hit_window and tonumber(c) > 0 then
      new = string.format('%.0f %.0f', tonumber(w), math.max(0, tonumber(c) - cost))
    end
  elseif algorithm == 'sliding-window' then
    local w, c, p = string.match(state, '^(%-?%d+) (%d+) (%d+)$')
    if w then
      w, c, p = tonumber(w), tonumber(c), tonumber(p)
      if w == hit_window and c > 0 then
        new = string.format('%.0f %.0f %.0f', w, math.max(0, c - cost), p)
      elseif w == hit_window + 1 and p > 0 then
        new = string.format('%.0f %.0f %.0f', w, c, math.max(0, p - cost))
      end
    end
  elseif algorithm == 'token-bucket' then
    local a, b = string.match(state, '^(%-?%d+) (%d+)$')
    if a then
      b = tonumber(b) - period * cost
      new = string.format('%.0f %.0f', tonumber(a) + math.floor(b / limit), b % limit)
    end
  else
    return redis.error_reply('unknown rate-limit algorithm ' .. tostring(algorithm))
  end
  if new then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl > 0 then
      redis.call('SET', KEYS[i], new, 'PX', ttl)
      changed = changed + 1
    end
  end
end
return changed
