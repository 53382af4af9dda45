//! The reply clock: one OS thread per simulation that sends each delayed reply at its deadline.
//!
//! tokio's timer wheel rounds every deadline up to the next millisecond, which would make every
//! simulated RTT about 1 ms too long. A thread waiting on a condition variable with the exact
//! remaining time wakes within tens of microseconds instead, and costs no CPU while waiting.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::stats::Counters;

/// A reply to send at `due`.
#[derive(Debug)]
pub struct Timed {
    /// When to send it.
    pub due: Instant,
    /// Where to send it.
    pub to: SocketAddr,
    /// What to send.
    pub bytes: Vec<u8>,
    /// The socket to send it from (non-blocking).
    pub socket: Arc<UdpSocket>,
    /// Extra copies to send.
    pub duplicates: u32,
    /// Counters of the beacon that answers.
    pub counters: Arc<Counters>,
    /// A hostile beacon's forgery or junk, counted in `udp_forged` (each copy), not as a reply.
    pub forged: bool,
}

/// Heap entry: ordered by deadline, then by arrival (first in, first out).
#[derive(Debug)]
struct Entry {
    seq: u64,
    reply: Timed,
}

impl Entry {
    fn key(&self) -> (Instant, u64) {
        (self.reply.due, self.seq)
    }
}
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

#[derive(Debug, Default)]
struct State {
    pending: BinaryHeap<Reverse<Entry>>,
    next_seq: u64,
    stopped: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the heap inconsistent: keep going with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A cheap handle to queue replies on a [`Scheduler`].
#[derive(Debug, Clone)]
pub struct Queue {
    shared: Arc<Shared>,
}

impl Queue {
    /// Queues `reply` for its deadline. Ignored once the scheduler is stopped.
    pub fn schedule(&self, reply: Timed) {
        let mut state = self.shared.lock();
        if state.stopped {
            return;
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let earliest = state
            .pending
            .peek()
            .is_none_or(|Reverse(e)| reply.due < e.reply.due);
        state.pending.push(Reverse(Entry { seq, reply }));
        drop(state);
        if earliest {
            self.shared.wake.notify_one();
        }
    }
}

/// The reply thread of one simulation. Dropping it stops the thread and drops what is pending.
#[derive(Debug)]
pub struct Scheduler {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Scheduler> {
        let shared = Arc::new(Shared::default());
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("beacon-sim-replies".to_owned())
            .spawn(move || run(&for_thread))?;
        Ok(Scheduler {
            shared,
            thread: Some(thread),
        })
    }

    /// A handle to queue replies.
    pub fn queue(&self) -> Queue {
        Queue {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops the thread, drops pending replies (and their socket handles) and waits for it.
    pub fn stop(&mut self) {
        let mut state = self.shared.lock();
        state.stopped = true;
        state.pending.clear();
        drop(state);
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("beacon-sim reply thread panicked");
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.stopped {
            return;
        }
        let now = Instant::now();
        let next_due = state.pending.peek().map(|Reverse(e)| e.reply.due);
        state = match next_due {
            None => shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
            Some(due) if due > now => {
                shared
                    .wake
                    .wait_timeout(state, due - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            Some(_) => {
                let Some(Reverse(entry)) = state.pending.pop() else {
                    continue;
                };
                drop(state);
                send(&entry.reply);
                shared.lock()
            }
        };
    }
}

/// Sends a reply and its copies on a non-blocking socket; counts it as replied if one copy left
/// (a forgery: every copy that left, as forged).
pub fn send(reply: &Timed) {
    let mut sent = 0;
    for _ in 0..=reply.duplicates {
        sent += u64::from(send_one(&reply.socket, &reply.bytes, reply.to));
    }
    if reply.forged {
        reply.counters.forged(sent);
    } else if sent > 0 {
        reply.counters.replied();
    }
}

fn send_one(socket: &UdpSocket, bytes: &[u8], to: SocketAddr) -> bool {
    // Loopback frees send-buffer space at once, so WouldBlock is rare and short.
    for _ in 0..50 {
        match socket.send_to(bytes, to) {
            Ok(_) => return true,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_micros(100));
            }
            Err(error) => {
                tracing::debug!(%error, %to, "beacon UDP reply failed");
                return false;
            }
        }
    }
    tracing::debug!(%to, "beacon UDP reply dropped: send buffer full");
    false
}
