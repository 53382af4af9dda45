//! Logs on stderr through `tracing`: warnings only by default, `-v` info (what was fetched,
//! how many beacons, the transports used, the timing), `-vv` debug, `-vvv` trace; `RUST_LOG`
//! (e.g. `RUST_LOG=edgegap_ping=trace`) overrides the flags. Coloured only on a terminal without
//! `NO_COLOR`; every line is scrubbed of secrets and escaped (see `printable`).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber. Harmless if one is already installed.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => {
            EnvFilter::try_new(value).unwrap_or_else(|_| EnvFilter::new(level))
        }
        _ => EnvFilter::new(level),
    };
    // Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
    let ansi =
        std::io::IsTerminal::is_terminal(&std::io::stderr()) && crate::terminal::colour_allowed();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(crate::printable::LogLine::default)
        .with_target(verbose >= 2)
        .try_init();
}
