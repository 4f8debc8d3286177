//! The hosted pages' security policy, and the English error page of a browser route that
//! knows no language (the pages themselves are in `crate::pages`).

use crate::i18n::Messages;
use crate::pages::{self, Brand};

/// The `Content-Security-Policy` of every HTML answer. The pages need nothing but the
/// worker's own stylesheets and images (`/assets/...`, an app's logo): no script, inline
/// style or font may load, a form may post only to this worker, no other site may frame a
/// page (clickjacking on the consent page), and no `<base>` can redirect relative URLs such
/// as the consent form's `action`.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of a page whose form submission ends, through redirects, on other origins.
///
/// Chromium checks `form-action` on every redirect that follows a form submission, not only
/// on the form's own target: the sandbox consent form posts to this worker, which answers
/// with a redirect to the callback (this worker again, or an app with `"callback": "app"`),
/// which redirects on to the app. Under plain `form-action 'self'` the last hop is blocked
/// (after the callback already spent the code). So the consent page names exactly the
/// origins of those hops; every other directive stays as in [`CONTENT_SECURITY_POLICY`].
/// `urls` that are not absolute http(s) URLs are left out, except the scheme source `https:`
/// (any https origin: the hosted forms, whose redirects pass through hosts no list names).
pub fn policy_with_form_targets(urls: &[&str]) -> String {
    let mut origins: Vec<String> = Vec::new();
    for u in urls {
        // The scheme source `https:` (any https target) is a source expression as it is.
        if *u == "https:" {
            if !origins.iter().any(|o| o == "https:") {
                origins.push("https:".to_string());
            }
            continue;
        }
        let Ok(url) = url::Url::parse(u) else { continue };
        // Only a tuple origin serializes to a source expression (no ';' or ',' can appear).
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            continue;
        }
        let origin = url.origin().ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let mut form_action = String::from("form-action 'self'");
    for o in &origins {
        form_action.push(' ');
        form_action.push_str(o);
    }
    CONTENT_SECURITY_POLICY.replace("form-action 'self'", &form_action)
}

/// An error page for a browser route in English naming no app: a title and one sentence.
pub fn error_page(title: &str, sentence: &str) -> String {
    pages::error_page(&Brand::default(), &Messages::english(), 400, title, sentence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_targets_widen_form_action_only() {
        let p = policy_with_form_targets(&[
            "http://127.0.0.1:8787/oauth/callback",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/other",
            "javascript:alert(1)",
            "not a url",
        ]);
        assert_eq!(
            p,
            "default-src 'none'; style-src 'self'; img-src 'self'; \
             form-action 'self' http://127.0.0.1:8787 https://app.example.com; frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(policy_with_form_targets(&[]), CONTENT_SECURITY_POLICY);
        assert!(policy_with_form_targets(&["https:", "http://localhost:3000/cb", "https:"])
            .contains("; form-action 'self' https: http://localhost:3000; "));
    }

    #[test]
    fn error_page_escapes_markup() {
        assert!(error_page("<x>", "y").contains("&lt;x&gt;"));
    }
}
