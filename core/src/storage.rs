//! Rules for talking to D1 that need no runtime: which errors are worth a retry.

/// How many times a write that must not be lost (a new token set) is tried in all.
pub const WRITE_ATTEMPTS: u32 = 4;

/// Whether a D1 error is transient: the write did not happen and may succeed when sent
/// again. The messages are the ones Cloudflare lists as retryable (checked 2026-11-30 at
/// https://developers.cloudflare.com/d1/best-practices/retry-queries); anything else
/// (a constraint, a syntax error) would fail the same way again.
pub fn is_transient_d1_error(message: &str) -> bool {
    const RETRYABLE: [&str; 4] = [
        "Network connection lost",
        "storage caused object to be reset",
        "reset because its code was updated",
        "D1 DB is overloaded",
    ];
    RETRYABLE.iter().any(|m| message.contains(m))
}

/// Milliseconds to wait before attempt `attempt` (2, 3, ...) of a write: 50 ms doubling,
/// with jitter in [half, full] from `unit` (a random number in 0..1).
pub fn write_retry_delay_ms(attempt: u32, unit: f64) -> u64 {
    let full = 50u64 << attempt.saturating_sub(2).min(6);
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.5 };
    full / 2 + ((full / 2) as f64 * unit) as u64
}

/// The longest a write of [`WRITE_ATTEMPTS`] attempts waits between them, in all (ms).
pub fn write_retry_budget_ms() -> u64 {
    (2..=WRITE_ATTEMPTS).map(|attempt| write_retry_delay_ms(attempt, 1.0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudflares_retryable_d1_errors_are_transient() {
        assert!(is_transient_d1_error("D1_ERROR: Network connection lost."));
        assert!(is_transient_d1_error(
            "D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset."
        ));
        assert!(is_transient_d1_error("D1_ERROR: Durable Object reset because its code was updated."));
        assert!(is_transient_d1_error("D1_ERROR: D1 DB is overloaded. Requests queued for too long."));
    }

    #[test]
    fn errors_that_would_repeat_are_not_retried() {
        assert!(!is_transient_d1_error("D1_ERROR: UNIQUE constraint failed: profiles.id: SQLITE_CONSTRAINT"));
        assert!(!is_transient_d1_error("D1_ERROR: near \"SELEC\": syntax error"));
        assert!(!is_transient_d1_error(""));
    }

    #[test]
    fn write_retries_back_off_quickly() {
        assert_eq!(write_retry_delay_ms(2, 1.0), 50);
        assert_eq!(write_retry_delay_ms(3, 1.0), 100);
        assert_eq!(write_retry_delay_ms(4, 0.0), 100);
        assert_eq!(write_retry_delay_ms(99, 1.0), 3200);
    }

    #[test]
    fn the_retry_budget_is_every_wait_at_its_longest() {
        assert_eq!(write_retry_budget_ms(), 50 + 100 + 200);
    }
}
