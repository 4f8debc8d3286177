//! The account identity read from a platform's identity call.

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
/// 2xx, the body is not JSON, or the account id is missing.
pub fn parse_identity(map: &IdentityMap, status: u16, body: &[u8]) -> Option<Identity> {
    if !(200..300).contains(&status) {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = match v.pointer(&map.id)? {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let text = |ptr: &Option<String>| -> Option<String> {
        let s = v.pointer(ptr.as_deref()?)?.as_str()?;
        (!s.is_empty()).then(|| s.chars().take(512).collect())
    };
    Some(Identity {
        platform_user_id: id,
        username: text(&map.username),
        display_name: text(&map.display_name),
        avatar_url: text(&map.avatar_url),
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
}
