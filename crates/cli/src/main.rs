//! `edgegap-probe`: probe Edgegap ping beacons, rank locations, submit matchmaker tickets.
//!
//! `main` only parses the command line and maps the outcome to an exit code; each command
//! lives in its own module.

mod allocator;
mod app;
mod beacon_sim;
mod beacons;
mod cli;
mod demo;
mod deployable;
mod error;
mod exit;
mod group;
mod logging;
mod output;
mod printable;
mod probe;
mod progress;
mod rank_table;
mod servers;
mod source;
mod storage;
mod terminal;
mod ticket;

fn main() -> std::process::ExitCode {
    allocator::tune();
    std::process::ExitCode::from(app::main())
}
