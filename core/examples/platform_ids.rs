//! Prints the built-in platform ids, then `sandbox`, as a JSON array, in the catalog's order.
//! `scripts/openapi-platforms.mjs` writes them into openapi/openapi.json as the enum of
//! `components.schemas.PlatformId`, so the document's list is generated from the catalog
//! (core/tests/openapi.rs fails when the two differ).

use connect_links_core::platforms::{sandbox, Catalog};

fn main() {
    let mut ids: Vec<String> = Catalog::builtins().into_iter().map(|p| p.id).collect();
    // The sandbox's id does not depend on where it is served.
    ids.push(sandbox::platform("http://localhost").id);
    match serde_json::to_string(&ids) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("platform ids: {e}");
            std::process::exit(1);
        }
    }
}
