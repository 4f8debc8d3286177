-- Ownership (issue 7): the claim step, and lookups by platform account across apps.

-- Whether an app's hosted connects wait for a claim: 'required' (default) or 'auto'.
ALTER TABLE apps ADD COLUMN claim TEXT NOT NULL DEFAULT 'required';

-- A hosted connect that succeeded waits in status 'awaiting_claim' until the app presents
-- the connect_token (stored only as its SHA-256) before claim_expires_at.
ALTER TABLE connect_links ADD COLUMN claim_token_hash TEXT;
ALTER TABLE connect_links ADD COLUMN claim_expires_at INTEGER;
-- The event the claim sends: profile.connected or profile.reconnected.
ALTER TABLE connect_links ADD COLUMN claim_event TEXT;
CREATE INDEX connect_links_unclaimed ON connect_links(claim_expires_at) WHERE status = 'awaiting_claim';

-- A profile in status 'pending' waits for the claim of this link; the cron deletes it
-- when the link's claim window closes.
ALTER TABLE profiles ADD COLUMN claim_link_id TEXT;
CREATE INDEX profiles_claim_link ON profiles(claim_link_id) WHERE claim_link_id IS NOT NULL;

-- "Does another profile (any app) hold a grant for this account?" before a revoke.
CREATE INDEX profiles_account ON profiles(platform, platform_user_id);
