//! Secret values as newtypes: `Debug` prints `[redacted]`, the raw value comes out only
//! through `.secret()`, and there is no `Display` or derived `PartialEq` (timing leaks).
//! A value opened from its envelope comes back as its type ([`Secret`], through
//! `envelope::Keyring::open_secret`), never as a bare `String`.

use serde::{Deserialize, Deserializer, Serializer};
use std::fmt;

/// A secret type a sealed plaintext opens into (see `envelope::Keyring::open_secret`).
pub trait Secret: Sized {
    /// Wraps a raw value.
    fn wrap(value: String) -> Self;
    /// The raw value, for [`sealed_field`] only.
    fn raw(&self) -> &str;
}

/// Serde for a secret field of a value that is sealed before it is stored
/// (`#[serde(with = "sealed_field")]`): the bare string. The secret types implement neither
/// `Serialize` nor `Deserialize`, so no other value can carry one into JSON by accident.
pub mod sealed_field {
    use super::*;

    /// Writes the raw value.
    pub fn serialize<S: Serializer, T: Secret>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.raw())
    }

    /// Reads a raw value.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Secret>(d: D) -> Result<T, D::Error> {
        String::deserialize(d).map(T::wrap)
    }
}

/// [`sealed_field`] for an optional secret (`null` when absent).
pub mod sealed_optional_field {
    use super::*;

    /// Writes the raw value, or `null`.
    pub fn serialize<S: Serializer, T: Secret>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(v.raw()),
            None => s.serialize_none(),
        }
    }

    /// Reads a raw value, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Secret>(d: D) -> Result<Option<T>, D::Error> {
        Option::<String>::deserialize(d).map(|v| v.map(T::wrap))
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(String);

        impl $name {
            /// Wraps a raw value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }
            /// The raw value; call it only where the value must leave the worker.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl Secret for $name {
            fn wrap(value: String) -> Self {
                $name(value)
            }
            fn raw(&self) -> &str {
                &self.0
            }
        }
    };
}

secret_type!(
    /// An OAuth access token. `Clone`, as in oauth2-rs: one exchange's token is held by the
    /// sealed account choice and by the grant revoked if the connect fails. Written as the
    /// bare string only through [`sealed_field`], inside a value sealed before it is stored.
    #[derive(Clone)]
    AccessToken
);
secret_type!(
    /// An OAuth refresh token (`Clone`, and written only through [`sealed_optional_field`]).
    #[derive(Clone)]
    RefreshToken
);
secret_type!(
    /// An authorization code from a callback.
    AuthCode
);
secret_type!(
    /// A PKCE code verifier; not `Clone`, so it can't be reused by accident.
    PkceVerifier
);
secret_type!(
    /// The OAuth `state` value.
    OAuthState
);
secret_type!(
    /// A platform's client secret.
    ClientSecret
);
secret_type!(
    /// An app's webhook signing secret (`whsec_...`).
    WebhookSecret
);
secret_type!(
    /// An API key (`ck_...`) or the admin token.
    BearerSecret
);
secret_type!(
    /// The one-time `connect_token` a hosted connect hands the app to claim its profiles.
    ConnectToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let shown = [
            format!("{:?}", AccessToken::new("at-SECRET")),
            format!("{:?}", RefreshToken::new("rt-SECRET")),
            format!("{:?}", AuthCode::new("code-SECRET")),
            format!("{:?}", PkceVerifier::new("ver-SECRET")),
            format!("{:?}", OAuthState::new("state-SECRET")),
            format!("{:?}", ClientSecret::new("cs-SECRET")),
            format!("{:?}", WebhookSecret::new("whsec_SECRET")),
            format!("{:?}", BearerSecret::new("ck_SECRET")),
            format!("{:?}", ConnectToken::new("ct-SECRET")),
        ];
        for s in shown {
            assert!(!s.contains("SECRET"), "{s}");
            assert!(s.ends_with("([redacted])"), "{s}");
        }
    }

    #[test]
    fn tokens_inside_a_sealed_value_are_bare_strings() {
        // A choice sealed before these fields were typed must read back the same; the types
        // themselves have no serde, so only a field that opts in is written.
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Sealed {
            #[serde(with = "sealed_field")]
            at: AccessToken,
            #[serde(with = "sealed_optional_field", default)]
            rt: Option<RefreshToken>,
        }
        let json =
            serde_json::to_string(&Sealed { at: AccessToken::new("at"), rt: Some(RefreshToken::new("rt")) }).unwrap();
        assert_eq!(json, r#"{"at":"at","rt":"rt"}"#);
        let back: Sealed = serde_json::from_str(&json).unwrap();
        assert_eq!((back.at.secret(), back.rt.as_ref().map(RefreshToken::secret)), ("at", Some("rt")));
        for absent in [r#"{"at":"x","rt":null}"#, r#"{"at":"x"}"#] {
            let back: Sealed = serde_json::from_str(absent).unwrap();
            assert!(back.rt.is_none(), "{absent}");
        }
        assert_eq!(PkceVerifier::wrap("v".into()).secret(), "v");
    }
}
