//! Runs a probe to its end, with a progress bar on stderr when stderr is a terminal, and
//! Ctrl-C stopping it early (the report then holds what was measured so far).

use std::io::IsTerminal;
use std::time::Duration;

use edgegap_probe::{Beacon, Probe, ProbeConfig, Report};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::CliError;

const POLL: Duration = Duration::from_millis(50);

/// How a probe run ended.
#[derive(Debug)]
pub struct Probed {
    /// The report (partial when interrupted).
    pub report: Report,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
    /// How many beacons were probed.
    pub beacons: usize,
}

fn bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} probing {pos}/{len} beacons [{bar:24}] {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Probes `beacons` with `config` and returns the report.
pub async fn run(beacons: Vec<Beacon>, config: ProbeConfig) -> Result<Probed, CliError> {
    let count = beacons.len();
    let handle = Probe::builder()
        .beacons(beacons)
        .config(config)
        .start()
        .map_err(CliError::Probe)?;
    let bar = bar(count as u64);
    // The bar is redrawn on a clock only when it is shown: otherwise nothing wakes this task
    // before the report is ready (or Ctrl-C comes).
    let shown = !bar.is_hidden();
    let cancel = handle.canceller();
    let progress = handle.progress_reader();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    let mut signal_seen = false;
    let mut ticker = tokio::time::interval(POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let report = handle.wait();
    tokio::pin!(report);
    let report = loop {
        tokio::select! {
            report = &mut report => break report,
            _ = ticker.tick(), if shown => {
                let p = progress();
                bar.set_length(u64::from(p.targets_total.max(1)));
                bar.set_position(u64::from(p.targets_done));
                let decided = if p.decided { ", best known" } else { "" };
                bar.set_message(format!("{} samples{decided}", p.samples));
            }
            signal = &mut ctrl_c, if !signal_seen => {
                signal_seen = true;
                if signal.is_ok() {
                    tracing::warn!("interrupted: stopping the probe");
                    cancel();
                    interrupted = true;
                }
            }
        }
    };
    bar.finish_and_clear();
    let report = report.map_err(CliError::Probe)?;
    log_summary(&report, count);
    Ok(Probed {
        report,
        interrupted,
        beacons: count,
    })
}

/// The `-v` summary of a run: how many beacons, the transports that produced figures, what
/// was reachable, and the timing in milliseconds.
fn log_summary(report: &Report, beacons: usize) {
    let mut transports: Vec<(&str, usize)> = Vec::new();
    for l in report.locations.iter().chain(&report.excluded) {
        for b in &l.beacons {
            if let Some(p) = b.protocol.filter(|_| b.rtt_ms.p50.is_some()) {
                match transports.iter_mut().find(|(name, _)| *name == p.as_str()) {
                    Some((_, n)) => *n += 1,
                    None => transports.push((p.as_str(), 1)),
                }
            }
        }
    }
    let transports: Vec<String> = transports
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    tracing::info!(
        beacons,
        reachable = report.locations.len() + report.excluded.len(),
        unreachable = report.unreachable.len(),
        transports = %transports.join(", "),
        best_known_after_ms = report.decision_ms.map(|d| d.round() as u64),
        took_ms = report.duration_ms.round() as u64,
        "probed"
    );
}
