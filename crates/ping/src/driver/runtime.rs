//! The runtime's driver: the run as a task on the caller's tokio runtime, waiting on its
//! sockets through the reactor and on its next deadline with [`timer::Timer`]. Every run that
//! the dedicated thread (`direct.rs`) does not take: names to resolve, TCP probes, platforms
//! other than Linux and Android, or `EngineConfig::dedicated_thread` off.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::{
    Command, Ended, Inbound, Read, Sink, apply, echo_packet, family_slot, icmp, next_wake, sys,
    take_datagram, take_echo, take_queued_error, tcp, timer, udp_packet,
};
use crate::machine::{Channel, Family, Machine, Transmit};
use crate::types::Ports;
use edgegap_core::Unreachable;

/// Events handed to the reader between two yields (below tokio's budget of 128 operations per
/// poll, so a reader on the same thread empties the channel before the engine runs again).
const FORWARD_BATCH: usize = 64;

/// Everything the engine task owns.
pub(crate) struct Engine {
    pub(crate) machine: Machine,
    pub(crate) ports: Vec<Ports>,
    pub(crate) names: Vec<(usize, String)>,
    pub(crate) udp4: Result<UdpSocket, String>,
    pub(crate) udp6: Result<UdpSocket, String>,
    /// Whether a UDP probe was sent (from then on the UDP sockets are watched).
    pub(crate) udp_sent: bool,
    /// The ICMP sockets (V4, V6), opened for the first target that needs one.
    pub(crate) icmp: [Option<Result<icmp::IcmpSocket, Unreachable>>; 2],
    /// The echo identifier of the run's raw ICMP sockets.
    pub(crate) icmp_ident: u16,
    pub(crate) connects: Arc<Semaphore>,
    pub(crate) tasks: JoinSet<()>,
    pub(crate) inbound_tx: mpsc::UnboundedSender<Inbound>,
    pub(crate) inbound: mpsc::UnboundedReceiver<Inbound>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    /// Where the events go.
    pub(crate) sink: Sink,
    pub(crate) token: CancellationToken,
    /// Waits for the core's next deadline with microsecond precision (pacing).
    pub(crate) timer: timer::Timer,
    /// The probe being sent (UDP payload, or ICMP header and payload), reused for every probe.
    pub(crate) packet: Vec<u8>,
    /// Since when events are held back ([`EngineConfig::forward_every`]).
    pub(crate) held_since: Option<Instant>,
}

impl Engine {
    pub(crate) async fn run(mut self) -> Ended {
        for (index, name) in std::mem::take(&mut self.names) {
            let tx = self.inbound_tx.clone();
            self.tasks.spawn(async move {
                let result = tokio::net::lookup_host((name.as_str(), 0))
                    .await
                    .map(|addrs| addrs.map(|a| a.ip()).collect())
                    .map_err(|e| e.to_string());
                let _ = tx.send(Inbound::Resolved { index, result });
            });
        }
        for index in 0..self.machine.len() {
            self.check_channel(index);
        }
        let mut buf4 = vec![0u8; 65_536];
        let mut buf6 = vec![0u8; 65_536];
        let mut icmp_buf = vec![0u8; 65_536];
        let mut cancelled = false;
        // Made once, not on every pass of the loop (each pass polls every branch afresh).
        let cancel = self.token.clone().cancelled_owned();
        tokio::pin!(cancel);
        loop {
            self.machine.handle_timeout(Instant::now());
            self.transmit().await;
            self.forward_events().await;
            if self.machine.is_finished() {
                break;
            }
            let wake = next_wake(&self.machine, self.held_since, self.sink.next_look());
            // The UDP sockets are watched once a UDP probe went out: before, nothing on them
            // can be an answer, and a run without UDP targets (ICMP, TCP) saves four polls
            // per pass.
            let udp4 = self.udp4.as_ref().ok().filter(|_| self.udp_sent);
            let udp6 = self.udp6.as_ref().ok().filter(|_| self.udp_sent);
            let [icmp4, icmp6] = self
                .icmp
                .each_ref()
                .map(|s| s.as_ref().and_then(|s| s.as_ref().ok()));
            tokio::select! {
                biased;
                () = &mut cancel, if !cancelled => {
                    cancelled = true;
                    self.machine.cancel(Instant::now());
                }
                Some(command) = self.commands.recv() => {
                    apply(&mut self.machine, command);
                }
                // A branch whose socket is missing is not polled at all (`if`): every pass
                // of the loop builds and polls the enabled branches afresh.
                () = readable(udp4), if udp4.is_some() => {
                    drain_datagrams(&mut self.machine, Family::V4, udp4, &mut buf4);
                }
                () = readable(udp6), if udp6.is_some() => {
                    drain_datagrams(&mut self.machine, Family::V6, udp6, &mut buf6);
                }
                () = error_ready(udp4), if udp4.is_some() => {
                    drain_errors(&mut self.machine, Family::V4, udp4, &mut buf4);
                }
                () = error_ready(udp6), if udp6.is_some() => {
                    drain_errors(&mut self.machine, Family::V6, udp6, &mut buf6);
                }
                () = readable(icmp4.map(|s| &s.socket)), if icmp4.is_some() => {
                    drain_echoes(&mut self.machine, icmp4, &mut icmp_buf);
                }
                () = readable(icmp6.map(|s| &s.socket)), if icmp6.is_some() => {
                    drain_echoes(&mut self.machine, icmp6, &mut icmp_buf);
                }
                Some(msg) = self.inbound.recv() => {
                    self.handle_inbound(msg);
                }
                () = self.timer.sleep_until(wake) => {}
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
        self.forward_events().await;
        self.tasks.abort_all();
        Ended {
            machine: self.machine,
            at: Instant::now(),
            sink: self.sink,
        }
    }

    /// Sends every probe the core wants now (pacing lets at most one out per `min_gap`).
    async fn transmit(&mut self) {
        loop {
            let now = Instant::now();
            let Some(tx) = self.machine.poll_transmit(now) else {
                return;
            };
            self.send(tx).await;
        }
    }

    async fn send(&mut self, tx: Transmit) {
        let limit = self.machine.config().timeout;
        match tx.key.channel {
            Channel::Udp(family) => {
                let socket = match family {
                    Family::V4 => self.udp4.as_ref(),
                    Family::V6 => self.udp6.as_ref(),
                };
                let Ok(socket) = socket else { return };
                self.udp_sent = true;
                udp_packet(&self.machine, &tx, &mut self.packet);
                if let Err(e) = socket.send_to(&self.packet, tx.dest).await {
                    if e.kind() == io::ErrorKind::ConnectionRefused {
                        // A port unreachable for an earlier probe surfaced here.
                        drain_errors(
                            &mut self.machine,
                            family,
                            Some(socket),
                            &mut vec![0u8; 2048],
                        );
                    }
                    self.machine.on_send_failed(
                        Instant::now(),
                        tx.key,
                        format!("UDP send to {}: {e}", tx.dest),
                    );
                }
            }
            Channel::Tcp(_) => {
                let task = tcp::probe(
                    tx.key,
                    tx.dest,
                    limit,
                    self.connects.clone(),
                    self.inbound_tx.clone(),
                );
                self.tasks.spawn(task);
            }
            Channel::Icmp(family) => {
                let Some(Ok(socket)) = &self.icmp[family_slot(family)] else {
                    return;
                };
                let seq = echo_packet(&self.machine, &tx, &mut self.packet);
                if let Err(e) = socket.send(tx.dest.ip(), seq, &mut self.packet).await {
                    self.machine.on_send_failed(
                        Instant::now(),
                        tx.key,
                        format!("ICMP echo to {}: {e}", tx.dest.ip()),
                    );
                }
            }
        }
    }

    /// Ends a target at once when its channel cannot work (see [`super::check_channel`]).
    fn check_channel(&mut self, index: usize) {
        let ident = self.icmp_ident;
        super::check_channel(
            &mut self.machine,
            index,
            [self.udp4.as_ref().err(), self.udp6.as_ref().err()],
            &mut self.icmp,
            |family| icmp::open(family, ident),
        );
    }

    fn handle_inbound(&mut self, msg: Inbound) {
        let now = Instant::now();
        match msg {
            Inbound::Resolved { index, result } => {
                let ports = self.ports.get(index).copied().unwrap_or_default();
                self.machine.on_resolved(now, index, result, ports);
                self.check_channel(index);
            }
            Inbound::Reply { key, rtt } => self.machine.on_probe_reply(now, key, rtt),
            Inbound::Refused { key } => self.machine.on_probe_refused(now, key),
            Inbound::Failed { key, error } => self.machine.on_send_failed(now, key, error),
        }
    }

    /// Hands the core's events over (see [`Sink::forward`]). A burst to a channel (a `Resolved`
    /// per target at the start, a `Done` per target at a cancel) goes in batches with a yield
    /// between them, so a reader on the same thread takes them as they come instead of the
    /// channel holding them all.
    async fn forward_events(&mut self) {
        while self
            .sink
            .forward(
                &mut self.machine,
                &mut self.held_since,
                FORWARD_BATCH,
                Instant::now(),
            )
            .more
        {
            tokio::task::yield_now().await;
        }
    }
}

async fn readable(socket: Option<&UdpSocket>) {
    match socket {
        Some(socket) => {
            if let Err(e) = socket.readable().await {
                debug!(error = %e, "waiting for datagrams failed");
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

async fn error_ready(socket: Option<&UdpSocket>) {
    match socket {
        Some(socket) => {
            if let Err(e) = socket.ready(Interest::ERROR).await {
                debug!(error = %e, "waiting for socket errors failed");
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Hands every queued datagram to the core, each with the instant it arrived.
fn drain_datagrams(
    machine: &mut Machine,
    family: Family,
    socket: Option<&UdpSocket>,
    buf: &mut [u8],
) {
    let Some(socket) = socket else { return };
    loop {
        let read = socket.try_io(Interest::READABLE, || sys::recv(socket, buf));
        match take_datagram(machine, family, read, buf) {
            Read::Again => {}
            Read::ErrorQueue => drain_errors(machine, family, Some(socket), buf),
            Read::Done => return,
        }
    }
}

/// Hands every queued ICMP echo reply to the core, each with the instant it arrived.
fn drain_echoes(machine: &mut Machine, socket: Option<&icmp::IcmpSocket>, buf: &mut [u8]) {
    let Some(icmp) = socket else { return };
    loop {
        let read = icmp
            .socket
            .try_io(Interest::READABLE, || sys::recv(&icmp.socket, buf));
        if take_echo(machine, icmp, read, buf) == Read::Done {
            return;
        }
    }
}

/// Reads the socket's error queue until it is empty.
fn drain_errors(machine: &mut Machine, family: Family, socket: Option<&UdpSocket>, buf: &mut [u8]) {
    let Some(socket) = socket else { return };
    // Through `try_io` first, so tokio clears the error readiness once the queue is empty;
    // then directly, for entries queued before tokio saw the readiness (the ECONNREFUSED
    // path of recv and send).
    for direct in [false, true] {
        loop {
            let entry = if direct {
                sys::recv_error(socket, buf)
            } else {
                socket.try_io(Interest::ERROR, || sys::recv_error(socket, buf))
            };
            if take_queued_error(machine, family, entry, buf) == Read::Done {
                break;
            }
        }
    }
}
