//! The hosted pages' shared layout (maud templates, escaped by default): the document head
//! with the stylesheet, a header naming the app (its logo) and the platform (its icon), the
//! page's own `main`, a footer. Every page a browser sees is one [`page`] call; the pages
//! themselves live beside their logic (`sandbox.rs`, `picker.rs`, `chooser.rs`) or here (errors, the
//! deletion status), and take their words from [`Messages`].
//!
//! Writing a page: build its `main` content with `maud::html!` (text and attribute values are
//! escaped; only `PreEscaped` is not, so never give it outside text), take every sentence from
//! a catalog key (`msgs.t("...")`, or `msgs.f("...", &[("app", ...)])` with placeholders), then
//! `page(&brand, &msgs, platform, title, body)`. The page policy
//! ([`crate::html::CONTENT_SECURITY_POLICY`]) allows no script, no inline style, and styles
//! and images only from this worker.

use crate::i18n::Messages;
use maud::{html, Markup, DOCTYPE};

/// Who is asking, as the pages show it: the app's name, logo and accent colour. Filled from
/// the app (its `name` today); `None` fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Brand {
    /// The app's name as end-users should read it; `None`: the page says "An app".
    pub app_name: Option<String>,
    /// Where the worker serves the app's logo (same origin: the page policy loads images only
    /// from this worker).
    pub logo_url: Option<String>,
    /// The accent colour, `#rrggbb`; anything else is ignored (see [`accent_href`]).
    pub accent: Option<String>,
}

impl Brand {
    /// A brand naming the app `name` (no logo, no accent).
    pub fn named(name: &str) -> Brand {
        Brand { app_name: Some(name.to_string()), ..Brand::default() }
    }

    /// The app's name, or the catalog's "An app".
    pub fn name<'a>(&'a self, msgs: &'a Messages) -> &'a str {
        self.app_name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| msgs.t("layout.app_unknown"))
    }
}

/// The brand of an app as its pages show it ([`crate::brand::Brand::of`]: its display name,
/// else its name; its logo, served by this worker at a same-origin path; its accent colour).
pub fn brand_of(app: &crate::model::AppRow) -> Brand {
    // No origin: the logo's path alone, so `img-src 'self'` holds whatever PUBLIC_URL says.
    let b = crate::brand::Brand::of(app, "");
    Brand { app_name: Some(b.app_name), logo_url: b.logo_url, accent: b.accent }
}

/// The platform a page is about: its name and, when the worker serves one, its icon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformMark {
    /// The platform's name ("Instagram").
    pub name: String,
    /// Where the worker serves its icon (`/assets/icons/<platform>.svg`); `None`: a monogram.
    pub icon_url: Option<String>,
}

/// The platforms with an icon the worker serves, `assets/icons/<id>.svg` (a custom provider
/// has none); a host test holds the list to the folder.
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

impl PlatformMark {
    /// The mark of platform `id` named `name`: its icon where the worker serves one
    /// ([`ICONS`]), else a monogram.
    pub fn of(id: &str, name: &str) -> Self {
        PlatformMark { name: name.to_string(), icon_url: icon_url(id) }
    }
}

/// Where the worker serves the icon of platform `id`, when it has one ([`ICONS`]; a custom
/// provider has none: its pages show a monogram).
pub fn icon_url(id: &str) -> Option<String> {
    ICONS.contains(&id).then(|| format!("/assets/icons/{id}.svg"))
}

/// The path of the shared stylesheet (a static asset: `assets/pages.css`).
pub const STYLESHEET: &str = "/assets/pages.css";

/// The path of the stylesheet that sets the page's accent colour, for `#rrggbb` (any other
/// value: none). The colour is in the path, so the route needs no lookup and the sheet can be
/// cached forever; the page policy keeps `style-src 'self'` (no inline style, no hash to compute).
pub fn accent_href(accent: &str) -> Option<String> {
    let hex = accent.strip_prefix('#')?;
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("/assets/accent/{}.css", hex.to_ascii_lowercase()))
}

/// The stylesheet of [`accent_href`]'s path segment (`0a7f3c.css`): `None` unless it names a
/// colour. It also sets the text colour on the accent (black or white, whichever reads better:
/// [`crate::brand::text_on_accent`]), so any accent keeps its buttons' text readable.
pub fn accent_css(file: &str) -> Option<String> {
    // text_on_accent reads `#rrggbb` only: it is the check that the file names a colour.
    let hex = file.strip_suffix(".css")?.to_ascii_lowercase();
    let on = crate::brand::text_on_accent(&format!("#{hex}"))?;
    Some(format!(":root{{--accent:#{hex};--on-accent:{on}}}\n"))
}

/// The first character of a name, for a monogram where there is no logo or icon (ASCII
/// letters in capitals; Unicode's case and class tables would cost the wasm more than a
/// monogram is worth).
pub fn initial(name: &str) -> String {
    name.chars()
        .find(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .map(|c| c.to_ascii_uppercase().to_string())
        .unwrap_or_default()
}

/// One side of the header: an image, or a monogram, and a name.
fn party(class: &str, name: &str, image: Option<&str>) -> Markup {
    html! {
        span class=(class) {
            @if let Some(src) = image {
                img class="mark" src=(src) alt="" width="32" height="32";
            } @else {
                span class="mark monogram" aria-hidden="true" { (initial(name)) }
            }
            span class="party-name" { (name) }
        }
    }
}

/// A whole page: `title` in the tab, the header naming the app and `platform`, `body` as the
/// page's `main`, in `msgs`' language.
pub fn page(brand: &Brand, msgs: &Messages, platform: Option<&PlatformMark>, title: &str, body: Markup) -> String {
    let app = brand.name(msgs);
    html! {
        (DOCTYPE)
        html lang=(msgs.lang().code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                link rel="stylesheet" href=(STYLESHEET);
                @if let Some(href) = brand.accent.as_deref().and_then(accent_href) {
                    link rel="stylesheet" href=(href);
                }
            }
            body {
                div class="shell" {
                    @if brand.app_name.is_some() || platform.is_some() {
                        header class="brand" {
                            (party("party app", app, brand.logo_url.as_deref()))
                            @if let Some(p) = platform {
                                span class="joins" aria-hidden="true" { "⇄" }
                                (party("party platform", &p.name, p.icon_url.as_deref()))
                            }
                        }
                    }
                    main id="main" class="card" { (body) }
                    footer { p { (msgs.t("layout.footer")) } }
                }
            }
        }
    }
    .into_string()
}

/// The catalog key of an error page's title for an HTTP status.
pub fn error_title_key(status: u16) -> &'static str {
    match status {
        404 => "error.not_found",
        410 => "error.expired",
        400 => "error.bad_request",
        403 => "error.forbidden",
        _ => "error.other",
    }
}

/// An error page: `title`, then `detail` (the error's own sentence, written in English) and
/// what to do next (not on a 404, which has no app to go back to); in another language, what
/// to do next comes first and the detail after it, as marked English "Details".
pub fn error_page(brand: &Brand, msgs: &Messages, status: u16, title: &str, detail: &str) -> String {
    let english = msgs.lang() == crate::i18n::Lang::En;
    let body = html! {
        h1 { (title) }
        @if english {
            p { (detail) }
        }
        @if status != 404 {
            p { (msgs.t("error.hint")) }
        }
        @if !english {
            p class="detail" { (msgs.t("error.details")) ": " span lang="en" { (detail) } }
        }
    };
    page(brand, msgs, None, title, body)
}

/// The page Meta shows a user after a data deletion request: its code, what was deleted and
/// when (`date`, RFC 3339). It names no account: the code is all it knows.
pub fn deletion_status_page(msgs: &Messages, code: &str, profiles_deleted: i64, date: &str) -> String {
    let title = msgs.t("deletion.title");
    let what = match profiles_deleted {
        0 => msgs.t("deletion.none").to_string(),
        1 => msgs.t("deletion.one").to_string(),
        n => msgs.f("deletion.many", &[("count", &n.to_string())]),
    };
    let body = html! {
        h1 { (title) }
        p { (msgs.t("deletion.code")) ": " code { (code) } }
        p { (what) }
        p { (msgs.f("deletion.done_on", &[("date", date)])) }
    };
    page(&Brand::default(), msgs, None, title, body)
}

#[cfg(test)]
mod tests;
