//! The account identity read from a platform's identity call.

use crate::caps;
use crate::platforms::IdentityMap;
use serde_json::Value;

/// Who connected: what fills a profile's identity fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The platform's stable account id.
    pub platform_user_id: String,
    /// Handle.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
}

/// Reads an identity answer through the platform's field map. `None` when the status is not
/// 2xx, the body is not JSON, or the account id is missing or over its cap. The other fields
/// go through [`crate::caps`]: a handle or picture URL over its cap is dropped, a display
/// name cut.
pub fn parse_identity(map: &IdentityMap, status: u16, body: &[u8]) -> Option<Identity> {
    if !(200..300).contains(&status) {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = match v.pointer(&map.id)? {
        Value::String(s) => caps::id(s)?,
        Value::Number(n) => caps::id(&n.to_string())?,
        _ => return None,
    };
    let text = |ptr: &Option<String>, cap: fn(&str) -> Option<String>| -> Option<String> {
        cap(v.pointer(ptr.as_deref()?)?.as_str()?)
    };
    Some(Identity {
        platform_user_id: id,
        username: text(&map.username, caps::handle),
        display_name: text(&map.display_name, caps::name),
        avatar_url: text(&map.avatar_url, caps::url),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::sandbox;

    #[test]
    fn maps_fields_through_pointers() {
        let p = sandbox::platform("https://w");
        let body = br#"{"sub":"u1","preferred_username":"ada","name":"Ada L","picture":"https://w/a.png"}"#;
        let id = parse_identity(&p.identity, 200, body).unwrap();
        assert_eq!(id.platform_user_id, "u1");
        assert_eq!(id.username.as_deref(), Some("ada"));
        assert_eq!(id.display_name.as_deref(), Some("Ada L"));
        assert_eq!(id.avatar_url.as_deref(), Some("https://w/a.png"));
    }

    #[test]
    fn numeric_ids_and_missing_ids() {
        let p = sandbox::platform("https://w");
        assert_eq!(parse_identity(&p.identity, 200, br#"{"sub":42}"#).unwrap().platform_user_id, "42");
        assert!(parse_identity(&p.identity, 200, br#"{"name":"x"}"#).is_none());
        assert!(parse_identity(&p.identity, 401, br#"{"sub":"u"}"#).is_none());
        assert!(parse_identity(&p.identity, 200, b"nope").is_none());
    }

    #[test]
    fn an_over_long_id_is_no_identity_and_other_fields_are_capped() {
        let p = sandbox::platform("https://w");
        let long_id = format!(r#"{{"sub":"{}"}}"#, "7".repeat(257));
        assert!(parse_identity(&p.identity, 200, long_id.as_bytes()).is_none(), "an id is never cut");
        let body = serde_json::json!({
            "sub": "u1",
            "preferred_username": "h".repeat(300),
            "name": "\u{e9}".repeat(400),
            "picture": format!("https://w/{}", "p".repeat(3000)),
        })
        .to_string();
        let id = parse_identity(&p.identity, 200, body.as_bytes()).unwrap();
        assert_eq!(id.platform_user_id, "u1");
        assert_eq!(id.username, None, "a cut handle would name someone else");
        assert_eq!(id.display_name.map(|n| n.chars().count()), Some(256));
        assert_eq!(id.avatar_url, None, "a cut URL would point elsewhere");
    }
}
