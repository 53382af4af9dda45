//! `--deployable-for APP/VERSION`: rank only the locations that can take a deployment of an app
//! version now (the Integration API's locations listing with `app` and `version`, "remove
//! locations with insufficient capacity to deploy at this time"), and say which beacons were
//! left out. Also the one place a beacon's location is matched to another location (by city
//! and country), for this filter and for `servers list --probe`.

use std::fmt::Write as _;
use std::str::FromStr;

use edgegap_probe::api::integration::LocationQuery;
use edgegap_probe::{Beacon, LocationData, Report};
use serde_json::{Value, json};

use crate::beacons::api_client;
use crate::cli::ApiArgs;
use crate::error::CliError;
use crate::output::wrap;
use crate::terminal::Terminal;

/// `--deployable-for APP/VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployable {
    /// The app's name.
    pub app: String,
    /// The app version's name.
    pub version: String,
}

impl FromStr for Deployable {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (app, version) = text
            .split_once('/')
            .ok_or_else(|| "expected APP/VERSION, e.g. my-game/v1.2".to_owned())?;
        let (app, version) = (app.trim(), version.trim());
        if app.is_empty() || version.is_empty() {
            return Err("the app and the version must both be named: APP/VERSION".to_owned());
        }
        Ok(Self {
            app: app.to_owned(),
            version: version.to_owned(),
        })
    }
}

impl std::fmt::Display for Deployable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.app, self.version)
    }
}

/// A place name as compared: trimmed, lower case.
fn norm(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Whether two locations are the same place: the same city (ignoring case and surrounding
/// space) and, when both name a country, the same country. A `--beacon CITY=...` flag names no
/// country, so it matches on the city alone.
pub fn same_place(a: &LocationData, city: &str, country: &str) -> bool {
    same_names(&a.city, &a.country, city, country)
}

/// [`same_place`] on names: city `a_city` in `a_country` and `b_city` in `b_country`.
pub fn same_names(a_city: &str, a_country: &str, b_city: &str, b_country: &str) -> bool {
    !a_city.trim().is_empty()
        && norm(a_city) == norm(b_city)
        && (a_country.trim().is_empty()
            || b_country.trim().is_empty()
            || norm(a_country) == norm(b_country))
}

/// What the filter did, for the output.
#[derive(Debug, Clone)]
pub struct Filtered {
    /// What was asked for.
    pub wanted: Deployable,
    /// The locations the API says can take a deployment now.
    pub deployable: Vec<LocationData>,
    /// Beacons kept (of deployable locations).
    pub kept: usize,
    /// Distinct (city, country) of the beacons left out.
    pub left_out: Vec<(String, String)>,
    /// How many beacons were left out.
    pub left_out_beacons: usize,
    /// Deployable locations that had no beacon in the list.
    pub without_beacon: Vec<(String, String)>,
}

/// Keeps the beacons of locations that can take a deployment of `wanted` now. The API's
/// `messages` are printed on stderr (scrubbed). No beacon left is
/// [`CliError::NothingDeployable`].
pub async fn filter(
    beacons: Vec<Beacon>,
    wanted: &Deployable,
    api: &ApiArgs,
) -> Result<(Vec<Beacon>, Filtered), CliError> {
    let client = api_client(api).map_err(|e| match e {
        CliError::Usage { .. } => CliError::usage(
            "--deployable-for needs the Edgegap API token",
            "pass --api-token TOKEN or set EDGEGAP_API_TOKEN: the capacity filter is the \
             Integration API's locations listing (GET /v1/locations?app=...&version=...)",
        ),
        other => other,
    })?;
    let listed = client
        .all_locations(LocationQuery {
            app: Some(wanted.app.clone()),
            version: Some(wanted.version.clone()),
            ..LocationQuery::default()
        })
        .await?;
    for message in &listed.messages {
        crate::app::note(&format!("the Edgegap API says: {message}"));
    }
    let deployable = listed.locations;
    let total = beacons.len();
    let (kept, out): (Vec<Beacon>, Vec<Beacon>) = beacons.into_iter().partition(|b| {
        deployable
            .iter()
            .any(|d| same_place(&b.location, &d.city, &d.country))
    });
    let mut left_out: Vec<(String, String)> = Vec::new();
    for b in &out {
        let key = (b.location.city.clone(), b.location.country.clone());
        if !left_out.contains(&key) {
            left_out.push(key);
        }
    }
    let without_beacon = deployable
        .iter()
        .filter(|d| {
            !kept
                .iter()
                .any(|b| same_place(&b.location, &d.city, &d.country))
        })
        .map(|d| (d.city.clone(), d.country.clone()))
        .collect();
    tracing::info!(
        app = %wanted.app,
        version = %wanted.version,
        deployable = deployable.len(),
        kept = kept.len(),
        left_out = out.len(),
        "capacity filter applied"
    );
    if kept.is_empty() {
        return Err(CliError::NothingDeployable {
            wanted: wanted.to_string(),
            beacons: total,
            deployable: deployable.len(),
        });
    }
    let filtered = Filtered {
        wanted: wanted.clone(),
        deployable,
        kept: kept.len(),
        left_out,
        left_out_beacons: out.len(),
        without_beacon,
    };
    Ok((kept, filtered))
}

fn places(list: &[(String, String)]) -> String {
    list.iter()
        .map(|(city, country)| {
            if country.is_empty() {
                city.clone()
            } else {
                format!("{city} ({country})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Filtered {
    /// The note under the ranking table (wrapped to the terminal).
    pub fn note(&self, terminal: Terminal) -> String {
        let mut text = format!(
            "Deployable for {}: the Edgegap API lists {} location(s) that can take a deployment \
             now; only their beacons were probed ({} beacon(s)).",
            self.wanted,
            self.deployable.len(),
            self.kept
        );
        if !self.left_out.is_empty() {
            let _ = write!(
                text,
                " Left out, no capacity now: {} ({} beacon(s)).",
                places(&self.left_out),
                self.left_out_beacons
            );
        }
        if !self.without_beacon.is_empty() {
            let _ = write!(
                text,
                " Deployable but without a beacon in the list: {}.",
                places(&self.without_beacon)
            );
        }
        format!("\n{}", wrap(&text, terminal))
    }

    /// The `deployable_for` object added to the JSON report.
    pub fn to_json(&self) -> Value {
        let place = |(city, country): &(String, String)| json!({"city": city, "country": country});
        json!({
            "app": self.wanted.app,
            "version": self.wanted.version,
            "deployable": self.deployable.iter()
                .map(|d| json!({"city": d.city, "country": d.country}))
                .collect::<Vec<_>>(),
            "left_out": self.left_out.iter().map(place).collect::<Vec<_>>(),
            "left_out_beacons": self.left_out_beacons,
            "without_beacon": self.without_beacon.iter().map(place).collect::<Vec<_>>(),
        })
    }

    /// The JSON report with a `deployable_for` object (what was filtered and why).
    pub fn report_json(&self, report: &Report) -> String {
        let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("deployable_for".to_owned(), self.to_json());
        }
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }

    /// CSV rows (`not_deployable`) for the left-out locations, in the report's columns.
    pub fn csv_rows(&self) -> String {
        let mut out = String::new();
        for (city, country) in &self.left_out {
            let mut fields = vec![String::new(); 20];
            "not_deployable".clone_into(&mut fields[0]);
            fields[2].clone_from(city);
            fields[3].clone_from(country);
            fields[19] = format!("no capacity to deploy {} now", self.wanted);
            crate::output::push_csv_row(&mut out, &fields);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(city: &str, country: &str) -> LocationData {
        LocationData {
            city: city.into(),
            country: country.into(),
            ..LocationData::default()
        }
    }

    #[test]
    fn places_match_by_city_and_country_when_both_name_one() {
        assert!(same_place(&at("Montreal", "Canada"), " montreal", "CANADA"));
        assert!(same_place(&at("Montreal", ""), "Montreal", "Canada"));
        assert!(!same_place(
            &at("Paris", "France"),
            "Paris",
            "United States"
        ));
        assert!(!same_place(&at("", ""), "", ""));
    }

    #[test]
    fn app_and_version_parse_from_one_flag() {
        let d: Deployable = "my-game/v1.2".parse().unwrap();
        assert_eq!((d.app.as_str(), d.version.as_str()), ("my-game", "v1.2"));
        let d: Deployable = "g/2024/10".parse().unwrap();
        assert_eq!(d.version, "2024/10", "the version may hold a slash");
        for bad in ["my-game", "/v1", "g/ "] {
            assert!(bad.parse::<Deployable>().is_err(), "{bad}");
        }
    }
}
