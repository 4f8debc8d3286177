//! The console's history (`activity`): its row as read, the search of the Activity page
//! (its fields, the query string its paging links carry), and the Activity page's table (a
//! profile's page shows a narrower one of its own, without the app, platform and profile
//! columns: `src/console/profiles.rs`). Plain data in, markup out.

use crate::time::rfc3339;
use maud::{html, Markup};
use serde::Deserialize;

/// Rows per page of the Activity page.
pub const PAGE_ROWS: u32 = 50;

/// What is recorded, in the order the search's kind menu lists them.
pub const KINDS: &[&str] = &["connected", "refresh", "disconnected", "revoked", "liveness", "proxy_error", "webhook"];

/// One row of the history, as the console reads it.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
pub struct ActivityRow {
    /// The row's id (newer is larger).
    pub id: i64,
    /// Epoch seconds.
    pub at: i64,
    /// The app.
    pub app_id: String,
    /// The platform id.
    pub platform: String,
    /// The profile, if it concerns one.
    pub profile_id: Option<String>,
    /// The grant, if known.
    pub grant_id: Option<String>,
    /// What happened.
    pub kind: String,
    /// How it ended.
    pub outcome: String,
    /// The answer's HTTP status.
    pub status: Option<i64>,
    /// The platform's error code.
    pub code: Option<String>,
    /// The platform's error text or the reason.
    pub detail: Option<String>,
}

/// The Activity page's search, as its form (GET) sends it; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// `app`: one app's rows.
    pub app: Option<String>,
    /// `platform`.
    pub platform: Option<String>,
    /// `kind`: one of [`KINDS`].
    pub kind: Option<String>,
    /// `outcome`.
    pub outcome: Option<String>,
    /// `profile`: one profile's rows.
    pub profile: Option<String>,
    /// `q`: text in the code or detail.
    pub text: Option<String>,
}

impl Search {
    /// The fields, by query name.
    fn fields(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("app", self.app.as_deref()),
            ("platform", self.platform.as_deref()),
            ("kind", self.kind.as_deref()),
            ("outcome", self.outcome.as_deref()),
            ("profile", self.profile.as_deref()),
            ("q", self.text.as_deref()),
        ]
    }

    /// The Activity page's path with this search and `before` (the next page), query-encoded.
    pub fn path(&self, before: Option<i64>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.fields() {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        if let Some(id) = before {
            q.append_pair("before", &id.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            "/console/activity".to_string()
        } else {
            format!("/console/activity?{q}")
        }
    }
}

/// The history's table: newest first as given, captioned `caption`; a profile links to its
/// page. `empty`: the sentence when there are no rows.
pub fn activity_table(rows: &[ActivityRow], caption: &str, empty: &str) -> Markup {
    html! {
        @if rows.is_empty() {
            p { (empty) }
        } @else {
            div class="table-wrap" {
                table {
                    caption { (caption) }
                    thead { tr {
                        @for h in ["Time", "App", "Platform", "Profile", "Kind", "Outcome"] { th scope="col" { (h) } }
                        th scope="col" class="num" { "Status" }
                        th scope="col" { "Code" }
                        th scope="col" { "Detail" }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                th scope="row" { time datetime=(rfc3339(r.at)) { (super::layout::when_exact(r.at)) } }
                                td { (r.app_id) }
                                td { (r.platform) }
                                td {
                                    @if let Some(p) = &r.profile_id {
                                        a href={ "/console/profiles/" (p) } { (p) }
                                    } @else if let Some(g) = &r.grant_id {
                                        "grant " (g)
                                    }
                                }
                                td { (r.kind) }
                                td { (r.outcome) }
                                td class="num" { @if let Some(s) = r.status { (s) } }
                                td { @if let Some(c) = &r.code { code { (c) } } }
                                td { @if let Some(d) = &r.detail { (d) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One text field of the search form.
fn field(id: &str, label: &str, value: Option<&str>) -> Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            input type="search" id=(id) name=(id) value=[value];
        }
    }
}

/// The Activity page's body: the search form, the table of `rows` (at most a page), and an
/// "Older" link when `older` (the last row's id: there may be more).
pub fn activity_body(s: &Search, rows: &[ActivityRow], older: Option<i64>) -> Markup {
    let caption = match rows.len() {
        0 => "No entries".to_string(),
        1 => "1 entry, newest first".to_string(),
        n => format!("{n} entries, newest first"),
    };
    html! {
        form method="get" action="/console/activity" class="search" role="search" aria-label="Search the history" {
            (field("app", "App id", s.app.as_deref()))
            (field("platform", "Platform", s.platform.as_deref()))
            div class="field" {
                label for="kind" { "Kind" }
                select id="kind" name="kind" {
                    option value="" { "Any" }
                    @for k in KINDS {
                        option value=(k) selected[s.kind.as_deref() == Some(*k)] { (k) }
                    }
                }
            }
            (field("outcome", "Outcome", s.outcome.as_deref()))
            (field("profile", "Profile id", s.profile.as_deref()))
            (field("q", "Code or text", s.text.as_deref()))
            div class="actions" { button type="submit" { "Search" } }
        }
        (activity_table(rows, &caption, "Nothing recorded matches this search."))
        @if older.is_some() || s != &Search::default() {
            nav class="pager" aria-label="Pages" {
                @if let Some(id) = older {
                    a href=(s.path(Some(id))) rel="next" { "Older" }
                }
                a href=(s.path(None)) { "Newest" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> ActivityRow {
        ActivityRow {
            id,
            at: 1_765_000_000,
            app_id: "app_1".into(),
            platform: "x".into(),
            profile_id: Some("prf_<1>".into()),
            kind: "refresh".into(),
            outcome: "disconnected".into(),
            status: Some(400),
            code: Some("invalid_grant".into()),
            detail: Some("<b>revoked</b>".into()),
            ..ActivityRow::default()
        }
    }

    #[test]
    fn the_table_is_captioned_with_header_cells_and_escapes_the_platform_text() {
        let html = activity_table(&[row(7)], "Last entries", "none").into_string();
        assert!(html.contains("<caption>Last entries</caption>"));
        assert!(html.contains(r#"<th scope="col">Kind</th>"#));
        assert!(html.contains(r#"<th scope="row"><time datetime="2025-12-06T05:46:40Z">2025-12-06 05:46:40 UTC</time></th>"#));
        assert!(html.contains(r#"<a href="/console/profiles/prf_&lt;1&gt;">prf_&lt;1&gt;</a>"#));
        assert!(html.contains("&lt;b&gt;revoked&lt;/b&gt;") && !html.contains("<b>"));
        assert!(html.contains("<code>invalid_grant</code>") && html.contains(">400<"));
        assert_eq!(activity_table(&[], "c", "Nothing here.").into_string(), "<p>Nothing here.</p>");
    }

    #[test]
    fn paging_links_keep_the_search() {
        let s = Search { kind: Some("proxy_error".into()), text: Some("rate & limit".into()), ..Search::default() };
        assert_eq!(s.path(Some(42)), "/console/activity?kind=proxy_error&q=rate+%26+limit&before=42");
        assert_eq!(Search::default().path(None), "/console/activity");
        let html = activity_body(&s, &[row(43), row(42)], Some(42)).into_string();
        assert!(html.contains(r#"href="/console/activity?kind=proxy_error&amp;q=rate+%26+limit&amp;before=42" rel="next">Older"#));
        assert!(html.contains(r#"<option value="proxy_error" selected>proxy_error</option>"#));
        assert!(html.contains(r#"<label for="q">Code or text</label>"#) && html.contains(r#"value="rate &amp; limit""#));
        assert!(html.contains("2 entries, newest first"));
    }

    #[test]
    fn no_older_link_on_the_last_page() {
        let html = activity_body(&Search::default(), &[row(1)], None).into_string();
        assert!(!html.contains("Older") && !html.contains("class=\"pager\""));
    }
}
