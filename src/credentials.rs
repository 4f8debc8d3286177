//! Apps' own platform credentials ("bring your own platform app"): which client a connect
//! uses (the app's own for that platform, else the deployment's), storing and removing an
//! app's credentials with their secrets sealed under `TOKEN_KEYS` (bound to the app and the
//! platform), and the grants a removal ends. A domain file: it calls storage and core.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::Batch;
use crate::respond::object;
use crate::store::{self, CredentialWrite, LinkEnd, Stmt};
use connect_links_core::app_credentials::{
    fingerprint, sealed_as, CredentialRow, PutCredentials, CLIENT_SECRET_FIELD, REF_PREFIX, WEBHOOK_SECRET_FIELD,
};
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::GrantRow;
use connect_links_core::oauth::ClientCredentials;
use connect_links_core::picker::{Choice, CHOICE_FIELD};
use connect_links_core::platform_events::meta;
use connect_links_core::platforms::{AuthKind, Platform};
use connect_links_core::random::new_id;
use connect_links_core::secrets::ClientSecret;
use connect_links_core::webhook::types;

/// Why a grant ends when the app's credentials that minted it are removed.
pub const REMOVED_REASON: &str = "credentials_removed";

/// The client a connect of an app uses for a platform.
pub struct Resolved {
    /// The client id and secret.
    pub creds: ClientCredentials,
    /// The app's credentials (`pcr_...`) when they are the app's own; `None`: the deployment's.
    pub credential_ref: Option<String>,
    /// The app's default scopes for the platform, when its credentials set them.
    pub scopes: Option<Vec<String>>,
}

/// Whether an app may bring its own credentials for `p`: only for platforms with one OAuth
/// client (built-in or custom), not those registered per instance (Mastodon, Bluesky), those
/// that need no client (app passwords, pasted keys), nor the sandbox (its client is fixed).
pub fn accepts(p: &Platform) -> ApiResult<()> {
    let why = match p.auth {
        AuthKind::Oauth2 if p.per_instance() => "its accounts live on servers of their own",
        AuthKind::InstanceOauth2 => "its client is registered with each instance",
        AuthKind::AppPassword | AuthKind::ApiKey => "it connects with credentials the user posts, not a platform app",
        AuthKind::Oauth2 if p.id == "sandbox" => "the sandbox's client is fixed",
        AuthKind::Oauth2 => return Ok(()),
    };
    Err(ApiError::new(ErrorCode::PlatformUnsupported, format!("{} takes no app's own credentials: {why}", p.id)))
}

/// The credentials of `row`, opened; a secret no key opens is a 500.
fn open(ctx: &Ctx, row: &CredentialRow) -> ApiResult<ClientCredentials> {
    let client_secret = ctx
        .keyring()?
        .open_secret::<ClientSecret>(
            &sealed_as(&row.app_id, &row.platform),
            CLIENT_SECRET_FIELD,
            &row.client_secret_enc,
        )
        .or_500("open app credentials")?;
    Ok(ClientCredentials { client_id: row.client_id.clone(), client_secret })
}

/// The API view of `row` (`CredentialRow::view`): for a Meta app, with the verify token of
/// its events path in `platform_webhooks` (derived from its client secret, so it is stored
/// nowhere and changes with the secret). Credentials whose secret no key opens any more are
/// shown without it: the operator must still see them to store them again.
pub fn view(ctx: &Ctx, row: &CredentialRow) -> ApiResult<serde_json::Value> {
    let mut v = row.view(&ctx.public_url);
    if meta::PLATFORMS.contains(&row.platform.as_str()) {
        if let Ok(creds) = open(ctx, row) {
            let token = meta::verify_token_of(creds.client_secret.secret());
            if let Some(hooks) = v.get_mut("platform_webhooks").and_then(serde_json::Value::as_object_mut) {
                hooks.insert("verify_token".into(), token.into());
            }
        }
    }
    Ok(v)
}

/// The client a new connect of `app_id` to `p` uses: the app's own credentials for `p`,
/// else the deployment's (`Ctx::credentials`); `None`: neither is configured. Per-instance
/// platforms are not resolved here (`crate::instances`).
pub async fn resolve(ctx: &Ctx, app_id: &str, p: &Platform) -> ApiResult<Option<Resolved>> {
    if accepts(p).is_ok() {
        let row =
            store::current_credential(&ctx.db()?, app_id, &p.id).one::<CredentialRow>("read app credentials").await?;
        if let Some(row) = row {
            return Ok(Some(Resolved {
                creds: open(ctx, &row)?,
                scopes: row.scope_list(),
                credential_ref: Some(row.id),
            }));
        }
    }
    Ok(ctx.credentials(p).map(|creds| Resolved { creds, credential_ref: None, scopes: None }))
}

/// The client that `credential_ref` names for `app_id` on `p` (current or retired), or the
/// deployment's when it names none; `None` when they are gone (removed meanwhile) or not
/// configured.
pub async fn by_ref(
    ctx: &Ctx,
    app_id: &str,
    p: &Platform,
    credential_ref: Option<&str>,
) -> ApiResult<Option<ClientCredentials>> {
    let Some(id) = credential_ref else { return Ok(ctx.credentials(p)) };
    let row = row_by_ref(ctx, app_id, &p.id, id).await?;
    row.map(|r| open(ctx, &r)).transpose()
}

/// Credentials `id` of `app_id` for `platform` (current or retired), if still stored: one
/// read shared by [`by_ref`] and [`for_grant`] (one copy of it in the worker).
async fn row_by_ref(ctx: &Ctx, app_id: &str, platform: &str, id: &str) -> ApiResult<Option<CredentialRow>> {
    store::credential_by_ref(&ctx.db()?, app_id, platform, id).one::<CredentialRow>("read app credentials").await
}

/// The platform app behind a per-credential platform webhook path: which platform its
/// callbacks speak for, the secret they are signed with, and the client id they carry.
pub struct Signer {
    /// `pcr_...`: only the grants it minted are acted on.
    pub credential_ref: String,
    /// The platform of the credentials.
    pub platform: String,
    /// Its client id (TikTok's client key).
    pub client_id: String,
    /// The secret its callbacks are signed with: the client secret (as the deployment's
    /// own paths verify with).
    pub secret: ClientSecret,
}

/// The platforms that sign their webhooks with a secret other than the client secret, so a
/// `webhook_secret` means something: X's Account Activity API signs with the app's API key
/// secret, not its OAuth 2.0 client secret. Everywhere else it is refused rather than kept
/// unused: Meta and TikTok sign with the client secret, and the other platforms send no
/// platform webhooks the worker receives.
const TAKES_WEBHOOK_SECRET: [&str; 1] = ["x"];

/// The path names `credential_ref`: plausible as one (else no D1 read).
fn plausible_ref(credential_ref: &str) -> bool {
    credential_ref.starts_with(REF_PREFIX)
        && credential_ref.len() <= 64
        && credential_ref.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The signer of `row`: its client secret opened (a credential stored with a
/// `webhook_secret` before those were refused keeps it unused).
fn signer_of(ctx: &Ctx, row: CredentialRow) -> ApiResult<Signer> {
    let creds = open(ctx, &row)?;
    Ok(Signer { credential_ref: row.id, platform: row.platform, client_id: row.client_id, secret: creds.client_secret })
}

/// The signer of the webhook path of credentials `credential_ref`, when they exist (current,
/// or retired and still used) and belong to one of `platforms`; `None` otherwise, and then
/// the path is unknown, whatever the reason.
pub async fn webhook_signer(ctx: &Ctx, credential_ref: &str, platforms: &[&str]) -> ApiResult<Option<Signer>> {
    let row = signer_row(ctx, credential_ref, platforms).await?;
    row.map(|r| signer_of(ctx, r)).transpose()
}

/// The row of the webhook path of credentials `credential_ref` (see [`webhook_signer`]).
async fn signer_row(ctx: &Ctx, credential_ref: &str, platforms: &[&str]) -> ApiResult<Option<CredentialRow>> {
    if !plausible_ref(credential_ref) {
        return Ok(None);
    }
    let row = store::credential_of_ref(&ctx.db()?, credential_ref).one::<CredentialRow>("read app credentials").await?;
    Ok(row.filter(|r| platforms.contains(&r.platform.as_str())))
}

/// The signer of the webhook path of credentials `credential_ref` (as [`webhook_signer`])
/// whose `secret` is their `webhook_secret` (X signs with the app's API key secret, not its
/// OAuth 2.0 client secret); `None` also when they hold no `webhook_secret`: nothing could
/// verify what comes to that path.
pub async fn webhook_secret_signer(ctx: &Ctx, credential_ref: &str, platforms: &[&str]) -> ApiResult<Option<Signer>> {
    let Some(row) = signer_row(ctx, credential_ref, platforms).await? else { return Ok(None) };
    let Some(enc) = row.webhook_secret_enc.as_deref() else { return Ok(None) };
    let secret = ctx
        .keyring()?
        .open_secret::<ClientSecret>(&sealed_as(&row.app_id, &row.platform), WEBHOOK_SECRET_FIELD, enc)
        .or_500("open app webhook secret")?;
    Ok(Some(Signer { credential_ref: row.id, platform: row.platform, client_id: row.client_id, secret }))
}

/// The signers of the webhook path of credentials `credential_ref` (as [`webhook_signer`]),
/// with every other credential of the same app and client id on one of `platforms` (current
/// or retired), each with its own ref: one Meta app stored for `facebook` and
/// `instagram_facebook` shares its callback URLs, so a callback on either's path is about
/// both. Empty: the path is unknown.
pub async fn webhook_signers(ctx: &Ctx, credential_ref: &str, platforms: &[&str]) -> ApiResult<Vec<Signer>> {
    let Some(row) = signer_row(ctx, credential_ref, platforms).await? else { return Ok(vec![]) };
    let rows = store::credentials_of_client(&ctx.db()?, &row.app_id, &row.client_id)
        .many::<CredentialRow>("read app credentials of client")
        .await?;
    let named = signer_of(ctx, row)?;
    let mut out = vec![];
    for row in rows {
        if row.id != named.credential_ref && platforms.contains(&row.platform.as_str()) {
            out.push(signer_of(ctx, row)?);
        }
    }
    out.insert(0, named);
    Ok(out)
}

/// An app's own credentials that minted a grant: `credential_ref` (`pcr_...`) of `app_id`.
#[derive(Clone, Copy, Debug)]
pub struct OwnRef<'a> {
    /// The app the grant and the credentials belong to.
    pub app_id: &'a str,
    /// The credentials' id.
    pub credential_ref: &'a str,
}

impl<'a> OwnRef<'a> {
    /// The app's own credentials a grant of `app_id` records, if any (`None`: the deployment's).
    pub fn of(app_id: &'a str, credential_ref: Option<&'a str>) -> Option<OwnRef<'a>> {
        credential_ref.map(|credential_ref| OwnRef { app_id, credential_ref })
    }
}

/// The client every later use of a grant goes through (refresh, revoke): the app's own
/// credentials that minted it (`own`, current or retired, so a new secret for the same
/// client id applies to all its grants), else the deployment's (a Mastodon instance's
/// registered client included, `crate::instances`). `None`: not configured, or the app's
/// own are gone (removed) or no key opens their secret; never the deployment's instead,
/// which did not issue the grant's tokens.
pub async fn for_grant(ctx: &Ctx, p: &Platform, own: Option<OwnRef<'_>>) -> ApiResult<Option<ClientCredentials>> {
    let Some(own) = own else { return crate::instances::credentials(ctx, p).await };
    let row = row_by_ref(ctx, own.app_id, &p.id, own.credential_ref).await?;
    Ok(row.and_then(|r| open(ctx, &r).ok()))
}

/// The most client ids one app keeps for one platform (the current one and those replaced
/// whose grants still use them): a `PUT` of yet another is refused, so replacing clients in
/// a loop cannot grow the table without bound.
const MAX_KEPT_CLIENTS: usize = 10;

/// Whether `client_id` is another app's (stored as its own credentials) or the
/// deployment's client for some platform.
async fn client_of_others(ctx: &Ctx, db: &worker::D1Database, app_id: &str, client_id: &str) -> ApiResult<bool> {
    if ctx.catalog.all().iter().any(|p| ctx.credentials(p).is_some_and(|c| c.client_id == client_id)) {
        return Ok(true);
    }
    store::client_of_other_app(db, app_id, client_id).exists("read client of other app").await
}

/// Stores `input` as `app_id`'s credentials for `p` and returns the stored row. The same
/// client id keeps its row (its grants follow the new secret); another client id replaces
/// it, the old one kept (retired) while grants still use it.
pub async fn put(
    ctx: &Ctx,
    app_id: &str,
    p: &Platform,
    input: &PutCredentials,
) -> ApiResult<CredentialRow> {
    accepts(p)?;
    let db = ctx.db()?;
    if client_of_others(ctx, &db, app_id, &input.client_id).await? {
        // At the platform one client id is one platform app, with one quota, one consent
        // screen and one set of callbacks: stored for two apps (or as an app's own and the
        // deployment's), it would get two budgets in the proxy's books, its Meta callbacks
        // would reach one app's grants only, and a tenant naming another's would show that
        // app's consent screen on its links.
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this client_id is another app's or the deployment's: register a platform app of your own",
        ));
    }
    let kept = store::credentials_of_platform(&db, app_id, &p.id).many::<CredentialRow>("read app credentials").await?;
    if kept.iter().filter(|r| r.client_id != input.client_id).count() >= MAX_KEPT_CLIENTS {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "{MAX_KEPT_CLIENTS} client ids of this app for {} are kept (replaced ones stay while their grants \
                 do): remove them with DELETE, or reconnect their grants first",
                p.id
            ),
        ));
    }
    if input.webhook_secret.is_some() && !TAKES_WEBHOOK_SECRET.contains(&p.id.as_str()) {
        // What the platform takes, not the body's form: 422 as the other platform refusals.
        return Err(ApiError::new(
            ErrorCode::PlatformUnsupported,
            format!(
                "webhook_secret is not taken for {}: only x signs its webhooks with another secret than the client secret",
                p.id
            ),
        ));
    }
    let keyring = ctx.keyring()?;
    let bound = sealed_as(app_id, &p.id);
    let client_secret_enc =
        keyring.seal(&bound, CLIENT_SECRET_FIELD, input.client_secret.secret()).or_500("seal client secret")?;
    let webhook_secret_enc = match &input.webhook_secret {
        Some(w) => Some(keyring.seal(&bound, WEBHOOK_SECRET_FIELD, w.secret()).or_500("seal webhook secret")?),
        None => None,
    };
    let scopes = input.scopes.as_ref().map(serde_json::to_string).transpose().or_500("scopes json")?;
    let id = new_id(REF_PREFIX)?;
    let write = CredentialWrite {
        id: &id,
        app_id,
        platform: &p.id,
        client_id: &input.client_id,
        client_secret_enc: &client_secret_enc,
        webhook_secret_enc: webhook_secret_enc.as_deref(),
        token_kid: keyring.current_kid(),
        secret_fingerprint: &fingerprint(input.client_secret.secret()),
        scopes: scopes.as_deref(),
        now: ctx.now(),
    };
    let results = db.batch(store::put_credential_stmts(&db, &write)?).await.or_500("write app credentials")?;
    results
        .get(store::PUT_RETURNS_AT)
        .and_then(|r| store::batch_rows::<CredentialRow>(r).ok())
        .and_then(|mut rows| rows.pop())
        .ok_or_else(ApiError::internal)
}

/// `app_id`'s current credentials, by platform.
pub async fn list(ctx: &Ctx, app_id: &str) -> ApiResult<Vec<CredentialRow>> {
    store::app_credentials(&ctx.db()?, app_id).many::<CredentialRow>("list app credentials").await
}

/// The platforms `app_id` brings its own credentials for, each with the default scopes
/// they set (if any). Read as whole rows (as [`list`]): one row type for every read of the
/// table keeps the worker small.
pub async fn platforms(ctx: &Ctx, app_id: &str) -> ApiResult<Vec<(String, Option<Vec<String>>)>> {
    let rows = list(ctx, app_id).await?;
    Ok(rows.into_iter().map(|r| (r.scope_list(), r.platform)).map(|(scopes, p)| (p, scopes)).collect())
}

/// Removes every credential of `app_id` for `platform` (current and retired): 404 when
/// there is none; 409 `conflict` while grants minted with them hold their login (active, or
/// ended with profiles still acting with tokens of their own, or pending profiles waiting
/// for their claim), unless `force`, which ends those grants and their profiles in the same
/// batch (`profile.disconnected`, reason `credentials_removed`, for each active one; a
/// pending profile was never announced and ends silently, as on a platform-side
/// revocation). Either way the open account choices these credentials minted are dropped
/// and their links fail (`access_denied`, `connect_link.failed`). Returns what the removal
/// took out of use (the grants it ended, the choices it dropped), each with the client that
/// minted it, to be revoked at the platform: once the rows are gone nothing else could.
/// Nothing is written unless the credentials are deleted: a grant that lands with them
/// between the read and the write makes it a 409, with no side effect.
pub async fn remove(ctx: &Ctx, app_id: &str, platform: &str, force: bool) -> ApiResult<Removed> {
    let db = ctx.db()?;
    let grants = store::grants_of_credentials(&db, app_id, platform).ids("read grants of credentials").await?;
    if !grants.is_empty() && !force {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "{} grant(s) use these credentials: reconnect them first, or remove with ?force=true to \
                 disconnect them",
                grants.len()
            ),
        ));
    }
    let now = ctx.now();
    let mut batch = Batch::new(ctx, &db);
    // Open account choices whose tokens these credentials minted go first, their links failed
    // (`access_denied`): none lands a grant on credentials that are gone.
    let failure = CallbackFailure::AccessDenied.as_str();
    let mut choices = Vec::new();
    for open in store::open_choices_of(&db, app_id, platform).await? {
        let choice: Option<Choice> = ctx
            .keyring()?
            .open(&open.link_id, CHOICE_FIELD, &open.sealed)
            .ok()
            .and_then(|plain| connect_links_core::stored_json::from_slice(plain.as_bytes()).ok());
        let Some(choice) = choice.filter(|c| c.credential_ref.is_some()) else { continue };
        batch.push(store::drop_choice_if_stmt(&db, &open.link_id, &open.sealed)?);
        batch.push(store::end_link_stmt(&db, &open.link_id, &LinkEnd::Failed(failure), store::OfChoice::Any, now)?);
        let data = object!("link_id": open.link_id, "platform": platform, "error": failure,
            "external_user_id": open.external_user_id);
        batch.event(app_id, types::LINK_FAILED, data)?;
        choices.push((open.link_id, choice));
    }
    // Opened before the rows go: what is ended here is revoked with them afterwards.
    let clients = match grants.is_empty() && choices.is_empty() {
        true => vec![],
        false => {
            store::credentials_of_platform(&db, app_id, platform).many::<CredentialRow>("read app credentials").await?
        }
    };
    let mut ended_at = Vec::with_capacity(grants.len());
    for grant in &grants {
        let profiles = store::profiles_of_grant(&db, grant, true).await?;
        ended_at.push(batch.len());
        batch.push(store::end_credential_grant_stmt(&db, grant, REMOVED_REASON, now)?);
        batch.push(store::disconnect_profiles_stmt(&db, grant, REMOVED_REASON, now, true)?);
        let views = profiles.into_iter().map(|(p, _)| p.ended(REMOVED_REASON, now).view()).collect();
        batch.events(app_id, types::DISCONNECTED, views)?;
        batch.push(store::end_pending_profiles_stmt(&db, grant, REMOVED_REASON, now)?);
    }
    batch.push(store::delete_credentials_stmt(&db, app_id, platform)?);
    // Nothing deleted (none stored, or a grant landed with them since the read): the whole
    // batch is rolled back.
    batch.push(store::assert_changed_stmt(&db)?);
    let Ok(written) = batch.write().await else {
        if store::grants_of_credentials(&db, app_id, platform).exists("read grants of credentials").await? {
            return Err(ApiError::new(ErrorCode::Conflict, "grants use these credentials: try again"));
        }
        if store::credentials_of_platform(&db, app_id, platform).exists("read app credentials").await? {
            return Err(ApiError::internal());
        }
        return Err(ApiError::not_found("platform credentials"));
    };
    written.deliver_now(ctx).await;
    let results = &written.results;
    let grants = ended_grants(ctx, results, &ended_at, &clients)?;
    let choices = choices
        .into_iter()
        .filter_map(|(link_id, choice)| {
            let row = clients.iter().find(|c| choice.credential_ref.as_deref() == Some(c.id.as_str()))?;
            Some(DroppedChoice { creds: open(ctx, row).ok()?, link_id, choice })
        })
        .collect();
    Ok(Removed { app_id: app_id.to_string(), platform: platform.to_string(), grants, choices })
}

/// What a removal of an app's credentials took out of use, to be revoked at the platform
/// after the answer (`grants::revoke_removed`).
pub struct Removed {
    /// The app whose credentials they were.
    pub app_id: String,
    /// Their platform.
    pub platform: String,
    /// The grants it ended.
    pub grants: Vec<Ended>,
    /// The open account choices it dropped.
    pub choices: Vec<DroppedChoice>,
}

/// An open account choice a removal dropped: the grant it held, with the client that
/// minted it (opened before its row was deleted).
pub struct DroppedChoice {
    /// The link the choice was for (logged with the revocation).
    pub link_id: String,
    /// The choice, with the grant's tokens.
    pub choice: Choice,
    /// The client that minted them.
    pub creds: ClientCredentials,
}

/// A grant a forced removal ended, with the client that minted it (opened before its row
/// was deleted), for the caller to revoke at the platform (`grants::revoke_removed`).
pub struct Ended {
    /// The grant.
    pub grant: GrantRow,
    /// Its token envelopes.
    pub cols: store::TokenColumns,
    /// The client that minted it.
    pub creds: ClientCredentials,
}

/// The grants the removal's batch ended (statements `ended_at` of `results`), each with
/// the client that minted it (among `clients`, read before the rows were deleted); a secret
/// no key opens leaves its grants out (nothing can revoke them).
fn ended_grants(
    ctx: &Ctx,
    results: &[worker::D1Result],
    ended_at: &[usize],
    clients: &[CredentialRow],
) -> ApiResult<Vec<Ended>> {
    let mut ended = Vec::new();
    for &i in ended_at {
        for (grant, cols) in store::deleted_grants(results, i)? {
            let row = clients.iter().find(|c| grant.credential_ref.as_deref() == Some(c.id.as_str()));
            if let Some(creds) = row.and_then(|r| open(ctx, r).ok()) {
                ended.push(Ended { grant, cols, creds });
            }
        }
    }
    Ok(ended)
}
