//! The statuses a row stores, as enums that read and show the same strings D1 holds.
//!
//! A status column has no CHECK constraint, so a row may hold a value the worker never
//! writes (a hand-edited row, or one from a newer version). It reads as a variant equal to
//! no known status, so every check treats it as a string comparison did, and reading a row
//! never fails on a status. A profile's or a link's unknown status keeps its text
//! ([`ProfileStatus::Other`], [`LinkStatus::Other`]): the landing of a connect writes a
//! profile only while its status is the one it read, and views show both as stored. A
//! grant's status is shown nowhere and compared with no text: it is `Copy`, with a bare
//! `Unknown`.

use serde::{Deserialize, Deserializer};

/// Reads a stored string column through its type's `From<&str>` (the lenient reading: an
/// unknown value maps as the type says, never to an error).
pub(crate) fn stored<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str>,
{
    String::deserialize(d).map(|s| T::from(s.as_str()))
}

macro_rules! stored_status {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value the worker never writes: equal to none of the above.
            Unknown,
        }

        impl $name {
            /// The stored and shown value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown => "unknown",
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => $name::$variant,)+
                    _ => $name::Unknown,
                }
            }
        }

        // Host tests compare a status with the string they expect.
        #[cfg(test)]
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

/// A connect link's `status` column (by default `pending`, as the column is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LinkStatus {
    /// Waiting for the user's consent (its expiry is derived from `expires_at`).
    #[default]
    Pending,
    /// The user is on the account picker (until `choice_expires_at`).
    Choosing,
    /// Connected, waiting for the app's claim (until `claim_expires_at`).
    AwaitingClaim,
    /// Connected (and claimed, where the app claims).
    Completed,
    /// Ended with an error code.
    Failed,
    /// Marked expired by the cron (an unclaimed link), or derived at read time.
    Expired,
    /// A value the worker never writes, as stored (a link's view shows it): equal to none of
    /// the above.
    Other(String),
}

impl LinkStatus {
    /// The stored and shown value.
    pub fn as_str(&self) -> &str {
        match self {
            LinkStatus::Pending => "pending",
            LinkStatus::Choosing => "choosing",
            LinkStatus::AwaitingClaim => "awaiting_claim",
            LinkStatus::Completed => "completed",
            LinkStatus::Failed => "failed",
            LinkStatus::Expired => "expired",
            LinkStatus::Other(s) => s,
        }
    }
}

impl From<&str> for LinkStatus {
    fn from(s: &str) -> Self {
        match s {
            "pending" => LinkStatus::Pending,
            "choosing" => LinkStatus::Choosing,
            "awaiting_claim" => LinkStatus::AwaitingClaim,
            "completed" => LinkStatus::Completed,
            "failed" => LinkStatus::Failed,
            "expired" => LinkStatus::Expired,
            other => LinkStatus::Other(other.to_string()),
        }
    }
}

// Host tests compare a link's status with the string they expect.
#[cfg(test)]
impl PartialEq<&str> for LinkStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A profile's `status` column (by default `active`, as the column is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProfileStatus {
    /// Connected through a hosted link, waiting for the app's claim.
    Pending,
    /// Usable.
    #[default]
    Active,
    /// Ended (`disconnect_reason` says why); a reconnect link brings it back.
    Disconnected,
    /// A value the worker never writes, as stored: equal to none of the above.
    Other(String),
}

impl ProfileStatus {
    /// The stored and shown value.
    pub fn as_str(&self) -> &str {
        match self {
            ProfileStatus::Pending => "pending",
            ProfileStatus::Active => "active",
            ProfileStatus::Disconnected => "disconnected",
            ProfileStatus::Other(s) => s,
        }
    }
}

impl From<&str> for ProfileStatus {
    fn from(s: &str) -> Self {
        match s {
            "pending" => ProfileStatus::Pending,
            "active" => ProfileStatus::Active,
            "disconnected" => ProfileStatus::Disconnected,
            other => ProfileStatus::Other(other.to_string()),
        }
    }
}

stored_status!(
    /// A grant's `status` column.
    GrantStatus {
        /// Its tokens are kept alive.
        Active = "active",
        /// Ended.
        Disconnected = "disconnected",
    }
);

/// `active`, as the column's default is.
impl Default for GrantStatus {
    fn default() -> Self {
        GrantStatus::Active
    }
}

#[cfg(test)]
mod tests {
    // By full path: scripts/layout-check.mjs reads `super` here as this file's parent module.
    use crate::model::status::{stored, GrantStatus, LinkStatus, ProfileStatus};

    #[test]
    fn known_values_round_trip_and_unknown_ones_match_none() {
        for s in ["pending", "choosing", "awaiting_claim", "completed", "failed", "expired"] {
            assert_eq!(LinkStatus::from(s).as_str(), s);
            assert!(!matches!(LinkStatus::from(s), LinkStatus::Other(_)), "{s}");
        }
        for s in ["pending", "active", "disconnected"] {
            assert_eq!(ProfileStatus::from(s).as_str(), s);
        }
        // Each known text reads as its own variant (an `Other` would keep any text too).
        assert_eq!(
            ["pending", "active", "disconnected"].map(ProfileStatus::from),
            [ProfileStatus::Pending, ProfileStatus::Active, ProfileStatus::Disconnected]
        );
        assert_eq!(
            ["pending", "choosing", "awaiting_claim", "completed", "failed", "expired"].map(LinkStatus::from),
            [
                LinkStatus::Pending,
                LinkStatus::Choosing,
                LinkStatus::AwaitingClaim,
                LinkStatus::Completed,
                LinkStatus::Failed,
                LinkStatus::Expired
            ]
        );
        for s in ["active", "disconnected"] {
            assert_eq!(GrantStatus::from(s).as_str(), s);
            assert_ne!(GrantStatus::from(s), GrantStatus::Unknown, "{s}");
        }
        let odd = ProfileStatus::from("Active");
        assert_eq!(odd, ProfileStatus::Other("Active".into()));
        assert_ne!(odd, ProfileStatus::Active);
        assert_eq!(odd.as_str(), "Active", "a profile's unknown status keeps its text");
        assert_eq!(LinkStatus::from("paused").as_str(), "paused", "a link's unknown status keeps its text");
        assert_eq!(GrantStatus::from(""), GrantStatus::Unknown);
    }

    #[test]
    fn rows_read_any_stored_string() {
        #[derive(serde::Deserialize)]
        struct Row {
            #[serde(deserialize_with = "stored")]
            status: GrantStatus,
        }
        let row: Row = serde_json::from_str(r#"{"status":"disconnected"}"#).unwrap();
        assert_eq!(row.status, GrantStatus::Disconnected);
        let row: Row = serde_json::from_str(r#"{"status":"paused"}"#).unwrap();
        assert_eq!(row.status, GrantStatus::Unknown);
        assert!(serde_json::from_str::<Row>(r#"{"status":3}"#).is_err(), "a number is no status");
    }
}
