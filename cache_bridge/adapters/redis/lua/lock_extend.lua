-- Extend or renew a lock's expiry, only for its owner.
-- KEYS[1]: the lock's key. ARGV[1]: the owner's token; ARGV[2]: milliseconds;
-- ARGV[3]: '1' to add them to the time left, '0' to replace it.
-- Answers 1 if done, 0 if the key does not hold the token, -1 if the lock has no expiry
-- (adding is refused then, as redis-py's Lock.extend refuses it).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
local ms = tonumber(ARGV[2])
if ARGV[3] == '1' then
    local left = redis.call('PTTL', KEYS[1])
    if left < 0 then
        return -1
    end
    ms = ms + left
end
redis.call('PEXPIRE', KEYS[1], ms)
return 1
