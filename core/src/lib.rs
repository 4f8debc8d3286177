//! connect-links core: the pure logic of the worker, testable on the host.
//!
//! Nothing here touches the Workers runtime; the `connect-links` crate wires these pieces
//! to requests, D1, KV and fetch.

pub mod accounts;
pub mod app_credentials;
pub mod app_limits;
pub mod atproto;
pub mod brand;
pub mod callback;
pub mod caps;
pub mod chooser;
pub mod console;
pub mod cookie;
pub mod decimal;
pub mod envelope;
pub mod error;
pub mod host;
pub mod html;
pub mod i18n;
pub mod http;
pub mod identity;
pub mod input;
pub mod keys;
pub mod landing;
pub mod mastodon;
pub mod model;
pub mod oauth;
pub mod offer;
pub mod ownership;
pub mod pages;
pub mod picker;
pub mod pkce;
pub mod platform_events;
pub mod platform_webhooks;
pub mod platforms;
pub mod proxy;
pub mod random;
pub mod ratelimit;
pub mod redirect;
pub mod refresh;
pub mod refresh_policy;
pub mod sandbox;
pub mod scopes;
pub mod secrets;
pub mod state;
pub mod stored_json;
pub mod storage;
pub mod time;
pub mod token;
pub mod webhook;
