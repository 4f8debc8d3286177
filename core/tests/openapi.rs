//! The API views and openapi/openapi.json name the same fields: for each view, the keys it
//! produces are exactly the `properties` of its component schema, and each is `required`.
//! A field added to a view or to the document, and not to the other, fails here.

use connect_links_core::model::{AppRow, LinkRow, ProfileRow};
use connect_links_core::platforms::{AuthKind, PlatformInfo, RefreshKind};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

const DOC: &str = include_str!("../../openapi/openapi.json");

/// openapi/openapi.json, parsed once for every test.
fn doc() -> &'static Value {
    static DOC_VALUE: OnceLock<Value> = OnceLock::new();
    DOC_VALUE.get_or_init(|| serde_json::from_str(DOC).expect("openapi/openapi.json is JSON"))
}

/// The component schema `name`, following a `$ref` to another component.
fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let mut s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "components.schemas.{name} is not in openapi/openapi.json");
    for _ in 0..10 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let target =
                    r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{name}: unsupported $ref {r}"));
                s = &doc["components"]["schemas"][target];
            }
            None => return s,
        }
    }
    panic!("{name}: a $ref loop");
}

/// The names in the schema `s`'s `properties` (`name` is the schema's, for the message).
fn properties_of(s: &Value, name: &str) -> BTreeSet<String> {
    s["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("components.schemas.{name} has no `properties`"))
        .keys()
        .cloned()
        .collect()
}

fn keys_of(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("a view is a JSON object").keys().cloned().collect()
}

/// The view's keys are the schema's `properties`, all `required`, with no other key allowed.
fn assert_matches(name: &str, view: &Value) {
    let s = schema(doc(), name);
    let props = properties_of(s, name);
    let keys = keys_of(view);
    let only_view: Vec<_> = keys.difference(&props).collect();
    let only_doc: Vec<_> = props.difference(&keys).collect();
    assert!(
        only_view.is_empty() && only_doc.is_empty(),
        "{name}: the view and components.schemas.{name}.properties differ\n  only in the view: {only_view:?}\n  only in the document: {only_doc:?}"
    );
    let required: BTreeSet<String> = s["required"]
        .as_array()
        .unwrap_or_else(|| panic!("components.schemas.{name} has no `required`"))
        .iter()
        .map(|v| v.as_str().expect("required names are strings").to_string())
        .collect();
    let not_required: Vec<_> = keys.difference(&required).collect();
    assert!(not_required.is_empty(), "{name}: keys every view has but `required` lacks: {not_required:?}");
    assert_eq!(s["additionalProperties"], Value::Bool(false), "{name}: additionalProperties must be false");
}

fn profile(full: bool) -> ProfileRow {
    let some = |s: &str| if full { Some(s.to_string()) } else { None };
    ProfileRow {
        id: "prf_1".into(),
        app_id: "app_1".into(),
        platform: "sandbox".into(),
        account_type: "user".into(),
        grant_id: "grn_1".into(),
        parent: some(r#"{"id":"p1","name":"Page","type":"page"}"#),
        platform_user_id: "u1".into(),
        username: some("ada"),
        display_name: some("Ada"),
        avatar_url: some("https://example.com/a.png"),
        external_user_id: some("user-1"),
        metadata: some(r#"{"k":"v"}"#),
        status: "active".into(),
        disconnect_reason: some("revoked"),
        scopes: r#"["read"]"#.into(),
        declined_scopes: some(r#"["write"]"#),
        access_token_expires_at: full.then_some(1_700_003_600),
        last_refreshed_at: full.then_some(1_700_000_000),
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
        claim_link_id: some("cl_1"),
        last_platform_event_at: full.then_some(1_700_000_000),
        instance: some("mastodon.social"),
    }
}

#[test]
fn profile_view_matches_the_document() {
    // With every optional column set and with none: the keys do not depend on the values.
    assert_matches("Profile", &profile(true).view());
    assert_matches("Profile", &profile(false).view());
}

#[test]
fn connect_link_view_matches_the_document() {
    let now = 1_700_000_100;
    let completed = LinkRow {
        id: "cl_1".into(),
        app_id: "app_1".into(),
        platform: "sandbox".into(),
        redirect_url: "https://app.example.com/connected".into(),
        scopes: r#"["read"]"#.into(),
        status: "completed".into(),
        profile_id: Some("prf_1".into()),
        profile_ids: Some(r#"["prf_1","prf_2"]"#.into()),
        instance: Some("mastodon.social".into()),
        created_at: 1_700_000_000,
        expires_at: 1_700_003_600,
        completed_at: Some(1_700_000_050),
        ..Default::default()
    };
    assert_matches("ConnectLink", &completed.view(now));
    let pending = LinkRow {
        id: "cl_2".into(),
        platform: "sandbox".into(),
        status: "pending".into(),
        created_at: 1_700_000_000,
        expires_at: 1_700_003_600,
        ..Default::default()
    };
    assert_matches("ConnectLink", &pending.view(now));
    let failed = LinkRow { status: "failed".into(), error: Some("access_denied".into()), ..pending };
    assert_matches("ConnectLink", &failed.view(now));
    let declined = LinkRow {
        error: Some("missing_scopes".into()),
        missing_scopes: Some(r#"["write"]"#.into()),
        ..failed
    };
    assert_eq!(declined.view(now)["missing_scopes"], serde_json::json!(["write"]));
    assert_matches("ConnectLink", &declined.view(now));
}

#[test]
fn app_view_matches_the_document() {
    let app = AppRow {
        id: "app_1".into(),
        name: "Test app".into(),
        allowed_redirect_urls: r#"["https://app.example.com/connected"]"#.into(),
        webhook_url: Some("https://app.example.com/hooks".into()),
        claim: "required".into(),
        refresh_mode: "proactive".into(),
        created_at: 1_700_000_000,
        limits: None,
        self_service_credentials: 0,
        platform_events: None,
        display_name: None,
        accent_color: None,
        logo_file: None,
    };
    let url = "https://links.example";
    assert_matches("App", &app.view(url));
    let branded = AppRow {
        display_name: Some("Acme Posts".into()),
        accent_color: Some("#ff8800".into()),
        logo_file: Some("0123456789abcdef.png".into()),
        ..app.clone()
    };
    assert_matches("App", &branded.view(url));
    let limited = AppRow {
        limits: Some(r#"{"proxy_per_minute":5,"budget_weight":3}"#.into()),
        platform_events: Some(r#"{"facebook":["feed","mention"],"sandbox":["*"]}"#.into()),
        ..app.clone()
    };
    assert_matches("App", &limited.view(url));
    assert_matches(
        "App",
        &AppRow {
            webhook_url: None,
            claim: "auto".into(),
            refresh_mode: "on_demand".into(),
            self_service_credentials: 1,
            ..app
        }
        .view(url),
    );
}

#[test]
fn platform_info_matches_the_document() {
    let info = PlatformInfo {
        id: "sandbox".into(),
        name: "Sandbox".into(),
        auth: AuthKind::Oauth2,
        pkce: true,
        default_scopes: vec!["read".into()],
        refresh: RefreshKind::RotatingRefreshToken,
        configured: true,
        credentials: Some("app"),
    };
    assert_matches("PlatformInfo", &serde_json::to_value(&info).expect("PlatformInfo serializes"));
    let unset = PlatformInfo { configured: false, credentials: None, ..info };
    assert_matches("PlatformInfo", &serde_json::to_value(&unset).expect("PlatformInfo serializes"));
}

/// The fields a request type takes, as serde names them: deserializing an unknown field into a
/// `deny_unknown_fields` type fails with "unknown field `x`, expected one of `a`, `b`, ...".
fn request_fields<T: serde::de::DeserializeOwned>() -> BTreeSet<String> {
    let err = match serde_json::from_str::<T>(r#"{"__no_such_field__": 1}"#) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a request type took an unknown field"),
    };
    let listed = err.split("expected one of ").nth(1).or_else(|| err.split("expected ").nth(1)).unwrap_or_default();
    listed.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// Every field a request body type takes is in its schema's `properties`, and the other way
/// round: a field added to the Rust type and not to the document (or the reverse) fails here.
#[test]
fn request_bodies_match_the_document() {
    use connect_links_core::input::{ClaimInput, CreateApp, CreateLink, CreateProfile, ExchangeInput, PatchApp};
    for (name, fields) in [
        ("CreateAppRequest", request_fields::<CreateApp>()),
        ("PatchAppRequest", request_fields::<PatchApp>()),
        ("CreateConnectLinkRequest", request_fields::<CreateLink>()),
        ("CreateProfileRequest", request_fields::<CreateProfile>()),
        ("ClaimRequest", request_fields::<ClaimInput>()),
        ("ExchangeRequest", request_fields::<ExchangeInput>()),
    ] {
        assert!(!fields.is_empty(), "{name}: no fields read from the serde error");
        let s = schema(doc(), name);
        let props = properties_of(s, name);
        assert_eq!(fields, props, "{name}: the Rust type and the document disagree");
        assert_eq!(s["additionalProperties"], Value::Bool(false), "{name}: unknown fields are refused");
    }
}

#[test]
fn one_platform_fields_are_the_documents_conditional() {
    use connect_links_core::input::{parse_json, CreateLink};
    // Every field the worker refuses on a link offering several platforms, all given.
    let body = br#"{"redirect_url":"https://a/cb","scopes":["a"],"optional_scopes":["b"],"instance":"m.example",
        "profile_id":"prf_1","callback":"app"}"#;
    let link: CreateLink = parse_json(body).expect("the body parses");
    let refused: BTreeSet<String> = link.one_platform_fields().iter().map(|f| f.to_string()).collect();
    let create = schema(doc(), "CreateConnectLinkRequest");
    let then = &create["then"];
    assert_eq!(keys_of(&then["properties"]), refused, "the `then` of CreateConnectLinkRequest");
    for field in &refused {
        let named = if field == "callback" { r#"`"callback": "app"`"#.to_string() } else { format!("`{field}`") };
        for (what, text) in [("then", &then["description"]), ("platforms", &create["properties"]["platforms"]["description"])] {
            assert!(text.as_str().is_some_and(|t| t.contains(&named)), "{what}'s description names {named}");
        }
    }
}
