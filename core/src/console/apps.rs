//! The console's Apps pages as templates of plain rows: the list and one app's page (its
//! settings, allowlist, API keys, platform credentials, webhook and limits). They show ids,
//! fingerprints and settings, never a key, its hash, a client secret or a webhook secret:
//! the rows they take hold none (a [`CredentialRow`]'s sealed fields are never read here).

use super::layout::action_button;
use crate::app_credentials::CredentialRow;
use crate::app_limits::AppLimits;
use crate::model::AppRow;
use maud::{html, Markup};
use serde::Deserialize;

/// One app of the list.
#[derive(Debug, Default, Deserialize)]
pub struct AppSummary {
    /// `app_...`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// 1 when a webhook URL is set.
    pub has_webhook: i64,
    /// Profiles with status `active`.
    pub active_profiles: i64,
}

/// One API key, as the console shows it: never the key nor its hash.
#[derive(Debug, Default, Deserialize)]
pub struct ApiKeyRow {
    /// `key_...`.
    pub id: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds; `None` while it works.
    pub revoked_at: Option<i64>,
}

/// Epoch seconds as the console shows them (`console::when`).
pub type When = fn(i64) -> String;

/// The list's body: a table of `apps`, and a link to the next page (`next`, its cursor).
pub fn app_list(apps: &[AppSummary], next: Option<&str>, when: When) -> Markup {
    html! {
        @if apps.is_empty() {
            p { "No apps yet." }
        } @else {
            div class="table-wrap" {
                table {
                    caption { "Apps, newest first" }
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Created" }
                        th scope="col" class="num" { "Active profiles" } th scope="col" { "Webhook URL" }
                    } }
                    tbody {
                        @for a in apps {
                            tr {
                                th scope="row" { a href={ "/console/apps/" (a.id) } { (a.name) } }
                                td { code { (a.id) } }
                                td { (when(a.created_at)) }
                                td class="num" { (a.active_profiles) }
                                td { @if a.has_webhook != 0 { "set" } @else { "not set" } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next {
            nav class="pager" aria-label="Pages" {
                a href={ "/console/apps?after=" (cursor) } { "Older apps" }
            }
        }
    }
}

fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

/// One app's page body: `csrf` for its forms.
pub fn app_page(app: &AppRow, keys: &[ApiKeyRow], creds: &[CredentialRow], csrf: &str, when: When) -> Markup {
    let base = format!("/console/apps/{}", app.id);
    // Each setting's value, and the default's (a value that differs is the app's own).
    let defaults = AppLimits::default().view();
    html! {
        section aria-labelledby="settings" {
            h2 id="settings" { "Settings" }
            dl class="facts" {
                dt { "Id" } dd { code { (app.id) } }
                dt { "Name" } dd { (app.name) }
                dt { "Display name" } dd { @if let Some(d) = &app.display_name { (d) } @else { "(the name)" } }
                dt { "Created" } dd { (when(app.created_at)) }
                dt { "Claim mode" } dd { (app.claim_mode().as_str()) }
                dt { "Refresh mode" } dd { (app.refresh_mode().as_str()) }
                dt { "Platform events" } dd { @if let Some(p) = &app.platform_events { code { (p) } } @else { "none" } }
                dt { "Self-service credentials" } dd { (yes_no(app.self_service_credentials != 0)) }
                dt { "Accent colour" } dd { (app.accent_color.as_deref().unwrap_or("none")) }
                dt { "Logo" } dd { (if app.logo_file.is_some() { "present" } else { "none" }) }
            }
        }
        section aria-labelledby="allowlist" {
            h2 id="allowlist" { "Redirect allowlist" }
            ul { @for u in app.allowlist() { li { code { (u) } } } }
        }
        section aria-labelledby="keys" {
            h2 id="keys" { "API keys" }
            div class="table-wrap" {
                table {
                    caption { "Keys (their values are never shown after creation)" }
                    thead { tr { th scope="col" { "Key id" } th scope="col" { "Created" } th scope="col" { "Status" } th scope="col" { "Action" } } }
                    tbody {
                        @for k in keys {
                            tr {
                                th scope="row" { code { (k.id) } }
                                td { (when(k.created_at)) }
                                @if let Some(at) = k.revoked_at {
                                    td { "revoked " (when(at)) } td {}
                                } @else {
                                    td { "active" }
                                    td { (action_button(&format!("{base}/api-keys/{}/revoke", k.id), csrf, &format!("Revoke {}", k.id), true)) }
                                }
                            }
                        }
                    }
                }
            }
            (action_button(&format!("{base}/api-keys"), csrf, "Create API key", false))
        }
        section aria-labelledby="credentials" {
            h2 id="credentials" { "Platform credentials" }
            @if creds.is_empty() {
                p { "None: the app uses the deployment's platform apps." }
            } @else {
                div class="table-wrap" {
                    table {
                        caption { "The app's own platform apps (secrets are never shown)" }
                        thead { tr { th scope="col" { "Platform" } th scope="col" { "Client id" } th scope="col" { "Secret fingerprint" } th scope="col" { "Scopes" } } }
                        tbody {
                            @for c in creds {
                                tr {
                                    th scope="row" { (c.platform) }
                                    td { code { (c.client_id) } }
                                    td { code { (c.secret_fingerprint) } }
                                    td { @if let Some(s) = c.scope_list() { (s.join(" ")) } @else { "the platform's defaults" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="webhook" {
            h2 id="webhook" { "Webhook" }
            @if let Some(url) = &app.webhook_url {
                p { "Events go to " code { (url) } "." }
                (action_button(&format!("{base}/test-event"), csrf, "Send a test event", false))
            } @else {
                p { "No webhook URL: the app receives no events." }
            }
        }
        section aria-labelledby="limits" {
            h2 id="limits" { "Rate limits" }
            div class="table-wrap" {
                table {
                    caption { "Effective limits (a value other than the default is set for this app)" }
                    thead { tr { th scope="col" { "Setting" } th scope="col" class="num" { "Value" } th scope="col" { "Source" } } }
                    tbody {
                        @if let serde_json::Value::Object(m) = app.limits().view() {
                            @for (name, v) in &m {
                                tr {
                                    th scope="row" { code { (name) } }
                                    td class="num" { (v) }
                                    td { (if defaults.get(name) == Some(v) { "default" } else { "set for this app" }) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The answer to "Create API key": the new key, shown this once.
pub fn new_key_page(app_id: &str, key_id: &str, key: &str) -> Markup {
    html! {
        div class="alert" role="alert" {
            p { "This key is shown once, now: copy it. It is not stored, only its hash; a lost key can only be revoked and replaced." }
        }
        dl class="facts" {
            dt { "Key id" } dd { code { (key_id) } }
            dt { "API key" } dd { code class="secret" { (key) } }
        }
        p { a href={ "/console/apps/" (app_id) } { "Back to the app" } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: i64) -> String {
        format!("t{t}")
    }

    #[test]
    fn the_list_links_each_app_and_pages_on() {
        let apps = [AppSummary { id: "app_1".into(), name: "<A>".into(), created_at: 5, has_webhook: 1, active_profiles: 3 }];
        let html = app_list(&apps, Some("c1"), at).into_string();
        assert!(html.contains(r#"href="/console/apps/app_1""#));
        assert!(html.contains("&lt;A&gt;"));
        assert!(html.contains(">3<") && html.contains("set") && html.contains("t5"));
        assert!(html.contains(r#"href="/console/apps?after=c1""#));
        assert!(app_list(&[], None, at).into_string().contains("No apps yet."));
    }

    #[test]
    fn the_page_shows_settings_keys_and_credentials_never_secrets() {
        let app = AppRow {
            id: "app_1".into(),
            name: "A".into(),
            allowed_redirect_urls: r#"["https://a.example/cb"]"#.into(),
            webhook_url: Some("https://a.example/hook".into()),
            claim: "auto".into(),
            refresh_mode: "on_demand".into(),
            limits: Some(r#"{"proxy_per_minute":7}"#.into()),
            ..Default::default()
        };
        let keys = [
            ApiKeyRow { id: "key_live".into(), created_at: 1, revoked_at: None },
            ApiKeyRow { id: "key_old".into(), created_at: 1, revoked_at: Some(2) },
        ];
        let creds = [CredentialRow {
            platform: "x".into(),
            client_id: "cid".into(),
            client_secret_enc: "SEALED-SECRET".into(),
            webhook_secret_enc: Some("SEALED-HOOK".into()),
            secret_fingerprint: "fp123".into(),
            ..Default::default()
        }];
        let html = app_page(&app, &keys, &creds, "tok", at).into_string();
        assert!(html.contains("/console/apps/app_1/api-keys/key_live/revoke"));
        assert!(!html.contains("key_old/revoke"));
        assert!(html.contains("revoked t2"));
        assert!(html.contains("/console/apps/app_1/test-event"));
        assert!(html.contains("https://a.example/cb") && html.contains("auto") && html.contains("on_demand"));
        assert!(html.contains("fp123") && html.contains("cid"));
        assert!(!html.contains("SEALED"));
        assert!(html.contains("set for this app") && html.contains(">7<"));
        let bare = AppRow { webhook_url: None, ..app };
        assert!(!app_page(&bare, &[], &[], "tok", at).into_string().contains("test-event"));
    }
}
