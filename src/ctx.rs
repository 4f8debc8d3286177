//! Per-request context: bindings, configuration and the platform catalog (plumbing). It
//! knows no table: what is read from D1 is read through `store` by the layers above.

use crate::error::{ApiError, ApiResult, ErrorCode, OrInternal};
use crate::isolate;
use crate::respond::object;
use connect_links_core::envelope::Keyring;
use connect_links_core::i18n::{choose, Lang};
use connect_links_core::keys::bearer;
use connect_links_core::oauth::ClientCredentials;
use connect_links_core::pages::Brand;
use connect_links_core::platforms::{custom, sandbox, AuthKind, Catalog, Platform};
use connect_links_core::random::ct_eq;
use connect_links_core::secrets::{BearerSecret, ClientSecret};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use worker::js_sys;
use worker::wasm_bindgen::JsValue;
use worker::{Context, D1Database, Date, Env, KvStore, Request};

/// What every handler gets.
pub struct Ctx {
    /// The Workers environment.
    pub env: Env,
    /// Epoch milliseconds when this request, cron run or queue batch began.
    pub started_ms: i64,
    /// `PUBLIC_URL` without a trailing slash.
    pub public_url: String,
    /// Platforms known to this deployment (built once per isolate and configuration).
    pub catalog: Rc<Catalog>,
    /// The fetch event's context, for work that must outlive the answer (`wait_until`).
    pub waiter: Option<Rc<Context>>,
    /// The request's `Accept-Language`: the language of a page when its link names none.
    pub accept_language: Option<String>,
    /// What a handler learned about the page it would show (the link's language, the app),
    /// so that its error page, rendered after it returned, speaks that language and names
    /// that app.
    pub page_hint: RefCell<PageHint>,
}

/// What an error page should know of its link: see [`Ctx::page_hint`].
#[derive(Default, Clone)]
pub struct PageHint {
    /// The link's `locale`.
    pub locale: Option<String>,
    /// The app the link belongs to.
    pub brand: Option<Brand>,
}

impl Ctx {
    /// Reads configuration for `req`. Without `PUBLIC_URL` the request's own origin is used.
    pub fn new(env: Env, req: &Request, waiter: Context) -> Ctx {
        let origin = req.url().map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        let accept_language = req.headers().get("accept-language").ok().flatten();
        Ctx { waiter: Some(Rc::new(waiter)), accept_language, ..Self::build(env, origin) }
    }

    /// The same configuration, owned, for a job handed to `wait_until`.
    pub fn detached(&self) -> Ctx {
        Ctx {
            env: self.env.clone(),
            started_ms: self.started_ms,
            public_url: self.public_url.clone(),
            catalog: self.catalog.clone(),
            waiter: None,
            accept_language: None,
            page_hint: RefCell::default(),
        }
    }

    /// Reads configuration outside a request (cron, queue): `PUBLIC_URL` only.
    pub fn from_env(env: Env) -> Ctx {
        Self::build(env, String::new())
    }

    fn build(env: Env, fallback_origin: String) -> Ctx {
        let public_url = match env.var("PUBLIC_URL").map(|v| v.to_string()) {
            Ok(v) if !v.is_empty() => v.trim_end_matches('/').to_string(),
            _ => fallback_origin,
        };
        let sandbox_on = env.var("SANDBOX").map(|v| v.to_string() == "on").unwrap_or(false);
        let providers = custom_providers_text(&env);
        let catalog = isolate::catalog(&public_url, sandbox_on, &providers, || {
            Catalog::new(&public_url, sandbox_on, custom_providers(&providers))
        });
        Ctx {
            env,
            started_ms: now_ms(),
            public_url,
            catalog,
            waiter: None,
            accept_language: None,
            page_hint: RefCell::default(),
        }
    }

    /// Runs `job` after the answer when a request is being answered (`wait_until`: it
    /// still completes if the client goes away), or now outside a request.
    pub async fn after_answer(&self, job: impl std::future::Future<Output = ()> + 'static) {
        match &self.waiter {
            Some(w) => hand_over(w, Box::pin(job)),
            None => job.await,
        }
    }

    /// Notes the link's language and the app of the page this request answers, for its
    /// error page (see [`Ctx::page_hint`]).
    pub fn hint_page(&self, locale: Option<&str>, brand: Brand) {
        *self.page_hint.borrow_mut() = PageHint { locale: locale.map(str::to_string), brand: Some(brand) };
    }

    /// The language of a page of a link with `locale` (the link's, else the browser's, else
    /// English).
    pub fn page_lang(&self, locale: Option<&str>) -> Lang {
        choose(locale, self.accept_language.as_deref())
    }

    /// Epoch seconds now. Read live, not at the start: a cron run can last minutes, and
    /// leases, schedules and webhook timestamps must not be born stale.
    pub fn now(&self) -> i64 {
        now_ms() / 1000
    }

    /// A whole-number var within `range`; `None` when unset, not a number or out of range
    /// (the caller's default applies).
    pub fn number_var(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
        let n = self.env.var(name).ok()?.to_string().parse::<i64>().ok()?;
        range.contains(&n).then_some(n)
    }

    /// How long a platform or webhook call may take (`PLATFORM_TIMEOUT_MS`, default 15 s).
    pub fn timeout_ms(&self) -> u64 {
        // At most 25 s: work that outlives an answer (`wait_until`) gets about 30 s.
        self.number_var("PLATFORM_TIMEOUT_MS", 100..=25_000).map_or(crate::fetch::DEFAULT_TIMEOUT_MS, |ms| ms as u64)
    }

    /// `REFRESH_BATCH_SIZE` (default 200): the most refreshes that reach a platform (or jobs
    /// enqueued), and the most liveness checks, in one cron run.
    pub fn refresh_batch_size(&self) -> u32 {
        self.number_var("REFRESH_BATCH_SIZE", 0..=u32::MAX as i64).map_or(200, |n| n as u32)
    }

    /// The D1 database.
    pub fn db(&self) -> ApiResult<D1Database> {
        self.env.d1("DB").or_500("binding DB")
    }

    /// The pending-authorization KV namespace.
    pub fn kv(&self) -> ApiResult<KvStore> {
        self.env.kv("OAUTH_STATE").or_500("binding OAUTH_STATE")
    }

    /// The token keyring from `TOKEN_KEYS` (parsed once per isolate while the secret is the same).
    pub fn keyring(&self) -> ApiResult<Rc<Keyring>> {
        let spec = self.env.secret("TOKEN_KEYS").map(|s| s.to_string()).or_500("secret TOKEN_KEYS")?;
        isolate::keyring(&spec).or_500("secret TOKEN_KEYS")
    }

    /// A secret or var by name, `None` when unset or empty.
    fn text(&self, name: &str) -> Option<String> {
        let v = self.env.secret(name).ok().map(|s| s.to_string())?;
        (!v.is_empty()).then_some(v)
    }

    /// The platform's client credentials; `None` means not configured. The sandbox needs
    /// no registration.
    pub fn credentials(&self, p: &Platform) -> Option<ClientCredentials> {
        match p.auth {
            // No client: the user's own credentials are the grant.
            AuthKind::AppPassword | AuthKind::ApiKey => {
                return Some(ClientCredentials { client_id: String::new(), client_secret: ClientSecret::new("") })
            }
            // Registered per instance, kept in D1 (see `crate::instances`).
            AuthKind::InstanceOauth2 => return None,
            AuthKind::Oauth2 => {}
        }
        if p.id == "sandbox" {
            return Some(ClientCredentials {
                client_id: sandbox::CLIENT_ID.into(),
                client_secret: ClientSecret::new(sandbox::CLIENT_SECRET),
            });
        }
        let client_id = self.text(&p.client_id_secret_name())?;
        let client_secret = ClientSecret::new(self.text(&p.client_secret_secret_name())?);
        Some(ClientCredentials { client_id, client_secret })
    }

    /// Platform `id` resolved for an account on `instance` (its own server): `None` for an
    /// unknown platform, or a per-instance one (Mastodon, Bluesky) without an instance. Only a
    /// per-instance platform is copied (its URLs rewritten); the others are borrowed from the
    /// catalog, so the proxy's path makes no copy.
    pub fn platform_at(&self, id: &str, instance: Option<&str>) -> Option<Cow<'_, Platform>> {
        let p = self.catalog.get(id)?;
        match (p.per_instance(), instance) {
            (false, _) => Some(Cow::Borrowed(p)),
            (true, Some(host)) => Some(Cow::Owned(p.at_instance(host))),
            (true, None) => None,
        }
    }

    /// A platform by id, or 422 `platform_not_configured`: an id of the right shape may name
    /// a custom provider this deployment does not configure, which is a matter of
    /// configuration, not of the request's form (the document allows any such id).
    pub fn platform(&self, id: &str) -> ApiResult<&Platform> {
        self.catalog
            .get(id)
            .ok_or_else(|| ApiError::new(ErrorCode::PlatformNotConfigured, "unknown platform: none of this id is configured"))
    }

    /// Whether the operator's console is served (`CONSOLE=on`; off by default).
    pub fn console_on(&self) -> bool {
        self.env.var("CONSOLE").map(|v| v.to_string() == "on").unwrap_or(false)
    }

    /// The console's session key, from `ADMIN_TOKEN` (`None` when unset: nobody can sign in).
    pub fn console_key(&self) -> Option<connect_links_core::console::session::SessionKey> {
        self.text("ADMIN_TOKEN").map(|t| connect_links_core::console::session::SessionKey::of(&t))
    }

    /// Whether `given` is `ADMIN_TOKEN` (never, when it is unset), compared in constant time:
    /// hashing first makes the comparison independent of both lengths.
    pub fn is_admin_token(&self, given: &str) -> bool {
        self.text("ADMIN_TOKEN")
            .map(BearerSecret::new)
            .is_some_and(|e| ct_eq(&Sha256::digest(given.as_bytes()), &Sha256::digest(e.secret())))
    }

    /// Whether the deployment is served over https (cookies are then `Secure`).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time.
    pub fn require_admin(&self, req: &Request) -> ApiResult<()> {
        let given = auth_header(req);
        match bearer(given.as_deref()) {
            Some(g) if self.is_admin_token(g) => Ok(()),
            _ => Err(ApiError::unauthorized()),
        }
    }
}

/// `CUSTOM_PROVIDERS` as text: a string var as it is, an object var as its JSON (empty
/// when unset). It keys the isolate's catalog, so it is read on every request; the parsing
/// happens only when it changed.
fn custom_providers_text(env: &Env) -> String {
    let Ok(value) = js_sys::Reflect::get(env, &JsValue::from_str("CUSTOM_PROVIDERS")) else { return String::new() };
    if value.is_undefined() || value.is_null() {
        return String::new();
    }
    match value.as_string() {
        Some(text) => text,
        None => js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string()).unwrap_or_default(),
    }
}

/// Providers from `CUSTOM_PROVIDERS` (an object var, or a string holding JSON). Invalid
/// entries are skipped and logged, so one typo does not take the other platforms down.
fn custom_providers(text: &str) -> Vec<Platform> {
    if text.is_empty() {
        return vec![];
    }
    // An object var arrives as its JSON text, as a string var does.
    let config = serde_json::Value::String(text.to_string());
    let mut reserved: Vec<String> = Catalog::builtins().into_iter().map(|p| p.id).collect();
    reserved.push("sandbox".into());
    let (ok, problems) = custom::parse(&config, &reserved);
    for problem in problems {
        crate::log::error(&object!("level": "error", "what": "CUSTOM_PROVIDERS", "error": problem));
    }
    ok
}

/// The request's `Authorization` header, if it has one.
pub fn auth_header(req: &Request) -> Option<String> {
    req.headers().get("authorization").ok().flatten()
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    Date::now().as_millis() as i64
}

/// Hands a job to `wait_until` as one boxed future type: `wait_until` builds its promise
/// machinery once per future type, and each job of [`Ctx::after_answer`] is a type of its
/// own (a copy each in the wasm, which pays for it in size; the box costs one allocation).
fn hand_over(waiter: &Context, job: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>) {
    waiter.wait_until(job)
}
