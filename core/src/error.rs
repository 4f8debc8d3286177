//! The one error type of the API, mapped to the contract's JSON error in one place.

use serde_json::json;
use std::fmt;

/// The contract's error codes (api.md section 3), each with its fixed HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    InvalidRequest,
    PayloadTooLarge,
    PlatformNotConfigured,
    RedirectNotAllowed,
    Conflict,
    LinkExpired,
    RateLimited,
    UpstreamError,
    Internal,
    /// Posted credentials the platform refused (wrong key, handle or app password).
    InvalidCredentials,
    /// A Bluesky account that asks for an emailed code at sign-in: an app password is needed.
    AppPasswordRequired,
    /// The platform says the account is taken down, suspended or deactivated.
    AccountUnavailable,
    /// The platform takes no app's own credentials (its clients are registered per instance,
    /// or it needs no platform app).
    PlatformUnsupported,
    /// An uploaded logo that is not a PNG or SVG the sanitizers can read and keep.
    InvalidLogo,
}

impl ErrorCode {
    /// The code as it appears in the JSON body.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            // Not in the contract's list; a careful client expects 405 for a wrong method.
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::PlatformNotConfigured => "platform_not_configured",
            ErrorCode::RedirectNotAllowed => "redirect_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::LinkExpired => "link_expired",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UpstreamError => "upstream_error",
            ErrorCode::Internal => "internal",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::AppPasswordRequired => "app_password_required",
            ErrorCode::AccountUnavailable => "account_unavailable",
            ErrorCode::PlatformUnsupported => "platform_unsupported",
            ErrorCode::InvalidLogo => "invalid_logo",
        }
    }

    /// The HTTP status the contract fixes for this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::InvalidRequest => 400,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::PlatformNotConfigured
            | ErrorCode::RedirectNotAllowed
            | ErrorCode::InvalidCredentials
            | ErrorCode::AppPasswordRequired
            | ErrorCode::AccountUnavailable
            | ErrorCode::PlatformUnsupported
            | ErrorCode::InvalidLogo => 422,
            ErrorCode::Conflict => 409,
            ErrorCode::LinkExpired => 410,
            ErrorCode::RateLimited => 429,
            ErrorCode::UpstreamError => 502,
            ErrorCode::Internal => 500,
        }
    }
}

/// An error answered to an API caller. The message names fields, never their values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Which contract code this is.
    pub code: ErrorCode,
    /// A human sentence; never holds a secret, token, code or verifier.
    pub message: String,
    /// For a 429: seconds until a retry may succeed (the answer's `Retry-After`).
    pub retry_after_secs: Option<i64>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), retry_after_secs: None }
    }
    /// 429 `rate_limited`, answered with `Retry-After: retry_after_secs` (at least 1).
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: i64) -> Self {
        ApiError { retry_after_secs: Some(retry_after_secs.max(1)), ..Self::new(ErrorCode::RateLimited, message) }
    }
    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "missing, unknown or revoked credentials")
    }
    /// 500 `internal`; the detail goes to the log, not to the caller.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }
    /// 502 `upstream_error`.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UpstreamError, message)
    }
    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
    /// The contract's JSON body: `{"error": {"code", "message"}}`.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code.as_str(), "message": self.message}})
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// Shorthand for results carrying an [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_contract_statuses() {
        assert_eq!(ErrorCode::PayloadTooLarge.status(), 413);
        assert_eq!(ErrorCode::RedirectNotAllowed.status(), 422);
        assert_eq!(ErrorCode::PlatformUnsupported.status(), 422);
        assert_eq!(ErrorCode::LinkExpired.status(), 410);
        assert_eq!(ErrorCode::UpstreamError.status(), 502);
    }

    #[test]
    fn a_rate_limit_carries_its_retry_of_at_least_one_second() {
        let e = ApiError::rate_limited("too many", 0);
        assert_eq!((e.status(), e.retry_after_secs), (429, Some(1)));
        assert_eq!(ApiError::rate_limited("too many", 90).retry_after_secs, Some(90));
        assert_eq!(ApiError::invalid("x").retry_after_secs, None);
    }

    #[test]
    fn body_has_contract_shape() {
        let e = ApiError::new(ErrorCode::Conflict, "refresh in flight");
        assert_eq!(e.body(), json!({"error": {"code": "conflict", "message": "refresh in flight"}}));
    }
}
