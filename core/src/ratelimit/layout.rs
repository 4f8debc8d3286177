//! Which `RateLimiter` object keeps what of a platform app (this deployment's client id,
//! shared by every app of the deployment), so that one hot platform is not one object.
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

/// The block shard an app's calls check: a stable hash of its id (FNV-1a). Shard 0 keeps
/// the name the platform app's single object had.
pub fn block_object(platform: &str, app_id: &str) -> String {
    let hash = app_id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    shard_name(platform, hash % BLOCK_SHARDS)
}

/// Every block shard of a platform app (where a block is written).
pub fn block_objects(platform: &str) -> Vec<String> {
    (0..BLOCK_SHARDS).map(|i| shard_name(platform, i)).collect()
}

fn shard_name(platform: &str, index: u32) -> String {
    match index {
        0 => format!("app:{platform}"),
        i => format!("app:{platform}:blocks:{i}"),
    }
}

/// The object of one of a platform app's budgets (`endpoint` as the rule names it).
pub fn budget_object(platform: &str, endpoint: &str) -> String {
    format!("app:{platform}:budget:{endpoint}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn apps_spread_over_the_block_shards_and_each_keeps_its_own() {
        assert_eq!(block_object("facebook", "app_abc"), block_object("facebook", "app_abc"));
        let used: HashSet<String> = (0..64).map(|i| block_object("facebook", &format!("app_{i:032x}"))).collect();
        assert!(used.len() >= 6, "64 apps use most of the 8 shards: {used:?}");
        let all: HashSet<String> = block_objects("facebook").into_iter().collect();
        assert_eq!(all.len(), BLOCK_SHARDS as usize);
        assert!(used.is_subset(&all), "a call checks a shard a block is written to");
        assert!(all.contains("app:facebook"), "shard 0 keeps the old name");
    }

    #[test]
    fn every_budget_has_an_object_of_its_own_apart_from_the_blocks() {
        let a = budget_object("x", "POST /2/tweets");
        let b = budget_object("x", "POST /2/media/upload");
        assert_ne!(a, b);
        assert!(!block_objects("x").contains(&a));
        assert_ne!(budget_object("x", "*"), block_object("x", "app_1"), "Reddit-style `*` budgets too");
    }
}
