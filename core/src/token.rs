//! Token-endpoint answers, checked field by field before anything trusts them.

use crate::secrets::{AccessToken, RefreshToken};
use serde_json::{Map, Value};
use std::fmt;

/// Why a token answer was not accepted. Holds the platform's error *code* (e.g.
/// `invalid_grant`), never its description, which may echo what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// A non-2xx status; `error` is the OAuth error code when the body had one.
    Rejected { status: u16, error: Option<String> },
    /// The body is not a JSON object.
    NotJson { status: u16 },
    /// A field is missing or of the wrong type.
    InvalidField(&'static str),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Rejected { status, error: Some(e) } => write!(f, "token endpoint answered {status} ({e})"),
            TokenError::Rejected { status, error: None } => write!(f, "token endpoint answered {status}"),
            TokenError::NotJson { status } => write!(f, "token endpoint answered {status} without a JSON object"),
            TokenError::InvalidField(field) => write!(f, "token answer has a missing or invalid '{field}'"),
        }
    }
}

/// A validated token answer.
#[derive(Debug)]
pub struct TokenSet {
    /// The access token (non-empty).
    pub access_token: AccessToken,
    /// `Bearer` (the only type accepted).
    pub token_type: String,
    /// Seconds until the access token expires, when the platform said.
    pub expires_in: Option<i64>,
    /// A refresh token, when one came back.
    pub refresh_token: Option<RefreshToken>,
    /// Seconds until the refresh token expires, when the platform said.
    pub refresh_expires_in: Option<i64>,
    /// The granted scopes as the platform wrote them.
    pub scope: Option<String>,
}

impl TokenSet {
    /// Checks the status, then the body shape, then every field.
    pub fn from_response(status: u16, body: &[u8]) -> Result<TokenSet, TokenError> {
        Self::from_response_in(status, body, None, "scope")
    }

    /// As [`TokenSet::from_response`], for platforms that wrap the token object
    /// (`envelope`, a JSON pointer) or name the granted scopes otherwise (`scope_field`).
    pub fn from_response_in(
        status: u16,
        body: &[u8],
        envelope: Option<&str>,
        scope_field: &str,
    ) -> Result<TokenSet, TokenError> {
        let parsed: Option<Map<String, Value>> = serde_json::from_slice::<Value>(body).ok().and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        });
        if !(200..300).contains(&status) {
            let error = parsed.as_ref().and_then(|m| m.get("error")).and_then(error_code);
            return Err(TokenError::Rejected { status, error });
        }
        let obj = parsed.ok_or(TokenError::NotJson { status })?;
        let inner = match envelope {
            None => &obj,
            Some(ptr) => match Value::Object(obj.clone()).pointer(ptr) {
                Some(Value::Object(m)) => return Self::from_object(m, scope_field),
                _ => return Err(TokenError::InvalidField("access_token")),
            },
        };
        Self::from_object(inner, scope_field)
    }

    /// Checks the fields of an already unwrapped answer object.
    pub fn from_object(obj: &Map<String, Value>, scope_field: &str) -> Result<TokenSet, TokenError> {
        let access_token = match obj.get("access_token") {
            Some(Value::String(s)) if !s.is_empty() => AccessToken::new(s.clone()),
            _ => return Err(TokenError::InvalidField("access_token")),
        };
        let token_type = match obj.get("token_type") {
            None | Some(Value::Null) => "Bearer".to_string(),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("bearer") => "Bearer".to_string(),
            Some(_) => return Err(TokenError::InvalidField("token_type")),
        };
        let refresh_token = match obj.get("refresh_token") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(RefreshToken::new(s.clone())),
            Some(_) => return Err(TokenError::InvalidField("refresh_token")),
        };
        let scope = match obj.get(scope_field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
                Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
            }
            Some(_) => return Err(TokenError::InvalidField("scope")),
        };
        Ok(TokenSet {
            access_token,
            token_type,
            expires_in: seconds(obj, "expires_in")?,
            refresh_token,
            refresh_expires_in: match seconds(obj, "refresh_expires_in")? {
                Some(s) => Some(s),
                None => seconds(obj, "refresh_token_expires_in")?,
            },
            scope,
        })
    }
}

// An OAuth error code is short ASCII; anything else is not passed on.
fn error_code(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    (s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')).then(|| s.to_string())
}

/// A lifetime in seconds: a number or a numeric string, finite and not negative.
fn seconds(obj: &Map<String, Value>, field: &'static str) -> Result<Option<i64>, TokenError> {
    let n = match obj.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => crate::decimal::parse_f64(s.trim()),
        Some(_) => None,
    };
    match n {
        Some(x) if (0.0..1e12).contains(&x) => Ok(Some(x as i64)),
        _ => Err(TokenError::InvalidField(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> Result<TokenSet, TokenError> {
        TokenSet::from_response(status, body.as_bytes())
    }

    #[test]
    fn accepts_a_full_answer() {
        let t = parse(
            200,
            r#"{"access_token":"a","token_type":"bearer","expires_in":"3600","refresh_token":"r","scope":"x y"}"#,
        )
        .unwrap();
        assert_eq!(t.access_token.secret(), "a");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.refresh_token.unwrap().secret(), "r");
        assert_eq!(t.scope.as_deref(), Some("x y"));
    }

    #[test]
    fn token_response_requires_access_token() {
        assert_eq!(parse(200, r#"{"token_type":"bearer"}"#).unwrap_err(), TokenError::InvalidField("access_token"));
        assert_eq!(parse(200, r#"{"access_token":""}"#).unwrap_err(), TokenError::InvalidField("access_token"));
        assert_eq!(parse(200, r#"{"access_token":5}"#).unwrap_err(), TokenError::InvalidField("access_token"));
    }

    #[test]
    fn token_response_rejects_negative_expires_in() {
        assert_eq!(
            parse(200, r#"{"access_token":"a","expires_in":-1}"#).unwrap_err(),
            TokenError::InvalidField("expires_in")
        );
        assert_eq!(
            parse(200, r#"{"access_token":"a","expires_in":"soon"}"#).unwrap_err(),
            TokenError::InvalidField("expires_in")
        );
    }

    #[test]
    fn token_response_rejects_other_token_types() {
        assert_eq!(
            parse(200, r#"{"access_token":"a","token_type":"mac"}"#).unwrap_err(),
            TokenError::InvalidField("token_type")
        );
    }

    #[test]
    fn error_answer_keeps_code_not_description() {
        let e = parse(400, r#"{"error":"invalid_grant","error_description":"code abc123 was used"}"#).unwrap_err();
        assert_eq!(e, TokenError::Rejected { status: 400, error: Some("invalid_grant".into()) });
        assert!(!e.to_string().contains("abc123"));
        let e = parse(502, "<html>bad gateway</html>").unwrap_err();
        assert_eq!(e, TokenError::Rejected { status: 502, error: None });
        assert_eq!(parse(200, "[1]").unwrap_err(), TokenError::NotJson { status: 200 });
    }

    #[test]
    fn wrapped_answers_are_unwrapped_then_checked() {
        let body = br#"{"data":[{"access_token":"a","user_id":"1","permissions":"x,y"}]}"#;
        let t = TokenSet::from_response_in(200, body, Some("/data/0"), "permissions").unwrap();
        assert_eq!(t.access_token.secret(), "a");
        assert_eq!(t.scope.as_deref(), Some("x,y"));
        let empty = TokenSet::from_response_in(200, br#"{"data":[]}"#, Some("/data/0"), "scope");
        assert_eq!(empty.unwrap_err(), TokenError::InvalidField("access_token"));
    }

    #[test]
    fn empty_refresh_token_counts_as_none() {
        assert!(parse(200, r#"{"access_token":"a","refresh_token":""}"#).unwrap().refresh_token.is_none());
    }
}
