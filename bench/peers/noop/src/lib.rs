//! A workers-rs worker that does nothing: 201 `{}` to every request. It reads the request
//! body first: workerd closes a connection whose request body went unread, and a load
//! generator would then pay a new connection per request (or see resets).

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(mut req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    req.bytes().await?;
    let resp = Response::ok("{}")?.with_status(201);
    resp.headers().set("content-type", "application/json")?;
    Ok(resp)
}
