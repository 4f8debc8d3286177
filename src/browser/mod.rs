//! Pages a person sees besides the connect link's redirects: the account picker's form and
//! the sandbox platform. A flow: it may call the domain (`links`, `grants`), the storage,
//! the plumbing and core; never another flow.

pub mod choose;
pub mod chooser;
pub mod sandbox;
