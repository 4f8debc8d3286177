-- A refresh lease that outlives its holder. Set by every refresh lease: 1 when the
-- lease it replaced was never released (its holder died mid-call, or is still out with the
-- same refresh token after its lease ran out). Such a lease does not trust an invalid_grant
-- answer: the first holder's call may have spent the token and be storing its successor.
ALTER TABLE grants ADD COLUMN refresh_lease_taken_over INTEGER NOT NULL DEFAULT 0;
