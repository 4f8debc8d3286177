//! API keys (`ck_...`, stored only as SHA-256) and webhook secrets (`whsec_...`).

use crate::error::ApiResult;
use crate::random::{b64, b64url, hex, random_bytes};
use crate::secrets::{BearerSecret, WebhookSecret};
use sha2::{Digest, Sha256};

/// A new API key: `ck_` and 32 random bytes, base64url.
pub fn new_api_key() -> ApiResult<BearerSecret> {
    Ok(BearerSecret::new(format!("ck_{}", b64url(&random_bytes::<32>()?))))
}

/// The stored form of an API key: SHA-256 in hex. Keys have 256 bits of entropy, so a
/// plain hash is enough (no password stretching needed).
pub fn hash_api_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// A new webhook signing secret: `whsec_` and 32 random bytes, base64 (Standard Webhooks).
pub fn new_webhook_secret() -> ApiResult<WebhookSecret> {
    Ok(WebhookSecret::new(format!("whsec_{}", b64(&random_bytes::<32>()?))))
}

/// The bearer token of an `Authorization` header, if it is one.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, token) = h.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_shape_and_hash() {
        let k = new_api_key().unwrap();
        assert!(k.secret().starts_with("ck_") && k.secret().len() == 3 + 43);
        let h = hash_api_key(k.secret());
        assert_eq!(h.len(), 64);
        assert_eq!(hash_api_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn webhook_secret_shape() {
        let s = new_webhook_secret().unwrap();
        let raw = s.secret().strip_prefix("whsec_").unwrap();
        assert_eq!(crate::random::b64_decode(raw).unwrap().len(), 32);
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer(Some("Bearer ck_x")), Some("ck_x"));
        assert_eq!(bearer(Some("bearer  ck_x ")), Some("ck_x"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }
}
