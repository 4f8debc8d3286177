//! The worker's log lines (plumbing): one JSON object a line, written to the console at the
//! level given. Each is a function, not generic, so a log line costs its call site only a
//! call (worker's `console_*!` macros format and convert at every site, which the wasm pays
//! for in size). It imports nothing from the crate.

use std::fmt::Display;
use worker::{console_error, console_log, console_warn};

/// `console.log` of `line`.
pub fn info(line: &dyn Display) {
    console_log!("{}", line);
}

/// `console.warn` of `line`.
pub fn warn(line: &dyn Display) {
    console_warn!("{}", line);
}

/// `console.error` of `line`.
pub fn error(line: &dyn Display) {
    console_error!("{}", line);
}
