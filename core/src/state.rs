//! Pending authorizations: what the connect step stores in KV under the OAuth `state`.

use crate::error::ApiResult;
use crate::random::{b64url, hex, random_bytes};
use crate::secrets::{OAuthState, PkceVerifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a connect link, its state and its verifier live (api.md section 11).
pub const STATE_TTL_SECS: i64 = 600;

/// Where the platform sends the browser back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackMode {
    /// This worker's `PUBLIC_URL/oauth/callback`.
    Hosted,
    /// The app's own `redirect_url`; the app completes with `POST /v1/oauth/exchange`.
    App,
}

/// The KV record of one pending authorization. It holds the PKCE verifier, so it has no
/// `Debug` and leaves the worker never.
#[derive(Serialize, Deserialize)]
pub struct PendingAuth {
    /// The connect link this authorization belongs to.
    pub link_id: String,
    /// The app that created the link; the state is bound to it.
    pub app_id: String,
    /// Platform id.
    pub platform: String,
    /// The PKCE verifier (present even where the platform takes no PKCE, then unused). In
    /// KV it is sealed like a token (associated data `<state hash>:pkce_verifier`, see
    /// [`VERIFIER_FIELD`]); it is opened in memory when the state is read.
    pub verifier: String,
    /// The `redirect_uri` sent to the platform, sent again at the code exchange.
    pub redirect_uri: String,
    /// Hosted or app callback.
    pub callback: CallbackMode,
    /// Epoch seconds at creation.
    pub created_at: i64,
}

impl PendingAuth {
    /// Whether the authorization is still usable at `now`: younger than ten minutes, and
    /// not from the future beyond a minute of clock skew. KV's own TTL is not trusted alone.
    pub fn is_fresh(&self, now: i64) -> bool {
        now - self.created_at < STATE_TTL_SECS && self.created_at <= now + 60
    }

    /// The verifier as a secret value.
    pub fn verifier(&self) -> PkceVerifier {
        PkceVerifier::new(self.verifier.clone())
    }
}

/// The envelope field name of the sealed verifier; the row id is the state's hash.
pub const VERIFIER_FIELD: &str = "pkce_verifier";

/// A new state: 32 random bytes, base64url.
pub fn new_state() -> ApiResult<OAuthState> {
    Ok(OAuthState::new(b64url(&random_bytes::<32>()?)))
}

/// The key a state is stored and consumed under: its SHA-256 in hex, so neither a KV
/// listing nor the consumed-states table holds a live state.
pub fn state_key(state: &str) -> String {
    hex(&Sha256::digest(state.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(created_at: i64) -> PendingAuth {
        PendingAuth {
            link_id: "cl_1".into(),
            app_id: "app_1".into(),
            platform: "sandbox".into(),
            verifier: "v".into(),
            redirect_uri: "https://w/oauth/callback".into(),
            callback: CallbackMode::Hosted,
            created_at,
        }
    }

    #[test]
    fn state_is_32_random_bytes() {
        let a = new_state().unwrap();
        assert_eq!(crate::random::b64url_decode(a.secret()).unwrap().len(), 32);
        assert_ne!(a.secret(), new_state().unwrap().secret());
    }

    #[test]
    fn state_older_than_ten_minutes_is_stale() {
        let now = 1_000_000;
        assert!(pending(now - 599).is_fresh(now));
        assert!(!pending(now - 600).is_fresh(now));
        assert!(!pending(now - 660).is_fresh(now));
        assert!(!pending(now + 3600).is_fresh(now));
    }

    #[test]
    fn state_key_is_a_hash() {
        let k = state_key("abc");
        assert_eq!(k.len(), 64);
        assert!(!k.contains("abc"));
    }
}
