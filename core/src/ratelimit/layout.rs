//! Which `RateLimiter` object keeps what of a platform app (this deployment's client id,
//! shared by every app of the deployment), so that one hot platform is not one object.
//!
//! An app's own platform app (its own credentials, named by their `credential_ref`) is
//! another client id with quotas of its own: its objects carry the reference
//! (`app:<platform>@<credential_ref>...`), so its calls neither spend nor see the
//! deployment's (nor another app's own). Only its app calls with it: its blocks need no
//! shards, one object holds them.
//!
//! - Each of its budgets (a rule with `Scope::App`: YouTube's daily uploads, X's per-app
//!   posts) has an object of its own, `app:<platform>:budget:<endpoint>`. A budget is never
//!   split: its fair shares (`ratelimit::fair`) must see every app's spend to be exact, and a
//!   split into parts would let an app take the parts other apps' calls never reach. The
//!   object sees only the calls of that endpoint class.
//! - What the platform says of the whole client id after the fact (Meta's `x-app-usage`
//!   at 100 %, Reddit's `x-ratelimit-*`: a block until some time) needs no coordination, so
//!   it is replicated over [`BLOCK_SHARDS`] objects: a report goes to every one, and a call
//!   checks only its app's, by a hash of the app's id. These are the objects every call of
//!   such a platform asks (every Meta call), so they are the ones split.
//!
//! The trade-off: a call of a budgeted class asks one more object than before (its
//! budget's, besides its block shard's), and a block costs [`BLOCK_SHARDS`] writes; a spent
//! budget's refusals still all reach its one object (each app's calls bounded by its
//! `proxy_per_minute`).

/// How many objects hold a platform app's remembered blocks.
pub const BLOCK_SHARDS: u32 = 8;

/// A platform app: the deployment's client for a platform (`credential_ref: None`), or an
/// app's own credentials for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformApp<'a> {
    /// The platform id.
    pub platform: &'a str,
    /// The app's own credentials (`pcr_...`); `None`: the deployment's.
    pub credential_ref: Option<&'a str>,
}

impl PlatformApp<'_> {
    /// The start of every object name of this platform app.
    fn base(&self) -> String {
        match self.credential_ref {
            None => format!("app:{}", self.platform),
            Some(r) => format!("app:{}@{r}", self.platform),
        }
    }
}

/// The block shard an app's calls check: a stable hash of its id (FNV-1a). Shard 0 keeps
/// the name the platform app's single object had. An app's own platform app has one.
pub fn block_object(client: PlatformApp<'_>, app_id: &str) -> String {
    if client.credential_ref.is_some() {
        return client.base();
    }
    let hash = app_id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    shard_name(client, hash % BLOCK_SHARDS)
}

/// Every block shard of a platform app (where a block is written).
pub fn block_objects(client: PlatformApp<'_>) -> Vec<String> {
    if client.credential_ref.is_some() {
        return vec![client.base()];
    }
    (0..BLOCK_SHARDS).map(|i| shard_name(client, i)).collect()
}

fn shard_name(client: PlatformApp<'_>, index: u32) -> String {
    match index {
        0 => client.base(),
        i => format!("{}:blocks:{i}", client.base()),
    }
}

/// The object of one of a platform app's budgets (`endpoint` as the rule names it).
pub fn budget_object(client: PlatformApp<'_>, endpoint: &str) -> String {
    format!("{}:budget:{endpoint}", client.base())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn deployment(platform: &str) -> PlatformApp<'_> {
        PlatformApp { platform, credential_ref: None }
    }

    #[test]
    fn apps_spread_over_the_block_shards_and_each_keeps_its_own() {
        let fb = deployment("facebook");
        assert_eq!(block_object(fb, "app_abc"), block_object(fb, "app_abc"));
        let used: HashSet<String> = (0..64).map(|i| block_object(fb, &format!("app_{i:032x}"))).collect();
        assert!(used.len() >= 6, "64 apps use most of the 8 shards: {used:?}");
        let all: HashSet<String> = block_objects(fb).into_iter().collect();
        assert_eq!(all.len(), BLOCK_SHARDS as usize);
        assert!(used.is_subset(&all), "a call checks a shard a block is written to");
        assert!(all.contains("app:facebook"), "shard 0 keeps the old name");
    }

    #[test]
    fn every_budget_has_an_object_of_its_own_apart_from_the_blocks() {
        let x = deployment("x");
        let a = budget_object(x, "POST /2/tweets");
        let b = budget_object(x, "POST /2/media/upload");
        assert_ne!(a, b);
        assert!(!block_objects(x).contains(&a));
        assert_ne!(budget_object(x, "*"), block_object(x, "app_1"), "Reddit-style `*` budgets too");
    }

    #[test]
    fn an_apps_own_platform_app_shares_no_object_with_the_deployments_nor_another_apps() {
        let shared = deployment("x");
        let mine = PlatformApp { platform: "x", credential_ref: Some("pcr_a") };
        let theirs = PlatformApp { platform: "x", credential_ref: Some("pcr_b") };
        assert_eq!(
            budget_object(shared, "POST /2/tweets"),
            "app:x:budget:POST /2/tweets",
            "the deployment's names stay"
        );
        let budgets: HashSet<String> =
            [shared, mine, theirs].iter().map(|c| budget_object(*c, "POST /2/tweets")).collect();
        assert_eq!(budgets.len(), 3, "three platform apps, three budgets: {budgets:?}");
        assert_eq!(block_objects(mine), vec![block_object(mine, "app_1")], "one object holds its blocks");
        assert_ne!(block_object(mine, "app_1"), block_object(theirs, "app_1"));
        let all: HashSet<String> = block_objects(shared).into_iter().collect();
        assert!(!all.contains(&block_object(mine, "app_1")), "a block of the deployment's app is not the app's own");
        assert!(!all.contains(&budget_object(mine, "*")));
    }
}
