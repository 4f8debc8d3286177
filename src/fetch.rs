//! Outbound platform calls through the Workers fetch API, one JSON log line each.

use connect_links_core::http::{HttpRequest, HttpResponse};
use futures_util::future::{select, Either};
use serde_json::json;
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{
    console_log, AbortController, AbortSignal, Date, Delay, Fetch, Headers, Method, Request, RequestInit,
    RequestRedirect,
};

/// Answers larger than this are cut off; no platform answer we read comes near it.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// How long a call may take when `PLATFORM_TIMEOUT_MS` does not say.
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;

/// Why a call produced no answer: network error or timeout.
#[derive(Debug)]
pub struct TransportError;

/// Sends `req` for `platform` (redirects are not followed: a platform answer that redirects
/// is an error, not a hop to an unchecked host), and logs platform, endpoint, status,
/// latency and profile id. Never logs a header, body or query.
pub async fn send(
    req: &HttpRequest,
    platform: &str,
    profile_id: Option<&str>,
    timeout_ms: u64,
) -> Result<HttpResponse, TransportError> {
    let start = Date::now().as_millis();
    let result = send_inner(req, timeout_ms).await;
    let latency_ms = Date::now().as_millis().saturating_sub(start);
    let status = result.as_ref().map(|r| r.status).unwrap_or(0);
    console_log!(
        "{}",
        json!({
            "event": "platform_call",
            "platform": platform,
            "method": req.method,
            "endpoint": req.endpoint(),
            "status": status,
            "latency_ms": latency_ms,
            "profile_id": profile_id,
            "ok": result.is_ok(),
        })
    );
    result
}

/// Sends `req` without logging (callers log their own line), giving up after `timeout_ms`.
pub async fn send_inner(req: &HttpRequest, timeout_ms: u64) -> Result<HttpResponse, TransportError> {
    let controller = AbortController::default();
    let call = Box::pin(send_once(req, controller.signal()));
    let timer = Box::pin(Delay::from(Duration::from_millis(timeout_ms)));
    match select(call, timer).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => {
            controller.abort();
            Err(TransportError)
        }
    }
}

async fn send_once(req: &HttpRequest, signal: AbortSignal) -> Result<HttpResponse, TransportError> {
    let headers = Headers::new();
    for (k, v) in &req.headers {
        headers.set(k, v).map_err(|_| TransportError)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(req.method.to_string())).with_headers(headers).with_redirect(RequestRedirect::Manual);
    if let Some(body) = &req.body {
        init.with_body(Some(JsValue::from_str(body)));
    }
    let request = Request::new_with_init(&req.url, &init).map_err(|_| TransportError)?;
    let mut resp = Fetch::Request(request).send_with_signal(&signal).await.map_err(|_| TransportError)?;
    let mut body = resp.bytes().await.map_err(|_| TransportError)?;
    body.truncate(MAX_RESPONSE_BYTES);
    Ok(HttpResponse { status: resp.status_code(), body })
}
