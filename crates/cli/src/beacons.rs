//! `beacons` and `locations`: list them from the matchmaker or the Integration API. Also the
//! one place the API clients are built from the command line.

use std::collections::BTreeSet;

use edgegap_probe::api::integration::LocationQuery;
use edgegap_probe::api::{ApiToken, IntegrationClient, MatchmakerClient, MatchmakerToken};
use edgegap_probe::{Beacon, LocationData};
use futures::TryStreamExt;
use serde_json::json;

use crate::app::write_stdout;
use crate::cli::{ApiArgs, ListArgs, LocationsArgs, MatchmakerArgs};
use crate::error::CliError;
use crate::output::{align_right, table};

/// The matchmaker client and its URL, from `--matchmaker-url` and its token.
pub fn matchmaker_client(args: &MatchmakerArgs) -> Result<(MatchmakerClient, String), CliError> {
    let Some(url) = args.matchmaker_url.clone() else {
        return Err(CliError::usage(
            "no matchmaker given",
            "pass --matchmaker-url URL (the base URL of your matchmaker's API)",
        ));
    };
    let token = match args.matchmaker_token.as_deref() {
        Some(token) if !token.trim().is_empty() => MatchmakerToken::new(token),
        _ => {
            return Err(CliError::usage(
                "the matchmaker needs its token",
                "pass --matchmaker-token TOKEN or set EDGEGAP_MATCHMAKER_TOKEN (the matchmaker's \
                 own token, not the Edgegap API token)",
            ));
        }
    };
    let client = MatchmakerClient::new(url.clone(), token)?;
    Ok((client, url))
}

/// The Integration API client, from `--api-url` and `--api-token` / `EDGEGAP_API_TOKEN`.
pub fn api_client(args: &ApiArgs) -> Result<IntegrationClient, CliError> {
    let token = match args.api_token.as_deref() {
        Some(token) if !token.trim().is_empty() => ApiToken::new(token),
        _ => {
            return Err(CliError::usage(
                "the Edgegap API needs a token",
                "pass --api-token TOKEN or set EDGEGAP_API_TOKEN (from the Edgegap dashboard; \
                 keep it on servers, never in a game build)",
            ));
        }
    };
    Ok(IntegrationClient::builder(token)
        .base_url(args.api_url.clone())
        .build()?)
}

/// Whether the matchmaker is the source (it is when its URL is given).
fn use_matchmaker(args: &ListArgs) -> Result<bool, CliError> {
    if args.matchmaker.matchmaker_url.is_some() {
        Ok(true)
    } else if args.api.api_token.is_some() {
        Ok(false)
    } else {
        Err(CliError::usage(
            "nothing to ask",
            "pass --matchmaker-url URL with its token, or an Edgegap API token (--api-token or \
             EDGEGAP_API_TOKEN)",
        ))
    }
}

/// Runs `beacons`.
pub async fn run_beacons(args: ListArgs) -> Result<(), CliError> {
    let beacons = if use_matchmaker(&args)? {
        matchmaker_client(&args.matchmaker)?.0.beacons().await?
    } else {
        api_client(&args.api)?.beacons().await?
    };
    let text = if args.output.json {
        // The v1 shape: `probe --beacons-file` reads it back.
        let list = json!({ "count": beacons.len(), "locations": beacons });
        serde_json::to_string_pretty(&list)
            .map_err(|e| CliError::Other(format!("cannot encode the list: {e}")))?
    } else {
        beacons_table(&beacons)
    };
    write_stdout(&format!("{text}\n"))
}

fn port(p: Option<u16>) -> String {
    p.map_or_else(|| "-".to_owned(), |p| p.to_string())
}

fn beacons_table(beacons: &[Beacon]) -> String {
    let mut t = table(&["city", "country", "host", "udp", "tcp"]);
    for b in beacons {
        t.add_row(vec![
            b.location.city.clone(),
            b.location.country.clone(),
            b.host.clone(),
            port(b.udp_port),
            port(b.tcp_port),
        ]);
    }
    align_right(&mut t, &[3, 4]);
    format!("{t}\n{} beacon(s)", beacons.len())
}

/// Runs `locations`.
pub async fn run_locations(locations_args: LocationsArgs) -> Result<(), CliError> {
    let args = &locations_args.list;
    let capacity = locations_args
        .app
        .clone()
        .zip(locations_args.version.clone());
    let locations: Vec<LocationData> = if let Some((app, version)) = capacity {
        // The capacity filter is the Integration API's: the matchmaker cannot answer it.
        let client = api_client(&args.api).map_err(|e| match e {
            CliError::Usage { .. } => CliError::usage(
                "--app and --version need the Edgegap API token",
                "pass --api-token TOKEN or set EDGEGAP_API_TOKEN: the capacity filter is \
                 GET /v1/locations?app=...&version=... of the Integration API",
            ),
            other => other,
        })?;
        let listed = client
            .all_locations(LocationQuery {
                app: Some(app),
                version: Some(version),
                ..LocationQuery::default()
            })
            .await?;
        for message in &listed.messages {
            crate::app::note(&format!("the Edgegap API says: {message}"));
        }
        listed.locations
    } else if use_matchmaker(args)? {
        let beacons = matchmaker_client(&args.matchmaker)?.0.beacons().await?;
        let mut seen = BTreeSet::new();
        beacons
            .into_iter()
            .filter(|b| seen.insert((b.location.city.clone(), b.location.country.clone())))
            .map(|b| b.location)
            .collect()
    } else {
        api_client(&args.api)?
            .locations_stream(LocationQuery::default())
            .try_collect()
            .await?
    };
    let text = if args.output.json {
        serde_json::to_string_pretty(&locations)
            .map_err(|e| CliError::Other(format!("cannot encode the list: {e}")))?
    } else {
        let mut t = table(&[
            "city",
            "country",
            "continent",
            "division",
            "timezone",
            "lat",
            "lon",
        ]);
        for l in &locations {
            t.add_row(vec![
                l.city.clone(),
                l.country.clone(),
                l.continent.clone(),
                l.administrative_division.clone(),
                l.timezone.clone(),
                format!("{:.2}", l.latitude),
                format!("{:.2}", l.longitude),
            ]);
        }
        align_right(&mut t, &[5, 6]);
        format!("{t}\n{} location(s)", locations.len())
    };
    write_stdout(&format!("{text}\n"))
}
