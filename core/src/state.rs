//! Pending authorizations: what the connect step stores in KV under the OAuth `state`.

use crate::envelope::{EnvelopeError, Keyring};
use crate::error::ApiResult;
use crate::random::{b64url, hex, random_bytes};
use crate::secrets::{OAuthState, PkceVerifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

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

/// A PKCE verifier as KV holds it: sealed like a token, associated data `<state key>:`
/// [`VERIFIER_FIELD`], so a KV read alone yields no usable verifier. Opening it
/// ([`PendingAuth::open`]) is the one way from the record to a [`PkceVerifier`].
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedVerifier(String);

impl SealedVerifier {
    /// Seals `verifier` for the state stored under `state_key` ([`state_key`]).
    pub fn seal(keyring: &Keyring, state_key: &str, verifier: &PkceVerifier) -> Result<Self, EnvelopeError> {
        keyring.seal(state_key, VERIFIER_FIELD, verifier.secret()).map(SealedVerifier)
    }
}

// Ciphertext only, but a log line has no use for it either.
impl fmt::Debug for SealedVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedVerifier([sealed])")
    }
}

// Host tests build a record around a made-up envelope.
#[cfg(test)]
impl From<&str> for SealedVerifier {
    fn from(s: &str) -> Self {
        SealedVerifier(s.to_string())
    }
}

/// A pending authorization read back from KV with its verifier opened ([`PendingAuth::open`]):
/// what the callback exchanges the code with.
pub type OpenedAuth = PendingAuth<PkceVerifier>;

/// The KV record of one pending authorization. It holds the PKCE verifier (sealed as KV
/// holds it, a [`SealedVerifier`]; opened, in an [`OpenedAuth`]), so it has no `Debug` and
/// leaves the worker never.
#[derive(Serialize, Deserialize)]
pub struct PendingAuth<V = SealedVerifier> {
    /// The connect link this authorization belongs to.
    pub link_id: String,
    /// The app that created the link; the state is bound to it.
    pub app_id: String,
    /// Platform id.
    pub platform: String,
    /// The PKCE verifier (present even where the platform takes no PKCE, then unused): sealed
    /// in KV, opened in memory when the state is read.
    pub verifier: V,
    /// The `redirect_uri` sent to the platform, sent again at the code exchange.
    pub redirect_uri: String,
    /// Hosted or app callback.
    pub callback: CallbackMode,
    /// Epoch seconds at creation.
    pub created_at: i64,
    /// The app's own platform credentials the authorize URL was built with (`pcr_...`),
    /// so the code is exchanged with the same client even if the app's credentials change
    /// meanwhile; `None`: the deployment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ref: Option<String>,
}

impl<V> PendingAuth<V> {
    /// Whether the authorization is still usable at `now`: younger than ten minutes, and
    /// not from the future beyond a minute of clock skew. KV's own TTL is not trusted alone.
    pub fn is_fresh(&self, now: i64) -> bool {
        now - self.created_at < STATE_TTL_SECS && self.created_at <= now + 60
    }
}

impl PendingAuth {
    /// The record with its verifier opened, for the state stored under `state_key`. A record
    /// whose verifier does not open (forged, or sealed under a removed key) fails.
    pub fn open(self, keyring: &Keyring, state_key: &str) -> Result<OpenedAuth, EnvelopeError> {
        let verifier = keyring.open_secret(state_key, VERIFIER_FIELD, &self.verifier.0)?;
        Ok(PendingAuth {
            link_id: self.link_id,
            app_id: self.app_id,
            platform: self.platform,
            verifier,
            redirect_uri: self.redirect_uri,
            callback: self.callback,
            created_at: self.created_at,
            credential_ref: self.credential_ref,
        })
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
            credential_ref: None,
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
    fn a_sealed_verifier_opens_only_for_its_state_and_shows_nothing() {
        let ring = Keyring::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let key = state_key("state-1");
        let sealed = SealedVerifier::seal(&ring, &key, &PkceVerifier::new("ver-SECRET")).unwrap();
        assert_eq!(format!("{sealed:?}"), "SealedVerifier([sealed])");
        let record = PendingAuth { verifier: sealed, ..pending(1_000) };
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("ver-SECRET"), "KV holds the verifier sealed");
        let back: PendingAuth = serde_json::from_str(&json).unwrap();
        let opened = back.open(&ring, &key).unwrap();
        assert_eq!(opened.verifier.secret(), "ver-SECRET");
        assert!(!format!("{:?}", opened.verifier).contains("SECRET"));
        let again: PendingAuth = serde_json::from_str(&json).unwrap();
        assert!(again.open(&ring, &state_key("state-2")).is_err(), "bound to its state");
    }

    #[test]
    fn state_key_is_a_hash() {
        let k = state_key("abc");
        assert_eq!(k.len(), 64);
        assert!(!k.contains("abc"));
    }
}
