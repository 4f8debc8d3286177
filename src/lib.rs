//! connect-links: the Workers entry points. The route table lives in `routes.rs`; the
//! logic lives in the `connect-links-core` crate and in the flow modules here.

mod admin;
mod connect;
mod ctx;
mod fetch;
mod links;
mod profiles;
mod respond;
mod routes;
mod sandbox;
mod store;

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Ok(routes::handle(req, env).await)
}
