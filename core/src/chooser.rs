//! The hosted chooser of a link offering several platforms (`platforms` on create), and the
//! forms that follow a choice: a Mastodon instance, Bluesky's handle and app password, an
//! API key: maud templates in the shared layout (`crate::pages`), their words from the
//! catalogs (`chooser.*`, `form.*`). The forms are bound to the browser that was
//! shown them: a cookie scoped to the link's path and a form token that is a MAC of the
//! link id and that cookie. Another site's page cannot post its own credentials into a
//! victim's open link (login CSRF): it can read neither the cookie nor the token.

use crate::envelope::{hmac_sha256, DerivedKey};
use crate::i18n::Messages;
use crate::pages::{initial, page, Brand, PlatformMark};
use crate::random::{b64url, ct_eq};
use maud::html;

/// What [`crate::envelope::Keyring::derive`] derives the form token's key for.
pub const FORM_PURPOSE: &str = "link-form";
/// The cookie binding a link's forms to one browser.
pub const LINK_COOKIE: &str = "cl_link";
/// How long the cookie lives: as long as a pending link.
pub const COOKIE_TTL_SECS: i64 = 600;

/// The form token of `link_id` for the browser holding cookie value `browser`.
pub fn form_token(key: &DerivedKey, link_id: &str, browser: &str) -> String {
    let msg = format!("{link_id}\n{browser}");
    b64url(&hmac_sha256(key.secret(), msg.as_bytes()))
}

/// Whether `token` is the form token of `link_id` for `browser` (constant time); an empty
/// cookie or token never is.
pub fn form_token_ok(key: &DerivedKey, link_id: &str, browser: &str, token: &str) -> bool {
    !browser.is_empty() && !token.is_empty() && ct_eq(form_token(key, link_id, browser).as_bytes(), token.as_bytes())
}

/// The `Set-Cookie` value binding the link's forms to this browser: sent back only to the
/// link's own path, never readable by script, never sent with another site's request.
pub fn link_cookie(value: &str, link_id: &str, secure: bool) -> String {
    crate::cookie::strict_cookie(LINK_COOKIE, value, &format!("/connect/{link_id}"), COOKIE_TTL_SECS, secure)
}

/// The cookie's value in a `Cookie` header, if it is there and looks like one the worker
/// set (base64url, 16 to 64 characters): anything else is treated as no cookie.
pub fn cookie_value(header: Option<&str>) -> Option<&str> {
    let v = crate::cookie::named_cookie(header, LINK_COOKIE)?;
    let shaped = (16..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    shaped.then_some(v)
}

/// One platform the chooser lists.
pub struct Offered<'a> {
    /// Platform id (the button's value).
    pub id: &'a str,
    /// Its display name.
    pub name: &'a str,
}

/// The chooser: one submit button per platform (its name, and its icon or monogram as
/// decoration: the button's accessible name is the platform's name alone), in a fieldset,
/// posting `platform` to `action` with the form token. Works without script: each button
/// submits the form.
pub fn chooser_page(brand: &Brand, msgs: &Messages, action: &str, token: &str, offered: &[Offered<'_>]) -> String {
    let body = html! {
        h1 { (msgs.t("chooser.heading")) }
        p { (msgs.f("chooser.lead", &[("app", brand.name(msgs))])) }
        form method="post" action=(action) {
            input type="hidden" name="form_token" value=(token);
            fieldset {
                legend { (msgs.t("chooser.platforms")) }
                ul class="choices" {
                    @for o in offered {
                        li {
                            button type="submit" name="platform" value=(o.id) class="choice" {
                                @if let Some(src) = crate::pages::icon_url(o.id) {
                                    img class="mark" src=(src) alt="" width="24" height="24";
                                } @else {
                                    span class="mark monogram" aria-hidden="true" { (initial(o.name)) }
                                }
                                span { (o.name) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(brand, msgs, None, msgs.t("chooser.page_title"), body)
}

/// The form that follows a choice: what it asks depends on how the platform connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// A Mastodon instance (its consent screen follows).
    Instance,
    /// Bluesky's handle and app password.
    Bluesky,
    /// An API key.
    ApiKey,
}

/// One input of a credential form (its texts are catalog keys).
struct Field {
    name: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    /// A secret: `type=password`, never filled back in.
    secret: bool,
    autocomplete: &'static str,
}

impl FormKind {
    /// The catalog keys of its title (also its heading), lead and submit button.
    fn keys(self) -> (&'static str, &'static str, &'static str) {
        match self {
            FormKind::Instance => ("form.instance.title", "form.instance.lead", "form.continue"),
            FormKind::Bluesky => ("form.bluesky.title", "form.bluesky.lead", "form.connect"),
            FormKind::ApiKey => ("form.api_key.title", "form.api_key.lead", "form.connect"),
        }
    }

    fn fields(self) -> &'static [Field] {
        const INSTANCE: &[Field] = &[Field {
            name: "instance",
            label: "form.instance.label",
            hint: Some("form.instance.hint"),
            secret: false,
            autocomplete: "url",
        }];
        const BLUESKY: &[Field] = &[
            Field {
                name: "identifier",
                label: "form.bluesky.handle",
                hint: Some("form.bluesky.handle_hint"),
                secret: false,
                autocomplete: "username",
            },
            Field {
                name: "app_password",
                label: "form.bluesky.password",
                hint: Some("form.bluesky.password_hint"),
                secret: true,
                autocomplete: "current-password",
            },
        ];
        const API_KEY: &[Field] =
            &[Field { name: "api_key", label: "form.api_key.label", hint: None, secret: true, autocomplete: "off" }];
        match self {
            FormKind::Instance => INSTANCE,
            FormKind::Bluesky => BLUESKY,
            FormKind::ApiKey => API_KEY,
        }
    }
}

/// Why a form is shown again: a catalog key (it may name `{platform}`) and, when there is
/// one, the check's or the platform's own sentence (English, marked so).
pub struct Alert<'a> {
    /// The catalog key of what went wrong.
    pub key: &'static str,
    /// The detail, in English.
    pub detail: Option<&'a str>,
}

/// A form page after a choice, in the shared layout naming the app and the platform: the
/// kind's fields (the first non-secret one refilled with `typed`; secrets never), the chosen
/// platform as a hidden field, the form token, an error (`role="alert"`, first in the reading
/// order) and a link back to the chooser. Without an alert the first field has the focus.
#[allow(clippy::too_many_arguments)]
pub fn form_page(
    brand: &Brand,
    msgs: &Messages,
    kind: FormKind,
    platform: &PlatformMark,
    platform_id: &str,
    action: &str,
    token: &str,
    typed: &str,
    alert: Option<Alert<'_>>,
) -> String {
    let args = [("platform", platform.name.as_str()), ("app", brand.name(msgs))];
    let (title_key, lead_key, submit_key) = kind.keys();
    let title = msgs.f(title_key, &args);
    let inputs = html! {
        @for (i, f) in kind.fields().iter().enumerate() {
            @let id = format!("f_{}", f.name);
            @let hint_id = format!("{id}_hint");
            div class="field" {
                label for=(id) { (msgs.t(f.label)) }
                input id=(id) name=(f.name) type=(if f.secret { "password" } else { "text" })
                    autocomplete=(f.autocomplete) required
                    aria-describedby=[f.hint.map(|_| &hint_id)]
                    autocapitalize=[(!f.secret).then_some("none")] spellcheck=[(!f.secret).then_some("false")]
                    value=[(!f.secret && !typed.is_empty()).then_some(typed)]
                    autofocus[i == 0 && alert.is_none()];
                @if let Some(hint) = f.hint {
                    p class="hint" id=(hint_id) { (msgs.t(hint)) }
                }
            }
        }
    };
    let body = html! {
        h1 { (title) }
        @if let Some(a) = &alert {
            div class="alert" role="alert" {
                p {
                    strong { (msgs.f(a.key, &args)) }
                    @if let Some(d) = a.detail { " " span lang="en" { (d) } }
                }
            }
        }
        p { (msgs.f(lead_key, &args)) }
        form method="post" action=(action) {
            input type="hidden" name="form_token" value=(token);
            input type="hidden" name="platform" value=(platform_id);
            @if kind.fields().len() > 1 {
                fieldset {
                    legend { (msgs.f("form.account_legend", &args)) }
                    (inputs)
                }
            } @else {
                (inputs)
            }
            div class="actions" {
                button type="submit" class="primary" { (msgs.t(submit_key)) }
            }
        }
        p class="back" { a href=(action) { (msgs.t("form.back")) } }
    };
    page(brand, msgs, Some(platform), &title, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Keyring;

    fn key(n: u8) -> DerivedKey {
        let spec = format!("k1:{}", crate::random::b64(&[n; 32]));
        Keyring::parse(&spec).map(|k| k.derive(FORM_PURPOSE)).unwrap_or_else(|_| panic!("keyring"))
    }

    #[test]
    fn form_token_is_bound_to_link_browser_and_key() {
        let k = key(1);
        let t = form_token(&k, "cl_1", "browserA_0123456789");
        assert!(form_token_ok(&k, "cl_1", "browserA_0123456789", &t));
        assert!(!form_token_ok(&k, "cl_2", "browserA_0123456789", &t), "another link");
        assert!(!form_token_ok(&k, "cl_1", "browserB_0123456789", &t), "another browser");
        assert!(!form_token_ok(&key(2), "cl_1", "browserA_0123456789", &t), "another key");
        assert!(!form_token_ok(&k, "cl_1", "", &form_token(&k, "cl_1", "")), "no cookie");
        assert!(!form_token_ok(&k, "cl_1", "browserA_0123456789", ""));
    }

    #[test]
    fn every_builtin_platform_has_its_icon_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/icons");
        let mut ids: Vec<String> = crate::platforms::Catalog::builtins().into_iter().map(|p| p.id).collect();
        ids.push("sandbox".into());
        for id in &ids {
            assert!(crate::pages::ICONS.contains(&id.as_str()), "{id} is in ICONS");
        }
        for id in crate::pages::ICONS {
            let svg = std::fs::read_to_string(dir.join(format!("{id}.svg"))).unwrap_or_default();
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "assets/icons/{id}.svg");
            assert!(!svg.contains("href") && !svg.contains("<script"), "{id}: nothing loads, nothing runs");
        }
    }

    #[test]
    fn cookie_is_scoped_strict_and_read_back_only_when_shaped() {
        let c = link_cookie("v4lue_v4lue_v4lue", "cl_1", true);
        assert!(c.contains("Path=/connect/cl_1;") && c.contains("HttpOnly") && c.contains("SameSite=Strict"));
        assert!(c.ends_with("; Secure"));
        assert!(!link_cookie("v", "cl_1", false).contains("Secure"));
        assert_eq!(cookie_value(Some("a=b; cl_link=v4lue_v4lue_v4lue; c=d")), Some("v4lue_v4lue_v4lue"));
        assert_eq!(cookie_value(Some("cl_link=short")), None);
        assert_eq!(cookie_value(Some("cl_link=bad;chars\"<0123456789")), None);
        assert_eq!(cookie_value(None), None);
    }

    #[test]
    fn chooser_lists_each_platform_as_a_named_button_with_a_decorative_icon() {
        let html = chooser_page(
            &Brand::named("Acme <Posts>"),
            &Messages::english(),
            "/connect/cl_1",
            "tok",
            &[Offered { id: "instagram", name: "Instagram" }, Offered { id: "acme", name: "<Acme>" }],
        );
        assert!(html.contains("<legend>Platforms</legend>"));
        assert!(html.contains(
            "<button type=\"submit\" name=\"platform\" value=\"instagram\" class=\"choice\"><img class=\"mark\" \
             src=\"/assets/icons/instagram.svg\" alt=\"\" width=\"24\" height=\"24\"><span>Instagram</span></button>"
        ));
        assert!(
            html.contains("<span class=\"mark monogram\" aria-hidden=\"true\">A</span><span>&lt;Acme&gt;</span>"),
            "a monogram for a custom provider; escaped"
        );
        assert!(html.contains("Choose the platform of the account Acme &lt;Posts&gt; should be able to use."));
        assert!(html.contains("name=\"form_token\" value=\"tok\""));
    }

    #[test]
    fn form_keeps_what_was_typed_except_secrets() {
        let mark = PlatformMark::of("bluesky", "Bluesky");
        assert_eq!(mark.icon_url.as_deref(), Some("/assets/icons/bluesky.svg"));
        assert_eq!(PlatformMark::of("keyed", "Keyed").icon_url, None);
        let alert = Alert { key: "form.refused", detail: Some("Wrong <pw>") };
        let html = form_page(
            &Brand::named("Acme"),
            &Messages::english(),
            FormKind::Bluesky,
            &mark,
            "bluesky",
            "/connect/cl_1",
            "tok",
            "a\"b",
            Some(alert),
        );
        assert!(html.contains("value=\"a&quot;b\""));
        assert!(html.contains("<label for=\"f_identifier\">Handle</label>"));
        assert!(html.contains("<fieldset><legend>Your Bluesky account</legend>"));
        assert!(html.contains(
            "<div class=\"alert\" role=\"alert\"><p><strong>Bluesky refused what you entered.</strong> <span \
             lang=\"en\">Wrong &lt;pw&gt;</span></p></div>"
        ));
        assert!(html.contains("<h1>Sign in to Bluesky</h1>"));
        assert!(html.contains("<img class=\"mark\" src=\"/assets/icons/bluesky.svg\""));
        assert!(!html.contains("autofocus"), "with a message, the message comes first");
        let pw = html.split("id=\"f_app_password\"").nth(1).unwrap_or_default();
        assert!(
            pw.starts_with(" name=\"app_password\" type=\"password\"")
                && !pw[..pw.find('>').unwrap_or(0)].contains("value=")
        );
        let fresh = form_page(
            &Brand::default(),
            &Messages::english(),
            FormKind::ApiKey,
            &mark,
            "keyed",
            "/connect/cl_1",
            "tok",
            "typed-key",
            None,
        );
        assert!(!fresh.contains("typed-key"), "a key is never filled back in");
        assert!(fresh.contains("autofocus"));
        assert!(!fresh.contains("<fieldset"), "one field needs no group");
    }
}
