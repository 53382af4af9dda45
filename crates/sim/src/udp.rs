//! The UDP echo responder of one beacon: a receive loop that never sleeps. It stamps each
//! datagram with its receive instant and hands the reply, due at that instant plus the delay,
//! to the simulation's [`Scheduler`](crate::scheduler::Scheduler). A hostile beacon's
//! forgeries go the same way (sprays are sent from the loop itself, between datagrams).

use std::net::UdpSocket as StdUdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::behaviour::{Behaviour, Decision, Payload};
use crate::hostile::{Forged, Hostile};
use crate::scheduler::{self, Queue, Timed};
use crate::stats::Counters;

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_536;

/// Pause after a socket error, so a persistent error cannot spin a core.
const ERROR_PAUSE: Duration = Duration::from_millis(5);

/// Everything the responder needs.
pub struct Responder {
    /// The probed socket.
    pub socket: UdpSocket,
    /// The socket replies leave from (non-blocking): the probed one (a duplicate handle), or
    /// another one for `wrong_source_port`.
    pub out: Arc<StdUdpSocket>,
    /// Seeded loss / delay decisions.
    pub behaviour: Behaviour,
    /// How reply bytes are made.
    pub payload: Payload,
    /// Extra copies of each reply.
    pub duplicates: u32,
    /// The beacon's counters.
    pub counters: Arc<Counters>,
    /// Where delayed replies go.
    pub queue: Queue,
    /// The hostile modes, if any (the beacon then never echoes).
    pub hostile: Option<Hostile>,
    /// When the simulation started: time zero of the shared congestion timeline.
    pub epoch: Instant,
}

impl Responder {
    /// Spawns the receive loop on the current runtime.
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(self.receive_loop())
    }

    async fn receive_loop(mut self) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let spray_at = self.hostile.as_ref().and_then(Hostile::next_spray);
            let received = tokio::select! {
                received = self.socket.recv_from(&mut buf) => received,
                () = sleep_until(spray_at) => {
                    if let Some(hostile) = &mut self.hostile {
                        let spray = hostile.spray(Instant::now());
                        self.send_forged(spray);
                    }
                    continue;
                }
            };
            let (len, from) = match received {
                Ok(got) => got,
                Err(error) => {
                    tracing::debug!(%error, "beacon UDP receive failed");
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            };
            let received_at = Instant::now();
            self.counters.received();
            if let Some(hostile) = &mut self.hostile {
                let forged = hostile.on_probe(&buf[..len], from, received_at);
                self.send_forged(forged);
            }
            let at = received_at.saturating_duration_since(self.epoch);
            let delay = match self.behaviour.decide(at) {
                Decision::Drop => {
                    self.counters.dropped();
                    continue;
                }
                Decision::Reply(delay) => delay,
            };
            let reply = Timed {
                due: received_at + delay,
                to: from,
                bytes: self.payload.reply(&buf[..len]),
                socket: Arc::clone(&self.out),
                duplicates: self.duplicates,
                counters: Arc::clone(&self.counters),
                forged: false,
            };
            if delay.is_zero() {
                scheduler::send(&reply);
            } else {
                self.queue.schedule(reply);
            }
        }
    }

    /// Sends what is due now at once, and queues the rest for its instant.
    fn send_forged(&self, forged: Vec<Forged>) {
        let now = Instant::now();
        for f in forged {
            let timed = Timed {
                due: f.due,
                to: f.to,
                bytes: f.bytes,
                socket: Arc::clone(&self.out),
                duplicates: 0,
                counters: Arc::clone(&self.counters),
                forged: true,
            };
            if timed.due <= now {
                scheduler::send(&timed);
            } else {
                self.queue.schedule(timed);
            }
        }
    }
}

/// Waits until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
