//! YouTube's push notifications through WebSub: a channel connected is subscribed at
//! Google's hub (a callback unique to the subscription, a secret of its own, a lease), the
//! cron renews a lease before it ends, and the channel's last profile deleted unsubscribes
//! it. Facts and sources: `connect_links_core::platform_events::youtube`. The hub's calls
//! back (its verification, the notifications) are answered by `crate::inbound::youtube`.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond::object;
use crate::store::{self, Stmt, WebsubRow};
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::http::HttpRequest;
use connect_links_core::platform_events::youtube::{hub_request, plausible_channel, topic_of, HUB_URL};
use connect_links_core::random::{new_id, random_token};

/// A lease ending within this is renewed (the cron runs far more often than once a day).
pub const RENEW_WITHIN_SECS: i64 = 86_400;

/// A request to the hub that got no verification is sent again after this.
const RETRY_AFTER_SECS: i64 = 3600;

/// The sealed field of a subscription's `hub.secret` (bound to its row id).
const SECRET_FIELD: &str = "hub_secret";

/// After a connect landed profiles on `platform` for these accounts, minted by the platform
/// app `credential_ref` names (`None`: the deployment's): a YouTube channel not yet
/// subscribed (or whose lease ends soon) is subscribed, after the answer. Other platforms:
/// nothing.
pub async fn landed(ctx: &Ctx, platform: &str, credential_ref: Option<&str>, channels: &[String]) {
    if platform != "youtube" || channels.is_empty() {
        return;
    }
    let job_ctx = ctx.detached();
    let by = credential_ref.map(str::to_string);
    let channels = channels.to_vec();
    ctx.after_answer(async move {
        for channel in &channels {
            if let Err(e) = subscribe_channel(&job_ctx, channel, by.as_deref()).await {
                log_failure("subscribe", &e.message);
            }
        }
    })
    .await;
}

/// After a profile of `channel` on `platform` was deleted: each subscription of the channel
/// whose platform app no longer has a profile of it is unsubscribed, after the answer.
pub async fn released(ctx: &Ctx, platform: &str, channel: &str) {
    if platform != "youtube" {
        return;
    }
    let job_ctx = ctx.detached();
    let channel = channel.to_string();
    ctx.after_answer(async move {
        if let Err(e) = release_channel(&job_ctx, &channel).await {
            log_failure("unsubscribe", &e.message);
        }
    })
    .await;
}

/// The cron's part: up to `limit` subscriptions due (a lease ending within
/// [`RENEW_WITHIN_SECS`], or a request the hub never verified) are subscribed again, or
/// unsubscribed when no profile of their channel is left; an unsubscription whose lease has
/// ended is forgotten. Returns how many were handled.
pub async fn renew_due(ctx: &Ctx, limit: u32) -> ApiResult<usize> {
    let db = ctx.db()?;
    let now = ctx.now();
    let due = store::websubs_due(&db, now + RENEW_WITHIN_SECS, now - RETRY_AFTER_SECS, limit)
        .many::<WebsubRow>("websubs due")
        .await?;
    for row in &due {
        let done = if row.status == "unsubscribing" {
            if row.lease_expires_at.is_none_or(|t| t <= now) {
                store::websub_delete(&db, &row.id).exec("forget websub").await
            } else {
                send(ctx, row, "unsubscribe").await
            }
        } else if has_profiles(ctx, row).await? {
            send(ctx, row, "subscribe").await
        } else {
            send(ctx, row, "unsubscribe").await
        };
        if let Err(e) = done {
            log_failure("renew", &e.message);
        }
    }
    Ok(due.len())
}

/// Subscribes `channel` for the platform app `by`, unless it holds a lease for more than a
/// day: a new row (with a fresh secret) or the stored one.
async fn subscribe_channel(ctx: &Ctx, channel: &str, by: Option<&str>) -> ApiResult<()> {
    if !plausible_channel(channel) {
        return Ok(());
    }
    let db = ctx.db()?;
    let now = ctx.now();
    let stored = store::websub_of_channel(&db, channel, by).one::<WebsubRow>("read websub").await?;
    let row = match stored {
        Some(r) if r.status == "active" && r.lease_expires_at.is_some_and(|t| t > now + RENEW_WITHIN_SECS) => {
            return Ok(())
        }
        Some(r) => r,
        None => {
            let keyring = ctx.keyring()?;
            let id = new_id("wss_")?;
            let secret = random_token()?;
            let enc = keyring.seal(&id, SECRET_FIELD, &secret).or_500("seal")?;
            let topic = topic_of(channel);
            store::websub_insert(&db, &id, channel, by, &enc, keyring.current_kid(), &topic, now)
                .exec("insert websub")
                .await?;
            // A racing connect of the same channel may have stored its row first: that one.
            match store::websub_of_channel(&db, channel, by).one::<WebsubRow>("read websub").await? {
                Some(r) => r,
                None => return Ok(()),
            }
        }
    };
    send(ctx, &row, "subscribe").await
}

/// Unsubscribes each subscription of `channel` whose platform app has no profile of it left.
async fn release_channel(ctx: &Ctx, channel: &str) -> ApiResult<()> {
    let rows = store::websubs_of_channel(&ctx.db()?, channel).many::<WebsubRow>("read websubs").await?;
    for row in &rows {
        if row.status != "unsubscribing" && !has_profiles(ctx, row).await? {
            send(ctx, row, "unsubscribe").await?;
        }
    }
    Ok(())
}

/// Whether a profile of the subscription's channel remains under its platform app's grants.
async fn has_profiles(ctx: &Ctx, row: &WebsubRow) -> ApiResult<bool> {
    store::channel_has_profiles(&ctx.db()?, &row.channel_id, row.credential_ref.as_deref())
        .exists("channel profiles")
        .await
}

/// Sends `mode` (`subscribe` or `unsubscribe`) for `row` to the hub, with its callback, topic
/// and secret, after recording it (the hub's verification may arrive before its answer). The
/// secret stays the same across renewals (the hub signs with the latest one it verified), is
/// re-sealed under the current key, and is replaced only when no key opens it any more.
async fn send(ctx: &Ctx, row: &WebsubRow, mode: &str) -> ApiResult<()> {
    let db = ctx.db()?;
    let keyring = ctx.keyring()?;
    let opened = keyring.open(&row.id, SECRET_FIELD, &row.secret_enc).ok();
    let current = Keyring::kid_of(&row.secret_enc) == Some(keyring.current_kid());
    let (secret, enc) = match opened {
        Some(s) if current => (s, row.secret_enc.clone()),
        Some(s) => {
            let enc = keyring.seal(&row.id, SECRET_FIELD, &s).or_500("seal")?;
            (s, enc)
        }
        None => {
            let s = random_token()?;
            let enc = keyring.seal(&row.id, SECRET_FIELD, &s).or_500("seal")?;
            (s, enc)
        }
    };
    let status = match (mode, row.status.as_str()) {
        ("unsubscribe", _) => "unsubscribing",
        (_, "active") => "active",
        _ => "pending",
    };
    store::websub_sent(&db, &row.id, status, &enc, keyring.current_kid(), ctx.now()).exec("record websub").await?;
    let callback = format!("{}/platform-webhooks/youtube/{}", ctx.public_url, row.id);
    let req = HttpRequest {
        method: "POST",
        url: HUB_URL.into(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: Some(hub_request(mode, &callback, &row.topic, &secret)),
    };
    // The hub answers 202 and verifies later (WebSub section 5.1); anything else is retried by
    // the cron an hour on. `fetch::send` logs the call.
    match crate::fetch::send(&req, "youtube", None, ctx.timeout_ms()).await {
        Ok(r) if (200..300).contains(&r.status) => {}
        _ => log_failure(mode, "the hub did not accept the request"),
    }
    Ok(())
}

/// One log line of a WebSub step that failed (`detail` names what, never a value).
fn log_failure(step: &str, detail: &str) {
    crate::log::info(&object!("event": "websub_failed", "step": step, "detail": detail));
}

/// The `hub.secret` of a subscription, or `None` when no key in `TOKEN_KEYS` opens it (then
/// no delivery verifies until the cron's renewal sends a fresh one).
pub fn secret_of(ctx: &Ctx, row: &WebsubRow) -> Option<String> {
    ctx.keyring().ok()?.open(&row.id, SECRET_FIELD, &row.secret_enc).ok()
}

/// Key rotation: re-seals under the current key a batch of subscription secrets still under
/// one of `others` (a JSON array of key ids). A secret no key opens makes its subscription due
/// for renewal, which sends the hub a fresh one (until then its deliveries fail to verify).
pub async fn reseal_old_key(ctx: &Ctx, keyring: &Keyring, others: &str, limit: u32) -> ApiResult<()> {
    let db = ctx.db()?;
    let rows = store::old_key_websubs(&db, others, limit)
        .many::<WebsubRow>("read old-key websub")
        .await?;
    for row in rows {
        let resealed = keyring
            .open(&row.id, SECRET_FIELD, &row.secret_enc)
            .and_then(|s| keyring.seal(&row.id, SECRET_FIELD, &s));
        match &resealed {
            Ok(enc) => store::rewrap_websub(&db, &row.id, enc, &row.secret_enc, keyring.current_kid()),
            Err(_) => {
                crate::log::error(&object!("event": "reencrypt_failed", "websub_channel": row.channel_id));
                store::websub_due_now(&db, &row.id, &row.secret_enc, ctx.now())
            }
        }
        .exec("rewrap websub")
        .await?;
    }
    Ok(())
}
