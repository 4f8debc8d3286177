//! Bar charts as inline SVG, drawn by the worker (no chart library, no script, no inline
//! style: the page policy refuses both). Colours come from the stylesheet's `.s0`..`.s4`
//! classes. Each chart is a `figure` with the SVG (`role="img"`, named by its `<title>` and
//! described by a `<desc>` that states the totals), a legend, and the same numbers as a table
//! in a `<details>`: the text alternative a screen reader or a copy-paste needs.

use maud::{html, Markup};

/// The SVG's coordinate box (640 × 220); the stylesheet scales it to the figure's width.
/// Lengths are in tenths of its unit, integers: no float formatting in the wasm.
const W: u64 = 6400;
const H: u64 = 2200;
/// Room for the y tick labels (left) and the x labels (bottom).
const LEFT: u64 = 440;
const RIGHT: u64 = 80;
const TOP: u64 = 100;
const BOTTOM: u64 = 280;
/// At most this many x labels are written (every k-th bucket), so they do not overlap.
const MAX_X_LABELS: usize = 8;

/// One chart: buckets along x (an hour, a day), series stacked (or side by side) in each.
pub struct Chart<'a> {
    /// Unique on the page: the prefix of the ids the SVG's `aria-labelledby` names.
    pub id: &'a str,
    /// The caption and the SVG's title.
    pub title: &'a str,
    /// The header of the table's first column ("Hour (UTC)").
    pub bucket_name: &'a str,
    /// The series' names, in drawing order (series `i` gets class `s{i}`; at most 5).
    pub series: &'a [&'a str],
    /// One label per bucket.
    pub labels: Vec<String>,
    /// `values[bucket][series]`.
    pub values: Vec<Vec<u64>>,
    /// Bars side by side instead of stacked (series that overlap, such as received and
    /// forwarded).
    pub grouped: bool,
}

/// The top of the y axis and its step: the smallest 1, 2 or 5 × 10^k step whose four steps
/// reach `max` (a zero max still gets an axis from 0 to 4).
pub fn scale(max: u64) -> (u64, u64) {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let s = step.saturating_mul(m);
            if s.saturating_mul(4) >= max {
                return (s.saturating_mul(4), s);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// A length in tenths, as SVG reads it (`102.8`).
fn coord(tenths: u64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

impl Chart<'_> {
    fn totals(&self) -> Vec<u64> {
        self.values.iter().map(|b| b.iter().sum()).collect()
    }

    /// The sentence of the SVG's `<desc>`: what the bars are and the totals per series.
    pub fn description(&self) -> String {
        let n = self.values.len();
        let span = match (self.labels.first(), self.labels.last()) {
            (Some(a), Some(b)) => format!("{n} bars ({}), from {a} to {b}", self.bucket_name),
            _ => "No bars".to_string(),
        };
        let sums: Vec<String> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{name} {}", self.values.iter().map(|b| b.get(i).copied().unwrap_or(0)).sum::<u64>()))
            .collect();
        let total: u64 = self.totals().iter().sum();
        if total == 0 {
            format!("{span}. No data: every value is 0.")
        } else {
            format!("{span}. Totals: {}.", sums.join(", "))
        }
    }

    /// The figure: caption, SVG, legend, and the numbers as a table.
    pub fn render(&self) -> Markup {
        let n = self.values.len().max(1) as u64;
        let max = if self.grouped {
            self.values.iter().flatten().copied().max().unwrap_or(0)
        } else {
            self.totals().into_iter().max().unwrap_or(0)
        };
        let (top, step) = scale(max);
        let ph = H - TOP - BOTTOM;
        let pw = W - LEFT - RIGHT;
        // Values are capped by the scale's top, so the products stay far from overflowing.
        let y = |v: u64| TOP + ph - ph.saturating_mul(v) / top;
        let slot = pw / n;
        let every = self.labels.len().div_ceil(MAX_X_LABELS).max(1);
        let nseries = self.series.len().max(1) as u64;
        let title_id = format!("{}-title", self.id);
        let desc_id = format!("{}-desc", self.id);
        html! {
            figure class="chart" {
                figcaption id=(format!("{}-cap", self.id)) { (self.title) }
                svg class="chart" viewBox=(format!("0 0 {} {}", W / 10, H / 10)) role="img"
                    aria-labelledby=(format!("{title_id} {desc_id}")) {
                    title id=(title_id) { (self.title) }
                    desc id=(desc_id) { (self.description()) }
                    @for t in (0..=top).step_by(step as usize) {
                        line class="axis" x1=(coord(LEFT)) x2=(coord(W - RIGHT)) y1=(coord(y(t))) y2=(coord(y(t))) {}
                        text x=(coord(LEFT - 60)) y=(coord(y(t) + 40)) text-anchor="end" { (t) }
                    }
                    line class="axis" x1=(coord(LEFT)) x2=(coord(LEFT)) y1=(coord(TOP)) y2=(coord(TOP + ph)) {}
                    @for (i, bucket) in self.values.iter().enumerate() {
                        @let x0 = LEFT + slot * i as u64 + slot / 10;
                        @let bw = slot * 8 / 10;
                        @for (s, bar) in bars(bucket, self.grouped).into_iter().enumerate() {
                            @if let Some((lo, hi)) = bar {
                                @let (x, w) = if self.grouped { (x0 + bw / nseries * s as u64, bw / nseries) } else { (x0, bw) };
                                rect class=(format!("s{s}")) x=(coord(x)) y=(coord(y(hi))) width=(coord(w)) height=(coord(y(lo) - y(hi))) {}
                            }
                        }
                        @if i % every == 0 {
                            @if let Some(label) = self.labels.get(i) {
                                text x=(coord(x0 + bw / 2)) y=(coord(H - 80)) text-anchor="middle" { (label) }
                            }
                        }
                    }
                }
                ul class="legend" {
                    @for (i, name) in self.series.iter().enumerate() {
                        li { span class=(format!("key s{i}")) aria-hidden="true" {} (name) }
                    }
                }
                details {
                    summary { "The numbers" }
                    div class="table-wrap" {
                        table {
                            caption { (self.title) }
                            thead { tr {
                                th scope="col" { (self.bucket_name) }
                                @for name in self.series { th scope="col" { (name) } }
                                @if !self.grouped { th scope="col" { "Total" } }
                            } }
                            tbody {
                                @for (i, bucket) in self.values.iter().enumerate() {
                                    tr {
                                        th scope="row" { (self.labels.get(i).map(String::as_str).unwrap_or_default()) }
                                        @for s in 0..self.series.len() { td { (bucket.get(s).copied().unwrap_or(0)) } }
                                        @if !self.grouped { td { (bucket.iter().sum::<u64>()) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Each series' bar in a bucket as (bottom, top) values: stacked on the ones before, or from
/// zero when grouped; `None` for a zero (no empty rectangle).
fn bars(bucket: &[u64], grouped: bool) -> Vec<Option<(u64, u64)>> {
    let mut base = 0u64;
    bucket
        .iter()
        .map(|&v| {
            let lo = if grouped { 0 } else { base };
            base += v;
            (v > 0).then_some((lo, lo + v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: Vec<Vec<u64>>) -> Chart<'static> {
        let labels = (0..values.len()).map(|i| format!("{i:02}:00")).collect();
        Chart { id: "r24", title: "Refreshes <per hour>", bucket_name: "Hour (UTC)", series: &["succeeded", "failed & co"], labels, values, grouped: false }
    }

    #[test]
    fn the_scale_is_round_and_reaches_the_max() {
        assert_eq!(scale(0), (4, 1));
        assert_eq!(scale(3), (4, 1));
        assert_eq!(scale(5), (8, 2));
        assert_eq!(scale(17), (20, 5));
        assert_eq!(scale(21), (40, 10));
        assert_eq!(scale(1000), (2000, 500));
        assert!(scale(u64::MAX).0 >= 1);
    }

    #[test]
    fn the_svg_is_named_described_and_has_axes_and_labels() {
        let html = chart(vec![vec![3, 1], vec![0, 0], vec![5, 0]]).render().into_string();
        assert!(html.contains(r#"role="img""#));
        assert!(html.contains(r#"aria-labelledby="r24-title r24-desc""#));
        assert!(html.contains(r#"<title id="r24-title">Refreshes &lt;per hour&gt;</title>"#), "{html}");
        assert!(html.contains(r#"<desc id="r24-desc">3 bars (Hour (UTC)), from 00:00 to 02:00. Totals: succeeded 8, failed &amp; co 1.</desc>"#), "{html}");
        // y ticks 0, 2, 4, 6, 8 and the x labels
        for t in [">0</text>", ">2</text>", ">8</text>", ">00:00</text>", ">02:00</text>"] {
            assert!(html.contains(t), "{t} in {html}");
        }
        assert_eq!(html.matches(r#"class="axis""#).count(), 6);
        // three non-zero values: three rectangles; the 1 stacks on the 3
        assert_eq!(html.matches("<rect").count(), 3);
        assert!(html.contains(r#"<rect class="s1""#));
        assert!(!html.contains("style="));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn stacked_bars_sit_on_each_other_and_reach_the_top() {
        let html = chart(vec![vec![2, 2]]).render().into_string();
        // top 4: the s1 bar starts at the plot's top (y = 10) and the s0 bar ends at its bottom
        assert!(html.contains(r#"<rect class="s1" x="102.8" y="10.0" width="470.4" height="91.0""#), "{html}");
        assert!(html.contains(r#"<rect class="s0" x="102.8" y="101.0" width="470.4" height="91.0""#), "{html}");
    }

    #[test]
    fn the_text_alternative_has_every_number() {
        let html = chart(vec![vec![3, 1], vec![0, 7]]).render().into_string();
        assert!(html.contains("<details><summary>The numbers</summary>"));
        assert!(html.contains(r#"<th scope="col">failed &amp; co</th><th scope="col">Total</th>"#), "{html}");
        assert!(html.contains(r#"<tr><th scope="row">00:00</th><td>3</td><td>1</td><td>4</td></tr>"#), "{html}");
        assert!(html.contains(r#"<tr><th scope="row">01:00</th><td>0</td><td>7</td><td>7</td></tr>"#), "{html}");
        assert!(html.contains(r#"<span class="key s1" aria-hidden="true"></span>failed &amp; co"#), "{html}");
    }

    #[test]
    fn empty_and_zero_data_draw_an_axis_and_say_so() {
        let zero = chart(vec![vec![0, 0]; 24]).render().into_string();
        assert!(!zero.contains("<rect"));
        assert!(zero.contains("No data: every value is 0."));
        assert!(zero.contains(">4</text>") && !zero.contains("NaN") && !zero.contains("inf"));
        // 24 buckets: every third one is labelled
        assert_eq!(zero.matches(r#"text-anchor="middle""#).count(), 8);
        let empty = chart(vec![]).render().into_string();
        assert!(empty.contains("No bars. No data"), "{empty}");
        assert!(!empty.contains("NaN"));
    }

    #[test]
    fn grouped_bars_stand_side_by_side() {
        let mut c = chart(vec![vec![4, 2]]);
        c.grouped = true;
        let html = c.render().into_string();
        assert!(html.contains(r#"<rect class="s0" x="102.8" y="10.0" width="235.2""#), "{html}");
        assert!(html.contains(r#"<rect class="s1" x="338.0" y="101.0" width="235.2""#), "{html}");
        assert!(!html.contains(">Total</th>"));
    }
}
