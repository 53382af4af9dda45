//! Parses the command line, runs the command, and turns the outcome into an exit code and a
//! message on stderr (never a panic or a backtrace for a user's mistake).

use std::io::Write;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command, Connection};
use crate::error::CliError;
use crate::{
    beacon_sim, beacons, demo, exit, group, logging, printable, probe, servers, storage, ticket,
};

/// Runs the program; returns the process exit code.
pub fn main() -> u8 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    printable::register_secrets(&text);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are "errors" printed to stdout with success.
            let _ = err.print();
            return if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    logging::init(cli.verbose);
    // One thread: the probe engine and the pipeline that reads its events hand every event
    // from task to task; on one thread that is a function call, across two workers a wake-up
    // of another thread (benches/fping_compare.sh: 0.24 s of CPU with two workers, 0.20 s
    // with one). Waits under 100 µs yield instead of sleeping, so the probing never waits for
    // the rest of the work for long.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            return fail(&CliError::Other(format!(
                "could not start the async runtime: {err}"
            )));
        }
    };
    let api_typed = text.iter().skip(1).any(|a| {
        ["--api-url", "--api-token"]
            .iter()
            .any(|f| a == f || a.starts_with(&format!("{f}=")))
    });
    let result = runtime.block_on(run(cli.command, &cli.connection, api_typed));
    // Do not wait for stray tasks (a blocked stdin reader, say) once the command is done.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => exit::OK,
        Err(err) => fail(&err),
    }
}

/// Runs `command`, with the global connection flags copied into its arguments (`api_typed`:
/// whether --api-url or --api-token was on the command line).
async fn run(command: Command, connection: &Connection, api_typed: bool) -> Result<(), CliError> {
    let (matchmaker, api) = (connection.matchmaker(), connection.api());
    match command {
        Command::Demo(args) => demo::run(args).await,
        Command::Probe(mut args) => {
            (args.source.matchmaker, args.source.api) = (matchmaker, api);
            probe::run(args).await
        }
        Command::Beacons(mut args) => {
            (args.matchmaker, args.api) = (matchmaker, api);
            beacons::run_beacons(args).await
        }
        Command::Locations(mut args) => {
            (args.list.matchmaker, args.list.api) = (matchmaker, api);
            beacons::run_locations(args).await
        }
        Command::Ticket(mut args) => {
            (args.player.source.matchmaker, args.player.source.api) = (matchmaker, api);
            args.player.api_flags_typed = api_typed;
            ticket::run(args).await
        }
        Command::Group(command) => group::run(command, connection, api_typed).await,
        Command::Servers(command) => servers::run(command, connection).await,
        Command::Beacon(args) => beacon_sim::run(args).await,
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut command, "edgegap-probe", &mut out);
            write_bytes(&out)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(CliError::Write)?;
            write_bytes(&out)
        }
        Command::Storage(mut args) => {
            args.api = api;
            storage::run(args).await
        }
    }
}

/// A note for the user on stderr (`edgegap-probe: note: ...`), scrubbed of secrets and escaped
/// (server text such as the API's messages goes through here).
pub fn note(text: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "edgegap-probe: note: {}",
        printable::line(text)
    );
}

/// Prints the error and its hint on stderr; returns its exit code.
fn fail(err: &CliError) -> u8 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "edgegap-probe: error: {}",
        printable::line(&err.to_string())
    );
    if let Some(hint) = err.hint() {
        let _ = writeln!(stderr, "  hint: {}", printable::line(&hint));
    }
    err.exit_code()
}

/// Writes a report rendered for `terminal`: with its colour codes when colour is on (its data
/// cells were escaped before the colours were added), else like [`write_stdout`].
pub fn write_report(text: &str, terminal: crate::terminal::Terminal) -> Result<(), CliError> {
    if terminal.colour {
        write_bytes(printable::styled(text).as_bytes())
    } else {
        write_stdout(text)
    }
}

/// Writes bytes to stdout as they are (completion scripts, the manual page, text already made
/// printable) and flushes; a closed pipe (`| head`) is not an error.
fn write_bytes(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(CliError::Write),
    }
}

/// Writes `text` to stdout (control characters escaped, see [`printable`]) and flushes; a
/// closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<(), CliError> {
    write_bytes(printable::block(text).as_bytes())
}
