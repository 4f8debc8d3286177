//! When a profile's tokens should next be looked at (api.md section 7).

use crate::platforms::RefreshKind;

const MIN_LEAD: i64 = 5 * 60;
const MAX_LEAD: i64 = 7 * 24 * 3600;
const SELF_EXCHANGE_MIN_AGE: i64 = 24 * 3600;
/// Platforms without refresh are warned this long before expiry.
pub const EXPIRING_NOTICE: i64 = 7 * 24 * 3600;

/// The next time the lifecycle job should act on a token issued at `issued_at` that
/// expires at `expires_at` (`None`: never expires, nothing to do).
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
}
