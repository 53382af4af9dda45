//! `ticket`: probe, create a matchmaker ticket with the latencies, wait for the assignment.
//! Ctrl-C while waiting deletes the ticket.

use std::fmt::Write;
use std::io::IsTerminal;
use std::time::Duration;

use edgegap_probe::api::matchmaker::{Assignment, Ticket, TicketRequest, TicketStatus};
use edgegap_probe::api::{CancellationToken, WaitOptions};
use edgegap_probe::{Beacon, Report};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::write_stdout;
use crate::beacons::matchmaker_client;
use crate::cli::{BeaconsFrom, MatchmakerArgs, PlayerArgs, TicketArgs};
use crate::error::CliError;
use crate::terminal::Terminal;
use crate::{deployable, probe, progress, source};

/// Runs `ticket`: the sans-I/O ticket flow (create, poll, cancel) driven by the client.
pub async fn run(args: TicketArgs) -> Result<(), CliError> {
    let (client, _url) = matchmaker_client(&args.player.source.matchmaker)?;
    let request = probe_player(&args.player, "ticket").await?;
    tracing::info!(profile = %args.player.profile, locations = request.latencies().len(), "creating ticket");
    let options = WaitOptions {
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        jitter: Duration::from_millis(args.poll_interval_ms / 5),
        timeout: Some(Duration::from_secs(args.wait_timeout)),
        ..WaitOptions::default()
    };
    let mut flow = client.ticket_flow(&request, &options);
    let spinner = spinner();
    let cancel = CancellationToken::new();
    let mut announced = false;
    let locations = request.latencies().len();
    let result = {
        let wait = client.run_flow(&mut flow, &cancel, |flow| {
        if let (false, Some(ticket)) = (announced, flow.last_ticket()) {
            announced = true;
            spinner.set_message(format!("waiting for a server for ticket {}", ticket.id));
            note(&format!(
                "ticket {} created (profile {:?}, {locations} location(s)); waiting for a server \
                 (Ctrl-C cancels)",
                ticket.id, ticket.profile,
            ));
        }
    });
        tokio::pin!(wait);
        tokio::select! {
            result = &mut wait => result,
            signal = tokio::signal::ctrl_c() => {
                if signal.is_ok() {
                    cancel.cancel();
                }
                wait.await
            }
        }
    };
    spinner.finish_and_clear();
    let assignment = result?;
    let ticket = flow.last_ticket().cloned();

    let text = match ticket {
        Some(ticket) if args.json => {
            let ticket = Ticket {
                status: TicketStatus::HostAssigned,
                assignment: Some(assignment),
                ..ticket
            };
            let mut text = serde_json::to_string_pretty(&ticket)
                .map_err(|e| CliError::Other(format!("cannot encode the ticket: {e}")))?;
            text.push('\n');
            text
        }
        ticket => describe(ticket.as_ref().map_or("", |t| t.id.as_str()), &assignment),
    };
    write_stdout(&text)
}

/// Refuses `--api-url` / `--api-token` typed for `command` when nothing would use them (a
/// token that is only in the environment is not refused: a backend may have it set).
fn refuse_unused_api(player: &PlayerArgs, command: &str) -> Result<(), CliError> {
    let used = player.beacons_from == BeaconsFrom::Api || player.filter.deployable_for.is_some();
    if player.api_flags_typed && !used {
        return Err(CliError::usage(
            format!(
                "`{command}` does not use --api-url or --api-token here: its beacons come from \
                 the matchmaker"
            ),
            "add --beacons-from api to probe the Edgegap API's beacon list, or --deployable-for \
             APP/VERSION to send only locations that can take a deployment now; otherwise drop \
             the flag",
        ));
    }
    Ok(())
}

/// The beacons a player probes: --beacons-file / --beacon, else the list --beacons-from names.
async fn player_beacons(player: &PlayerArgs) -> Result<Vec<Beacon>, CliError> {
    if source::has_local(&player.source) || player.beacons_from == BeaconsFrom::Matchmaker {
        return source::load(&player.source).await;
    }
    if player
        .source
        .api
        .api_token
        .as_deref()
        .is_none_or(|t| t.trim().is_empty())
    {
        return Err(CliError::usage(
            "--beacons-from api needs the Edgegap API token",
            "pass --api-token TOKEN or set EDGEGAP_API_TOKEN, or leave --beacons-from out to \
             probe the matchmaker's own list",
        ));
    }
    let mut from_api = player.source.clone();
    from_api.matchmaker = MatchmakerArgs::default();
    source::load(&from_api).await
}

/// Probes for a player of `command` (`ticket`, `group create`, `group join`) and builds the
/// request the matchmaker gets: the reachable locations' latencies (only the deployable ones
/// with --deployable-for). When nothing is reachable, says why on stderr and fails.
pub async fn probe_player(player: &PlayerArgs, command: &str) -> Result<TicketRequest, CliError> {
    refuse_unused_api(player, command)?;
    let config = probe::config(&player.opts)?;
    let beacons = player_beacons(player).await?;
    let (beacons, filtered) = match &player.filter.deployable_for {
        Some(wanted) => {
            let (kept, filtered) = deployable::filter(beacons, wanted, &player.source.api).await?;
            (kept, Some(filtered))
        }
        None => (beacons, None),
    };
    let probed = progress::run(beacons, config).await?;
    if probed.report.locations.is_empty() {
        // Say why before giving up: each unreachable location with its reason (on stderr,
        // where the progress goes; stdout is for the answer).
        let why = crate::output::report_tables(&probed.report, Terminal::plain_stderr(), false);
        eprint!("{}", crate::printable::block(&why));
    }
    probe::outcome(&probed)?;
    if let Some(f) = filtered {
        crate::app::note(f.note(Terminal::plain_stderr()).trim());
    }
    Ok(request(player, &probed.report))
}

/// The ticket request: the report's payload under the configured attribute.
fn request(player: &PlayerArgs, report: &Report) -> TicketRequest {
    let latencies: Vec<(String, f64)> = report
        .payload
        .get(&player.opts.attribute)
        .and_then(|v| v.as_object())
        .map(|cities| {
            cities
                .iter()
                .filter_map(|(city, ms)| ms.as_f64().map(|ms| (city.clone(), ms)))
                .collect()
        })
        .unwrap_or_default();
    let mut request = TicketRequest::new(player.profile.clone(), latencies)
        .latency_attribute(player.opts.attribute.clone());
    if let Some(ip) = player.player_ip {
        request = request.player_ip(ip);
    }
    request
}

/// A status line on stderr: through the log when stderr is not a terminal.
pub fn note(text: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("{}", crate::printable::line(text));
    } else {
        tracing::info!("{text}");
    }
}

fn spinner() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message("creating the ticket");
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
