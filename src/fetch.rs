//! Outbound platform calls through the Workers fetch API, one JSON log line each.
//!
//! Answers are read as streams under a hard cap (`MAX_RESPONSE_BYTES`), never whole first:
//! a platform that answers 200 MB costs one MiB of reading, then the rest is cancelled.

use crate::body::{cancel, read_capped, ReadError};
use crate::respond::object;
use connect_links_core::http::{CappedBody, HttpRequest, HttpResponse};
use futures_util::future::{select, Either};
use std::future::Future;
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{
    AbortController, AbortSignal, Date, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response,
    ResponseBody,
};

/// Answers larger than this are a transport error; no platform answer we read comes near it.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// How long a call may take when `PLATFORM_TIMEOUT_MS` does not say.
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;

/// Why a call produced no usable answer. Every kind is transient for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// The request could not be sent, or the connection failed.
    Network,
    /// No whole answer within the timeout.
    Timeout,
    /// The answer (with this status) passed `MAX_RESPONSE_BYTES`; the rest was cancelled.
    TooLarge(u16),
}

impl TransportError {
    /// The name used in log lines.
    fn as_str(self) -> &'static str {
        match self {
            TransportError::Network => "network",
            TransportError::Timeout => "timeout",
            TransportError::TooLarge(_) => "answer_too_large",
        }
    }
    /// What went wrong, as the end of a sentence about the platform ("the platform ...").
    pub fn describe(self) -> &'static str {
        match self {
            TransportError::Network => "could not be reached",
            TransportError::Timeout => "did not answer in time",
            TransportError::TooLarge(_) => "sent an answer over 1 MiB",
        }
    }
    /// The status the platform answered, when it did (0 otherwise).
    fn status(self) -> u16 {
        match self {
            TransportError::TooLarge(status) => status,
            _ => 0,
        }
    }
}

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
    let result = send_capped(req, timeout_ms).await;
    let latency_ms = Date::now().as_millis().saturating_sub(start);
    let (status, error) = match &result {
        Ok(r) => (r.status, None),
        Err(e) => (e.status(), Some(e.as_str())),
    };
    crate::log::info(&object!(
        "event": "platform_call",
        "platform": platform,
        "method": req.method,
        "endpoint": req.endpoint(),
        "status": status,
        "latency_ms": latency_ms,
        "profile_id": profile_id,
        "ok": result.is_ok(),
        "error": error,
    ));
    result
}

/// Sends `req` and reads its answer within `MAX_RESPONSE_BYTES`, giving up after
/// `timeout_ms` (the body's reading included).
async fn send_capped(req: &HttpRequest, timeout_ms: u64) -> Result<HttpResponse, TransportError> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = async move {
        let mut resp = start(req, signal).await?;
        let status = resp.status_code();
        let body = read_body(&mut resp).await.map_err(|e| match e {
            ReadError::OverCap => TransportError::TooLarge(status),
            ReadError::Stream => TransportError::Network,
        })?;
        Ok(HttpResponse { status, body })
    };
    within(controller, timeout_ms, call).await
}

/// Sends `req` without logging (the caller logs its own line) and returns only the status:
/// the answer's body is cancelled unread, so a receiver that answers with a huge or endless
/// body costs nothing. Gives up after `timeout_ms`.
pub async fn send_status(req: &HttpRequest, timeout_ms: u64) -> Result<u16, TransportError> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = async move {
        let mut resp = start(req, signal).await?;
        if matches!(resp.body(), ResponseBody::Stream(_)) {
            cancel(resp.stream().map_err(|_| TransportError::Network)?);
        }
        Ok(resp.status_code())
    };
    within(controller, timeout_ms, call).await
}

/// Runs `call`, aborting its fetch once `timeout_ms` has passed.
async fn within<T>(
    controller: AbortController,
    timeout_ms: u64,
    call: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    let timer = Box::pin(Delay::from(Duration::from_millis(timeout_ms)));
    match select(Box::pin(call), timer).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => {
            controller.abort();
            Err(TransportError::Timeout)
        }
    }
}

/// Sends the request; resolves once the answer's status and headers are in.
async fn start(req: &HttpRequest, signal: AbortSignal) -> Result<Response, TransportError> {
    let body = req.body.as_deref().map(JsValue::from_str);
    start_raw(req.method, &req.url, &req.headers, body, &signal).await
}

/// Sends a request with any body (a string, bytes or a stream) without following redirects.
async fn start_raw(
    method: &str,
    url: &str,
    header_pairs: &[(String, String)],
    body: Option<JsValue>,
    signal: &AbortSignal,
) -> Result<Response, TransportError> {
    let headers = Headers::new();
    for (k, v) in header_pairs {
        headers.append(k, v).map_err(|_| TransportError::Network)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(method.to_string())).with_headers(headers).with_redirect(RequestRedirect::Manual);
    if body.is_some() {
        init.with_body(body);
    }
    let request = Request::new_with_init(url, &init).map_err(|_| TransportError::Network)?;
    Fetch::Request(request).send_with_signal(signal).await.map_err(|_| TransportError::Network)
}

/// A proxied call's body: none, bytes held in memory (sendable again), or the caller's
/// stream (sendable once, never read into memory).
pub enum OutBody {
    /// No body.
    Empty,
    /// A body small enough to keep for another attempt.
    Bytes(Vec<u8>),
    /// The caller's body, streamed through.
    Stream(worker::web_sys::ReadableStream),
}

/// Sends a proxied call and resolves once the answer's status and headers are in, within
/// `timeout_ms` (the request body's sending included); the answer's body is left unread
/// for the caller to stream on. Does not log: the proxy logs one line per proxied call.
pub async fn open(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &OutBody,
    timeout_ms: u64,
) -> Result<Response, TransportError> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let body = match body {
        OutBody::Empty => None,
        OutBody::Bytes(b) => Some(worker::js_sys::Uint8Array::from(b.as_slice()).into()),
        OutBody::Stream(s) => Some(JsValue::from(s.clone())),
    };
    within(controller, timeout_ms, async move { start_raw(method, url, headers, body, &signal).await }).await
}

/// The answer's body within `MAX_RESPONSE_BYTES`, counted as it streams in. The count is of
/// the bytes the runtime hands over, and for a `Content-Encoding: gzip` answer those are the
/// inflated ones while `Content-Length` still gives the compressed size: a declared length
/// within the cap never stands in for the count (a 1 MB gzip answer can inflate to 1 GiB,
/// and reading that whole kills the isolate). One over the cap is refused unread.
async fn read_body(resp: &mut Response) -> Result<Vec<u8>, ReadError> {
    let declared = resp.headers().get("content-length").ok().flatten().and_then(|v| v.trim().parse::<usize>().ok());
    match resp.body() {
        ResponseBody::Stream(_) if declared.is_some_and(|n| n > MAX_RESPONSE_BYTES) => {
            cancel(resp.stream().map_err(|_| ReadError::Stream)?);
            Err(ReadError::OverCap)
        }
        ResponseBody::Stream(_) => read_capped(resp.stream().map_err(|_| ReadError::Stream)?, MAX_RESPONSE_BYTES).await,
        // A fetched answer is a stream or empty; a body already in memory is held to the
        // same cap all the same.
        ResponseBody::Body(bytes) => {
            let mut capped = CappedBody::new(MAX_RESPONSE_BYTES);
            capped.push(bytes).map_err(|_| ReadError::OverCap)?;
            Ok(capped.into_bytes())
        }
        ResponseBody::Empty => Ok(Vec::new()),
    }
}
