//! Bodies read as streams under a hard cap: reading stops as soon as the running count
//! passes the cap, and the rest is cancelled, so no body (a request's or a platform's
//! answer) is ever read whole before its size is known.

use connect_links_core::http::CappedBody;
use futures_util::StreamExt;
use worker::ByteStream;

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
