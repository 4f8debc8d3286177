//! The start of an OAuth connect on a link: the client (the app's own, the deployment's, or
//! the one registered with a Mastodon instance), the scopes, the state, the PKCE verifier,
//! the consent URL and the pending-state record KV keeps. Written once for the two flows
//! that start one: creating a one-platform link (`api::links::create`) and the user's choice
//! on a chooser link (`browser::chooser`).

use crate::credentials::Resolved;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::links::instance_client::ensure_client;
use crate::store;
use connect_links_core::callback::callback_path;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::mastodon::{registration_scopes, scopes_allowed, Discovery};
use connect_links_core::model::AppRow;
use connect_links_core::oauth::authorize_url;
use connect_links_core::pkce::new_verifier;
use connect_links_core::platforms::{AuthKind, Platform};
use connect_links_core::scopes::{asks_again, optional_beside};
use connect_links_core::state::{new_state, state_key, CallbackMode, PendingAuth, SealedVerifier, STATE_TTL_SECS};
use std::borrow::Cow;

/// What a link asks of one OAuth platform.
pub struct Ask<'a> {
    /// The link's app.
    pub app: &'a AppRow,
    /// The platform (from the catalog).
    pub platform: &'a Platform,
    /// The link's id.
    pub link_id: &'a str,
    /// Requested scopes; `None`: the app's defaults for the platform, else the platform's.
    pub scopes: Option<Vec<String>>,
    /// Scopes asked for that the user may decline (none may also be required).
    pub optional_scopes: Option<Vec<String>>,
    /// What the profile being reconnected declined at its last consent (empty otherwise).
    pub declined_before: Vec<String>,
    /// The instance (a validated host) for a per-instance platform.
    pub instance: Option<&'a str>,
    /// Hosted or the app's own callback.
    pub callback: CallbackMode,
    /// The app's final redirect (the callback itself when `callback` is the app's).
    pub redirect_url: &'a str,
    /// The app's cap of pending links, checked before an instance is called (a
    /// registration spends the app's daily cap); `None` when the link exists already.
    pub pending_cap: Option<u32>,
    /// The client ([`client`]); `None` for a per-instance platform.
    pub client: Option<Resolved>,
}

/// The client a connect of `app_id` to `platform` uses (the app's own, else the
/// deployment's): 422 `platform_not_configured` when there is none; `None` for a platform
/// registered per instance (its client is the instance's, [`prepare`] gets it).
pub async fn client(ctx: &Ctx, app_id: &str, platform: &Platform) -> ApiResult<Option<Resolved>> {
    if platform.auth == AuthKind::InstanceOauth2 {
        return Ok(None);
    }
    let resolved = crate::credentials::resolve(ctx, app_id, platform).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::PlatformNotConfigured, format!("{} client id and secret are not set", platform.id))
    })?;
    Ok(Some(resolved))
}

/// A consent ready to be sent to: its URL, and the state record to keep until the callback.
pub struct Consent {
    /// The consent screen's URL (it carries the live state: never logged, sealed in D1).
    pub authorize_url: String,
    /// The scopes required.
    pub scopes: Vec<String>,
    /// The scopes asked for that the user may decline.
    pub optional: Vec<String>,
    /// KV key of the state ([`state_key`]).
    pub state_key: String,
    /// The pending-state record (JSON; its verifier sealed).
    record: String,
}

/// Prepares the consent of `ask`: 422 when the platform has no client for the app, 400 for
/// scopes an instance did not register; nothing is stored yet ([`Consent::keep`] does).
pub async fn prepare(ctx: &Ctx, ask: Ask<'_>) -> ApiResult<Consent> {
    let per_instance = ask.platform.auth == AuthKind::InstanceOauth2;
    let own_client = ask.client;
    let credential_ref = own_client.as_ref().and_then(|c| c.credential_ref.clone());
    // The app's own credentials may set its default scopes for the platform.
    let default_scopes = own_client.as_ref().and_then(|c| c.scopes.clone());
    let scopes = ask.scopes.clone().or(default_scopes).unwrap_or_else(|| ask.platform.default_scopes.clone());
    let optional = optional_beside(&scopes, ask.optional_scopes.clone())?;
    // Every scope the consent screen shows: the required ones, then those the user may decline.
    let asked: Vec<String> = scopes.iter().chain(&optional).cloned().collect();
    let (platform, creds) = match ask.instance.filter(|_| per_instance) {
        Some(host) => {
            if let Some(cap) = ask.pending_cap {
                let db = ctx.db()?;
                if store::pending_links_at_cap(&db, &ask.app.id, ctx.now(), cap).await? {
                    return Err(too_many_pending(ctx, &db, &ask.app.id, cap).await);
                }
            }
            let refuse = |refused: Vec<String>| {
                ApiError::invalid(format!(
                    "scopes not registered with the instance: {} (Mastodon asks for scopes by their exact names)",
                    refused.join(" ")
                ))
            };
            // Before any call to the instance: the widest set a client is ever registered for.
            let widest = registration_scopes(&Discovery { pkce: true, profile_scope: true });
            scopes_allowed(&asked, &widest).map_err(refuse)?;
            let client = ensure_client(ctx, ask.platform, host, ask.app).await?;
            let registered: Vec<String> = serde_json::from_slice(client.scopes.as_bytes()).unwrap_or_default();
            scopes_allowed(&asked, &registered).map_err(refuse)?;
            let mut at = ask.platform.at_instance(host);
            at.pkce = crate::instances::client_pkce(&client);
            let creds = crate::instances::open_client(ctx, &at, &client)?;
            (Cow::Owned(at), creds)
        }
        None if per_instance => return Err(ApiError::internal()),
        // Borrowed from the catalog: no copy of the platform per link.
        None => (Cow::Borrowed(ask.platform), own_client.map(|c| c.creds).ok_or_else(ApiError::internal)?),
    };
    let platform = &*platform;
    let redirect_uri = match ask.callback {
        // A per-instance client's own path: the instance sends its codes back there only.
        CallbackMode::Hosted => format!("{}{}", ctx.public_url, callback_path(&platform.id, ask.instance)),
        CallbackMode::App => ask.redirect_url.to_string(),
    };
    let (state, verifier) = (new_state()?, new_verifier()?);
    // A reconnect asking again for a scope its profile declined: the platform must show it again.
    let again = if asks_again(&asked, &ask.declined_before) { platform.rerequest_params } else { &[] };
    let authorize = authorize_url(platform, &creds.client_id, &redirect_uri, &asked, state.secret(), &verifier, again)
        .ok_or_else(ApiError::internal)?;
    let key = state_key(state.secret());
    let pending = PendingAuth {
        link_id: ask.link_id.to_string(),
        app_id: ask.app.id.clone(),
        platform: platform.id.clone(),
        // Sealed like a token: a KV read alone yields no usable verifier.
        verifier: SealedVerifier::seal(&*ctx.keyring()?, &key, &verifier).or_500("seal verifier")?,
        redirect_uri,
        callback: ask.callback,
        created_at: ctx.now(),
        credential_ref,
    };
    let record = serde_json::to_string(&pending).or_500("pending json")?;
    Ok(Consent { authorize_url: authorize, scopes, optional, state_key: key, record })
}

impl Consent {
    /// Keeps the pending state in KV for [`STATE_TTL_SECS`].
    pub async fn keep(&self, ctx: &Ctx) -> ApiResult<()> {
        let kv = ctx.kv()?;
        let put = kv.put(&self.state_key, KvText(self.record.clone())).or_500("kv put state")?;
        put.expiration_ttl(STATE_TTL_SECS as u64).execute().await.or_500("kv put state")
    }

    /// Drops the pending state after the answer (it leads nowhere: its link was not written).
    pub async fn drop_later(&self, ctx: &Ctx) {
        let Ok(kv) = ctx.kv() else { return };
        let key = self.state_key.clone();
        ctx.after_answer(async move {
            let _ = kv.delete(&key).await;
        })
        .await;
    }
}

/// The 429 of an app at its cap of pending links, with when its first one expires.
pub async fn too_many_pending(ctx: &Ctx, db: &worker::D1Database, app_id: &str, cap: u32) -> ApiError {
    match store::first_pending_expiry(db, app_id, ctx.now()).await {
        Ok(first) => crate::tenant::too_many_pending(cap, first.map(|t| t - ctx.now())),
        Err(e) => e,
    }
}

/// The pending state's JSON text as KV stores it: a JS string, as worker's `put` of a
/// `String` makes it, without its generic path (serde_wasm_bindgen, then formatting the
/// value were it a number), which pulled float formatting into the wasm for a value that is
/// always text.
struct KvText(String);

impl worker::kv::ToRawKvValue for KvText {
    fn raw_kv_value(&self) -> Result<wasm_bindgen::JsValue, worker::KvError> {
        Ok(wasm_bindgen::JsValue::from(self.0.as_str()))
    }
}
