//! `demo`: simulated beacons on loopback, probed like real ones.

use edgegap_beacon_sim::Scenario;
use edgegap_probe::{ProbeConfig, parse_beacon_list};

use crate::app::{write_report, write_stdout};
use crate::cli::DemoArgs;
use crate::error::CliError;
use crate::terminal::Terminal;
use crate::{output, probe, progress};

/// Runs `demo`.
pub async fn run(args: DemoArgs) -> Result<(), CliError> {
    let scenario = Scenario::demo();
    let sim = scenario.start().await?;
    let list_json = sim.beacon_list_v1().to_string();
    let beacons = parse_beacon_list(&list_json).map_err(|source| CliError::BeaconList {
        from: "the demo scenario".to_owned(),
        source,
    })?;
    let human = !(args.output.json || args.output.payload || args.output.csv);
    let terminal = Terminal::detect();
    if human {
        let first = scenario.beacons.first().map(|b| b.address.to_string());
        let last = scenario.beacons.last().map(|b| b.address.to_string());
        let down: Vec<&str> = scenario
            .beacons
            .iter()
            .filter(|b| b.down || b.silent)
            .map(|b| b.city.as_str())
            .collect();
        let intro = format!(
            "Demo: {} simulated beacons on {}..{} (this machine only), each answering UDP after an \
             injected delay with jitter and loss{}.",
            scenario.beacons.len(),
            first.unwrap_or_default(),
            last.unwrap_or_default(),
            if down.is_empty() {
                String::new()
            } else {
                format!("; down: {}", down.join(", "))
            },
        );
        write_stdout(&format!("{}\n", output::wrap(&intro, terminal)))?;
    }
    let probed = progress::run(beacons, ProbeConfig::default()).await;
    sim.shutdown().await;
    let probed = probed?;
    let mut text = output::report(&probed.report, args.output, terminal);
    if human {
        text.push('\n');
        text.push_str(&output::timing(&probed.report, terminal));
        text.push_str("\nPayload for the matchmaker ticket's attributes:\n");
        text.push_str(&output::payload(&probed.report));
    }
    write_report(&text, terminal)?;
    probe::outcome(&probed)
}
