//! How a callback ends: the final redirect to the app, success or one failure code.

use crate::redirect::with_params;

/// The failure codes of the final redirect (api.md section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackFailure {
    /// The user declined, or the platform refused the authorization.
    AccessDenied,
    /// The token endpoint refused the code or answered badly.
    ExchangeFailed,
    /// The user declined a scope the app asked for.
    MissingScopes,
    /// The identity call failed, or a reconnect came back as another account.
    ProfileFailed,
    /// The account is already connected in this app by another of the app's users.
    AccountConnectedElsewhere,
    /// The login has no account to connect (a Facebook login without Pages).
    NoAccounts,
    /// Anything on our side.
    ServerError,
    /// The link's `redirect_url` left the app's allowlist after the link was made. Recorded
    /// on the link and in `connect_link.failed`; never on a redirect, since there is none.
    RedirectNotAllowed,
}

impl CallbackFailure {
    /// The code on the redirect.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackFailure::AccessDenied => "access_denied",
            CallbackFailure::ExchangeFailed => "exchange_failed",
            CallbackFailure::MissingScopes => "missing_scopes",
            CallbackFailure::ProfileFailed => "profile_failed",
            CallbackFailure::AccountConnectedElsewhere => "account_connected_elsewhere",
            CallbackFailure::NoAccounts => "no_accounts",
            CallbackFailure::ServerError => "server_error",
            CallbackFailure::RedirectNotAllowed => "redirect_not_allowed",
        }
    }

    /// Maps a platform's `error=` parameter. The platform's own text is never passed on:
    /// outages become `server_error`, everything else `access_denied`.
    pub fn from_platform_error(error: &str) -> Self {
        match error {
            "server_error" | "temporarily_unavailable" => CallbackFailure::ServerError,
            _ => CallbackFailure::AccessDenied,
        }
    }
}

/// The path of the hosted callback: `/oauth/callback`, or, for a platform whose accounts live
/// on servers of their own (a Mastodon instance), `/oauth/callback/<platform>/<instance>`.
/// Each instance's client is registered with its own path, so the instance sends its codes
/// back on that path only; with [`arrived_where_sent`], a state issued for one instance can
/// never spend a code another instance issued (the mix-up attack, RFC 9700 section 4.4:
/// distinct redirect URIs per authorization server, since Mastodon sends no `iss`).
/// `instance` must come from `crate::host::public_host` (a DNS name: nothing to escape).
pub fn callback_path(platform: &str, instance: Option<&str>) -> String {
    match instance {
        Some(host) => format!("/oauth/callback/{platform}/{host}"),
        None => "/oauth/callback".to_string(),
    }
}

/// Whether a callback that arrived on `path` came back where its authorization request sent
/// it: the path of the `redirect_uri` its state was issued with.
pub fn arrived_where_sent(redirect_uri: &str, path: &str) -> bool {
    url::Url::parse(redirect_uri).is_ok_and(|u| u.path() == path)
}

/// How a callback that got this far ended, for the final redirect.
pub enum Ending<'a> {
    /// Connected: every profile (the first chosen first), and the one-time `connect_token`
    /// when the app must claim.
    Connected { profile_ids: &'a [String], connect_token: Option<&'a str> },
    /// Failed with a code.
    Failed(CallbackFailure),
}

/// The most profile ids a final redirect lists in `profile_ids`: a login with hundreds of
/// Pages would make a URL that app servers refuse (most cap a request line at 8 KiB). Past
/// it, `profile_ids` is left out and the app reads them from the claim's answer or
/// `GET /v1/connect-links/{id}`; `profile_id` (the first) is always there.
pub const MAX_REDIRECT_PROFILE_IDS: usize = 50;

/// The final redirect of a link: its `redirect_url` with its own query kept, then the
/// outcome, then the app's `state` when it gave one.
pub fn final_redirect(
    redirect_url: &str,
    platform: &str,
    link_id: &str,
    app_state: Option<&str>,
    ending: Ending<'_>,
) -> Option<String> {
    let joined = match &ending {
        Ending::Connected { profile_ids, .. } => profile_ids.join(","),
        Ending::Failed(_) => String::new(),
    };
    let mut params: Vec<(&str, &str)> = match &ending {
        Ending::Connected { profile_ids, .. } => {
            let mut p = vec![
                ("connected", "true"),
                ("profile_id", profile_ids.first().map(String::as_str).unwrap_or_default()),
            ];
            if profile_ids.len() <= MAX_REDIRECT_PROFILE_IDS {
                p.push(("profile_ids", &joined));
            }
            p
        }
        Ending::Failed(f) => vec![("connected", "false"), ("error", f.as_str())],
    };
    params.push(("platform", platform));
    params.push(("link_id", link_id));
    if let Some(s) = app_state {
        params.push(("state", s));
    }
    if let Ending::Connected { connect_token: Some(t), .. } = ending {
        params.push(("connect_token", t));
    }
    with_params(redirect_url, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_redirect() {
        let one = vec!["prf_1".to_string()];
        let ok = Ending::Connected { profile_ids: &one, connect_token: None };
        let u = final_redirect("https://a/cb?t=1", "sandbox", "cl_1", Some("xyz"), ok).unwrap();
        assert_eq!(
            u,
            "https://a/cb?t=1&connected=true&profile_id=prf_1&profile_ids=prf_1&platform=sandbox&link_id=cl_1&state=xyz"
        );
        let two = vec!["prf_1".to_string(), "prf_2".to_string()];
        let claim = Ending::Connected { profile_ids: &two, connect_token: Some("ct") };
        let u = final_redirect("https://a/cb", "sandbox", "cl_1", None, claim).unwrap();
        assert_eq!(
            u,
            "https://a/cb?connected=true&profile_id=prf_1&profile_ids=prf_1%2Cprf_2&platform=sandbox&link_id=cl_1&connect_token=ct"
        );
    }

    #[test]
    fn a_redirect_lists_at_most_fifty_profile_ids() {
        let ids: Vec<String> = (0..MAX_REDIRECT_PROFILE_IDS).map(|i| format!("prf_{i}")).collect();
        let ok = Ending::Connected { profile_ids: &ids, connect_token: None };
        let u = final_redirect("https://a/cb", "facebook", "cl_1", None, ok).unwrap();
        assert!(u.contains("&profile_ids=prf_0%2Cprf_1%2C"), "{u}");
        let more: Vec<String> = (0..=MAX_REDIRECT_PROFILE_IDS).map(|i| format!("prf_{i}")).collect();
        let ok = Ending::Connected { profile_ids: &more, connect_token: Some("ct") };
        let u = final_redirect("https://a/cb", "facebook", "cl_1", None, ok).unwrap();
        assert_eq!(u, "https://a/cb?connected=true&profile_id=prf_0&platform=facebook&link_id=cl_1&connect_token=ct");
    }

    #[test]
    fn failure_redirect_without_state() {
        let u = final_redirect("https://a/cb", "sandbox", "cl_1", None, Ending::Failed(CallbackFailure::AccessDenied))
            .unwrap();
        assert_eq!(u, "https://a/cb?connected=false&error=access_denied&platform=sandbox&link_id=cl_1");
    }

    #[test]
    fn a_state_is_spent_only_on_the_path_it_was_sent_to() {
        assert_eq!(callback_path("x", None), "/oauth/callback");
        let masto = callback_path("mastodon", Some("mastodon.social"));
        assert_eq!(masto, "/oauth/callback/mastodon/mastodon.social");
        let sent = format!("https://w.example{masto}");
        assert!(arrived_where_sent(&sent, "/oauth/callback/mastodon/mastodon.social"));
        assert!(!arrived_where_sent(&sent, "/oauth/callback/mastodon/evil.example"), "another instance's path");
        assert!(!arrived_where_sent(&sent, "/oauth/callback"), "the shared path");
        assert!(arrived_where_sent("https://w.example/oauth/callback", "/oauth/callback"));
        assert!(!arrived_where_sent("https://w.example/oauth/callback", "/oauth/callback/mastodon/mastodon.social"));
        assert!(!arrived_where_sent("not a url", "/oauth/callback"));
    }

    #[test]
    fn platform_errors_are_not_passed_on() {
        assert_eq!(CallbackFailure::from_platform_error("access_denied"), CallbackFailure::AccessDenied);
        assert_eq!(CallbackFailure::from_platform_error("<script>"), CallbackFailure::AccessDenied);
        assert_eq!(CallbackFailure::from_platform_error("temporarily_unavailable"), CallbackFailure::ServerError);
    }
}
