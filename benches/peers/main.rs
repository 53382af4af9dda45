//! Under noise, against the peers: the peers' strategies (Unity QoS, the Edgegap Unity SDK,
//! Photon, PlayFab, a fixed-parallel baseline; see `strategies.rs`) and ours (the facade with
//! its defaults, and with `count = 15`) against the same simulated harsh beacons
//! (`Scenario::harsh`: 12 locations, the two best 8 ms apart, spikes, bursty loss, shared
//! congestion), on loopback. For every seed each strategy runs against a fresh simulation of
//! that seed; a run is right when it picks the scenario's lowest configured delay.
//!
//! ```sh
//! cargo bench --bench peers -- --runs 20          # markdown table
//! cargo bench --bench peers -- --runs 20 --json   # the same figures, and every run, as JSON
//! ```
//!
//! Seeds are `1..=runs`, the same for every strategy, and printed with the table. The slow
//! peers wait out long timeouts (3 s for the Edgegap SDK), so 20 runs take a few minutes.

mod strategies;

use std::error::Error;
use std::fmt::Write as _;

use edgegap_beacon_sim::{Scenario, Simulation};
use edgegap_probe::{Probe, ProbeConfig, Report};
use serde_json::{Value, json};
use strategies::{Peer, Target};

/// Runs per strategy without `--runs`.
const DEFAULT_RUNS: u64 = 20;

/// What a row of the table runs.
#[derive(Debug, Clone, Copy)]
enum Contender {
    /// The facade, with its defaults or another `count`.
    Ours {
        label: &'static str,
        count: Option<u32>,
        /// Adaptive sampling on (the default) or off (`--fixed-count`, as before it).
        adaptive: bool,
    },
    /// A peer's strategy.
    Peer(Peer),
}

impl Contender {
    /// Every row, in table order: ours first.
    fn all() -> Vec<Contender> {
        let ours = [
            Contender::Ours {
                label: "edgegap-probe, defaults",
                count: None,
                adaptive: true,
            },
            Contender::Ours {
                label: "edgegap-probe `--fixed-count` (no adaptive sampling)",
                count: None,
                adaptive: false,
            },
            Contender::Ours {
                label: "edgegap-probe `--fixed-count --count 15`",
                count: Some(15),
                adaptive: false,
            },
        ];
        ours.into_iter()
            .chain(Peer::ALL.into_iter().map(Contender::Peer))
            .collect()
    }

    fn label(self) -> &'static str {
        match self {
            Contender::Ours { label, .. } => label,
            Contender::Peer(peer) => peer.label(),
        }
    }
}

/// One run of one contender.
#[derive(Debug, Clone)]
struct Sample {
    seed: u64,
    /// Whether it chose the scenario's true best location.
    right: bool,
    /// Until the choice was known, ms.
    answer_ms: f64,
    /// Until the run was over (ours: the complete report), ms.
    done_ms: f64,
    /// Probes sent per location of the list.
    probes_per_location: f64,
}

/// The command line: `--runs N`, `--json`; anything else (`cargo bench` adds `--bench`) is
/// ignored.
struct Args {
    runs: u64,
    json: bool,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        runs: DEFAULT_RUNS,
        json: false,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--runs" => {
                let value = words.next().ok_or("--runs needs a number")?;
                args.runs = value
                    .parse()
                    .map_err(|_| format!("--runs {value}: not a number"))?;
            }
            "--json" => args.json = true,
            _ => {}
        }
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let seeds: Vec<u64> = (1..=args.runs).collect();
    let contenders = Contender::all();
    let samples = runtime.block_on(run_all(&contenders, &seeds))?;
    if args.json {
        println!("{:#}", to_json(&contenders, &samples, &seeds));
    } else {
        print!("{}", markdown_table(&contenders, &samples, &seeds));
    }
    Ok(())
}

/// Every contender against every seed; per contender, its samples in seed order.
async fn run_all(
    contenders: &[Contender],
    seeds: &[u64],
) -> Result<Vec<Vec<Sample>>, Box<dyn Error>> {
    let mut samples = vec![Vec::new(); contenders.len()];
    for &seed in seeds {
        let scenario = Scenario::harsh(seed);
        let best = scenario.closest().expect("the scenario has live beacons");
        for (row, &contender) in contenders.iter().enumerate() {
            let sim = scenario.start().await?;
            let sample = run_once(contender, &sim, seed, best).await;
            sim.shutdown().await;
            samples[row].push(sample?);
        }
        eprintln!("seed {seed} done");
    }
    Ok(samples)
}

/// One run of `contender` against the started simulation.
async fn run_once(
    contender: Contender,
    sim: &Simulation,
    seed: u64,
    best: usize,
) -> Result<Sample, Box<dyn Error>> {
    let locations = sim.beacons().len() as f64;
    match contender {
        Contender::Ours {
            count, adaptive, ..
        } => {
            let report = run_facade(sim, count, adaptive).await?;
            let chosen = report.best().and_then(|b| {
                sim.beacons()
                    .iter()
                    .position(|r| r.spec.city == b.city && r.spec.country == b.country)
            });
            Ok(Sample {
                seed,
                right: chosen == Some(best),
                answer_ms: report.decision_ms.unwrap_or(report.duration_ms),
                done_ms: report.duration_ms,
                probes_per_location: f64::from(report.probes_sent()) / locations,
            })
        }
        Contender::Peer(peer) => {
            let outcome = peer.choose(&peer_targets(sim)).await?;
            let ms = outcome.elapsed.as_secs_f64() * 1000.0;
            Ok(Sample {
                seed,
                right: outcome.choice == Some(best),
                answer_ms: ms,
                done_ms: ms,
                probes_per_location: f64::from(outcome.probes_sent) / locations,
            })
        }
    }
}

/// The facade with its defaults, `count` probes per target if given, adaptive sampling on or
/// off.
async fn run_facade(
    sim: &Simulation,
    count: Option<u32>,
    adaptive: bool,
) -> Result<Report, Box<dyn Error>> {
    let mut config = ProbeConfig::default();
    config.adaptive = adaptive;
    if let Some(count) = count {
        config.engine.count = count;
    }
    Ok(Probe::builder()
        .beacon_list_json(&sim.beacon_list_v1().to_string())?
        .config(config)
        .run()
        .await?)
}

/// The simulation's beacons as the peers' targets, in scenario order.
fn peer_targets(sim: &Simulation) -> Vec<Target> {
    sim.beacons()
        .iter()
        .filter_map(|b| {
            Some(Target {
                city: b.spec.city.clone(),
                addr: b.udp?,
            })
        })
        .collect()
}

/// The median of `values` (the upper one of an even count).
fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A row's figures: right answers, median answer time, median end time and median probes.
struct Summary {
    right: usize,
    runs: usize,
    answer_ms: f64,
    done_ms: f64,
    probes_per_location: f64,
}

fn summarize(samples: &[Sample]) -> Summary {
    Summary {
        right: samples.iter().filter(|s| s.right).count(),
        runs: samples.len(),
        answer_ms: median(samples.iter().map(|s| s.answer_ms)),
        done_ms: median(samples.iter().map(|s| s.done_ms)),
        probes_per_location: median(samples.iter().map(|s| s.probes_per_location)),
    }
}

/// Seconds, with two decimals.
fn seconds(ms: f64) -> String {
    format!("{:.2} s", ms / 1000.0)
}

fn markdown_table(contenders: &[Contender], samples: &[Vec<Sample>], seeds: &[u64]) -> String {
    let mut out = String::from(
        "| strategy | right | median time to answer | median until done | median probes per location |\n\
         |---|---|---|---|---|\n",
    );
    for (contender, samples) in contenders.iter().zip(samples) {
        let s = summarize(samples);
        let _ = writeln!(
            out,
            "| {} | {}/{} | {} | {} | {:.1} |",
            contender.label(),
            s.right,
            s.runs,
            seconds(s.answer_ms),
            seconds(s.done_ms),
            s.probes_per_location
        );
    }
    let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(
        out,
        "\nScenario::harsh(seed) for seeds {}; right = chose the lowest configured delay.",
        seeds.join(", ")
    );
    out
}

fn to_json(contenders: &[Contender], samples: &[Vec<Sample>], seeds: &[u64]) -> Value {
    let rows: Vec<Value> = contenders
        .iter()
        .zip(samples)
        .map(|(contender, samples)| {
            let s = summarize(samples);
            let runs: Vec<Value> = samples
                .iter()
                .map(|r| {
                    json!({"seed": r.seed, "right": r.right, "answer_ms": r.answer_ms,
                           "done_ms": r.done_ms, "probes_per_location": r.probes_per_location})
                })
                .collect();
            json!({
                "strategy": contender.label(),
                "right": s.right,
                "runs": s.runs,
                "median_answer_ms": s.answer_ms,
                "median_done_ms": s.done_ms,
                "median_probes_per_location": s.probes_per_location,
                "samples": runs,
            })
        })
        .collect();
    json!({"scenario": "harsh", "seeds": seeds, "strategies": rows})
}
