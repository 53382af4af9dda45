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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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
#[non_exhaustive]
pub enum BeaconListError {
    /// The text is not JSON, or not of either beacon-list shape.
    #[error(
        "beacon list is not valid JSON of either shape ({{\"locations\": [...]}} or {{\"beacons\": [...]}}): {0}"
    )]
    Json(#[from] serde_json::Error),
    /// One entry is not a beacon (a missing or mistyped field); says which entry.
    #[error("beacon #{index} of the list is unusable: {message}")]
    Entry {
        /// Position in the list, from 0.
        index: usize,
        /// What the JSON parser said of it (scrubbed like every server-sent text).
        message: String,
    },
    /// The list has more beacons than a run takes.
    #[error(
        "the beacon list has more than {limit} beacons: split it, or raise the limit (a list this \
         long is not an Edgegap beacon list)"
    )]
    TooMany {
        /// The limit ([`MAX_BEACONS`] unless the caller chose another).
        limit: usize,
    },
    /// The JSON has neither a `locations` nor a `beacons` array.
    #[error(
        "beacon list has neither a \"locations\" array (Edgegap v1 API) nor a \"beacons\" array (matchmaker)"
    )]
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

impl BeaconListError {
    /// The same error with its server-sent text (city, host) passed through `scrub` (the
    /// clients redact their token with it and cut the text short).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn scrubbed(self, scrub: impl Fn(&str) -> String) -> Self {
        match self {
            Self::NoAddress { index, city } => Self::NoAddress {
                index,
                city: scrub(&city),
            },
            Self::NoCity { index, host } => Self::NoCity {
                index,
                host: scrub(&host),
            },
            Self::Entry { index, message } => Self::Entry {
                index,
                message: scrub(&message),
            },
            other => other,
        }
    }
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

/// One entry of the Edgegap v1 beacon list (`GET /v1/locations/beacons`, operation `beacon-list`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IntegrationBeacon {
    /// Public IP address of the beacon.
    #[serde(default)]
    pub host: String,
    /// FQDN of the beacon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// UDP port for pings (absent, `null` or `0`: none).
    #[serde(
        default,
        deserialize_with = "port_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub udp_port: Option<u16>,
    /// TCP port for pings (absent, `null` or `0`: none).
    #[serde(
        default,
        deserialize_with = "port_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_port: Option<u16>,
    /// Where the beacon is.
    pub location: LocationData,
}

/// Answer of the Edgegap v1 beacon list: `{"count": N, "locations": [...]}`.
///
/// `count` is the number of beacons in this answer. The spec gives this listing no
/// `pagination` object; one is read if a server sends it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BeaconList {
    /// Number of beacons in this answer.
    #[serde(default)]
    pub count: u64,
    /// The beacons.
    #[serde(default)]
    pub locations: Vec<IntegrationBeacon>,
    /// Where this page is, if the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<crate::pagination::Pagination>,
}

/// One entry of a matchmaker's beacon list (`GET {matchmaker}/locations/beacons`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MatchmakerBeacon {
    /// FQDN of the beacon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Public IP address of the beacon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// TCP port for pings (absent, `null` or `0`: none).
    #[serde(
        default,
        deserialize_with = "port_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_port: Option<u16>,
    /// UDP port for pings (absent, `null` or `0`: none).
    #[serde(
        default,
        deserialize_with = "port_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub udp_port: Option<u16>,
    /// Where the beacon is.
    pub location: LocationData,
}

/// Answer of a matchmaker's beacon list: `{"count": N, "beacons": [...]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MatchmakerBeaconList {
    /// Number of beacons.
    #[serde(default)]
    pub count: u64,
    /// The beacons.
    #[serde(default)]
    pub beacons: Vec<MatchmakerBeacon>,
}

impl From<IntegrationBeacon> for RawBeacon {
    fn from(b: IntegrationBeacon) -> Self {
        RawBeacon {
            host: Some(b.host),
            public_ip: None,
            fqdn: b.fqdn,
            udp_port: b.udp_port,
            tcp_port: b.tcp_port,
            location: b.location,
        }
    }
}

impl From<MatchmakerBeacon> for RawBeacon {
    fn from(b: MatchmakerBeacon) -> Self {
        RawBeacon {
            host: None,
            public_ip: b.public_ip,
            fqdn: b.fqdn,
            udp_port: b.udp_port,
            tcp_port: b.tcp_port,
            location: b.location,
        }
    }
}

fn to_beacons<T: Into<RawBeacon>>(
    entries: impl IntoIterator<Item = T>,
) -> Result<Vec<Beacon>, BeaconListError> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, b)| b.into().into_beacon(i))
        .collect()
}

impl BeaconList {
    /// The workspace's [`Beacon`]s, with the same rules as [`parse_beacon_list`].
    pub fn into_beacons(self) -> Result<Vec<Beacon>, BeaconListError> {
        to_beacons(self.locations)
    }
}

impl MatchmakerBeaconList {
    /// The workspace's [`Beacon`]s, with the same rules as [`parse_beacon_list`].
    pub fn into_beacons(self) -> Result<Vec<Beacon>, BeaconListError> {
        to_beacons(self.beacons)
    }
}

/// Converts v1 beacon entries (e.g. collected from a paginated stream) into [`Beacon`]s.
pub fn beacons_from_integration(
    entries: impl IntoIterator<Item = IntegrationBeacon>,
) -> Result<Vec<Beacon>, BeaconListError> {
    to_beacons(entries)
}

crate::pagination::impl_page!(BeaconList, IntegrationBeacon, locations);

/// Reads a beacon list in either published shape (see the module docs), or a bare JSON
/// array of beacons. Unknown fields are ignored; a malformed entry is an error that names it.
pub fn parse_beacon_list(json: &str) -> Result<Vec<Beacon>, BeaconListError> {
    parse_beacon_list_limited(json, MAX_BEACONS)
}

/// The most beacons [`parse_beacon_list`] reads (Edgegap lists a few dozen): a longer list is
/// refused with [`BeaconListError::TooMany`] without being read whole.
pub const MAX_BEACONS: usize = 100_000;

/// [`parse_beacon_list`] with another limit on the number of beacons.
///
/// The list is read in one streaming pass: each entry becomes a [`Beacon`] as it is read, so
/// a large file is never held as a JSON tree beside the beacons.
pub fn parse_beacon_list_limited(json: &str, limit: usize) -> Result<Vec<Beacon>, BeaconListError> {
    use serde::de::DeserializeSeed;
    let mut failure: Option<BeaconListError> = None;
    let mut de = serde_json::Deserializer::from_str(json);
    let parsed = ListSeed {
        limit,
        failure: &mut failure,
    }
    .deserialize(&mut de)
    .and_then(|list| de.end().map(|()| list));
    match (parsed, failure) {
        (_, Some(err)) => Err(err),
        (Ok(list), None) => list.ok_or(BeaconListError::UnknownShape),
        (Err(e), None) => Err(BeaconListError::Json(e)),
    }
}

/// Reads either shape (or a bare array) in one pass; `None` when neither array is there.
/// Errors with their own type (an unusable entry, too many) are left in `failure`.
struct ListSeed<'a> {
    limit: usize,
    failure: &'a mut Option<BeaconListError>,
}

impl<'de> serde::de::DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Option<Vec<Beacon>>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ListSeed<'_> {
    type Value = Option<Vec<Beacon>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a beacon list: {\"locations\": [...]}, {\"beacons\": [...]} or [...]")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        EntriesSeed {
            limit: self.limit,
            failure: self.failure,
        }
        .visit_seq(seq)
        .map(Some)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut locations, mut beacons) = (None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let slot = match key.as_ref() {
                "locations" if locations.is_none() => &mut locations,
                "beacons" if beacons.is_none() => &mut beacons,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value_seed(OptionalEntries {
                limit: self.limit,
                failure: &mut *self.failure,
            })?;
        }
        Ok(locations.or(beacons))
    }
}

/// A `locations` or `beacons` value: an array of entries, or `null`.
struct OptionalEntries<'a> {
    limit: usize,
    failure: &'a mut Option<BeaconListError>,
}

impl<'de> serde::de::DeserializeSeed<'de> for OptionalEntries<'_> {
    type Value = Option<Vec<Beacon>>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> serde::de::Visitor<'de> for OptionalEntries<'_> {
    type Value = Option<Vec<Beacon>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of beacons")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(EntriesSeed {
            limit: self.limit,
            failure: self.failure,
        })
        .map(Some)
    }
}

/// The entries, each made a [`Beacon`] as soon as it is read.
struct EntriesSeed<'a> {
    limit: usize,
    failure: &'a mut Option<BeaconListError>,
}

impl<'de> serde::de::Visitor<'de> for EntriesSeed<'_> {
    type Value = Vec<Beacon>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of beacons")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.limit).min(1024));
        let mut index = 0usize;
        loop {
            if index >= self.limit {
                // One more entry means too many; an array that ends here is fine.
                if seq.next_element::<serde::de::IgnoredAny>()?.is_none() {
                    return Ok(out);
                }
                *self.failure = Some(BeaconListError::TooMany { limit: self.limit });
                return Err(A::Error::custom("too many beacons"));
            }
            let entry = match seq.next_element::<RawBeacon>() {
                Ok(Some(entry)) => entry,
                Ok(None) => return Ok(out),
                Err(e) => {
                    *self.failure = Some(BeaconListError::Entry {
                        index,
                        message: e.to_string(),
                    });
                    return Err(e);
                }
            };
            match entry.into_beacon(index) {
                Ok(beacon) => out.push(beacon),
                Err(err) => {
                    *self.failure = Some(err);
                    return Err(A::Error::custom("unusable beacon"));
                }
            }
            index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_longer_than_the_limit_is_refused_and_one_at_the_limit_is_read() {
        let entry = r#"{"host": "192.0.2.4", "udp_port": 1, "location": {"city": "A"}}"#;
        let list = |n: usize| format!("{{\"locations\": [{}]}}", vec![entry; n].join(","));
        assert_eq!(parse_beacon_list_limited(&list(3), 3).unwrap().len(), 3);
        let err = parse_beacon_list_limited(&list(4), 3).unwrap_err();
        assert!(
            matches!(err, BeaconListError::TooMany { limit: 3 }),
            "{err:?}"
        );
        assert!(err.to_string().contains("more than 3"), "{err}");
        // Both shapes, a bare array, extra keys before and after, and null arrays.
        let both = format!(
            "{{\"count\": 1, \"beacons\": null, \"locations\": [{entry}], \"x\": {{\"y\": [1]}}}}"
        );
        assert_eq!(parse_beacon_list(&both).unwrap().len(), 1);
        assert_eq!(parse_beacon_list(&format!("[{entry}]")).unwrap().len(), 1);
        assert!(matches!(
            parse_beacon_list(r#"{"count": 0}"#),
            Err(BeaconListError::UnknownShape)
        ));
        assert!(matches!(
            parse_beacon_list(r#"{"locations": []} trailing"#),
            Err(BeaconListError::Json(_))
        ));
        assert!(matches!(
            parse_beacon_list("42"),
            Err(BeaconListError::Json(_))
        ));
    }

    #[test]
    fn an_unusable_entry_is_named_by_its_position() {
        let err = parse_beacon_list(
            r#"{"locations": [{"host": "192.0.2.4", "location": {"city": "A", "country": "B"}},
                              {"host": "192.0.2.5"}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, BeaconListError::Entry { index: 1, .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("#1") && text.contains("location"), "{text}");
    }

    #[test]
    fn reads_the_v1_shape() {
        let list = parse_beacon_list(
            r#"{"count": 1, "locations": [{"host": "192.0.2.4", "fqdn": "b.example", "udp_port": 5000,
                "tcp_port": 0, "extra": true, "location": {"city": "Montreal", "country": "Canada",
                "continent": "North America", "administrative_division": "Quebec",
                "timezone": "America/Toronto", "latitude": 45.5, "longitude": -73.6}}]}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].host, "192.0.2.4");
        assert_eq!(list[0].fqdn.as_deref(), Some("b.example"));
        assert_eq!(list[0].udp_port, Some(5000));
        assert_eq!(list[0].tcp_port, None, "port 0 means not available");
        assert_eq!(list[0].location.country, "Canada");
    }

    #[test]
    fn reads_the_matchmaker_shape_and_prefers_the_ip() {
        let list = parse_beacon_list(
            r#"{"count": 2, "beacons": [
                {"fqdn": "t.example", "public_ip": "192.0.2.8", "tcp_port": 9001, "location": {"city": "Tokyo"}},
                {"fqdn": "only.example", "udp_port": null, "location": {"city": "Paris", "country": "France"}}]}"#,
        )
        .unwrap();
        assert_eq!(list[0].host, "192.0.2.8");
        assert_eq!(list[0].tcp_port, Some(9001));
        assert_eq!(list[1].host, "only.example");
        assert_eq!(list[1].udp_port, None);
    }

    #[test]
    fn rejects_what_it_cannot_probe_with_a_clear_error() {
        let err = parse_beacon_list(r#"{"count": 0}"#).unwrap_err();
        assert!(matches!(err, BeaconListError::UnknownShape), "{err}");
        let err =
            parse_beacon_list(r#"{"beacons": [{"location": {"city": "Oslo"}}]}"#).unwrap_err();
        assert!(err.to_string().contains("Oslo"), "{err}");
        let err = parse_beacon_list(
            r#"{"beacons": [{"public_ip": "192.0.2.9", "location": {"city": ""}}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, BeaconListError::NoCity { index: 0, .. }),
            "{err}"
        );
        assert!(matches!(
            parse_beacon_list("not json"),
            Err(BeaconListError::Json(_))
        ));
        assert!(
            parse_beacon_list(r#"{"beacons": [{"public_ip": "x"}]}"#).is_err(),
            "location is required"
        );
    }

    #[test]
    fn the_typed_lists_convert_like_the_parser() {
        let v1: BeaconList = serde_json::from_str(
            r#"{"count": 1, "locations": [{"host": " 192.0.2.4 ", "udp_port": 0, "tcp_port": 9,
                "location": {"city": "Montreal"}}]}"#,
        )
        .unwrap();
        let b = v1.into_beacons().unwrap();
        assert_eq!(b[0].host, "192.0.2.4");
        assert_eq!((b[0].udp_port, b[0].tcp_port), (None, Some(9)));
        let mm: MatchmakerBeaconList = serde_json::from_str(
            r#"{"count": 2, "beacons": [{"fqdn": "a.example", "public_ip": "192.0.2.8", "location": {"city": "Tokyo"}},
                {"fqdn": "b.example", "location": {"city": "Paris"}}]}"#,
        )
        .unwrap();
        let b = mm.into_beacons().unwrap();
        assert_eq!(b[0].host, "192.0.2.8");
        assert_eq!(b[1].host, "b.example");
        let bad = MatchmakerBeaconList {
            count: 1,
            beacons: vec![MatchmakerBeacon {
                location: LocationData {
                    city: "Oslo".into(),
                    ..LocationData::default()
                },
                ..MatchmakerBeacon::default()
            }],
        };
        assert!(matches!(
            bad.into_beacons(),
            Err(BeaconListError::NoAddress { index: 0, .. })
        ));
    }

    #[test]
    fn an_empty_list_is_an_empty_list() {
        assert!(
            parse_beacon_list(r#"{"count": 0, "locations": []}"#)
                .unwrap()
                .is_empty()
        );
    }
}
