-- Delete a lock only for its owner (compare-and-delete).
-- KEYS[1]: the lock's key. ARGV[1]: the owner's token.
-- Answers 1 if the key held the token and was deleted, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
