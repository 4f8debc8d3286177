//! Bluesky sign-in with an app password, for `POST /v1/profiles` and a chooser link's
//! Bluesky form (`browser::chooser`): the handle is resolved to
//! its DID and the DID to the account's PDS (each host checked as public before it is called),
//! the session is created on that PDS, and the profile is read from the public AppView. The
//! app password is used for this one call and never stored; the session's JWTs are what the
//! grant keeps. The pure steps are `connect_links_core::atproto`.

use super::posted::Posted;
use crate::ctx::Ctx;
use crate::fetch;
use connect_links_core::atproto::{
    canonical_did, create_session_request, did_document_request, did_document_status, normalize_identifier,
    parse_did_document, parse_profile, parse_resolved_handle, parse_session, profile_request, resolve_handle_request,
    DidProblem, Identifier, ResolveProblem, SessionError,
};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::http::{HttpRequest, HttpResponse};
use connect_links_core::identity::Identity;
use connect_links_core::platforms::Platform;

/// Checks `identifier` (a handle or DID) and `password` (an app password) at the
/// account's PDS and returns the session.
pub async fn sign_in(ctx: &Ctx, platform: &Platform, identifier: &str, password: &str) -> ApiResult<Posted> {
    let identifier = normalize_identifier(identifier)
        .map_err(|why| ApiError::invalid(format!("credentials.identifier: {why}")))?;
    let (did, handle) = match &identifier {
        Identifier::Did(did) => (did.clone(), None),
        Identifier::Handle(handle) => {
            let resp = call(ctx, &resolve_handle_request(handle)).await?;
            let did = parse_resolved_handle(resp.status, &resp.body).map_err(|why| match why {
                ResolveProblem::NotFound => ApiError::new(ErrorCode::InvalidCredentials, why.to_string()),
                _ => ApiError::upstream(why.to_string()),
            })?;
            (did, Some(handle.clone()))
        }
    };
    let doc_req =
        did_document_request(&did).map_err(|why| ApiError::new(ErrorCode::InvalidCredentials, why.to_string()))?;
    let resp = call(ctx, &doc_req).await?;
    let doc =
        did_document_status(resp.status).and_then(|_| parse_did_document(&did, &resp.body)).map_err(
            |why| match why {
                DidProblem::Upstream { .. } => ApiError::upstream(why.to_string()),
                DidProblem::PdsNotAllowed(_) | DidProblem::NoPds => {
                    ApiError::new(ErrorCode::AccountUnavailable, why.to_string())
                }
                _ => ApiError::new(ErrorCode::InvalidCredentials, why.to_string()),
            },
        )?;
    // The handle must point at the DID and the DID back at the handle (atproto's
    // bidirectional check): a handle someone else's DNS points at a DID is not theirs. Only a
    // handle checked both ways is shown as the profile's username, never the one the PDS
    // puts in its session answer (a PDS of one's own can say anything).
    let verified_handle = match (&handle, &doc.handle) {
        (Some(h), Some(named)) if h == named => Some(h.clone()),
        (Some(_), _) => {
            return Err(ApiError::new(
                ErrorCode::InvalidCredentials,
                "the handle and its account do not name each other (the handle is not verified)",
            ))
        }
        // Signed in by DID: the handle the document names counts once it resolves back.
        (None, Some(named)) => resolves_to(ctx, named, &did).await.then(|| named.clone()),
        (None, None) => None,
    };
    let resp = call(ctx, &create_session_request(&doc.pds_host, &did, password)).await?;
    let issued_at = ctx.now();
    let session = parse_session(resp.status, &resp.body, issued_at).map_err(|why| {
        let code = match why {
            SessionError::InvalidCredentials => ErrorCode::InvalidCredentials,
            SessionError::AuthFactorRequired => ErrorCode::AppPasswordRequired,
            SessionError::AccountTakendown => ErrorCode::AccountUnavailable,
            SessionError::RateLimited => ErrorCode::RateLimited,
            SessionError::Upstream { .. } | SessionError::Malformed => ErrorCode::UpstreamError,
        };
        ApiError::new(code, why.to_string())
    })?;
    if canonical_did(&session.did) != did {
        return Err(ApiError::upstream("the PDS signed in another account than the one resolved"));
    }
    // Display name and avatar are extras: an account the AppView has not indexed yet still
    // connects, with its handle.
    let facts = match fetch::send(&profile_request(&did), &platform.id, None, ctx.timeout_ms()).await {
        Ok(r) => parse_profile(r.status, &r.body),
        Err(_) => None,
    };
    let identity = Identity {
        platform_user_id: did,
        username: verified_handle,
        display_name: facts.as_ref().and_then(|f| f.display_name.clone()),
        avatar_url: facts.and_then(|f| f.avatar_url),
    };
    Ok(Posted { platform: platform.at_instance(&doc.pds_host), tokens: session.tokens, identity, issued_at })
}

/// Whether `handle` resolves to `did` (an unreachable or failed resolution says no).
async fn resolves_to(ctx: &Ctx, handle: &str, did: &str) -> bool {
    if !matches!(normalize_identifier(handle), Ok(Identifier::Handle(h)) if h == handle) {
        return false;
    }
    call(ctx, &resolve_handle_request(handle))
        .await
        .is_ok_and(|resp| parse_resolved_handle(resp.status, &resp.body).is_ok_and(|d| d == canonical_did(did)))
}

/// One resolution or sign-in call; unreachable is 502.
async fn call(ctx: &Ctx, req: &HttpRequest) -> ApiResult<HttpResponse> {
    fetch::send(req, "bluesky", None, ctx.timeout_ms())
        .await
        .map_err(|_| ApiError::upstream("a Bluesky server could not be reached"))
}
