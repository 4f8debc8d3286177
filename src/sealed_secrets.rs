//! Secrets the worker keeps sealed in D1 besides tokens: each app's webhook secret (and, for
//! a day after a rotation, the one before it), and the worker's own key for Meta data
//! deletion confirmation codes. All are sealed under `TOKEN_KEYS` and re-encrypted by the
//! housekeeping job like tokens, so they outlive a key rotation. The rules of their
//! lifetimes live here (their statements in `store::webhook_secrets` and
//! `store::worker_secrets`); routes and jobs call in.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond::object;
use crate::store::{self, IdRow, RotatedSecret, KeyedText, Stmt};
use connect_links_core::envelope::Keyring;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::keys::new_webhook_secret;
use connect_links_core::random::{b64, b64_decode, random_bytes};
use connect_links_core::secrets::WebhookSecret;
use worker::D1Database;

/// How long an app's previous webhook secret still signs deliveries after a rotation.
pub const PREVIOUS_SECRET_SECS: i64 = 24 * 3600;

/// The sealed field of an app's webhook secret, and of the one before it.
const CURRENT_FIELD: &str = "webhook_secret";
const PREVIOUS_FIELD: &str = "webhook_secret_prev";

/// The secrets a delivery for `app_id` is signed with, the current one first: each that
/// opens, the previous one only before `previous_until`.
pub fn signing_secrets(
    keyring: &Keyring,
    app_id: &str,
    current_enc: &str,
    previous: Option<(&str, i64)>,
    now: i64,
) -> Vec<WebhookSecret> {
    let mut out = Vec::new();
    if let Ok(s) = keyring.open_secret(app_id, CURRENT_FIELD, current_enc) {
        out.push(s);
    }
    if let Some((enc, until)) = previous {
        if until > now {
            if let Ok(s) = keyring.open_secret(app_id, PREVIOUS_FIELD, enc) {
                out.push(s);
            }
        }
    }
    out
}

/// A rotation's outcome: the new secret (shown this once) and until when the old one still
/// signs (`None`: the old one could not be read, so it signs nothing).
pub struct Rotated {
    /// The new `whsec_...` secret.
    pub secret: WebhookSecret,
    /// Epoch seconds.
    pub previous_until: Option<i64>,
}

/// Gives app `app_id` a new webhook secret. The current one, when it opens, becomes the
/// previous one for [`PREVIOUS_SECRET_SECS`] (a previous one from an earlier rotation ends
/// now); one that does not open (sealed under a key that left `TOKEN_KEYS`) is replaced
/// outright, which is how an app whose deliveries fail for it recovers. `None`: no such app.
/// A rotation racing another is 409.
pub async fn rotate_webhook_secret(ctx: &Ctx, app_id: &str) -> ApiResult<Option<Rotated>> {
    let db = ctx.db()?;
    let keyring = ctx.keyring()?;
    let Some(IdRow { id: current }) = store::webhook_secret(&db, app_id).one::<IdRow>("read webhook secret").await? else {
        return Ok(None);
    };
    let now = ctx.now();
    let previous = match keyring.open_secret::<WebhookSecret>(app_id, CURRENT_FIELD, &current) {
        Ok(old) => Some(keyring.seal(app_id, PREVIOUS_FIELD, old.secret()).or_500("seal previous webhook secret")?),
        Err(_) => None,
    };
    let previous_until = previous.as_ref().map(|_| now + PREVIOUS_SECRET_SECS);
    let secret = new_webhook_secret()?;
    let sealed = keyring.seal(app_id, CURRENT_FIELD, secret.secret()).or_500("seal webhook secret")?;
    let rotated = RotatedSecret { sealed: &sealed, previous: previous.as_deref(), previous_until };
    let changed = store::rotate_webhook_secret(&db, app_id, &rotated, now, &current)
        .exists("rotate webhook secret")
        .await?;
    if !changed {
        return Err(ApiError::new(ErrorCode::Conflict, "the webhook secret was rotated meanwhile; rotate again"));
    }
    Ok(Some(Rotated { secret, previous_until }))
}

/// Housekeeping: previous webhook secrets past their day are dropped, and a batch of those
/// still under a non-current key (`others`, a JSON array of kids) is re-sealed under the
/// current one (one that no longer opens is dropped: it could sign nothing).
pub async fn tidy_previous_webhook_secrets(
    ctx: &Ctx,
    db: &D1Database,
    keyring: &Keyring,
    others: &str,
) -> ApiResult<()> {
    let now = ctx.now();
    store::expire_previous_webhook_secrets(db, now).exec("expire previous webhook secrets").await?;
    let rows = store::old_key_previous_webhook_secrets(db, others)
        .many::<KeyedText>("read old-key previous webhook secrets")
        .await?;
    for row in rows {
        // Opened only to be sealed again under the current key: the text never leaves here.
        let resealed = keyring
            .open(&row.id, PREVIOUS_FIELD, &row.text)
            .and_then(|plain| keyring.seal(&row.id, PREVIOUS_FIELD, &plain))
            .ok();
        if resealed.is_none() {
            crate::log::error(
                &object!("event": "reencrypt_failed", "app_id": row.id, "what": "previous webhook secret dropped"),
            );
        }
        store::rewrap_previous_webhook_secret(db, &row.id, resealed.as_deref(), &row.text)
            .exec("rewrap previous webhook secret")
            .await?;
    }
    Ok(())
}

/// The name of the confirmation-code key in `worker_secrets`.
const CODE_KEY: &str = "meta_deletion_code_key";

/// The purpose the confirmation-code key was derived for from the current `TOKEN_KEYS` key
/// before it was stored: its first stored value, so codes answered before keep their value.
const CODE_PURPOSE: &str = connect_links_core::platform_webhooks::CONFIRMATION_CODE_PURPOSE;

/// The key Meta data deletion confirmation codes are made with: stored once in D1 (sealed),
/// so a request repeated after a `TOKEN_KEYS` rotation gets the same code. Its first value is
/// the key the codes were derived with until it was stored (from the then current key); one
/// that no longer opens (its key left `TOKEN_KEYS` before the housekeeping re-sealed it) is
/// replaced by a random one, logged: codes made before then change.
pub async fn deletion_code_key(ctx: &Ctx) -> ApiResult<[u8; 32]> {
    let db = ctx.db()?;
    let keyring = ctx.keyring()?;
    for _ in 0..3 {
        let row = store::worker_secret(&db, CODE_KEY).one::<IdRow>("read code key").await?;
        let (key, replaces) = match &row {
            Some(r) => {
                // The key's base64 text, decoded at once: its bytes are what the MAC takes.
                let opened = keyring.open(CODE_KEY, "secret", &r.id).ok().and_then(|s| b64_decode(&s));
                if let Some(key) = opened.and_then(|k| <[u8; 32]>::try_from(k).ok()) {
                    return Ok(key);
                }
                crate::log::error(&object!("event": "code_key_unreadable", "what": "replaced by a new one"));
                (random_bytes::<32>()?, Some(r.id.as_str()))
            }
            None => (*keyring.derive(CODE_PURPOSE).secret(), None),
        };
        let sealed = keyring.seal(CODE_KEY, "secret", &b64(&key)).or_500("seal code key")?;
        // Whoever writes first wins; everyone reads that one back.
        match replaces {
            None => store::insert_worker_secret(&db, CODE_KEY, &sealed, keyring.current_kid(), ctx.now()),
            Some(old) => store::rewrap_worker_secret(&db, CODE_KEY, &sealed, keyring.current_kid(), old),
        }
        .exec("store code key")
        .await?;
    }
    Err(ApiError::internal())
}

/// Housekeeping: the worker's own secrets still under a non-current key (`others`, a JSON
/// array of kids) are re-sealed under the current one (one that does not open is left for
/// its next use to replace).
pub async fn rewrap_worker_secrets(db: &D1Database, keyring: &Keyring, others: &str) -> ApiResult<()> {
    let rows =
        store::old_key_worker_secrets(db, others).many::<KeyedText>("read old-key worker secrets").await?;
    for row in rows {
        // Opened only to be sealed again under the current key: the text never leaves here.
        let Ok(resealed) =
            keyring.open(&row.id, "secret", &row.text).and_then(|p| keyring.seal(&row.id, "secret", &p))
        else {
            crate::log::error(&object!("event": "reencrypt_failed", "worker_secret": row.id));
            continue;
        };
        store::rewrap_worker_secret(db, &row.id, &resealed, keyring.current_kid(), &row.text)
            .exec("rewrap worker secret")
            .await?;
    }
    Ok(())
}
