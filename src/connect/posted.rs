//! `POST /v1/profiles`: accounts connected with credentials the app posts (a pasted API key,
//! a Bluesky app password) instead of a consent screen, for platforms that offer no OAuth
//! consent. The credentials are checked at the platform at once (`links::posted`,
//! `links::bluesky`); the account lands through a link that completes in the same request.

use crate::ctx::Ctx;
use crate::grants::land::{Connected, Finish};
use crate::links::posted::{self, NotLanded};
use crate::respond;
use crate::store;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::input::{parse_json, CreateProfile};
use connect_links_core::model::{AppRow, LinkRow};
use connect_links_core::platforms::AuthKind;
use connect_links_core::random::new_id;
use worker::Response;

/// `POST /v1/profiles`.
pub async fn create(ctx: &Ctx, app: &AppRow, body: &[u8]) -> ApiResult<Response> {
    let input: CreateProfile = parse_json(body)?;
    input.check()?;
    let platform = ctx.platform(&input.platform)?.clone();
    let posted =
        match platform.auth {
            AuthKind::ApiKey => {
                input.only(&["api_key"])?;
                posted::api_key(ctx, platform, input.credential("api_key")?).await?
            }
            AuthKind::AppPassword => {
                input.only(&["identifier", "app_password"])?;
                let (identifier, password) = (input.credential("identifier")?, input.credential("app_password")?);
                crate::links::bluesky::sign_in(ctx, &platform, identifier, password).await?
            }
            // What the platform supports, not the body's form: 422, as every such refusal.
            AuthKind::Oauth2 | AuthKind::InstanceOauth2 => return Err(ApiError::new(
                ErrorCode::PlatformUnsupported,
                "this platform connects through a connect link (POST /v1/connect-links), not with posted credentials",
            )),
        };
    let now = ctx.now();
    let link = LinkRow {
        id: new_id("cl_")?,
        app_id: app.id.clone(),
        platform: posted.platform.id.clone(),
        scopes: "[]".into(),
        external_user_id: input.external_user_id.clone(),
        metadata: input.metadata.as_ref().map(|m| serde_json::Value::Object(m.clone()).to_string()),
        status: "pending".into(),
        created_at: now,
        expires_at: now,
        accounts: "all".into(),
        instance: posted.platform.instance.clone(),
        ..LinkRow::default()
    };
    let db = ctx.db()?;
    if let Err(e) = store::insert_link(&db, &link, "posted", None).await {
        posted::discard(ctx, posted).await;
        return Err(e);
    }
    match posted::land(ctx, app, &link, posted, Finish::Now).await {
        Ok(Connected::Done { profile_ids, .. }) => {
            let first = profile_ids.first().ok_or_else(ApiError::internal)?;
            let profile = store::get_profile(&db, &app.id, first).await?.ok_or_else(ApiError::internal)?;
            respond::json(201, &profile.view())
        }
        Ok(Connected::Choose { .. }) => Err(ApiError::internal()),
        Err(NotLanded::Api(e)) => Err(e),
        Err(NotLanded::Failed(CallbackFailure::AccountConnectedElsewhere)) => {
            Err(ApiError::new(ErrorCode::Conflict, "this account is connected by another user of this app"))
        }
        Err(NotLanded::Failed(_)) => Err(ApiError::internal()),
    }
}
