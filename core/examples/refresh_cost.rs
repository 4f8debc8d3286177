//! `make bench`: what refresh costs per platform and refresh mode. 1,000 profiles per
//! built-in platform live through a simulated clock (connected at random over the year
//! before, then 30 days counted), scheduled by the worker's own policy
//! (`refresh_policy::next_action_at` for the cron, `refresh_policy::refresh_on_read` for
//! reads); the output is platform refresh calls per 1,000 profile-days, and the D1 writes a
//! second that 1,000,000 such profiles would need. Not a test: it prints numbers.
//!
//! The simulation itself is `shared/refresh_sim.rs`, which the capacity model
//! (`capacity.rs`) shares.
//!
//! Run alone: `cargo run --release -q -p connect-links-core --example refresh_cost`.

#[path = "shared/refresh_sim.rs"]
mod refresh_sim;

use connect_links_core::platforms::Catalog;
use connect_links_core::refresh_policy::RefreshMode;
use refresh_sim::{kind_name, lifetimes, simulate, Reads, Rng, D1_WRITES_PER_REFRESH, DAYS, TICK, WARM_UP_DAYS};

/// Profiles simulated per platform and refresh mode.
const PROFILES: u64 = 1_000;

fn main() {
    let runs: [(&str, RefreshMode, Reads); 4] = [
        ("proactive", RefreshMode::Proactive, Reads::Daily),
        ("on_demand, idle", RefreshMode::OnDemand, Reads::Idle),
        ("on_demand, daily", RefreshMode::OnDemand, Reads::Daily),
        ("on_demand, hourly", RefreshMode::OnDemand, Reads::Hourly),
    ];
    println!(
        "refresh cost: {PROFILES} profiles per platform, {DAYS} simulated days (after a {WARM_UP_DAYS}-day warm-up), \
         cron every {} min, scheduled by connect_links_core::refresh_policy",
        TICK / 60
    );
    println!(
        "  reads: proactive with one read a day; on_demand idle (never read), daily (one read a day at a random \
         time) and hourly (one an hour at a random minute); a read refreshes first within 5 min of expiry"
    );
    println!(
        "  D1 writes/s for 1,000,000 profiles = calls per profile-day x {D1_WRITES_PER_REFRESH} writes per refresh \
         x 1e6 / 86400"
    );
    println!();
    let mut head = format!("  {:<19}{:<24}{:<40}", "platform", "refresh", "token lifetimes (source)");
    for (name, ..) in &runs {
        head.push_str(&format!("{name:>19}"));
    }
    println!("{head}");
    println!("  {:<83}{:>76}", "", "platform calls per 1,000 profile-days | D1 writes/s @ 1M");
    let mut rng = Rng(0x5EED_2026);
    for p in Catalog::builtins() {
        let life = lifetimes(&p.id);
        let mut line = format!("  {:<19}{:<24}{:<40}", p.id, kind_name(p.refresh), life.source);
        for (_, mode, reads) in &runs {
            let calls: u64 = (0..PROFILES).map(|_| simulate(&p, &life, *mode, *reads, &mut rng).total()).sum();
            let per_profile_day = calls as f64 / (PROFILES * DAYS as u64) as f64;
            let writes = per_profile_day * D1_WRITES_PER_REFRESH * 1e6 / 86_400.0;
            line.push_str(&format!("{:>10.1} |{:>7.2}", per_profile_day * 1000.0, writes));
        }
        println!("{line}");
    }
}
