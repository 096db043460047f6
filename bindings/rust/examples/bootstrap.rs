//! The seed's ServiceBootstrap: register the querier role, heartbeat (the
//! client does it), resolve the routers, deregister on drop.
//!   cargo run --example bootstrap -- /tmp/muster.db
use muster::{Client, Service};

fn main() -> Result<(), muster::Error> {
    let db = std::env::args().nth(1).unwrap_or_else(|| "muster.db".into());
    let option = format!("catalog-sqlite.path={}", db);
    let client = Client::new(&[("backend-option", option.as_str()), ("heartbeat-interval", "1s")])?;

    let me = client.register(&Service::new("querier", "127.0.0.1:7001"))?;
    println!("registered querier {}", me.id());

    let routers = client.resolve("router")?;
    println!(
        "{} router(s) from {}{}",
        routers.instances.len(),
        routers.backend,
        if routers.stale { " (stale)" } else { "" }
    );
    for r in &routers.instances {
        println!("  {} {:?}", r.address, r.health);
    }
    Ok(()) // `me` drops: deregistered; `client` drops: stopped
}
