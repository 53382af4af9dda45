//! Probe the beacons of a beacon-list file and print the ranking and the matchmaker payload.
//!
//! ```sh
//! cargo run --example probe_beacon_file -- beacons.json   # either beacon-list shape
//! cargo run --example probe_beacon_file                   # no file: simulated demo beacons
//! ```

use edgegap_probe::{Probe, ProbeConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // With no file, start the ten simulated demo beacons on 127.0.0.11..20 and use their list.
    let mut simulation = None;
    let json = if let Some(path) = std::env::args().nth(1) {
        std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the beacon list {path}: {e}"))?
    } else {
        let sim = edgegap_beacon_sim::Scenario::demo().start().await?;
        let list = sim.beacon_list_v1().to_string();
        println!(
            "No file given: probing {} simulated beacons on loopback.",
            sim.beacons().len()
        );
        simulation = Some(sim);
        list
    };

    let report = Probe::builder()
        .beacon_list_json(&json)?
        .config(ProbeConfig::default())
        .run()
        .await?;

    for l in &report.locations {
        let p50 = l
            .rtt_ms
            .p50
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms"));
        let loss = l
            .loss
            .map_or_else(|| "-".to_owned(), |f| format!("{:.0} %", f * 100.0));
        let protocol = l.protocol.map_or("-", |p| p.as_str());
        println!(
            "{:>2}. {:<14} {:<16} p50 {p50:>9}  loss {loss:>4}  {protocol}",
            l.rank, l.city, l.country
        );
    }
    for u in &report.unreachable {
        // Unreachable is a state with reasons, never a number.
        println!("    {:<14} unreachable: {}", u.city, u.reasons.join("; "));
    }
    match report.best() {
        Some(best) => println!("closest: {} ({:.1} ms)", best.city, best.statistic_ms),
        None => println!("no location reachable"),
    }
    println!("ticket attribute: {}", report.payload);

    if let Some(sim) = simulation {
        sim.shutdown().await;
    }
    Ok(())
}
