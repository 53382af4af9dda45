//! `servers`: the server browser. `list --probe` measures each listed instance's location
//! through its beacon (with the normal probe pipeline) and sorts the instances by that
//! latency, which no server browser does for the player.

use std::fmt::Write as _;

use edgegap_probe::api::server_browser::{
    ReservationUser, ReservationUsers, SeatReservation, SeatReservationRequest, ServerInstance,
    ServerInstanceId, ServerInstanceQuery,
};
use edgegap_probe::api::{ServerBrowserClient, ServerBrowserToken};
use edgegap_probe::{Beacon, LocationReport, Report};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::{write_report, write_stdout};
use crate::cli::{Connection, ReserveArgs, ServerBrowserArgs, ServersCommand, ServersListArgs};
use crate::deployable::same_names;
use crate::error::CliError;
use crate::output::{fit, fitted_table, ms, table};
use crate::progress::Probed;
use crate::rank_table::statistic_name;
use crate::terminal::Terminal;
use crate::{probe, progress, source};

/// The server browser client, from `--server-browser-url` and its token.
fn client(args: &ServerBrowserArgs) -> Result<ServerBrowserClient, CliError> {
    let Some(url) = args.url.clone() else {
        return Err(CliError::usage(
            "no server browser given",
            "pass --server-browser-url URL (the base URL of your server browser)",
        ));
    };
    let token = match args.token.as_deref() {
        Some(token) if !token.trim().is_empty() => ServerBrowserToken::new(token),
        _ => {
            return Err(CliError::usage(
                "the server browser needs its token",
                "pass --server-browser-token TOKEN or set EDGEGAP_SERVER_BROWSER_TOKEN",
            ));
        }
    };
    Ok(ServerBrowserClient::new(url, token)?)
}

/// Runs `servers`.
pub async fn run(command: ServersCommand, connection: &Connection) -> Result<(), CliError> {
    let client = client(&connection.server_browser())?;
    match command {
        ServersCommand::List(mut args) => {
            (args.source.matchmaker, args.source.api) = (connection.matchmaker(), connection.api());
            list(&client, &args).await
        }
        ServersCommand::Get { instance, json } => {
            let one = client
                .get_server_instance(&ServerInstanceId::new(instance))
                .await?;
            if json {
                print_json(&one)
            } else {
                write_stdout(&instance_fields(&one))
            }
        }
        ServersCommand::Reserve(args) => reserve(&client, args).await,
        ServersCommand::Confirm {
            instance,
            users,
            json,
        } => {
            let id = ServerInstanceId::new(instance);
            let body = ReservationUsers {
                users: users.iter().map(ReservationUser::new).collect(),
            };
            let answer = client.confirm_reservations(&id, &body).await?;
            if json {
                return print_json(&answer);
            }
            let mut text = format!("Confirmed {} on server instance {id}.\n", users.join(", "));
            text.push_str(&extra_lines(&answer));
            write_stdout(&text)
        }
    }
}

async fn reserve(client: &ServerBrowserClient, args: ReserveArgs) -> Result<(), CliError> {
    let users: Vec<ReservationUser> = args.users.iter().map(ReservationUser::new).collect();
    let (answer, on) = match (&args.instance, &args.slot, &args.policy) {
        (Some(instance), Some(slot), _) => {
            let id = ServerInstanceId::new(instance.clone());
            let answer = client
                .reserve_slot(&id, slot, &ReservationUsers { users })
                .await?;
            (answer, format!("slot {slot:?} of server instance {id}"))
        }
        (_, _, Some(policy)) => {
            let body = SeatReservationRequest {
                policy_name: policy.clone(),
                users,
            };
            let answer = client.reserve_seats(&body).await?;
            let on = answer.request_id.as_ref().map_or_else(
                || format!("an instance chosen by policy {policy:?}"),
                |id| format!("server instance {id} (policy {policy:?})"),
            );
            (answer, on)
        }
        _ => {
            return Err(CliError::usage(
                "nothing to reserve on",
                "pass --policy NAME (the server browser picks the instance), or an instance id \
                 with --slot SLOT",
            ));
        }
    };
    if args.json {
        return print_json(&answer);
    }
    let mut text = format!("Reserved seats for {} on {on}.\n", args.users.join(", "));
    text.push_str(&extra_lines(&answer));
    write_stdout(&text)
}

/// The answer's other fields (reservation ids, expiry), one `  key: value` line each.
fn extra_lines(answer: &SeatReservation) -> String {
    let mut out = String::new();
    for (key, value) in &answer.extra {
        let _ = writeln!(out, "  {key}: {}", cell(value));
    }
    out
}

fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Other(format!("cannot encode the answer as JSON: {e}")))?;
    write_stdout(&format!("{text}\n"))
}

/// A cell for any JSON value: strings as they are, `null` empty, the rest as compact JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Where an instance runs, as (city, country): its `location`, else its metadata's `city` /
/// `country` (or a `location` object or string in the metadata), as games put it there.
pub fn place_of(instance: &ServerInstance) -> Option<(String, String)> {
    if let Some(l) = &instance.location
        && !l.city.trim().is_empty()
    {
        return Some((l.city.clone(), l.country.clone()));
    }
    let md = &instance.metadata;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let (city, country) = match md.get("location") {
        Some(Value::Object(o)) => (text(o.get("city")), text(o.get("country"))),
        Some(Value::String(c)) => (Some(c.clone()), None),
        _ => (None, None),
    };
    let city = text(md.get("city")).or(city)?;
    let country = text(md.get("country")).or(country).unwrap_or_default();
    (!city.trim().is_empty()).then_some((city, country))
}

fn address(instance: &ServerInstance) -> String {
    instance
        .fqdn
        .clone()
        .or_else(|| instance.public_ip.clone())
        .unwrap_or_default()
}

/// `servers get`: one `field  value` row per field.
fn instance_fields(instance: &ServerInstance) -> String {
    let mut t = table(&["field", "value"]);
    let (city, country) = place_of(instance).unwrap_or_default();
    let mut rows = vec![
        ("request_id".to_owned(), instance.request_id.to_string()),
        (
            "status".to_owned(),
            instance.status.clone().unwrap_or_default(),
        ),
        ("fqdn".to_owned(), instance.fqdn.clone().unwrap_or_default()),
        (
            "public_ip".to_owned(),
            instance.public_ip.clone().unwrap_or_default(),
        ),
        ("city".to_owned(), city),
        ("country".to_owned(), country),
    ];
    for (key, value) in &instance.metadata {
        rows.push((format!("metadata.{key}"), cell(value)));
    }
    for (key, value) in &instance.extra {
        rows.push((key.clone(), cell(value)));
    }
    for (field, value) in rows {
        t.add_row(vec![field, value]);
    }
    fit(&mut t, Terminal::detect(), false);
    format!("{t}\n")
}

async fn list(client: &ServerBrowserClient, args: &ServersListArgs) -> Result<(), CliError> {
    let query = ServerInstanceQuery {
        filter: args.filter.clone(),
        order: if args.probe { None } else { args.order.clone() },
        limit: args.limit,
        cursor: None,
    };
    let config = if args.probe {
        Some(probe::config(&args.opts)?)
    } else {
        None
    };
    let instances: Vec<ServerInstance> =
        client.server_instances_stream(query).try_collect().await?;
    let terminal = Terminal::detect();
    let Some(config) = config else {
        return if args.json {
            print_json(&instances)
        } else {
            write_stdout(&plain_table(&instances, terminal, args.wide))
        };
    };
    let places: Vec<Option<(String, String)>> = instances.iter().map(place_of).collect();
    let beacons: Vec<Beacon> = if places.iter().any(Option::is_some) {
        source::load(&args.source)
            .await?
            .into_iter()
            .filter(|b| {
                places.iter().flatten().any(|(city, country)| {
                    same_names(&b.location.city, &b.location.country, city, country)
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let probed = if beacons.is_empty() {
        crate::app::note(if instances.is_empty() {
            "the server browser lists no instance: nothing to probe"
        } else {
            "no listed instance's location has a beacon in the list: nothing was probed (each \
             instance's location is its `location`, else its metadata's `city` and `country`)"
        });
        None
    } else {
        Some(progress::run(beacons, config).await?)
    };
    let rows = sorted(&places, probed.as_ref().map(|p| &p.report));
    let text = if args.json {
        let report = probed.as_ref().map(|p| &p.report);
        let value = json!({
            "statistic": report.map(statistic_name),
            "servers": rows.iter().map(|r| r.to_json(&instances)).collect::<Vec<_>>(),
            "report": report,
        });
        let mut text = serde_json::to_string_pretty(&value)
            .map_err(|e| CliError::Other(format!("cannot encode the list: {e}")))?;
        text.push('\n');
        text
    } else {
        probed_table(&instances, &rows, probed.as_ref(), terminal, args.wide)
    };
    write_report(&text, terminal)?;
    match &probed {
        Some(p) => probe::outcome(p),
        None => Ok(()),
    }
}

/// How an instance's latency came out, in sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Measured,
    AboveLimit,
    Unreachable,
    NoBeacon,
    NoLocation,
}

impl Class {
    fn as_str(self) -> &'static str {
        match self {
            Self::Measured => "measured",
            Self::AboveLimit => "above_limit",
            Self::Unreachable => "unreachable",
            Self::NoBeacon => "no_beacon",
            Self::NoLocation => "no_location",
        }
    }
}

/// One instance with its measured location.
struct Row {
    index: usize,
    class: Class,
    rank: u32,
    statistic_ms: Option<f64>,
    reason: String,
    city: String,
    country: String,
}

impl Row {
    fn to_json(&self, instances: &[ServerInstance]) -> Value {
        json!({
            "status": self.class.as_str(),
            "latency_ms": self.statistic_ms.map(|v| (v * 100.0).round() / 100.0),
            "location_rank": (self.rank > 0).then_some(self.rank),
            "city": self.city,
            "country": self.country,
            "reason": (!self.reason.is_empty()).then_some(&self.reason),
            "instance": instances[self.index],
        })
    }
}

fn find<'a>(list: &'a [LocationReport], city: &str, country: &str) -> Option<&'a LocationReport> {
    list.iter()
        .find(|l| same_names(&l.city, &l.country, city, country))
}

/// The instances best first: measured (by their location's rank, which orders by the ranking
/// score), then above the latency limit, unreachable, without a beacon, without a location;
/// ties keep the server browser's order.
fn sorted(places: &[Option<(String, String)>], report: Option<&Report>) -> Vec<Row> {
    let mut rows: Vec<Row> = places
        .iter()
        .enumerate()
        .map(|(index, place)| {
            let Some((city, country)) = place.clone() else {
                return Row {
                    index,
                    class: Class::NoLocation,
                    rank: 0,
                    statistic_ms: None,
                    reason: String::new(),
                    city: String::new(),
                    country: String::new(),
                };
            };
            let mut row = Row {
                index,
                class: Class::NoBeacon,
                rank: 0,
                statistic_ms: None,
                reason: String::new(),
                city,
                country,
            };
            let Some(report) = report else {
                return row;
            };
            if let Some(l) = find(&report.locations, &row.city, &row.country) {
                (row.class, row.rank, row.statistic_ms) =
                    (Class::Measured, l.rank, Some(l.statistic_ms));
            } else if let Some(l) = find(&report.excluded, &row.city, &row.country) {
                (row.class, row.rank, row.statistic_ms) =
                    (Class::AboveLimit, l.rank, Some(l.statistic_ms));
            } else if let Some(u) = report
                .unreachable
                .iter()
                .find(|u| same_names(&u.city, &u.country, &row.city, &row.country))
            {
                row.class = Class::Unreachable;
                row.reason = u.reasons.join("; ");
            }
            row
        })
        .collect();
    rows.sort_by_key(|r| (r.class, r.rank, r.index));
    rows
}

fn plain_table(instances: &[ServerInstance], terminal: Terminal, wide: bool) -> String {
    let rows: Vec<Vec<String>> = instances
        .iter()
        .map(|i| {
            let (city, country) = place_of(i).unwrap_or_default();
            let metadata = if i.metadata.is_empty() {
                String::new()
            } else {
                Value::Object(i.metadata.clone()).to_string()
            };
            vec![
                i.request_id.to_string(),
                i.status.clone().unwrap_or_default(),
                city,
                country,
                address(i),
                metadata,
            ]
        })
        .collect();
    let t = fitted_table(
        &[
            "instance", "status", "city", "country", "address", "metadata",
        ],
        &rows,
        &[0, 3, 0, 4, 5, 6],
        &[],
        terminal,
        wide,
    );
    format!("{t}\n{} server instance(s)\n", instances.len())
}

fn probed_table(
    instances: &[ServerInstance],
    rows: &[Row],
    probed: Option<&Probed>,
    terminal: Terminal,
    wide: bool,
) -> String {
    let statistic = probed.map_or("latency", |p| statistic_name(&p.report));
    let mut table_rows = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let i = &instances[row.index];
        let status = match row.class {
            Class::Measured => "measured",
            Class::AboveLimit => "above --max-latency-ms",
            Class::Unreachable => "unreachable (below)",
            Class::NoBeacon => "no beacon for this location",
            Class::NoLocation => "location unknown",
        };
        let place = if row.class == Class::NoLocation {
            ("-".to_owned(), "-".to_owned())
        } else {
            (row.city.clone(), row.country.clone())
        };
        table_rows.push(vec![
            (n + 1).to_string(),
            i.request_id.to_string(),
            place.0,
            place.1,
            ms(row.statistic_ms),
            status.to_owned(),
            i.status.clone().unwrap_or_default(),
            address(i),
        ]);
    }
    let t = fitted_table(
        &[
            "#",
            "instance",
            "city",
            "country",
            statistic,
            "latency status",
            "server status",
            "address",
        ],
        &table_rows,
        &[0, 0, 0, 4, 0, 2, 6, 5],
        &[0, 4],
        terminal,
        wide,
    );
    let mut text = format!("{t}\n");
    let measured = rows.iter().filter(|r| r.class == Class::Measured).count();
    text.push_str(&crate::output::wrap(
        &format!(
            "{} server instance(s), {measured} measured, sorted by their location's {statistic} \
             (best first).",
            rows.len()
        ),
        terminal,
    ));
    let unreachable: Vec<&Row> = rows
        .iter()
        .filter(|r| r.class == Class::Unreachable)
        .collect();
    if !unreachable.is_empty() {
        text.push_str("\nUnreachable locations (no latency, listed after the measured ones):\n");
        let mut why = table(&["instance", "city", "reason"]);
        for r in unreachable {
            let reason = if r.reason.is_empty() {
                "no reply".to_owned()
            } else {
                r.reason.clone()
            };
            why.add_row(vec![
                instances[r.index].request_id.to_string(),
                r.city.clone(),
                reason,
            ]);
        }
        fit(&mut why, terminal, wide);
        let _ = writeln!(text, "{why}");
    }
    if let Some(p) = probed {
        text.push_str(&crate::output::timing(&p.report, terminal));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(json: Value) -> ServerInstance {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn an_instance_is_placed_by_its_location_else_its_metadata() {
        let i = instance(json!({"request_id": "a",
            "location": {"city": "Paris", "country": "France"}, "metadata": {"city": "Oslo"}}));
        assert_eq!(place_of(&i), Some(("Paris".into(), "France".into())));
        let i =
            instance(json!({"request_id": "b", "metadata": {"city": "Oslo", "country": "Norway"}}));
        assert_eq!(place_of(&i), Some(("Oslo".into(), "Norway".into())));
        let i = instance(json!({"request_id": "c", "metadata": {"location": "Tokyo"}}));
        assert_eq!(place_of(&i), Some(("Tokyo".into(), String::new())));
        let i = instance(json!({"request_id": "d", "metadata": {"map": "dust"}}));
        assert_eq!(place_of(&i), None);
    }
}
