//! Meta data-deletion confirmation codes answered before a deploy must keep their value
//! after it (Meta shows them to the user, who may look the request up later): the key's
//! derivation and the code are pinned to what the worker computed before the key was stored
//! (`src/inbound/meta.rs` at commit 9137d14: `keyring.derive("meta-data-deletion-code")`).

use connect_links_core::envelope::Keyring;
use connect_links_core::platform_webhooks::{confirmation_code, CONFIRMATION_CODE_PURPOSE};

/// `TOKEN_KEYS` with one key, the bytes 1 to 32 (a fixed, public test key).
const TOKEN_KEYS: &str = "k1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

#[test]
fn a_code_keeps_the_value_it_had_before_the_key_was_stored() {
    let keyring = Keyring::parse(TOKEN_KEYS).unwrap();
    let key = keyring.derive(CONFIRMATION_CODE_PURPOSE);
    let code = confirmation_code(key.secret(), "facebook", "1234567890", Some(1_700_000_000));
    // Computed apart from this crate too: HMAC-SHA256 chained by hand (Python hmac).
    assert_eq!(code, "73285b03121aa0b4fc06");
}
