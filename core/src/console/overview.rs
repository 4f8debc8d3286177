//! The console's overview page, from the counts its queries return (`src/store/console.rs`):
//! profiles by platform and status, refreshes, proxied calls, webhook deliveries and platform
//! events, as tables and [`chart`]s. Every query returns the same shape of count, a [`Cell`],
//! so one decoder reads them all.

use super::chart::Chart;
use crate::time::rfc3339;
use maud::{html, Markup};

/// One count: `(bucket, key, platform, n)`. `bucket` is the hour (or day) index from the
/// window's first one; `key` the series (an outcome, a class, a state); `platform` is empty
/// where the query does not split by platform.
pub type Cell = (i64, String, String, u64);

/// The bucket of the webhook counts that holds the last 24 hours' totals (the others are the
/// days of the 30-day window).
pub const LAST_24H: i64 = -1;

/// Hours in the hourly windows, days in the daily one.
pub const HOURS: i64 = 24;
/// Days in the daily window.
pub const DAYS: i64 = 30;

/// The first hour (epoch hours) and the first day (epoch days) of the windows that end now.
pub fn windows(now: i64) -> (i64, i64) {
    (now.div_euclid(3600) - (HOURS - 1), now.div_euclid(86_400) - (DAYS - 1))
}

/// What the overview shows, as its queries counted it.
#[derive(Debug, Default)]
pub struct Overview {
    /// Epoch seconds: the windows end at this time's hour (day).
    pub now: i64,
    /// `(0, status, platform, n)`.
    pub profiles: Vec<Cell>,
    /// `(hour, outcome, "", n)`: refreshes of the last 24 hours (`ok`, `transient`, `disconnected`).
    pub refresh_hours: Vec<Cell>,
    /// `(day, outcome, "", n)`: refreshes of the last 30 days.
    pub refresh_days: Vec<Cell>,
    /// `(hour, class, platform, n)`: proxied calls (`ok`, `4xx`, `5xx`, `429`, `refused`).
    pub proxy: Vec<Cell>,
    /// `(day or LAST_24H, state, "", n)`: `delivered`, `given_up`; `retrying` (now, bucket 0).
    pub webhooks: Vec<Cell>,
    /// `(hour, received | forwarded, platform, n)`.
    pub events: Vec<Cell>,
}

const REFRESH: [(&str, &str); 3] = [("ok", "Succeeded"), ("transient", "Transient failure"), ("disconnected", "Disconnected")];
const PROXY: [(&str, &str); 5] =
    [("ok", "2xx/3xx"), ("4xx", "4xx"), ("5xx", "5xx"), ("429", "429 from the platform"), ("refused", "Refused here (rate limit)")];
const WEBHOOK: [(&str, &str); 2] = [("delivered", "Delivered"), ("given_up", "Given up")];
const EVENTS: [(&str, &str); 2] = [("received", "Received"), ("forwarded", "Forwarded")];

/// `values[bucket][series]` over `n` buckets from the cells (of `platform`, if given) whose key
/// is one of `keys`; cells outside the window are left out.
pub fn buckets(cells: &[Cell], n: i64, keys: &[(&str, &str)], platform: Option<&str>) -> Vec<Vec<u64>> {
    let mut out = vec![vec![0u64; keys.len()]; n.max(0) as usize];
    for (b, key, p, count) in cells {
        if platform.is_some_and(|want| want != p) || *b < 0 || *b >= n {
            continue;
        }
        if let (Some(s), Some(row)) = (keys.iter().position(|(k, _)| k == key), out.get_mut(*b as usize)) {
            row[s] += count;
        }
    }
    out
}

/// The sum of the cells with key `key` (and bucket `bucket`, if given) of `platform` (if given).
fn total(cells: &[Cell], key: &str, bucket: Option<i64>, platform: Option<&str>) -> u64 {
    cells
        .iter()
        .filter(|(b, k, p, _)| k == key && bucket.is_none_or(|want| *b == want) && platform.is_none_or(|want| want == p))
        .map(|c| c.3)
        .sum()
}

/// The distinct platforms of the cells, sorted.
fn platforms(cells: &[Cell]) -> Vec<&str> {
    let mut out: Vec<&str> = cells.iter().map(|c| c.2.as_str()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn hour_labels(first_hour: i64) -> Vec<String> {
    (0..HOURS).map(|i| rfc3339((first_hour + i) * 3600).get(11..16).unwrap_or_default().to_string()).collect()
}

fn day_labels(first_day: i64) -> Vec<String> {
    (0..DAYS).map(|i| rfc3339((first_day + i) * 86_400).get(5..10).unwrap_or_default().to_string()).collect()
}

fn names(keys: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    keys.iter().map(|(_, name)| *name).collect()
}

/// A stacked chart over the hours (or `daily`, the days) of the windows.
fn chart<'a>(id: &'a str, title: &'a str, labels: &[String], daily: bool, series: &'a [&'a str], values: Vec<Vec<u64>>) -> Chart<'a> {
    let bucket_name = if daily { "Day (UTC)" } else { "Hour (UTC)" };
    Chart { id, title, bucket_name, series, labels: labels.to_vec(), values, grouped: false }
}

/// The overview's body.
pub fn overview_body(o: &Overview) -> Markup {
    let (first_hour, first_day) = windows(o.now);
    let hours = hour_labels(first_hour);
    let days = day_labels(first_day);
    let (refresh, proxy, webhook, events) = (names(&REFRESH), names(&PROXY), names(&WEBHOOK), names(&EVENTS));
    html! {
        p class="hint" { "Counts up to " (super::layout::when(o.now)) ". Hours and days are UTC; the current hour and day are partial." }
        section aria-labelledby="profiles-h" {
            h2 id="profiles-h" { "Profiles" }
            (profiles_table(&o.profiles))
        }
        section aria-labelledby="refresh-h" {
            h2 id="refresh-h" { "Refreshes" }
            div class="charts" {
                (chart("refresh-24h", "Refreshes per hour, last 24 hours", &hours, false, &refresh, buckets(&o.refresh_hours, HOURS, &REFRESH, None)).render())
                (chart("refresh-30d", "Refreshes per day, last 30 days", &days, true, &refresh, buckets(&o.refresh_days, DAYS, &REFRESH, None)).render())
            }
        }
        section aria-labelledby="proxy-h" {
            h2 id="proxy-h" { "Proxied calls, last 24 hours" }
            p class="hint" { "4xx and 5xx: the platform's answers and the worker's own refusals of a bad call; 429: the platform's rate limit; refused here: calls the worker turned down before calling the platform (a spent budget or a remembered 429)." }
            (totals_table("Proxied calls per platform, last 24 hours", &o.proxy, &PROXY, None))
            div class="charts" {
                @for p in platforms(&o.proxy) {
                    @let id = format!("proxy-{p}");
                    @let title = format!("{p}: calls per hour");
                    (chart(&id, &title, &hours, false, &proxy, buckets(&o.proxy, HOURS, &PROXY, Some(p))).render())
                }
            }
        }
        section aria-labelledby="webhooks-h" {
            h2 id="webhooks-h" { "Webhook deliveries" }
            (webhook_table(&o.webhooks))
            div class="charts" {
                (chart("webhooks-30d", "Webhook deliveries per day, last 30 days", &days, true, &webhook, buckets(&o.webhooks, DAYS, &WEBHOOK, None)).render())
            }
        }
        section aria-labelledby="events-h" {
            h2 id="events-h" { "Platform events, last 24 hours" }
            (totals_table("Platform events per platform, last 24 hours", &o.events, &EVENTS, None))
            div class="charts" {
                (Chart { grouped: true, ..chart("events-24h", "Platform events per hour", &hours, false, &events, buckets(&o.events, HOURS, &EVENTS, None)) }.render())
            }
        }
    }
}

/// Profiles per platform (rows) and status (columns), with totals.
fn profiles_table(cells: &[Cell]) -> Markup {
    let mut statuses: Vec<&str> = cells.iter().map(|c| c.1.as_str()).collect();
    let order = |s: &str| ["active", "pending", "disconnected"].iter().position(|k| *k == s).unwrap_or(3);
    statuses.sort_by(|a, b| order(a).cmp(&order(b)).then(a.cmp(b)));
    statuses.dedup();
    let keys: Vec<(&str, &str)> = statuses.iter().map(|s| (*s, *s)).collect();
    totals_table("Profiles per platform and status", cells, &keys, Some("No profiles yet."))
}

/// A table of one row per platform and one column per key (plus the total), summed over
/// every bucket; `empty`: the sentence when there are no cells.
fn totals_table(caption: &str, cells: &[Cell], keys: &[(&str, &str)], empty: Option<&str>) -> Markup {
    let plats = platforms(cells);
    html! {
        @if plats.is_empty() {
            p { (empty.unwrap_or("None in this window.")) }
        } @else {
            div class="table-wrap" {
                table {
                    caption { (caption) }
                    thead { tr {
                        th scope="col" { "Platform" }
                        @for (_, name) in keys { th scope="col" { (name) } }
                        th scope="col" { "Total" }
                    } }
                    tbody {
                        @for p in &plats {
                            tr {
                                th scope="row" { (p) }
                                @for (k, _) in keys { td { (total(cells, k, None, Some(p))) } }
                                td { (keys.iter().map(|(k, _)| total(cells, k, None, Some(p))).sum::<u64>()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Webhook deliveries: delivered and given up in the last 24 hours and 30 days, and those
/// waiting for an attempt now.
fn webhook_table(cells: &[Cell]) -> Markup {
    let month = |k: &str| (0..DAYS).map(|d| total(cells, k, Some(d), None)).sum::<u64>();
    html! {
        div class="table-wrap" {
            table {
                caption { "Webhook deliveries" }
                thead { tr { th scope="col" { "State" } th scope="col" { "Last 24 hours" } th scope="col" { "Last 30 days" } } }
                tbody {
                    @for (k, name) in WEBHOOK {
                        tr { th scope="row" { (name) } td { (total(cells, k, Some(LAST_24H), None)) } td { (month(k)) } }
                    }
                    tr { th scope="row" { "Retrying (waiting for an attempt now)" } td colspan="2" { (total(cells, "retrying", None, None)) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(b: i64, k: &str, p: &str, n: u64) -> Cell {
        (b, k.into(), p.into(), n)
    }

    #[test]
    fn buckets_place_counts_and_drop_what_is_outside() {
        let cells = vec![c(0, "ok", "", 2), c(23, "transient", "", 1), c(24, "ok", "", 9), c(-1, "ok", "", 9), c(5, "other", "", 9)];
        let v = buckets(&cells, HOURS, &REFRESH, None);
        assert_eq!(v.len(), 24);
        assert_eq!(v[0], vec![2, 0, 0]);
        assert_eq!(v[23], vec![0, 1, 0]);
        assert_eq!(v.iter().flatten().sum::<u64>(), 3);
        let by = buckets(&[c(1, "429", "x", 4), c(1, "429", "y", 5)], HOURS, &PROXY, Some("x"));
        assert_eq!(by[1], vec![0, 0, 0, 4, 0]);
    }

    #[test]
    fn windows_end_at_the_current_hour_and_day() {
        let now = 86_400 * 100 + 3600 * 5 + 10;
        assert_eq!(windows(now), (100 * 24 + 5 - 23, 100 - 29));
        assert_eq!(hour_labels(0)[23], "23:00");
        assert_eq!(day_labels(0)[0], "01-01");
    }

    #[test]
    fn the_page_has_each_section_and_escapes_platforms() {
        let o = Overview {
            now: 86_400 * 100,
            profiles: vec![c(0, "active", "x<", 3), c(0, "disconnected", "x<", 1), c(0, "active", "linkedin", 2)],
            webhooks: vec![c(LAST_24H, "delivered", "", 4), c(29, "delivered", "", 4), c(3, "given_up", "", 2), c(0, "retrying", "", 7)],
            proxy: vec![c(23, "refused", "x<", 6)],
            ..Default::default()
        };
        let html = overview_body(&o).into_string();
        assert!(html.contains(r#"<tr><th scope="row">x&lt;</th><td>3</td><td>1</td><td>4</td></tr>"#), "{html}");
        assert!(html.contains(r#"<tr><th scope="row">Delivered</th><td>4</td><td>4</td></tr>"#), "{html}");
        assert!(html.contains(r#"<tr><th scope="row">Given up</th><td>0</td><td>2</td></tr>"#), "{html}");
        assert!(html.contains(r#"<td colspan="2">7</td>"#));
        assert!(html.contains(r#"aria-labelledby="proxy-x&lt;-title proxy-x&lt;-desc""#), "{html}");
        assert!(html.contains("Refused here (rate limit) 6."));
        assert_eq!(html.matches("<svg").count(), 5);
        assert!(!html.contains("style="));
    }
}
