use super::*;

const X: &str = "https://api.x.com";

fn t(path: &str) -> Result<String, TargetError> {
    target(Some(X), &["upload.x.com".to_string()], None, path, None).map(|t| t.url)
}

fn url(base: &str, hosts: &[String], host: Option<&str>, path: &str, q: Option<&str>) -> Result<String, TargetError> {
    target(Some(base), hosts, host, path, q).map(|t| t.url)
}

#[test]
fn joins_plain_paths_and_queries() {
    assert_eq!(t("2/users/me").unwrap(), "https://api.x.com/2/users/me");
    assert_eq!(
        url(X, &[], None, "2/tweets/search/recent", Some("query=a%20b&max_results=10")).unwrap(),
        "https://api.x.com/2/tweets/search/recent?query=a%20b&max_results=10"
    );
    // Encoded characters stay as given (a LinkedIn URN in a path).
    assert_eq!(
        url("https://api.linkedin.com", &[], None, "rest/posts/urn%3Ali%3Ashare%3A1", None).unwrap(),
        "https://api.linkedin.com/rest/posts/urn%3Ali%3Ashare%3A1"
    );
    // A base with a path keeps every call under it (the sandbox).
    assert_eq!(
        url("http://127.0.0.1:8787/sandbox", &[], None, "userinfo", None).unwrap(),
        "http://127.0.0.1:8787/sandbox/userinfo"
    );
    // An `@` or `:` deeper in the path is only a path (Mastodon's `/@user`, URNs).
    assert!(t("2/users/by/username/@jack").is_ok());
    assert!(t("v2/ugcPosts/urn:li:share:1").is_ok());
}

#[test]
fn refuses_dot_segments_and_separators_encoded_twice() {
    // A host that decodes the path twice reads these as `..`, `/` or `\`.
    for path in [
        "%252e%252e/admin",
        "2/%252E%252E/admin",
        "2/.%252e/admin",
        "2/%25252e%25252e/admin",
        "2%252f..%252f..%252fevil",
        "2%255c..",
        "2/x%2500",
    ] {
        assert!(matches!(t(path), Err(TargetError::Escape(_))), "{path:?} was not refused");
    }
    // A literal percent sign elsewhere is only a percent sign.
    assert!(t("2/tags/100%25").is_ok());
    assert!(t("2/search/%2541").is_ok());
}

#[test]
fn refuses_every_way_out_of_the_base() {
    for path in [
        "",
        "/evil.com/x",
        "//evil.com/x",
        "https://evil.com/x",
        "https:%2F%2Fevil.com",
        "..",
        "../admin",
        "2/../../admin",
        "2/%2e%2e/admin",
        "2/%2E%2E/admin",
        "2/.%2e/admin",
        "2/%2e/x",
        "./x",
        "2%2F..%2F..%2Fevil",
        "2%2fusers",
        "2\\..\\evil",
        "2%5c..",
        "@evil.com/x",
        "user:pass@evil.com/x",
        "evil.com%40api.x.com/x",
        "javascript:alert(1)",
        "2/users me",
        "2/users#frag",
        "2/x%00",
    ] {
        assert!(matches!(t(path), Err(TargetError::Escape(_))), "{path:?} was not refused");
    }
    assert!(matches!(url(X, &[], None, "2/x", Some("a=1#frag")), Err(TargetError::Escape(_))));
    // The sandbox's base path is a boundary too.
    assert!(url("http://127.0.0.1:8787/sandbox", &[], None, "../v1/admin/apps", None).is_err());
}

#[test]
fn another_host_only_from_the_platform_list() {
    assert_eq!(
        url(X, &["upload.x.com".into()], Some("UPLOAD.x.com"), "1.1/media/upload.json", None).unwrap(),
        "https://upload.x.com/1.1/media/upload.json"
    );
    assert_eq!(url(X, &["upload.x.com".into()], Some("api.x.com"), "2/x", None).unwrap(), "https://api.x.com/2/x");
    for h in ["evil.com", "api.x.com.evil.com", "upload.x.com:444", "user@upload.x.com", "127.0.0.1", ""] {
        assert_eq!(
            target(Some(X), &["upload.x.com".into()], Some(h), "2/x", None),
            Err(TargetError::HostNotAllowed),
            "{h}"
        );
    }
    assert_eq!(target(None, &[], None, "2/x", None), Err(TargetError::NoApiBase));
}

#[test]
fn endpoint_classes_hide_ids_and_keep_versions() {
    assert_eq!(endpoint_class("get", "/2/users/1234567/tweets"), "GET /2/users/{id}/tweets");
    assert_eq!(endpoint_class("POST", "/2/tweets"), "POST /2/tweets");
    assert_eq!(endpoint_class("GET", "/v25.0/me/accounts"), "GET /v25.0/me/accounts");
    assert_eq!(endpoint_class("POST", "/v25.0/1001u1/feed"), "POST /v25.0/{id}/feed");
    assert_eq!(endpoint_class("GET", "/rest/posts/urn%3Ali%3Ashare%3A1"), "GET /rest/posts/{id}");
    assert_eq!(endpoint_class("GET", "/v2/ugcPosts/urn:li:share:1"), "GET /v2/ugcposts/{id}");
    assert_eq!(endpoint_class("GET", "/api/v1/me"), "GET /api/v1/me");
    assert_eq!(endpoint_class("GET", "/youtube/v3/videos"), "GET /youtube/v3/videos");
    assert_eq!(endpoint_class("GET", "/sandbox/userinfo"), "GET /sandbox/userinfo");
    // A long opaque id without digits.
    assert_eq!(endpoint_class("GET", "/v5/pins/abcdefghijklmnopqrstuvwxyzabcdefgh"), "GET /v5/pins/{id}");
    // Spellings a platform may take alike share a class: case, a trailing `/`, matrix
    // parameters.
    for path in ["/2/Tweets", "/2/tweets/", "/2/tweets;x=1", "/2/TWEETS;"] {
        assert_eq!(endpoint_class("post", path), "POST /2/tweets", "{path}");
    }
    assert!(BudgetRule::new("POST /v2/post/publish/video/init/", Scope::Profile, 6, 60)
        .matches(&endpoint_class("POST", "/v2/post/publish/video/init/")));
    // However long the path, the class fits the limiter's keys, and stays distinct.
    let long = format!("/2/{}x", "ab/".repeat(300));
    let other = format!("/2/{}y", "ab/".repeat(300));
    let (a, b) = (endpoint_class("GET", &long), endpoint_class("GET", &other));
    assert!(a.len() <= MAX_CLASS_LEN && b.len() <= MAX_CLASS_LEN, "{}", a.len());
    assert_ne!(a, b);
    let wide = format!("/{}", "é".repeat(100));
    assert!(endpoint_class("GET", &wide).len() <= MAX_CLASS_LEN);
}

#[test]
fn tunnelled_methods_count_as_what_they_are() {
    let graph = ProxySpec { method_param: Some("method".into()), ..Default::default() };
    let linkedin = ProxySpec { request_headers: vec!["x-http-method-override".into()], ..Default::default() };
    let m = |method: &str, header: Option<&str>, q: Option<&str>, spec: &ProxySpec| {
        effective_method(method, header, q, spec)
    };
    // LinkedIn's query tunnelling: a POST that is a GET.
    assert_eq!(m("POST", Some("get"), None, &linkedin).as_deref(), Some("GET"));
    // A platform that does not take the header (it is not forwarded): the real method.
    assert_eq!(m("POST", Some("GET"), None, &ProxySpec::default()).as_deref(), Some("POST"));
    // Only a POST tunnels, and only to a known method.
    assert_eq!(m("GET", Some("FOO"), None, &linkedin).as_deref(), Some("GET"));
    assert_eq!(m("POST", Some("FOO"), None, &linkedin).as_deref(), Some("POST"));
    // Graph: a GET's `method` parameter; twice is ambiguous.
    assert_eq!(m("GET", None, Some("fields=id&method=delete"), &graph).as_deref(), Some("DELETE"));
    assert_eq!(m("GET", None, Some("method=get&method=post"), &graph), None);
    assert_eq!(m("POST", None, Some("method=get"), &graph).as_deref(), Some("POST"));
    assert_eq!(m("GET", None, Some("method=delete"), &ProxySpec::default()).as_deref(), Some("GET"));
}

#[test]
fn escapes_cannot_be_assembled_by_decoding() {
    for path in ["a/%2%66b", "a/%%32fb", "a/x%2%66..%2%66y", "a/%%30%30", "a/%%35c", "a/%", "a/%4", "a/%zz"] {
        assert!(matches!(t(path), Err(TargetError::Escape(_))), "{path:?} was not refused");
    }
}

#[test]
fn budget_rules_match_exactly_or_by_prefix() {
    assert!(BudgetRule::new("POST /2/tweets", Scope::Profile, 1, 1).matches("POST /2/tweets"));
    assert!(!BudgetRule::new("POST /2/tweets", Scope::Profile, 1, 1).matches("POST /2/tweets/{id}"));
    assert!(BudgetRule::new("GET /2/users/*", Scope::Profile, 1, 1).matches("GET /2/users/{id}/tweets"));
    assert!(BudgetRule::new("*", Scope::App, 1, 1).matches("DELETE /x"));
    let publish = BudgetRule::new("POST */media_publish", Scope::Profile, 1, 1);
    assert!(publish.matches("POST /v25.0/{id}/media_publish"));
    assert!(publish.matches("POST /{id}/media_publish"));
    assert!(!publish.matches("GET /{id}/media_publish"));
    assert!(!publish.matches("POSTX /{id}/media_publish"));
    assert!(!publish.matches("POST /{id}/media_publish/x"));
}

#[test]
fn headers_pass_by_allowlist() {
    let linkedin = ProxySpec {
        request_headers: vec!["linkedin-version".into(), "x-restli-protocol-version".into()],
        ..Default::default()
    };
    for h in ["Content-Type", "accept", "LinkedIn-Version", "X-Restli-Protocol-Version", "Idempotency-Key"] {
        assert!(forwards_request_header(h, &linkedin), "{h}");
    }
    for h in [
        "authorization",
        "Cookie",
        "connection",
        "te",
        "upgrade",
        "host",
        "x-forwarded-for",
        "cf-connecting-ip",
        "proxy-authorization",
        "x-connect-links-host",
    ] {
        assert!(!forwards_request_header(h, &linkedin), "{h}");
    }
    assert!(!forwards_request_header("linkedin-version", &ProxySpec::default()));
    for h in
        ["content-type", "x-rate-limit-remaining", "retry-after", "location", "etag", "x-restli-id", "www-authenticate"]
    {
        assert!(returns_response_header(h), "{h}");
    }
    for h in ["Set-Cookie", "transfer-encoding", "connection", "content-length", "cf-ray", "Cache-Control"] {
        assert!(!returns_response_header(h), "{h}");
    }
}

#[test]
fn only_idempotent_calls_are_retried() {
    for m in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"] {
        assert!(retry_safe(m, false), "{m}");
    }
    assert!(!retry_safe("POST", false));
    assert!(!retry_safe("PATCH", false));
    assert!(retry_safe("POST", true));
}

#[test]
fn backoff_grows_with_jitter_and_stays_bounded() {
    assert!((100..=200).contains(&backoff_ms(2, 0.0)) && (100..=200).contains(&backoff_ms(2, 0.999)));
    assert!((200..=400).contains(&backoff_ms(3, 0.5)));
    assert!(backoff_ms(2, 0.0) < backoff_ms(2, 0.99));
    assert!(backoff_ms(2, 0.0) + backoff_ms(3, 0.99) <= 600);
    assert!(backoff_ms(50, 0.99) <= 3_200);
    assert!(backoff_ms(2, f64::NAN) <= 200);
}

#[test]
fn dead_tokens_in_each_dialect() {
    let meta = ProxySpec { token_invalid: TokenInvalid::MetaCode190, ..Default::default() };
    let std = ProxySpec::default();
    let body190 = br#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463}}"#;
    let body100 = br#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100}}"#;
    assert!(token_invalid(&std, 401, None));
    assert!(!token_invalid(&std, 400, Some(body190)));
    assert!(token_invalid(&meta, 400, Some(body190)));
    assert!(token_invalid(&meta, 401, None));
    assert!(!token_invalid(&meta, 400, Some(body100)));
    assert!(!token_invalid(&meta, 400, Some(b"not json")));
    assert!(needs_body_for_token_check(&meta, 400) && !needs_body_for_token_check(&meta, 500));
    assert!(!needs_body_for_token_check(&std, 400));
}

fn headers(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
}

fn no_date(_: &str) -> Option<i64> {
    None
}

#[test]
fn reads_x_rate_headers_and_429s() {
    let x = ProxySpec { rate_headers: RateHeaders::XRateLimit, ..Default::default() };
    let now = 1_000_000;
    let ok = read_limits(
        &x,
        200,
        now,
        &headers(&[("x-rate-limit-remaining", "14"), ("x-rate-limit-reset", "1000600")]),
        &no_date,
    );
    assert_eq!(ok.profile_remaining, Some((14, 1_000_600)));
    assert!(!ok.blocks(now));
    let spent = read_limits(
        &x,
        200,
        now,
        &headers(&[("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "1000600")]),
        &no_date,
    );
    assert!(spent.blocks(now));
    assert_eq!(spent.retry_after_secs(now), Some(600));
    // A 429 without Retry-After waits for the reset.
    let r = read_limits(
        &x,
        429,
        now,
        &headers(&[("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "1000900")]),
        &no_date,
    );
    assert_eq!(r.profile_blocked_until, Some(1_000_900));
    // Retry-After wins; seconds or an HTTP date.
    let r = read_limits(&x, 429, now, &headers(&[("retry-after", "30")]), &no_date);
    assert_eq!(r.profile_blocked_until, Some(now + 30));
    assert_eq!(r.retry_after_secs(now), Some(30));
    let r = read_limits(
        &ProxySpec::default(),
        429,
        now,
        &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
        &|_| Some(now + 90),
    );
    assert_eq!(r.profile_blocked_until, Some(now + 90));
    // Nothing said: the default; something absurd: held to a day.
    let r = read_limits(&ProxySpec::default(), 429, now, &headers(&[]), &no_date);
    assert_eq!(r.profile_blocked_until, Some(now + DEFAULT_BLOCK_SECS));
    let r = read_limits(&ProxySpec::default(), 429, now, &headers(&[("retry-after", "99999999")]), &no_date);
    assert_eq!(r.profile_blocked_until, Some(now + MAX_BLOCK_SECS));
    let r = read_limits(&ProxySpec::default(), 429, now, &headers(&[("retry-after", "-5")]), &no_date);
    assert_eq!(r.profile_blocked_until, Some(now + DEFAULT_BLOCK_SECS));
    // Numbers past i64 or f64 never wrap into a short block; a decimal is rounded up.
    let r = read_limits(&ProxySpec::default(), 429, now, &headers(&[("retry-after", "9223372036854775807")]), &no_date);
    assert_eq!(r.profile_blocked_until, Some(now + MAX_BLOCK_SECS));
    let r = read_limits(&ProxySpec::default(), 429, now, &headers(&[("retry-after", "120.5")]), &no_date);
    assert_eq!(r.profile_blocked_until, Some(now + 121));
    let r = read_limits(
        &x,
        429,
        i64::MAX - 5,
        &headers(&[("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "1e300")]),
        &no_date,
    );
    assert!(r.profile_blocked_until.is_some());
    // No 429 and no dialect: nothing to record.
    assert!(read_limits(&ProxySpec::default(), 200, now, &headers(&[("retry-after", "30")]), &no_date).is_empty());
}

#[test]
fn reads_reddit_and_meta_usage() {
    let now = 5_000;
    let reddit = ProxySpec { rate_headers: RateHeaders::RedditRateLimit, ..Default::default() };
    let r = read_limits(
        &reddit,
        200,
        now,
        &headers(&[("x-ratelimit-remaining", "0.4"), ("x-ratelimit-reset", "42")]),
        &no_date,
    );
    assert_eq!(r.app_remaining, Some((0, now + 42)));
    assert!(r.blocks(now));
    let meta = ProxySpec { rate_headers: RateHeaders::MetaUsage, ..Default::default() };
    let r = read_limits(
        &meta,
        200,
        now,
        &headers(&[("x-app-usage", r#"{"call_count":100,"total_cputime":10,"total_time":12}"#)]),
        &no_date,
    );
    assert_eq!(r.app_blocked_until, Some(now + DEFAULT_BLOCK_SECS));
    let r = read_limits(
        &meta,
        200,
        now,
        &headers(&[("x-app-usage", r#"{"call_count":12,"total_cputime":10,"total_time":12}"#)]),
        &no_date,
    );
    assert!(r.is_empty());
    let buc = r#"{"1001":[{"type":"pages","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":7}]}"#;
    let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([("x-business-use-case-usage", buc)]));
    let r = read_limits(&meta, 200, now, &headers(pairs), &no_date);
    assert_eq!(r.account_blocked_until, Some(now + 7 * 60), "the whole account, not one endpoint");
    assert!(read_limits(&meta, 200, now, &headers(&[("x-app-usage", "garbage")]), &no_date).is_empty());
    // LinkedIn: a 429 without Retry-After lasts until midnight UTC.
    let linkedin = ProxySpec { rate_headers: RateHeaders::DailyUtc, ..Default::default() };
    let noon = 20_000 * 86_400 + 12 * 3600;
    let r = read_limits(&linkedin, 429, noon, &headers(&[]), &no_date);
    assert_eq!(r.profile_blocked_until, Some(20_001 * 86_400));
    let r = read_limits(&linkedin, 429, noon, &headers(&[("retry-after", "5")]), &no_date);
    assert_eq!(r.profile_blocked_until, Some(noon + 5));
}

#[test]
fn a_block_or_few_calls_left_end_the_isolates_leases_and_nothing_else_does() {
    use super::limits::Limits;
    use crate::ratelimit::lease::LOW_REMAINING;
    const NOW: i64 = 1_700_000_000;
    let none = Limits::default();
    assert!(!none.ends_account_leases(NOW) && !none.ends_app_leases(NOW));
    let low = Limits { profile_remaining: Some((LOW_REMAINING - 1, NOW + 60)), ..Limits::default() };
    assert!(low.ends_account_leases(NOW) && !low.ends_app_leases(NOW));
    let enough = Limits { profile_remaining: Some((LOW_REMAINING, NOW + 60)), ..Limits::default() };
    assert!(!enough.ends_account_leases(NOW));
    let blocked = Limits { account_blocked_until: Some(NOW + 30), ..Limits::default() };
    assert!(blocked.ends_account_leases(NOW));
    let endpoint = Limits { profile_blocked_until: Some(NOW + 30), ..Limits::default() };
    assert!(endpoint.ends_account_leases(NOW));
    let past = Limits { account_blocked_until: Some(NOW - 1), app_blocked_until: Some(NOW), ..Limits::default() };
    assert!(!past.ends_account_leases(NOW) && !past.ends_app_leases(NOW), "a block already over ends nothing");
    let app_low = Limits { app_remaining: Some((3, NOW + 60)), ..Limits::default() };
    assert!(app_low.ends_app_leases(NOW) && !app_low.ends_account_leases(NOW));
    let app_blocked = Limits { app_blocked_until: Some(NOW + 60), ..Limits::default() };
    assert!(app_blocked.ends_app_leases(NOW));
}
