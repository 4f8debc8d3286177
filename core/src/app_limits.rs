//! What one app (a tenant of the deployment) may spend, so that no tenant spends another's
//! share: caps on what it keeps open (pending connect links, new Mastodon instance
//! registrations) and request rates on the routes that cost the deployment most.
//!
//! Each setting has a default here; an operator overrides it per app on the admin routes
//! (`limits` on `POST`/`PATCH /v1/admin/apps`). The app row keeps only the overrides
//! (`apps.limits`, JSON), so a changed default reaches every app that did not override it.

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

/// Pending connect links an app may hold at once. A link is pending for 10 minutes at most
/// (its state's lifetime), so this is about 100 new links a minute that nobody completes:
/// far above what users clicking "connect" make, far below what fills D1 and KV.
pub const DEFAULT_PENDING_LINKS: u32 = 1_000;
/// New Mastodon instance registrations an app's links may cause per day. Each one is two
/// calls to a host the app names (metadata, then `POST /api/v1/apps`) and a stored client;
/// an app whose users come from a few dozen new instances a day stays well inside it, one
/// that names thousands of hosts does not.
pub const DEFAULT_INSTANCE_REGISTRATIONS_PER_DAY: u32 = 50;
/// `POST /v1/connect-links` per minute: 2 a second, above the pending cap's pace.
pub const DEFAULT_CONNECT_LINKS_PER_MINUTE: u32 = 120;
/// `POST /v1/profiles` per minute: each one signs in at the platform.
pub const DEFAULT_PROFILES_PER_MINUTE: u32 = 60;
/// Proxied calls per minute (20 a second), before any platform budget applies.
pub const DEFAULT_PROXY_PER_MINUTE: u32 = 1_200;
/// An app's weight in the platform app's shared budgets (see `ratelimit::fair`).
pub const DEFAULT_BUDGET_WEIGHT: u32 = 1;

/// The window of the per-app request rates.
pub const RATE_WINDOW_SECS: i64 = 60;

/// The counter of new instance registrations in the app's limiter object.
pub const REGISTRATIONS_KEY: &str = "instance registrations";
/// The window of the registration cap.
pub const REGISTRATIONS_WINDOW_SECS: i64 = 86_400;

/// The limiter object that keeps one app's request rates and registration count.
pub fn tenant_object(app_id: &str) -> String {
    // Not `app:`: the platform apps' objects are `app:<platform>`, and a custom provider may
    // be named anything.
    format!("tenant:{app_id}")
}

/// A route whose rate is limited per app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppRoute {
    /// `POST /v1/connect-links`.
    ConnectLinks,
    /// `POST /v1/profiles`.
    Profiles,
    /// `/v1/profiles/{id}/proxy/...`, any method.
    Proxy,
}

impl AppRoute {
    /// The counter's name in the app's limiter object.
    pub fn key(self) -> &'static str {
        match self {
            AppRoute::ConnectLinks => "POST /v1/connect-links",
            AppRoute::Profiles => "POST /v1/profiles",
            AppRoute::Proxy => "proxy",
        }
    }
    /// The policy's name in the `RateLimit-Policy` and `RateLimit` fields.
    pub fn policy(self) -> &'static str {
        match self {
            AppRoute::ConnectLinks => "connect-links",
            AppRoute::Profiles => "profiles",
            AppRoute::Proxy => "proxy",
        }
    }
}

/// The `RateLimit-Policy` and `RateLimit` field values (draft-ietf-httpapi-ratelimit-headers,
/// revision 10: structured-field lists of a quoted policy name with parameters), e.g.
/// `"proxy";q=1200;w=60` and `"proxy";r=1199;t=60`.
pub fn rate_limit_fields(
    policy: &str,
    limit: u32,
    window_secs: i64,
    remaining: u32,
    reset_secs: i64,
) -> (String, String) {
    (format!("\"{policy}\";q={limit};w={window_secs}"), format!("\"{policy}\";r={remaining};t={}", reset_secs.max(0)))
}

/// An app's overrides, as stored (`apps.limits`); `None` is the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppLimits {
    /// Pending connect links at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_links: Option<u32>,
    /// New Mastodon instance registrations per day (0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_registrations_per_day: Option<u32>,
    /// `POST /v1/connect-links` per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_links_per_minute: Option<u32>,
    /// `POST /v1/profiles` per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles_per_minute: Option<u32>,
    /// Proxied calls per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_per_minute: Option<u32>,
    /// Weight in the platform app's shared budgets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_weight: Option<u32>,
}

/// One setting: its name, default and accepted range.
struct Setting {
    name: &'static str,
    default: u32,
    min: u32,
    max: u32,
    get: fn(&AppLimits) -> Option<u32>,
    set: fn(&mut AppLimits, Option<u32>),
}

const SETTINGS: [Setting; 6] = [
    Setting {
        name: "pending_links",
        default: DEFAULT_PENDING_LINKS,
        min: 1,
        max: 100_000,
        get: |l| l.pending_links,
        set: |l, v| l.pending_links = v,
    },
    Setting {
        name: "instance_registrations_per_day",
        default: DEFAULT_INSTANCE_REGISTRATIONS_PER_DAY,
        min: 0,
        max: 10_000,
        get: |l| l.instance_registrations_per_day,
        set: |l, v| l.instance_registrations_per_day = v,
    },
    Setting {
        name: "connect_links_per_minute",
        default: DEFAULT_CONNECT_LINKS_PER_MINUTE,
        min: 1,
        max: 100_000,
        get: |l| l.connect_links_per_minute,
        set: |l, v| l.connect_links_per_minute = v,
    },
    Setting {
        name: "profiles_per_minute",
        default: DEFAULT_PROFILES_PER_MINUTE,
        min: 1,
        max: 100_000,
        get: |l| l.profiles_per_minute,
        set: |l, v| l.profiles_per_minute = v,
    },
    Setting {
        name: "proxy_per_minute",
        default: DEFAULT_PROXY_PER_MINUTE,
        min: 1,
        max: 1_000_000,
        get: |l| l.proxy_per_minute,
        set: |l, v| l.proxy_per_minute = v,
    },
    Setting {
        name: "budget_weight",
        default: DEFAULT_BUDGET_WEIGHT,
        min: 1,
        max: crate::ratelimit::fair::MAX_WEIGHT,
        get: |l| l.budget_weight,
        set: |l, v| l.budget_weight = v,
    },
];

impl AppLimits {
    /// The stored overrides; absent or unreadable JSON (never written by this code) is all
    /// defaults, and a stored value out of range falls back to its default.
    pub fn from_stored(raw: Option<&str>) -> Self {
        let mut l: AppLimits = raw.and_then(|s| crate::stored_json::from_slice(s.as_bytes()).ok()).unwrap_or_default();
        for s in &SETTINGS {
            if (s.get)(&l).is_some_and(|v| v < s.min || v > s.max) {
                (s.set)(&mut l, None);
            }
        }
        l
    }

    /// What to store: `None` when nothing is overridden.
    pub fn to_stored(&self) -> Option<String> {
        (*self != AppLimits::default()).then(|| serde_json::to_string(self).unwrap_or_default())
    }

    fn value(&self, name: &str) -> u32 {
        SETTINGS.iter().find(|s| s.name == name).map_or(0, |s| (s.get)(self).unwrap_or(s.default))
    }

    /// Pending connect links at once.
    pub fn pending_links(&self) -> u32 {
        self.value("pending_links")
    }
    /// New instance registrations per day.
    pub fn instance_registrations_per_day(&self) -> u32 {
        self.value("instance_registrations_per_day")
    }
    /// Calls per [`RATE_WINDOW_SECS`] on `route`.
    pub fn per_minute(&self, route: AppRoute) -> u32 {
        match route {
            AppRoute::ConnectLinks => self.value("connect_links_per_minute"),
            AppRoute::Profiles => self.value("profiles_per_minute"),
            AppRoute::Proxy => self.value("proxy_per_minute"),
        }
    }
    /// Weight in the platform app's shared budgets.
    pub fn budget_weight(&self) -> u32 {
        self.value("budget_weight")
    }

    /// The API view: every setting's effective value.
    pub fn view(&self) -> Value {
        let mut m = serde_json::Map::new();
        for s in &SETTINGS {
            m.insert(s.name.into(), json!((s.get)(self).unwrap_or(s.default)));
        }
        Value::Object(m)
    }

    /// Applies an admin request's settings: a number overrides (checked against its range),
    /// `null` goes back to the default, an absent field is left as it is. All or nothing: on
    /// an error `self` is as it was.
    pub fn apply(&mut self, input: &LimitsInput) -> ApiResult<()> {
        // Changed on a copy, so a refused field after an accepted one leaves no half change
        // for a caller that keeps using `self`.
        if let Some(k) = input.unknown() {
            // The name is the client's own text: cut, as any echoed field name is.
            let k: String = k.chars().take(64).collect();
            return Err(ApiError::invalid(format!("limits: unknown field {k:?}")));
        }
        let mut next = self.clone();
        for s in &SETTINGS {
            match input.get(s.name)? {
                None => {}
                Some(None) => (s.set)(&mut next, None),
                Some(Some(v)) if v >= i64::from(s.min) && v <= i64::from(s.max) => (s.set)(&mut next, Some(v as u32)),
                Some(Some(_)) => {
                    return Err(ApiError::invalid(format!(
                        "limits.{} must be a whole number from {} to {}",
                        s.name, s.min, s.max
                    )))
                }
            }
        }
        *self = next;
        Ok(())
    }
}

/// `limits` in an admin request: each field a number, `null` (back to the default) or absent
/// (unchanged). Read as a JSON object and checked by [`AppLimits::apply`], not by a derived
/// struct reader: serde's derived readers also take an array of the fields in order
/// (`[null, null]`), which the document does not allow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitsInput(Map<String, Value>);

impl<'de> Deserialize<'de> for LimitsInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A map reader takes only a JSON object.
        Map::deserialize(d).map(LimitsInput)
    }
}

impl LimitsInput {
    /// The field `name`: absent (`None`), `null` (`Some(None)`) or an integer. JSON has one
    /// number type, and JSON Schema (openapi/openapi.json's `integer`) counts a number with
    /// a zero fraction (`5.0`) as an integer, so it is one here; a huge one saturates, so the
    /// range check names its field. Anything else is an error naming the field.
    pub fn get(&self, name: &str) -> ApiResult<Option<Option<i64>>> {
        let wrong = || Err(ApiError::invalid(format!("limits.{name} must be a whole number or null")));
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Ok(Some(Some(i))),
                (None, Some(x)) if x.fract() == 0.0 => Ok(Some(Some(x as i64))),
                _ => wrong(),
            },
            Some(_) => wrong(),
        }
    }

    /// A field that is no setting, if any (refused: a typo must not pass as "unchanged").
    fn unknown(&self) -> Option<&str> {
        self.0.keys().map(String::as_str).find(|k| !SETTINGS.iter().any(|s| s.name == *k))
    }
}

/// A present field, `null` included (`Some(None)`); serde's `default` makes an absent one
/// `None`.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> LimitsInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_apply_until_overridden() {
        let l = AppLimits::from_stored(None);
        assert_eq!(l.pending_links(), 1_000);
        assert_eq!(l.instance_registrations_per_day(), 50);
        assert_eq!(l.per_minute(AppRoute::ConnectLinks), 120);
        assert_eq!(l.per_minute(AppRoute::Profiles), 60);
        assert_eq!(l.per_minute(AppRoute::Proxy), 1_200);
        assert_eq!(l.budget_weight(), 1);
        assert_eq!(l.to_stored(), None, "nothing overridden: nothing stored");
        assert_eq!(
            l.view(),
            json!({"pending_links": 1000, "instance_registrations_per_day": 50, "connect_links_per_minute": 120,
                   "profiles_per_minute": 60, "proxy_per_minute": 1200, "budget_weight": 1})
        );
    }

    #[test]
    fn a_number_overrides_null_resets_and_absent_keeps() {
        let mut l = AppLimits::default();
        l.apply(&input(r#"{"proxy_per_minute": 5, "budget_weight": 3}"#)).unwrap();
        assert_eq!((l.per_minute(AppRoute::Proxy), l.budget_weight()), (5, 3));
        let stored = l.to_stored().unwrap();
        assert_eq!(stored, r#"{"proxy_per_minute":5,"budget_weight":3}"#, "only the overrides are stored");
        let mut back = AppLimits::from_stored(Some(&stored));
        assert_eq!(back, l);
        back.apply(&input(r#"{"proxy_per_minute": null}"#)).unwrap();
        assert_eq!((back.per_minute(AppRoute::Proxy), back.budget_weight()), (1_200, 3));
        back.apply(&input("{}")).unwrap();
        assert_eq!(back.budget_weight(), 3);
    }

    #[test]
    fn out_of_range_is_400_naming_the_field_and_changes_nothing_stored() {
        for (json, field) in [
            (r#"{"pending_links": 0}"#, "limits.pending_links"),
            (r#"{"proxy_per_minute": 1000001}"#, "limits.proxy_per_minute"),
            (r#"{"budget_weight": 101}"#, "limits.budget_weight"),
            (r#"{"instance_registrations_per_day": -1}"#, "limits.instance_registrations_per_day"),
            (r#"{"connect_links_per_minute": 9007199254740993}"#, "limits.connect_links_per_minute"),
            (r#"{"connect_links_per_minute": 1e300}"#, "limits.connect_links_per_minute"),
        ] {
            let e = AppLimits::default().apply(&input(json)).unwrap_err();
            assert_eq!(e.status(), 400);
            assert!(e.message.starts_with(field), "{json}: {}", e.message);
        }
        // A valid field before a refused one (in the order settings are applied) is not kept.
        let mut l = AppLimits::default();
        l.apply(&input(r#"{"pending_links": 7}"#)).unwrap();
        let before = l.clone();
        let e = l.apply(&input(r#"{"pending_links": null, "proxy_per_minute": 7, "budget_weight": 101}"#)).unwrap_err();
        assert!(e.message.starts_with("limits.budget_weight"), "{}", e.message);
        assert_eq!(l, before, "a refused change changes nothing");
        // Zero registrations is a setting of its own: the app uses only clients that exist.
        let mut l = AppLimits::default();
        l.apply(&input(r#"{"instance_registrations_per_day": 0}"#)).unwrap();
        assert_eq!(l.instance_registrations_per_day(), 0);
    }

    #[test]
    fn unknown_fields_wrong_types_and_arrays_are_refused() {
        let refused = |json: &str| {
            serde_json::from_str::<LimitsInput>(json).map_err(|e| e.to_string()).and_then(|i| {
                AppLimits::default().apply(&i).map_err(|e| e.message.to_string())
            })
        };
        for (json, says) in [
            (r#"{"proxy": 5}"#, "limits: unknown field \"proxy\""),
            (r#"{"proxy_per_minute": "5"}"#, "limits.proxy_per_minute must be a whole number or null"),
            (r#"{"proxy_per_minute": 1.5}"#, "limits.proxy_per_minute must be a whole number or null"),
            (r#"{"proxy_per_minute": true}"#, "limits.proxy_per_minute must be a whole number or null"),
        ] {
            assert_eq!(refused(json).unwrap_err(), says, "{json}");
        }
        // serde's derived struct reader took the fields in order from an array.
        for json in ["[null, null]", "[5]", "5", "null", "\"x\""] {
            assert!(serde_json::from_str::<LimitsInput>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn a_number_with_a_zero_fraction_is_the_integer_json_schema_says_it_is() {
        let applied = |json: &str| {
            let mut l = AppLimits::default();
            l.apply(&input(json)).map(|()| l.pending_links())
        };
        assert_eq!(applied(r#"{"pending_links": 18321.0}"#).unwrap(), 18_321);
        assert_eq!(applied(r#"{"pending_links": 2e3}"#).unwrap(), 2_000);
        let e = applied(r#"{"pending_links": 1e300}"#).unwrap_err();
        assert!(e.message.starts_with("limits.pending_links must be a whole number from"), "{}", e.message);
    }

    #[test]
    fn stored_values_that_do_not_read_fall_back_to_defaults() {
        assert_eq!(AppLimits::from_stored(Some("not json")), AppLimits::default());
        let l = AppLimits::from_stored(Some(r#"{"budget_weight": 1000, "pending_links": 7}"#));
        assert_eq!((l.budget_weight(), l.pending_links()), (1, 7));
    }

    #[test]
    fn rate_limit_fields_follow_the_draft() {
        assert_eq!(
            rate_limit_fields(AppRoute::Proxy.policy(), 1200, 60, 1199, 60),
            ("\"proxy\";q=1200;w=60".to_string(), "\"proxy\";r=1199;t=60".to_string())
        );
        assert_eq!(rate_limit_fields("connect-links", 3, 60, 0, -5).1, "\"connect-links\";r=0;t=0");
    }

    #[test]
    fn tenant_objects_never_collide_with_platform_app_objects() {
        assert_eq!(tenant_object("app_1"), "tenant:app_1");
        assert!(!tenant_object("x").starts_with("app:"));
    }
}
