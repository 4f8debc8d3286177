//! Which of a connect's scopes the user granted, declined or left missing: the link's
//! required `scopes` and its `optional_scopes` against what the platform says it granted
//! (its token answer, or an API where only that says: Meta's `GET /me/permissions`).
//!
//! What the API shows (docs/concepts.md, "Scopes"): a profile's `scopes` and
//! `granted_scopes` are the same list, what the grant holds as the platform last said
//! (else what was asked); `declined_scopes` are the scopes the connect asked for and did not
//! get, which can only be optional ones: a required scope declined fails the connect with
//! `missing_scopes`, naming it.

use crate::oauth::parse_scopes;
use serde_json::Value;

/// At most this many permissions are read from a platform's list (Meta has a few hundred
/// permissions in all; a longer answer is hostile and read as no answer).
const MAX_LISTED: usize = 500;

/// The longest scope name read from a platform, as the longest an app may ask for.
const MAX_SCOPE_CHARS: usize = 200;

/// The scopes of one consent, sorted out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeOutcome {
    /// What the grant holds: what the platform said, else everything asked.
    pub granted: Vec<String>,
    /// Optional scopes asked for and not granted.
    pub declined: Vec<String>,
    /// Required scopes asked for and not granted: the connect fails when any.
    pub missing: Vec<String>,
}

/// Sorts a consent's scopes. `granted` is what the platform said it granted (`None`: it
/// did not say, and is taken to have granted what was asked).
pub fn outcome(required: &[String], optional: &[String], granted: Option<Vec<String>>) -> ScopeOutcome {
    let Some(granted) = granted else {
        let mut all = required.to_vec();
        all.extend(optional.iter().filter(|s| !required.contains(s)).cloned());
        return ScopeOutcome { granted: all, declined: vec![], missing: vec![] };
    };
    let not_in = |list: &[String]| list.iter().filter(|s| !granted.contains(s)).cloned().collect::<Vec<_>>();
    ScopeOutcome { missing: not_in(required), declined: not_in(optional), granted }
}

/// The scopes a token answer's scope text names (spaces or commas), `None` when it has none.
pub fn from_answer(scope: Option<&str>) -> Option<Vec<String>> {
    scope.map(parse_scopes)
}

/// The permissions Graph's `GET /me/permissions` lists as `granted` (a 200 with
/// `{"data": [{"permission", "status"}]}`; `declined` and `expired` are not granted). `Err`
/// (why, for the log) for any other answer, a list longer than [`MAX_LISTED`], a name no
/// scope could have (empty, too long, with spaces or commas), or a page with a next one
/// (`paging.next`): Graph's edges are paged and the call asks for one page of
/// [`MAX_LISTED`] (`ME_PERMISSIONS_URL`), so a second page is not read but refused: a
/// permission on it could be a required one. Read as a `Value` (the identity's reader
/// already is one): no parser of its own in the wasm.
pub fn graph_granted(status: u16, body: &[u8]) -> Result<Vec<String>, &'static str> {
    if status != 200 {
        return Err("not a 200");
    }
    let unreadable = "not a list of permissions";
    let v: Value = serde_json::from_slice(body).map_err(|_| unreadable)?;
    let listed = v.get("data").and_then(Value::as_array).ok_or(unreadable)?;
    if listed.len() > MAX_LISTED {
        return Err("too many permissions");
    }
    if v.pointer("/paging/next").is_some_and(|n| !n.is_null()) {
        return Err("a list with a next page");
    }
    let mut granted = Vec::new();
    for entry in listed {
        let field = |k: &str| entry.get(k).and_then(Value::as_str).ok_or(unreadable);
        let name = field("permission")?;
        if name.is_empty() || name.len() > MAX_SCOPE_CHARS || name.contains([' ', ',']) {
            return Err(unreadable);
        }
        if field("status")? == "granted" {
            granted.push(name.to_string());
        }
    }
    Ok(granted)
}

/// Whether a reconnect asks again for a scope its profile declined (then the platform's
/// `rerequest_params` go on the authorize URL).
pub fn asks_again(asked: &[String], declined: &[String]) -> bool {
    asked.iter().any(|s| declined.contains(s))
}

/// A link's optional scopes, refused (400) where one is also required (`required`: the
/// link's scopes as resolved, the platform's or the app's defaults when the body named none).
pub fn optional_beside(required: &[String], optional: Option<Vec<String>>) -> crate::error::ApiResult<Vec<String>> {
    let optional = optional.unwrap_or_default();
    let both = overlap(required, &optional);
    if !both.is_empty() {
        return Err(crate::error::ApiError::invalid(format!(
            "optional_scopes may not name a scope that scopes requires: {}",
            both.join(" ")
        )));
    }
    Ok(optional)
}

/// The scopes in both lists, in `optional`'s order: a link may not name one in both.
pub fn overlap(required: &[String], optional: &[String]) -> Vec<String> {
    optional.iter().filter(|s| required.contains(s)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn only_optional_declined_is_no_failure() {
        let o = outcome(&v(&["a", "b"]), &v(&["c", "d"]), Some(v(&["a", "b", "d"])));
        assert_eq!(o.granted, v(&["a", "b", "d"]));
        assert_eq!(o.declined, v(&["c"]));
        assert!(o.missing.is_empty());
    }

    #[test]
    fn a_required_scope_declined_is_missing_by_name() {
        let o = outcome(&v(&["a", "b"]), &v(&["c"]), Some(v(&["a", "c"])));
        assert_eq!(o.missing, v(&["b"]));
        assert!(o.declined.is_empty());
    }

    #[test]
    fn a_platform_that_does_not_say_granted_everything_asked() {
        let o = outcome(&v(&["a"]), &v(&["b"]), None);
        assert_eq!(o, ScopeOutcome { granted: v(&["a", "b"]), declined: vec![], missing: vec![] });
        assert_eq!(from_answer(Some("a,b c")), Some(v(&["a", "b", "c"])));
        assert_eq!(from_answer(None), None);
    }

    #[test]
    fn graph_permissions_keep_only_granted_entries() {
        let body = br#"{"data":[{"permission":"public_profile","status":"granted"},
            {"permission":"pages_show_list","status":"granted"},
            {"permission":"pages_manage_posts","status":"declined"},
            {"permission":"user_posts","status":"expired"}],
            "paging":{"cursors":{"before":"QVFI","after":"QVFJ"}}}"#;
        assert_eq!(graph_granted(200, body), Ok(v(&["public_profile", "pages_show_list"])));
    }

    #[test]
    fn a_graph_list_with_a_next_page_is_no_answer() {
        // All of page one granted, but a required permission may be declined on page two.
        let body = br#"{"data":[{"permission":"public_profile","status":"granted"}],
            "paging":{"next":"https://graph.facebook.com/v25.0/me/permissions?limit=1&after=QVFJ"}}"#;
        assert!(graph_granted(200, body).is_err());
        let last = br#"{"data":[{"permission":"public_profile","status":"granted"}],"paging":{"next":null}}"#;
        assert_eq!(graph_granted(200, last), Ok(v(&["public_profile"])));
    }

    #[test]
    fn hostile_or_failed_graph_answers_are_no_answer() {
        assert!(graph_granted(400, br#"{"error":{"code":190}}"#).is_err());
        assert!(graph_granted(200, b"<html>").is_err());
        assert!(graph_granted(200, br#"{"data":{}}"#).is_err());
        assert!(graph_granted(200, br#"{"data":[{"permission":"a b","status":"granted"}]}"#).is_err());
        assert!(graph_granted(200, br#"{"data":[{"permission":"","status":"granted"}]}"#).is_err());
        let long = format!(r#"{{"data":[{{"permission":"{}","status":"granted"}}]}}"#, "p".repeat(201));
        assert!(graph_granted(200, long.as_bytes()).is_err());
        let many: Vec<String> = (0..501).map(|i| format!(r#"{{"permission":"p{i}","status":"granted"}}"#)).collect();
        assert!(graph_granted(200, format!(r#"{{"data":[{}]}}"#, many.join(",")).as_bytes()).is_err());
    }

    #[test]
    fn asking_again_and_overlap() {
        assert!(asks_again(&v(&["a", "c"]), &v(&["c"])));
        assert!(!asks_again(&v(&["a"]), &v(&["c"])));
        assert_eq!(overlap(&v(&["a", "b"]), &v(&["b", "c"])), v(&["b"]));
        assert!(overlap(&v(&["a"]), &v(&["c"])).is_empty());
    }
}
