-- Touch: KEYS[1] the key; ARGV[1] its new expiry in ms, or '' for none. Reply: 1 if the key
-- exists (a missing key stays missing), else 0.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then redis.call('PERSIST', KEYS[1])
else redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
