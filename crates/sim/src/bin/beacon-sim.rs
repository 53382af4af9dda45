//! `beacon-sim`: runs a scenario of simulated beacons on loopback until told to stop, and
//! writes their beacon list (for the FFI tests and scripts); `beacon-sim matchmaker` runs the
//! simulated matchmaker instead and writes its base URL.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use edgegap_beacon_sim::{ListShape, MatchmakerConfig, MatchmakerSim, Scenario};

const USAGE: &str = "\
usage: beacon-sim (SCENARIO_FILE | --demo | --twelve SEED | --harsh SEED) [--list-out FILE] [--shape v1|matchmaker] [--ignore-stdin]
       beacon-sim matchmaker [--config JSON | --config @FILE] [--url-out FILE] [--ignore-stdin]

Starts simulated beacons on loopback, writes their beacon list as JSON to FILE (atomically:
a temporary file renamed into place, so its appearance means every beacon is serving) or to
stdout, then serves until stdin is closed, SIGTERM or ctrl-c.

  SCENARIO_FILE     a .toml or .json scenario (see crates/sim/README.md)
  --demo            the built-in demo scenario (10 cities, one down)
  --twelve SEED     the 12-location benchmark scenario with this seed
  --harsh SEED      the 12-location harsh network (spikes, bursty loss, shared congestion)
  --list-out FILE   write the beacon list here instead of stdout
  --shape SHAPE     v1 (Edgegap v1 API, default) or matchmaker
  --ignore-stdin    do not stop when stdin closes (for background jobs, whose stdin is /dev/null)

`matchmaker` starts the simulated matchmaker on 127.0.0.1 (tickets, groups; see
crates/sim/README.md) and writes its base URL (http://127.0.0.1:PORT) to FILE or stdout.

  --config JSON     its configuration (token, searching_polls, match_found_polls, faults,
                    beacons), inline or @FILE; defaults: token \"sim-token\", 1 and 1 polls
  --url-out FILE    write the base URL here (atomically) instead of stdout
";

/// The parsed command line.
#[derive(Debug)]
struct Args {
    source: Source,
    list_out: Option<PathBuf>,
    shape: ListShape,
    ignore_stdin: bool,
}

#[derive(Debug)]
enum Source {
    File(PathBuf),
    Demo,
    Twelve(u64),
    Harsh(u64),
}

fn set_source(s: Source, source: &mut Option<Source>) -> Result<(), String> {
    if source.is_some() {
        return Err("give one scenario: a file, --demo, --twelve SEED or --harsh SEED".to_owned());
    }
    *source = Some(s);
    Ok(())
}

fn parse_seed(flag: &str, seed: &str) -> Result<u64, String> {
    seed.parse()
        .map_err(|_| format!("{flag}: {seed:?} is not a seed (an unsigned integer)"))
}

/// What the command line asked for, or why it is refused.
enum Parsed {
    Run(Args),
    Matchmaker(MatchmakerArgs),
    Help,
}

/// `beacon-sim matchmaker ...`.
#[derive(Debug)]
struct MatchmakerArgs {
    config: MatchmakerConfig,
    url_out: Option<PathBuf>,
    ignore_stdin: bool,
}

fn parse_matchmaker(mut args: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut config = MatchmakerConfig::default();
    let mut url_out = None;
    let mut ignore_stdin = false;
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--config" => {
                let given = value("--config")?;
                let text = match given.strip_prefix('@') {
                    Some(file) => std::fs::read_to_string(file)
                        .map_err(|e| format!("--config: cannot read {file}: {e}"))?,
                    None => given,
                };
                config = serde_json::from_str(&text).map_err(|e| format!("--config: {e}"))?;
            }
            "--url-out" => url_out = Some(PathBuf::from(value("--url-out")?)),
            "--ignore-stdin" => ignore_stdin = true,
            other => return Err(format!("matchmaker: unknown argument {other}")),
        }
    }
    Ok(Parsed::Matchmaker(MatchmakerArgs {
        config,
        url_out,
        ignore_stdin,
    }))
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut args = args.peekable();
    if args.peek().map(String::as_str) == Some("matchmaker") {
        args.next();
        return parse_matchmaker(args);
    }
    let mut source = None;
    let mut list_out = None;
    let mut shape = ListShape::V1;
    let mut ignore_stdin = false;
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--demo" => set_source(Source::Demo, &mut source)?,
            "--twelve" => {
                let seed = parse_seed("--twelve", &value("--twelve")?)?;
                set_source(Source::Twelve(seed), &mut source)?;
            }
            "--harsh" => {
                let seed = parse_seed("--harsh", &value("--harsh")?)?;
                set_source(Source::Harsh(seed), &mut source)?;
            }
            "--list-out" => list_out = Some(PathBuf::from(value("--list-out")?)),
            "--shape" => shape = value("--shape")?.parse()?,
            "--ignore-stdin" => ignore_stdin = true,
            flag if flag.starts_with('-') && flag != "-" => {
                return Err(format!("unknown option {flag}"));
            }
            file => set_source(Source::File(PathBuf::from(file)), &mut source)?,
        }
    }
    let source = source.ok_or("no scenario: give a file, --demo, --twelve SEED or --harsh SEED")?;
    Ok(Parsed::Run(Args {
        source,
        list_out,
        shape,
        ignore_stdin,
    }))
}

/// Writes `text` to `path` through a temporary file in the same directory and a rename.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Resolves when stdin reaches end of file (or fails), never if `ignore` is set.
async fn stdin_closed(ignore: bool) {
    use tokio::io::AsyncReadExt;
    if ignore {
        return std::future::pending().await;
    }
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 1024];
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// Resolves on SIGTERM (Unix only).
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            term.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

async fn run(args: Args) -> Result<(), String> {
    let scenario = match &args.source {
        Source::File(path) => Scenario::load(path).map_err(|e| e.to_string())?,
        Source::Demo => Scenario::demo(),
        Source::Twelve(seed) => Scenario::twelve_locations(*seed),
        Source::Harsh(seed) => Scenario::harsh(*seed),
    };
    let sim = scenario.start().await.map_err(|e| e.to_string())?;
    let list = sim.beacon_list(args.shape);
    let text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())? + "\n";
    let serving = format!("{} beacons serving", sim.beacons().len());
    publish(&text, args.list_out.as_deref(), "beacon list", &serving)?;
    serve_until_stopped(args.ignore_stdin).await;
    sim.shutdown().await;
    Ok(())
}

async fn run_matchmaker(args: MatchmakerArgs) -> Result<(), String> {
    let sim = MatchmakerSim::start(args.config)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let text = format!("{}\n", sim.base_url());
    publish(
        &text,
        args.url_out.as_deref(),
        "base URL",
        "matchmaker serving",
    )?;
    serve_until_stopped(args.ignore_stdin).await;
    sim.shutdown().await;
    Ok(())
}

/// Writes `text` (the `what`) to `out` atomically or to stdout, and says it is `serving`.
fn publish(text: &str, out: Option<&Path>, what: &str, serving: &str) -> Result<(), String> {
    if let Some(path) = out {
        write_atomically(path, text)
            .map_err(|e| format!("cannot write the {what} to {}: {e}", path.display()))?;
        eprintln!("beacon-sim: {serving}; {what} in {}", path.display());
    } else {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write the {what} to stdout: {e}"))?;
        eprintln!("beacon-sim: {serving}");
    }
    Ok(())
}

/// Returns when stdin closes (unless ignored), on ctrl-c or on SIGTERM.
async fn serve_until_stopped(ignore_stdin: bool) {
    tokio::select! {
        () = stdin_closed(ignore_stdin) => eprintln!("beacon-sim: stdin closed, stopping"),
        _ = tokio::signal::ctrl_c() => eprintln!("beacon-sim: interrupted, stopping"),
        () = terminated() => eprintln!("beacon-sim: terminated, stopping"),
    }
}

fn main() -> ExitCode {
    let parsed = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("beacon-sim: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("beacon-sim: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match parsed {
        Parsed::Run(args) => runtime.block_on(run(args)),
        Parsed::Matchmaker(args) => runtime.block_on(run_matchmaker(args)),
        Parsed::Help => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("beacon-sim: {message}");
            ExitCode::FAILURE
        }
    }
}
