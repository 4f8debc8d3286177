//! Token encryption at rest: AES-256-GCM with a keyring from `TOKEN_KEYS`.
//!
//! Envelope: `v1.<kid>.<base64url(nonce|ciphertext|tag)>`; associated data is
//! `<profile id>:<field name>`, so a ciphertext copied to another row or field won't open.

use crate::random::{b64_decode, b64url, b64url_decode, random_bytes};
use crate::secrets::Secret;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// Why a keyring could not be read or an envelope could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// `TOKEN_KEYS` is empty or an entry is not `kid:base64(32 bytes)`.
    BadKeyring(String),
    /// The envelope is not `v1.<kid>.<data>`.
    Malformed,
    /// The envelope names a key id the keyring does not hold.
    UnknownKey(String),
    /// Authentication failed: tampered data or wrong associated data.
    Tampered,
    /// The CSPRNG failed.
    Random,
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::BadKeyring(why) => write!(f, "TOKEN_KEYS is invalid: {why}"),
            EnvelopeError::Malformed => f.write_str("malformed token envelope"),
            EnvelopeError::UnknownKey(kid) => write!(f, "unknown key id {kid}"),
            EnvelopeError::Tampered => f.write_str("token envelope failed authentication"),
            EnvelopeError::Random => f.write_str("random source failed"),
        }
    }
}

/// The keys that encrypt tokens; the first one is current (used for writes).
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
    /// HMAC-SHA256(current key, [`DERIVE_LABEL`]): the root of [`Keyring::derive`], so the
    /// raw AES key is kept only inside its cipher.
    derive_root: [u8; 32],
}

/// What the current key is stretched under for [`Keyring::derive`].
pub const DERIVE_LABEL: &str = "connect-links derive v1";

/// A key for one purpose other than encryption (a MAC), derived from the current
/// `TOKEN_KEYS` key. `Debug` prints `[redacted]`; not `Clone`.
pub struct DerivedKey([u8; 32]);

impl DerivedKey {
    /// The raw key; only for computing the MAC it exists for.
    pub fn secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey([redacted])")
    }
}

/// HMAC-SHA256 under a 32-byte key. HMAC pads a key shorter than the 64-byte block with
/// zeros (RFC 2104), so passing the padded block is the same MAC through an infallible
/// constructor (no `Result` for a length that cannot be wrong).
pub fn hmac_sha256(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "Keyring({kids:?}, keys redacted)")
    }
}

impl Keyring {
    /// Parses `kid:base64(32 bytes)` entries, comma separated.
    pub fn parse(spec: &str) -> Result<Keyring, EnvelopeError> {
        let mut keys = Vec::new();
        let mut derive_root = [0u8; 32];
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, b64) =
                entry.split_once(':').ok_or_else(|| EnvelopeError::BadKeyring("an entry has no ':'".into()))?;
            let valid_kid = !kid.is_empty()
                && kid.len() <= 32
                && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid_kid {
                return Err(EnvelopeError::BadKeyring("a key id is not [A-Za-z0-9_-]{1,32}".into()));
            }
            let bytes = b64_decode(b64.trim())
                .filter(|b| b.len() == 32)
                .ok_or_else(|| EnvelopeError::BadKeyring(format!("key {kid} is not base64 of 32 bytes")))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| EnvelopeError::BadKeyring(format!("key {kid} has a bad length")))?;
            if keys.is_empty() {
                let mut current = [0u8; 32];
                current.copy_from_slice(&bytes);
                derive_root = hmac_sha256(&current, DERIVE_LABEL.as_bytes());
            }
            if keys.iter().any(|(k, _)| k == kid) {
                return Err(EnvelopeError::BadKeyring(format!("key id {kid} appears twice")));
            }
            keys.push((kid.to_string(), cipher));
        }
        if keys.is_empty() {
            return Err(EnvelopeError::BadKeyring("no keys".into()));
        }
        Ok(Keyring { keys, derive_root })
    }

    /// A key for `purpose` (e.g. `sandbox-csrf`), derived from the current key:
    /// HMAC-SHA256(HMAC-SHA256(current key, [`DERIVE_LABEL`]), purpose). Rotating
    /// `TOKEN_KEYS` changes it, so values MACed under it stop verifying.
    pub fn derive(&self, purpose: &str) -> DerivedKey {
        DerivedKey(hmac_sha256(&self.derive_root, purpose.as_bytes()))
    }

    /// The id of the key used for new writes.
    pub fn current_kid(&self) -> &str {
        self.keys.first().map(|(kid, _)| kid.as_str()).unwrap_or_default()
    }

    /// Every key id in the ring, the current one first.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|(kid, _)| kid.as_str()).collect()
    }

    /// Encrypts `plaintext` for `field` of `row_id` under the current key.
    pub fn seal(&self, row_id: &str, field: &str, plaintext: &str) -> Result<String, EnvelopeError> {
        let (kid, cipher) = self.keys.first().ok_or_else(|| EnvelopeError::BadKeyring("no keys".into()))?;
        let nonce = random_bytes::<12>().map_err(|_| EnvelopeError::Random)?;
        let aad = associated_data(row_id, field);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| EnvelopeError::Tampered)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!("v1.{kid}.{}", b64url(&blob)))
    }

    /// Decrypts an envelope written by [`Keyring::seal`] for the same row and field.
    pub fn open(&self, row_id: &str, field: &str, envelope: &str) -> Result<String, EnvelopeError> {
        let mut parts = envelope.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EnvelopeError::Malformed);
        };
        let cipher = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, c)| c)
            .ok_or_else(|| EnvelopeError::UnknownKey(kid.to_string()))?;
        let blob = b64url_decode(data).filter(|b| b.len() >= 12 + 16).ok_or(EnvelopeError::Malformed)?;
        let (nonce, ct) = blob.split_at(12);
        let aad = associated_data(row_id, field);
        let pt = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| EnvelopeError::Tampered)?;
        String::from_utf8(pt).map_err(|_| EnvelopeError::Tampered)
    }

    /// [`Keyring::open`] for a sealed secret (a token, a client secret): the plaintext comes
    /// back as its secret type, so it leaves the worker only through `.secret()`.
    pub fn open_secret<T: Secret>(&self, row_id: &str, field: &str, envelope: &str) -> Result<T, EnvelopeError> {
        self.open(row_id, field, envelope).map(T::wrap)
    }

    /// The key id an envelope was written under, if it is well formed.
    pub fn kid_of(envelope: &str) -> Option<&str> {
        let mut parts = envelope.splitn(3, '.');
        match (parts.next(), parts.next()) {
            (Some("v1"), Some(kid)) => Some(kid),
            _ => None,
        }
    }
}

fn associated_data(row_id: &str, field: &str) -> String {
    format!("{row_id}:{field}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "k2:HxwdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    #[test]
    fn round_trip() {
        let ring = Keyring::parse(K1).unwrap();
        let env = ring.seal("prf_1", "access_token", "tok-123").unwrap();
        assert!(env.starts_with("v1.k1."));
        assert!(!env.contains("tok-123"));
        assert_eq!(ring.open("prf_1", "access_token", &env).unwrap(), "tok-123");
    }

    #[test]
    fn a_sealed_secret_opens_as_its_type() {
        use crate::secrets::AccessToken;
        let ring = Keyring::parse(K1).unwrap();
        let env = ring.seal("grn_1", "access_token", "tok-SECRET").unwrap();
        let token: AccessToken = ring.open_secret("grn_1", "access_token", &env).unwrap();
        assert_eq!(token.secret(), "tok-SECRET");
        assert!(!format!("{token:?}").contains("SECRET"));
        let other_row = ring.open_secret::<AccessToken>("grn_2", "access_token", &env);
        assert_eq!(other_row.err(), Some(EnvelopeError::Tampered));
    }

    #[test]
    fn fresh_nonce_each_write() {
        let ring = Keyring::parse(K1).unwrap();
        let a = ring.seal("prf_1", "access_token", "same").unwrap();
        let b = ring.seal("prf_1", "access_token", "same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn flipped_byte_is_detected() {
        let ring = Keyring::parse(K1).unwrap();
        let env = ring.seal("prf_1", "access_token", "tok").unwrap();
        let (head, data) = env.rsplit_once('.').unwrap();
        let mut blob = b64url_decode(data).unwrap();
        blob[14] ^= 0x01;
        let tampered = format!("{head}.{}", b64url(&blob));
        assert_eq!(ring.open("prf_1", "access_token", &tampered), Err(EnvelopeError::Tampered));
    }

    #[test]
    fn swapped_associated_data_is_detected() {
        let ring = Keyring::parse(K1).unwrap();
        let env = ring.seal("prf_1", "access_token", "tok").unwrap();
        assert_eq!(ring.open("prf_2", "access_token", &env), Err(EnvelopeError::Tampered));
        assert_eq!(ring.open("prf_1", "refresh_token", &env), Err(EnvelopeError::Tampered));
    }

    #[test]
    fn unknown_kid_is_refused() {
        let ring1 = Keyring::parse(K1).unwrap();
        let ring2 = Keyring::parse(K2).unwrap();
        let env = ring1.seal("prf_1", "access_token", "tok").unwrap();
        assert_eq!(ring2.open("prf_1", "access_token", &env), Err(EnvelopeError::UnknownKey("k1".into())));
    }

    #[test]
    fn rotation_reads_old_writes_new() {
        let old = Keyring::parse(K1).unwrap();
        let env = old.seal("prf_1", "refresh_token", "rt").unwrap();
        let rotated = Keyring::parse(&format!("{K2},{K1}")).unwrap();
        assert_eq!(rotated.current_kid(), "k2");
        assert_eq!(rotated.open("prf_1", "refresh_token", &env).unwrap(), "rt");
        assert_eq!(Keyring::kid_of(&rotated.seal("prf_1", "refresh_token", "rt").unwrap()), Some("k2"));
    }

    #[test]
    fn bad_keyrings_are_refused() {
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("k1:c2hvcnQ=").is_err());
        assert!(Keyring::parse("nokid").is_err());
        assert!(Keyring::parse(&format!("{K1},{K1}")).is_err());
        assert!(Keyring::parse("v1.x:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").is_err());
    }

    #[test]
    fn malformed_envelope_is_refused() {
        let ring = Keyring::parse(K1).unwrap();
        assert_eq!(ring.open("p", "f", "plaintext"), Err(EnvelopeError::Malformed));
        assert_eq!(ring.open("p", "f", "v1.k1.!!"), Err(EnvelopeError::Malformed));
    }

    #[test]
    fn hmac_of_a_padded_block_is_plain_hmac() {
        let key = [7u8; 32];
        let mut plain = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        plain.update(b"msg");
        assert_eq!(hmac_sha256(&key, b"msg"), <[u8; 32]>::from(plain.finalize().into_bytes()));
    }

    #[test]
    fn derived_keys_follow_the_current_key_and_purpose() {
        let one = Keyring::parse(K1).unwrap();
        let a = one.derive("sandbox-csrf");
        assert_eq!(a.secret(), Keyring::parse(K1).unwrap().derive("sandbox-csrf").secret());
        assert_ne!(a.secret(), one.derive("other").secret());
        // The current (first) key decides; an older one after it changes nothing.
        let rotated = Keyring::parse(&format!("{K2},{K1}")).unwrap();
        assert_ne!(a.secret(), rotated.derive("sandbox-csrf").secret());
        assert_eq!(rotated.derive("x").secret(), Keyring::parse(K2).unwrap().derive("x").secret());
        // Documented derivation (the e2e tests recompute it in JavaScript).
        let raw: [u8; 32] = b64_decode(K1.split_once(':').unwrap().1).unwrap().try_into().unwrap();
        assert_eq!(a.secret(), &hmac_sha256(&hmac_sha256(&raw, DERIVE_LABEL.as_bytes()), b"sandbox-csrf"));
        assert_eq!(format!("{a:?}"), "DerivedKey([redacted])");
    }

    #[test]
    fn debug_hides_keys() {
        let ring = Keyring::parse(K1).unwrap();
        assert_eq!(format!("{ring:?}"), "Keyring([\"k1\"], keys redacted)");
    }
}
