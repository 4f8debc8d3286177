//! Connecting accounts with credentials the app posts (`POST /v1/profiles`: a pasted API
//! key, a Bluesky app password) instead of a consent screen: `posted` is the flow; the
//! sign-in and the landing are the links domain's (`links::posted`, `links::bluesky`), which
//! a chooser link's forms use too. A flow: it may call the domain (`links`, `grants`), the
//! storage, the plumbing and core; never another flow.

pub mod posted;
