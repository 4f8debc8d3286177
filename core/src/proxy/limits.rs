//! What a platform's answer says about rate limits: its headers read into [`Limits`].

use crate::platforms::proxy_spec::{ProxySpec, RateHeaders};

/// How long a remembered 429 lasts when the platform names no time.
pub const DEFAULT_BLOCK_SECS: i64 = 60;
/// The longest a platform's answer may make us refuse calls: a broken or hostile header
/// must not block an account for days.
pub const MAX_BLOCK_SECS: i64 = 86_400;

/// What a platform's answer said about limits, for one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// For the account and this endpoint class: calls left in the window, and when it resets.
    pub profile_remaining: Option<(u32, i64)>,
    /// For the account and this endpoint class: refuse until then.
    pub profile_blocked_until: Option<i64>,
    /// For the account, every endpoint: refuse until then.
    pub account_blocked_until: Option<i64>,
    /// For the platform app: calls left and the reset.
    pub app_remaining: Option<(u32, i64)>,
    /// For the platform app, every endpoint: refuse until then.
    pub app_blocked_until: Option<i64>,
}

impl Limits {
    /// Whether a later call must be refused because of this answer (so the record must be
    /// written before the answer goes out, not after).
    pub fn blocks(&self, now: i64) -> bool {
        let spent = |r: Option<(u32, i64)>| r.is_some_and(|(n, reset)| n == 0 && reset > now);
        spent(self.profile_remaining)
            || spent(self.app_remaining)
            || [self.profile_blocked_until, self.account_blocked_until, self.app_blocked_until]
                .iter()
                .any(|t| t.is_some_and(|t| t > now))
    }

    /// Whether this answer ends an isolate's leases of the account's counters
    /// (`ratelimit::lease`): a block, or fewer calls left than
    /// [`LOW_REMAINING`](crate::ratelimit::lease::LOW_REMAINING) (from there on every call asks
    /// the limiter, which knows what the platform said).
    pub fn ends_account_leases(&self, now: i64) -> bool {
        low(self.profile_remaining)
            || [self.profile_blocked_until, self.account_blocked_until].iter().any(|t| t.is_some_and(|t| t > now))
    }

    /// [`Self::ends_account_leases`] for the platform app's block shards.
    pub fn ends_app_leases(&self, now: i64) -> bool {
        low(self.app_remaining) || self.app_blocked_until.is_some_and(|t| t > now)
    }

    /// The time a caller should wait before trying again, in seconds, if the answer said.
    pub fn retry_after_secs(&self, now: i64) -> Option<i64> {
        let reset = |r: Option<(u32, i64)>| r.filter(|(n, _)| *n == 0).map(|(_, t)| t);
        [
            self.profile_blocked_until,
            self.account_blocked_until,
            self.app_blocked_until,
            reset(self.profile_remaining),
            reset(self.app_remaining),
        ]
        .into_iter()
        .flatten()
        .max()
        .map(|t| (t - now).max(1))
    }

    /// Whether there is anything to record.
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}

/// Whether a platform's remaining count is low enough to stop leasing.
fn low(remaining: Option<(u32, i64)>) -> bool {
    remaining.is_some_and(|(n, _)| n < crate::ratelimit::lease::LOW_REMAINING)
}

/// Reads an answer's limit headers (`header` looks one up by lower-case name; `parse_date`
/// reads an HTTP date as epoch seconds). A 429 always blocks the account's endpoint class:
/// until `Retry-After`, else the platform's reset, else [`DEFAULT_BLOCK_SECS`]. Every time
/// is held to [`MAX_BLOCK_SECS`] from `now`.
pub fn read_limits(
    spec: &ProxySpec,
    status: u16,
    now: i64,
    header: &dyn Fn(&str) -> Option<String>,
    parse_date: &dyn Fn(&str) -> Option<i64>,
) -> Limits {
    let cap = |t: i64| t.clamp(now, now.saturating_add(MAX_BLOCK_SECS));
    let num =
        |name: &str| header(name).and_then(|v| crate::decimal::parse_f64(v.trim())).filter(|n| n.is_finite() && *n >= 0.0);
    let mut out = Limits::default();
    match spec.rate_headers {
        RateHeaders::None | RateHeaders::DailyUtc => {}
        RateHeaders::XRateLimit => {
            if let (Some(left), Some(reset)) = (num("x-rate-limit-remaining"), num("x-rate-limit-reset")) {
                out.profile_remaining = Some((left.min(u32::MAX as f64) as u32, cap(reset as i64)));
            }
        }
        RateHeaders::RedditRateLimit => {
            if let (Some(left), Some(reset)) = (num("x-ratelimit-remaining"), num("x-ratelimit-reset")) {
                // A decimal ("598.0"); below one whole call, nothing is left.
                let reset = reset.ceil().min(MAX_BLOCK_SECS as f64) as i64;
                out.app_remaining = Some((left.floor().min(u32::MAX as f64) as u32, cap(now.saturating_add(reset))));
            }
        }
        RateHeaders::MetaUsage => {
            let over = header("x-app-usage")
                .and_then(|v| serde_json::from_slice::<serde_json::Value>(v.as_bytes()).ok())
                .and_then(|v| {
                    v.as_object().map(|o| o.values().filter_map(serde_json::Value::as_f64).any(|p| p >= 100.0))
                })
                .unwrap_or(false);
            let regain = header("x-business-use-case-usage")
                .and_then(|v| serde_json::from_slice::<serde_json::Value>(v.as_bytes()).ok())
                .map(|v| max_regain_minutes(&v))
                .unwrap_or(0);
            if regain > 0 {
                // Meta throttles the whole Page or account, not one endpoint.
                out.account_blocked_until = Some(cap(now.saturating_add(regain * 60)));
            }
            if over {
                // The app's hourly allowance is spent; Meta names no reset for it.
                out.app_blocked_until = Some(cap(now.saturating_add(DEFAULT_BLOCK_SECS)));
            }
        }
    }
    if status == 429 {
        let retry_after = header("retry-after").and_then(|v| {
            let v = v.trim().to_string();
            match crate::decimal::parse_f64(&v) {
                // Seconds; a decimal is rounded up, and anything past the cap is the cap.
                Some(secs) if secs.is_finite() && secs >= 0.0 => {
                    Some(now.saturating_add(secs.ceil().min(MAX_BLOCK_SECS as f64) as i64))
                }
                Some(_) => None,
                None => parse_date(&v),
            }
        });
        let reset = out.profile_remaining.or(out.app_remaining).map(|(_, t)| t).filter(|t| *t > now);
        let midnight = (spec.rate_headers == RateHeaders::DailyUtc).then(|| (now.div_euclid(86_400) + 1) * 86_400);
        let until = retry_after.or(reset).or(midnight).unwrap_or(now.saturating_add(DEFAULT_BLOCK_SECS));
        let until = cap(until.max(now.saturating_add(1)));
        out.profile_blocked_until = Some(out.profile_blocked_until.map_or(until, |t| t.max(until)));
    }
    out
}

/// The longest `estimated_time_to_regain_access` (minutes) in a Business Use Case header:
/// `{"<business id>": [{"type": .., "estimated_time_to_regain_access": n, ..}]}`.
fn max_regain_minutes(v: &serde_json::Value) -> i64 {
    v.as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(|e| e.get("estimated_time_to_regain_access").and_then(serde_json::Value::as_i64))
        .max()
        .unwrap_or(0)
        .clamp(0, MAX_BLOCK_SECS / 60)
}
