//! The account picker: when a login has several accounts and the link asks to
//! pick, the hosted callback shows this page instead of redirecting. What waits for the
//! choice is sealed in D1 ([`Choice`]); the page is bound to the link, to the browser (a
//! cookie) and to a one-time form token.

use crate::accounts::Account;
use crate::html::policy_with_form_targets;
use crate::i18n::Messages;
use crate::pages::{initial, page, Brand, PlatformMark};
use crate::random::hex;
use crate::secrets::{AccessToken, RefreshToken};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long the user has to choose.
pub const CHOICE_TTL_SECS: i64 = 600;
/// The cookie that binds the picker to the browser it was shown to.
pub const CHOICE_COOKIE: &str = "cl_choice";
/// The envelope field of a sealed choice (associated data `"<link id>:account_choice"`).
pub const CHOICE_FIELD: &str = "account_choice";

/// What waits for the user's choice: the exchanged grant and every account offered, with
/// their tokens. Only ever stored sealed; `Debug` is not derived (it holds tokens).
#[derive(Serialize, Deserialize)]
pub struct Choice {
    /// The login's access token (stored as its bare string, inside the sealed choice).
    #[serde(with = "crate::secrets::sealed_field")]
    pub access_token: AccessToken,
    /// The login's refresh token.
    #[serde(with = "crate::secrets::sealed_optional_field", default)]
    pub refresh_token: Option<RefreshToken>,
    /// Seconds, from the token answer.
    pub expires_in: Option<i64>,
    /// Seconds, from the token answer.
    pub refresh_expires_in: Option<i64>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The optional scopes the user declined (shown on the profiles as `declined_scopes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declined: Vec<String>,
    /// The login.
    pub login: Account,
    /// Every account offered, in the platform's order.
    pub accounts: Vec<Account>,
    /// Every account the platform listed (to find the ones that vanished).
    pub listed: Vec<String>,
    /// Whether that listing was whole (not cut at a page limit): only then are profiles of
    /// accounts missing from it ended as `account_removed`.
    #[serde(default)]
    pub listed_complete: bool,
    /// When the tokens were issued (epoch seconds): lifetimes count from there.
    #[serde(default)]
    pub issued_at: i64,
    /// The app's own platform credentials that minted the tokens (`pcr_...`), recorded on
    /// the grant when it lands; `None`: the deployment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ref: Option<String>,
}

/// The key an open choice is found by when its login lets go of the app (a deauthorization
/// or deletion request): SHA-256 (hex) of `<platform>:<login>` for the deployment's platform
/// app, of `<credential_ref>|<platform>:<login>` for an app's own (`pcr_...`), whose logins
/// are its own (a platform scopes user ids to its app). Platform ids hold no `|`, so the two
/// never meet.
pub fn login_key(platform: &str, login: &str, credential_ref: Option<&str>) -> String {
    let text = match credential_ref {
        None => format!("{platform}:{login}"),
        Some(r) => format!("{r}|{platform}:{login}"),
    };
    hex(&Sha256::digest(text.as_bytes()))
}

/// SHA-256 (hex) of a form token or cookie value: D1 holds only these.
pub fn choice_hash(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// The `Set-Cookie` value binding the picker to this browser: only sent back to the
/// picker's own form route, never readable by script, never sent from another site.
pub fn choice_cookie(value: &str, link_id: &str, secure: bool) -> String {
    crate::cookie::strict_cookie(CHOICE_COOKIE, value, &format!("/connect/{link_id}/accounts"), CHOICE_TTL_SECS, secure)
}

/// The cookie's value in a `Cookie` header, if it is there.
pub fn cookie_value(header: Option<&str>) -> Option<&str> {
    crate::cookie::named_cookie(header, CHOICE_COOKIE)
}

fn type_key(a: &Account) -> &'static str {
    match a.account_type {
        crate::accounts::AccountType::User => "picker.type.user",
        crate::accounts::AccountType::Page => "picker.type.page",
        crate::accounts::AccountType::Organization => "picker.type.organization",
        crate::accounts::AccountType::InstagramBusiness => "picker.type.instagram",
    }
}

/// The picker page: one checkbox per account (picture, name, type), one button, naming the
/// app (`brand`) and the platform. Accounts already connected to this app (`preselect`)
/// start checked; with none, all do.
pub fn picker_page(
    brand: &Brand,
    msgs: &Messages,
    platform: &PlatformMark,
    action: &str,
    form_token: &str,
    accounts: &[Account],
    preselect: &[String],
) -> String {
    let lead = msgs.f("picker.lead", &[("app", brand.name(msgs)), ("platform", &platform.name)]);
    let body = html! {
        h1 { (msgs.t("picker.heading")) }
        p { (lead) }
        form method="post" action=(action) {
            input type="hidden" name="form_token" value=(form_token);
            fieldset class="accounts" {
                legend { (msgs.t("picker.accounts")) }
                @for a in accounts {
                    (account_row(msgs, a, preselect.is_empty() || preselect.contains(&a.platform_user_id)))
                }
            }
            div class="actions" {
                button type="submit" class="primary" { (msgs.t("picker.connect")) }
            }
        }
    };
    page(brand, msgs, Some(platform), msgs.t("picker.page_title"), body)
}

/// One account of the picker: its checkbox, picture, name, handle, type and parent.
fn account_row(msgs: &Messages, a: &Account, checked: bool) -> Markup {
    let name = a.display_name.as_deref().or(a.username.as_deref()).unwrap_or(&a.platform_user_id);
    let handle = match (&a.username, &a.display_name) {
        (Some(u), Some(_)) => Some(u),
        _ => None,
    };
    let parent = a.parent.as_ref().and_then(|p| p.name.as_deref());
    // Only https pictures load under the picker's policy; anything else is left out.
    let picture = a.avatar_url.as_deref().filter(|u| u.starts_with("https://"));
    html! {
        label class="account" {
            input type="checkbox" name="account" value=(a.platform_user_id) checked[checked];
            @if let Some(src) = picture {
                img class="avatar" src=(src) alt="" width="40" height="40";
            } @else {
                span class="avatar monogram" aria-hidden="true" { (initial(name)) }
            }
            span class="who" {
                b { (name) }
                @if let Some(u) = handle { " " small { "@" (u) } }
                br;
                small { (msgs.t(type_key(a))) }
                @if let Some(p) = parent { small { " · " (msgs.f("picker.through", &[("name", p)])) } }
            }
        }
    }
}

/// The picker's page policy: the consent pages' policy (its form may end, through
/// redirects, at `form_ends`), with the accounts' https pictures allowed besides this
/// worker's own images: the platform names where they are, and the user has just signed in
/// there (the page sends no Referer).
pub fn picker_policy(form_ends: &[&str]) -> String {
    policy_with_form_targets(form_ends).replacen("img-src 'self';", "img-src 'self' https:;", 1)
}

/// The accounts a submitted picker form chose, in the order offered; unknown ids are
/// ignored (the form is the client's).
pub fn chosen<'a>(offered: &'a [Account], form: &[(String, String)]) -> Vec<&'a Account> {
    let picked: Vec<&str> = form.iter().filter(|(k, _)| k == "account").map(|(_, v)| v.as_str()).collect();
    offered.iter().filter(|a| picked.contains(&a.platform_user_id.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{AccountType, Parent};

    fn acct(id: &str, name: &str, t: AccountType) -> Account {
        Account {
            platform_user_id: id.into(),
            account_type: t,
            username: None,
            display_name: Some(name.into()),
            avatar_url: Some("https://cdn.example/a.jpg".into()),
            parent: None,
            own_token: Some("PAGE-TOKEN-SECRET".into()),
        }
    }

    #[test]
    fn page_escapes_names_and_never_shows_tokens() {
        let mut ig = acct("17841", "<script>x</script>", AccountType::InstagramBusiness);
        ig.parent = Some(Parent { id: "p1".into(), name: Some("Shop \"A\"".into()), kind: AccountType::Page });
        ig.avatar_url = Some("javascript:alert(1)".into());
        let html = picker_page(
            &Brand::named("Acme"),
            &Messages::english(),
            &PlatformMark { name: "Facebook".into(), icon_url: None },
            "/connect/cl_1/accounts",
            "tok\"en",
            &[acct("p1", "Page", AccountType::Page), ig],
            &[],
        );
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;") && !html.contains("<script>"));
        assert!(html.contains("through Shop &quot;A&quot;"));
        assert!(html.contains("value=\"tok&quot;en\""));
        assert!(!html.contains("PAGE-TOKEN-SECRET"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains("<img class=\"avatar\" src=\"https://cdn.example/a.jpg\""));
        assert_eq!(html.matches(" checked>").count(), 2);
    }

    #[test]
    fn preselection_and_choice() {
        let offered = vec![acct("a", "A", AccountType::User), acct("b", "B", AccountType::Page)];
        let mark = PlatformMark { name: "Sandbox".into(), icon_url: None };
        let html = picker_page(&Brand::default(), &Messages::english(), &mark, "/x", "t", &offered, &["b".into()]);
        assert!(html.contains("value=\"b\" checked") && !html.contains("value=\"a\" checked"));
        let form = vec![("account".to_string(), "b".to_string()), ("account".into(), "zzz".into())];
        let picked: Vec<&str> = chosen(&offered, &form).iter().map(|a| a.platform_user_id.as_str()).collect();
        assert_eq!(picked, vec!["b"]);
    }

    #[test]
    fn cookie_is_scoped_and_read_back() {
        let c = choice_cookie("v4lue", "cl_1", true);
        assert!(c.contains("Path=/connect/cl_1/accounts") && c.contains("HttpOnly") && c.contains("SameSite=Strict"));
        assert!(c.ends_with("; Secure"));
        assert!(!choice_cookie("v", "cl_1", false).contains("Secure"));
        assert_eq!(cookie_value(Some("a=b; cl_choice=v4lue; c=d")), Some("v4lue"));
        assert_eq!(cookie_value(Some("cl_choicex=v")), None);
        assert_eq!(cookie_value(None), None);
    }

    #[test]
    fn policy_allows_https_pictures_only() {
        let p = picker_policy(&["https://app.example/cb"]);
        assert!(p.starts_with("default-src 'none'; style-src 'self'; img-src 'self' https:;"), "{p}");
        assert!(p.contains("form-action 'self' https://app.example"));
        assert!(p.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn login_key_is_per_platform_app() {
        // The deployment's key is the one stored before apps brought their own credentials.
        assert_eq!(login_key("facebook", "10", None), hex(&Sha256::digest(b"facebook:10")));
        let own = login_key("facebook", "10", Some("pcr_a"));
        assert_ne!(own, login_key("facebook", "10", None));
        assert_ne!(own, login_key("facebook", "10", Some("pcr_b")));
        assert_eq!(own, login_key("facebook", "10", Some("pcr_a")));
    }
}
