//! `GET /console/profiles` (search) and `/console/profiles/{id}`, and the profile page's
//! forms (refresh now, a reconnect link, disconnect). Reads go through `store`, actions
//! through the domain (`grants`, `links`), as the JSON API's do. Never a token on a page.

use super::{done, notice, page, when, Fields, Signed};
use crate::ctx::Ctx;
use crate::grants::{disconnect_profile, outcome_error, refresh_detached, require_active, Outcome};
use crate::links::create;
use crate::store::{self, ActivityRow, ProfileGrantInfo, ProfileSearch};
use connect_links_core::console::layout::{action_button, Nav};
use connect_links_core::console::profiles::{account_label, metadata_keys, name_list, older_href};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::input::CreateLink;
use connect_links_core::model::{decode_cursor, encode_cursor, ProfileRow, ProfileStatus};
use connect_links_core::refresh::Failure;
use maud::{html, Markup};
use worker::Response;

/// Profiles a search page shows.
const PAGE_SIZE: u32 = 50;
/// Activity entries the profile page shows.
const ACTIVITY_SHOWN: u32 = 50;
/// The search's text fields: (name, label).
const TEXT_FIELDS: [(&str, &str); 3] =
    [("app", "App id"), ("external_user_id", "External user id (exact)"), ("account", "Account name")];
/// The search's status choices: (value, label); "" is any.
const STATUSES: [(&str, &str); 4] =
    [("", "Any"), ("active", "Active"), ("disconnected", "Disconnected"), ("pending", "Pending")];

/// The profile search: by app, platform, status, external user id, account name; newest first.
pub async fn search(ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    let status = q.get("status");
    if status.is_some_and(|s| !STATUSES.iter().any(|(v, _)| *v == s)) {
        return Err(ApiError::invalid("status must be active, disconnected, pending or any"));
    }
    let before = match q.get("before") {
        Some(c) => Some(decode_cursor(c).ok_or_else(|| ApiError::invalid("this page's position is not valid"))?),
        None => None,
    };
    let f = ProfileSearch {
        app_id: q.get("app"),
        platform: q.get("platform"),
        status,
        external_user_id: q.get("external_user_id"),
        account: q.get("account"),
        before,
    };
    let mut rows = store::search_profiles(&ctx.db()?, &f, PAGE_SIZE + 1).await?;
    let older = if rows.len() > PAGE_SIZE as usize {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|p| older_href(|k| q.get(k), &encode_cursor(p.created_at, &p.id)))
    } else {
        None
    };
    let platforms: Vec<(&str, &str)> = ctx.catalog.all().iter().map(|p| (p.id.as_str(), p.id.as_str())).collect();
    page(signed, "Profiles", Nav::Profiles, notice(q).as_ref(), search_body(q, &platforms, &rows, older))
}

/// The search form (its fields as the query gave them), the results, the next page's link.
fn search_body(q: &Fields, platforms: &[(&str, &str)], rows: &[ProfileRow], older: Option<String>) -> Markup {
    html! {
        section aria-labelledby="find" {
            h2 id="find" { "Find profiles" }
            form method="get" action="/console/profiles" class="search" {
                @for (name, label) in TEXT_FIELDS {
                    div class="field" {
                        label for=(name) { (label) }
                        input type="search" id=(name) name=(name) value=[q.get(name)];
                    }
                }
                (choice("platform", "Platform", platforms, q, true))
                (choice("status", "Status", &STATUSES, q, false))
                div class="actions" { button type="submit" class="primary" { "Search" } }
            }
        }
        @if rows.is_empty() {
            p { "No profile matches." }
        } @else {
            div class="table-wrap" {
                table {
                    caption { "Profiles, newest first" }
                    thead { tr {
                        @for h in ["Account", "Platform", "App", "Status", "External user id", "Connected at"] {
                            th scope="col" { (h) }
                        }
                    } }
                    tbody {
                        @for p in rows {
                            tr {
                                th scope="row" { a href={ "/console/profiles/" (p.id) } { (account_label(p)) } }
                                td { (p.platform) }
                                td { a href={ "/console/apps/" (p.app_id) } { (p.app_id) } }
                                td { (p.status.as_str()) }
                                td { (p.external_user_id.as_deref().unwrap_or("")) }
                                td { (when(p.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(href) = older {
            nav class="pager" aria-label="Pages" { a href=(href) rel="next" { "Older" } }
        }
    }
}

/// A `select` of `options` (value, label), the query's value selected; `any` adds "Any" first.
fn choice(name: &str, label: &str, options: &[(&str, &str)], q: &Fields, any: bool) -> Markup {
    let current = q.get(name).unwrap_or("");
    html! {
        div class="field" {
            label for=(name) { (label) }
            select id=(name) name=(name) {
                @if any { option value="" { "Any" } }
                @for (value, text) in options {
                    option value=(value) selected[*value == current] { (text) }
                }
            }
        }
    }
}

/// One profile: the account, its grant and schedule, its last activity, and its actions.
pub async fn show(ctx: &Ctx, signed: &Signed, q: &Fields, id: &str) -> ApiResult<Response> {
    let db = ctx.db()?;
    let (p, g) = store::profile_with_grant(&db, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    let activity = store::profile_activity(&db, &p.id, &p.grant_id, ACTIVITY_SHOWN).await?;
    let body = html! {
        (profile_facts(&p))
        (grant_facts(&p, &g))
        (actions(signed, &p))
        (activity_table(&activity))
    };
    page(signed, &account_label(&p), Nav::Profiles, notice(q).as_ref(), body)
}

/// An optional time, or `none`.
fn at(t: Option<i64>) -> String {
    t.map(when).unwrap_or_else(|| "none".into())
}

fn profile_facts(p: &ProfileRow) -> Markup {
    let keys = metadata_keys(p.metadata.as_deref());
    html! {
        section aria-labelledby="profile" {
            h2 id="profile" { "Profile" }
            dl class="facts" {
                dt { "Id" } dd { (p.id) }
                dt { "Account" } dd { (account_label(p)) " · " (p.account_type) " " (p.platform_user_id) }
                dt { "Platform" } dd { (p.platform) @if let Some(i) = &p.instance { " (" (i) ")" } }
                dt { "App" } dd { a href={ "/console/apps/" (p.app_id) } { (p.app_id) } }
                dt { "Status" } dd { (p.status.as_str()) }
                dt { "Disconnect reason" } dd { (p.disconnect_reason.as_deref().unwrap_or("none")) }
                dt { "External user id" } dd { (p.external_user_id.as_deref().unwrap_or("none")) }
                dt { "Metadata keys" } dd { @if keys.is_empty() { "none" } @else { (keys.join(", ")) } }
                dt { "Connected at" } dd { (when(p.created_at)) }
            }
        }
    }
}

fn grant_facts(p: &ProfileRow, g: &ProfileGrantInfo) -> Markup {
    let creds = match &g.credential_ref {
        Some(r) => format!("the app's own platform app ({r})"),
        None => "the deployment's platform app".into(),
    };
    html! {
        section aria-labelledby="grant" {
            h2 id="grant" { "Grant" }
            dl class="facts" {
                dt { "Grant" } dd { (p.grant_id) " · " (g.grant_status.as_deref().unwrap_or("gone")) }
                dt { "Scopes granted" } dd { (name_list(Some(&p.scopes))) }
                dt { "Scopes declined" } dd { (name_list(p.declined_scopes.as_deref())) }
                dt { "Credentials" } dd { (creds) }
                dt { "Access token expires" } dd { (at(p.access_token_expires_at)) }
                dt { "Refresh token expires" } dd { (at(g.refresh_token_expires_at)) }
                dt { "Last refreshed" } dd { (at(p.last_refreshed_at)) }
                dt { "Next refresh" } dd { (at(g.next_refresh_at)) }
                dt { "Refresh failures in a row" } dd { (g.refresh_failures.unwrap_or(0)) }
                dt { "Next liveness check" } dd { (at(g.next_check_at)) }
                dt { "Refresh mode" } dd { (g.refresh_mode.as_deref().unwrap_or("unknown")) }
            }
        }
    }
}

/// The buttons a profile's status allows: refresh and disconnect while active, a reconnect
/// link while active or disconnected; none while it waits for its claim (the app has not
/// taken it yet; it ends by itself when the claim window closes).
fn actions(signed: &Signed, p: &ProfileRow) -> Markup {
    let base = format!("/console/profiles/{}", p.id);
    html! {
        section aria-labelledby="actions" {
            h2 id="actions" { "Actions" }
            @match p.status {
                ProfileStatus::Pending => p { "This profile waits for the app's claim: nothing to do yet." },
                ProfileStatus::Active => {
                    (action_button(&format!("{base}/refresh"), &signed.csrf, "Refresh now", false))
                    (action_button(&format!("{base}/reconnect"), &signed.csrf, "Create a reconnect link", false))
                    (action_button(&format!("{base}/disconnect"), &signed.csrf, "Disconnect", true))
                }
                _ => (action_button(&format!("{base}/reconnect"), &signed.csrf, "Create a reconnect link", false)),
            }
        }
    }
}

fn activity_table(rows: &[ActivityRow]) -> Markup {
    html! {
        section aria-labelledby="activity" {
            h2 id="activity" { "Activity" }
            @if rows.is_empty() {
                p { "No activity recorded for this profile yet." }
            } @else {
                div class="table-wrap" {
                    table {
                        caption { "The last " (ACTIVITY_SHOWN) " entries of this profile and its grant, newest first" }
                        thead { tr {
                            @for h in ["Time", "Kind", "Outcome", "Status", "Error code", "Error text"] {
                                th scope="col" { (h) }
                            }
                        } }
                        tbody {
                            @for a in rows {
                                tr {
                                    td { (when(a.at)) }
                                    td { (a.kind) }
                                    td { (a.outcome) }
                                    td class="num" { @if let Some(s) = a.status { (s) } }
                                    td { (a.code.as_deref().unwrap_or("")) }
                                    td { (a.detail.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The refusal of an action on a profile that waits for the app's claim.
fn waits_for_claim() -> ApiError {
    ApiError::new(ErrorCode::Conflict, "This profile waits for the app's claim: nothing can be done to it yet.")
}

/// A profile of any app by id (404 otherwise).
async fn profile(ctx: &Ctx, id: &str) -> ApiResult<ProfileRow> {
    Ok(store::profile_with_grant(&ctx.db()?, id).await?.ok_or_else(|| ApiError::not_found("profile"))?.0)
}

/// Refreshes the profile's grant now, under the same lease as the cron and the API's
/// forced refresh; back to the profile with what came of it.
pub async fn refresh(ctx: &Ctx, _signed: &Signed, _form: &Fields, id: &str) -> ApiResult<Response> {
    let p = profile(ctx, id).await?;
    require_active(&p)?;
    let code = match refresh_detached(ctx, &p.grant_id, None).await? {
        Outcome::Refreshed => "refreshed",
        // Another refresh stored new tokens while this one waited: no call was made.
        Outcome::NotNeeded => "refresh_not_needed",
        Outcome::Failed(Failure::Transient) | Outcome::TooLarge => "refresh_transient",
        Outcome::Failed(Failure::Terminal(_)) => "refresh_disconnected",
        // In flight, too young, no refresh, not configured: the API's sentence, as a page.
        other => {
            outcome_error(other)?;
            "refreshed"
        }
    };
    done(&format!("/console/profiles/{id}"), code)
}

/// Creates a reconnect link for the profile (what `POST /v1/connect-links` with its
/// `profile_id` creates), back to the app's first allowed redirect URL; the page shows the
/// link's `url` to send to the user and its expiry, never its consent URL or state.
pub async fn reconnect(ctx: &Ctx, signed: &Signed, _form: &Fields, id: &str) -> ApiResult<Response> {
    let p = profile(ctx, id).await?;
    if p.status == ProfileStatus::Pending {
        return Err(waits_for_claim());
    }
    let app = store::get_app(&ctx.db()?, &p.app_id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    let Some(redirect_url) = app.allowlist().into_iter().next() else {
        return Err(ApiError::invalid(
            "The app has no allowed redirect URL, so a reconnect link has nowhere to send the user back. \
             Add one to the app's allowed_redirect_urls first.",
        ));
    };
    let input = CreateLink {
        platform: Some(p.platform.clone()),
        redirect_url,
        profile_id: Some(p.id.clone()),
        ..CreateLink::default()
    };
    let (link, _consent) = create::one_platform(ctx, &app, &input, &p.platform).await?;
    let url = format!("{}/connect/{}", ctx.public_url, link.id);
    let body = html! {
        section aria-labelledby="link" {
            h2 id="link" { "Send this link to the user" }
            p { "Opening it takes " (account_label(&p)) " through " (p.platform) "'s consent again; the same profile comes back." }
            p class="secret" id="reconnect-url" { (url) }
            dl class="facts" {
                dt { "Link" } dd { (link.id) }
                dt { "Returns to" } dd { (link.redirect_url) }
                dt { "Expires" } dd { (when(link.expires_at)) }
            }
            p { a href={ "/console/profiles/" (p.id) } { "Back to the profile" } }
        }
    };
    page(signed, "Reconnect link", Nav::Profiles, None, body)
}

/// Disconnects an active profile: the row stays, disconnected by the operator; the app gets
/// `profile.disconnected`; the grant is revoked at the platform once no profile holds it.
pub async fn disconnect(ctx: &Ctx, _signed: &Signed, _form: &Fields, id: &str) -> ApiResult<Response> {
    let p = profile(ctx, id).await?;
    match p.status {
        ProfileStatus::Active => {}
        ProfileStatus::Pending => return Err(waits_for_claim()),
        _ => return Err(ApiError::new(ErrorCode::Conflict, "This profile is already disconnected.")),
    }
    // A racing disconnect (another tab, the platform, a refresh) may have ended it first:
    // then this call sent nothing, and the page says so.
    if !disconnect_profile(ctx, &p).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "This profile was disconnected meanwhile, by something else: nothing was sent."));
    }
    done(&format!("/console/profiles/{id}"), "disconnected")
}
