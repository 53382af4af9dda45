//! List the beacons of a matchmaker, probe them, submit a ticket with the latencies and wait
//! for the server assignment.
//!
//! ```sh
//! # against your matchmaker (its own token, sent raw):
//! EDGEGAP_MATCHMAKER_TOKEN=... cargo run --example matchmaker_ticket -- https://abc.edgegap.net casual
//! # offline: a tiny fake matchmaker on 127.0.0.1 serving simulated beacons
//! cargo run --example matchmaker_ticket
//! ```

use std::time::Duration;

use edgegap_probe::api::matchmaker::TicketRequest;
use edgegap_probe::api::{CancellationToken, MatchmakerClient, MatchmakerToken, WaitOptions};
use edgegap_probe::{Probe, ProbeConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next();
    let profile = args.next().unwrap_or_else(|| "casual".to_owned());

    // Offline: simulated beacons and a fake matchmaker that knows them.
    let mut offline = None;
    let (url, token) = if let Some(url) = url {
        let token = std::env::var("EDGEGAP_MATCHMAKER_TOKEN").unwrap_or_default();
        (url, token)
    } else {
        let sim = edgegap_beacon_sim::Scenario::demo().start().await?;
        let url = fake::start(sim.beacon_list_matchmaker(), fake::TOKEN).await?;
        println!(
            "No URL given: fake matchmaker on {url} with {} simulated beacons.",
            sim.beacons().len()
        );
        offline = Some(sim);
        (url, fake::TOKEN.to_owned())
    };

    // 1. The beacon list, from the matchmaker (never from the Edgegap API in a game client).
    let client = MatchmakerClient::new(url, MatchmakerToken::new(token))?;
    let beacons = client.beacons().await?;
    println!("{} beacons", beacons.len());

    // 2. Probe them and rank the locations.
    let report = Probe::builder()
        .beacons(beacons)
        .config(ProbeConfig::default())
        .run()
        .await?;
    let Some(best) = report.best() else {
        return Err("no location reachable: not creating a ticket".into());
    };
    println!("closest: {} ({:.1} ms)", best.city, best.statistic_ms);

    // 3. The ticket carries the `beacons` attribute: reachable cities only, in milliseconds.
    let latencies: Vec<(String, f64)> = report.payload["beacons"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(city, ms)| Some((city.clone(), ms.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let ticket = client
        .create_ticket(&TicketRequest::new(profile, latencies))
        .await?;
    println!("ticket {} created ({:?})", ticket.id, ticket.status);

    // 4. Poll until a server is assigned (cancelling the token would delete the ticket).
    let options = WaitOptions {
        poll_interval: Duration::from_millis(250),
        timeout: Some(Duration::from_secs(120)),
        ..WaitOptions::default()
    };
    let assignment = client
        .wait_for_assignment(&ticket.id, &options, &CancellationToken::new())
        .await?;
    println!("server: {} ({})", assignment.fqdn, assignment.public_ip);
    for (name, port) in &assignment.ports {
        println!("  {name}: {} ({})", port.link, port.protocol);
    }

    if let Some(sim) = offline {
        sim.shutdown().await;
    }
    Ok(())
}

/// A fake matchmaker good enough for this example: raw HTTP/1.1 over tokio, one request per
/// connection, on 127.0.0.1. It checks the raw token, serves the beacon list, accepts one kind
/// of ticket and assigns it a server on the second poll.
mod fake {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use serde_json::{Value, json};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// The token the fake matchmaker accepts.
    pub const TOKEN: &str = "local-fake-token";

    /// Starts serving; returns the base URL.
    pub async fn start(beacons: Value, token: &'static str) -> std::io::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let polls = Arc::new(AtomicU32::new(0));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (beacons, polls) = (beacons.clone(), Arc::clone(&polls));
                tokio::spawn(async move {
                    let _ = serve(stream, &beacons, token, &polls).await;
                });
            }
        });
        Ok(url)
    }

    async fn serve(
        mut stream: TcpStream,
        beacons: &Value,
        token: &str,
        polls: &AtomicU32,
    ) -> std::io::Result<()> {
        // Read the head, then as much body as Content-Length says.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = &buf[head_end.min(buf.len())..];
        let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
        let (method, path) = (
            request_line.next().unwrap_or_default(),
            request_line.next().unwrap_or_default(),
        );

        let authorized = header("authorization").as_deref() == Some(token);
        let (status, reply) = if authorized {
            match (method, path) {
                ("GET", "/locations/beacons") => (200, beacons.clone()),
                ("POST", "/tickets") => {
                    let request: Value = serde_json::from_slice(body).unwrap_or_default();
                    println!(
                        "  fake matchmaker got ticket attributes {}",
                        request["attributes"]
                    );
                    (
                        201,
                        json!({"id": "t-1", "profile": request["profile"], "status": "SEARCHING"}),
                    )
                }
                ("GET", "/tickets/t-1") if polls.fetch_add(1, Ordering::Relaxed) == 0 => {
                    (200, json!({"id": "t-1", "status": "SEARCHING"}))
                }
                ("GET", "/tickets/t-1") => (
                    200,
                    json!({"id": "t-1", "status": "HOST_ASSIGNED", "assignment": {
                    "fqdn": "local.example.invalid", "public_ip": "127.0.0.1",
                    "ports": {"game": {"internal": 7777, "external": 31000, "link": "127.0.0.1:31000", "protocol": "UDP"}},
                    "location": {"city": "Montreal", "country": "Canada"}}}),
                ),
                ("DELETE", "/tickets/t-1") => (204, Value::Null),
                _ => (404, json!({"message": "not found"})),
            }
        } else {
            (401, json!({"message": "Unauthorized"}))
        };
        let body = if reply.is_null() {
            String::new()
        } else {
            reply.to_string()
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    }
}
