use super::*;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The 4.3 document as the docs show it (https://docs.joinmastodon.org/methods/oauth/).
const DOC_43: &str = r#"{"issuer":"https://mastodon.social/","service_documentation":"https://docs.joinmastodon.org/",
 "authorization_endpoint":"https://mastodon.social/oauth/authorize","token_endpoint":"https://mastodon.social/oauth/token",
 "app_registration_endpoint":"https://mastodon.social/api/v1/apps","revocation_endpoint":"https://mastodon.social/oauth/revoke",
 "scopes_supported":["read","write","write:accounts","push","profile","admin:read"],
 "response_types_supported":["code"],"code_challenge_methods_supported":["S256"],
 "grant_types_supported":["authorization_code","client_credentials"],
 "token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"]}"#;

#[test]
fn discovery_asks_the_well_known_path_of_the_host() {
    let r = discovery_request("mastodon.social");
    assert_eq!(r.method, "GET");
    assert_eq!(r.url, "https://mastodon.social/.well-known/oauth-authorization-server");
    assert_eq!(r.body, None);
}

#[test]
fn a_43_instance_gets_pkce_and_profile() {
    assert_eq!(parse_discovery(200, DOC_43.as_bytes()), Discovery { pkce: true, profile_scope: true });
}

#[test]
fn an_older_instance_or_a_broken_answer_gets_neither() {
    let none = Discovery::default();
    assert_eq!(parse_discovery(404, b"<html>Not Found</html>"), none);
    assert_eq!(parse_discovery(404, DOC_43.as_bytes()), none, "the status decides first");
    assert_eq!(parse_discovery(500, DOC_43.as_bytes()), none);
    assert_eq!(parse_discovery(302, b""), none);
    assert_eq!(parse_discovery(200, b""), none);
    assert_eq!(parse_discovery(200, b"not json"), none);
    assert_eq!(parse_discovery(200, b"[\"S256\"]"), none);
    assert_eq!(parse_discovery(200, b"{}"), none);
}

#[test]
fn pkce_needs_s256_itself() {
    let plain = br#"{"code_challenge_methods_supported":["plain"]}"#;
    assert!(!parse_discovery(200, plain).pkce);
    let lower = br#"{"code_challenge_methods_supported":["s256"]}"#;
    assert!(!parse_discovery(200, lower).pkce, "method names are case-sensitive (RFC 7636)");
    let both = br#"{"code_challenge_methods_supported":["plain","S256"]}"#;
    assert!(parse_discovery(200, both).pkce);
}

#[test]
fn hostile_documents_are_read_safely() {
    // Wrong types: a string instead of an array, numbers, nested arrays, null.
    for body in [
        r#"{"code_challenge_methods_supported":"S256","scopes_supported":"profile"}"#,
        r#"{"code_challenge_methods_supported":[256],"scopes_supported":[["profile"]]}"#,
        r#"{"code_challenge_methods_supported":null,"scopes_supported":{"profile":true}}"#,
    ] {
        assert_eq!(parse_discovery(200, body.as_bytes()), Discovery::default(), "{body}");
    }
    // Endpoints on another host change nothing: they are never used.
    let elsewhere = br#"{"authorization_endpoint":"https://evil.com/oauth/authorize",
        "token_endpoint":"https://evil.com/steal","revocation_endpoint":"http://127.0.0.1/",
        "code_challenge_methods_supported":["S256"]}"#;
    assert_eq!(parse_discovery(200, elsewhere), Discovery { pkce: true, profile_scope: false });
    // A huge array costs a bounded scan: entries past the bound are not read.
    let mut junk: Vec<String> = (0..100_000).map(|i| format!("\"x{i}\"")).collect();
    junk.push("\"S256\"".into());
    let huge = format!("{{\"code_challenge_methods_supported\":[{}]}}", junk.join(","));
    assert!(!parse_discovery(200, huge.as_bytes()).pkce);
    let early = format!("{{\"code_challenge_methods_supported\":[\"S256\",{}]}}", junk.join(","));
    assert!(parse_discovery(200, early.as_bytes()).pkce);
}

#[test]
fn registration_scopes_cover_every_granular_scope_and_profile_only_when_advertised() {
    let old = registration_scopes(&Discovery::default());
    let new = registration_scopes(&Discovery { pkce: true, profile_scope: true });
    for s in ["read", "write", "push", "read:accounts", "read:statuses", "write:statuses", "write:media"] {
        assert!(old.contains(&s.to_string()) && new.contains(&s.to_string()), "{s}");
    }
    assert!(!old.contains(&"profile".to_string()));
    assert!(new.contains(&"profile".to_string()));
    for s in ["follow", "admin:read", "admin:write", "crypto", "read:reports"] {
        assert!(!new.contains(&s.to_string()), "{s} is never registered");
    }
    // The platform's defaults are always within what is registered, on any version.
    let defaults = crate::platforms::mastodon::platform().default_scopes;
    assert_eq!(scopes_allowed(&defaults, &old), Ok(()));
    assert_eq!(scopes_allowed(&defaults, &new), Ok(()));
}

#[test]
fn registration_request_is_a_form_with_one_redirect_string() {
    let scopes = strings(&["read", "write", "push"]);
    let r = registration_request(
        "fosstodon.org",
        "Acme via connect-links",
        "https://links.acme.com/v1/callback/mastodon",
        &scopes,
        Some("https://acme.com"),
    );
    assert_eq!(r.method, "POST");
    assert_eq!(r.url, "https://fosstodon.org/api/v1/apps");
    assert_eq!(r.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        r.form(),
        vec![
            ("client_name".to_string(), "Acme via connect-links".to_string()),
            ("redirect_uris".to_string(), "https://links.acme.com/v1/callback/mastodon".to_string()),
            ("scopes".to_string(), "read write push".to_string()),
            ("website".to_string(), "https://acme.com".to_string()),
        ]
    );
    let bare = registration_request("fosstodon.org", "x", "https://a.com/cb", &scopes, None);
    assert!(!bare.form().iter().any(|(k, _)| k == "website"));
    assert!(!bare.form().iter().any(|(k, _)| k.contains('[')), "never redirect_uris[]");
}

#[test]
fn a_registration_answer_of_any_version_gives_the_client() {
    // 4.2 (Application, `redirect_uri` and `vapid_key`), 4.4 (CredentialApplication).
    for body in [
        r#"{"id":"1","name":"x","website":null,"redirect_uri":"https://a.com/cb","client_id":"cid","client_secret":"csec","vapid_key":"BM"}"#,
        r#"{"id":"1","name":"x","scopes":["read"],"redirect_uri":"https://a.com/cb","redirect_uris":["https://a.com/cb"],"client_id":"cid","client_secret":"csec","client_secret_expires_at":0}"#,
    ] {
        let reg = parse_registration(200, body.as_bytes()).expect("a client");
        assert_eq!(reg.client_id, "cid");
        assert_eq!(reg.client_secret.secret(), "csec");
    }
}

#[test]
fn registration_problems_are_named_without_the_body() {
    use RegistrationProblem::*;
    let refused = parse_registration(422, br#"{"error":"Validation failed: Scopes doesn't match configured on the server."}"#);
    assert_eq!(
        refused.as_ref().err(),
        Some(&Refused { error: Some("Validation failed: Scopes doesn't match configured on the server.".into()) })
    );
    assert_eq!(parse_registration(422, b"<html>").err(), Some(Refused { error: None }));
    assert_eq!(parse_registration(422, br#"{"error":""}"#).err(), Some(Refused { error: None }));
    assert_eq!(parse_registration(429, b"{}").err(), Some(Status(429)));
    assert_eq!(parse_registration(503, b"").err(), Some(Status(503)));
    assert_eq!(parse_registration(200, b"<html>").err(), Some(NotJson));
    assert_eq!(parse_registration(200, b"[1]").err(), Some(NotJson));
    assert_eq!(parse_registration(200, br#"{"client_secret":"csec"}"#).err(), Some(MissingField("client_id")));
    assert_eq!(parse_registration(200, br#"{"client_id":"","client_secret":"csec"}"#).err(), Some(MissingField("client_id")));
    assert_eq!(parse_registration(200, br#"{"client_id":"c","client_secret":7}"#).err(), Some(MissingField("client_secret")));
    assert!(Status(429).transient() && Status(502).transient());
    assert!(!Status(403).transient() && !NotJson.transient() && !(Refused { error: None }).transient());
}

#[test]
fn registered_client_values_are_at_most_256_of_a_strict_set() {
    use RegistrationProblem::BadField;
    let answer = |id: &str, secret: &str| {
        parse_registration(200, serde_json::json!({"client_id": id, "client_secret": secret}).to_string().as_bytes())
    };
    // Real shapes: Mastodon's base64url, Pleroma's padded base64url, GoToSocial's ULID.
    for id in ["a6vqYdVb3oLM-eQbtx1uMTZjJ8XqUWa3Ln9n1bW4I_k", "pVqQg_0MBQ8j8T-5Ye3ssOvTJw2bCAgcm2xB9kvNGb8=", "01HZ5K5Q3B5E9V9PXA8ZC9RQ4N"] {
        assert_eq!(answer(id, "s3cr3t+/=").map(|r| r.client_id).as_deref(), Ok(id));
    }
    assert!(answer(&"c".repeat(256), &"s".repeat(256)).is_ok());
    assert_eq!(answer(&"c".repeat(257), "s").err(), Some(BadField("client_id")));
    assert_eq!(answer("c", &"s".repeat(257)).err(), Some(BadField("client_secret")));
    for odd in ["a b", "a\"b", "a&b", "a#b", "a%20b", "a\\b", "a\nb", "caf\u{e9}", "<script>", "a\u{0}b"] {
        assert_eq!(answer(odd, "s").err(), Some(BadField("client_id")), "{odd:?}");
        assert_eq!(answer("c", odd).err(), Some(BadField("client_secret")), "{odd:?}");
    }
    // The problem names the field, never its value.
    let problem = answer("c", "SECRET xyz").expect_err("refused");
    assert!(!problem.to_string().contains("SECRET"));
    assert!(problem.to_string().contains("client_secret") && problem.to_string().contains("256"));
}

#[test]
fn a_long_or_odd_refusal_message_is_cut_and_cleaned() {
    let long = format!("{{\"error\":\"Validation failed: {}\\n\\u0007end\"}}", "a".repeat(1000));
    let Err(RegistrationProblem::Refused { error: Some(e) }) = parse_registration(422, long.as_bytes()) else {
        panic!("refused with a message");
    };
    assert_eq!(e.chars().count(), MAX_ERROR_CHARS);
    assert!(!e.chars().any(char::is_control));
}

#[test]
fn the_secret_never_shows() {
    let reg = parse_registration(200, br#"{"client_id":"cid","client_secret":"SECRET-xyz"}"#).expect("a client");
    assert!(!format!("{reg:?}").contains("SECRET"));
    // Answers that carry the secret but are no usable client: the problem never repeats it.
    for (status, body) in [
        (200, &br#"{"client_secret":"SECRET-xyz"}"#[..]),
        (200, br#"{"client_id":"","client_secret":"SECRET-xyz"}"#),
        (500, br#"{"client_id":"cid","client_secret":"SECRET-xyz"}"#),
        (200, br#"["SECRET-xyz"]"#),
    ] {
        let problem = parse_registration(status, body).expect_err("no usable client");
        assert!(!problem.to_string().contains("SECRET") && !format!("{problem:?}").contains("SECRET"), "{problem:?}");
    }
}

#[test]
fn scopes_are_checked_by_exact_name_as_the_consent_screen_does() {
    let registered = strings(&["read", "write", "push", "read:statuses", "admin:read"]);
    assert_eq!(scopes_allowed(&strings(&["read", "read:statuses"]), &registered), Ok(()));
    assert_eq!(scopes_allowed(&[], &registered), Ok(()));
    assert_eq!(
        scopes_allowed(&strings(&["read:accounts", "write", "admin:read:accounts", "follow", "profile"]), &registered),
        Err(strings(&["read:accounts", "admin:read:accounts", "follow", "profile"])),
        "a parent scope does not admit its children at authorize time"
    );
    assert_eq!(scopes_allowed(&strings(&["READ"]), &registered), Err(strings(&["READ"])), "case-sensitive");
    assert_eq!(scopes_allowed(&strings(&["read:"]), &registered), Err(strings(&["read:"])));
}

#[test]
fn accounts_are_keyed_by_instance() {
    assert_eq!(account_key("109348", "mastodon.social"), "109348@mastodon.social");
    assert_ne!(account_key("1", "mastodon.social"), account_key("1", "fosstodon.org"));
    assert_eq!(handle("gargron", "mastodon.social"), "gargron@mastodon.social");
}

#[test]
fn an_unknown_client_is_told_apart_from_other_token_errors() {
    let unknown = br#"{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}"#;
    assert!(is_unknown_client(401, unknown));
    assert!(!is_unknown_client(400, unknown), "401 only");
    assert!(!is_unknown_client(401, br#"{"error":"invalid_grant"}"#));
    assert!(!is_unknown_client(400, br#"{"error":"invalid_grant"}"#));
    assert!(!is_unknown_client(401, b"<html>"));
    assert!(!is_unknown_client(401, br#"{"error":{"code":"invalid_client"}}"#));
}
