//! The one beacon type of the workspace, read from either published beacon-list shape.
//!
//! * Edgegap v1 API, `GET /v1/locations/beacons`:
//!   `{"count": N, "locations": [{"host", "fqdn"?, "udp_port"?, "tcp_port"?, "location": {...}}]}`
//! * a matchmaker's `GET locations/beacons`:
//!   `{"count": N, "beacons": [{"fqdn"?, "public_ip", "udp_port"?, "tcp_port"?, "location": {...}}]}`
//!
//! Both become [`Beacon`], so the probe engine never cares where the list came from.
//! This module compiles without the `http` feature.

use serde::{Deserialize, Serialize};

/// Where a beacon or a deployment is (`LocationData` in the Integration API).
///
/// Only `city` is needed by the probe; every other field tolerates being absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LocationData {
    /// City, exactly as the matchmaker expects it as a key of the latency attribute.
    pub city: String,
    /// Country, used to tell apart cities of the same name.
    #[serde(default)]
    pub country: String,
    /// Continent.
    #[serde(default)]
    pub continent: String,
    /// Administrative division (state, province).
    #[serde(default)]
    pub administrative_division: String,
    /// Time zone name.
    #[serde(default)]
    pub timezone: String,
    /// Latitude in degrees.
    #[serde(default)]
    pub latitude: f64,
    /// Longitude in degrees.
    #[serde(default)]
    pub longitude: f64,
}

/// A ping beacon, whichever list it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beacon {
    /// Address to probe: the public IP when the list gives one, else the FQDN.
    pub host: String,
    /// The beacon's DNS name, when the list gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// UDP echo port, when the beacon offers UDP pings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_port: Option<u16>,
    /// TCP port, when the beacon offers TCP pings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_port: Option<u16>,
    /// Where the beacon is.
    pub location: LocationData,
}

/// Why a beacon list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BeaconListError {
    /// The text is not JSON, or not of either beacon-list shape.
    #[error("beacon list is not valid JSON of either shape ({{\"locations\": [...]}} or {{\"beacons\": [...]}}): {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON has neither a `locations` nor a `beacons` array.
    #[error("beacon list has neither a \"locations\" array (Edgegap v1 API) nor a \"beacons\" array (matchmaker)")]
    UnknownShape,
    /// One entry has neither an IP nor an FQDN to probe.
    #[error("beacon #{index} ({city}) has no host, public_ip or fqdn to probe")]
    NoAddress {
        /// Position in the list, from 0.
        index: usize,
        /// The beacon's city, if it had one.
        city: String,
    },
    /// One entry has an empty city, which cannot be a matchmaker key.
    #[error("beacon #{index} ({host}) has an empty location.city")]
    NoCity {
        /// Position in the list, from 0.
        index: usize,
        /// The beacon's host.
        host: String,
    },
}

/// One entry as either API spells it; the union of both shapes.
#[derive(Debug, Deserialize)]
struct RawBeacon {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    public_ip: Option<String>,
    #[serde(default)]
    fqdn: Option<String>,
    #[serde(default, deserialize_with = "port_or_none")]
    udp_port: Option<u16>,
    #[serde(default, deserialize_with = "port_or_none")]
    tcp_port: Option<u16>,
    location: LocationData,
}

/// Ports may be absent, `null` or `0` for "not available".
fn port_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    Ok(Option::<u16>::deserialize(d)?.filter(|p| *p != 0))
}

#[derive(Debug, Deserialize)]
struct RawList {
    #[serde(default)]
    locations: Option<Vec<RawBeacon>>,
    #[serde(default)]
    beacons: Option<Vec<RawBeacon>>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl RawBeacon {
    fn into_beacon(self, index: usize) -> Result<Beacon, BeaconListError> {
        let fqdn = non_empty(self.fqdn);
        let host = non_empty(self.host)
            .or_else(|| non_empty(self.public_ip))
            .or_else(|| fqdn.clone())
            .ok_or_else(|| BeaconListError::NoAddress {
                index,
                city: self.location.city.clone(),
            })?;
        if self.location.city.trim().is_empty() {
            return Err(BeaconListError::NoCity { index, host });
        }
        Ok(Beacon {
            host,
            fqdn,
            udp_port: self.udp_port,
            tcp_port: self.tcp_port,
            location: self.location,
        })
    }
}

/// Reads a beacon list in either published shape (see the module docs), or a bare JSON
/// array of beacons. Unknown fields are ignored; a malformed entry is an error that names it.
pub fn parse_beacon_list(json: &str) -> Result<Vec<Beacon>, BeaconListError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let raw: Vec<RawBeacon> = if value.is_array() {
        serde_json::from_value(value)?
    } else {
        let list: RawList = serde_json::from_value(value)?;
        list.locations
            .or(list.beacons)
            .ok_or(BeaconListError::UnknownShape)?
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, b)| b.into_beacon(i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_v1_shape() {
        let list = parse_beacon_list(
            r#"{"count": 1, "locations": [{"host": "1.2.3.4", "fqdn": "b.example", "udp_port": 5000,
                "tcp_port": 0, "extra": true, "location": {"city": "Montreal", "country": "Canada",
                "continent": "North America", "administrative_division": "Quebec",
                "timezone": "America/Toronto", "latitude": 45.5, "longitude": -73.6}}]}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].host, "1.2.3.4");
        assert_eq!(list[0].fqdn.as_deref(), Some("b.example"));
        assert_eq!(list[0].udp_port, Some(5000));
        assert_eq!(list[0].tcp_port, None, "port 0 means not available");
        assert_eq!(list[0].location.country, "Canada");
    }

    #[test]
    fn reads_the_matchmaker_shape_and_prefers_the_ip() {
        let list = parse_beacon_list(
            r#"{"count": 2, "beacons": [
                {"fqdn": "t.example", "public_ip": "5.6.7.8", "tcp_port": 9001, "location": {"city": "Tokyo"}},
                {"fqdn": "only.example", "udp_port": null, "location": {"city": "Paris", "country": "France"}}]}"#,
        )
        .unwrap();
        assert_eq!(list[0].host, "5.6.7.8");
        assert_eq!(list[0].tcp_port, Some(9001));
        assert_eq!(list[1].host, "only.example");
        assert_eq!(list[1].udp_port, None);
    }

    #[test]
    fn rejects_what_it_cannot_probe_with_a_clear_error() {
        let err = parse_beacon_list(r#"{"count": 0}"#).unwrap_err();
        assert!(matches!(err, BeaconListError::UnknownShape), "{err}");
        let err = parse_beacon_list(r#"{"beacons": [{"location": {"city": "Oslo"}}]}"#).unwrap_err();
        assert!(err.to_string().contains("Oslo"), "{err}");
        let err = parse_beacon_list(r#"{"beacons": [{"public_ip": "1.1.1.9", "location": {"city": ""}}]}"#)
            .unwrap_err();
        assert!(matches!(err, BeaconListError::NoCity { index: 0, .. }), "{err}");
        assert!(matches!(parse_beacon_list("not json"), Err(BeaconListError::Json(_))));
        assert!(parse_beacon_list(r#"{"beacons": [{"public_ip": "x"}]}"#).is_err(), "location is required");
    }

    #[test]
    fn an_empty_list_is_an_empty_list() {
        assert!(parse_beacon_list(r#"{"count": 0, "locations": []}"#).unwrap().is_empty());
    }
}
