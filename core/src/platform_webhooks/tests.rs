use super::*;
use crate::random::b64url;
use serde_json::json;

const SECRET: &str = "meta-app-secret";
const TT_SECRET: &str = "tiktok-client-secret";
const NOW: i64 = 1_764_460_800;

/// A signed request built the way Meta's docs describe, independently of the code
/// under test: HMAC over the encoded payload, both parts base64url without padding.
fn meta_sign(payload: &Value, secret: &str) -> String {
    sign_encoded(&b64url(payload.to_string().as_bytes()), secret)
}

/// A signed request around an already encoded payload part (signed as given).
fn sign_encoded(encoded: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(encoded.as_bytes());
    format!("{}.{encoded}", b64url(&mac.finalize().into_bytes()))
}

fn deletion_payload() -> Value {
    json!({"algorithm": "HMAC-SHA256", "expires": 1_291_840_400, "issued_at": 1_291_836_800, "user_id": "218471"})
}

fn tiktok_sig(t: &str, body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

const TT_BODY: &str = r#"{"client_key":"bwo2m45353a6k85","event":"authorization.removed","create_time":1615338610,"user_openid":"act.example12345Example12345Example","content":"{\"reason\": 1 }"}"#;

#[test]
fn valid_signed_request_reads() {
    let sr = meta_sign(&deletion_payload(), SECRET);
    assert_eq!(
        verify_signed_request(&sr, SECRET),
        Some(SignedRequest { user_id: "218471".into(), issued_at: Some(1_291_836_800), from_login: false })
    );
}

#[test]
fn padding_and_surrounding_space_are_accepted() {
    let sr = meta_sign(&deletion_payload(), SECRET);
    let (sig, payload) = sr.split_once('.').unwrap();
    // A 32-byte signature is 43 characters unpadded, one `=` padded.
    let padded = format!("  {sig}=.{payload}\n");
    assert!(verify_signed_request(&padded, SECRET).is_some());
    // Too much padding is not base64.
    assert!(verify_signed_request(&format!("{sig}===.{payload}"), SECRET).is_none());
}

#[test]
fn padded_payload_is_signed_as_sent() {
    // If the payload part carries padding, the MAC covers it as sent (Meta's sample
    // hashes the string after the dot untouched).
    let mut encoded = b64url(deletion_payload().to_string().as_bytes());
    while !encoded.len().is_multiple_of(4) {
        encoded.push('=');
    }
    let sr = sign_encoded(&encoded, SECRET);
    assert!(verify_signed_request(&sr, SECRET).is_some());
}

#[test]
fn tampered_payload_is_refused() {
    let sr = meta_sign(&deletion_payload(), SECRET);
    let (sig, _) = sr.split_once('.').unwrap();
    let mut other = deletion_payload();
    other["user_id"] = json!("999");
    let forged = format!("{sig}.{}", b64url(other.to_string().as_bytes()));
    assert!(verify_signed_request(&forged, SECRET).is_none());
    // One flipped character of the signature too.
    let mut chars: Vec<char> = sr.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    assert!(verify_signed_request(&chars.into_iter().collect::<String>(), SECRET).is_none());
}

#[test]
fn wrong_secret_is_refused() {
    let sr = meta_sign(&deletion_payload(), "threads-app-secret");
    assert!(verify_signed_request(&sr, SECRET).is_none());
    assert!(verify_signed_request(&sr, "threads-app-secret").is_some());
    assert!(verify_signed_request(&sr, "").is_none());
}

#[test]
fn algorithm_must_be_hmac_sha256_in_any_case() {
    let mut p = deletion_payload();
    p["algorithm"] = json!("hmac-sha256");
    assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_some());
    for bad in [json!("HMAC-SHA1"), json!("none"), json!(""), json!(256), Value::Null] {
        p["algorithm"] = bad;
        assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_none());
    }
    let mut p = deletion_payload();
    p.as_object_mut().unwrap().remove("algorithm");
    assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_none());
}

#[test]
fn user_id_must_be_there() {
    let mut p = deletion_payload();
    p.as_object_mut().unwrap().remove("user_id");
    assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_none());
    for bad in [json!(""), json!("  "), Value::Null, json!(1.5), json!({"id": "1"}), json!(["1"])] {
        p["user_id"] = bad;
        assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_none());
    }
}

#[test]
fn numeric_user_id_and_loose_issued_at() {
    let p = json!({"algorithm": "HMAC-SHA256", "issued_at": "1291836800", "user_id": 10_000_123_456_789_u64});
    let got = verify_signed_request(&meta_sign(&p, SECRET), SECRET).unwrap();
    assert_eq!(got.user_id, "10000123456789");
    assert_eq!(got.issued_at, Some(1_291_836_800));
    // A deauthorize payload with extra fields and no issued_at.
    let p = json!({"algorithm": "HMAC-SHA256", "user": {"country": "de"}, "user_id": "42"});
    let got = verify_signed_request(&meta_sign(&p, SECRET), SECRET).unwrap();
    assert_eq!((got.user_id.as_str(), got.issued_at), ("42", None));
}

#[test]
fn garbage_is_refused() {
    let sr = meta_sign(&deletion_payload(), SECRET);
    let (sig, payload) = sr.split_once('.').unwrap();
    let huge = format!("{sig}.{}", "A".repeat(MAX_SIGNED_REQUEST_LEN));
    for bad in [
        "",
        ".",
        "nodot",
        sig,
        &format!("{sig}."),
        &format!(".{payload}"),
        &format!("{sig}.{payload}.extra"),
        "!!!.???",
        &format!("{sig}.%%%"),
        &format!("{sig}+/.{payload}"),
        "é.é",
        &huge,
    ] {
        assert!(verify_signed_request(bad, SECRET).is_none(), "{bad:.40}");
    }
    // Correctly signed but not JSON, or JSON but not an object.
    for body in ["not json", "[1,2]", "\"s\"", "null"] {
        let sr = sign_encoded(&b64url(body.as_bytes()), SECRET);
        assert!(verify_signed_request(&sr, SECRET).is_none());
    }
}

#[test]
fn form_field_is_found() {
    let sr = meta_sign(&deletion_payload(), SECRET);
    let body = format!(
        "foo=1&signed_request={}&bar=2",
        url::form_urlencoded::byte_serialize(sr.as_bytes()).collect::<String>()
    );
    assert_eq!(signed_request_of_form(body.as_bytes()).as_deref(), Some(sr.as_str()));
    assert!(verify_signed_request(&signed_request_of_form(body.as_bytes()).unwrap(), SECRET).is_some());
    assert_eq!(signed_request_of_form(b"signed_request=a%2Eb").as_deref(), Some("a.b"));
    assert_eq!(signed_request_of_form(b""), None);
    assert_eq!(signed_request_of_form(b"other=1"), None);
    assert_eq!(signed_request_of_form(b"signed_request="), None);
    assert_eq!(signed_request_of_form(b"signed_request=a.b&signed_request=c.d"), None);
    assert_eq!(signed_request_of_form(&[0xff, 0xfe, b'=', 0x80]), None);
    let huge = format!("signed_request={}", "a".repeat(MAX_FORM_LEN));
    assert_eq!(signed_request_of_form(huge.as_bytes()), None);
}

#[test]
fn tiktok_valid_signature() {
    let t = NOW.to_string();
    let s = tiktok_sig(&t, TT_BODY.as_bytes(), TT_SECRET);
    assert!(verify_tiktok_signature(&format!("t={t},s={s}"), TT_BODY.as_bytes(), TT_SECRET, NOW));
}

#[test]
fn tiktok_header_variants() {
    let t = NOW.to_string();
    let s = tiktok_sig(&t, TT_BODY.as_bytes(), TT_SECRET);
    let body = TT_BODY.as_bytes();
    for header in [
        format!("s={s},t={t}"),
        format!(" t = {t} , s = {s} "),
        format!("T={t},S={}", s.to_uppercase()),
        format!("t={t},v=1,s={s}"),
        format!("t={t},s=zz,s={s}"),
        format!("t={t},s={},s={s}", "0".repeat(64)),
        format!("t={t},,s={s},"),
    ] {
        assert!(verify_tiktok_signature(&header, body, TT_SECRET, NOW), "{header}");
    }
    for header in [
        String::new(),
        format!("t={t}"),
        format!("s={s}"),
        format!("t={t};s={s}"),
        format!("t={t},t={t},s={s}"),
        format!("t=+{t},s={s}"),
        format!("t=-{t},s={s}"),
        format!("t={t}.0,s={s}"),
        format!("t=,s={s}"),
        format!("t={t},s="),
        format!("t={t},s={}", "a".repeat(2000)),
    ] {
        assert!(!verify_tiktok_signature(&header, body, TT_SECRET, NOW), "{header:.80}");
    }
}

#[test]
fn tiktok_bad_hex_is_refused() {
    let t = NOW.to_string();
    let s = tiktok_sig(&t, TT_BODY.as_bytes(), TT_SECRET);
    let body = TT_BODY.as_bytes();
    for bad in [&s[..63], &s[..62], &format!("{s}00"), &format!("g{}", &s[1..]), &format!("é{}", &s[2..]), "0x00"]
    {
        assert!(!verify_tiktok_signature(&format!("t={t},s={bad}"), body, TT_SECRET, NOW), "{bad}");
    }
}

#[test]
fn tiktok_tampered_body_or_wrong_secret_is_refused() {
    let t = NOW.to_string();
    let s = tiktok_sig(&t, TT_BODY.as_bytes(), TT_SECRET);
    let header = format!("t={t},s={s}");
    let tampered = TT_BODY.replace("act.example", "act.attacker");
    assert!(!verify_tiktok_signature(&header, tampered.as_bytes(), TT_SECRET, NOW));
    assert!(!verify_tiktok_signature(&header, b"", TT_SECRET, NOW));
    assert!(!verify_tiktok_signature(&header, TT_BODY.as_bytes(), "other-secret", NOW));
    // The timestamp is part of what is signed: moving it breaks the signature.
    let moved = format!("t={},s={s}", NOW - 1);
    assert!(!verify_tiktok_signature(&moved, TT_BODY.as_bytes(), TT_SECRET, NOW));
    let huge = vec![b'x'; MAX_TIKTOK_BODY_LEN + 1];
    let hs = tiktok_sig(&t, &huge, TT_SECRET);
    assert!(!verify_tiktok_signature(&format!("t={t},s={hs}"), &huge, TT_SECRET, NOW));
}

#[test]
fn tiktok_timestamp_window() {
    let body = TT_BODY.as_bytes();
    let at = |t: i64| {
        let ts = t.to_string();
        format!("t={ts},s={}", tiktok_sig(&ts, body, TT_SECRET))
    };
    assert!(verify_tiktok_signature(&at(NOW - 300), body, TT_SECRET, NOW));
    assert!(verify_tiktok_signature(&at(NOW + 300), body, TT_SECRET, NOW));
    assert!(!verify_tiktok_signature(&at(NOW - 301), body, TT_SECRET, NOW));
    assert!(!verify_tiktok_signature(&at(NOW + 301), body, TT_SECRET, NOW));
    assert!(!verify_tiktok_signature(&at(0), body, TT_SECRET, NOW));
    // Extreme clocks and timestamps do not overflow.
    assert!(!verify_tiktok_signature(&at(NOW), body, TT_SECRET, i64::MIN));
    assert!(!verify_tiktok_signature(&at(NOW), body, TT_SECRET, i64::MAX));
    let big = "999999999999".to_string();
    let header = format!("t={big},s={}", tiktok_sig(&big, body, TT_SECRET));
    assert!(!verify_tiktok_signature(&header, body, TT_SECRET, NOW));
    let huge = "9".repeat(30);
    let header = format!("t={huge},s={}", tiktok_sig(&huge, body, TT_SECRET));
    assert!(!verify_tiktok_signature(&header, body, TT_SECRET, NOW));
}

#[test]
fn tiktok_documented_event_parses() {
    assert_eq!(
        parse_tiktok_event(TT_BODY.as_bytes()),
        Some(TikTokEvent {
            client_key: "bwo2m45353a6k85".into(),
            event: "authorization.removed".into(),
            user_openid: "act.example12345Example12345Example".into(),
            create_time: Some(1_615_338_610),
        })
    );
    let no_time = r#"{"client_key":"k","event":"e","user_openid":"u"}"#;
    assert_eq!(parse_tiktok_event(no_time.as_bytes()).unwrap().create_time, None);
}

#[test]
fn tiktok_bad_events_are_refused() {
    for bad in [
        "",
        "not json",
        "[]",
        "null",
        r#"{"event":"authorization.removed","user_openid":"u"}"#,
        r#"{"client_key":"k","user_openid":"u"}"#,
        r#"{"client_key":"k","event":"e"}"#,
        r#"{"client_key":"k","event":"e","user_openid":""}"#,
        r#"{"client_key":"k","event":"e","user_openid":7}"#,
    ] {
        assert!(parse_tiktok_event(bad.as_bytes()).is_none(), "{bad}");
    }
    assert!(parse_tiktok_event(&[0xff, 0xfe]).is_none());
    let mut huge = br#"{"client_key":"k","event":"e","user_openid":"u","x":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', MAX_TIKTOK_BODY_LEN));
    huge.extend(b"\"}");
    assert!(parse_tiktok_event(&huge).is_none());
}

#[test]
fn confirmation_codes_are_stable_keyed_and_distinct() {
    let key = [7u8; 32];
    let a = confirmation_code(&key, "facebook", "218471", Some(1_291_836_800));
    assert_eq!(a.len(), 20);
    assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(a, confirmation_code(&key, "facebook", "218471", Some(1_291_836_800)));
    // Matches the documented construction.
    let expect = hex(&hmac_sha256(&key, b"facebook|218471|1291836800"));
    assert_eq!(a, expect[..20]);
    assert_ne!(a, confirmation_code(&[8u8; 32], "facebook", "218471", Some(1_291_836_800)));
    assert_ne!(a, confirmation_code(&key, "threads", "218471", Some(1_291_836_800)));
    assert_ne!(a, confirmation_code(&key, "facebook", "218472", Some(1_291_836_800)));
    assert_ne!(a, confirmation_code(&key, "facebook", "218471", Some(1_291_836_801)));
    assert_ne!(a, confirmation_code(&key, "facebook", "218471", None));
    assert_eq!(
        confirmation_code(&key, "facebook", "218471", None),
        hex(&hmac_sha256(&key, b"facebook|218471|"))[..20]
    );
}

#[test]
fn vectors_from_the_e2e_signers_verify() {
    // Produced by tests/e2e/platform-webhook-signers.mjs (node:crypto), so the e2e
    // helper and this verifier are pinned to the same reading of the formats.
    let sr = "0Z4osfo-PaC7Gh_rpdK1pI5Ntem4bdCETF8Q6eM6bcU.eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsInVzZXJfaWQiOiI0MiIsImlzc3VlZF9hdCI6MX0";
    assert_eq!(
        verify_signed_request(sr, "sec"),
        Some(SignedRequest { user_id: "42".into(), issued_at: Some(1), from_login: false })
    );
    let header = "t=1764460800,s=7824c0c1d83b18c0afd452c9960ef1ae9f67959c392665f40a353934d96e8039";
    assert!(verify_tiktok_signature(header, br#"{"a":1}"#, "sec", 1_764_460_800));
}

#[test]
fn hex_decode_edges() {
    assert_eq!(hex_decode(""), Some(vec![]));
    assert_eq!(hex_decode("00fF"), Some(vec![0, 255]));
    assert_eq!(hex_decode("0"), None);
    assert_eq!(hex_decode("0g"), None);
    assert_eq!(hex_decode("éé"), None);
}

mod freshness {
    use super::*;

    #[test]
    fn only_recent_callbacks_count_and_never_a_logins_signed_request() {
        let r = |issued_at, from_login| SignedRequest { user_id: "1".into(), issued_at, from_login };
        let now = 1_800_000_000;
        assert!(is_fresh_callback(&r(Some(now - 60), false), now));
        assert!(is_fresh_callback(&r(Some(now - MAX_CALLBACK_AGE_SECS), false), now));
        assert!(!is_fresh_callback(&r(Some(now - MAX_CALLBACK_AGE_SECS - 1), false), now), "a replay");
        assert!(!is_fresh_callback(&r(Some(now + 301), false), now), "from the future");
        assert!(!is_fresh_callback(&r(None, false), now), "no time");
        assert!(!is_fresh_callback(&r(Some(now), true), now), "a login's signed request");
    }
}
