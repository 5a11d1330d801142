-- A batch's part in one Redis Cluster slot, every key with one expiry, in one atomic step.
-- KEYS: the keys; ARGV: their values, then 'EX' or 'PX', then the expiry. Reply: how many.
local unit, ttl = ARGV[#KEYS + 1], ARGV[#KEYS + 2]
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i], unit, ttl) end
return #KEYS
