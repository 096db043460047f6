//! resolve() of a role with 10 instances through the Rust binding, one
//! thread, memory backend: median ns per call (bench/embedding.sh runs it
//! with --release).
use muster::{Client, Service};
use std::time::Instant;

fn main() -> Result<(), muster::Error> {
    let client = Client::new(&[("chain", "memory"), ("log-level", "warn")])?;
    let _regs: Vec<_> = (0..10)
        .map(|i| client.register(&Service::new("router", &format!("10.0.0.1:{}", 7000 + i))))
        .collect::<Result<_, _>>()?;
    let mut per_call = Vec::new();
    let mut sink = 0;
    for _ in 0..200 {
        let t0 = Instant::now();
        for _ in 0..1000 {
            sink += client.resolve("router")?.instances.len();
        }
        per_call.push(t0.elapsed().as_nanos() as f64 / 1000.0);
    }
    per_call.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("rust {:.0} ({})", per_call[per_call.len() / 2], sink > 0);
    Ok(())
}
