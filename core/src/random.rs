//! Randomness from the platform CSPRNG (crypto.getRandomValues on Workers), plus the
//! encodings every id and secret uses.

use crate::error::{ApiError, ApiResult};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// `N` bytes from the platform CSPRNG.
pub fn random_bytes<const N: usize>() -> ApiResult<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|_| ApiError::internal())?;
    Ok(buf)
}

/// Base64url without padding (state, verifier, envelope).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Standard base64 with padding (keys in `TOKEN_KEYS`, `whsec_`).
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 with padding.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// A new id: the type prefix (`app_`, `key_`, `cl_`, `prf_`, `evt_`) and 16 random bytes
/// in hex, so ids are neither guessable nor sequential.
pub fn new_id(prefix: &str) -> ApiResult<String> {
    Ok(format!("{prefix}{}", hex(&random_bytes::<16>()?)))
}

/// A new random string: 32 random bytes, base64url.
pub fn random_token() -> ApiResult<String> {
    Ok(b64url(&random_bytes::<32>()?))
}

/// A random number in [0, 1), for jitter.
pub fn unit() -> f64 {
    random_bytes::<4>().map(|b| u32::from_le_bytes(b) as f64 / (u32::MAX as f64 + 1.0)).unwrap_or(0.5)
}

/// Constant-time equality for secrets of public length.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), expected);
    }

    #[test]
    fn ids_carry_prefix_and_differ() {
        let a = new_id("prf_").unwrap();
        let b = new_id("prf_").unwrap();
        assert!(a.starts_with("prf_") && a.len() == 4 + 32);
        assert_ne!(a, b);
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
