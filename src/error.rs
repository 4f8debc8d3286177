//! The error type and its helpers (plumbing): core's `ApiError` taxonomy, re-exported so the
//! worker names it from one place, and the ways runtime failures and wrong methods become
//! one. It imports nothing from the crate: every other layer may use it.

pub use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use std::fmt::Display;
use worker::console_error;

/// Turns any runtime error into a 500, logging what failed (never a value).
pub trait OrInternal<T> {
    /// Maps the error to `internal`, logging `what` and the error's text.
    fn or_500(self, what: &str) -> ApiResult<T>;
}

impl<T, E: Display> OrInternal<T> for Result<T, E> {
    fn or_500(self, what: &str) -> ApiResult<T> {
        self.map_err(|e| internal(what, &e))
    }
}

/// The logging and the 500 of [`OrInternal::or_500`], out of line and not generic: one copy
/// for every error type instead of one each (the release wasm pays for each copy).
#[inline(never)]
fn internal(what: &str, e: &dyn Display) -> ApiError {
    console_error!("{}", serde_json::json!({"level": "error", "what": what, "error": e.to_string()}));
    ApiError::internal()
}

/// An error for a wrong method on a known path.
pub fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this path")
}
