//! The domain for connect links: what several flows do to a link, written once. A link to one
//! platform created (`create`), its pending state taken exactly once (`state`), the connect
//! after consent (`complete`), the account-choice row that holds a grant or a picker's choice (`choices`), a failed end
//! (`end`), the browser's answer after a connect (`finish`), the Mastodon client a link
//! to an instance uses (`instance_client`), the start of an OAuth consent (`start`), what a
//! chooser link offers (`offer`), how many forms a chooser link takes (`attempts`), and
//! connects with posted credentials (`posted`, with Bluesky's sign-in in `bluesky`). It may
//! call the grants domain (`grants`), the storage (`store`), the plumbing (ctx, error,
//! fetch, instances, respond, tenant) and core; never a flow (`api`, `browser`, `connect`, `inbound`, `jobs`).

pub mod attempts;
pub mod bluesky;
pub mod choices;
pub mod complete;
pub mod create;
pub mod end;
pub mod finish;
pub mod instance_client;
pub mod offer;
pub mod posted;
pub mod start;
pub mod state;
