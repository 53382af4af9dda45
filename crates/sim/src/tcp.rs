//! The TCP side of a beacon: a listener that accepts and closes at once (the kernel completes
//! the handshake, so no delay can be injected here), or a "silent" listener whose accept queue
//! is kept full so the kernel drops every new SYN and a client's connect times out. A beacon
//! gets one only where that timing follows its scenario
//! ([`BeaconSpec::serves_tcp`](crate::BeaconSpec::serves_tcp)).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::sockets::{self, SockError};
use crate::stats::Counters;

/// Accept backlog of an answering listener.
const BACKLOG: i32 = 1024;

/// How long a filler connection may take before the accept queue is taken to be full.
const FILL_WAIT: Duration = Duration::from_millis(100);

/// Most filler connections tried (Linux needs one with a backlog of 0).
const MAX_FILLERS: usize = 8;

/// Binds a listener on `addr` and spawns a loop that accepts every connection and closes it
/// immediately. Returns the task and the bound address.
pub fn start_acceptor(
    addr: SocketAddr,
    counters: Arc<Counters>,
) -> Result<(JoinHandle<()>, SocketAddr), SockError> {
    let listener = sockets::tcp_listener(addr, BACKLOG)?;
    let local = listener.local_addr().map_err(|e| ("inspect", e))?;
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => {
                    counters.accepted();
                    drop(stream);
                }
                Err(error) => {
                    tracing::debug!(%error, "beacon TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    });
    Ok((task, local))
}

/// A listener nobody accepts from, with its accept queue filled by our own connections.
/// While both are held, a SYN to the port is dropped by the kernel (no SYN-ACK, no RST).
#[derive(Debug)]
pub struct Blackhole {
    _listener: TcpListener,
    _fillers: Vec<TcpStream>,
}

impl Blackhole {
    /// Binds `addr` with a backlog of 0 and fills the queue. Returns the hole and its address.
    pub async fn bind(addr: SocketAddr) -> Result<(Blackhole, SocketAddr), SockError> {
        let listener = sockets::tcp_listener(addr, 0)?;
        let local = listener.local_addr().map_err(|e| ("inspect", e))?;
        let mut fillers = Vec::new();
        while fillers.len() < MAX_FILLERS {
            match tokio::time::timeout(FILL_WAIT, TcpStream::connect(local)).await {
                Ok(Ok(stream)) => fillers.push(stream),
                Ok(Err(e)) => return Err(("fill the accept queue of", e)),
                Err(_elapsed) => break,
            }
        }
        if fillers.len() == MAX_FILLERS {
            return Err((
                "fill the accept queue of",
                std::io::Error::other(format!(
                    "{} filler connections: the kernel does not drop SYNs on a full queue",
                    fillers.len()
                )),
            ));
        }
        Ok((
            Blackhole {
                _listener: listener,
                _fillers: fillers,
            },
            local,
        ))
    }
}
