//! The console's webhooks page: recent deliveries from the outbox, newest first, filtered by
//! app and state, paged by a cursor, with a "Retry now" button on what is not delivered.
//! Never the event's body: its type and, for a profile's event, the profile's id.

use super::layout::action_button;
use maud::{html, Markup};
use serde::Deserialize;

/// Rows per page.
pub const PAGE: u32 = 50;

/// One event of the outbox, as the page shows it.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct WebhookRow {
    /// `evt_...`, the `webhook-id`.
    pub id: String,
    /// The app told.
    pub app_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The profile a `profile.*` event is about.
    pub profile_id: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Attempts made.
    pub attempts: i64,
    /// The receiver's last status (0: no answer).
    pub last_status: Option<i64>,
    /// When the next attempt is due (`None` once settled).
    pub next_attempt_at: Option<i64>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
    /// When it was given up.
    pub failed_at: Option<i64>,
}

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A 2xx answered.
    Delivered,
    /// Waiting for an attempt (its first or a retry).
    Retrying,
    /// The retry schedule ran out.
    GivenUp,
}

impl State {
    /// Every state: its query value and its name.
    pub const ALL: [(State, &'static str, &'static str); 3] =
        [(State::Delivered, "delivered", "Delivered"), (State::Retrying, "retrying", "Retrying"), (State::GivenUp, "given_up", "Given up")];

    /// The state of a query value (`delivered`, `retrying`, `given_up`).
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.iter().find(|(_, v, _)| *v == s).map(|(st, _, _)| *st)
    }

    /// Its query value.
    pub fn value(self) -> &'static str {
        State::ALL.iter().find(|(st, _, _)| *st == self).map_or("", |(_, v, _)| v)
    }
}

impl WebhookRow {
    /// Where the event stands.
    pub fn state(&self) -> State {
        match (self.delivered_at, self.failed_at) {
            (Some(_), _) => State::Delivered,
            (None, Some(_)) if self.next_attempt_at.is_none() => State::GivenUp,
            _ => State::Retrying,
        }
    }

    /// The page cursor that lists the rows after this one (the API's list cursor, read back
    /// by [`crate::model::decode_cursor`]).
    pub fn cursor(&self) -> String {
        crate::model::encode_cursor(self.created_at, &self.id)
    }
}

/// What the page lists: its filters as the query gave them.
#[derive(Debug, Default)]
pub struct Filter {
    /// One app's events.
    pub app: Option<String>,
    /// One state.
    pub state: Option<State>,
    /// One event.
    pub event: Option<String>,
    /// Rows older than this cursor.
    pub before: Option<(i64, String)>,
}

impl Filter {
    /// The query string of these filters (without the cursor), `&`-joined and encoded.
    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(a) = &self.app {
            q.append_pair("app", a);
        }
        if let Some(s) = self.state {
            q.append_pair("state", s.value());
        }
        q.finish()
    }
}

/// The page's body: the filter form, the table (at most [`PAGE`] of `rows`; one more means
/// there is a next page), the pager. `apps`: `(id, name)` of every app, for the filter.
pub fn webhooks_body(rows: &[WebhookRow], apps: &[(String, String)], f: &Filter, csrf: &str, when: fn(i64) -> String) -> Markup {
    let shown = rows.get(..PAGE as usize).unwrap_or(rows);
    let more = rows.len() > shown.len();
    let name_of = |id: &str| apps.iter().find(|(a, _)| a == id).map_or(id.to_string(), |(_, n)| n.clone());
    let query = f.query();
    html! {
        form method="get" action="/console/webhooks" class="search" {
            div class="field" {
                label for="app" { "App" }
                select id="app" name="app" {
                    option value="" { "Every app" }
                    @for (id, name) in apps {
                        option value=(id) selected[f.app.as_deref() == Some(id.as_str())] { (name) }
                    }
                }
            }
            div class="field" {
                label for="state" { "State" }
                select id="state" name="state" {
                    option value="" { "Any" }
                    @for (st, value, name) in State::ALL {
                        option value=(value) selected[f.state == Some(st)] { (name) }
                    }
                }
            }
            div class="actions" { button type="submit" { "Filter" } }
        }
        @if shown.is_empty() {
            p { "No deliveries match." }
        } @else {
            div class="table-wrap" {
                table {
                    caption { "Webhook deliveries, newest first" }
                    thead { tr {
                        th scope="col" { "Event" } th scope="col" { "App" } th scope="col" { "Type" }
                        th scope="col" { "Created" } th scope="col" { "Attempts" } th scope="col" { "Last status" }
                        th scope="col" { "State" } th scope="col" { "Action" }
                    } }
                    tbody {
                        @for r in shown {
                            tr {
                                th scope="row" { code { (r.id) } }
                                td { a href=(format!("/console/apps/{}", r.app_id)) { (name_of(&r.app_id)) } }
                                td {
                                    (r.kind)
                                    @if let Some(p) = &r.profile_id { br; a href=(format!("/console/profiles/{p}")) { code { (p) } } }
                                }
                                td { (when(r.created_at)) }
                                td { (r.attempts) }
                                td { @match r.last_status { Some(0) => "no answer", Some(s) => (s), None => "—" } }
                                td {
                                    @match r.state() {
                                        State::Delivered => { "Delivered " (r.delivered_at.map(when).unwrap_or_default()) }
                                        State::GivenUp => { "Given up " (r.failed_at.map(when).unwrap_or_default()) }
                                        State::Retrying => { "Retrying, next " (r.next_attempt_at.map(when).unwrap_or_default()) }
                                    }
                                }
                                td {
                                    @if r.state() != State::Delivered {
                                        (action_button(&format!("/console/webhooks/{}/retry", r.id), csrf, "Retry now", false))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if f.before.is_some() || more {
            nav class="pager" aria-label="Pages" {
                @if f.before.is_some() { a href=(format!("/console/webhooks?{query}")) { "Newest" } }
                @if let (true, Some(last)) = (more, shown.last()) {
                    @let sep = if query.is_empty() { "" } else { "&" };
                    a href=(format!("/console/webhooks?{query}{sep}before={}", url::form_urlencoded::byte_serialize(last.cursor().as_bytes()).collect::<String>())) { "Older" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn when(at: i64) -> String {
        format!("t{at}")
    }

    fn row(id: &str, created: i64) -> WebhookRow {
        WebhookRow { id: id.into(), app_id: "app_1".into(), kind: "profile.connected".into(), created_at: created, attempts: 1, ..Default::default() }
    }

    #[test]
    fn states_and_cursors() {
        let mut r = row("evt_1", 5);
        r.next_attempt_at = Some(9);
        assert_eq!(r.state(), State::Retrying);
        r.next_attempt_at = None;
        r.failed_at = Some(7);
        assert_eq!(r.state(), State::GivenUp);
        r.delivered_at = Some(8);
        assert_eq!(r.state(), State::Delivered);
        assert_eq!(crate::model::decode_cursor(&r.cursor()), Some((5, "evt_1".into())));
        assert_eq!(crate::model::decode_cursor("x.y"), None);
        assert_eq!(State::parse("given_up"), Some(State::GivenUp));
        assert_eq!(State::parse("nope"), None);
    }

    #[test]
    fn rows_show_state_and_a_retry_button_unless_delivered() {
        let mut given_up = row("evt_g", 5);
        given_up.failed_at = Some(7);
        given_up.last_status = Some(500);
        given_up.profile_id = Some("prf_<1>".into());
        let mut delivered = row("evt_d", 4);
        delivered.delivered_at = Some(6);
        delivered.last_status = Some(200);
        let apps = vec![("app_1".to_string(), "Shop <1>".to_string())];
        let html = webhooks_body(&[given_up, delivered], &apps, &Filter::default(), "tok", when).into_string();
        assert!(html.contains("Given up t7"));
        assert!(html.contains("Delivered t6"));
        assert!(html.contains("prf_&lt;1&gt;") && html.contains("Shop &lt;1&gt;"));
        assert_eq!(html.matches("Retry now").count(), 1);
        assert!(html.contains(r#"action="/console/webhooks/evt_g/retry""#));
        assert!(!html.contains("class=\"pager\""));
    }

    #[test]
    fn a_full_page_links_to_the_older_rows_with_its_filters() {
        let rows: Vec<WebhookRow> = (0..51).map(|i| row(&format!("evt_{i}"), 1000 - i)).collect();
        let f = Filter { app: Some("app 1&x".into()), state: Some(State::GivenUp), ..Default::default() };
        let html = webhooks_body(&rows, &[], &f, "t", when).into_string();
        assert_eq!(html.matches("<tr><th scope=\"row\">").count(), 50);
        assert!(html.contains(r#"href="/console/webhooks?app=app+1%26x&amp;state=given_up&amp;before=951.evt_49""#), "{html}");
        assert!(html.contains(r#"<option value="given_up" selected>Given up</option>"#));
    }
}
