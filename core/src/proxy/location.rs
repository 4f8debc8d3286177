//! Where a proxied answer may send the app. A per-instance platform's host (a Mastodon
//! instance, a Bluesky PDS) may be an attacker's own; a redirect it answers goes back to the
//! app's HTTP client, which may follow it with the app's API key still attached. So for
//! those platforms a 3xx whose `Location` leaves the host the call went to is not passed on.

use url::Url;

/// Whether `location` (a `Location` header's value) stays on the scheme, host and port of
/// `target` (the URL the call went to), resolved against it as a client would (WHATWG URL:
/// relative, scheme-relative `//host`, backslashes). Several `Location` headers arrive
/// joined by commas: every comma-separated piece must stay. One that does not parse leaves.
pub fn location_stays(target: &str, location: &str) -> bool {
    let Ok(base) = Url::parse(target) else { return false };
    location.split(',').all(|piece| match base.join(piece.trim()) {
        Ok(to) => {
            to.scheme() == base.scheme()
                && to.host_str().is_some()
                && to.host_str() == base.host_str()
                && to.port_or_known_default() == base.port_or_known_default()
        }
        Err(_) => false,
    })
}

/// Whether a proxied answer is refused (502 instead): a redirect (3xx) from a per-instance
/// platform whose `Location` leaves the host called. Other platforms' hosts are fixed and
/// theirs (Graph redirects pictures to its CDN), and a 3xx without `Location` sends nobody
/// anywhere.
pub fn redirect_leaves(per_instance: bool, status: u16, target: &str, location: Option<&str>) -> bool {
    per_instance && (300..400).contains(&status) && location.is_some_and(|l| !location_stays(target, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLED: &str = "https://mastodon.social/api/v1/timelines/home?limit=5";

    #[test]
    fn a_location_on_the_same_host_stays() {
        for same in [
            "/api/v1/timelines/home?max_id=1",
            "home",
            "https://mastodon.social/x",
            "https://MASTODON.social:443/x",
            "?page=2",
            "/a,b",
        ] {
            assert!(location_stays(CALLED, same), "{same}");
        }
    }

    #[test]
    fn a_location_elsewhere_leaves() {
        for away in [
            "https://evil.example/steal",
            "//evil.example/steal",
            "https:\\\\evil.example/steal",
            "http://mastodon.social/x",
            "https://mastodon.social:8443/x",
            "https://mastodon.social.evil.example/x",
            "https://mastodon.social@evil.example/x",
            "/ok, https://evil.example/",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://",
        ] {
            assert!(!location_stays(CALLED, away), "{away}");
        }
    }

    #[test]
    fn only_redirects_of_per_instance_platforms_are_refused() {
        let away = Some("https://evil.example/");
        assert!(redirect_leaves(true, 302, CALLED, away));
        assert!(redirect_leaves(true, 307, CALLED, away));
        assert!(!redirect_leaves(true, 302, CALLED, Some("/elsewhere-on-the-instance")));
        assert!(!redirect_leaves(true, 302, CALLED, None));
        assert!(!redirect_leaves(true, 201, CALLED, away), "not a redirect");
        assert!(!redirect_leaves(
            false,
            302,
            "https://graph.facebook.com/v25.0/1/picture",
            Some("https://scontent.fbcdn.net/p.jpg")
        ));
    }
}
