-- RateLimitRefund (see cache_bridge/adapters/redis/limit_script.py): KEYS the state keys;
-- ARGV one per limit: 'algorithm limit period_ms cost mode hit_ms' (mode unused). Reply: how
-- many states changed (each keeps its expiry).
-- Effects replication before any write: a count-form refund reads TIME after another
-- limit's write (Redis 5 and 6 without lua-replicate-commands would refuse it otherwise).
if redis.replicate_commands then redis.replicate_commands() end
local changed = 0
for i = 1, #KEYS do
  local algorithm, limit, period, cost, hit_ms = string.match(ARGV[i],
    '^(%S+) (%d+) (%d+) (%d+) %a+ (%-?%d+)$')
  if not algorithm then
    return redis.error_reply('bad rate-limit refund arguments ' .. tostring(ARGV[i]))
  end
  limit, period, cost = tonumber(limit), tonumber(period), tonumber(cost)
  local hit_window = math.floor(tonumber(hit_ms) / period)
  local state = redis.call('GET', KEYS[i]) or ''
  local new
  local count = tonumber(state)
  if algorithm == 'fixed-window' and count then
    -- The count form (see rate_limit.lua): its key lives until its window's end on the
    -- server's clock; taken back only while that window is the one counted in (hit_ms:
    -- the time of the hit in that window, as steps.counted_reply puts it in the receipt).
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if count > 0 and math.floor(now / period) == hit_window then
      redis.call('DECRBY', KEYS[i], math.min(cost, count))
      changed = changed + 1
    end
  elseif algorithm == 'fixed-window' then
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
