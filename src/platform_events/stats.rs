//! The statistics of platform events in: received, verified, refused, matched and forwarded,
//! per platform, over the last 24 hours.

use crate::ctx::Ctx;

/// What happened to one incoming platform webhook request or event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    /// A request reached a receiver (counted before its signature is checked).
    Received,
    /// Its signature (or handshake) verified.
    Verified,
    /// It was refused: a bad signature, an unknown handshake, a body over the cap.
    Refused,
    /// An event matched at least one profile.
    Matched,
    /// A `platform.event` was written for an app.
    Forwarded,
}

/// Adds `n` to `platform`'s `tally` for the current hour. Best effort: a failure is logged.
pub async fn count(ctx: &Ctx, platform: &str, tally: Tally, n: u32) {
    // Implemented by the forwarding work (helper F).
    let _ = (ctx, platform, tally, n);
}
