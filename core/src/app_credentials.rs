//! An app's own platform credentials ("bring your own platform app"): the operator's input,
//! the stored row, the view the API answers (never the secret), the short fingerprint that
//! tells two secrets apart without showing either, and the URLs the app registers with the
//! platform. A tenant on its own platform app gets its own consent screen name, review and
//! rate-limit quota instead of the deployment's shared ones.

use crate::callback::callback_path;
use crate::error::{ApiError, ApiResult};
use crate::random::hex;
use crate::secrets::{ClientSecret, WebhookSecret};
use crate::time::rfc3339;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The prefix of a credential's id (its `credential_ref` on the grants it minted).
pub const REF_PREFIX: &str = "pcr_";

/// The field names the secrets are sealed under; the row id they are bound to is
/// [`sealed_as`] (the app and the platform), so an envelope copied to another app's or
/// platform's row does not open.
pub const CLIENT_SECRET_FIELD: &str = "client_secret";
/// See [`CLIENT_SECRET_FIELD`].
pub const WEBHOOK_SECRET_FIELD: &str = "webhook_secret";

/// The associated data an app's platform secret is sealed with: the app and the platform.
/// App ids start with `app_`, so this never meets an instance client's `<platform>:<host>`.
pub fn sealed_as(app_id: &str, platform: &str) -> String {
    format!("{app_id}:{platform}")
}

/// `PUT /v1/admin/apps/{id}/platforms/{platform}`. No `Debug`: it holds secrets.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutCredentials {
    /// The platform app's client id (TikTok's client key).
    pub client_id: String,
    /// Its client secret, read into a redacted type at once.
    #[serde(deserialize_with = "client_secret")]
    pub client_secret: ClientSecret,
    /// The scopes connects of this app ask for by default (the platform's own when absent).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The secret the platform signs its webhooks with, when it is not the client secret.
    #[serde(default, deserialize_with = "webhook_secret")]
    pub webhook_secret: Option<WebhookSecret>,
}

/// The empty value a body is read into (`input::parse_json` reads in place); never used
/// as credentials: a body that fails to read gives no value.
impl Default for PutCredentials {
    fn default() -> Self {
        PutCredentials { client_id: String::new(), client_secret: ClientSecret::new(""), scopes: None, webhook_secret: None }
    }
}

fn client_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ClientSecret, D::Error> {
    String::deserialize(d).map(ClientSecret::new)
}

fn webhook_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<WebhookSecret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(WebhookSecret::new))
}

/// Longest client id taken (platforms issue ids of tens of characters).
const MAX_CLIENT_ID: usize = 256;
/// Longest secret taken.
const MAX_SECRET: usize = 1024;
/// Most scopes taken, and the longest one.
const MAX_SCOPES: usize = 50;
const MAX_SCOPE: usize = 200;

fn printable(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

impl PutCredentials {
    /// Checks every field; the messages name fields, never their values.
    pub fn check(&self) -> ApiResult<()> {
        if !printable(&self.client_id) || self.client_id.len() > MAX_CLIENT_ID {
            return Err(ApiError::invalid("client_id must be 1 to 256 printable characters without spaces"));
        }
        if !printable(self.client_secret.secret()) || self.client_secret.secret().len() > MAX_SECRET {
            return Err(ApiError::invalid("client_secret must be 1 to 1024 printable characters without spaces"));
        }
        if let Some(w) = &self.webhook_secret {
            if !printable(w.secret()) || w.secret().len() > MAX_SECRET {
                return Err(ApiError::invalid("webhook_secret must be 1 to 1024 printable characters without spaces"));
            }
        }
        if let Some(scopes) = &self.scopes {
            if scopes.len() > MAX_SCOPES || scopes.iter().any(|s| !printable(s) || s.len() > MAX_SCOPE) {
                return Err(ApiError::invalid(
                    "scopes must hold at most 50 scopes, each 1 to 200 printable characters without spaces",
                ));
            }
        }
        Ok(())
    }
}

/// The first 8 hex digits of the secret's SHA-256: enough for an operator to tell which
/// secret is stored, far too little to learn anything about it.
pub fn fingerprint(secret: &str) -> String {
    let mut h = hex(&Sha256::digest(secret.as_bytes()));
    h.truncate(8);
    h
}

/// A `platform_credentials` row.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct CredentialRow {
    /// `pcr_...`, the `credential_ref` of the grants it minted.
    pub id: String,
    /// The app.
    pub app_id: String,
    /// The platform id.
    pub platform: String,
    /// The platform app's client id.
    pub client_id: String,
    /// The sealed client secret.
    pub client_secret_enc: String,
    /// The sealed webhook secret, if one was given.
    pub webhook_secret_enc: Option<String>,
    /// The key id both are sealed under.
    pub token_kid: String,
    /// [`fingerprint`] of the client secret.
    pub secret_fingerprint: String,
    /// JSON array of the default scopes, or `None` for the platform's.
    pub scopes: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds.
    pub updated_at: i64,
    /// When another client id replaced it (kept while grants still use it).
    pub retired_at: Option<i64>,
}

impl CredentialRow {
    /// The default scopes it sets, when it sets them.
    pub fn scope_list(&self) -> Option<Vec<String>> {
        self.scopes.as_deref().and_then(|s| serde_json::from_slice(s.as_bytes()).ok())
    }

    /// The API view under `public_url`: never a secret, only that one is set and its
    /// fingerprint, with the URLs to register with the platform.
    pub fn view(&self, public_url: &str) -> Value {
        json!({
            "platform": self.platform,
            "client_id": self.client_id,
            "client_secret_set": true,
            "fingerprint": self.secret_fingerprint,
            "webhook_secret_set": self.webhook_secret_enc.is_some(),
            "scopes": self.scope_list(),
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "callback_url": format!("{public_url}{}", callback_path(&self.platform, None)),
            "platform_webhooks": webhook_urls(public_url, &self.platform, &self.id),
        })
    }
}

/// The platform webhook URLs an app registers with its own platform app: Meta sends no app
/// id, TikTok only its client key, X and LinkedIn neither, so each credential gets paths of
/// its own, verified with its own secret (X's: the credential's `webhook_secret`). Empty for
/// platforms that send none.
pub fn webhook_urls(public_url: &str, platform: &str, credential_ref: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let base = format!("{public_url}/platform-webhooks");
    match platform {
        p if crate::platform_events::meta::PLATFORMS.contains(&p) => {
            out.insert("deauthorize".into(), format!("{base}/meta/apps/{credential_ref}/deauthorize").into());
            out.insert("data_deletion".into(), format!("{base}/meta/apps/{credential_ref}/data-deletion").into());
            // Its verify token needs the client secret: the worker adds it (`verify_token`).
            out.insert("events".into(), format!("{base}/meta/apps/{credential_ref}").into());
        }
        "tiktok" => {
            out.insert("events".into(), format!("{base}/tiktok/apps/{credential_ref}").into());
        }
        "x" | "linkedin" => {
            out.insert("events".into(), format!("{base}/{platform}/apps/{credential_ref}").into());
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(body: &str) -> ApiResult<PutCredentials> {
        let p: PutCredentials = serde_json::from_str(body).map_err(|_| ApiError::invalid("json"))?;
        p.check()?;
        Ok(p)
    }

    #[test]
    fn input_is_checked() {
        assert!(put(r#"{"client_id":"abc","client_secret":"s3cret"}"#).is_ok());
        let p = put(r#"{"client_id":"abc","client_secret":"s","scopes":["a","b"],"webhook_secret":"w"}"#).unwrap();
        assert_eq!(p.scopes.unwrap(), vec!["a", "b"]);
        assert_eq!(p.webhook_secret.unwrap().secret(), "w");
        for bad in [
            r#"{"client_id":"","client_secret":"s"}"#,
            r#"{"client_id":"a b","client_secret":"s"}"#,
            r#"{"client_id":"a","client_secret":""}"#,
            r#"{"client_id":"a","client_secret":"s","scopes":["a b"]}"#,
            r#"{"client_id":"a","client_secret":"s","webhook_secret":""}"#,
            r#"{"client_id":"a","client_secret":"s","other":1}"#,
            r#"{"client_id":"a"}"#,
        ] {
            assert!(put(bad).is_err(), "{bad}");
        }
        let long = format!(r#"{{"client_id":"{}","client_secret":"s"}}"#, "a".repeat(257));
        assert!(put(&long).is_err());
    }

    #[test]
    fn fingerprint_is_short_and_stable() {
        assert_eq!(fingerprint("secret"), "2bb80d53");
        assert_eq!(fingerprint("secret").len(), 8);
        assert_ne!(fingerprint("secret"), fingerprint("secret2"));
    }

    #[test]
    fn view_shows_no_secret() {
        let row = CredentialRow {
            id: "pcr_1".into(),
            app_id: "app_1".into(),
            platform: "facebook".into(),
            client_id: "cid".into(),
            client_secret_enc: "v1.k.SEALED".into(),
            webhook_secret_enc: None,
            token_kid: "k".into(),
            secret_fingerprint: "2bb80d53".into(),
            scopes: Some(r#"["email"]"#.into()),
            created_at: 0,
            updated_at: 0,
            retired_at: None,
        };
        let v = row.view("https://x.test");
        let text = v.to_string();
        assert!(!text.contains("SEALED"));
        assert_eq!(v["client_secret_set"], true);
        assert_eq!(v["scopes"], json!(["email"]));
        assert_eq!(v["callback_url"], "https://x.test/oauth/callback");
        assert_eq!(
            v["platform_webhooks"]["deauthorize"],
            "https://x.test/platform-webhooks/meta/apps/pcr_1/deauthorize"
        );
        assert_eq!(sealed_as("app_1", "x"), "app_1:x");
        assert_eq!(
            webhook_urls("https://x.test", "linkedin", "pcr_1")["events"],
            "https://x.test/platform-webhooks/linkedin/apps/pcr_1"
        );
        assert_eq!(webhook_urls("https://x.test", "x", "pcr_1")["events"], "https://x.test/platform-webhooks/x/apps/pcr_1");
        assert!(webhook_urls("https://x.test", "reddit", "pcr_1").is_empty());
        assert_eq!(v["platform_webhooks"]["events"], "https://x.test/platform-webhooks/meta/apps/pcr_1");
    }
}
