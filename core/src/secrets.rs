//! Secret values as newtypes: `Debug` prints `[redacted]`, the raw value comes out only
//! through `.secret()`, and there is no `Display` or derived `PartialEq` (timing leaks).

use std::fmt;

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
    };
}

secret_type!(
    /// An OAuth access token.
    AccessToken
);
secret_type!(
    /// An OAuth refresh token.
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
}
