//! `POST /connect/{id}`: the user's choice on a chooser link, and the forms that follow it.
//! An OAuth platform starts its consent on the same link (303 to the consent screen); a
//! Mastodon instance, Bluesky's handle and app password, or an API key are asked on a
//! hosted form that posts back here. Only the browser that was shown the chooser (its
//! cookie, and the form token bound to it), from this site, can post: another site's page
//! could otherwise connect its own account into a victim's open link (login CSRF). Secrets
//! typed into a form are used for the one call that checks them and never shown again.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::grants::land::Finish;
use crate::links::finish::finish_in_browser;
use crate::links::offer::{self, browser_value, form_answer};
use crate::links::posted::{self, NotLanded, Posted};
use crate::links::start::{self, Ask};
use crate::respond;
use crate::store;
use connect_links_core::chooser::{form_page, form_token_ok, Alert, FormKind, FORM_PURPOSE};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::host::public_host;
use connect_links_core::i18n::Messages;
use connect_links_core::model::{AppRow, LinkRow, LinkStatus};
use connect_links_core::pages::{brand_of, Brand, PlatformMark};
use connect_links_core::platforms::{AuthKind, Platform};
use connect_links_core::redirect::is_allowed;
use connect_links_core::state::CallbackMode;
use worker::Response;

fn refused(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, message)
}

/// The posted form, by field name (the first of each).
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// Takes the choice (or a form after it) and continues the chosen platform's connect.
/// `site` is the browser's `Sec-Fetch-Site`; `cookie` its `Cookie` header.
pub async fn submit(
    ctx: &Ctx,
    link_id: &str,
    site: Option<&str>,
    cookie: Option<&str>,
    body: &[u8],
) -> ApiResult<Response> {
    // A form posted from another site is refused before anything else (login CSRF).
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(refused("This form was submitted from another site."));
    }
    let form = Form(url::form_urlencoded::parse(body).into_owned().collect());
    let db = ctx.db()?;
    let link = store::get_link(&db, link_id).await?.ok_or_else(|| ApiError::not_found("connect link"))?;
    let app = store::get_app(&db, &link.app_id).await?.ok_or_else(ApiError::internal)?;
    // Its pages, error pages too, speak the link's language and name its app.
    let brand = brand_of(&app);
    ctx.hint_page(link.locale.as_deref(), brand.clone());
    let open = link.status_at(ctx.now()) == LinkStatus::Pending && link.status == LinkStatus::Pending;
    let offered = link.platform_list();
    let Some(offered) = offered.filter(|_| open) else {
        return Err(ApiError::new(
            ErrorCode::LinkExpired,
            "This connect link has expired or was already used. Ask the app for a new one.",
        ));
    };
    let browser = browser_value(cookie)?;
    // A new cookie means the browser brought none: no form of this link was shown to it.
    let key = ctx.keyring()?.derive(FORM_PURPOSE);
    if browser.1 || !form_token_ok(&key, &link.id, &browser.0, form.get("form_token")) {
        return Err(refused("This form does not come from the page this browser was shown. Open the link again."));
    }
    crate::links::attempts::count(ctx, &link.id).await?;
    let chosen = form.get("platform");
    let platform = ctx
        .catalog
        .get(chosen)
        .filter(|p| offered.iter().any(|id| id == &p.id))
        .ok_or_else(|| ApiError::invalid("This link does not offer that platform."))?;
    if !is_allowed(&link.redirect_url, &app.allowlist()) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "The app no longer allows the address this sign-in was to return to. Start again from the app.",
        ));
    }
    let msgs = crate::pages::messages(ctx, ctx.page_lang(link.locale.as_deref())).await;
    let page = Page { ctx, link: &link, browser: &browser, platform, brand: &brand, msgs: &msgs };
    match platform.auth {
        AuthKind::Oauth2 => consent(&page, &app, None).await,
        AuthKind::InstanceOauth2 => {
            let typed = form.get("instance").trim();
            let show = |alert, status| page.form(FormKind::Instance, typed, alert, status);
            if typed.is_empty() {
                return show(None, 200);
            }
            let host = match public_host(typed) {
                Ok(h) => h,
                // The check's reason completes a sentence, as `instance {why}` does in the API.
                Err(why) => {
                    return show(Some(Alert { key: SERVER_REFUSED, detail: Some(&format!("The server {why}.")) }), 400)
                }
            };
            match consent(&page, &app, Some(&host)).await {
                Ok(resp) => Ok(resp),
                // The instance is the user's to correct: unreachable, refusing, not Mastodon.
                Err(e) if e.status() != 500 => show(Some(Alert { key: SERVER_REFUSED, detail: Some(&e.message) }), 400),
                Err(e) => Err(e),
            }
        }
        AuthKind::AppPassword => {
            let (identifier, password) = (form.get("identifier").trim(), form.get("app_password"));
            let show = |alert, status| page.form(FormKind::Bluesky, identifier, alert, status);
            if !form.has("identifier") {
                return show(None, 200);
            }
            if identifier.is_empty() || password.is_empty() {
                return show(Some(FILL_IN), 400);
            }
            match crate::links::bluesky::sign_in(ctx, platform, identifier, password).await {
                Ok(posted) => connect_posted(&page, &app, posted).await,
                Err(e) if e.status() != 500 => show(Some(refused_by(&e)), 400),
                Err(e) => Err(e),
            }
        }
        AuthKind::ApiKey => {
            let key = form.get("api_key").trim();
            // A key is never filled back in: nothing typed is passed on.
            let show = |alert, status| page.form(FormKind::ApiKey, "", alert, status);
            if !form.has("api_key") {
                return show(None, 200);
            }
            if key.is_empty() {
                return show(Some(FILL_IN), 400);
            }
            match posted::api_key(ctx, platform.clone(), key).await {
                Ok(posted) => connect_posted(&page, &app, posted).await,
                Err(e) if e.status() != 500 => show(Some(refused_by(&e)), 400),
                Err(e) => Err(e),
            }
        }
    }
}

/// The alert of a form left incomplete.
const FILL_IN: Alert<'static> = Alert { key: "form.fill_in", detail: None };
/// The catalog key of a Mastodon server the user named that cannot be used.
const SERVER_REFUSED: &str = "form.server_refused";

/// A platform's refusal as the form shows it: translated, with the platform's own reason (the
/// API's field prefix left out) as the English detail.
fn refused_by(e: &ApiError) -> Alert<'_> {
    Alert { key: "form.refused", detail: Some(e.message.strip_prefix("credentials.").unwrap_or(&e.message)) }
}

/// Lands the account the credentials signed in on the link, which now names the platform
/// (and a previous choice's consent can no longer complete it); then the final redirect.
async fn connect_posted(page: &Page<'_>, app: &AppRow, signed_in: Posted) -> ApiResult<Response> {
    let (ctx, link) = (page.ctx, page.link);
    let chosen = store::Chosen {
        platform: &signed_in.platform.id,
        authorize_url: "",
        scopes: "[]",
        instance: signed_in.platform.instance.as_deref(),
        state_key: None,
    };
    let db = ctx.db()?;
    let named = match store::choose_platform(&db, &link.id, &chosen, ctx.now()).await {
        Ok(true) => store::get_link(&db, &link.id).await,
        Ok(false) => Ok(None),
        Err(e) => Err(e),
    };
    let link = match named {
        Ok(Some(l)) if l.status == LinkStatus::Pending => l,
        other => {
            posted::discard(ctx, signed_in).await;
            other?;
            return Err(ApiError::new(
                ErrorCode::LinkExpired,
                "This connect link has expired or was already used. Ask the app for a new one.",
            ));
        }
    };
    let finish = Finish::for_claim(app.claim_mode());
    match posted::land(ctx, app, &link, signed_in, finish).await {
        Ok(done) => finish_in_browser(&link, Ok(done)),
        Err(NotLanded::Failed(f)) => finish_in_browser(&link, Err(f)),
        Err(NotLanded::Api(e)) => Err(e),
    }
}

/// What every page after the choice is about.
struct Page<'a> {
    ctx: &'a Ctx,
    link: &'a LinkRow,
    browser: &'a (String, bool),
    platform: &'a Platform,
    brand: &'a Brand,
    msgs: &'a Messages,
}

impl Page<'_> {
    /// The platform's form of `kind`, `typed` kept in its field, with `alert` when the last
    /// try failed.
    fn form(&self, kind: FormKind, typed: &str, alert: Option<Alert<'_>>, status: u16) -> ApiResult<Response> {
        let token = offer::token(self.ctx, self.link, &self.browser.0)?;
        let action = format!("/connect/{}", self.link.id);
        let (p, msgs) = (self.platform, self.msgs);
        let mark = PlatformMark::of(&p.id, &p.name);
        let html = form_page(self.brand, msgs, kind, &mark, &p.id, &action, &token, typed, alert);
        form_answer(self.ctx, self.link, status, html, msgs, self.browser)
    }
}

/// Starts the chosen OAuth platform's consent on the link (at `instance` for Mastodon): the
/// state kept, the link naming the platform and the choice's state (a later choice replaces
/// it), then 303 to the consent screen.
async fn consent(page: &Page<'_>, app: &AppRow, instance: Option<&str>) -> ApiResult<Response> {
    let (ctx, link, platform) = (page.ctx, page.link, page.platform);
    let client = start::client(ctx, &app.id, platform).await?;
    let ask = Ask {
        app,
        platform,
        link_id: &link.id,
        scopes: None,
        optional_scopes: None,
        declined_before: vec![],
        instance,
        callback: CallbackMode::Hosted,
        redirect_url: &link.redirect_url,
        pending_cap: None,
        client,
    };
    let consent = start::prepare(ctx, ask).await?;
    consent.keep(ctx).await?;
    let sealed = ctx.keyring()?.seal(&link.id, "authorize_url", &consent.authorize_url).or_500("seal authorize url")?;
    let chosen = store::Chosen {
        platform: &platform.id,
        authorize_url: &sealed,
        scopes: &serde_json::to_string(&consent.scopes).or_500("scopes json")?,
        instance,
        state_key: Some(&consent.state_key),
    };
    if !store::choose_platform(&ctx.db()?, &link.id, &chosen, ctx.now()).await? {
        consent.drop_later(ctx).await;
        return Err(ApiError::new(
            ErrorCode::LinkExpired,
            "This connect link has expired or was already used. Ask the app for a new one.",
        ));
    }
    respond::see_other(&consent.authorize_url)
}
