//! Logs on stderr through `tracing`: warnings only by default, `-v` info, `-vv` debug,
//! `-vvv` trace; `RUST_LOG` (e.g. `RUST_LOG=edgegap_ping=trace`) overrides the flags.

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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::printable::LogLine::default)
        .with_target(verbose >= 2)
        .try_init();
}
