//! Pages a person sees besides the connect link's redirects: the account picker's form and
//! the sandbox platform.

pub mod choose;
pub mod sandbox;
