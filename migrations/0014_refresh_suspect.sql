-- A refresh lease that outlives its holder, continued. refresh_suspect_until: until when
-- an answer that the grant is dead proves nothing, because a refresh whose lease ran out
-- unreleased may still be storing the rotated tokens its call got. Set by the lease (refresh
-- or liveness check) that takes over such a lease: the dead lease's end plus a whole lease
-- and the write's retries. Cleared only by a stored refresh. Replaces
-- refresh_lease_taken_over (0010), which lasted one lease and is no longer read.
ALTER TABLE grants ADD COLUMN refresh_suspect_until INTEGER;
