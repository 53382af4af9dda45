//! Where the beacons come from: a file or stdin, `--beacon` flags, the matchmaker, the API.

use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use edgegap_probe::api::redact::url_without_userinfo;
use edgegap_probe::{Beacon, LocationData, Protocol, parse_beacon_list};

use crate::beacons::{api_client, matchmaker_client};
use crate::cli::SourceArgs;
use crate::error::CliError;

/// One `--beacon CITY=HOST:PORT[/udp|/tcp]` or `CITY=HOST/icmp`.
#[derive(Debug, Clone, PartialEq)]
pub struct BeaconFlag(pub Beacon);

const SYNTAX: &str = "expected CITY=HOST:PORT[/udp|/tcp] or CITY=HOST/icmp, e.g. \
                      Montreal=127.0.0.5:9000, Tokyo=[::1]:9000/tcp, Paris=192.0.2.7/icmp";

impl FromStr for BeaconFlag {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (city, rest) = text
            .split_once('=')
            .ok_or_else(|| format!("no `=` after the city; {SYNTAX}"))?;
        let city = city.trim();
        if city.is_empty() {
            return Err(format!("the city is empty; {SYNTAX}"));
        }
        let (address, protocol) = match rest.rsplit_once('/') {
            Some((address, name)) => (
                address,
                name.parse::<Protocol>()
                    .map_err(|_| format!("unknown protocol {name:?}; {SYNTAX}"))?,
            ),
            None => (rest, Protocol::Udp),
        };
        let (host, port) = split_host_port(address, protocol)?;
        let (udp_port, tcp_port) = match protocol {
            Protocol::Udp => (port, None),
            Protocol::Tcp => (None, port),
            Protocol::Icmp => (None, None),
        };
        Ok(BeaconFlag(Beacon {
            host,
            fqdn: None,
            udp_port,
            tcp_port,
            location: LocationData {
                city: city.to_owned(),
                ..LocationData::default()
            },
        }))
    }
}

/// Splits `HOST:PORT`, `[V6]:PORT`, or (ICMP) a bare `HOST` / `V6` / `[V6]`.
fn split_host_port(address: &str, protocol: Protocol) -> Result<(String, Option<u16>), String> {
    let address = address.trim();
    let (host, port) = if let Some(inner) = address.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("missing `]` after an IPv6 address; {SYNTAX}"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("expected `:PORT` after `]`; {SYNTAX}"))?,
            ),
        };
        (host, port)
    } else if protocol == Protocol::Icmp && address.matches(':').count() > 1 {
        (address, None) // a bare IPv6 address
    } else {
        match address.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err(format!(
                    "write an IPv6 address with a port in brackets, e.g. [::1]:9000; {SYNTAX}"
                ));
            }
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(format!("the host is empty; {SYNTAX}"));
    }
    let port = match (protocol, port) {
        (Protocol::Icmp, Some(_)) => {
            return Err(format!("ICMP has no port: write CITY=HOST/icmp; {SYNTAX}"));
        }
        (Protocol::Icmp, None) => None,
        (_, None) => return Err(format!("the port is missing; {SYNTAX}")),
        (_, Some(p)) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{p:?} is not a port (1-65535); {SYNTAX}"))?,
        ),
    };
    Ok((host.to_owned(), port))
}

/// Reads a beacon-list file (`-`: stdin) of either shape.
pub fn read_file(path: &Path) -> Result<Vec<Beacon>, CliError> {
    let read_error = |source| CliError::Read {
        path: path.to_owned(),
        source,
    };
    let (text, from) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(read_error)?;
        (text, "stdin".to_owned())
    } else {
        (
            std::fs::read_to_string(path).map_err(read_error)?,
            path.display().to_string(),
        )
    };
    // (A file that is not UTF-8 fails above with InvalidData; the hint says so.)
    let beacons = parse_beacon_list(&text).map_err(|source| CliError::BeaconList {
        from: from.clone(),
        source,
    })?;
    if beacons.is_empty() {
        return Err(CliError::EmptyList { from });
    }
    Ok(beacons)
}

/// Whether the arguments name any beacon source.
pub fn has_local(source: &SourceArgs) -> bool {
    source.beacons_file.is_some() || !source.beacon.is_empty()
}

/// The beacons: file and flags when given, else the matchmaker's list, else the API's.
pub async fn load(source: &SourceArgs) -> Result<Vec<Beacon>, CliError> {
    if has_local(source) {
        let mut beacons = match &source.beacons_file {
            Some(path) => read_file(path)?,
            None => Vec::new(),
        };
        beacons.extend(source.beacon.iter().map(|flag| flag.0.clone()));
        return Ok(beacons);
    }
    let (beacons, from) = if source.matchmaker.matchmaker_url.is_some() {
        let (client, url) = matchmaker_client(&source.matchmaker)?;
        (client.beacons().await?, url_without_userinfo(&url))
    } else if source.api.api_token.is_some() {
        let client = api_client(&source.api)?;
        (
            client.beacons().await?,
            url_without_userinfo(&source.api.api_url),
        )
    } else {
        return Err(CliError::usage(
            "no beacons to probe",
            "give --beacons-file FILE (or - for stdin), --beacon CITY=HOST:PORT, --matchmaker-url \
             URL with its token, or an API token (--api-token / EDGEGAP_API_TOKEN); \
             `edgegap-probe demo` needs none",
        ));
    };
    tracing::info!(count = beacons.len(), %from, "beacon list fetched");
    if beacons.is_empty() {
        return Err(CliError::EmptyList { from });
    }
    Ok(beacons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(text: &str) -> Beacon {
        text.parse::<BeaconFlag>().unwrap().0
    }

    #[test]
    fn parses_every_documented_form() {
        let b = flag("Montreal=127.0.0.5:9000");
        assert_eq!(
            (b.host.as_str(), b.udp_port, b.tcp_port),
            ("127.0.0.5", Some(9000), None)
        );
        assert_eq!(b.location.city, "Montreal");
        let b = flag("New York=beacon.invalid:9001/tcp");
        assert_eq!(
            (b.host.as_str(), b.udp_port, b.tcp_port),
            ("beacon.invalid", None, Some(9001))
        );
        assert_eq!(b.location.city, "New York");
        let b = flag("Oslo=[::1]:9000/udp");
        assert_eq!((b.host.as_str(), b.udp_port), ("::1", Some(9000)));
        for icmp in ["Paris=127.0.0.9/icmp", "Paris=::1/icmp", "Paris=[::1]/icmp"] {
            let b = flag(icmp);
            assert_eq!((b.udp_port, b.tcp_port), (None, None), "{icmp}");
            assert!(!b.host.is_empty() && !b.host.contains('['), "{icmp}");
        }
    }

    #[test]
    fn rejects_bad_syntax_with_the_expected_form() {
        for bad in [
            "Montreal",
            "=127.0.0.1:9000",
            "Montreal=127.0.0.1",
            "Montreal=127.0.0.1:0",
            "Montreal=127.0.0.1:99999",
            "Montreal=127.0.0.1:9000/sctp",
            "Montreal=::1:9000",
            "Montreal=127.0.0.1:9000/icmp",
            "Montreal=:9000",
            "Montreal=[::1:9000",
        ] {
            let err = bad.parse::<BeaconFlag>().unwrap_err();
            assert!(err.contains("CITY=HOST:PORT"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_missing_file_names_the_file() {
        let err = read_file(Path::new("/nonexistent/beacons.json")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/beacons.json"),
            "{err}"
        );
        assert_eq!(err.exit_code(), crate::exit::FAILURE);
    }
}
