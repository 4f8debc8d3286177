//! Hosts named by users or by documents we fetch (a Mastodon instance, a Bluesky PDS, a
//! `did:web` host): what the worker may call on their behalf.
//!
//! The worker fetches these hosts with users' credentials, so a value that could reach
//! something other than a public server is refused before any fetch: only `https` on the
//! default port, a DNS name with at least two labels, never an IP literal (in any of the
//! spellings the URL parser turns into one), `localhost`, or a suffix reserved for private or
//! special use.

use std::fmt;
use url::{Host, Url};

/// The longest input accepted (a 253-byte name plus `https://` and a slash).
pub const MAX_INPUT_LEN: usize = 270;

/// Suffixes that never name a public server (RFC 6761, RFC 6762, RFC 7686, RFC 8375,
/// RFC 9476, ICANN's `.internal`, and names networks use privately by habit).
const PRIVATE_SUFFIXES: &[&str] = &[
    "localhost",
    "local",
    "internal",
    "intranet",
    "private",
    "lan",
    "home",
    "corp",
    "localdomain",
    "test",
    "example",
    "invalid",
    "onion",
    "alt",
    "arpa",
];

/// Why a host was refused (said to the caller; it never repeats the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostProblem {
    /// Empty or longer than [`MAX_INPUT_LEN`].
    Length,
    /// Not ASCII: the worker is built without Unicode IDNA tables (`idna_adapter` 1.0 in
    /// Cargo.toml), so an international name is taken in its `xn--` form only.
    NotAscii,
    /// Not a host nor an https URL of one.
    NotAHost,
    /// A scheme other than https.
    NotHttps,
    /// User info, a port, a path, a query or a fragment.
    ExtraParts,
    /// An IP address, in any spelling.
    IpLiteral,
    /// `localhost`, a single label, or a private or special-use suffix.
    NotPublic,
}

impl fmt::Display for HostProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostProblem::Length => "must be 1 to 253 characters",
            HostProblem::NotAscii => "must be ASCII: an international name in its xn-- form (xn--bcher-kva.social)",
            HostProblem::NotAHost => "must be a host name (mastodon.social) or its https URL",
            HostProblem::NotHttps => "must use https",
            HostProblem::ExtraParts => "must be a bare host: no user, port, path, query or fragment",
            HostProblem::IpLiteral => "must be a DNS name, not an IP address",
            HostProblem::NotPublic => "must be a public DNS name (no localhost, single labels or private suffixes)",
        })
    }
}

/// The public host named by `input` (`mastodon.social`, `https://mastodon.social/`), in
/// lower case, or why not. An international name must be given in its `xn--` form.
pub fn public_host(input: &str) -> Result<String, HostProblem> {
    let input = input.trim();
    if input.is_empty() || input.len() > MAX_INPUT_LEN {
        return Err(HostProblem::Length);
    }
    if !input.is_ascii() {
        return Err(HostProblem::NotAscii);
    }
    let has_scheme = input.contains("://");
    if has_scheme && !input.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) {
        return Err(HostProblem::NotHttps);
    }
    // A bare value may not smuggle URL parts the parser would read as a host boundary.
    if !has_scheme && input.bytes().any(|b| matches!(b, b'/' | b'\\' | b'@' | b'?' | b'#' | b':')) {
        return Err(HostProblem::ExtraParts);
    }
    let url = if has_scheme { Url::parse(input) } else { Url::parse(&format!("https://{input}")) };
    let url = url.map_err(|_| HostProblem::NotAHost)?;
    if url.scheme() != "https" {
        return Err(HostProblem::NotHttps);
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
        || !matches!(url.path(), "" | "/")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(HostProblem::ExtraParts);
    }
    let name = match url.host() {
        Some(Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(Host::Ipv4(_)) | Some(Host::Ipv6(_)) => return Err(HostProblem::IpLiteral),
        None => return Err(HostProblem::NotAHost),
    };
    // An explicit `:443` is dropped by the parser as the default; any port in the input is
    // refused all the same, so what is stored is what was checked.
    if has_scheme && input[8..].split(['/', '?', '#']).next().is_some_and(|authority| authority.contains(':')) {
        return Err(HostProblem::ExtraParts);
    }
    check_name(&name)?;
    Ok(name)
}

/// DNS name syntax and publicness of an already lower-cased ASCII name.
fn check_name(name: &str) -> Result<(), HostProblem> {
    if name.is_empty() || name.len() > 253 {
        return Err(HostProblem::Length);
    }
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !labels.iter().all(label_ok) {
        return Err(HostProblem::NotAHost);
    }
    if labels.len() < 2 {
        return Err(HostProblem::NotPublic);
    }
    let tld = labels[labels.len() - 1];
    // An all-digit last label is an address spelling the parser did not catch, never a TLD.
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostProblem::IpLiteral);
    }
    if PRIVATE_SUFFIXES.contains(&tld) {
        return Err(HostProblem::NotPublic);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_hosts_are_accepted_and_normalised() {
        for (input, host) in [
            ("mastodon.social", "mastodon.social"),
            ("Mastodon.Social", "mastodon.social"),
            ("https://mastodon.social", "mastodon.social"),
            ("https://mastodon.social/", "mastodon.social"),
            ("  hachyderm.io ", "hachyderm.io"),
            ("HTTPS://fosstodon.org/", "fosstodon.org"),
            ("enoki.us-east.host.bsky.network", "enoki.us-east.host.bsky.network"),
            ("xn--bcher-kva.example.com", "xn--bcher-kva.example.com"),
            ("https://XN--BCHER-KVA.example.com/", "xn--bcher-kva.example.com"),
        ] {
            assert_eq!(public_host(input).as_deref(), Ok(host), "{input}");
        }
    }

    #[test]
    fn ssrf_shaped_values_are_refused() {
        use HostProblem::*;
        for (input, why) in [
            ("", Length),
            ("http://mastodon.social", NotHttps),
            ("ftp://mastodon.social", NotHttps),
            ("javascript://mastodon.social", NotHttps),
            ("localhost", NotPublic),
            ("https://localhost", NotPublic),
            ("LOCALHOST", NotPublic),
            ("foo.localhost", NotPublic),
            ("printer.local", NotPublic),
            ("metadata.google.internal", NotPublic),
            ("router.lan", NotPublic),
            ("instance.test", NotPublic),
            ("x.example", NotPublic),
            ("x.onion", NotPublic),
            ("1.0.0.127.in-addr.arpa", NotPublic),
            ("intranet", NotPublic),
            ("127.0.0.1", IpLiteral),
            ("https://127.0.0.1/", IpLiteral),
            ("https://2130706433/", IpLiteral),
            ("https://0x7f.1/", IpLiteral),
            ("https://017700000001/", IpLiteral),
            ("https://[::1]/", IpLiteral),
            ("https://[::ffff:127.0.0.1]/", IpLiteral),
            ("10.0.0.1", IpLiteral),
            ("169.254.169.254", IpLiteral),
            ("mastodon.social:8443", ExtraParts),
            ("https://mastodon.social:8443", ExtraParts),
            ("https://mastodon.social:443", ExtraParts),
            ("https://user:pw@mastodon.social", ExtraParts),
            ("https://evil.com@mastodon.social", ExtraParts),
            ("mastodon.social@evil.com", ExtraParts),
            ("mastodon.social/path", ExtraParts),
            ("https://mastodon.social/api", ExtraParts),
            ("https://mastodon.social/?x=1", ExtraParts),
            ("https://mastodon.social/#f", ExtraParts),
            ("mastodon.social\\evil.com", ExtraParts),
            ("mastodon.social.", NotAHost),
            ("-bad.social", NotAHost),
            ("under_score.social", NotAHost),
            ("a..b.social", NotAHost),
        ] {
            assert_eq!(public_host(input), Err(why), "{input:?}");
        }
        for input in ["bücher.social", "https://bücher.social/", "bu\u{308}cher.social", "a.social\u{3002}evil"] {
            let why = public_host(input).unwrap_err();
            assert_eq!(why, NotAscii, "{input:?}");
            assert!(why.to_string().contains("xn--"), "the message says how to give it: {why}");
        }
        let long = format!("{}.social", "a".repeat(300));
        assert_eq!(public_host(&long), Err(HostProblem::Length));
        let long_label = format!("{}.social", "a".repeat(64));
        assert_eq!(public_host(&long_label), Err(HostProblem::NotAHost));
    }
}
