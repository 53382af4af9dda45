//! `ticket`: probe, create a matchmaker ticket with the latencies, wait for the assignment.
//! Ctrl-C while waiting deletes the ticket.

use std::fmt::Write;
use std::io::IsTerminal;
use std::time::Duration;

use edgegap_probe::Report;
use edgegap_probe::api::matchmaker::{Assignment, Ticket, TicketRequest, TicketStatus};
use edgegap_probe::api::{CancellationToken, WaitOptions};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::write_stdout;
use crate::beacons::matchmaker_client;
use crate::cli::TicketArgs;
use crate::error::CliError;
use crate::terminal::Terminal;
use crate::{probe, progress, source};

/// Runs `ticket`.
pub async fn run(args: TicketArgs) -> Result<(), CliError> {
    let config = probe::config(&args.opts)?;
    let (client, _url) = matchmaker_client(&args.source.matchmaker)?;
    let beacons = source::load(&args.source).await?;
    let probed = progress::run(beacons, config).await?;
    if probed.report.locations.is_empty() {
        // Say why before giving up: each unreachable location with its reason (on stderr,
        // where the ticket's progress goes; stdout is for the assignment).
        let why = crate::output::report_tables(&probed.report, Terminal::plain_stderr(), false);
        eprint!("{}", crate::printable::block(&why));
    }
    probe::outcome(&probed)?;

    let request = request(&args, &probed.report);
    tracing::info!(profile = %args.profile, locations = request.latencies().len(), "creating ticket");
    let created = client.create_ticket(&request).await?;
    note(&format!(
        "ticket {} created (profile {:?}, {} location(s)); waiting for a server (Ctrl-C cancels)",
        created.id,
        created.profile,
        request.latencies().len()
    ));

    let options = WaitOptions {
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        jitter: Duration::from_millis(args.poll_interval_ms / 5),
        timeout: Some(Duration::from_secs(args.wait_timeout)),
        ..WaitOptions::default()
    };
    let spinner = spinner(&created);
    let cancel = CancellationToken::new();
    let id = created.id.clone();
    let wait = client.wait_for_assignment(&id, &options, &cancel);
    tokio::pin!(wait);
    let result = tokio::select! {
        result = &mut wait => result,
        signal = tokio::signal::ctrl_c() => {
            if signal.is_ok() {
                spinner.set_message("cancelling the ticket");
                cancel.cancel();
            }
            wait.await
        }
    };
    spinner.finish_and_clear();
    let assignment = result?;

    let text = if args.json {
        let ticket = Ticket {
            status: TicketStatus::HostAssigned,
            assignment: Some(assignment),
            ..created
        };
        let mut text = serde_json::to_string_pretty(&ticket)
            .map_err(|e| CliError::Other(format!("cannot encode the ticket: {e}")))?;
        text.push('\n');
        text
    } else {
        describe(id.as_str(), &assignment)
    };
    write_stdout(&text)
}

/// The ticket request: the report's payload under the configured attribute.
fn request(args: &TicketArgs, report: &Report) -> TicketRequest {
    let latencies: Vec<(String, f64)> = report
        .payload
        .get(&args.opts.attribute)
        .and_then(|v| v.as_object())
        .map(|cities| {
            cities
                .iter()
                .filter_map(|(city, ms)| ms.as_f64().map(|ms| (city.clone(), ms)))
                .collect()
        })
        .unwrap_or_default();
    let mut request = TicketRequest::new(args.profile.clone(), latencies)
        .latency_attribute(args.opts.attribute.clone());
    if let Some(ip) = args.player_ip {
        request = request.player_ip(ip);
    }
    request
}

/// A status line on stderr: through the log when stderr is not a terminal.
fn note(text: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("{}", crate::printable::line(text));
    } else {
        tracing::info!("{text}");
    }
}

fn spinner(ticket: &Ticket) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(format!("waiting for a server for ticket {}", ticket.id));
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// The assignment, for people.
fn describe(ticket: &str, a: &Assignment) -> String {
    let mut out = format!("Ticket {ticket}: server assigned\n");
    let ip = if a.public_ip.is_empty() {
        String::new()
    } else {
        format!(" ({})", a.public_ip)
    };
    let _ = writeln!(out, "  server    {}{ip}", a.fqdn);
    if let Some(l) = &a.location {
        let country = if l.country.is_empty() {
            String::new()
        } else {
            format!(", {}", l.country)
        };
        let _ = writeln!(out, "  location  {}{country}", l.city);
    }
    for (name, p) in &a.ports {
        let link = if p.link.is_empty() {
            format!("{}:{}", a.fqdn, p.external)
        } else {
            p.link.clone()
        };
        let _ = writeln!(
            out,
            "  port      {name}: {link} ({}, external {}, internal {})",
            if p.protocol.is_empty() {
                "?"
            } else {
                &p.protocol
            },
            p.external,
            p.internal
        );
    }
    out
}
