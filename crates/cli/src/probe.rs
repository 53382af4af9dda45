//! `probe`: load the beacons, probe them, print the ranking.

use std::time::Duration;

use edgegap_probe::{IpVersion, ProbeConfig, Report, UnreachableCode};

use crate::app::write_report;
use crate::cli::{IpArg, ProbeArgs, ProbeOpts};
use crate::error::CliError;
use crate::progress::{self, Probed};
use crate::terminal::Terminal;
use crate::{deployable, output, source};

/// Runs `probe`.
pub async fn run(args: ProbeArgs) -> Result<(), CliError> {
    let config = config(&args.opts)?;
    let beacons = source::load(&args.source).await?;
    let (beacons, filtered) = match &args.filter.deployable_for {
        Some(wanted) => {
            let (kept, filtered) = deployable::filter(beacons, wanted, &args.source.api).await?;
            (kept, Some(filtered))
        }
        None => (beacons, None),
    };
    let probed = progress::run(beacons, config).await?;
    let terminal = Terminal::detect();
    let format = args.output;
    let mut text = match &filtered {
        Some(f) if format.json => f.report_json(&probed.report),
        _ => output::report(&probed.report, format, terminal),
    };
    if let Some(f) = &filtered {
        if format.csv {
            text.push_str(&f.csv_rows());
        } else if format.payload {
            crate::app::note(f.note(Terminal::plain_stderr()).trim());
        } else if !format.json {
            text.push_str(&f.note(terminal));
        }
    }
    if !(format.json || format.payload || format.csv) {
        text.push_str(&output::timing(&probed.report, terminal));
    }
    write_report(&text, terminal)?;
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
    if let Some(us) = opts.gap_us {
        engine.min_gap = Duration::from_micros(us);
    }
    engine.ip_version = match opts.ip {
        IpArg::Any => IpVersion::Any,
        IpArg::V4 => IpVersion::V4,
        IpArg::V6 => IpVersion::V6,
    };
    engine.lenient = opts.lenient;
    config.protocol = opts.protocol;
    if let Some(statistic) = opts.statistic {
        config.rank.statistic = statistic;
    }
    config.rank.max_latency_ms = opts.max_latency_ms;
    config.rank.attribute.clone_from(&opts.attribute);
    config.early_decision = !opts.no_early_decision;
    config.adaptive = !opts.fixed_count;
    if let Some(max) = opts.max_probes {
        config.max_probes = max;
    }
    if let Some(level) = opts.confidence {
        config.rank.confidence = level;
    }
    config.cache_file.clone_from(&opts.cache);
    // The facade's one check, early: a bad setting is a usage error before any beacon is
    // fetched.
    config
        .validate()
        .map_err(|e| CliError::Probe(edgegap_probe::ProbeError::InvalidConfig(e)))?;
    Ok(config)
}

/// The unreachable codes of the report, for the exit hint (never its wording).
fn codes(report: &Report) -> Vec<UnreachableCode> {
    let mut codes: Vec<UnreachableCode> = report
        .unreachable
        .iter()
        .flat_map(|u| u.codes.iter().copied())
        .collect();
    codes.sort();
    codes.dedup();
    codes
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
            return Err(CliError::AboveLimit {
                answered: report.excluded.len(),
            });
        }
        return Err(CliError::NothingReachable {
            beacons: probed.beacons,
            codes: codes(report),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with_code(code: &str) -> Report {
        Report::from_json(&format!(
            r#"{{"locations": [], "excluded": [], "payload": {{"beacons": {{}}}},
                "duration_ms": 5.0, "decision_ms": null,
                "unreachable": [{{"city": "Oslo", "country": "Norway", "codes": [{code:?}],
                                 "reasons": ["any wording at all"], "beacons": []}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn icmp_refused_by_the_os_suggests_udp_or_the_sysctl() {
        let probed = Probed {
            report: report_with_code("permission_denied"),
            interrupted: false,
            beacons: 1,
        };
        let err = outcome(&probed).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::NO_LOCATION_REACHABLE);
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("--protocol udp") && hint.contains("ping_group_range"),
            "{hint}"
        );

        let timeout = Probed {
            report: report_with_code("no_reply"),
            interrupted: false,
            beacons: 1,
        };
        let hint = outcome(&timeout).unwrap_err().hint().unwrap();
        assert!(!hint.contains("ping_group_range"), "{hint}");
        assert!(hint.contains("--timeout-ms"), "{hint}");

        let deadline = Probed {
            report: report_with_code("deadline"),
            interrupted: false,
            beacons: 1,
        };
        let hint = outcome(&deadline).unwrap_err().hint().unwrap();
        assert!(hint.contains("--deadline-ms"), "{hint}");
    }

    #[test]
    fn options_reach_the_probe_configuration() {
        use clap::Parser;
        let cli = crate::cli::Cli::parse_from([
            "edgegap-probe",
            "probe",
            "--count",
            "3",
            "--timeout-ms",
            "20",
            "--statistic",
            "trimmed-mean",
            "--max-latency-ms",
            "150",
            "--attribute",
            "ping",
            "--protocol",
            "tcp",
            "--no-early-decision",
            "--ip",
            "v6",
            "--max-probes",
            "12",
            "--confidence",
            "0.99",
            "--fixed-count",
        ]);
        let crate::cli::Command::Probe(args) = cli.command else {
            panic!("not probe");
        };
        let config = config(&args.opts).unwrap();
        assert_eq!(config.engine.count, 3);
        assert_eq!(config.engine.timeout, Duration::from_millis(20));
        assert!(config.engine.timeout_floor <= config.engine.timeout);
        assert_eq!(config.engine.ip_version, IpVersion::V6);
        assert_eq!(config.rank.statistic, edgegap_probe::Statistic::TrimmedMean);
        assert_eq!(config.rank.max_latency_ms, Some(150.0));
        assert_eq!(config.rank.attribute, "ping");
        assert_eq!(config.protocol, edgegap_probe::ProtocolChoice::Tcp);
        assert!(!config.early_decision);
        assert_eq!(config.max_probes, 12);
        assert!((config.rank.confidence - 0.99).abs() < f64::EPSILON);
        assert!(!config.adaptive);

        let bad = crate::cli::Cli::parse_from(["edgegap-probe", "probe", "--max-latency-ms=-5"]);
        let crate::cli::Command::Probe(args) = bad.command else {
            panic!("not probe");
        };
        assert_eq!(config_error_code(&args.opts), Some(crate::exit::USAGE));
        let sure = crate::cli::Cli::parse_from(["edgegap-probe", "probe", "--confidence", "1"]);
        let crate::cli::Command::Probe(args) = sure.command else {
            panic!("not probe");
        };
        assert_eq!(
            config_error_code(&args.opts),
            Some(crate::exit::USAGE),
            "a level of 1 is refused"
        );
    }

    fn config_error_code(opts: &ProbeOpts) -> Option<u8> {
        config(opts).err().map(|e| e.exit_code())
    }
}
