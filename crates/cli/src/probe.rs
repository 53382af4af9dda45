//! `probe`: load the beacons, probe them, print the ranking.

use std::time::Duration;

use edgegap_probe::{IpVersion, ProbeConfig, ProtocolChoice, Report};

use crate::app::write_stdout;
use crate::cli::{IpArg, ProbeArgs, ProbeOpts, ProtocolArg};
use crate::error::CliError;
use crate::progress::{self, Probed};
use crate::{output, source};

/// Runs `probe`.
pub async fn run(args: ProbeArgs) -> Result<(), CliError> {
    let config = config(&args.opts)?;
    let beacons = source::load(&args.source).await?;
    let probed = progress::run(beacons, config).await?;
    let mut text = output::report(&probed.report, args.output);
    if !(args.output.json || args.output.payload) {
        text.push_str(&output::timing(&probed.report));
    }
    write_stdout(&text)?;
    outcome(&probed)
}

/// The probe configuration the options describe (engine and ranking defaults otherwise).
pub fn config(opts: &ProbeOpts) -> Result<ProbeConfig, CliError> {
    let mut config = ProbeConfig::default();
    let engine = &mut config.engine;
    if let Some(count) = opts.count {
        engine.count = count;
        engine.extra_probes = count;
    }
    if let Some(ms) = opts.interval_ms {
        engine.interval = Duration::from_millis(ms);
    }
    if let Some(ms) = opts.timeout_ms {
        engine.timeout = Duration::from_millis(ms);
        engine.timeout_floor = engine.timeout_floor.min(engine.timeout);
    }
    if let Some(ms) = opts.deadline_ms {
        engine.deadline = Some(Duration::from_millis(ms));
    }
    engine.ip_version = match opts.ip {
        IpArg::Any => IpVersion::Any,
        IpArg::V4 => IpVersion::V4,
        IpArg::V6 => IpVersion::V6,
    };
    engine.lenient = opts.lenient;
    engine
        .validate()
        .map_err(|e| CliError::usage(e.to_string(), "see `edgegap-probe probe --help`"))?;

    config.protocol = match opts.protocol {
        ProtocolArg::Auto => ProtocolChoice::Auto,
        ProtocolArg::Udp => ProtocolChoice::Udp,
        ProtocolArg::Tcp => ProtocolChoice::Tcp,
        ProtocolArg::Icmp => ProtocolChoice::Icmp,
    };
    if let Some(statistic) = opts.statistic {
        config.rank.statistic = statistic;
    }
    config.rank.max_latency_ms = opts.max_latency_ms;
    config.rank.attribute.clone_from(&opts.attribute);
    config
        .rank
        .validate()
        .map_err(|e| CliError::usage(e.to_string(), "see `edgegap-probe probe --help`"))?;
    config.early_decision = !opts.no_early_decision;
    config.cache_file.clone_from(&opts.cache);
    Ok(config)
}

/// Whether an unreachable reason says the OS refused ICMP.
fn icmp_denied(report: &Report) -> bool {
    report.unreachable.iter().flat_map(|u| &u.reasons).any(|r| {
        let r = r.to_ascii_lowercase();
        r.contains("permission") || r.contains("not permitted")
    })
}

/// Success, or why the run does not count as one (interrupted, nothing reachable).
pub fn outcome(probed: &Probed) -> Result<(), CliError> {
    if probed.interrupted {
        return Err(CliError::Interrupted(Some(
            "the probe was stopped before it finished".to_owned(),
        )));
    }
    let report = &probed.report;
    if report.locations.is_empty() {
        if !report.excluded.is_empty() {
            return Err(CliError::usage(
                format!(
                    "no location within the latency limit: {} location(s) answered, all above \
                     --max-latency-ms",
                    report.excluded.len()
                ),
                "raise --max-latency-ms or leave it out",
            ));
        }
        return Err(CliError::NothingReachable {
            beacons: probed.beacons,
            icmp_denied: icmp_denied(report),
        });
    }
    Ok(())
}
