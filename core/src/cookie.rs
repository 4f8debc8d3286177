//! The worker's cookies: each one binds a form or a session to a browser, so all are set the
//! same strict way (never readable by script, never sent with another site's request, `Secure`
//! over https), and read back by name from a `Cookie` header.

/// The `Set-Cookie` value of cookie `name` = `value` on `path` for `max_age` seconds (0 drops
/// it): `HttpOnly; SameSite=Strict`, and `Secure` when `secure`.
pub fn strict_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The value of the cookie `name` in a `Cookie` header, if it is there.
pub fn named_cookie<'h>(header: Option<&'h str>, name: &str) -> Option<&'h str> {
    header?.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_cookies_are_http_only_same_site_strict_and_secure_over_https() {
        assert_eq!(strict_cookie("a", "v", "/x", 600, false), "a=v; Path=/x; Max-Age=600; HttpOnly; SameSite=Strict");
        assert_eq!(strict_cookie("a", "", "/", 0, true), "a=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
    }

    #[test]
    fn a_cookie_is_read_by_its_exact_name() {
        let h = Some("ab=1; a=2; b=3");
        assert_eq!(named_cookie(h, "a"), Some("2"));
        assert_eq!(named_cookie(h, "c"), None);
        assert_eq!(named_cookie(None, "a"), None);
    }
}
