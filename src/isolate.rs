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
use std::cell::RefCell;
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

/// What an API key's hash names: its app.
struct AppEntry {
    key_hash: String,
    app: AppRow,
}

/// A few rows read from D1, each with the time it was read, the oldest first, and a
/// generation that moves each time they are all forgotten: a read that was in flight then
/// (its generation taken before it) is not kept.
struct Memo<E> {
    entries: Vec<(i64, E)>,
    generation: u64,
}

impl<E> Memo<E> {
    const fn new() -> Self {
        Memo { entries: Vec::new(), generation: 0 }
    }

    /// The entry `is` picks, when read less than `max_age_ms` before `now_ms` (a clock that
    /// went backwards counts as stale too).
    fn fresh(&self, now_ms: i64, max_age_ms: i64, is: impl Fn(&E) -> bool) -> Option<&E> {
        let (at, e) = self.entries.iter().find(|(_, e)| is(e))?;
        (now_ms >= *at && now_ms - at < max_age_ms).then_some(e)
    }

    /// Keeps `entry`, read at `now_ms` in generation `read_in`, in place of the one `same`
    /// picks; at most `max` entries, the oldest dropped first. Nothing when the memo was
    /// forgotten since `read_in`.
    fn keep(&mut self, read_in: u64, now_ms: i64, max: usize, same: impl Fn(&E) -> bool, entry: E) {
        if read_in != self.generation {
            return;
        }
        self.entries.retain(|(_, e)| !same(e));
        if self.entries.len() >= max {
            self.entries.remove(0);
        }
        self.entries.push((now_ms, entry));
    }

    /// Forgets every entry, and moves the generation.
    fn forget(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.entries.clear();
    }
}

/// How long a proxied profile's row and its grant's sealed token are used without asking D1,
/// by default (`PROXY_PROFILE_CACHE_MS`; issue 26): a profile deleted, disconnected or
/// refreshed through another isolate is still proxied here for at most this long, with the token it had (a token the platform no longer
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
    row: Rc<dyn Any>,
}

thread_local! {
    static PROFILES: RefCell<Memo<ProfileEntry>> = const { RefCell::new(Memo::new()) };
    static CATALOG: RefCell<Option<Built<Catalog>>> = const { RefCell::new(None) };
    static KEYRING: RefCell<Option<Built<Keyring>>> = const { RefCell::new(None) };
    static APPS: RefCell<Memo<AppEntry>> = const { RefCell::new(Memo::new()) };
}

/// The app cache's generation: taken before a D1 lookup and handed to [`remember_app`],
/// which keeps nothing read before the last [`forget_apps`].
pub fn generation() -> u64 {
    APPS.with(|cell| cell.borrow().generation)
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
    APPS.with(|cell| cell.borrow().fresh(now_ms, max_age_ms, |e| e.key_hash == key_hash).map(|e| e.app.clone()))
}

/// Remembers `app` as the owner of the live key whose hash is `key_hash`, read from D1 in
/// cache generation `read_in` (nothing, if the cache was emptied since).
pub fn remember_app(key_hash: &str, now_ms: i64, app: &AppRow, read_in: u64) {
    let entry = AppEntry { key_hash: key_hash.to_string(), app: app.clone() };
    APPS.with(|cell| cell.borrow_mut().keep(read_in, now_ms, APP_CACHE_ENTRIES, |e| e.key_hash == key_hash, entry));
}

/// Forgets every remembered app (after any admin write: a revoked key, a changed app).
pub fn forget_apps() {
    APPS.with(|cell| cell.borrow_mut().forget());
}

/// The profile cache's generation: taken before a D1 read and handed to [`remember_profile`].
pub fn profile_generation() -> u64 {
    PROFILES.with(|cell| cell.borrow().generation)
}

/// The row of profile `id` of app `app_id`, when read from D1 less than `max_age_ms` ago and
/// nothing since made this isolate forget it.
pub fn cached_profile<T: 'static>(app_id: &str, id: &str, now_ms: i64, max_age_ms: i64) -> Option<Rc<T>> {
    PROFILES.with(|cell| {
        let kept = cell.borrow();
        let e = kept.fresh(now_ms, max_age_ms, |e| e.id == id && e.app_id == app_id)?;
        e.row.clone().downcast::<T>().ok()
    })
}

/// Remembers an active profile's row read from D1 in generation `read_in` (nothing, if this
/// isolate forgot profiles since: the read may predate what made it forget).
pub fn remember_profile<T: 'static>(app_id: &str, id: &str, now_ms: i64, row: Rc<T>, read_in: u64) {
    let entry = ProfileEntry { app_id: app_id.to_string(), id: id.to_string(), row };
    PROFILES.with(|cell| cell.borrow_mut().keep(read_in, now_ms, PROFILE_CACHE_ENTRIES, |e| e.id == id, entry));
}

/// Forgets every remembered profile row.
pub fn forget_profiles() {
    PROFILES.with(|cell| cell.borrow_mut().forget());
}
