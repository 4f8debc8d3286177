//! The pure parts of the console's Profiles pages: how an account is named, the lists a
//! profile stores as JSON read for a person, and the search's next-page link that keeps the
//! filters.

use crate::model::ProfileRow;

/// The search's filters, in the order the next page's link carries them.
pub const SEARCH_FILTERS: [&str; 5] = ["app", "platform", "status", "external_user_id", "account"];

/// The account as a person reads it: `Display (@username)`, either alone, or the
/// platform's account id when the platform gave neither.
pub fn account_label(p: &ProfileRow) -> String {
    match (p.display_name.as_deref(), p.username.as_deref()) {
        (Some(d), Some(u)) => format!("{d} (@{u})"),
        (Some(d), None) => d.to_string(),
        (None, Some(u)) => format!("@{u}"),
        (None, None) => p.platform_user_id.clone(),
    }
}

/// A JSON array of names (scopes) joined for reading; `none` when absent, empty or unreadable.
pub fn name_list(json: Option<&str>) -> String {
    let list: Vec<String> = json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

/// The keys of a profile's metadata (a JSON object), never its values (they are the app's).
pub fn metadata_keys(json: Option<&str>) -> Vec<String> {
    json.and_then(|m| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(m).ok())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The search's next page: `filter`'s value of each of [`SEARCH_FILTERS`] that has one, then
/// `before` (the last row's cursor), as `/console/profiles?...`.
pub fn older_href<'a>(filter: impl Fn(&str) -> Option<&'a str>, before: &str) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for name in SEARCH_FILTERS {
        if let Some(v) = filter(name) {
            s.append_pair(name, v);
        }
    }
    s.append_pair("before", before);
    format!("/console/profiles?{}", s.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(display: Option<&str>, user: Option<&str>) -> ProfileRow {
        ProfileRow {
            display_name: display.map(Into::into),
            username: user.map(Into::into),
            platform_user_id: "2244".into(),
            ..ProfileRow::default()
        }
    }

    #[test]
    fn an_account_is_named_by_display_name_and_username() {
        assert_eq!(account_label(&profile(Some("Ada L"), Some("ada"))), "Ada L (@ada)");
        assert_eq!(account_label(&profile(Some("Ada L"), None)), "Ada L");
        assert_eq!(account_label(&profile(None, Some("ada"))), "@ada");
        assert_eq!(account_label(&profile(None, None)), "2244");
    }

    #[test]
    fn stored_lists_read_as_text_and_metadata_shows_keys_only() {
        assert_eq!(name_list(Some(r#"["a","b"]"#)), "a, b");
        assert_eq!(name_list(Some("[]")), "none");
        assert_eq!(name_list(None), "none");
        assert_eq!(name_list(Some("not json")), "none");
        assert_eq!(metadata_keys(Some(r#"{"plan":"secret-value","team":1}"#)), vec!["plan", "team"]);
        assert!(metadata_keys(Some("[1]")).is_empty());
        assert!(metadata_keys(None).is_empty());
    }

    #[test]
    fn the_next_page_keeps_every_filter_given_and_encodes_them() {
        let given = |k: &str| match k {
            "status" => Some("active"),
            "account" => Some("a&b=c %"),
            _ => None,
        };
        assert_eq!(
            older_href(given, "1700000000.prf_x"),
            "/console/profiles?status=active&account=a%26b%3Dc+%25&before=1700000000.prf_x"
        );
        assert_eq!(older_href(|_| None, "1.prf_y"), "/console/profiles?before=1.prf_y");
    }
}
