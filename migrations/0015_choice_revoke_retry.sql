-- An expired account-choice row (a picker's, or one that holds a connect's grant until its
-- accounts land) goes only once the revocation of the grant it holds is settled. Until then
-- the cron tries again with backoff (expires_at pushed back); revoke_tries counts the failed
-- tries, and past the last one the row is given up with a logged line.
ALTER TABLE account_choices ADD COLUMN revoke_tries INTEGER NOT NULL DEFAULT 0;
