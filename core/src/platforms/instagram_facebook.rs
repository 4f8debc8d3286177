//! Instagram API with Facebook Login: Instagram professional accounts reached through the
//! Facebook Pages they are linked to (the flow of most existing Meta Business apps). Login,
//! tokens and revocation are Facebook's (see `facebook.rs`); the accounts are the
//! `instagram_business_account` of each Page, each acting with its Page's token.
//!
//! Facts checked 2026-11-30 against
//! https://developers.facebook.com/documentation/instagram-platform/instagram-api-with-facebook-login/get-started
//! (permissions `instagram_basic`, `pages_show_list`, ...; the person must perform tasks on the
//! Page linked to the Instagram account),
//! https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/page
//! (`instagram_business_account` of a Page, with `instagram_basic` and `pages_show_list`),
//! https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media_publish
//! (`instagram_content_publish`, `pages_read_engagement`; Page Publishing Authorization),
//! https://developers.facebook.com/docs/graph-api/reference/user/accounts/ (`business_management`
//! for Pages reached through a business) and
//! https://developers.facebook.com/docs/pages/access-tokens/ (Page tokens from a long-lived
//! User token do not expire).
//!
//! The proxy's publishing limit checked 2026-11-30 against
//! https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media_publish
//! ("50 posts within a 24 hour moving period").

use super::facebook;
use super::proxy_spec::{BudgetRule, Scope};
use super::types::{AccountSource, Platform};

/// The fields asked of each Page: its linked Instagram account (nested), its token and name.
pub const PAGE_FIELDS: &str = "instagram_business_account{id,username,name,profile_picture_url},access_token,name";

/// The `instagram_facebook` platform: Facebook's endpoints and quirks, Instagram's scopes.
pub fn platform() -> Platform {
    let fb = facebook::platform();
    Platform {
        id: "instagram_facebook".into(),
        name: "Instagram (through Facebook Login)".into(),
        default_scopes: vec![
            "instagram_basic".into(),
            "instagram_content_publish".into(),
            "pages_show_list".into(),
            "pages_read_engagement".into(),
            // Without it /me/accounts leaves out Pages the person reaches through a business.
            "business_management".into(),
        ],
        accounts: AccountSource::InstagramViaPages,
        // An Instagram professional account publishes at most 50 posts in a moving 24 hours.
        proxy: facebook::graph_proxy(
            &["graph-video.facebook.com"],
            vec![BudgetRule::new("POST */media_publish", Scope::Profile, 50, 86_400)],
        ),
        accounts_url: Some(facebook::me_accounts_url(PAGE_FIELDS)),
        docs_url:
            "https://developers.facebook.com/documentation/instagram-platform/instagram-api-with-facebook-login/get-started"
                .into(),
        checked_on: "2026-11-30".into(),
        ..fb
    }
}
