use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const PLC: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const NOW: i64 = 1_800_000_000;

fn jwt(payload: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"at+jwt","alg":"HS256"}"#);
    format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode(payload.as_bytes()))
}

fn doc(did: &str, services: &str) -> Vec<u8> {
    format!(r#"{{"id":"{did}","alsoKnownAs":["at://Alice.bsky.social"],"service":{services}}}"#).into_bytes()
}

fn pds(endpoint: &str) -> String {
    format!(r##"[{{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"{endpoint}"}}]"##)
}

#[test]
fn handles_are_normalised() {
    for (input, handle) in [
        ("alice.bsky.social", "alice.bsky.social"),
        ("@Alice.Bsky.Social", "alice.bsky.social"),
        ("  jay.bsky.team ", "jay.bsky.team"),
        ("xn--bcher-kva.example.com", "xn--bcher-kva.example.com"),
        ("a.co", "a.co"),
        ("john.123.dev", "john.123.dev"),
    ] {
        assert_eq!(normalize_identifier(input), Ok(Identifier::Handle(handle.into())), "{input}");
    }
}

#[test]
fn bad_handles_are_refused_with_the_reason() {
    use IdentifierProblem::*;
    for (input, why) in [
        ("", Empty),
        ("   ", Empty),
        ("@", BadHandle),
        ("alice@example.com", Email),
        ("@alice@example.com", Email),
        ("alice", BadHandle),
        ("alice.", BadHandle),
        (".alice.social", BadHandle),
        ("al_ice.bsky.social", BadHandle),
        ("-alice.bsky.social", BadHandle),
        ("alice-.bsky.social", BadHandle),
        ("alice.bsky.1social", BadHandle),
        ("alice..social", BadHandle),
        ("bücher.social", BadHandle),
        ("https://bsky.app/profile/alice.bsky.social", BadHandle),
        ("alice.bsky.social:443", BadHandle),
        ("DID:plc:ewvi7nxzyoun6zhxrhs64oiz", BadHandle),
        ("handle.invalid", ReservedTld),
        ("alice.test", ReservedTld),
        ("alice.local", ReservedTld),
        ("alice.localhost", ReservedTld),
        ("x.onion", ReservedTld),
        ("x.alt", ReservedTld),
        ("x.arpa", ReservedTld),
        ("x.example", ReservedTld),
        ("x.internal", ReservedTld),
    ] {
        assert_eq!(normalize_identifier(input), Err(why), "{input:?}");
    }
    let label = "a".repeat(63);
    let long = format!("{label}.{label}.{label}.{label}.social");
    assert_eq!(normalize_identifier(&long), Err(TooLong));
    assert_eq!(normalize_identifier(&format!("{}.social", "a".repeat(64))), Err(BadHandle));
    assert_eq!(normalize_identifier(&"a.".repeat(5000)), Err(TooLong));
}

#[test]
fn dids_are_accepted_for_plc_and_web_only() {
    use IdentifierProblem::*;
    assert_eq!(normalize_identifier(PLC), Ok(Identifier::Did(PLC.into())));
    assert_eq!(normalize_identifier("did:web:alice.dev"), Ok(Identifier::Did("did:web:alice.dev".into())));
    // One account, one spelling: the host of a did:web is folded to lower case.
    assert_eq!(normalize_identifier("did:web:Alice.Dev"), Ok(Identifier::Did("did:web:alice.dev".into())));
    assert_eq!(normalize_identifier(PLC).map(|i| i.as_str().to_string()), Ok(PLC.to_string()));
    for (input, why) in [
        ("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", UnsupportedDidMethod),
        ("did:plc:short", BadDid),
        ("did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ", BadDid),
        ("did:plc:ewvi7nxzyoun6zhxrhs64oi1", BadDid),
        ("did:plc:", BadDid),
        ("did:", BadDid),
        ("did:PLC:ewvi7nxzyoun6zhxrhs64oiz", BadDid),
        ("did:web:alice.dev:", BadDid),
        ("did:web:alice.dev%", BadDid),
        ("did:web:alice.dev%3A8080", BadDid),
        ("did:web:alice.dev:user:bob", BadDid),
        ("did:web:localhost", BadDid),
        ("did:web:127.0.0.1", BadDid),
        ("did:web:2130706433", BadDid),
        ("did:web:pds.internal", BadDid),
        ("did:web:alice.dev#frag", BadDid),
        ("did:web:alice.dev?x=1", BadDid),
        ("did:web:alice.dev/path", BadDid),
    ] {
        assert_eq!(normalize_identifier(input), Err(why), "{input:?}");
    }
    assert_eq!(normalize_identifier(&format!("did:web:{}", "a".repeat(3000))), Err(TooLong));
}

#[test]
fn resolve_handle_goes_to_the_public_appview() {
    let r = resolve_handle_request("alice.bsky.social");
    assert_eq!(r.method, "GET");
    assert_eq!(r.url, "https://public.api.bsky.app/xrpc/com.atproto.identity.resolveHandle?handle=alice.bsky.social");
    assert!(r.body.is_none());
    assert!(resolve_handle_request("a&b=c").url.ends_with("handle=a%26b%3Dc"));
}

#[test]
fn resolved_handles_are_checked() {
    let ok = format!(r#"{{"did":"{PLC}"}}"#);
    assert_eq!(parse_resolved_handle(200, ok.as_bytes()), Ok(PLC.to_string()));
    let miss = br#"{"error":"InvalidRequest","message":"Unable to resolve handle"}"#;
    assert_eq!(parse_resolved_handle(400, miss), Err(ResolveProblem::NotFound));
    assert_eq!(parse_resolved_handle(400, br#"{"error":"HandleNotFound"}"#), Err(ResolveProblem::NotFound));
    assert_eq!(parse_resolved_handle(502, b"bad gateway"), Err(ResolveProblem::Upstream { status: 502 }));
    assert_eq!(parse_resolved_handle(429, b"{}"), Err(ResolveProblem::Upstream { status: 429 }));
    for body in [
        &b"{}"[..],
        b"[]",
        b"not json",
        br#"{"did":"did:key:z6Mk"}"#,
        br#"{"did":"did:web:localhost"}"#,
        br#"{"did":5}"#,
    ] {
        assert_eq!(parse_resolved_handle(200, body), Err(ResolveProblem::Malformed), "{body:?}");
    }
}

#[test]
fn did_documents_come_from_plc_or_the_web_host() {
    assert_eq!(did_document_request(PLC).unwrap().url, format!("https://plc.directory/{PLC}"));
    let web = did_document_request("did:web:Alice.Dev").unwrap();
    assert_eq!(web.url, "https://alice.dev/.well-known/did.json");
    assert_eq!(web.method, "GET");
    for bad in [
        "did:web:alice.dev%3A8443",
        "did:web:alice.dev:path",
        "did:web:10.0.0.1",
        "did:web:metadata.google.internal",
        "did:key:z6Mk",
        "alice.dev",
    ] {
        assert_eq!(did_document_request(bad).unwrap_err(), DidProblem::BadDid, "{bad}");
    }
    assert_eq!(did_document_status(200), Ok(()));
    assert_eq!(did_document_status(404), Err(DidProblem::NotFound));
    assert_eq!(did_document_status(410), Err(DidProblem::NotFound));
    assert_eq!(did_document_status(503), Err(DidProblem::Upstream { status: 503 }));
}

#[test]
fn a_did_document_gives_the_pds_host_and_handle() {
    let d = parse_did_document(PLC, &doc(PLC, &pds("https://morel.us-east.host.bsky.network"))).unwrap();
    assert_eq!(d.pds_host, "morel.us-east.host.bsky.network");
    assert_eq!(d.handle.as_deref(), Some("alice.bsky.social"));
    // The fully written id, a trailing slash, other services first, no alsoKnownAs.
    let body = format!(
        r##"{{"id":"{PLC}","service":[{{"id":"#atproto_labeler","type":"AtprotoLabeler","serviceEndpoint":"https://l.example.com"}},
        {{"id":"{PLC}#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"https://pds.selfhost.social/"}}]}}"##
    );
    let d = parse_did_document(PLC, body.as_bytes()).unwrap();
    assert_eq!((d.pds_host.as_str(), d.handle), ("pds.selfhost.social", None));
    // alsoKnownAs: the first at:// entry counts; an invalid one gives no handle.
    let body = format!(
        r#"{{"id":"{PLC}","alsoKnownAs":["https://x.com","at://bob.example.com","at://carol.com"],"service":{}}}"#,
        pds("https://pds.selfhost.social")
    );
    assert_eq!(parse_did_document(PLC, body.as_bytes()).unwrap().handle.as_deref(), Some("bob.example.com"));
    let body = format!(r#"{{"id":"{PLC}","alsoKnownAs":["at://not a handle"],"service":{}}}"#, pds("https://p.social"));
    assert_eq!(parse_did_document(PLC, body.as_bytes()).unwrap().handle, None);
}

#[test]
fn hostile_did_documents_are_refused() {
    use HostProblem::*;
    for (endpoint, why) in [
        ("http://pds.selfhost.social", NotHttps),
        ("pds.selfhost.social", NotHttps),
        ("javascript:alert(1)", NotHttps),
        ("https://127.0.0.1", IpLiteral),
        ("https://[::1]", IpLiteral),
        ("https://169.254.169.254", IpLiteral),
        ("https://localhost", NotPublic),
        ("https://pds.internal", NotPublic),
        ("https://pds.selfhost.social/xrpc", ExtraParts),
        ("https://pds.selfhost.social:8443", ExtraParts),
        ("https://pds.selfhost.social:443", ExtraParts),
        ("https://pds.selfhost.social/?a=b", ExtraParts),
        ("https://user@pds.selfhost.social", ExtraParts),
    ] {
        assert_eq!(
            parse_did_document(PLC, &doc(PLC, &pds(endpoint))),
            Err(DidProblem::PdsNotAllowed(why)),
            "{endpoint}"
        );
    }
    let good = pds("https://pds.selfhost.social");
    assert_eq!(parse_did_document(PLC, &doc("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", &good)), Err(DidProblem::IdMismatch));
    assert_eq!(parse_did_document(PLC, br#"{"service":[]}"#), Err(DidProblem::IdMismatch));
    assert_eq!(parse_did_document(PLC, &doc(PLC, "[]")), Err(DidProblem::NoPds));
    assert_eq!(parse_did_document(PLC, &doc(PLC, "{}")), Err(DidProblem::NoPds));
    let wrong_type = r##"[{"id":"#atproto_pds","type":"Other","serviceEndpoint":"https://p.social"}]"##;
    assert_eq!(parse_did_document(PLC, &doc(PLC, wrong_type)), Err(DidProblem::NoPds));
    let other_did = r##"[{"id":"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"https://p.social"}]"##;
    assert_eq!(parse_did_document(PLC, &doc(PLC, other_did)), Err(DidProblem::NoPds));
    let object_endpoint =
        r##"[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":{"a":"https://p.social"}}]"##;
    assert_eq!(parse_did_document(PLC, &doc(PLC, object_endpoint)), Err(DidProblem::NoPds));
    assert_eq!(parse_did_document(PLC, b"[1]"), Err(DidProblem::Malformed));
    assert_eq!(parse_did_document(PLC, b"<html>"), Err(DidProblem::Malformed));
    let huge = format!(r#"{{"id":"{PLC}","pad":"{}"}}"#, "x".repeat(MAX_DID_DOCUMENT_BYTES));
    assert_eq!(parse_did_document(PLC, huge.as_bytes()), Err(DidProblem::Malformed));
}

#[test]
fn create_session_posts_json_to_the_pds() {
    let r = create_session_request("morel.us-east.host.bsky.network", PLC, "abcd-efgh-ijkl-mnop");
    assert_eq!(r.method, "POST");
    assert_eq!(r.url, "https://morel.us-east.host.bsky.network/xrpc/com.atproto.server.createSession");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"identifier": PLC, "password": "abcd-efgh-ijkl-mnop"}));
    assert!(!format!("{r:?}").contains("abcd"), "the password stays out of Debug");
    // A password with JSON metacharacters stays one string.
    let r = create_session_request("p.social", "alice.bsky.social", "a\",\"x\":\"y");
    let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["password"], "a\",\"x\":\"y");
    assert!(body.get("x").is_none());
}

#[test]
fn refresh_and_delete_send_the_refresh_jwt_as_bearer() {
    let token = RefreshToken::new("r.jwt.sig");
    let r = refresh_session_request("p.social", &token);
    assert_eq!((r.method, r.url.as_str()), ("POST", "https://p.social/xrpc/com.atproto.server.refreshSession"));
    assert_eq!(r.header("authorization"), Some("Bearer r.jwt.sig"));
    assert!(r.body.is_none());
    let d = delete_session_request("p.social", &token);
    assert_eq!((d.method, d.url.as_str()), ("POST", "https://p.social/xrpc/com.atproto.server.deleteSession"));
    assert_eq!(d.header("authorization"), Some("Bearer r.jwt.sig"));
    assert!(d.body.is_none());
}

fn session_body(access: &str, refresh: &str) -> String {
    format!(
        r#"{{"accessJwt":"{access}","refreshJwt":"{refresh}","handle":"Alice.bsky.social","did":"{PLC}","active":true}}"#
    )
}

#[test]
fn a_session_maps_to_a_token_set_with_lifetimes_from_the_jwts() {
    let access = jwt(&format!(r#"{{"scope":"com.atproto.appPass","sub":"{PLC}","iat":{NOW},"exp":{}}}"#, NOW + 7200));
    let refresh =
        jwt(&format!(r#"{{"scope":"com.atproto.refresh","sub":"{PLC}","jti":"j1","exp":{}}}"#, NOW + 90 * 86_400));
    let s = parse_session(200, session_body(&access, &refresh).as_bytes(), NOW).unwrap();
    assert_eq!(s.did, PLC);
    assert_eq!(s.handle, "alice.bsky.social");
    assert_eq!(s.tokens.access_token.secret(), access);
    assert_eq!(s.tokens.refresh_token.as_ref().unwrap().secret(), refresh);
    assert_eq!(s.tokens.token_type, "Bearer");
    assert_eq!(s.tokens.expires_in, Some(7200));
    assert_eq!(s.tokens.refresh_expires_in, Some(90 * 86_400));
    assert_eq!(s.tokens.scope.as_deref(), Some("com.atproto.appPass"));
    let debug = format!("{s:?}");
    assert!(!debug.contains(&access) && !debug.contains(&refresh), "{debug}");
}

#[test]
fn unreadable_or_past_exp_gets_safe_lifetimes() {
    let s = parse_session(200, session_body("opaque", "opaque-too").as_bytes(), NOW).unwrap();
    assert_eq!(s.tokens.expires_in, Some(DEFAULT_ACCESS_TTL_SECS));
    assert_eq!(s.tokens.refresh_expires_in, None);
    assert_eq!(s.tokens.scope, None);
    let past = jwt(&format!(r#"{{"exp":{}}}"#, NOW - 10));
    let s = parse_session(200, session_body(&past, &past).as_bytes(), NOW).unwrap();
    assert_eq!((s.tokens.expires_in, s.tokens.refresh_expires_in), (Some(0), Some(0)));
    // handle.invalid is what a PDS says for a broken handle: accepted as is.
    let body = session_body("a", "r").replace("Alice.bsky.social", "handle.invalid");
    assert_eq!(parse_session(200, body.as_bytes(), NOW).unwrap().handle, "handle.invalid");
}

#[test]
fn session_failures_are_named_without_secrets() {
    use SessionError::*;
    for (status, body, want) in [
        (401, r#"{"error":"AuthenticationRequired","message":"Invalid identifier or password"}"#, InvalidCredentials),
        (
            401,
            r#"{"error":"AuthFactorTokenRequired","message":"A sign in code has been sent to your email address"}"#,
            AuthFactorRequired,
        ),
        (401, r#"{"error":"AccountTakedown","message":"Account has been taken down"}"#, AccountTakendown),
        (400, r#"{"error":"AccountTakedown"}"#, AccountTakendown),
        (401, "", InvalidCredentials),
        (429, r#"{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"#, RateLimited),
        (400, r#"{"error":"ExpiredToken","message":"Token has expired"}"#, Upstream { status: 400 }),
        (500, "oops", Upstream { status: 500 }),
        (200, "not json", Malformed),
        (200, "[]", Malformed),
        (200, r#"{"accessJwt":"a","refreshJwt":"r","handle":"alice.bsky.social"}"#, Malformed),
        (
            200,
            r#"{"accessJwt":"","refreshJwt":"r","handle":"a.b","did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz"}"#,
            Malformed,
        ),
        (200, r#"{"accessJwt":"a","refreshJwt":"r","handle":"a.b","did":"did:key:zzz"}"#, Malformed),
        (
            200,
            r#"{"accessJwt":"a","refreshJwt":"r","handle":"no handle","did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz"}"#,
            Malformed,
        ),
        (
            200,
            r#"{"accessJwt":"a","refreshJwt":"r","handle":"a.b","did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","status":"takendown"}"#,
            AccountTakendown,
        ),
    ] {
        let got = parse_session(status, body.as_bytes(), NOW).map(|_| ()).unwrap_err();
        assert_eq!(got, want, "{status} {body}");
        let shown = got.to_string();
        assert!(!shown.contains("Invalid identifier") && !shown.contains("accessJwt"), "{shown}");
    }
    assert!(AuthFactorRequired.to_string().contains("app password"));
}


#[test]
fn jwt_exp_reads_only_well_formed_payloads() {
    assert_eq!(jwt_exp(&jwt(r#"{"exp":1800000000}"#)), Some(1_800_000_000));
    assert_eq!(jwt_exp(&jwt(r#"{"exp":1800000000.7}"#)), Some(1_800_000_000));
    // Padded base64url is tolerated.
    let padded = format!("h.{}=.s", URL_SAFE_NO_PAD.encode(br#"{"exp":12345}"#));
    assert_eq!(jwt_exp(&padded), Some(12345));
    for bad in [
        String::new(),
        "a.b".into(),
        "a.b.c.d".into(),
        "h.!!!.s".into(),
        jwt(r#"{"iat":1}"#),
        jwt(r#"{"exp":"1800000000"}"#),
        jwt(r#"{"exp":-5}"#),
        jwt(r#"{"exp":0}"#),
        jwt(r#"{"exp":1e300}"#),
        jwt("[1]"),
        jwt("not json"),
        format!("h.{}.s", "A".repeat(MAX_JWT_LEN)),
    ] {
        assert_eq!(jwt_exp(&bad), None, "{bad:.40}");
    }
}

#[test]
fn profile_is_public_and_optional() {
    let r = profile_request(PLC);
    assert_eq!(
        r.url,
        format!("https://public.api.bsky.app/xrpc/app.bsky.actor.getProfile?actor=did%3Aplc%3A{}", &PLC[8..])
    );
    assert!(r.header("authorization").is_none());
    let body = format!(
        r#"{{"did":"{PLC}","handle":"alice.bsky.social","displayName":"  Alice  ","avatar":"https://cdn.bsky.app/a.jpg"}}"#
    );
    let p = parse_profile(200, body.as_bytes()).unwrap();
    assert_eq!(p.display_name.as_deref(), Some("Alice"));
    assert_eq!(p.avatar_url.as_deref(), Some("https://cdn.bsky.app/a.jpg"));
    assert_eq!(parse_profile(200, br#"{"did":"x","handle":"a.b","displayName":""}"#), Some(ProfileFacts::default()));
    assert_eq!(parse_profile(200, br#"{"displayName":5}"#), Some(ProfileFacts::default()));
    assert_eq!(parse_profile(400, br#"{"error":"InvalidRequest","message":"Profile not found"}"#), None);
    assert_eq!(parse_profile(200, b"nope"), None);
    let long = format!(r#"{{"displayName":"{}"}}"#, "é".repeat(600));
    assert_eq!(parse_profile(200, long.as_bytes()).unwrap().display_name.unwrap().chars().count(), 256);
    let far = format!(r#"{{"avatar":"https://cdn.bsky.app/{}"}}"#, "a".repeat(3000));
    assert_eq!(parse_profile(200, far.as_bytes()).unwrap().avatar_url, None, "a cut URL would point elsewhere");
}

#[test]
fn problems_never_echo_input() {
    let secret = "hunter2-secret";
    let shown = [
        normalize_identifier(&format!("{secret}@mail.com")).unwrap_err().to_string(),
        parse_did_document(PLC, &doc(PLC, &pds(&format!("http://{secret}.com")))).unwrap_err().to_string(),
    ];
    for s in shown {
        assert!(!s.contains(secret), "{s}");
    }
}

#[test]
fn a_did_web_has_one_spelling_from_every_source() {
    assert_eq!(canonical_did("did:web:Alice.Dev"), "did:web:alice.dev");
    assert_eq!(canonical_did("did:plc:abcdefghijklmnopqrstuvwx"), "did:plc:abcdefghijklmnopqrstuvwx");
    assert_eq!(parse_resolved_handle(200, br#"{"did":"did:web:Alice.Dev"}"#), Ok("did:web:alice.dev".into()));
    let doc = br##"{"id":"did:web:ALICE.dev","alsoKnownAs":["at://alice.dev"],
        "service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"https://pds.alice.dev"}]}"##;
    assert_eq!(parse_did_document("did:web:alice.dev", doc).map(|d| d.pds_host), Ok("pds.alice.dev".into()));
}
