//! What the engine-only examples share: a run on a current-thread runtime (as the CLI's),
//! every event read until the channel closes, and one line of outcome on stderr.

use std::time::Instant;

use edgegap_ping::{EngineConfig, Event, TargetSpec, TargetStatus};

/// Runs `targets` with `config` to the end and prints how many completed, the samples, the
/// events and the elapsed time.
pub fn run_and_report(targets: Vec<TargetSpec>, config: EngineConfig) {
    let n = targets.len();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let started = Instant::now();
        let mut run = edgegap_ping::start(targets, config).expect("the run starts");
        let (mut events, mut samples) = (0u64, 0u64);
        while let Some(event) = run.events.recv().await {
            events += 1;
            if matches!(event, Event::Received { .. }) {
                samples += 1;
            }
        }
        let summary = run.finish().await;
        let complete = summary
            .targets
            .iter()
            .filter(|s| s.status == TargetStatus::Complete)
            .count();
        eprintln!(
            "{n} targets: {complete} complete, {samples} samples, {events} events, {:?}",
            started.elapsed()
        );
    });
}
