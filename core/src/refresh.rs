//! Keeping tokens alive: refresh requests per refresh kind, classification of failures,
//! and backoff.

use crate::http::{form_body, HttpRequest};
use crate::oauth::{token_endpoint_request, ClientCredentials};
use crate::platforms::{Platform, RefreshCall, RefreshKind};
use crate::secrets::RefreshToken;
use serde_json::Value;

/// Why a profile is disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The platform answered `invalid_grant`.
    InvalidGrant,
    /// The platform's own revoked/invalid-token answer.
    Revoked,
    /// A platform without refresh reached the token's expiry.
    TokenExpired,
}

impl DisconnectReason {
    /// The profile's `disconnect_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::InvalidGrant => "invalid_grant",
            DisconnectReason::Revoked => "revoked",
            DisconnectReason::TokenExpired => "token_expired",
        }
    }
}

/// How a failed refresh is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The grant is dead: disconnect once.
    Terminal(DisconnectReason),
    /// Try again later with backoff; never disconnect.
    Transient,
}

/// The refresh call for a profile, or `None` where the platform has no refresh (or a
/// refresh-token platform has no refresh token stored).
pub fn refresh_request(
    p: &Platform,
    creds: &ClientCredentials,
    access: &str,
    refresh: Option<&str>,
) -> Option<HttpRequest> {
    if p.refresh_call == RefreshCall::AtprotoSession {
        // The account's PDS, resolved from the grant: without it there is nowhere to call.
        let pds = p.instance.as_deref()?;
        return Some(crate::atproto::refresh_session_request(pds, &RefreshToken::new(refresh?)));
    }
    match p.refresh {
        RefreshKind::RefreshToken | RefreshKind::RotatingRefreshToken => {
            let rt = refresh?;
            Some(token_endpoint_request(p, creds, vec![("grant_type", "refresh_token"), ("refresh_token", rt)]))
        }
        RefreshKind::SelfExchange => {
            let ex = p.self_exchange.as_ref()?;
            let url = format!(
                "{}?{}",
                ex.url,
                form_body(&[("grant_type", ex.grant_type.as_str()), ("access_token", access)])
            );
            let mut headers = vec![("accept".to_string(), "application/json".to_string())];
            if let Some(ua) = &p.user_agent {
                headers.push(("user-agent".into(), ua.clone()));
            }
            Some(HttpRequest { method: "GET", url, headers, body: None })
        }
        RefreshKind::None => None,
    }
}

/// Classifies a failed refresh answer (only refresh answers: a code exchange's errors mean
/// something else). 5xx and 429 are transient whatever the body says; otherwise an error
/// code in the platform's terminal list (`invalid_grant`, Meta's 190, TikTok's
/// `access_token_invalid`, LinkedIn's `REVOKED_ACCESS_TOKEN`...) is terminal, and so is one
/// of the platform's `refresh_terminal_answers` (X's `invalid_request` for a dead token).
/// Anything else is transient: a misconfigured client is not the user's fault.
pub fn classify(p: &Platform, status: u16, body: &[u8]) -> Failure {
    if status >= 500 || status == 429 {
        return Failure::Transient;
    }
    let codes = error_codes(body);
    match codes.iter().find(|c| p.terminal_errors.iter().any(|t| t == *c)) {
        Some(c) if c == "invalid_grant" => Failure::Terminal(DisconnectReason::InvalidGrant),
        Some(_) => Failure::Terminal(DisconnectReason::Revoked),
        None if is_terminal_answer(p, body) => Failure::Terminal(DisconnectReason::InvalidGrant),
        None => Failure::Transient,
    }
}

/// Classifies a failed liveness check: [`classify`], except that a 401 is terminal where the
/// platform says a 401 alone proves the token dead (`Platform::liveness_401_terminal`).
pub fn classify_check(p: &Platform, status: u16, body: &[u8]) -> Failure {
    if p.liveness_401_terminal && status == 401 {
        return Failure::Terminal(DisconnectReason::Revoked);
    }
    classify(p, status, body)
}

/// Whether a revoke answer settles the grant: a 2xx (RFC 7009 section 2.2: an unknown or
/// already revoked token is answered 200 too), or a 400/401 that names the token dead:
/// `invalid_token`, `invalid_grant`, or one of the platform's `terminal_errors` (Meta's
/// 190, TikTok's `access_token_invalid`, Bluesky's `ExpiredToken`...). Anything else (a
/// 429, a 5xx, `invalid_client`, a 403 from a client that did not issue the token) leaves
/// the grant possibly live: not settled, so whoever holds it keeps it for a retry.
pub fn revoke_settled(p: &Platform, status: u16, body: &[u8]) -> bool {
    if (200..300).contains(&status) {
        return true;
    }
    if !matches!(status, 400 | 401) {
        return false;
    }
    error_codes(body)
        .iter()
        .any(|c| c == "invalid_token" || c == "invalid_grant" || p.terminal_errors.iter().any(|t| t == c))
}

/// Whether `body` is one of `p.refresh_terminal_answers`: its `error` is the rule's code and
/// its `error_description` contains the rule's fragment. The fragment is compared ignoring
/// ASCII case, so a capitalisation change at the platform does not quietly turn dead
/// grants back into endless retries.
fn is_terminal_answer(p: &Platform, body: &[u8]) -> bool {
    if p.refresh_terminal_answers.is_empty() {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return false };
    let (Some(code), Some(description)) =
        (v.get("error").and_then(Value::as_str), v.get("error_description").and_then(Value::as_str))
    else {
        return false;
    };
    let description = description.to_ascii_lowercase();
    p.refresh_terminal_answers
        .iter()
        .any(|(c, fragment)| c == code && description.contains(&fragment.to_ascii_lowercase()))
}

/// The most characters of a platform's error text kept for the console's history.
pub const ERROR_TEXT_CHARS: usize = 300;

/// The platform's error code and text in a failed answer, for the console's history: the
/// first code [`error_codes`] finds, and the text of `error_description`, `error.message`,
/// `message` or a string `error_message`, cut to [`ERROR_TEXT_CHARS`]. Every one of `sent`
/// (the tokens and client secret the call carried), as sent and as a form or a JSON string
/// would encode it, is cut out of both, as a platform may echo what it was sent: the history
/// never holds a token. A 2xx answer (one that failed to parse as tokens: it may hold new
/// tokens in a shape we do not read) and a body that is not JSON (a form-encoded answer may
/// hold them too; an HTML error page says nothing useful) keep no text of theirs at all, only
/// a fixed sentence saying what they were.
pub fn answer_error(status: u16, body: &[u8], sent: &[&str]) -> (Option<String>, Option<String>) {
    if (200..300).contains(&status) {
        return (None, Some("the platform's 2xx answer was not a token answer we could read".to_string()));
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = (!body.is_empty()).then(|| format!("the platform's answer was not JSON ({} bytes)", body.len()));
        return (None, text);
    };
    let code = codes_of(&v).into_iter().next();
    let text = ["/error_description", "/error/message", "/message", "/error_message"]
        .iter()
        .find_map(|p| v.pointer(p).and_then(Value::as_str))
        .map(str::to_string);
    let forms: Vec<String> = sent
        .iter()
        .filter(|s| s.len() >= 4)
        .flat_map(|s| {
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            [s.to_string(), encoded, s.replace('/', "\\/")]
        })
        .collect();
    let clean = |t: String| {
        let mut t = t;
        for f in &forms {
            t = t.replace(f.as_str(), "[redacted]");
        }
        Some(capped(t.trim(), ERROR_TEXT_CHARS).to_string()).filter(|t| !t.is_empty())
    };
    (code.and_then(clean), text.and_then(clean))
}

/// Every error code an answer carries, in the shapes platforms use: `error` (a string),
/// `error.code` / `error.error_subcode` (Meta, TikTok), `code` (LinkedIn).
fn error_codes(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Value>(body).map(|v| codes_of(&v)).unwrap_or_default()
}

/// [`error_codes`] of an answer already parsed.
fn codes_of(v: &Value) -> Vec<String> {
    let text = |x: Option<&Value>| match x {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    [text(v.get("error")), text(v.pointer("/error/code")), text(v.pointer("/error/error_subcode")), text(v.get("code"))]
        .into_iter()
        .flatten()
        .collect()
}

/// `text` cut to at most `max` characters (on a character boundary).
pub fn capped(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Seconds to wait after the `failures`-th transient failure in a row: one minute doubling
/// to at most six hours, with jitter in [half, full] from `unit` (a random number in 0..1).
pub fn backoff(failures: u32, unit: f64) -> i64 {
    let full = (60i64 << failures.saturating_sub(1).min(20)).min(6 * 3600);
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.5 };
    full / 2 + ((full / 2) as f64 * unit) as i64
}

/// From this many failures in a row on, [`backoff`] stays at its cap (six hours).
pub const BACKOFF_STEPS: u32 = 10;

/// [`backoff`] after 1, 2, ... [`BACKOFF_STEPS`] failures, with one jitter draw, as a JSON
/// array: for a statement that only learns the failure count as it runs (the refresh lease)
/// and picks entry `MIN(failures, BACKOFF_STEPS) - 1`, so the schedule has one source.
pub fn backoff_steps(unit: f64) -> String {
    let steps: Vec<String> = (1..=BACKOFF_STEPS).map(|n| backoff(n, unit).to_string()).collect();
    format!("[{}]", steps.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::Catalog;
    use crate::secrets::ClientSecret;

    fn get(id: &str) -> Platform {
        Catalog::builtins().into_iter().find(|p| p.id == id).unwrap()
    }

    fn creds() -> ClientCredentials {
        ClientCredentials { client_id: "CID".into(), client_secret: ClientSecret::new("CS") }
    }

    #[test]
    fn a_401_ends_a_checked_token_only_where_the_platform_says_so() {
        let mut p = get("x");
        assert_eq!(classify_check(&p, 401, br#"{"error":"nope"}"#), Failure::Transient);
        p.liveness_401_terminal = true;
        assert_eq!(classify_check(&p, 401, br#"{"error":"nope"}"#), Failure::Terminal(DisconnectReason::Revoked));
        assert_eq!(classify_check(&p, 403, br#"{"error":"nope"}"#), Failure::Transient);
        assert_eq!(classify_check(&p, 503, b""), Failure::Transient);
    }

    #[test]
    fn refresh_token_grant_uses_the_platforms_client_auth() {
        let x = refresh_request(&get("x"), &creds(), "AT", Some("RT")).unwrap();
        assert_eq!(x.header("authorization"), Some("Basic Q0lEOkNT"));
        assert_eq!(
            x.form(),
            vec![("grant_type".into(), "refresh_token".into()), ("refresh_token".into(), "RT".into())]
        );
        let tt = refresh_request(&get("tiktok"), &creds(), "AT", Some("RT")).unwrap();
        assert!(tt.form().contains(&("client_key".into(), "CID".into())));
        assert!(refresh_request(&get("x"), &creds(), "AT", None).is_none());
    }

    #[test]
    fn instagram_and_threads_self_exchange() {
        let ig = refresh_request(&get("instagram"), &creds(), "AT", None).unwrap();
        assert_eq!(ig.method, "GET");
        assert_eq!(
            ig.url,
            "https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token=AT"
        );
        let th = refresh_request(&get("threads"), &creds(), "AT", None).unwrap();
        assert_eq!(
            th.url,
            "https://graph.threads.net/refresh_access_token?grant_type=th_refresh_token&access_token=AT"
        );
    }

    #[test]
    fn platforms_without_refresh_make_no_call() {
        assert!(refresh_request(&get("facebook"), &creds(), "AT", Some("RT")).is_none());
        assert!(refresh_request(&get("linkedin"), &creds(), "AT", Some("RT")).is_none());
    }

    #[test]
    fn invalid_grant_is_terminal_and_outages_are_transient() {
        let x = get("x");
        assert_eq!(
            classify(&x, 400, br#"{"error":"invalid_grant"}"#),
            Failure::Terminal(DisconnectReason::InvalidGrant)
        );
        assert_eq!(classify(&x, 503, br#"{"error":"invalid_grant"}"#), Failure::Transient);
        assert_eq!(classify(&x, 429, b""), Failure::Transient);
        assert_eq!(classify(&x, 401, br#"{"error":"invalid_client"}"#), Failure::Transient);
        assert_eq!(classify(&x, 200, b"not json"), Failure::Transient);
    }

    #[test]
    fn platform_revocation_codes_are_terminal() {
        let meta = br#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":460}}"#;
        assert_eq!(classify(&get("instagram"), 400, meta), Failure::Terminal(DisconnectReason::Revoked));
        let tiktok = br#"{"error":{"code":"access_token_invalid","message":"m"}}"#;
        assert_eq!(classify(&get("tiktok"), 401, tiktok), Failure::Terminal(DisconnectReason::Revoked));
        let linkedin = br#"{"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","status":401}"#;
        assert_eq!(classify(&get("linkedin"), 401, linkedin), Failure::Terminal(DisconnectReason::Revoked));
        assert_eq!(classify(&get("x"), 400, meta), Failure::Transient, "190 means nothing to X");
    }

    /// X's exact answer to a spent, revoked or expired refresh token.
    const X_DEAD_REFRESH_TOKEN: &[u8] =
        br#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#;

    #[test]
    fn x_dead_refresh_token_invalid_request_is_terminal() {
        assert_eq!(classify(&get("x"), 400, X_DEAD_REFRESH_TOKEN), Failure::Terminal(DisconnectReason::InvalidGrant));
        let shouted = br#"{"error":"invalid_request","error_description":"VALUE PASSED FOR THE TOKEN WAS INVALID"}"#;
        assert_eq!(classify(&get("x"), 400, shouted), Failure::Terminal(DisconnectReason::InvalidGrant));
    }

    #[test]
    fn x_other_invalid_request_answers_stay_transient() {
        let x = get("x");
        let missing =
            br#"{"error":"invalid_request","error_description":"Missing required parameter [refresh_token]."}"#;
        assert_eq!(classify(&x, 400, missing), Failure::Transient, "a malformed request is our bug, not a dead grant");
        let no_description = br#"{"error":"invalid_request"}"#;
        assert_eq!(classify(&x, 400, no_description), Failure::Transient);
        let other_code = br#"{"error":"invalid_client","error_description":"Value passed for the token was invalid."}"#;
        assert_eq!(classify(&x, 401, other_code), Failure::Transient, "code and description must both match");
        assert_eq!(classify(&x, 503, X_DEAD_REFRESH_TOKEN), Failure::Transient, "an outage stays an outage");
    }

    #[test]
    fn invalid_request_with_xs_dead_token_text_stays_transient_on_other_platforms() {
        for id in ["youtube", "tiktok", "pinterest", "reddit", "linkedin", "instagram"] {
            assert_eq!(classify(&get(id), 400, X_DEAD_REFRESH_TOKEN), Failure::Transient, "{id}");
        }
        let only_x: Vec<String> =
            Catalog::builtins().into_iter().filter(|p| !p.refresh_terminal_answers.is_empty()).map(|p| p.id).collect();
        assert_eq!(only_x, vec!["x".to_string()]);
    }

    #[test]
    fn revoke_is_settled_by_a_2xx_or_a_dead_token_answer_only() {
        let (fb, tt, x) = (get("facebook"), get("tiktok"), get("x"));
        assert!(revoke_settled(&x, 200, b"{}"));
        assert!(revoke_settled(&x, 204, b""));
        assert!(revoke_settled(&x, 400, br#"{"error":"invalid_token"}"#));
        assert!(revoke_settled(&x, 400, br#"{"error":"invalid_grant"}"#));
        assert!(revoke_settled(&fb, 400, br#"{"error":{"message":"Invalid OAuth access token.","code":190}}"#));
        assert!(revoke_settled(&tt, 401, br#"{"error":{"code":"access_token_invalid"}}"#));
        // The grant may still be live: a retry must follow.
        assert!(!revoke_settled(&x, 429, br#"{"error":"invalid_token"}"#));
        assert!(!revoke_settled(&x, 503, b""));
        assert!(!revoke_settled(&x, 401, br#"{"error":"invalid_client"}"#));
        assert!(!revoke_settled(&x, 400, br#"{"error":"invalid_request"}"#));
        assert!(!revoke_settled(&x, 403, br#"{"error":"unauthorized_client"}"#));
        assert!(!revoke_settled(&x, 401, b"not json"));
        assert!(!revoke_settled(&fb, 400, br#"{"error":{"code":4}}"#));
        assert!(!revoke_settled(&x, 302, b""));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        assert_eq!(backoff(1, 0.0), 30);
        assert_eq!(backoff(1, 1.0), 60);
        assert_eq!(backoff(3, 1.0), 240);
        assert_eq!(backoff(40, 1.0), 6 * 3600);
        assert!((30..=60).contains(&backoff(1, 0.37)));
        assert_eq!(backoff(2, f64::NAN), 90);
    }

    #[test]
    fn backoff_steps_hold_every_count_up_to_the_cap() {
        for unit in [0.0, 0.37, 1.0] {
            let steps: Vec<i64> = serde_json::from_str(&backoff_steps(unit)).unwrap();
            assert_eq!(steps.len(), BACKOFF_STEPS as usize);
            for (i, s) in steps.iter().enumerate() {
                assert_eq!(*s, backoff(i as u32 + 1, unit));
            }
            // Past the last step the backoff no longer grows: capping the index loses nothing.
            for more in [1, 5, 500] {
                assert_eq!(backoff(BACKOFF_STEPS + more, unit), backoff(BACKOFF_STEPS, unit));
            }
        }
        assert!(backoff(BACKOFF_STEPS - 1, 1.0) < backoff(BACKOFF_STEPS, 1.0), "the last step is the first at the cap");
    }

    #[test]
    fn answer_error_reads_code_and_text_and_cuts_out_what_was_sent() {
        let body = br#"{"error":"invalid_grant","error_description":"refresh token rt-abc123 was revoked"}"#;
        let (code, text) = answer_error(400, body, &["rt-abc123", "at-zzz"]);
        assert_eq!(code.as_deref(), Some("invalid_grant"));
        assert_eq!(text.as_deref(), Some("refresh token [redacted] was revoked"));
        let meta = br#"{"error":{"code":190,"message":"Error validating access token"}}"#;
        assert_eq!(answer_error(400, meta, &[]), (Some("190".into()), Some("Error validating access token".into())));
        let long = format!(r#"{{"error":"x","error_description":"{}"}}"#, "a".repeat(1000));
        let (_, text) = answer_error(400, long.as_bytes(), &[]);
        assert_eq!(text.map(|t| t.chars().count()), Some(ERROR_TEXT_CHARS));
        assert_eq!(answer_error(400, b"", &[]), (None, None));
    }

    #[test]
    fn answer_error_keeps_no_text_of_a_2xx_or_of_a_body_that_is_not_json() {
        // A 2xx that did not parse as tokens may hold new ones in another shape.
        let form = b"access_token=NEWACCESS123&refresh_token=NEWREFRESH456&expires_in=7200";
        let (code, text) = answer_error(200, form, &[]);
        assert_eq!(code, None);
        let text = text.unwrap_or_default();
        assert!(!text.contains("NEWACCESS123") && !text.contains("NEWREFRESH456"), "{text}");
        let json = br#"{"error_description":"new token NEWACCESS123","tok":"x"}"#;
        assert!(!answer_error(200, json, &[]).1.unwrap_or_default().contains("NEWACCESS123"));
        // An error answer that is not JSON: no text of its own (a form-encoded answer could
        // carry tokens, an HTML page says nothing worth keeping).
        let (code, text) = answer_error(400, form, &[]);
        assert_eq!(code, None);
        assert_eq!(text.as_deref(), Some("the platform's answer was not JSON (69 bytes)"));
        let html = "<h1>Bad gateway</h1>".repeat(100);
        assert_eq!(answer_error(502, html.as_bytes(), &[]).1.as_deref(), Some("the platform's answer was not JSON (2000 bytes)"));
    }

    #[test]
    fn answer_error_cuts_out_what_was_sent_as_a_form_or_json_would_encode_it() {
        let secret = "cs/with+plus and/slash";
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let body = format!(
            r#"{{"error":"invalid_client","error_description":"client {secret} / {encoded} / {} unknown"}}"#,
            secret.replace('/', "\\/")
        );
        let (_, text) = answer_error(401, body.as_bytes(), &[secret]);
        let text = text.unwrap_or_default();
        assert_eq!(text, "client [redacted] / [redacted] / [redacted] unknown");
    }
}
