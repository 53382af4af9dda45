//! Run simulated beacons with chosen latencies and faults, probe them while showing progress,
//! and compare what the probe measured with what each beacon saw.
//!
//! ```sh
//! cargo run --example simulated_beacons
//! ```
//!
//! Useful to test a game (or this library) against known latencies: the beacons are real UDP
//! echo responders on loopback, with injected delay, jitter and loss. A simulated beacon has a
//! TCP port only where its TCP timing follows its scenario (the kernel answers a handshake at
//! once, whatever the injected delay), so a silent beacon is never "fast" over TCP.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use edgegap_beacon_sim::{BeaconSpec, Scenario};
use edgegap_probe::{Probe, ProbeConfig};

fn at(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lossy = BeaconSpec::new("Paris", at(73), 35.0);
    lossy.loss = 0.3;
    let mut jittery = BeaconSpec::new("Madrid", at(74), 45.0);
    jittery.jitter_ms = 15.0;
    let mut silent = BeaconSpec::new("Oslo", at(75), 20.0);
    silent.silent = true; // receives every probe, never answers
    let scenario = Scenario {
        seed: 42,
        beacons: vec![
            BeaconSpec::new("Amsterdam", at(71), 10.0),
            BeaconSpec::new("Warsaw", at(72), 28.0),
            lossy,
            jittery,
            silent,
        ],
    };
    let sim = scenario.start().await?;
    for b in sim.beacons() {
        println!("{:<10} UDP {:?}  TCP {:?}", b.spec.city, b.udp, b.tcp);
    }

    let mut config = ProbeConfig::default();
    config.engine.count = 8;
    config.engine.timeout = Duration::from_millis(400);
    config.early_decision = false; // measure every location fully, to compare with the beacons

    let handle = Probe::builder()
        .beacon_list_json(&sim.beacon_list_v1().to_string())?
        .config(config)
        .start()?;
    while !handle.is_finished() {
        let p = handle.progress();
        println!(
            "  progress: {} probes sent, {} samples, {}/{} beacons done",
            p.probes_sent, p.samples, p.targets_done, p.targets_total
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = handle.wait().await?;

    println!("\nmeasured (injected delay in brackets):");
    for l in &report.locations {
        let injected = scenario
            .beacons
            .iter()
            .find(|b| b.city == l.city)
            .map_or(0.0, |b| b.delay_ms);
        println!(
            "  {:<10} p50 {:>6.1} ms [{injected:>4.0} ms]  jitter {:>5.1} ms  loss {:>3.0} %",
            l.city,
            l.rtt_ms.p50.unwrap_or(f64::NAN),
            l.rtt_ms.jitter.unwrap_or(0.0),
            l.loss.unwrap_or(0.0) * 100.0
        );
    }
    for u in &report.unreachable {
        println!("  {:<10} unreachable: {}", u.city, u.reasons.join("; "));
    }

    println!("\nwhat the beacons saw:");
    for s in sim.stats() {
        println!(
            "  {:<10} {} datagrams received, {} answered, {} dropped on purpose",
            s.city, s.udp_received, s.udp_replied, s.udp_dropped
        );
    }
    sim.shutdown().await;
    Ok(())
}
