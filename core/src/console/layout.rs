//! The console's layout: the hosted pages' document head and stylesheet (`assets/pages.css`,
//! its `.console` rules), a header with the navigation and the sign-out form, the page's own
//! `main`. Like every page of the worker it is a maud template (escaped by default) under the
//! page policy: no script, no inline style, nothing from another site.

use crate::pages::STYLESHEET;
use maud::{html, Markup, DOCTYPE};

/// The console's sections, in the order of its navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/console`: counts and charts.
    Overview,
    /// `/console/apps`.
    Apps,
    /// `/console/profiles`.
    Profiles,
    /// `/console/webhooks`.
    Webhooks,
    /// `/console/activity`.
    Activity,
}

/// Every section: its path and its name in the navigation.
pub const SECTIONS: &[(Nav, &str, &str)] = &[
    (Nav::Overview, "/console", "Overview"),
    (Nav::Apps, "/console/apps", "Apps"),
    (Nav::Profiles, "/console/profiles", "Profiles"),
    (Nav::Webhooks, "/console/webhooks", "Webhooks"),
    (Nav::Activity, "/console/activity", "Activity"),
];

/// A notice shown at the top of a page after an action: `ok` (a status) or not (an alert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Whether the action succeeded.
    pub ok: bool,
    /// The sentence.
    pub text: String,
}

/// A console page: `title` (the tab and the `h1`), the navigation with `current` marked, a
/// sign-out form carrying `csrf` (none on the sign-in page), an optional notice, then `body`.
pub fn console_page(title: &str, current: Option<Nav>, csrf: Option<&str>, notice: Option<&Notice>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="referrer" content="no-referrer";
                title { (title) " · connect-links console" }
                link rel="stylesheet" href=(STYLESHEET);
            }
            body class="console" {
                a class="skip" href="#main" { "Skip to content" }
                header class="console-bar" {
                    span class="console-name" { "connect-links console" }
                    @if let Some(token) = csrf {
                        nav aria-label="Console" {
                            ul {
                                @for (nav, href, name) in SECTIONS {
                                    li {
                                        @if current == Some(*nav) {
                                            a href=(href) aria-current="page" { (name) }
                                        } @else {
                                            a href=(href) { (name) }
                                        }
                                    }
                                }
                            }
                        }
                        form method="post" action="/console/sign-out" class="sign-out" {
                            (csrf_field(token))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" class="console-main" {
                    h1 { (title) }
                    @if let Some(n) = notice {
                        @if n.ok {
                            div class="notice" role="status" { p { (n.text) } }
                        } @else {
                            div class="alert" role="alert" { p { (n.text) } }
                        }
                    }
                    (body)
                }
            }
        }
    }
    .into_string()
}

/// Epoch seconds as the console's tables show them: `2026-12-08 14:03 UTC`.
pub fn when(epoch: i64) -> String {
    utc(epoch, 16)
}

/// Epoch seconds to the second, for the history, where events a few seconds apart are told
/// apart: `2026-12-08 14:03:27 UTC`.
pub fn when_exact(epoch: i64) -> String {
    utc(epoch, 19)
}

/// The first `chars` characters of the RFC 3339 time with a space for the `T`, then ` UTC`.
fn utc(epoch: i64, chars: usize) -> String {
    crate::time::rfc3339(epoch).replacen('T', " ", 1).get(..chars).map(|s| format!("{s} UTC")).unwrap_or_default()
}

/// The hidden field every console form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A form posting to `action` with one button `label` (an action such as "Refresh now").
/// `danger` marks a destructive one.
pub fn action_button(action: &str, csrf: &str, label: &str, danger: bool) -> Markup {
    html! {
        form method="post" action=(action) class="inline" {
            (csrf_field(csrf))
            button type="submit" class=[danger.then_some("danger")] { (label) }
        }
    }
}

/// The sign-in page: the admin token, posted with the sign-in cookie's form token; `error`
/// when a try failed.
pub fn signin_page(csrf: &str, error: Option<&str>) -> String {
    let notice = error.map(|e| Notice { ok: false, text: e.to_string() });
    let body = html! {
        form method="post" action="/console/sign-in" class="signin" {
            (csrf_field(csrf))
            div class="field" {
                label for="token" { "Admin token" }
                input type="password" id="token" name="token" autocomplete="current-password" required;
                p class="hint" { "The deployment's ADMIN_TOKEN. The session lasts 12 hours; rotating the token signs every session out." }
            }
            div class="actions" { button type="submit" class="primary" { "Sign in" } }
        }
    };
    console_page("Sign in", None, None, notice.as_ref(), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_section_is_marked_and_forms_carry_the_token() {
        let html = console_page("Apps", Some(Nav::Apps), Some("tok<"), None, html! { p { "x" } });
        assert!(html.contains(r#"<a href="/console/apps" aria-current="page">Apps</a>"#));
        assert!(html.contains(r#"<a href="/console">Overview</a>"#));
        assert!(html.contains(r#"name="csrf" value="tok&lt;""#));
        assert!(!html.contains("<script"));
        assert!(!html.contains("style="));
    }

    #[test]
    fn the_signin_page_has_no_navigation() {
        let html = signin_page("t", Some("Wrong <token>"));
        assert!(!html.contains("<nav"));
        assert!(html.contains(r#"role="alert""#) && html.contains("Wrong &lt;token&gt;"));
        assert!(html.contains(r#"<label for="token">"#));
    }

    #[test]
    fn titles_are_escaped() {
        let html = console_page("<b>", None, Some("t"), None, html! {});
        assert!(html.contains("<h1>&lt;b&gt;</h1>"));
    }
}
