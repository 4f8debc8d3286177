//! The sandbox platform's own logic (its consent page and checks); the worker glue stores
//! its codes and tokens in D1.

use crate::envelope::{hmac_sha256, DerivedKey};
use crate::i18n::Messages;
use crate::pages::{page, Brand, PlatformMark};
use crate::random::{b64url, b64url_decode, ct_eq, hex};
use crate::redirect::is_allowed;
use maud::html;
use sha2::{Digest, Sha256};

/// What [`crate::envelope::Keyring::derive`] derives the consent form's CSRF key for.
pub const CSRF_PURPOSE: &str = "sandbox-csrf";
/// How long a consent form can be submitted: as long as the worker's state lives.
pub const CONSENT_TTL_SECS: i64 = 600;

/// Why a consent form's CSRF token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfProblem {
    /// The form carries no token.
    Missing,
    /// Not a token, or not one issued for this authorization request.
    Invalid,
    /// Issued more than [`CONSENT_TTL_SECS`] ago.
    Expired,
}

impl CsrfProblem {
    /// The sentence for the error page.
    pub fn message(self) -> &'static str {
        match self {
            CsrfProblem::Missing | CsrfProblem::Invalid => {
                "This consent form was not issued for this authorization request. Start again from the app."
            }
            CsrfProblem::Expired => "This consent form is older than 10 minutes. Start again from the app.",
        }
    }
}

/// The authorization request the consent page carries through its form.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    /// Must be the sandbox client id.
    pub client_id: String,
    /// Where the decision goes.
    pub redirect_uri: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Passed back untouched.
    pub state: String,
    /// The PKCE S256 challenge (required).
    pub code_challenge: String,
    /// Must be `S256`.
    pub code_challenge_method: String,
}

impl AuthorizeRequest {
    /// Reads the request from query or form pairs.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        AuthorizeRequest {
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            scope: get("scope"),
            state: get("state"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
        }
    }

    /// What is wrong with the request, checked before any redirect to `redirect_uri`. The
    /// sandbox enforces PKCE S256, as strict platforms do.
    pub fn problem(&self, response_type: &str) -> Option<&'static str> {
        let redirect_ok = url::Url::parse(&self.redirect_uri)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none())
            .unwrap_or(false);
        if self.client_id != crate::platforms::sandbox::CLIENT_ID {
            Some("unknown client_id")
        } else if !redirect_ok {
            Some("redirect_uri must be an absolute http(s) URL")
        } else if response_type != "code" {
            Some("response_type must be code")
        } else if self.code_challenge.len() != 43 || self.code_challenge_method != "S256" {
            Some("a PKCE S256 code_challenge is required")
        } else if self.state.is_empty() {
            Some("state is required")
        } else {
            None
        }
    }

    /// The CSRF token of this request's consent form: `<issued_at>.<base64url MAC>`, the MAC
    /// an HMAC-SHA256 under `key` over the issue time and every field of the request
    /// (scope: the requested one). A form posted from anywhere but a consent page served
    /// for this very request (same state, challenge, redirect and scopes) carries no valid
    /// one, and a page's token ends with the state's 10 minutes. Nothing is stored.
    pub fn csrf_token(&self, key: &DerivedKey, issued_at: i64) -> String {
        format!("{issued_at}.{}", b64url(&self.csrf_mac(key, issued_at)))
    }

    fn csrf_mac(&self, key: &DerivedKey, issued_at: i64) -> [u8; 32] {
        // A JSON array keeps the fields apart (no separator a value could forge).
        let bound = serde_json::json!([
            issued_at,
            self.client_id,
            self.redirect_uri,
            self.scope,
            self.state,
            self.code_challenge,
            self.code_challenge_method
        ]);
        hmac_sha256(key.secret(), bound.to_string().as_bytes())
    }

    /// Checks a posted CSRF token against this request (with its requested scope) at `now`.
    pub fn check_csrf(&self, key: &DerivedKey, token: Option<&str>, now: i64) -> Result<(), CsrfProblem> {
        let token = token.filter(|t| !t.is_empty()).ok_or(CsrfProblem::Missing)?;
        let (issued, mac) = token.split_once('.').ok_or(CsrfProblem::Invalid)?;
        let issued_at: i64 = issued.parse().map_err(|_| CsrfProblem::Invalid)?;
        let mac = b64url_decode(mac).ok_or(CsrfProblem::Invalid)?;
        if !ct_eq(&mac, &self.csrf_mac(key, issued_at)) {
            return Err(CsrfProblem::Invalid);
        }
        // Checked after the MAC, so only a genuine token is called expired; a minute of
        // clock skew between isolates is tolerated the other way.
        if now.saturating_sub(issued_at) > CONSENT_TTL_SECS || issued_at > now.saturating_add(60) {
            return Err(CsrfProblem::Expired);
        }
        Ok(())
    }

    /// The consent page with Approve and Deny buttons, naming the app (`brand`) and the
    /// platform; each requested scope is a checkbox, so a user can decline one. The form
    /// carries the request, its requested scopes and its CSRF token
    /// ([`AuthorizeRequest::csrf_token`]).
    pub fn consent_page(&self, csrf_token: &str, brand: &Brand, msgs: &Messages, platform: &PlatformMark) -> String {
        let hidden = [
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", &self.redirect_uri),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("requested_scope", &self.scope),
            ("csrf_token", csrf_token),
        ];
        let args = [("app", brand.name(msgs)), ("platform", platform.name.as_str())];
        let heading = msgs.f("consent.heading", &args);
        let body = html! {
            h1 { (heading) }
            p class="note" { (msgs.t("consent.sandbox_note")) }
            form method="post" action="authorize" {
                @for (k, v) in hidden {
                    input type="hidden" name=(k) value=(v);
                }
                div class="field" {
                    label for="username" { (msgs.t("consent.account_label")) }
                    input type="text" id="username" name="username" value="sandbox-user" pattern="[a-z0-9_.\\-]{1,32}"
                        required autocomplete="username" aria-describedby="username-hint";
                    p class="hint" id="username-hint" { (msgs.t("consent.account_hint")) }
                }
                fieldset {
                    legend { (msgs.t("consent.permissions")) }
                    p class="hint" { (msgs.t("consent.permissions_hint")) }
                    @for s in self.scope.split(' ').filter(|s| !s.is_empty()) {
                        label class="check" {
                            input type="checkbox" name="scope" value=(s) checked;
                            " " code { (s) }
                        }
                    }
                }
                div class="actions" {
                    button type="submit" name="decision" value="approve" class="primary" { (msgs.t("consent.approve")) }
                    button type="submit" name="decision" value="deny" formnovalidate { (msgs.t("consent.deny")) }
                }
            }
        };
        page(brand, msgs, Some(platform), &msgs.f("consent.page_title", &args), body)
    }
}

/// Why the sandbox refuses a `redirect_uri` it could otherwise parse.
pub const REDIRECT_NOT_ALLOWED: &str =
    "redirect_uri is neither this worker's /oauth/callback nor an allowed redirect URL of any app";

/// Whether the sandbox may send a decision (code or error) to `redirect_uri`: exactly this
/// worker's own callback, or a URL that an app's allowlist allows (links with
/// `"callback": "app"` send their `redirect_url`). The sandbox is a test platform, not an
/// open redirector, even when it is on.
pub fn redirect_allowed(redirect_uri: &str, own_callback: &str, allowlist: &[String]) -> bool {
    let own = match (url::Url::parse(redirect_uri), url::Url::parse(own_callback)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    own || is_allowed(redirect_uri, allowlist)
}

/// Whether a sandbox account name is acceptable: `[a-z0-9_.-]{1,32}`.
pub fn valid_username(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'))
}

/// The stable account id of a sandbox account name: the same name is the same account.
pub fn user_id(name: &str) -> String {
    format!("sbx_{}", &hex(&Sha256::digest(format!("sandbox-user:{name}").as_bytes()))[..16])
}

/// The Pages every sandbox account manages (two, so a newcomer sees the account picker).
pub const PAGES_PER_ACCOUNT: usize = 2;

/// The stable id of a sandbox account's Page `n` (1-based).
pub fn page_id(name: &str, n: usize) -> String {
    format!("sbp_{}", &hex(&Sha256::digest(format!("sandbox-page:{name}:{n}").as_bytes()))[..16])
}

/// The name of a sandbox account's Page `n`.
pub fn page_name(name: &str, n: usize) -> String {
    format!("{name}'s Page {n}")
}

/// How the sandbox stores a code or token: its SHA-256, never the value.
pub fn secret_hash(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: crate::platforms::sandbox::CLIENT_ID.into(),
            redirect_uri: "http://127.0.0.1:8787/oauth/callback".into(),
            scope: "profile.read offline.access".into(),
            state: "s\"t<".into(),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            code_challenge_method: "S256".into(),
        }
    }

    #[test]
    fn sandbox_requires_pkce_s256() {
        assert_eq!(req().problem("code"), None);
        let mut r = req();
        r.code_challenge_method = "plain".into();
        assert_eq!(r.problem("code"), Some("a PKCE S256 code_challenge is required"));
        let mut r = req();
        r.code_challenge.clear();
        assert!(r.problem("code").is_some());
        assert!(req().problem("token").is_some());
    }

    #[test]
    fn sandbox_redirects_only_to_our_callback_or_an_allowlisted_url() {
        let own = "http://127.0.0.1:8787/oauth/callback";
        let apps = vec!["https://app.example.com/cb".to_string()];
        assert!(redirect_allowed(own, own, &[]));
        assert!(redirect_allowed("https://app.example.com/cb?x=1", own, &apps));
        assert!(!redirect_allowed("https://evil.example/", own, &apps));
        assert!(!redirect_allowed("http://127.0.0.1:8787/oauth/callback/x", own, &apps));
        assert!(!redirect_allowed("http://127.0.0.1:8787/oauth/callbackx", own, &apps));
        assert!(!redirect_allowed("http://127.0.0.1:8788/oauth/callback", own, &apps));
        assert!(!redirect_allowed("https://app.example.com/cb-evil", own, &apps));
        assert!(!redirect_allowed("not a url", "not a url", &apps));
    }

    fn key(seed: u8) -> DerivedKey {
        let ring = crate::envelope::Keyring::parse(&format!("k1:{}", crate::random::b64(&[seed; 32]))).unwrap();
        ring.derive(CSRF_PURPOSE)
    }

    #[test]
    fn csrf_token_is_bound_to_the_request_the_key_and_the_time() {
        let (k, now) = (key(1), 1_700_000_000);
        let t = req().csrf_token(&k, now);
        assert_eq!(req().check_csrf(&k, Some(&t), now + 599), Ok(()));
        assert_eq!(req().check_csrf(&k, None, now), Err(CsrfProblem::Missing));
        assert_eq!(req().check_csrf(&k, Some(""), now), Err(CsrfProblem::Missing));
        assert_eq!(req().check_csrf(&k, Some("forged"), now), Err(CsrfProblem::Invalid));
        assert_eq!(req().check_csrf(&k, Some(&format!("{now}.AAAA")), now), Err(CsrfProblem::Invalid));
        assert_eq!(req().check_csrf(&key(2), Some(&t), now), Err(CsrfProblem::Invalid), "another key");
        assert_eq!(req().check_csrf(&k, Some(&t), now + 601), Err(CsrfProblem::Expired));
        // A later issue time on the same MAC is a forgery, not a fresher token.
        let (_, mac) = t.split_once('.').unwrap();
        assert_eq!(req().check_csrf(&k, Some(&format!("{}.{mac}", now + 500)), now + 700), Err(CsrfProblem::Invalid));
        for change in 0..6 {
            let mut other = req();
            match change {
                0 => other.client_id.push('x'),
                1 => other.redirect_uri.push('x'),
                2 => other.scope.push_str(" posts.write"),
                3 => other.state.push('x'),
                4 => other.code_challenge.replace_range(0..1, "F"),
                _ => other.code_challenge_method.push('x'),
            }
            assert_eq!(other.check_csrf(&k, Some(&t), now), Err(CsrfProblem::Invalid), "field {change}");
        }
    }

    #[test]
    fn consent_page_escapes_and_lists_scopes() {
        let html = req().consent_page(
            "1.tok",
            &Brand::named("Acme <Posts>"),
            &Messages::english(),
            &PlatformMark { name: "Sandbox".into(), icon_url: None },
        );
        assert!(html.contains("<h1>Acme &lt;Posts&gt; wants to use your Sandbox account</h1>"), "{html}");
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("value=\"s&quot;t&lt;\""));
        assert!(html.contains("value=\"offline.access\" checked"));
        assert!(html.contains(">Approve</button>") && html.contains(">Deny</button>"));
        assert!(html.contains("name=\"csrf_token\" value=\"1.tok\""));
        assert!(html.contains("name=\"requested_scope\" value=\"profile.read offline.access\""));
    }

    #[test]
    fn user_ids_are_stable_per_name() {
        assert_eq!(user_id("ada"), user_id("ada"));
        assert_ne!(user_id("ada"), user_id("bob"));
        assert!(valid_username("ada.l-1"));
        assert!(!valid_username("Ada"));
        assert!(!valid_username(""));
        assert_eq!(page_id("ada", 1), page_id("ada", 1));
        assert_ne!(page_id("ada", 1), page_id("ada", 2));
        assert_ne!(page_id("ada", 1), user_id("ada"));
    }
}
