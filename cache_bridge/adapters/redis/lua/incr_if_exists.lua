-- IncrByIfExists: KEYS[1] the counter; ARGV[1] the amount. Reply: the new value, or nil if
-- the key is missing (it stays missing).
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return false
