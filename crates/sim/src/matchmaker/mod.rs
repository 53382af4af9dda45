//! A simulated Edgegap matchmaker on loopback: a peer for the ticket and party flows, never a
//! mock of them. Real HTTP/1.1 over real sockets on 127.0.0.1, the endpoints and shapes of
//! Edgegap's matchmaker API (see `crates/sim/README.md`):
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `monitor` | `{"status": "HEALTHY"}` |
//! | GET | `locations/beacons` | the configured list (matchmaker shape) |
//! | POST | `tickets` | 201, a ticket `SEARCHING` (400 without `profile` / `attributes`) |
//! | GET | `tickets/{id}` | the ticket; each poll moves it on: `SEARCHING` → `MATCH_FOUND` → `HOST_ASSIGNED` with an assignment |
//! | DELETE | `tickets/{id}` | 204 while `SEARCHING`, 409 once matched, 404 when gone |
//! | POST | `groups` | 201, the group with the owner's `member_id` |
//! | GET / DELETE | `groups/{gid}` | the group with its members / 204 |
//! | POST | `groups/{gid}/members` | 201, the member `SEARCHING` |
//! | GET / PATCH / DELETE | `groups/{gid}/members/{mid}` | the member (its polls move it on only once every member is ready) / `{"is_ready": bool}` / leave (as a ticket DELETE) |
//!
//! Every request must carry the configured token raw in `Authorization` (else 401), and
//! [`Fault`]s inject 429 (with `Retry-After`), 5xx, 404 or 409 before the normal answer.

mod config;
mod http;
mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Fault, MatchmakerConfig};
pub use http::{HttpRequest, HttpResponse};
use state::MatchmakerState;

/// One request the simulated matchmaker answered: method, path and the status it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, e.g. `/tickets/ticket-1`.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

/// A running simulated matchmaker; stops when [`MatchmakerSim::shutdown`] is called or it is
/// dropped.
#[derive(Debug)]
pub struct MatchmakerSim {
    addr: SocketAddr,
    served: Arc<Mutex<Vec<Served>>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MatchmakerSim {
    /// Listens on 127.0.0.1 (a free port) and serves until shut down. Inside a tokio runtime.
    pub async fn start(config: MatchmakerConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let served = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(Mutex::new(MatchmakerState::new(config)));
        let (stop, mut stopped) = watch::channel(false);
        let log = Arc::clone(&served);
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stopped.changed() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((mut stream, _)) = accepted else {
                    continue;
                };
                let (state, log) = (Arc::clone(&state), Arc::clone(&log));
                tokio::spawn(async move {
                    let (request, response) = match http::read_request(&mut stream).await {
                        Ok(request) => {
                            let response = state
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .handle(&request);
                            (Some(request), response)
                        }
                        Err(refused) => (None, refused),
                    };
                    if let Some(request) = request {
                        tracing::debug!(method = %request.method, path = %request.path, status = response.status, "matchmaker-sim answered");
                        log.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(Served {
                                method: request.method,
                                path: request.path,
                                status: response.status,
                            });
                    }
                    let _ = http::write_response(&mut stream, &response).await;
                });
            }
        });
        Ok(Self {
            addr,
            served,
            stop,
            task,
        })
    }

    /// The address it listens on (127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request answered so far, in order.
    pub fn served(&self) -> Vec<Served> {
        self.served
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops listening and waits for the accept loop to end.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests;
