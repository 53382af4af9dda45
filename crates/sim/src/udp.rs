//! The UDP echo responder of one beacon: a receive loop that never sleeps. It stamps each
//! datagram with its receive instant and hands the reply, due at that instant plus the delay,
//! to the simulation's [`Scheduler`](crate::scheduler::Scheduler).

use std::net::UdpSocket as StdUdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::behaviour::{Behaviour, Decision, Payload};
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
}

impl Responder {
    /// Spawns the receive loop on the current runtime.
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(self.receive_loop())
    }

    async fn receive_loop(mut self) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let (len, from) = match self.socket.recv_from(&mut buf).await {
                Ok(got) => got,
                Err(error) => {
                    tracing::debug!(%error, "beacon UDP receive failed");
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            };
            let received_at = Instant::now();
            self.counters.received();
            let delay = match self.behaviour.decide() {
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
            };
            if delay.is_zero() {
                scheduler::send(&reply);
            } else {
                self.queue.schedule(reply);
            }
        }
    }
}
