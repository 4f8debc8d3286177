//! Request bodies of the API, parsed and checked before any storage is touched.

use crate::app_limits::LimitsInput;
use crate::error::{ApiError, ApiResult};
use crate::ownership::ClaimMode;
use crate::redirect::{appended_name_in, host_not_ascii, validate_allowed_entry, NON_ASCII_HOST};
use crate::refresh_policy::RefreshMode;
use crate::state::CallbackMode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// `state` on a connect link: at most this many characters.
pub const MAX_APP_STATE_CHARS: usize = 512;
/// `metadata` on a connect link: at most this many bytes of JSON.
pub const MAX_METADATA_BYTES: usize = 4 * 1024;

/// The largest whole number a JavaScript number holds exactly (2^53 - 1). D1 bindings are
/// JavaScript values, so a larger one (either sign) cannot be bound: it must be refused as
/// the client's mistake (400) before a statement is prepared, not fail there as a 500.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Parses a whole number taken from a request, only within +/-(2^53 - 1) (see
/// [`MAX_SAFE_INTEGER`]). Every integer that goes from a request into a D1 binding passes
/// through here or through a narrower parser ([`parse_limit`]).
pub fn parse_safe_int(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().filter(|n| (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(n))
}

/// Parses a JSON body into `T`; the error names the problem, never the value.
///
/// As `serde_json::from_slice` parses it (the same reader, then the same check that nothing
/// but white space follows), but into `T`'s default, each field overwritten as its member is
/// read (serde's `deserialize_in_place`): far less code per body type than building `T` from
/// its fields' values, and the same errors at the same line and column. The default is never
/// seen: a failure gives no value.
pub fn parse_json<T: DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(crate::error::ErrorCode::PayloadTooLarge, "request body is over 64 KiB"));
    }
    // Every body the API takes is a JSON object. serde's derived readers also take an array
    // of the fields' values in order (`[null, null]` as a `PatchApp`); the document allows
    // only objects, so anything else is refused before it is read.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid("the body must be a JSON object"));
    }
    read_in_place(body).map_err(|e| {
        // serde's message names the field and expected type; the column locates it.
        let what = match e.classify() {
            serde_json::error::Category::Data => "a field is missing or has the wrong type",
            _ => "the body is not valid JSON",
        };
        ApiError::invalid(format!("{what} (line {} column {})", e.line(), e.column()))
    })
}

/// `body` read into `T`'s default, as `serde_json::from_slice` reads it.
fn read_in_place<T: DeserializeOwned + Default>(body: &[u8]) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut value = T::default();
    T::deserialize_in_place(&mut de, &mut value)?;
    de.end()?;
    Ok(value)
}

/// `POST /v1/admin/apps`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    /// Display name.
    pub name: String,
    /// Absolute redirect URLs the app may send users back to.
    pub allowed_redirect_urls: Vec<String>,
    /// Where webhooks go.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// `required` (default) or `auto`.
    #[serde(default)]
    pub claim: Option<ClaimMode>,
    /// `proactive` (default) or `on_demand`, read by [`check_refresh_mode`].
    #[serde(default)]
    pub refresh_mode: Option<String>,
    /// Overrides of the app's limits (`app_limits`); absent or `null` fields: defaults.
    #[serde(default)]
    pub limits: Option<LimitsInput>,
    /// Whether the app may manage its own platform credentials with its API key (default
    /// false).
    #[serde(default)]
    pub self_service_credentials: Option<bool>,
    /// The platform event types to forward to the app, read by
    /// `platform_events::forwarding::check_setting`; absent or `null`: none.
    #[serde(default)]
    pub platform_events: Option<Value>,
    /// The name end-users see (`brand::check_display_name`); absent: `name`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `#rrggbb` (`brand::check_accent_color`); absent: the pages' own.
    #[serde(default)]
    pub accent_color: Option<String>,
}

/// `PATCH /v1/admin/apps/{id}`: each field optional; `webhook_url: null` clears it.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchApp {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New allowlist.
    #[serde(default)]
    pub allowed_redirect_urls: Option<Vec<String>>,
    /// New webhook URL; `Some(None)` clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub webhook_url: Option<Option<String>>,
    /// `required` or `auto`.
    #[serde(default)]
    pub claim: Option<ClaimMode>,
    /// `proactive` or `on_demand`, read by [`check_refresh_mode`].
    #[serde(default)]
    pub refresh_mode: Option<String>,
    /// Changes to the app's limits (each field: a number, `null` for the default, or absent
    /// for unchanged); `limits: null` puts every one back to its default.
    #[serde(default, deserialize_with = "crate::app_limits::nullable")]
    pub limits: Option<Option<LimitsInput>>,
    /// Whether the app may manage its own platform credentials with its API key.
    #[serde(default)]
    pub self_service_credentials: Option<bool>,
    /// New platform event types to forward (`Some(Value::Null)` clears them), read by
    /// `platform_events::forwarding::check_setting`.
    #[serde(default, deserialize_with = "some_value")]
    pub platform_events: Option<Value>,
    /// New display name; `Some(None)` clears it (pages show `name` again).
    #[serde(default, deserialize_with = "double_option")]
    pub display_name: Option<Option<String>>,
    /// New accent colour; `Some(None)` clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub accent_color: Option<Option<String>>,
}

/// Reads an app's `refresh_mode` from a request body. A string, so a wrong value gets this
/// message rather than serde's generic one.
pub fn check_refresh_mode(s: &str) -> ApiResult<RefreshMode> {
    RefreshMode::parse(s).ok_or_else(|| ApiError::invalid("refresh_mode must be \"proactive\" or \"on_demand\""))
}

fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(Value::deserialize(d)?))
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// Checks an app name.
pub fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid("name must be 1 to 200 characters"));
    }
    Ok(())
}

/// Checks an allowlist: 1..=20 entries, each a valid redirect URL.
pub fn check_allowlist(urls: &[String]) -> ApiResult<()> {
    if urls.is_empty() || urls.len() > 20 {
        return Err(ApiError::invalid("allowed_redirect_urls must hold 1 to 20 URLs"));
    }
    for u in urls {
        validate_allowed_entry(u).map_err(ApiError::invalid)?;
    }
    Ok(())
}

/// Checks a webhook URL: absolute http(s), https unless loopback.
pub fn check_webhook_url(url: &str) -> ApiResult<()> {
    if host_not_ascii(url) {
        return Err(ApiError::invalid(format!("webhook_url: {NON_ASCII_HOST}")));
    }
    validate_allowed_entry(url).map(|_| ()).map_err(|_| {
        ApiError::invalid("webhook_url must be an absolute https URL (http only for localhost and 127.0.0.1)")
    })
}

/// `POST /v1/connect-links`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// Platform id (or `platforms`, or neither: every platform configured for the app).
    #[serde(default)]
    pub platform: Option<String>,
    /// The platforms a hosted chooser offers; one listed is the same as `platform`.
    #[serde(default)]
    pub platforms: Option<Vec<String>>,
    /// Where the browser goes when the flow ends.
    pub redirect_url: String,
    /// Scopes; the platform's defaults when absent.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Scopes asked for with `scopes` that the user may decline: the connect succeeds
    /// without them (the profile's `declined_scopes` names them).
    #[serde(default)]
    pub optional_scopes: Option<Vec<String>>,
    /// The app's own id for its user.
    #[serde(default)]
    pub external_user_id: Option<String>,
    /// The app's opaque value, echoed on the final redirect.
    #[serde(default)]
    pub state: Option<String>,
    /// Stored on the profile.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    /// Makes this a reconnect link for an existing profile.
    #[serde(default)]
    pub profile_id: Option<String>,
    /// `hosted` (default) or `app`.
    #[serde(default)]
    pub callback: Option<CallbackMode>,
    /// `pick` (default) or `all`: whether a login with several accounts gets a page to
    /// choose them, or connects every one.
    #[serde(default)]
    pub accounts: Option<AccountsMode>,
    /// The server the account lives on, for platforms that have one per account (a Mastodon
    /// instance: `mastodon.social` or its https URL).
    #[serde(default)]
    pub instance: Option<String>,
    /// The language of the link's hosted pages (a BCP 47 tag, see `crate::i18n`).
    #[serde(default)]
    pub locale: Option<String>,
}

/// The `accounts` option of a connect link. A request must name one exactly; a stored row
/// reads any value but `all` as `pick` (see the `From<&str>` impl).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountsMode {
    /// A page lists the accounts when there are several (the default).
    #[default]
    Pick,
    /// Every account is connected.
    All,
}

impl AccountsMode {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountsMode::Pick => "pick",
            AccountsMode::All => "all",
        }
    }
}

/// The stored reading of `connect_links.accounts`: only `all` connects every account.
impl From<&str> for AccountsMode {
    fn from(s: &str) -> Self {
        if s == "all" {
            AccountsMode::All
        } else {
            AccountsMode::Pick
        }
    }
}

impl CreateLink {
    /// Checks the size limits and shapes that need no storage.
    pub fn check(&self) -> ApiResult<()> {
        if host_not_ascii(&self.redirect_url) {
            return Err(ApiError::invalid(format!("redirect_url: {NON_ASCII_HOST}")));
        }
        if let Some(name) = appended_name_in(&self.redirect_url) {
            return Err(ApiError::invalid(format!(
                "redirect_url may not carry the query parameter '{name}': the worker appends it"
            )));
        }
        if let Some(s) = &self.state {
            if s.chars().count() > MAX_APP_STATE_CHARS {
                return Err(ApiError::invalid("state must be at most 512 characters"));
            }
        }
        check_owner_fields(self.external_user_id.as_deref(), self.metadata.as_ref())?;
        self.check_platforms()?;
        if self.locale.as_deref().is_some_and(|l| !crate::i18n::well_formed_locale(l)) {
            return Err(ApiError::invalid("locale must be a BCP 47 language tag such as de or pt-BR"));
        }
        for (name, list) in [("scopes", &self.scopes), ("optional_scopes", &self.optional_scopes)] {
            let ok = list.as_ref().is_none_or(|l| {
                l.len() <= 50 && l.iter().all(|s| !s.is_empty() && s.len() <= 200 && !s.contains([' ', ',']))
            });
            if !ok {
                return Err(ApiError::invalid(format!(
                    "{name} must be up to 50 non-empty scope names without spaces or commas"
                )));
            }
        }
        Ok(())
    }
}

/// The size limits of what a connect stores on the profile for the app.
fn check_owner_fields(external_user_id: Option<&str>, metadata: Option<&Map<String, Value>>) -> ApiResult<()> {
    if let Some(m) = metadata {
        if serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX) > MAX_METADATA_BYTES {
            return Err(ApiError::invalid("metadata must be at most 4 KiB of JSON"));
        }
    }
    if let Some(x) = external_user_id {
        if x.is_empty() || x.chars().count() > 256 {
            return Err(ApiError::invalid("external_user_id must be 1 to 256 characters"));
        }
    }
    Ok(())
}

/// `POST /v1/profiles`: an account connected with credentials the app posts (a Bluesky app
/// password, a pasted API key) instead of a consent screen. No `Debug`: it holds them.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateProfile {
    /// Platform id.
    pub platform: String,
    /// The platform's credential fields (`api_key`; `identifier` and `app_password`).
    pub credentials: Map<String, Value>,
    /// The app's own id for its user.
    #[serde(default)]
    pub external_user_id: Option<String>,
    /// Stored on the profile.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// The longest credential value taken (a key, a handle, a password).
pub const MAX_CREDENTIAL_CHARS: usize = 4096;

impl CreateProfile {
    /// Checks the size limits that need no platform.
    pub fn check(&self) -> ApiResult<()> {
        check_owner_fields(self.external_user_id.as_deref(), self.metadata.as_ref())
    }

    /// The credential field `name`: a non-empty string of at most [`MAX_CREDENTIAL_CHARS`]
    /// characters without control characters, or 400 naming the field (never its value).
    pub fn credential(&self, name: &str) -> ApiResult<&str> {
        match self.credentials.get(name) {
            Some(Value::String(s))
                if !s.trim().is_empty() && s.chars().count() <= MAX_CREDENTIAL_CHARS && !s.chars().any(char::is_control) =>
            {
                Ok(s)
            }
            Some(_) => Err(ApiError::invalid(format!(
                "credentials.{name} must be a non-empty string of at most {MAX_CREDENTIAL_CHARS} printable characters"
            ))),
            None => Err(ApiError::invalid(format!("credentials.{name} is required"))),
        }
    }

    /// Refuses credential fields other than `allowed` (a typo must not pass silently).
    pub fn only(&self, allowed: &[&str]) -> ApiResult<()> {
        match self.credentials.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) if k.len() <= 64 => Err(ApiError::invalid(format!("credentials.{k} is not a field of this platform"))),
            Some(_) => Err(ApiError::invalid("credentials holds a field this platform does not take")),
            None => Ok(()),
        }
    }
}

/// `POST /v1/connect-links/{id}/claim`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// The one-time token from the final redirect.
    pub connect_token: String,
}

/// `POST /v1/oauth/exchange`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExchangeInput {
    /// The authorization code the platform gave the app.
    pub code: String,
    /// The state of the link.
    pub state: String,
    /// The platform account ids to connect (`platform_user_id` of the accounts); every
    /// account when absent.
    #[serde(default)]
    pub account_ids: Option<Vec<String>>,
}

/// `limit` of a list: 1..=100, default 50.
pub fn parse_limit(raw: Option<&str>) -> ApiResult<u32> {
    match raw {
        None => Ok(50),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid("limit must be a whole number from 1 to 100")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    /// What a read gives, to compare: the value's `Debug`, or the error's category, line,
    /// column and message.
    fn outcome<T: std::fmt::Debug>(r: serde_json::Result<T>) -> String {
        match r {
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("{:?} {} {} {e}", e.classify(), e.line(), e.column()),
        }
    }

    #[test]
    fn in_place_reads_as_from_slice_reads() {
        let app = [
            r#"{"name":"n","allowed_redirect_urls":["https://a/cb"]}"#,
            r#"{"name":"n","allowed_redirect_urls":[],"claim":"auto","limits":{"proxy_per_minute":5},"platform_events":{"x":["a"]}}"#,
            r#"{"allowed_redirect_urls":[]}"#,
            r#"{"name":"n"}"#,
            "{\n \"name\": 5,\n \"allowed_redirect_urls\": []}",
            r#"{"name":"n","allowed_redirect_urls":[],"nope":1}"#,
            r#"{"name":"n","name":"m","allowed_redirect_urls":[]}"#,
            r#"{"name":"n","allowed_redirect_urls":[1.5]}"#,
            r#"{"name":"n","allowed_redirect_urls":[],"claim":"sometimes"}"#,
            r#"{"name":"n","allowed_redirect_urls":[]} x"#,
            r#"{"name":"n","allowed_redirect_urls":[]"#,
            r#"[]"#,
            r#"null"#,
        ];
        for b in app {
            assert_eq!(outcome(read_in_place::<CreateApp>(b.as_bytes())), outcome(serde_json::from_slice::<CreateApp>(b.as_bytes())), "{b}");
        }
        let patch = [
            r#"{}"#,
            r#"{"webhook_url":null,"limits":null}"#,
            r#"{"webhook_url":"https://h/w","limits":{"proxy_per_minute":null},"self_service_credentials":true}"#,
            r#"{"webhook_url":3}"#,
            r#"{"limits":{"nope":1}}"#,
            r#"{"platform_events":null}"#,
        ];
        for b in patch {
            assert_eq!(outcome(read_in_place::<PatchApp>(b.as_bytes())), outcome(serde_json::from_slice::<PatchApp>(b.as_bytes())), "{b}");
        }
        let link = [
            r#"{"platform":"sandbox","redirect_url":"https://a/cb"}"#,
            r#"{"platform":"sandbox","redirect_url":"https://a/cb","state":"s","metadata":{"k":[1,2]}}"#,
            r#"{"platform":"sandbox"}"#,
            r#"{"platform":7,"redirect_url":"https://a/cb"}"#,
        ];
        for b in link {
            assert_eq!(outcome(read_in_place::<CreateLink>(b.as_bytes())), outcome(serde_json::from_slice::<CreateLink>(b.as_bytes())), "{b}");
        }
    }

    #[test]
    fn oversized_body_is_413() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(parse_json::<Value>(&big).unwrap_err().code, ErrorCode::PayloadTooLarge);
    }

    #[test]
    fn bad_json_is_400_without_echo() {
        let e = parse_json::<CreateApp>(br#"{"name": "ck_SECRETVALUE", "allowed_redirect_urls": 5}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(!e.message.contains("SECRETVALUE"));
    }

    #[test]
    fn link_limits() {
        let mut l: CreateLink = parse_json(br#"{"platform":"sandbox","redirect_url":"https://a/cb"}"#).unwrap();
        assert!(l.check().is_ok());
        l.state = Some("x".repeat(513));
        assert!(l.check().is_err());
        l.state = None;
        let mut m = Map::new();
        m.insert("k".into(), Value::String("x".repeat(4096)));
        l.metadata = Some(m);
        assert!(l.check().is_err());
    }

    #[test]
    fn redirect_url_carrying_an_appended_name_is_400() {
        let l: CreateLink =
            parse_json(br#"{"platform":"sandbox","redirect_url":"https://a/cb?connected=true"}"#).unwrap();
        let e = l.check().unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.message.contains("'connected'"), "{}", e.message);
    }

    #[test]
    fn a_non_ascii_host_is_400_asking_for_its_xn_form() {
        let body = r#"{"platform":"sandbox","redirect_url":"https://bücher.example/cb"}"#;
        let l: CreateLink = parse_json(body.as_bytes()).unwrap();
        let e = l.check().unwrap_err();
        assert_eq!((e.code, e.code.status()), (ErrorCode::InvalidRequest, 400));
        assert!(e.message.starts_with("redirect_url: host names must be ASCII"), "{}", e.message);
        assert!(e.message.contains("xn--"), "{}", e.message);
        let l: CreateLink =
            parse_json(br#"{"platform":"sandbox","redirect_url":"https://xn--bcher-kva.example/cb"}"#).unwrap();
        assert!(l.check().is_ok());
        let e = check_allowlist(&["https://bücher.example/cb".into()]).unwrap_err();
        assert!(e.message.contains("must be ASCII"), "{}", e.message);
        assert!(check_allowlist(&["https://xn--bcher-kva.example/cb".into()]).is_ok());
        let e = check_webhook_url("https://bücher.example/hook").unwrap_err();
        assert!(e.message.starts_with("webhook_url: host names must be ASCII"), "{}", e.message);
        assert!(check_webhook_url("https://xn--bcher-kva.example/hook").is_ok());
    }

    #[test]
    fn claim_mode_is_required_or_auto() {
        let a: CreateApp = parse_json(br#"{"name":"n","allowed_redirect_urls":[],"claim":"auto"}"#).unwrap();
        assert_eq!(a.claim, Some(ClaimMode::Auto));
        assert!(parse_json::<PatchApp>(br#"{"claim":"sometimes"}"#).is_err());
    }

    #[test]
    fn refresh_mode_is_one_of_two_names() {
        let a: CreateApp =
            parse_json(br#"{"name":"n","allowed_redirect_urls":[],"refresh_mode":"on_demand"}"#).unwrap();
        assert_eq!(check_refresh_mode(a.refresh_mode.as_deref().unwrap()).unwrap(), RefreshMode::OnDemand);
        assert_eq!(check_refresh_mode("proactive").unwrap(), RefreshMode::Proactive);
        let e = check_refresh_mode("lazy").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.message.contains("on_demand"), "{}", e.message);
        assert!(check_refresh_mode("On_Demand").is_err());
        assert!(parse_json::<PatchApp>(br#"{"refresh_mode": 1}"#).is_err());
    }

    #[test]
    fn patch_distinguishes_null_from_absent() {
        let p: PatchApp = parse_json(br#"{"webhook_url": null}"#).unwrap();
        assert_eq!(p.webhook_url, Some(None));
        let p: PatchApp = parse_json(b"{}").unwrap();
        assert_eq!(p.webhook_url, None);
        assert_eq!(p.limits, None);
        let p: PatchApp = parse_json(br#"{"limits": null}"#).unwrap();
        assert_eq!(p.limits, Some(None));
        let p: PatchApp = parse_json(br#"{"limits": {"proxy_per_minute": 5}}"#).unwrap();
        assert_eq!(p.limits.flatten().map(|l| l.get("proxy_per_minute")), Some(Ok(Some(Some(5)))));
        // An unknown field is refused when the limits are applied, before anything is stored.
        let p: PatchApp = parse_json(br#"{"limits": {"proxy_per_min": 5}}"#).unwrap();
        let unknown = p.limits.flatten().map(|l| crate::app_limits::AppLimits::default().apply(&l));
        assert!(matches!(unknown, Some(Err(_))));
        assert!(parse_json::<PatchApp>(br#"{"limits": [5]}"#).is_err());
    }

    #[test]
    fn patch_platform_events_null_clears() {
        assert_eq!(parse_json::<PatchApp>(b"{}").unwrap().platform_events, None);
        let p: PatchApp = parse_json(br#"{"platform_events": null}"#).unwrap();
        assert_eq!(p.platform_events, Some(Value::Null));
        let p: PatchApp = parse_json(br#"{"platform_events": {"sandbox": ["*"]}}"#).unwrap();
        assert_eq!(p.platform_events, Some(serde_json::json!({"sandbox": ["*"]})));
        let c: CreateApp = parse_json(br#"{"name": "a", "allowed_redirect_urls": [], "platform_events": null}"#).unwrap();
        assert_eq!(c.platform_events, None);
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None).unwrap(), 50);
        assert_eq!(parse_limit(Some("100")).unwrap(), 100);
        assert!(parse_limit(Some("0")).is_err());
        assert!(parse_limit(Some("101")).is_err());
        assert!(parse_limit(Some("x")).is_err());
        for huge in ["9007199254740993", "-9223372036854775808", "18446744073709551617", "1e2", "-1"] {
            assert_eq!(parse_limit(Some(huge)).unwrap_err().code, ErrorCode::InvalidRequest, "{huge}");
        }
    }

    #[test]
    fn safe_ints_stop_at_two_to_the_53_minus_one() {
        assert_eq!(MAX_SAFE_INTEGER, 9_007_199_254_740_991);
        assert_eq!(parse_safe_int("9007199254740991"), Some(MAX_SAFE_INTEGER));
        assert_eq!(parse_safe_int("-9007199254740991"), Some(-MAX_SAFE_INTEGER));
        assert_eq!(parse_safe_int("0"), Some(0));
        for out in [
            "9007199254740992",
            "9007199254740993",
            "-9007199254740992",
            "9223372036854775807",
            "-9223372036854775808",
            "99999999999999999999",
            "1e3",
            "0x10",
            "",
            " 1",
        ] {
            assert_eq!(parse_safe_int(out), None, "{out}");
        }
    }
}
