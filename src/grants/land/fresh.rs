//! A grant a connect obtained but did not store: revoked at the platform (where that ends
//! no other grant) when the connect fails after the code exchange, when a picker's choice is
//! declined, or when the cron finds an account-choice row left holding it.

use super::outcome::log_failure;
use crate::credentials::OwnRef;
use crate::ctx::Ctx;
use crate::grants::{revoke, Grant, RevokeCause};
use connect_links_core::picker::Choice;
use connect_links_core::platforms::Platform;
use connect_links_core::secrets::{AccessToken, RefreshToken};
use connect_links_core::token::TokenSet;

/// A grant a failed connect obtained, owned so it can be revoked after the answer.
pub struct FreshGrant {
    platform: Platform,
    access: AccessToken,
    refresh: Option<RefreshToken>,
    /// The platform login, when the identity call told it.
    account: Option<String>,
    /// The app and its own credentials (`pcr_...`) that minted it; `None`: the deployment's.
    own: Option<(String, String)>,
}

impl FreshGrant {
    /// A grant just obtained for `account` (posted credentials whose connect then failed).
    pub fn new(platform: &Platform, access: AccessToken, refresh: Option<RefreshToken>, account: &str) -> FreshGrant {
        FreshGrant { platform: platform.clone(), access, refresh, account: Some(account.to_string()), own: None }
    }
    /// The grant of a code exchange's `tokens`, for the login `account` when the identity
    /// call told it.
    pub fn of_tokens(platform: &Platform, tokens: &TokenSet, account: Option<String>) -> FreshGrant {
        FreshGrant {
            platform: platform.clone(),
            access: tokens.access_token.clone(),
            refresh: tokens.refresh_token.clone(),
            account,
            own: None,
        }
    }
    /// The same grant, minted with `app_id`'s own credentials `credential_ref` when given
    /// (revoked with them).
    pub fn minted_by(self, app_id: &str, credential_ref: Option<&str>) -> FreshGrant {
        FreshGrant { own: credential_ref.map(|r| (app_id.to_string(), r.to_string())), ..self }
    }
    /// The grant held by a choice of `app_id`'s link that will not be stored.
    pub fn of_choice(platform: &Platform, app_id: &str, c: &Choice) -> FreshGrant {
        FreshGrant {
            platform: platform.clone(),
            access: c.access_token.clone(),
            refresh: c.refresh_token.clone(),
            // Held before the identity call told the login: an unknown account.
            account: Some(c.login.platform_user_id.clone()).filter(|l| !l.is_empty()),
            own: None,
        }
        .minted_by(app_id, c.credential_ref.as_deref())
    }
    /// Revokes it where that ends no other grant (logged); whether that is settled (see
    /// [`revoke`]): when not, a row holding the grant is kept for the cron's retry.
    pub async fn revoke(self, ctx: &Ctx, link_id: &str) -> bool {
        let grant = Grant {
            platform: &self.platform,
            access: &self.access,
            refresh: self.refresh.as_ref(),
            account: self.account.as_deref(),
            grant_id: None,
            own: self.own.as_ref().map(|(app_id, r)| OwnRef { app_id, credential_ref: r }),
        };
        let settled = revoke(ctx, &grant, RevokeCause::FailedConnect).await.is_ok();
        if !settled {
            log_failure(&self.platform.id, link_id, "revoke", "the fresh grant could not be revoked");
        }
        settled
    }
}
