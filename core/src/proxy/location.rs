//! Where a proxied answer may send the app. A per-instance platform's host (a Mastodon
//! instance, a Bluesky PDS) may be an attacker's own; a redirect it answers goes back to the
//! app's HTTP client, which may follow it with the app's API key still attached. So for
//! those platforms a 3xx whose `Location` leaves the host the call went to is not passed on,
//! a `Location` that stays is passed on as one absolute URL (every client then reads the
//! same host), and the headers a client may follow on other statuses (an off-host
//! `Location` on a 201, any `Refresh`) are dropped.

use url::Url;

/// What becomes of a proxied answer's `Location` and `Refresh` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirects {
    /// A fixed platform's answer: its headers pass as they came (its hosts are the
    /// platform's own; Graph redirects pictures to its CDN).
    AsSent,
    /// A per-instance host's answer: passed on without `Refresh`, and with `Location`
    /// replaced by this absolute URL on the host called, or without it (`None`).
    Confined(Option<String>),
    /// A per-instance host's redirect (3xx) whose `Location` leaves the host called, or that
    /// clients could read differently: answered 502 instead.
    Refused,
}

/// `location` (a `Location` header's value) resolved against `target` (the URL the call
/// went to) as one URL, when it stays on `target`'s scheme, host and port: the absolute URL
/// to pass on. `None` when it leaves, does not parse, or is spelled so that clients could
/// disagree on where it goes: userinfo (`https://host,x@evil/` names `evil`), a backslash
/// (`https://host\@evil/` is `host` to WHATWG parsers and `evil` to Python's urllib),
/// whitespace or a control character (WHATWG parsers drop tabs and newlines, others do
/// not), or anything outside printable ASCII. Several `Location` headers arrive joined by
/// `", "`, so they are refused by the space.
pub fn stays_at(target: &str, location: &str) -> Option<String> {
    let base = Url::parse(target).ok()?;
    if !location.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return None;
    }
    let to = base.join(location).ok()?;
    let same = to.scheme() == base.scheme()
        && to.host_str().is_some()
        && to.host_str() == base.host_str()
        && to.port_or_known_default() == base.port_or_known_default()
        && to.username().is_empty()
        && to.password().is_none();
    same.then(|| to.into())
}

/// What a proxied answer's `Location` and `Refresh` become: as sent for a fixed platform;
/// for a per-instance one, a 3xx whose `Location` does not stay (see [`stays_at`]) is
/// refused, and any other answer is confined (a 3xx without `Location` sends nobody
/// anywhere).
pub fn redirects(per_instance: bool, status: u16, target: &str, location: Option<&str>) -> Redirects {
    if !per_instance {
        return Redirects::AsSent;
    }
    let kept = location.and_then(|l| stays_at(target, l));
    if (300..400).contains(&status) && location.is_some() && kept.is_none() {
        return Redirects::Refused;
    }
    Redirects::Confined(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLED: &str = "https://mastodon.social/api/v1/timelines/home?limit=5";

    #[test]
    fn a_location_on_the_same_host_stays_as_one_absolute_url() {
        for (same, absolute) in [
            ("/api/v1/timelines/home?max_id=1", "https://mastodon.social/api/v1/timelines/home?max_id=1"),
            ("home", "https://mastodon.social/api/v1/timelines/home"),
            ("https://mastodon.social/x", "https://mastodon.social/x"),
            ("https://MASTODON.social:443/x", "https://mastodon.social/x"),
            ("?page=2", "https://mastodon.social/api/v1/timelines/home?page=2"),
            ("/a,b", "https://mastodon.social/a,b"),
            ("/@Gargron", "https://mastodon.social/@Gargron"),
            ("https://mastodon.social?@evil.example/", "https://mastodon.social/?@evil.example/"),
            ("/../../x", "https://mastodon.social/x"),
        ] {
            assert_eq!(stays_at(CALLED, same).as_deref(), Some(absolute), "{same}");
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
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://",
        ] {
            assert_eq!(stays_at(CALLED, away), None, "{away}");
        }
    }

    #[test]
    fn a_location_is_read_whole_not_split_at_commas() {
        // Each piece alone stays; the whole value, as a client reads it, is evil.example.
        for away in ["https://mastodon.social,x@evil.example/", "//mastodon.social,x@evil.example/"] {
            assert_eq!(stays_at(CALLED, away), None, "{away}");
        }
    }

    #[test]
    fn a_location_clients_could_read_differently_is_refused() {
        for doubtful in [
            // The host called for WHATWG parsers; evil.example for Python's urllib.
            "https://mastodon.social\\@evil.example/",
            "/x\\y",
            // Userinfo, even on the host called.
            "https://someone@mastodon.social/x",
            "https://:pw@mastodon.social/x",
            // Whitespace and control characters, which WHATWG parsers drop and others keep.
            "https://mastodon.social/x\ty",
            "https://evil.exa\nmple/",
            "/x\r\nSet-Cookie: a=b",
            "/x\u{0}",
            "/x\u{7f}",
            "/x y",
            // Two Location headers, as the runtime joins them.
            "/api/v1/timelines/public, https://evil.example/",
            "/a, /b",
            // Not printable ASCII.
            "/caf\u{e9}",
            "https://mastodon\u{ff0e}social/",
        ] {
            assert_eq!(stays_at(CALLED, doubtful), None, "{doubtful:?}");
        }
    }

    #[test]
    fn a_per_instance_redirect_elsewhere_is_refused_and_other_answers_are_confined() {
        let away = Some("https://evil.example/");
        assert_eq!(redirects(true, 302, CALLED, away), Redirects::Refused);
        assert_eq!(redirects(true, 307, CALLED, away), Redirects::Refused);
        assert_eq!(redirects(true, 301, CALLED, Some("https://mastodon.social\\@evil.example/")), Redirects::Refused);
        assert_eq!(
            redirects(true, 302, CALLED, Some("/elsewhere-on-the-instance")),
            Redirects::Confined(Some("https://mastodon.social/elsewhere-on-the-instance".into()))
        );
        assert_eq!(redirects(true, 302, CALLED, None), Redirects::Confined(None));
        // Not a redirect: passed on, its off-host Location dropped, an on-host one absolute.
        assert_eq!(redirects(true, 201, CALLED, away), Redirects::Confined(None));
        assert_eq!(
            redirects(true, 201, CALLED, Some("/api/v1/statuses/9")),
            Redirects::Confined(Some("https://mastodon.social/api/v1/statuses/9".into()))
        );
        assert_eq!(redirects(true, 200, CALLED, None), Redirects::Confined(None));
    }

    #[test]
    fn a_fixed_platforms_headers_pass_as_sent() {
        let graph = "https://graph.facebook.com/v25.0/1/picture";
        assert_eq!(redirects(false, 302, graph, Some("https://scontent.fbcdn.net/p.jpg")), Redirects::AsSent);
        assert_eq!(redirects(false, 201, graph, None), Redirects::AsSent);
    }
}
