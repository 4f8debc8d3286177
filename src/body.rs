//! Bodies read as streams under a hard cap: reading stops as soon as the running count
//! passes the cap, and the rest is cancelled, so no body (a request's or a platform's
//! answer) is ever read whole before its size is known; and the request bodies the routes
//! read, each under its cap.

use crate::error::{ApiError, ApiResult, ErrorCode, OrInternal};
use connect_links_core::http::CappedBody;
use connect_links_core::input::MAX_BODY_BYTES;
use futures_util::StreamExt;
use worker::{ByteStream, Request};

/// Why a capped read produced no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// More than the cap came; the rest was cancelled unread.
    OverCap,
    /// The stream failed (the other side went away, or the runtime aborted it).
    Stream,
}

/// Reads `stream` to its end within `cap` bytes. Past the cap it returns at once: dropping
/// the stream cancels its reader (`wasm-streams` cancels on drop), which tells the sender
/// to stop, so a 200 MB or endless body costs at most `cap` plus one chunk.
pub async fn read_capped(mut stream: ByteStream, cap: usize) -> Result<Vec<u8>, ReadError> {
    let mut body = CappedBody::new(cap);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ReadError::Stream)?;
        body.push(&chunk).map_err(|_| ReadError::OverCap)?;
    }
    Ok(body.into_bytes())
}

/// Reads a request body within `cap` bytes, as [`read_capped`], but past the cap it goes on
/// reading and discarding up to `drain` more bytes before it gives up: a client still
/// sending a body a little over the cap (and a proxy in front, such as `wrangler dev`'s) then
/// gets the answer (413) instead of a connection reset. A body longer than that is cut (the
/// rest cancelled): it costs at most `cap + drain` plus one chunk.
pub async fn read_request(mut stream: ByteStream, cap: usize, drain: usize) -> Result<Vec<u8>, ReadError> {
    let mut body = CappedBody::new(cap);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ReadError::Stream)?;
        if body.push(&chunk).is_err() {
            let mut discarded = chunk.len();
            while discarded <= drain {
                match stream.next().await {
                    Some(Ok(more)) => discarded += more.len(),
                    // The end (the client sent it all), or the client went away.
                    _ => break,
                }
            }
            return Err(ReadError::OverCap);
        }
    }
    Ok(body.into_bytes())
}

/// Cancels a body without reading any of it (dropping the stream cancels its reader).
pub fn cancel(stream: ByteStream) {
    drop(stream);
}

// Request bodies as the routes read them.

/// The 413 of a body over `cap`.
fn too_large(cap: usize) -> ApiError {
    let message = if cap == EVENT_BODY_BYTES { "request body is over 1 MiB" } else { "request body is over 64 KiB" };
    ApiError::new(ErrorCode::PayloadTooLarge, message)
}

/// The cap of a platform's event webhook body: Meta batches up to 1,000 changes in one
/// request, far more than 64 KiB, and refusing them would lose them (Meta retries, then drops
/// them, and turns a Page's webhook off after an hour of failures).
const EVENT_BODY_BYTES: usize = 1024 * 1024;

/// How much of a chunked body over the cap is still read (and discarded) before the 413, so
/// a client that is still sending sees the answer rather than a reset. Only for callers that
/// proved who they are (an API key, the admin token): anyone else is cut at the cap.
const OVER_CAP_DRAIN: usize = 1024 * 1024;

/// The body of an authenticated request (see [`read_body`]): past the cap a chunked body is
/// drained for at most [`OVER_CAP_DRAIN`] more, then cut.
pub async fn body(req: &mut Request) -> ApiResult<Vec<u8>> {
    read_body(req, MAX_BODY_BYTES, OVER_CAP_DRAIN).await
}

/// The body of a request nobody authenticated (platform webhooks, the picker's form, the
/// sandbox): cut at the cap, so a stranger's huge or endless body costs at most 64 KiB of
/// reading.
pub async fn public_body(req: &mut Request) -> ApiResult<Vec<u8>> {
    read_body(req, MAX_BODY_BYTES, 0).await
}

/// The body of a platform's event webhook, before its signature is checked: as
/// [`public_body`], with the cap at [`EVENT_BODY_BYTES`].
pub async fn event_body(req: &mut Request) -> ApiResult<Vec<u8>> {
    read_body(req, EVENT_BODY_BYTES, 0).await
}

/// The request body, refused over `cap`: by its declared length before any reading, and by
/// a running count while it streams in (a chunked body declares no length). Past the cap a
/// chunked body is drained for at most `drain` bytes more (then cut), never read whole.
async fn read_body(req: &mut Request, cap: usize, drain: usize) -> ApiResult<Vec<u8>> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cap) {
        return Err(too_large(cap));
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    match read_request(req.stream().or_500("request body stream")?, cap, drain).await {
        Ok(bytes) => Ok(bytes),
        Err(ReadError::OverCap) => Err(too_large(cap)),
        // The client went away mid-body (or sent a broken one): its mistake, not ours.
        Err(ReadError::Stream) => Err(ApiError::invalid("the request body could not be read")),
    }
}
