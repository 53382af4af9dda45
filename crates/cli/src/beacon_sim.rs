//! `beacon`: simulated beacons on loopback, serving until Ctrl-C.

use std::io::IsTerminal;
use std::net::SocketAddr;

use edgegap_beacon_sim::{BeaconSpec, ListShape, Scenario};

use crate::app::write_stdout;
use crate::cli::{BeaconArgs, ShapeArg};
use crate::error::CliError;

const LOOPBACK_ONLY: &str = "simulated beacons are a test tool and only listen on loopback \
                             (127.0.0.0/8 or [::1]); use an address such as 127.0.0.5:9000";

/// Runs `beacon`.
pub async fn run(args: BeaconArgs) -> Result<(), CliError> {
    let scenario = scenario(&args)?;
    let sim = scenario.start().await?;
    let shape = match args.shape {
        ShapeArg::V1 => ListShape::V1,
        ShapeArg::Matchmaker => ListShape::Matchmaker,
    };
    let list = serde_json::to_string_pretty(&sim.beacon_list(shape))
        .map_err(|e| CliError::Other(format!("cannot encode the beacon list: {e}")))?;
    write_stdout(&format!("{list}\n"))?;
    let serving = format!(
        "serving {} simulated beacon(s) until Ctrl-C",
        sim.beacons().len()
    );
    if std::io::stderr().is_terminal() {
        eprintln!("{serving}");
    } else {
        tracing::info!("{serving}");
    }
    let stopped = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    stopped.map_err(|e| CliError::Other(format!("cannot wait for Ctrl-C: {e}")))
}

/// The scenario the arguments describe: a file, or one beacon per `--listen`.
fn scenario(args: &BeaconArgs) -> Result<Scenario, CliError> {
    if let Some(path) = &args.scenario {
        if !(args.delay_ms.is_empty() && args.jitter_ms.is_empty() && args.loss.is_empty()) {
            return Err(CliError::usage(
                "--delay-ms, --jitter-ms and --loss go with --listen, not with --scenario",
                "set them per beacon in the scenario file",
            ));
        }
        let scenario = Scenario::load(path).map_err(|e| CliError::BadInput(e.to_string()))?;
        if let Some(b) = scenario.beacons.iter().find(|b| !b.address.is_loopback()) {
            return Err(CliError::usage(
                format!("{}: address {} is not loopback", b.city, b.address),
                LOOPBACK_ONLY,
            ));
        }
        if scenario.beacons.is_empty() {
            return Err(CliError::BadInput(format!(
                "the scenario {} has no beacon",
                path.display()
            )));
        }
        return Ok(scenario);
    }
    if args.listen.is_empty() {
        return Err(CliError::usage(
            "no beacon to run",
            "give --listen 127.0.0.5:9000 (repeatable) or --scenario FILE, e.g. \
             crates/sim/scenarios/demo.toml",
        ));
    }
    let n = args.listen.len();
    let delay = per_beacon("--delay-ms", &args.delay_ms, n)?;
    let jitter = per_beacon("--jitter-ms", &args.jitter_ms, n)?;
    let loss = per_beacon("--loss", &args.loss, n)?;
    let mut beacons = Vec::with_capacity(n);
    for (i, listen) in args.listen.iter().enumerate() {
        let (city, addr) = parse_listen(listen, i)?;
        let mut spec = BeaconSpec::new(&city, addr.ip(), delay(i));
        spec.udp_port = addr.port();
        spec.tcp_port = addr.port();
        spec.jitter_ms = jitter(i);
        spec.loss = loss(i);
        beacons.push(spec);
    }
    let scenario = Scenario { seed: 0, beacons };
    scenario
        .validate()
        .map_err(|e| CliError::usage(e.to_string(), "see `edgegap-probe beacon --help`"))?;
    Ok(scenario)
}

/// A value given once (for all) or once per beacon; 0 when not given.
fn per_beacon<'a>(
    flag: &str,
    values: &'a [f64],
    beacons: usize,
) -> Result<impl Fn(usize) -> f64 + 'a, CliError> {
    if values.len() > 1 && values.len() != beacons {
        return Err(CliError::usage(
            format!("{flag} given {} times for {beacons} --listen", values.len()),
            format!("give {flag} once for all beacons or once per --listen, in the same order"),
        ));
    }
    Ok(move |i: usize| match values {
        [] => 0.0,
        [one] => *one,
        many => many[i],
    })
}

/// `[CITY=]ADDR:PORT`, loopback only.
fn parse_listen(text: &str, index: usize) -> Result<(String, SocketAddr), CliError> {
    let (city, addr) = match text.split_once('=') {
        Some((city, addr)) => (city.trim().to_owned(), addr.trim()),
        None => (format!("Beacon {}", index + 1), text.trim()),
    };
    let addr: SocketAddr = addr.parse().map_err(|_| {
        CliError::usage(
            format!("--listen {text:?} is not [CITY=]ADDRESS:PORT"),
            "e.g. --listen 127.0.0.5:9000 or --listen Montreal=127.0.0.5:9000 (IPv6: [::1]:9000)",
        )
    })?;
    if !addr.ip().is_loopback() {
        return Err(CliError::usage(
            format!("--listen {addr}: not a loopback address"),
            LOOPBACK_ONLY,
        ));
    }
    if city.is_empty() {
        return Err(CliError::usage(
            format!("--listen {text:?}: the city is empty"),
            "write --listen CITY=ADDRESS:PORT or leave out `CITY=`",
        ));
    }
    Ok((city, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_accepts_loopback_only() {
        let (city, addr) = parse_listen("Montreal=127.0.0.5:9000", 0).unwrap();
        assert_eq!((city.as_str(), addr.port()), ("Montreal", 9000));
        let (city, addr) = parse_listen("[::1]:0", 2).unwrap();
        assert_eq!((city.as_str(), addr.port()), ("Beacon 3", 0));
        let err = parse_listen("192.0.2.1:9000", 0).unwrap_err();
        assert!(err.hint().unwrap().contains("loopback"), "{err}");
        assert_eq!(err.exit_code(), crate::exit::USAGE);
        assert!(parse_listen("127.0.0.1", 0).is_err());
    }

    #[test]
    fn values_apply_to_all_or_one_each() {
        let all = per_beacon("--delay-ms", &[40.0], 3).unwrap();
        assert!((all(2) - 40.0).abs() < f64::EPSILON);
        let each = per_beacon("--delay-ms", &[1.0, 2.0], 2).unwrap();
        assert!((each(1) - 2.0).abs() < f64::EPSILON);
        let none = per_beacon("--loss", &[], 2).unwrap();
        assert!(none(1).abs() < f64::EPSILON);
        assert!(per_beacon("--delay-ms", &[1.0, 2.0], 3).is_err());
    }
}
