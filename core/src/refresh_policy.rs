//! When a profile's tokens should next be looked at (api.md section 7), in each app's
//! refresh mode.

use crate::platforms::RefreshKind;
use serde::{Deserialize, Serialize};

/// The proactive lead before an access token's expiry: a quarter of its life, at least this.
pub const MIN_LEAD: i64 = 5 * 60;
/// ... and at most this.
pub const MAX_LEAD: i64 = 7 * 24 * 3600;
/// A self-exchange token is never exchanged younger than this (Meta refuses it).
pub const SELF_EXCHANGE_MIN_AGE: i64 = 24 * 3600;
/// Platforms without refresh are warned this long before expiry.
pub const EXPIRING_NOTICE: i64 = 7 * 24 * 3600;
/// A read (`GET /access-token`, the proxy) refreshes first when the access token expires
/// within this many seconds: long enough for the app's call to land with a live token.
pub const READ_LEAD: i64 = 5 * 60;

/// How an app keeps its profiles' tokens (`apps.refresh_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshMode {
    /// Every access token is refreshed by the cron before it expires: a read never waits.
    #[default]
    Proactive,
    /// The cron keeps alive only what would otherwise die (refresh tokens that expire or
    /// idle out, self-exchange tokens, expiring notices); a short-lived access token is
    /// refreshed when it is read.
    OnDemand,
}

impl RefreshMode {
    /// The stored and shown value.
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshMode::Proactive => "proactive",
            RefreshMode::OnDemand => "on_demand",
        }
    }
    /// Reads a stored value; anything unknown is the mode that never lets a token lapse.
    pub fn from_stored(s: &str) -> Self {
        Self::parse(s).unwrap_or_default()
    }
    /// Reads a value from a request: exactly `proactive` or `on_demand`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "proactive" => Some(RefreshMode::Proactive),
            "on_demand" => Some(RefreshMode::OnDemand),
            _ => None,
        }
    }
}

/// How long a rotating refresh token whose platform documents no lifetime (X, a custom
/// provider) is assumed to live unused. The cron keeps such tokens alive in `on_demand`, as
/// it keeps every refresh token that rotates or idles out: a keep-alive every 23 days costs
/// about 43 platform calls per 1,000 profile-days, against a token dying unseen.
pub const UNKNOWN_ROTATING_IDLE: i64 = 30 * 24 * 3600;

/// A grant's token times, as stored (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTimes {
    /// When the current tokens were issued (the refresh token last used).
    pub issued_at: i64,
    /// When the access token expires (`None`: never).
    pub access_expires_at: Option<i64>,
    /// When the refresh token expires, where the platform said so.
    pub refresh_expires_at: Option<i64>,
    /// Whether a refresh token is held at all.
    pub has_refresh_token: bool,
}

/// The next time the cron must act on a grant in `mode` (`None`: never, the liveness check
/// or a read takes over). `refresh_idle_secs` is the platform's documented lifetime of an
/// unused refresh token ([`crate::platforms::Platform::refresh_idle_secs`]).
///
/// `Proactive` is [`next_refresh_at`]. `OnDemand` is the same for `self_exchange` and `none`
/// (those tokens die unless exchanged, or need their notice) and for a grant that holds no
/// refresh token (it is a `none` grant in all but name). For refresh tokens it is the
/// earlier of two keep-alives, each a quarter of the remaining life ahead (5 minutes to 7
/// days, as access tokens): before the refresh token's known expiry, and before the
/// platform's idle window runs out since its last use. A rotating refresh token with
/// neither known is assumed to idle out after [`UNKNOWN_ROTATING_IDLE`]. A plain refresh
/// token with neither known: nothing, the access token is refreshed when read.
pub fn next_action_at(
    mode: RefreshMode,
    kind: RefreshKind,
    refresh_idle_secs: Option<i64>,
    t: &TokenTimes,
) -> Option<i64> {
    let refreshes = matches!(kind, RefreshKind::RefreshToken | RefreshKind::RotatingRefreshToken);
    if mode == RefreshMode::Proactive || !refreshes {
        return next_refresh_at(kind, t.issued_at, t.access_expires_at);
    }
    if !t.has_refresh_token {
        return next_refresh_at(RefreshKind::None, t.issued_at, t.access_expires_at);
    }
    // An access token that never expires is never refreshed in either mode.
    t.access_expires_at?;
    let before_expiry = t.refresh_expires_at.and_then(|dies| keep_alive_before(t.issued_at, dies));
    let assumed_idle = (kind == RefreshKind::RotatingRefreshToken && t.refresh_expires_at.is_none())
        .then_some(UNKNOWN_ROTATING_IDLE);
    let before_idle =
        refresh_idle_secs.or(assumed_idle).and_then(|idle| keep_alive_before(t.issued_at, t.issued_at + idle));
    match (before_expiry, before_idle) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// When to use a refresh token issued (or last used) at `issued_at` that dies at `dies_at`:
/// a quarter of its life ahead, clamped like access tokens. `None` once that moment is not
/// after `issued_at`: a refresh would not move its death (an absolute expiry, reached), so
/// repeating it would only spend calls.
fn keep_alive_before(issued_at: i64, dies_at: i64) -> Option<i64> {
    let lead = ((dies_at - issued_at).max(0) / 4).clamp(MIN_LEAD, MAX_LEAD);
    let at = dies_at - lead;
    (at > issued_at).then_some(at)
}

/// Whether a read at `now` must refresh first: the platform refreshes, and the access token
/// expires within [`READ_LEAD`] (or has expired). The same rule in both modes.
pub fn refresh_on_read(kind: RefreshKind, now: i64, access_expires_at: Option<i64>) -> bool {
    kind != RefreshKind::None && access_expires_at.is_some_and(|e| e - now < READ_LEAD)
}

/// The proactive schedule: the next time the lifecycle job should act on a token issued at
/// `issued_at` that expires at `expires_at` (`None`: never expires, nothing to do).
///
/// Refresh when a quarter of the lifetime is left, but at least 5 minutes and at most
/// 7 days before expiry; `self_exchange` never before the token is 24 h old; `none`
/// seven days before expiry (to warn), at the latest at expiry.
pub fn next_refresh_at(kind: RefreshKind, issued_at: i64, expires_at: Option<i64>) -> Option<i64> {
    let expires_at = expires_at?;
    let lifetime = (expires_at - issued_at).max(0);
    match kind {
        RefreshKind::None => Some((expires_at - EXPIRING_NOTICE).max(issued_at)),
        RefreshKind::RefreshToken | RefreshKind::RotatingRefreshToken | RefreshKind::SelfExchange => {
            let lead = (lifetime / 4).clamp(MIN_LEAD, MAX_LEAD);
            let at = (expires_at - lead).max(issued_at);
            if kind == RefreshKind::SelfExchange {
                Some(at.max(issued_at + SELF_EXCHANGE_MIN_AGE))
            } else {
                Some(at)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RefreshKind::{RefreshToken, RotatingRefreshToken, SelfExchange};

    #[test]
    fn leads_follow_the_contract_examples() {
        let h = 3600;
        assert_eq!(next_refresh_at(RefreshToken, 0, Some(h)), Some(h - 15 * 60));
        assert_eq!(next_refresh_at(RotatingRefreshToken, 0, Some(2 * h)), Some(2 * h - 30 * 60));
        let d30 = 30 * 24 * h;
        assert_eq!(next_refresh_at(RefreshToken, 0, Some(d30)), Some(d30 - 7 * 24 * h));
        assert_eq!(next_refresh_at(RefreshToken, 0, Some(600)), Some(300));
        assert_eq!(next_refresh_at(RefreshToken, 0, None), None);
    }

    #[test]
    fn self_exchange_waits_24_hours() {
        let d60 = 60 * 24 * 3600;
        assert_eq!(next_refresh_at(SelfExchange, 0, Some(d60)), Some(d60 - 7 * 24 * 3600));
        assert_eq!(next_refresh_at(SelfExchange, 0, Some(3600)), Some(24 * 3600));
    }

    #[test]
    fn none_warns_seven_days_ahead() {
        let d60 = 60 * 24 * 3600;
        assert_eq!(next_refresh_at(RefreshKind::None, 0, Some(d60)), Some(d60 - 7 * 24 * 3600));
    }

    const H: i64 = 3600;
    const D: i64 = 24 * H;

    fn times(access: Option<i64>, refresh: Option<i64>, has_refresh: bool) -> TokenTimes {
        TokenTimes {
            issued_at: 0,
            access_expires_at: access,
            refresh_expires_at: refresh,
            has_refresh_token: has_refresh,
        }
    }

    #[test]
    fn proactive_is_the_access_token_schedule_for_every_kind() {
        use RefreshMode::Proactive;
        let t = times(Some(H), Some(365 * D), true);
        for kind in [RefreshToken, RotatingRefreshToken, SelfExchange, RefreshKind::None] {
            assert_eq!(
                next_action_at(Proactive, kind, Some(180 * D), &t),
                next_refresh_at(kind, 0, Some(H)),
                "{kind:?}"
            );
        }
        assert_eq!(next_action_at(Proactive, RefreshToken, None, &t), Some(H - 15 * 60));
        assert_eq!(next_action_at(Proactive, RefreshToken, None, &times(None, None, true)), None);
    }

    #[test]
    fn on_demand_leaves_a_plain_refresh_token_to_reads() {
        let t = times(Some(H), None, true);
        // YouTube-like with no documented idle window, Reddit: nothing for the cron.
        assert_eq!(next_action_at(RefreshMode::OnDemand, RefreshToken, None, &t), None);
    }

    #[test]
    fn on_demand_keeps_a_rotating_token_of_unknown_lifetime_alive() {
        // X: no documented lifetime, so an assumed 30 idle days, kept alive a week ahead.
        let t = times(Some(2 * H), None, true);
        assert_eq!(next_action_at(RefreshMode::OnDemand, RotatingRefreshToken, None, &t), Some(23 * D));
        // A documented idle window wins over the assumption.
        assert_eq!(next_action_at(RefreshMode::OnDemand, RotatingRefreshToken, Some(180 * D), &t), Some(173 * D));
    }

    #[test]
    fn on_demand_keeps_an_idle_expiring_refresh_token_alive() {
        // Google: unused for six months, the refresh token dies; used a week before.
        let t = times(Some(H), None, true);
        assert_eq!(next_action_at(RefreshMode::OnDemand, RefreshToken, Some(180 * D), &t), Some(173 * D));
        // A short idle window keeps a quarter of it ahead.
        assert_eq!(next_action_at(RefreshMode::OnDemand, RefreshToken, Some(4 * D), &t), Some(3 * D));
    }

    #[test]
    fn on_demand_keeps_a_rotating_refresh_token_alive_before_its_known_expiry() {
        // TikTok, Pinterest: 365 days; Bluesky: 90 days.
        let od = RefreshMode::OnDemand;
        assert_eq!(next_action_at(od, RotatingRefreshToken, None, &times(Some(D), Some(365 * D), true)), Some(358 * D));
        assert_eq!(
            next_action_at(od, RotatingRefreshToken, None, &times(Some(2 * H), Some(90 * D), true)),
            Some(83 * D)
        );
        // A short one: a quarter of its life ahead, at least 5 minutes.
        assert_eq!(
            next_action_at(od, RotatingRefreshToken, None, &times(Some(60), Some(2 * H), true)),
            Some(2 * H - 30 * 60)
        );
        assert_eq!(next_action_at(od, RotatingRefreshToken, None, &times(Some(60), Some(1000), true)), Some(700));
        // The earlier of a known expiry and the idle window.
        assert_eq!(next_action_at(od, RefreshToken, Some(30 * D), &times(Some(H), Some(365 * D), true)), Some(23 * D));
        assert_eq!(next_action_at(od, RefreshToken, None, &times(Some(H), Some(365 * D), true)), Some(358 * D));
    }

    #[test]
    fn on_demand_stops_when_a_refresh_cannot_move_the_expiry() {
        // Within 5 minutes of its death (or past it): a keep-alive would not help.
        let od = RefreshMode::OnDemand;
        assert_eq!(next_action_at(od, RotatingRefreshToken, None, &times(Some(H), Some(300), true)), None);
        assert_eq!(next_action_at(od, RotatingRefreshToken, None, &times(Some(H), Some(-5), true)), None);
    }

    #[test]
    fn on_demand_is_proactive_for_self_exchange_and_none() {
        let od = RefreshMode::OnDemand;
        let d60 = times(Some(60 * D), None, false);
        assert_eq!(next_action_at(od, SelfExchange, None, &d60), Some(53 * D));
        assert_eq!(next_action_at(od, SelfExchange, None, &times(Some(H), None, false)), Some(D));
        assert_eq!(next_action_at(od, RefreshKind::None, None, &d60), Some(53 * D));
        assert_eq!(next_action_at(od, RefreshKind::None, None, &times(None, None, false)), None);
    }

    #[test]
    fn on_demand_without_a_refresh_token_gets_the_expiring_notice() {
        // X without offline.access: the cron warns and ends it like a platform without refresh.
        let od = RefreshMode::OnDemand;
        assert_eq!(next_action_at(od, RotatingRefreshToken, Some(180 * D), &times(Some(2 * H), None, false)), Some(0));
        assert_eq!(next_action_at(od, RefreshToken, None, &times(Some(30 * D), None, false)), Some(23 * D));
    }

    #[test]
    fn on_demand_never_acts_on_a_token_that_never_expires() {
        let t = times(None, Some(365 * D), true);
        assert_eq!(next_action_at(RefreshMode::OnDemand, RotatingRefreshToken, Some(180 * D), &t), None);
    }

    #[test]
    fn reads_refresh_within_five_minutes_of_expiry() {
        assert!(refresh_on_read(RefreshToken, 0, Some(299)));
        assert!(refresh_on_read(RotatingRefreshToken, 0, Some(-10)), "an expired token is refreshed, not returned");
        assert!(!refresh_on_read(RefreshToken, 0, Some(300)));
        assert!(!refresh_on_read(RefreshKind::None, 0, Some(10)));
        assert!(!refresh_on_read(SelfExchange, 0, None));
    }

    #[test]
    fn modes_read_and_show_their_names() {
        for m in [RefreshMode::Proactive, RefreshMode::OnDemand] {
            assert_eq!(RefreshMode::parse(m.as_str()), Some(m));
            assert_eq!(RefreshMode::from_stored(m.as_str()), m);
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::json!(m.as_str()));
        }
        assert_eq!(RefreshMode::parse("ondemand"), None);
        assert_eq!(RefreshMode::from_stored("garbage"), RefreshMode::Proactive);
    }
}
