//! Redirect allowlists and the final redirect back to the app.

use url::Url;

/// Why a URL whose host is not ASCII is refused. The worker is built without Unicode IDNA
/// tables (`idna_adapter` 1.0 in Cargo.toml), so the URL parser takes an international host
/// name in its `xn--` form only (`https://xn--bcher-kva.example/cb`, not `https://bücher.example/cb`).
pub const NON_ASCII_HOST: &str = "host names must be ASCII and valid IDNA: give an international name in its \
     xn-- form (xn--bcher-kva.example)";

/// Whether `raw` is refused by the URL parser for its host's IDNA processing (a host name
/// that is not ASCII, or an `xn--` label that is not valid punycode).
pub fn host_not_ascii(raw: &str) -> bool {
    matches!(Url::parse(raw), Err(url::ParseError::IdnaError))
}

/// Checks one `allowed_redirect_urls` entry: absolute http(s), `https` unless the host is
/// `localhost` or `127.0.0.1`, no credentials, no fragment, an ASCII host.
pub fn validate_allowed_entry(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| match e {
        url::ParseError::IdnaError => format!("allowed_redirect_urls: {NON_ASCII_HOST}"),
        _ => "allowed_redirect_urls holds a URL that is not absolute".to_string(),
    })?;
    check_shape(&url)?;
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost") | Some("127.0.0.1"))
}

fn check_shape(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url) => {}
        "http" => return Err("redirect URLs must use https (http only for localhost and 127.0.0.1)".into()),
        _ => return Err("redirect URLs must be http(s)".into()),
    }
    if url.host_str().is_none() {
        return Err("redirect URLs need a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("redirect URLs may not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("redirect URLs may not carry a fragment".into());
    }
    Ok(())
}

/// Whether `redirect` is allowed by `allowlist`: same scheme, host and port as an entry, and
/// a path under that entry's path. The prefix must end at a path-segment boundary, so an
/// entry `/cb` allows `/cb` and `/cb/done` but not `/cb-evil`.
pub fn is_allowed(redirect: &str, allowlist: &[String]) -> bool {
    let Ok(target) = Url::parse(redirect) else { return false };
    if check_shape(&target).is_err() {
        return false;
    }
    allowlist.iter().filter_map(|e| Url::parse(e).ok()).any(|entry| {
        entry.scheme() == target.scheme()
            && entry.host_str() == target.host_str()
            && entry.port_or_known_default() == target.port_or_known_default()
            && path_under(target.path(), entry.path())
    })
}

fn path_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || prefix.ends_with('/') && path.starts_with(prefix)
        || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

/// Text a stored allowlist that could allow `redirect` must contain, in one of two
/// spellings: the URL's host as parsed (lowercase, an IDN host in its `xn--` form) and its
/// Unicode form (the same when it has none), since allowlists are stored as they were given
/// (entries stored before hosts had to be ASCII may hold the Unicode form).
/// A cheap filter for D1 before [`is_allowed`] decides; `None` for a URL without a host.
pub fn host_needles(redirect: &str) -> Option<(String, String)> {
    host_needles_with(redirect, str::to_lowercase)
}

/// [`host_needles`] with the Unicode lowercasing given: the worker passes JavaScript's
/// `toLowerCase` (the same Unicode mapping), which spares its wasm Rust's case tables (some
/// 12 KB of data and 4 KB of code for this one call).
pub fn host_needles_with(redirect: &str, lowercase: fn(&str) -> String) -> Option<(String, String)> {
    let url = Url::parse(redirect).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let unicode = lowercase(&url::quirks::domain_to_unicode(&host));
    let unicode = if unicode.is_empty() { host.clone() } else { unicode };
    Some((host, unicode))
}

/// The query names the worker appends to a link's `redirect_url` on the final redirect
/// (`profile_ids` for logins with several accounts). A `redirect_url` that already carries
/// one would hand the app two values, and an app reading the first would trust its own
/// (or an attacker's) text as the outcome.
pub const APPENDED_QUERY_NAMES: &[&str] =
    &["connected", "profile_id", "profile_ids", "platform", "link_id", "state", "error", "connect_token"];

/// The first of [`APPENDED_QUERY_NAMES`] that `url`'s own query carries, compared after
/// percent-decoding (as the app will read it); `None` for none or an unparsable URL.
pub fn appended_name_in(url: &str) -> Option<&'static str> {
    let url = Url::parse(url).ok()?;
    url.query_pairs().find_map(|(k, _)| APPENDED_QUERY_NAMES.iter().find(|n| **n == k.as_ref()).copied())
}

/// `base` with `params` appended to its own query (which is kept).
pub fn with_params(base: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(base).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn same_origin_and_path_prefix_is_allowed() {
        let l = list(&["https://app.example.com/oauth/done"]);
        assert!(is_allowed("https://app.example.com/oauth/done", &l));
        assert!(is_allowed("https://app.example.com/oauth/done?x=1", &l));
        assert!(is_allowed("https://app.example.com/oauth/done/step", &l));
        assert!(!is_allowed("https://app.example.com/oauth/done-evil", &l));
        assert!(!is_allowed("https://app.example.com/other", &l));
        assert!(!is_allowed("https://evil.example.com/oauth/done", &l));
        assert!(!is_allowed("http://app.example.com/oauth/done", &l));
        assert!(!is_allowed("https://app.example.com:8443/oauth/done", &l));
        assert!(!is_allowed("https://user@app.example.com/oauth/done", &l));
        assert!(!is_allowed("not a url", &l));
    }

    #[test]
    fn host_needles_cover_both_spellings_of_a_host() {
        let both = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(host_needles("https://App.Example.com:8443/cb"), both("app.example.com", "app.example.com"));
        assert_eq!(host_needles("https://xn--bcher-kva.example/cb"), both("xn--bcher-kva.example", "bücher.example"));
        // A non-ASCII host does not parse (idna_adapter 1.0): no needles, so nothing allows it.
        assert_eq!(host_needles("https://bücher.example/cb"), None);
        assert!(host_needles("mailto:a@b").is_none());
        assert!(host_needles("nope").is_none());
    }

    #[test]
    fn a_non_ascii_host_is_refused_with_a_clear_message_and_its_xn_form_works() {
        for raw in ["https://bücher.example/cb", "https://BÜCHER.example/cb", "http://bücher.localhost/cb"] {
            assert!(host_not_ascii(raw), "{raw}");
            let why = validate_allowed_entry(raw).unwrap_err();
            assert!(why.contains("must be ASCII") && why.contains("xn--"), "{raw}: {why}");
            assert!(!is_allowed(raw, &list(&[raw])), "{raw}");
        }
        let l = list(&["https://xn--bcher-kva.example/cb"]);
        assert!(validate_allowed_entry(&l[0]).is_ok());
        assert!(!host_not_ascii("https://xn--bcher-kva.example/cb"));
        assert!(is_allowed("https://xn--bcher-kva.example/cb?x=1", &l));
        assert!(is_allowed("https://XN--BCHER-KVA.example/cb/done", &l));
        assert!(!is_allowed("https://bücher.example/cb", &l));
        assert!(!host_not_ascii("not a url"), "other parse errors keep their own message");
        assert_eq!(
            validate_allowed_entry("/relative").unwrap_err(),
            "allowed_redirect_urls holds a URL that is not absolute"
        );
    }

    #[test]
    fn https_required_except_loopback() {
        assert!(validate_allowed_entry("http://localhost:3000/cb").is_ok());
        assert!(validate_allowed_entry("http://127.0.0.1/cb").is_ok());
        assert!(validate_allowed_entry("http://app.example.com/cb").is_err());
        assert!(validate_allowed_entry("javascript:alert(1)").is_err());
        assert!(validate_allowed_entry("/relative").is_err());
        assert!(validate_allowed_entry("https://app.example.com/cb#frag").is_err());
    }

    #[test]
    fn a_redirect_url_may_not_carry_the_names_we_append() {
        for name in APPENDED_QUERY_NAMES {
            assert_eq!(appended_name_in(&format!("https://a.example/cb?tenant=7&{name}=x")), Some(*name));
            assert_eq!(appended_name_in(&format!("https://a.example/cb?{name}")), Some(*name), "without a value");
        }
        assert_eq!(appended_name_in("https://a.example/cb?%73tate=x"), Some("state"), "percent-encoded");
        assert_eq!(appended_name_in("https://a.example/cb?tenant=7&statement=1&State=2&x=state"), None);
        assert_eq!(appended_name_in("https://a.example/state/cb#state=1"), None);
        assert_eq!(appended_name_in("not a url"), None);
    }

    #[test]
    fn final_redirect_keeps_the_apps_query() {
        let u =
            with_params("https://app.example.com/cb?tenant=7", &[("connected", "true"), ("state", "a b&c")]).unwrap();
        assert_eq!(u, "https://app.example.com/cb?tenant=7&connected=true&state=a+b%26c");
    }
}
