//! Caps on what a platform's answers put in a profile: account ids, handles, display names
//! and picture URLs. Every one of them lands in D1, in webhooks and on pages, and a platform
//! host may be an attacker's own, so each is bounded here, in one place, for every platform.
//!
//! What happens past a cap depends on what the string is:
//! - an id is exact (a cut id names another account): one over [`MAX_ID_CHARS`] is refused,
//!   and so is the identity or account that carries it;
//! - a handle or a URL cut short would point elsewhere: one over its cap is dropped (the
//!   field stays empty, the account still connects);
//! - a display name is free text: it is cut at [`MAX_NAME_CHARS`] characters (never inside
//!   a character), its control characters removed.

/// Longest account id accepted, in characters.
pub const MAX_ID_CHARS: usize = 256;
/// Longest handle (username) kept, in characters.
pub const MAX_HANDLE_CHARS: usize = 256;
/// Display names are cut to this many characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest picture URL kept, in characters.
pub const MAX_URL_CHARS: usize = 2048;

/// An account id: non-empty, at most [`MAX_ID_CHARS`] characters, no control character;
/// anything else is no id.
pub fn id(s: &str) -> Option<String> {
    let ok = !s.is_empty() && s.chars().count() <= MAX_ID_CHARS && !s.chars().any(char::is_control);
    ok.then(|| s.to_string())
}

/// A handle: non-empty, at most [`MAX_HANDLE_CHARS`] characters, no control character;
/// otherwise dropped.
pub fn handle(s: &str) -> Option<String> {
    let ok = !s.is_empty() && s.chars().count() <= MAX_HANDLE_CHARS && !s.chars().any(char::is_control);
    ok.then(|| s.to_string())
}

/// A display name: control characters removed, cut to [`MAX_NAME_CHARS`] characters;
/// `None` when nothing is left.
pub fn name(s: &str) -> Option<String> {
    let cut: String = s.chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect();
    (!cut.is_empty()).then_some(cut)
}

/// A picture URL: non-empty, at most [`MAX_URL_CHARS`] characters, no whitespace or
/// control character; otherwise dropped.
pub fn url(s: &str) -> Option<String> {
    let ok =
        !s.is_empty() && s.chars().count() <= MAX_URL_CHARS && !s.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_over_long_id_is_refused_not_cut() {
        assert_eq!(id(&"1".repeat(256)).map(|s| s.len()), Some(256));
        assert_eq!(id(&"1".repeat(257)), None);
        // Characters, not bytes: 256 four-byte characters are still an id.
        assert!(id(&"\u{1F600}".repeat(256)).is_some());
        assert_eq!(id(""), None);
        assert_eq!(id("12\n3"), None);
    }

    #[test]
    fn display_names_are_cut_at_a_character_boundary() {
        let long = "\u{e9}".repeat(300);
        let cut = name(&long).unwrap();
        assert_eq!(cut.chars().count(), MAX_NAME_CHARS);
        assert_eq!(cut.len(), 2 * MAX_NAME_CHARS, "whole two-byte characters");
        assert_eq!(name("Ada\u{0}\nLovelace").as_deref(), Some("AdaLovelace"));
        assert_eq!(name("\n\t"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn over_long_handles_and_urls_are_dropped() {
        assert_eq!(handle(&"a".repeat(256)).map(|s| s.len()), Some(256));
        assert_eq!(handle(&"a".repeat(257)), None);
        let long_url = format!("https://cdn.example/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(url(&long_url), None);
        assert_eq!(url("https://cdn.example/a.png").as_deref(), Some("https://cdn.example/a.png"));
        assert_eq!(url("https://cdn.example/a b.png"), None);
        assert_eq!(url(""), None);
    }
}
