//! PKCE (RFC 7636), S256 only: the plain method is never offered.

use crate::error::ApiResult;
use crate::random::{b64url, ct_eq, random_bytes};
use crate::secrets::PkceVerifier;
use sha2::{Digest, Sha256};

/// A new verifier: 32 random bytes, base64url (43 characters, within RFC 7636's 43..128).
pub fn new_verifier() -> ApiResult<PkceVerifier> {
    Ok(PkceVerifier::new(b64url(&random_bytes::<32>()?)))
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)).
pub fn challenge_s256(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is well formed and hashes to `challenge` (compared in constant time).
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed && ct_eq(challenge_s256(verifier).as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(challenge_s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(verify_s256(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn wrong_or_malformed_verifier_fails() {
        let v = new_verifier().unwrap();
        let c = challenge_s256(v.secret());
        assert!(verify_s256(v.secret(), &c));
        assert!(!verify_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", &c));
        assert!(!verify_s256("short", &challenge_s256("short")));
        assert_eq!(v.secret().len(), 43);
    }
}
