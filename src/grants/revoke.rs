//! Revoking a grant at the platform, without ending another profile's grant for the same
//! account: a revoke can end every grant of a login (Facebook), and deleting in one app must
//! never break another.

use crate::credentials::OwnRef;
use crate::ctx::Ctx;
use crate::fetch;
use crate::respond::object;
use crate::store;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::GrantRow;
use connect_links_core::oauth::{revoke_request, token_to_revoke, ClientCredentials};
use connect_links_core::ownership::may_revoke;
use connect_links_core::platforms::Platform;
use connect_links_core::refresh::revoke_settled;
use connect_links_core::secrets::{AccessToken, RefreshToken};

/// Whose grant is being revoked, and why.
pub struct Grant<'a> {
    /// The platform.
    pub platform: &'a Platform,
    /// The access token.
    pub access: &'a AccessToken,
    /// The refresh token, when there is one.
    pub refresh: Option<&'a RefreshToken>,
    /// The platform login, when known (`None`: the identity call failed).
    pub account: Option<&'a str>,
    /// The stored grant being revoked (to leave it out of "another grant holds the login"),
    /// and the id logged with the call; `None` for a fresh grant never stored.
    pub grant_id: Option<&'a str>,
    /// The app's own credentials that minted it, revoked with them; `None`: the deployment's.
    pub own: Option<OwnRef<'a>>,
}

/// The grants whose tokens `p`'s revocation with client `client_id` ends: those on the
/// platforms calling the same revoke endpoint (Facebook Pages and Instagram through Facebook
/// Login: `DELETE /me/permissions` ends both) minted by that same client. Returns the
/// platforms of that endpoint, and among them those whose deployment client is `client_id`
/// (`p` too when the grant is the deployment's, whose client may be an instance's): a grant
/// of the deployment's counts on those, a grant of an app's own credentials when they carry
/// `client_id`. A grant of another client holds other tokens, which this revocation leaves
/// alone: an app's own client's grant is revoked even while another app holds the same
/// login through the deployment's client.
fn same_client_platforms<'a>(ctx: &'a Ctx, p: &'a Platform, client_id: &str, own: bool) -> store::Issuer<'a> {
    let mut platforms = vec![p.id.as_str()];
    let mut deployment = vec![];
    if !own || ctx.credentials(p).is_some_and(|c| c.client_id == client_id) {
        deployment.push(p.id.as_str());
    }
    for other in ctx.catalog.all() {
        if other.id != p.id && other.revoke_url.is_some() && other.revoke_url == p.revoke_url {
            platforms.push(other.id.as_str());
            if ctx.credentials(other).is_some_and(|c| c.client_id == client_id) {
                deployment.push(other.id.as_str());
            }
        }
    }
    store::Issuer { platforms, deployment }
}

/// Why a grant is revoked, which decides whether another holder of the login stops it (see
/// [`may_revoke`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RevokeCause {
    /// Its profiles are deleted (`DELETE /v1/profiles/{id}`, unclaimed profiles, a grant no
    /// profile uses any more): any other holder of the login keeps it from being revoked.
    Deleting,
    /// A failed connect's fresh grant: revoked where that cannot end anyone else's.
    FailedConnect,
}

/// Revokes `g` at the platform where it has a revoke endpoint and [`may_revoke`] allows it
/// for `cause`. `Ok` once that is settled: revoked, answered as a token the
/// platform no longer knows (see [`revoke_settled`]), or not to be revoked; an error when it
/// could not be decided or the platform did not settle it (no answer, a 5xx, a 429, a
/// refused client, every instance client refused), so a caller holding the grant in a row
/// keeps it for a retry. Each call is logged by `fetch::send`.
pub async fn revoke(ctx: &Ctx, g: &Grant<'_>, cause: RevokeCause) -> ApiResult<()> {
    let clients = clients_of(ctx, g).await?;
    revoke_through(ctx, g, &clients, cause).await
}

/// The clients that may have issued `g`'s tokens, to revoke them with.
async fn clients_of(ctx: &Ctx, g: &Grant<'_>) -> ApiResult<Vec<ClientCredentials>> {
    Ok(match g.own {
        None => crate::instances::revoke_credentials(ctx, g.platform).await?,
        // Only the client that issued the token can revoke it: gone, nothing is settled.
        Some(own) => match crate::credentials::for_grant(ctx, g.platform, Some(own)).await? {
            Some(creds) => vec![creds],
            None => {
                return Err(ApiError::new(
                    ErrorCode::PlatformNotConfigured,
                    "the app's own platform credentials that minted the grant are removed or cannot be opened",
                ))
            }
        },
    })
}

/// [`revoke`] with `clients`, the clients that may have issued the tokens, first tried first.
async fn revoke_through(ctx: &Ctx, g: &Grant<'_>, clients: &[ClientCredentials], cause: RevokeCause) -> ApiResult<()> {
    let Some(creds) = clients.first() else { return Ok(()) };
    let token = token_to_revoke(g.platform, g.access.secret(), g.refresh.map(RefreshToken::secret));
    if revoke_request(g.platform, creds, token).is_none() {
        return Ok(());
    }
    let others_hold = match g.account {
        Some(account) => {
            let issuer = same_client_platforms(ctx, g.platform, &creds.client_id, g.own.is_some());
            let except = g.grant_id.unwrap_or("");
            Some(store::others_hold_login(&ctx.db()?, &issuer, &creds.client_id, account, except).await?)
        }
        None => None,
    };
    if !may_revoke(g.platform.revoke_reach, others_hold, cause == RevokeCause::Deleting) {
        let why = if others_hold == Some(true) {
            "another grant holds this login"
        } else {
            "the account is unknown and this platform's revoke ends every grant of it"
        };
        crate::log::info(
            &object!("event": "revoke_skipped", "platform": g.platform.id, "grant_id": g.grant_id, "why": why),
        );
        return Ok(());
    }
    for creds in clients {
        let Some(req) = revoke_request(g.platform, creds, token) else { break };
        // A Mastodon instance answers 403 to a client that did not issue the token: the next
        // client registered there may have (see `instances::revoke_credentials`).
        match fetch::send(&req, &g.platform.id, g.grant_id, ctx.timeout_ms()).await {
            Ok(resp) if revoke_settled(g.platform, resp.status, &resp.body) => return Ok(()),
            Ok(resp) if resp.status == 403 => continue,
            Ok(_) => return Err(ApiError::upstream("the platform did not revoke the grant")),
            Err(_) => return Err(ApiError::upstream("the platform's revoke endpoint did not answer")),
        }
    }
    // Every client was refused: none of ours issued it as far as the platform says, and the
    // grant may still be live (a client since forgotten): not settled.
    Err(ApiError::upstream("every client was refused the revocation"))
}

/// Revokes a stored grant at the platform where allowed (best effort, see `revoke`).
pub async fn revoke_grant(ctx: &Ctx, grant: &GrantRow, cols: &store::TokenColumns) {
    revoke_stored(ctx, grant, cols, None).await
}

/// Revokes at the platform, after the answer and best effort, what a removal of an app's
/// credentials took out of use: the grants a forced removal ended and the open account
/// choices it dropped, each with the client that minted it (`crate::credentials::remove`
/// read it before deleting the row the grant's `credential_ref` names).
pub async fn revoke_removed(ctx: &Ctx, removed: crate::credentials::Removed) {
    if removed.grants.is_empty() && removed.choices.is_empty() {
        return;
    }
    let job_ctx = ctx.detached();
    ctx.after_answer(async move {
        for e in removed.grants {
            revoke_stored(&job_ctx, &e.grant, &e.cols, Some(vec![e.creds])).await;
        }
        let Ok(platform) = job_ctx.platform(&removed.platform) else { return };
        for d in removed.choices {
            let c = &d.choice;
            let g = Grant {
                platform,
                access: &c.access_token,
                refresh: c.refresh_token.as_ref(),
                // Held before the identity call told the login: an unknown account.
                account: Some(c.login.platform_user_id.as_str()).filter(|l| !l.is_empty()),
                grant_id: None,
                own: OwnRef::of(&removed.app_id, c.credential_ref.as_deref()),
            };
            if revoke_through(&job_ctx, &g, &[d.creds], RevokeCause::FailedConnect).await.is_err() {
                crate::log::error(&object!("event": "revoke_failed", "link_id": d.link_id));
            }
        }
    })
    .await;
}

/// Revokes a stored grant with `clients`, or those that may have issued it when `None`.
async fn revoke_stored(
    ctx: &Ctx,
    grant: &GrantRow,
    cols: &store::TokenColumns,
    clients: Option<Vec<ClientCredentials>>,
) {
    let Some(platform) = ctx.platform_at(&cols.platform, grant.instance.as_deref()) else { return };
    let platform = &platform;
    let Ok(keyring) = ctx.keyring() else { return };
    let Some((access, refresh)) = cols.open(&keyring) else { return };
    let g = Grant {
        platform,
        access: &access,
        refresh: refresh.as_ref(),
        account: Some(&grant.platform_user_id),
        grant_id: Some(&grant.id),
        own: OwnRef::of(&grant.app_id, grant.credential_ref.as_deref()),
    };
    let done = match clients {
        Some(clients) => revoke_through(ctx, &g, &clients, RevokeCause::Deleting).await,
        None => revoke(ctx, &g, RevokeCause::Deleting).await,
    };
    if done.is_err() {
        crate::log::error(&object!("event": "revoke_failed", "grant_id": grant.id));
    }
}
