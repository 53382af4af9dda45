//! The UDP echo responder of one beacon: a receive loop that never sleeps, and a send loop that
//! releases each reply at its deadline (receive instant + delay), in deadline order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::behaviour::{Behaviour, Decision, Payload};
use crate::stats::Counters;

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_536;

/// Pause after a socket error, so a persistent error cannot spin a core.
const ERROR_PAUSE: Duration = Duration::from_millis(5);

/// A reply waiting for its deadline.
#[derive(Debug)]
struct Reply {
    due: Instant,
    /// Arrival order, to keep equal deadlines first-in first-out.
    seq: u64,
    to: SocketAddr,
    bytes: Vec<u8>,
}

impl PartialEq for Reply {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Reply {}
impl PartialOrd for Reply {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Reply {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// Everything the responder needs.
pub struct Responder {
    /// The probed socket.
    pub socket: Arc<UdpSocket>,
    /// The socket replies leave from (the probed one, or another for `wrong_source_port`).
    pub out: Arc<UdpSocket>,
    /// Seeded loss / delay decisions.
    pub behaviour: Behaviour,
    /// How reply bytes are made.
    pub payload: Payload,
    /// Extra copies of each reply.
    pub duplicates: u32,
    /// The beacon's counters.
    pub counters: Arc<Counters>,
}

impl Responder {
    /// Spawns the receive and send loops on the current runtime.
    pub fn spawn(self) -> [JoinHandle<()>; 2] {
        let (queue, rx) = mpsc::unbounded_channel();
        let sender = tokio::spawn(send_loop(
            Arc::clone(&self.out),
            rx,
            self.duplicates,
            Arc::clone(&self.counters),
        ));
        let receiver = tokio::spawn(self.receive_loop(queue));
        [receiver, sender]
    }

    async fn receive_loop(mut self, queue: mpsc::UnboundedSender<Reply>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut seq = 0u64;
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
            seq += 1;
            let reply = Reply {
                due: received_at + delay,
                seq,
                to: from,
                bytes: self.payload.reply(&buf[..len]),
            };
            if delay.is_zero() {
                send(&self.out, &reply, self.duplicates, &self.counters).await;
            } else if queue.send(reply).is_err() {
                return; // the send loop is gone: the beacon is stopping
            }
        }
    }
}

async fn send_loop(
    out: Arc<UdpSocket>,
    mut rx: mpsc::UnboundedReceiver<Reply>,
    duplicates: u32,
    counters: Arc<Counters>,
) {
    let mut pending: BinaryHeap<Reverse<Reply>> = BinaryHeap::new();
    loop {
        let next_due = pending.peek().map(|Reverse(r)| r.due);
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                let now = Instant::now();
                while pending.peek().is_some_and(|Reverse(r)| r.due <= now) {
                    if let Some(Reverse(reply)) = pending.pop() {
                        send(&out, &reply, duplicates, &counters).await;
                    }
                }
            }
            got = rx.recv() => match got {
                Some(reply) => pending.push(Reverse(reply)),
                None => return,
            },
        }
    }
}

async fn send(out: &UdpSocket, reply: &Reply, duplicates: u32, counters: &Counters) {
    let mut sent = false;
    for _ in 0..=duplicates {
        match out.send_to(&reply.bytes, reply.to).await {
            Ok(_) => sent = true,
            Err(error) => tracing::debug!(%error, to = %reply.to, "beacon UDP reply failed"),
        }
    }
    if sent {
        counters.replied();
    }
}
