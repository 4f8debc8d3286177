//! Generic OAuth 2.0 providers defined by configuration (`CUSTOM_PROVIDERS`, api.md section 9).

use super::types::{AuthKind, ClientAuth, IdentityMap, Pkce, Platform, RefreshKind, RevokeReach, TokenPlacement};
use serde::Deserialize;
use serde_json::Value;
use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Last segments of a `user_id_field` that name what a user can change (an email, a handle,
/// a display name) rather than the provider's own account id. A profile keyed on one would
/// split in two when the user renames, or land on another person who takes the old name.
const UNSTABLE_ID_FIELDS: &[&str] = &[
    "email",
    "mail",
    "email_address",
    "username",
    "preferred_username",
    "user_name",
    "login",
    "name",
    "nickname",
    "nick",
    "screen_name",
    "handle",
    "upn",
    "display_name",
    "given_name",
    "family_name",
];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Definition {
    #[serde(default)]
    #[allow(dead_code)]
    kind: Option<String>,
    name: String,
    authorize_url: String,
    token_url: String,
    userinfo_url: String,
    #[serde(default)]
    revoke_url: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    scope_separator: Option<String>,
    #[serde(default)]
    pkce: Option<bool>,
    #[serde(default)]
    client_auth: Option<String>,
    /// Values must be strings (checked in [`one`]); a JSON map, not a `BTreeMap` of strings,
    /// so the wasm holds one B-tree (serde_json's) instead of two.
    #[serde(default)]
    authorize_params: serde_json::Map<String, Value>,
    #[serde(default)]
    user_id_field: Option<String>,
    #[serde(default)]
    username_field: Option<String>,
    #[serde(default)]
    display_name_field: Option<String>,
    #[serde(default)]
    avatar_url_field: Option<String>,
    #[serde(default)]
    api_base_url: Option<String>,
}

/// Reads `CUSTOM_PROVIDERS` (a JSON object, or a string holding one). Returns the valid
/// providers and one sentence per entry that was skipped, for the log. Ids of built-in
/// platforms (`reserved`) cannot be redefined.
pub fn parse(config: &Value, reserved: &[String]) -> (Vec<Platform>, Vec<String>) {
    let parsed;
    let obj = match config {
        Value::Object(m) => m,
        Value::String(s) if s.trim().is_empty() => return (vec![], vec![]),
        Value::String(s) => match serde_json::from_slice::<Value>(s.as_bytes()) {
            Ok(Value::Object(m)) => {
                parsed = m;
                &parsed
            }
            _ => return (vec![], vec!["CUSTOM_PROVIDERS is not a JSON object".into()]),
        },
        Value::Null => return (vec![], vec![]),
        _ => return (vec![], vec!["CUSTOM_PROVIDERS is not a JSON object".into()]),
    };
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for (id, def) in obj {
        match one(id, def, reserved) {
            Ok(p) => ok.push(p),
            Err(why) => problems.push(format!("custom provider {id:?} skipped: {why}")),
        }
    }
    (ok, problems)
}

fn one(id: &str, def: &Value, reserved: &[String]) -> Result<Platform, String> {
    let valid_id = (1..=32).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid_id {
        return Err("the id must be [a-z][a-z0-9_]{0,31}".into());
    }
    if reserved.iter().any(|r| r == id) {
        return Err("the id is a built-in platform's".into());
    }
    match def.get("kind").and_then(Value::as_str) {
        None | Some("oauth2") => {}
        Some("api_key") => return api_key(id, def),
        Some(_) => return Err("kind must be \"oauth2\" or \"api_key\"".into()),
    }
    let d: Definition = read_definition(def)?;
    for (field, url) in [
        ("authorize_url", Some(&d.authorize_url)),
        ("token_url", Some(&d.token_url)),
        ("userinfo_url", Some(&d.userinfo_url)),
        ("revoke_url", d.revoke_url.as_ref()),
        ("api_base_url", d.api_base_url.as_ref()),
    ] {
        if let Some(u) = url {
            endpoint_url(u).map_err(|why| format!("{field} {why}"))?;
        }
    }
    let user_id = to_pointer(d.user_id_field.as_deref().unwrap_or("sub"));
    stable_id_pointer(&user_id)?;
    let client_auth = match d.client_auth.as_deref() {
        None | Some("basic") => ClientAuth::Basic,
        Some("body") => ClientAuth::Body,
        Some(_) => return Err("client_auth must be \"basic\" or \"body\"".into()),
    };
    let pointer = |field: Option<String>, default: &str| to_pointer(field.as_deref().unwrap_or(default));
    let mut authorize_params = Vec::new();
    for (k, v) in d.authorize_params {
        match v {
            Value::String(v) => authorize_params.push((k, v)),
            _ => return Err(format!("authorize_params.{k} must be a string")),
        }
    }
    Ok(Platform {
        authorize_url: d.authorize_url,
        token_url: d.token_url,
        revoke_url: d.revoke_url,
        // Unknown servers often end the whole user/client grant on revocation (Keycloak
        // offline sessions, oidc-provider's default policy): assume the wider reach, so a
        // revoke never ends another profile's grant.
        revoke_reach: RevokeReach::Account,
        identity: IdentityMap {
            url: d.userinfo_url,
            id: user_id,
            username: Some(pointer(d.username_field, "preferred_username")),
            display_name: Some(pointer(d.display_name_field, "name")),
            avatar_url: Some(pointer(d.avatar_url_field, "picture")),
        },
        default_scopes: d.scopes,
        scope_separator: d.scope_separator.unwrap_or_else(|| " ".into()),
        pkce: if d.pkce.unwrap_or(true) { Pkce::S256 } else { Pkce::None },
        client_auth,
        authorize_params,
        refresh: RefreshKind::RefreshToken,
        api_base_url: d.api_base_url,
        docs_url: "CUSTOM_PROVIDERS".into(),
        checked_on: String::new(),
        ..Platform::oauth2(id, &d.name)
    })
}

/// A provider that takes a key the user pastes (`"kind": "api_key"`): no consent screen, no
/// client credentials; the key is checked with one identity call and kept like a token that
/// never expires.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeyDefinition {
    #[allow(dead_code)]
    kind: String,
    name: String,
    userinfo_url: String,
    #[serde(default)]
    key_in: Option<String>,
    #[serde(default)]
    key_name: Option<String>,
    #[serde(default)]
    key_prefix: Option<String>,
    #[serde(default)]
    user_id_field: Option<String>,
    #[serde(default)]
    username_field: Option<String>,
    #[serde(default)]
    display_name_field: Option<String>,
    #[serde(default)]
    avatar_url_field: Option<String>,
    #[serde(default)]
    api_base_url: Option<String>,
}

/// Whether an API key may travel in header `name` (lower case): `authorization`, the usual
/// key headers, or an `x-` header that is not one the worker or intermediaries give a
/// meaning of their own (the proxy's host choice, method tunnelling, forwarding).
/// `def` read as `T`, as `serde_json::from_value` reads it (the same errors), but in place:
/// `T`'s default, each member then written into its field (serde's `deserialize_in_place`),
/// far less code per type than building `T` from its fields' values. A failure gives no
/// value, only the message.
fn read_definition<T: serde::de::DeserializeOwned + Default>(def: &Value) -> Result<T, String> {
    let mut d = T::default();
    T::deserialize_in_place(def.clone(), &mut d).map_err(|e| format!("invalid definition ({e})"))?;
    Ok(d)
}

fn key_header_allowed(name: &str) -> bool {
    const RESERVED_X: &[&str] = &["x-connect-links-", "x-forwarded-", "x-http-method", "x-real-ip", "x-restli-"];
    matches!(name, "authorization" | "api-key" | "apikey")
        || (name.starts_with("x-") && name.len() > 2 && !RESERVED_X.iter().any(|r| name.starts_with(r)))
}

fn api_key(id: &str, def: &Value) -> Result<Platform, String> {
    let d: KeyDefinition = read_definition(def)?;
    for (field, url) in [("userinfo_url", Some(&d.userinfo_url)), ("api_base_url", d.api_base_url.as_ref())] {
        if let Some(u) = url {
            endpoint_url(u).map_err(|why| format!("{field} {why}"))?;
        }
    }
    let token_placement = match d.key_in.as_deref() {
        None | Some("header") => {
            let name = d.key_name.as_deref().unwrap_or("authorization").to_ascii_lowercase();
            let token_char = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.len() > 64 || !name.bytes().all(token_char) || !key_header_allowed(&name) {
                return Err("key_name must be Authorization, Api-Key, ApiKey or an X- header of the provider's".into());
            }
            let default_prefix = if name == "authorization" { "Bearer " } else { "" };
            let prefix = d.key_prefix.unwrap_or_else(|| default_prefix.into());
            if prefix.len() > 32 || prefix.bytes().any(|b| b.is_ascii_control()) {
                return Err("key_prefix must be at most 32 printable characters".into());
            }
            TokenPlacement::Header { name, prefix }
        }
        Some("query") => {
            let name = d.key_name.ok_or("key_name is required with key_in \"query\"")?;
            let ok = (1..=64).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if !ok || d.key_prefix.is_some() {
                return Err("key_name must be [A-Za-z0-9_.-]{1,64} (and no key_prefix) with key_in \"query\"".into());
            }
            TokenPlacement::Query { name }
        }
        Some(_) => return Err("key_in must be \"header\" or \"query\"".into()),
    };
    let user_id = to_pointer(d.user_id_field.as_deref().unwrap_or("id"));
    stable_id_pointer(&user_id)?;
    let pointer = |field: Option<String>, default: &str| to_pointer(field.as_deref().unwrap_or(default));
    Ok(Platform {
        auth: AuthKind::ApiKey,
        identity: IdentityMap {
            url: d.userinfo_url,
            id: user_id,
            username: Some(pointer(d.username_field, "username")),
            display_name: Some(pointer(d.display_name_field, "name")),
            avatar_url: Some(pointer(d.avatar_url_field, "avatar_url")),
        },
        refresh: RefreshKind::None,
        pkce: Pkce::None,
        terminal_errors: vec![],
        api_base_url: d.api_base_url,
        token_placement,
        // A key's identity call answers 401 once the key is revoked, in no standard dialect.
        liveness_401_terminal: true,
        docs_url: "CUSTOM_PROVIDERS".into(),
        ..Platform::oauth2(id, &d.name)
    })
}

/// An endpoint must be https, except on a loopback host where plain http is accepted so a
/// local identity server (Keycloak, Ory Hydra, node oidc-provider) can be used in
/// development (from a deployed worker such a URL reaches nothing). No URL may carry
/// credentials: they would be sent to the provider and end up in configuration and logs.
fn endpoint_url(raw: &str) -> Result<(), &'static str> {
    let u = Url::parse(raw).map_err(|_| "is not an absolute URL")?;
    match u.scheme() {
        "https" if u.host().is_some() => {}
        "http" if is_loopback_host(&u) => {}
        _ => return Err("must be an https URL (http only on localhost, 127.0.0.1 or [::1])"),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not carry credentials");
    }
    Ok(())
}

/// Whether `u`'s host is this machine: the name `localhost`, `127.0.0.1` or `::1`. The host is
/// compared parsed and whole, so names that only begin like one (`localhost.evil.com`,
/// `127.0.0.1.nip.io`) are other hosts.
fn is_loopback_host(u: &Url) -> bool {
    match u.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// Refuses a user-id pointer whose last segment is one of [`UNSTABLE_ID_FIELDS`].
fn stable_id_pointer(pointer: &str) -> Result<(), String> {
    let last = pointer.rsplit('/').next().unwrap_or(pointer).replace("~1", "/").replace("~0", "~");
    if UNSTABLE_ID_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(&last)) {
        return Err(format!(
            "user_id_field {last:?} names an email, username or display name, which can change; \
             point it at the provider's stable account id (such as sub or id)"
        ));
    }
    Ok(())
}

/// `sub` or `data.user.id` as a JSON pointer (`/sub`, `/data/user/id`); a pointer stays as is.
fn to_pointer(field: &str) -> String {
    if field.starts_with('/') {
        field.to_string()
    } else {
        field.split('.').map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1"))).collect()
    }
}

#[cfg(test)]
mod tests {
    /// A valid provider `acme` whose `authorize_params` are `params`.
    fn cfg_value_with_params(params: Value) -> Value {
        json!({"acme": {"name": "Acme", "authorize_url": "https://a.test/auth", "token_url": "https://a.test/token",
            "userinfo_url": "https://a.test/me", "authorize_params": params}})
    }

    /// What a read gives: the fields that matter, or serde_json's message.
    fn read_both<T: serde::de::DeserializeOwned + Default>(v: &Value, show: fn(&T) -> String) -> (String, String) {
        let by_value =
            serde_json::from_value::<T>(v.clone()).map(|d| show(&d)).map_err(|e| format!("invalid definition ({e})"));
        let in_place = read_definition::<T>(v).map(|d| show(&d));
        (format!("{by_value:?}"), format!("{in_place:?}"))
    }

    #[test]
    fn definitions_read_in_place_as_from_value_reads_them() {
        let show = |d: &Definition| {
            format!(
                "{} {} {:?} {:?} {:?} {:?}",
                d.name, d.token_url, d.scopes, d.pkce, d.authorize_params, d.api_base_url
            )
        };
        let show_key = |d: &KeyDefinition| format!("{} {} {:?} {:?}", d.name, d.userinfo_url, d.key_in, d.key_prefix);
        for v in [
            serde_json::json!({"name": "n", "authorize_url": "a", "token_url": "t", "userinfo_url": "u", "scopes": ["s"], "pkce": true, "authorize_params": {"k": "v"}}),
            serde_json::json!({"name": "n", "authorize_url": "a", "token_url": "t"}),
            serde_json::json!({"name": "n", "authorize_url": "a", "token_url": "t", "userinfo_url": "u", "nope": 1}),
            serde_json::json!({"name": 5, "authorize_url": "a", "token_url": "t", "userinfo_url": "u"}),
            serde_json::json!({"name": "n", "authorize_url": "a", "token_url": "t", "userinfo_url": "u", "pkce": 1.5}),
            serde_json::json!(["n"]),
            serde_json::json!("n"),
        ] {
            let (a, b) = read_both::<Definition>(&v, show);
            assert_eq!(a, b, "{v}");
        }
        for v in [
            serde_json::json!({"kind": "api_key", "name": "n", "userinfo_url": "u", "key_in": "header", "key_prefix": "Bearer "}),
            serde_json::json!({"kind": "api_key", "name": "n"}),
            serde_json::json!({"kind": "api_key", "name": "n", "userinfo_url": "u", "key_in": 3}),
        ] {
            let (a, b) = read_both::<KeyDefinition>(&v, show_key);
            assert_eq!(a, b, "{v}");
        }
    }
    use super::*;
    use serde_json::json;

    fn reserved() -> Vec<String> {
        vec!["x".into(), "sandbox".into()]
    }

    #[test]
    fn a_full_definition_becomes_a_platform() {
        let cfg = json!({"acme": {
            "name": "Acme", "authorize_url": "https://id.acme.test/authorize", "token_url": "https://id.acme.test/token",
            "userinfo_url": "https://api.acme.test/me", "scopes": ["read", "write"], "scope_separator": ",",
            "pkce": false, "client_auth": "body", "authorize_params": {"audience": "api"},
            "user_id_field": "data.id", "username_field": "data.login"
        }});
        let (ok, problems) = parse(&cfg, &reserved());
        assert!(problems.is_empty(), "{problems:?}");
        let p = &ok[0];
        assert_eq!(p.id, "acme");
        assert_eq!(p.pkce, Pkce::None);
        assert_eq!(p.client_auth, ClientAuth::Body);
        assert_eq!(p.identity.id, "/data/id");
        assert_eq!(p.identity.username.as_deref(), Some("/data/login"));
        assert_eq!(p.identity.display_name.as_deref(), Some("/name"));
        assert_eq!(p.authorize_params, vec![("audience".to_string(), "api".to_string())]);
        // authorize_params must map names to strings: anything else skips the provider.
        let mut bad = cfg_value_with_params(json!({"audience": 1}));
        let (ok, problems) = parse(&bad, &reserved());
        assert!(ok.is_empty() && problems[0].contains("authorize_params.audience must be a string"), "{problems:?}");
        bad = cfg_value_with_params(json!({"a": "1", "b": ["x"]}));
        assert!(parse(&bad, &reserved()).1[0].contains("authorize_params.b must be a string"));
        assert_eq!(p.client_id_secret_name(), "ACME_CLIENT_ID");
    }

    #[test]
    fn defaults_are_pkce_basic_and_openid_fields() {
        let cfg = json!({"min": {"name": "Min", "authorize_url": "https://a.test/auth", "token_url": "https://a.test/token", "userinfo_url": "https://a.test/me"}}).to_string();
        let (ok, _) = parse(&Value::String(cfg), &reserved());
        assert_eq!(ok[0].pkce, Pkce::S256);
        assert_eq!(ok[0].client_auth, ClientAuth::Basic);
        assert_eq!(ok[0].identity.id, "/sub");
        assert_eq!(ok[0].scope_separator, " ");
    }

    #[test]
    fn bad_entries_are_skipped_with_a_reason() {
        let base = json!({"name": "N", "authorize_url": "https://a.test/auth", "token_url": "https://a.test/token", "userinfo_url": "https://a.test/me"});
        let mut http = base.clone();
        http["token_url"] = json!("http://a.test/token");
        let mut auth = base.clone();
        auth["client_auth"] = json!("jwt");
        let mut extra = base.clone();
        extra["surprise"] = json!(1);
        let cfg = json!({"x": base, "Bad-Id": base, "plain": http, "auth": auth, "extra": extra, "good": base});
        let (ok, problems) = parse(&cfg, &reserved());
        assert_eq!(ok.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["good"]);
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(parse(&json!("not json"), &reserved()).1[0].contains("not a JSON object"));
        assert!(parse(&json!(""), &reserved()).1.is_empty());
    }

    /// A definition whose every endpoint lives under `origin`.
    fn at(origin: &str) -> Value {
        json!({"name": "Local", "authorize_url": format!("{origin}/auth"), "token_url": format!("{origin}/token"),
               "userinfo_url": format!("{origin}/me"), "revoke_url": format!("{origin}/revoke"), "api_base_url": origin})
    }

    #[test]
    fn custom_provider_http_is_accepted_on_loopback_hosts() {
        for origin in [
            "http://127.0.0.1:9000",
            "http://localhost:8080",
            "http://[::1]:4444",
            "http://LocalHost",
            "https://id.acme.test",
        ] {
            let (ok, problems) = parse(&json!({"local": at(origin)}), &reserved());
            assert!(problems.is_empty(), "{origin}: {problems:?}");
            assert_eq!(ok[0].token_url, format!("{origin}/token"));
        }
    }

    #[test]
    fn custom_provider_http_is_refused_on_every_other_host() {
        for origin in [
            "http://10.0.0.1",
            "http://example.com",
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io",
            "http://[::ffff:127.0.0.1]",
            "http://192.168.1.2:8080",
        ] {
            let (ok, problems) = parse(&json!({"local": at(origin)}), &reserved());
            assert!(ok.is_empty(), "{origin} accepted");
            assert!(problems[0].contains("must be an https URL"), "{origin}: {problems:?}");
        }
        for origin in ["ftp://localhost", "file://localhost"] {
            assert!(parse(&json!({"local": at(origin)}), &reserved()).0.is_empty(), "{origin} accepted");
        }
    }

    #[test]
    fn custom_provider_urls_never_carry_credentials() {
        for origin in ["http://admin:pw@127.0.0.1:9000", "https://user@id.acme.test", "http://:pw@localhost"] {
            let (ok, problems) = parse(&json!({"local": at(origin)}), &reserved());
            assert!(ok.is_empty(), "{origin} accepted");
            assert!(problems[0].contains("must not carry credentials"), "{origin}: {problems:?}");
        }
    }

    #[test]
    fn user_id_field_must_name_a_stable_id_not_an_email_or_handle() {
        let with = |field: &str| {
            let mut def = at("https://id.acme.test");
            def["user_id_field"] = json!(field);
            parse(&json!({"acme": def}), &reserved())
        };
        for field in [
            "email",
            "data.email",
            "/data/Email_Address",
            "MAIL",
            "username",
            "preferred_username",
            "user.user_name",
            "login",
            "name",
            "data.nickname",
            "nick",
            "screen_name",
            "handle",
            "upn",
            "display_name",
            "given_name",
            "family_name",
        ] {
            let (ok, problems) = with(field);
            assert!(ok.is_empty(), "{field} accepted");
            assert!(problems[0].contains("user_id_field") && problems[0].contains("stable account id"), "{problems:?}");
        }
        for field in ["sub", "id", "data.id", "/data/user/id", "user_id", "oid", "email_verified", "name_id"] {
            let (ok, problems) = with(field);
            assert!(problems.is_empty(), "{field}: {problems:?}");
            assert_eq!(ok.len(), 1);
        }
    }

    #[test]
    fn api_key_providers_take_a_header_or_a_query_parameter() {
        let config = json!({
            "keyed": {"kind": "api_key", "name": "Keyed", "userinfo_url": "https://api.keyed.test/me",
                      "key_name": "X-Api-Key", "user_id_field": "data.id", "api_base_url": "https://api.keyed.test"},
            "bearer": {"kind": "api_key", "name": "Bearer", "userinfo_url": "https://b.test/me"},
            "query": {"kind": "api_key", "name": "Query", "userinfo_url": "https://q.test/me", "key_in": "query", "key_name": "api_key"},
        });
        let (ok, problems) = parse(&config, &reserved());
        assert!(problems.is_empty(), "{problems:?}");
        let get = |id: &str| ok.iter().find(|p| p.id == id).cloned().expect("parsed");
        let keyed = get("keyed");
        assert_eq!(keyed.auth, AuthKind::ApiKey);
        assert_eq!(keyed.refresh, RefreshKind::None);
        assert_eq!(keyed.identity.id, "/data/id");
        assert_eq!(keyed.token_placement, TokenPlacement::Header { name: "x-api-key".into(), prefix: String::new() });
        assert_eq!(
            get("bearer").token_placement,
            TokenPlacement::Header { name: "authorization".into(), prefix: "Bearer ".into() }
        );
        assert_eq!(get("query").token_placement, TokenPlacement::Query { name: "api_key".into() });
        let token = crate::secrets::AccessToken::new("k&y=1");
        let req = crate::oauth::identity_request(&get("query"), &token);
        assert_eq!(req.url, "https://q.test/me?api_key=k%26y%3D1");
        // A caller's own parameter of that name is dropped; the rest stays as written.
        let mut url = "https://q.test/v1/x?a=1%202&api_key=evil&api%5Fkey=evil2&b".to_string();
        crate::oauth::place_token(&get("query").token_placement, "K", &mut url, &mut vec![]);
        assert_eq!(url, "https://q.test/v1/x?a=1%202&b&api_key=K");
        assert!(!req.headers.iter().any(|(n, _)| n == "authorization"));
        let req = crate::oauth::identity_request(&keyed, &token);
        assert!(req.headers.contains(&("x-api-key".to_string(), "k&y=1".to_string())));
    }

    #[test]
    fn api_key_providers_with_bad_placements_are_skipped() {
        for def in [
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "key_name": "Cookie"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "key_name": "Accept"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "key_name": "Proxy-Authorization"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "key_name": "X-Connect-Links-Host"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "key_name": "X-Forwarded-For"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "key_name": "Bad Header"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "key_in": "query"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "key_in": "body"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "http://a.test/me"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "user_id_field": "email"}),
            json!({"kind": "api_key", "name": "N", "userinfo_url": "https://a.test/me", "token_url": "https://a.test/t"}),
            json!({"kind": "magic", "name": "N", "userinfo_url": "https://a.test/me"}),
        ] {
            let (ok, problems) = parse(&json!({ "p": def }), &reserved());
            assert!(ok.is_empty() && problems.len() == 1, "{def}");
        }
    }
}
