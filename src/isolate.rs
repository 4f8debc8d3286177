//! What one isolate keeps between requests: configuration parsed once (the platform catalog
//! with `CUSTOM_PROVIDERS`, the keyring) and, for a few seconds, the app behind an API key
//! and the row (with its grant's sealed token) of a profile the proxy called for.
//!
//! Workers reuse an isolate for many requests, and parsing the catalog and the keyring (an
//! AES key schedule per key) on each one showed in create-link's throughput. Each
//! entry is keyed by the exact configuration text it was built from, so a changed var or
//! secret (a new deploy, a key rotation) is picked up by the next request. An isolate's
//! requests interleave only at `.await` points and no cell here is borrowed across one, so
//! a `thread_local` cell needs no lock; a lookup that was in flight while an admin write
//! emptied the cache must not refill it, which the generation counter sees to.

use connect_links_core::envelope::Keyring;
use connect_links_core::model::AppRow;
use std::any::Any;
use connect_links_core::platforms::Catalog;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::thread::LocalKey;

/// How long an API key's app is trusted without asking D1, by default: a key revoked (or an
/// app changed) through another isolate still works here for at most this long. A revocation
/// through this isolate applies at once (every admin write empties the cache).
pub const APP_CACHE_MS: i64 = 5_000;

/// At most this many keys are remembered; the oldest is dropped first.
const APP_CACHE_ENTRIES: usize = 64;

/// A value built from configuration text, with the text it was built from.
struct Built<V> {
    from: String,
    value: Rc<V>,
}

struct AppEntry {
    key_hash: String,
    fetched_ms: i64,
    app: AppRow,
}

/// How long a proxied profile's row and its grant's sealed token are used without asking D1,
/// by default (`PROXY_PROFILE_CACHE_MS`; issue 26): a profile deleted, disconnected or refreshed through another isolate is still
/// proxied here for at most this long, with the token it had (a token the platform no longer
/// takes gets its 401, which refreshes). Anything else this isolate does (any request but a
/// proxied call, a cron run, a queue batch, a refresh landing) forgets every row at once.
pub const PROFILE_CACHE_MS: i64 = 3_000;

/// At most this many profiles are remembered; the oldest is dropped first.
const PROFILE_CACHE_ENTRIES: usize = 128;

/// A remembered profile: what the proxy read for it (its row and its token's sealed row, as
/// the store reads them; kept as `Any`, a type of a layer above this one).
struct ProfileEntry {
    app_id: String,
    id: String,
    fetched_ms: i64,
    row: Rc<dyn Any>,
}

thread_local! {
    static PROFILES: RefCell<Vec<ProfileEntry>> = const { RefCell::new(Vec::new()) };
    static PROFILE_GENERATION: Cell<u64> = const { Cell::new(0) };
    static CATALOG: RefCell<Option<Built<Catalog>>> = const { RefCell::new(None) };
    static KEYRING: RefCell<Option<Built<Keyring>>> = const { RefCell::new(None) };
    static APPS: RefCell<Vec<AppEntry>> = const { RefCell::new(Vec::new()) };
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// The app cache's generation: taken before a D1 lookup and handed to [`remember_app`],
/// which keeps nothing read before the last [`forget_apps`].
pub fn generation() -> u64 {
    GENERATION.with(Cell::get)
}

/// The value kept in `slot` when it was built from `from`, else `build()`'s (kept for the
/// next request; an error keeps nothing).
fn reuse_or_build<V, E>(
    slot: &'static LocalKey<RefCell<Option<Built<V>>>>,
    from: &str,
    build: impl FnOnce() -> Result<V, E>,
) -> Result<Rc<V>, E> {
    slot.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(kept) = slot.as_ref().filter(|k| k.from == from) {
            return Ok(kept.value.clone());
        }
        let value = Rc::new(build()?);
        *slot = Some(Built { from: from.to_string(), value: value.clone() });
        Ok(value)
    })
}

/// The catalog for this configuration: the one built before when the inputs are the same,
/// else `build()`'s.
pub fn catalog(
    public_url: &str,
    sandbox_on: bool,
    custom_providers: &str,
    build: impl FnOnce() -> Catalog,
) -> Rc<Catalog> {
    // NUL cannot occur in a URL, so the joined text keeps the three inputs apart.
    let from = format!("{public_url}\0{sandbox_on}\0{custom_providers}");
    match reuse_or_build(&CATALOG, &from, || Ok::<_, std::convert::Infallible>(build())) {
        Ok(catalog) => catalog,
        Err(never) => match never {},
    }
}

/// The keyring parsed from `spec` (`TOKEN_KEYS`), reused while the secret is the same.
pub fn keyring(spec: &str) -> Result<Rc<Keyring>, String> {
    reuse_or_build(&KEYRING, spec, || Keyring::parse(spec).map_err(|e| e.to_string()))
}

/// The app remembered for the key whose hash is `key_hash`, when it was read from D1 less
/// than `max_age_ms` ago.
pub fn cached_app(key_hash: &str, now_ms: i64, max_age_ms: i64) -> Option<AppRow> {
    APPS.with(|cell| {
        let apps = cell.borrow();
        let e = apps.iter().find(|e| e.key_hash == key_hash)?;
        // A clock that went backwards counts as stale too.
        (now_ms >= e.fetched_ms && now_ms - e.fetched_ms < max_age_ms).then(|| e.app.clone())
    })
}

/// Remembers `app` as the owner of the live key whose hash is `key_hash`, read from D1 in
/// cache generation `read_in` (nothing, if the cache was emptied since).
pub fn remember_app(key_hash: &str, now_ms: i64, app: &AppRow, read_in: u64) {
    if read_in != generation() {
        return;
    }
    APPS.with(|cell| {
        let mut apps = cell.borrow_mut();
        apps.retain(|e| e.key_hash != key_hash);
        if apps.len() >= APP_CACHE_ENTRIES {
            apps.remove(0);
        }
        apps.push(AppEntry { key_hash: key_hash.to_string(), fetched_ms: now_ms, app: app.clone() });
    })
}

/// Forgets every remembered app (after any admin write: a revoked key, a changed app).
pub fn forget_apps() {
    GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
    APPS.with(|cell| cell.borrow_mut().clear());
}

/// The profile cache's generation: taken before a D1 read and handed to [`remember_profile`].
pub fn profile_generation() -> u64 {
    PROFILE_GENERATION.with(Cell::get)
}

/// The row of profile `id` of app `app_id`, when read from D1 less than `max_age_ms` ago and
/// nothing since made this isolate forget it.
pub fn cached_profile<T: 'static>(app_id: &str, id: &str, now_ms: i64, max_age_ms: i64) -> Option<Rc<T>> {
    PROFILES.with(|cell| {
        let kept = cell.borrow();
        let e = kept.iter().find(|e| e.id == id && e.app_id == app_id)?;
        // A clock that went backwards counts as stale too.
        let fresh = now_ms >= e.fetched_ms && now_ms - e.fetched_ms < max_age_ms;
        fresh.then(|| e.row.clone().downcast::<T>().ok()).flatten()
    })
}

/// Remembers an active profile's row read from D1 in generation `read_in` (nothing, if this
/// isolate forgot profiles since: the read may predate what made it forget).
pub fn remember_profile<T: 'static>(app_id: &str, id: &str, now_ms: i64, row: Rc<T>, read_in: u64) {
    if read_in != profile_generation() {
        return;
    }
    PROFILES.with(|cell| {
        let mut kept = cell.borrow_mut();
        kept.retain(|e| e.id != id);
        if kept.len() >= PROFILE_CACHE_ENTRIES {
            kept.remove(0);
        }
        kept.push(ProfileEntry { app_id: app_id.to_string(), id: id.to_string(), fetched_ms: now_ms, row });
    })
}

/// Forgets every remembered profile row.
pub fn forget_profiles() {
    PROFILE_GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
    PROFILES.with(|cell| cell.borrow_mut().clear());
}
