//! TCP probes: the time of a non-blocking connect's handshake.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpSocket;
use tokio::sync::{Semaphore, mpsc};

use super::Inbound;
use crate::machine::ProbeKey;

/// Connects to `dest` once (after a permit from `connects`), reports the handshake
/// time, a refusal or a failure, and closes with `SO_LINGER` 0 (a RST, no TIME_WAIT).
/// Reports nothing when `limit` passes first: the core times the probe out itself.
pub(crate) async fn probe(
    key: ProbeKey,
    dest: SocketAddr,
    limit: Duration,
    connects: Arc<Semaphore>,
    inbound: mpsc::UnboundedSender<Inbound>,
) {
    let Ok(_permit) = connects.acquire_owned().await else {
        return;
    };
    let outcome = match connect(dest, limit).await {
        Ok(Some(rtt)) => Inbound::Reply { key, rtt },
        Ok(None) => return,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Inbound::Refused { key },
        Err(e) => Inbound::Failed {
            key,
            error: format!("TCP connect to {dest}: {e}"),
        },
    };
    // The run may be over; then nobody listens any more.
    let _ = inbound.send(outcome);
}

async fn connect(dest: SocketAddr, limit: Duration) -> io::Result<Option<Duration>> {
    let socket = if dest.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_zero_linger()?;
    let start = Instant::now();
    match tokio::time::timeout(limit, socket.connect(dest)).await {
        Ok(Ok(stream)) => {
            let rtt = start.elapsed();
            // Linger 0: closing sends a RST and leaves no TIME_WAIT behind.
            drop(stream);
            Ok(Some(rtt))
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(None),
    }
}
