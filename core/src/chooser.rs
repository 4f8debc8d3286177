//! The hosted chooser of a link offering several platforms (`platforms` on create), and the
//! forms that follow a choice: a Mastodon instance, Bluesky's handle and app password, an
//! API key. Each page's text is in one place (its `*_TEXT` constant), so the pages can move
//! onto templates and catalogs as they are. The forms are bound to the browser that was
//! shown them: a cookie scoped to the link's path and a form token that is a MAC of the
//! link id and that cookie. Another site's page cannot post its own credentials into a
//! victim's open link (login CSRF): it can read neither the cookie nor the token.

use crate::envelope::{hmac_sha256, DerivedKey};
use crate::html::{escape, page};
use crate::random::{b64url, ct_eq};

/// What [`crate::envelope::Keyring::derive`] derives the form token's key for.
pub const FORM_PURPOSE: &str = "link-form";
/// The cookie binding a link's forms to one browser.
pub const LINK_COOKIE: &str = "cl_link";
/// How long the cookie lives: as long as a pending link.
pub const COOKIE_TTL_SECS: i64 = 600;

/// The platforms with an icon under `assets/icons/<id>.svg` (a custom provider has none).
pub const ICONS: &[&str] = &[
    "instagram",
    "facebook",
    "instagram_facebook",
    "threads",
    "linkedin",
    "x",
    "youtube",
    "tiktok",
    "pinterest",
    "reddit",
    "bluesky",
    "mastodon",
    "sandbox",
];

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
    format!(
        "{LINK_COOKIE}={value}; Path=/connect/{link_id}; Max-Age={COOKIE_TTL_SECS}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The cookie's value in a `Cookie` header, if it is there and looks like one the worker
/// set (base64url, 16 to 64 characters): anything else is treated as no cookie.
pub fn cookie_value(header: Option<&str>) -> Option<&str> {
    let v = header?.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(LINK_COOKIE)?.strip_prefix('='))?;
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

/// The chooser page's text.
pub struct ChooserText {
    /// Title and heading.
    pub title: &'static str,
    /// The sentence under the heading.
    pub intro: &'static str,
    /// The group's legend.
    pub legend: &'static str,
}

/// The chooser's text (English; one place to move into a catalog).
pub const CHOOSER_TEXT: ChooserText = ChooserText {
    title: "Connect an account",
    intro: "Choose the platform of the account you want to connect.",
    legend: "Platforms",
};

/// The chooser: one submit button per platform (its name, and its icon as decoration), in
/// a fieldset, posting `platform` to `action` with the form token.
pub fn chooser_page(action: &str, token: &str, offered: &[Offered<'_>]) -> String {
    let t = &CHOOSER_TEXT;
    let buttons: String = offered
        .iter()
        .map(|o| {
            let icon = if ICONS.contains(&o.id) {
                format!("<img src=\"/assets/icons/{}.svg\" alt=\"\" width=\"24\" height=\"24\"> ", escape(o.id))
            } else {
                String::new()
            };
            format!(
                "<li><button type=\"submit\" name=\"platform\" value=\"{id}\">{icon}{name}</button></li>",
                id = escape(o.id),
                name = escape(o.name)
            )
        })
        .collect();
    page(
        t.title,
        &format!(
            "<h1>{title}</h1><p>{intro}</p><form method=\"post\" action=\"{action}\">{hidden}\
<fieldset><legend>{legend}</legend><ul style=\"list-style:none;padding:0\">{buttons}</ul></fieldset></form>",
            title = escape(t.title),
            intro = escape(t.intro),
            legend = escape(t.legend),
            action = escape(action),
            hidden = hidden("form_token", token),
        ),
    )
}

/// One input of a credential form.
pub struct Field<'a> {
    /// The form field's name.
    pub name: &'a str,
    /// Its label.
    pub label: &'a str,
    /// A hint under the label (may be empty).
    pub hint: &'a str,
    /// Whether it is a secret: `type=password`, never filled back in.
    pub secret: bool,
    /// The `autocomplete` token.
    pub autocomplete: &'a str,
    /// What the user typed before (ignored for a secret).
    pub typed: &'a str,
}

/// A form page's text.
pub struct FormText {
    /// Title and heading (`{platform}` stands for the platform's name).
    pub title: &'static str,
    /// The submit button.
    pub submit: &'static str,
    /// The link back to the chooser.
    pub back: &'static str,
}

/// The Mastodon instance form's text.
pub const INSTANCE_TEXT: FormText =
    FormText { title: "Your {platform} server", submit: "Continue", back: "Choose another platform" };
/// The instance field's label and hint.
pub const INSTANCE_LABEL: (&str, &str) = ("Server", "For example mastodon.social");
/// The Bluesky form's text.
pub const BLUESKY_TEXT: FormText =
    FormText { title: "Sign in to {platform}", submit: "Connect", back: "Choose another platform" };
/// The handle field's label and hint.
pub const HANDLE_LABEL: (&str, &str) = ("Handle", "For example alice.bsky.social");
/// The app password field's label and hint.
pub const APP_PASSWORD_LABEL: (&str, &str) =
    ("App password", "Make one in Bluesky under Settings, Privacy and security, App passwords");
/// The API key form's text.
pub const API_KEY_TEXT: FormText =
    FormText { title: "Your {platform} API key", submit: "Connect", back: "Choose another platform" };
/// The key field's label and hint.
pub const API_KEY_LABEL: (&str, &str) = ("API key", "");

/// A form page after a choice: the fields, the chosen platform as a hidden field, the form
/// token, an error `message` (announced: `role="alert"`) and a link back to the chooser.
/// The first field gets the focus on load when there is no message; with one, the message
/// comes first in the reading order.
pub fn form_page(
    text: &FormText,
    platform_name: &str,
    platform: &str,
    action: &str,
    token: &str,
    fields: &[Field<'_>],
    message: Option<&str>,
) -> String {
    let title = text.title.replace("{platform}", platform_name);
    let alert = message.map(|m| format!("<p role=\"alert\"><strong>{}</strong></p>", escape(m))).unwrap_or_default();
    let inputs: String = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let id = format!("f_{}", escape(f.name));
            let hint = if f.hint.is_empty() {
                String::new()
            } else {
                format!("<small id=\"{id}_hint\">{}</small><br>", escape(f.hint))
            };
            let described = if f.hint.is_empty() { String::new() } else { format!(" aria-describedby=\"{id}_hint\"") };
            let value =
                if f.secret || f.typed.is_empty() { String::new() } else { format!(" value=\"{}\"", escape(f.typed)) };
            let focus = if i == 0 && message.is_none() { " autofocus" } else { "" };
            format!(
                "<p><label for=\"{id}\">{label}</label>{hint}<input id=\"{id}\" name=\"{name}\" type=\"{ty}\" \
autocomplete=\"{ac}\" required{described}{value}{focus}></p>",
                label = escape(f.label),
                name = escape(f.name),
                ty = if f.secret { "password" } else { "text" },
                ac = escape(f.autocomplete),
            )
        })
        .collect();
    page(
        &title,
        &format!(
            "<h1>{h}</h1>{alert}<form method=\"post\" action=\"{action}\">{tok}{plat}{inputs}\
<p><button type=\"submit\">{submit}</button></p></form><p><a href=\"{action}\">{back}</a></p>",
            h = escape(&title),
            action = escape(action),
            tok = hidden("form_token", token),
            plat = hidden("platform", platform),
            submit = escape(text.submit),
            back = escape(text.back),
        ),
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value))
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
            assert!(ICONS.contains(&id.as_str()), "{id} is in ICONS");
        }
        for id in ICONS {
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
            "/connect/cl_1",
            "tok",
            &[Offered { id: "instagram", name: "Instagram" }, Offered { id: "acme", name: "<Acme>" }],
        );
        assert!(html.contains("<legend>Platforms</legend>"));
        assert!(html.contains(
            "<button type=\"submit\" name=\"platform\" value=\"instagram\"><img src=\"/assets/icons/instagram.svg\" \
             alt=\"\" width=\"24\" height=\"24\"> Instagram</button>"
        ));
        assert!(html.contains("value=\"acme\">&lt;Acme&gt;</button>"), "no icon for a custom provider; escaped");
        assert!(html.contains("name=\"form_token\" value=\"tok\""));
    }

    #[test]
    fn form_keeps_what_was_typed_except_secrets() {
        let fields = [
            Field {
                name: "identifier",
                label: "Handle",
                hint: "h",
                secret: false,
                autocomplete: "username",
                typed: "a\"b",
            },
            Field {
                name: "app_password",
                label: "App password",
                hint: "",
                secret: true,
                autocomplete: "current-password",
                typed: "s3cret",
            },
        ];
        let html = form_page(&BLUESKY_TEXT, "Bluesky", "bluesky", "/connect/cl_1", "tok", &fields, Some("Wrong <pw>"));
        assert!(html.contains("value=\"a&quot;b\""));
        assert!(!html.contains("s3cret"));
        assert!(html.contains("<label for=\"f_identifier\">Handle</label>"));
        assert!(html.contains("<p role=\"alert\"><strong>Wrong &lt;pw&gt;</strong></p>"));
        assert!(html.contains("<h1>Sign in to Bluesky</h1>"));
        assert!(!html.contains("autofocus"), "with a message, the message comes first");
    }
}
