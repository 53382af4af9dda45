//! The drivers: they move bytes between the sockets and the sans-I/O core, and sleep until the
//! core's next deadline. No probe logic lives here. `launch` picks one per run: the dedicated
//! thread (`direct.rs`, Linux and Android) or the runtime's task (`runtime.rs`); this module
//! holds what both share (the commands, the wake-up schedule, the probe bytes, the reading of
//! datagrams, echoes and error-queue entries), `sink.rs` where the events go, `run.rs` the
//! handles.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod direct;
mod icmp;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod poll;
mod run;
mod runtime;
mod sink;
mod sys;
mod tcp;
mod timer;
mod udp;

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::config::EngineConfig;
use crate::error::EngineError;
pub use run::{Finished, ObservedRun, Run, RunControl};

use std::marker::PhantomData;

use crate::machine::{Channel, Family, Machine, ProbeKey, Transmit};
use crate::observe::Observer;
use crate::payload;
use crate::types::{Host, TargetId, TargetSpec};
use edgegap_core::Unreachable;
use run::{Ended, Launched};
use runtime::Engine;
use sink::Sink;

/// What the helper tasks (name lookups, TCP connects) report back.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A name lookup finished.
    Resolved {
        index: usize,
        result: Result<Vec<IpAddr>, String>,
    },
    /// A TCP probe was answered after `rtt`.
    Reply { key: ProbeKey, rtt: Duration },
    /// A TCP probe was refused.
    Refused { key: ProbeKey },
    /// A probe could not be sent.
    Failed { key: ProbeKey, error: String },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Command {
    Stop(TargetId),
    Extend {
        id: TargetId,
        more: u32,
        not_before: Option<Instant>,
    },
    Release(TargetId),
}

/// Starts a run on the current tokio runtime (it must be called from within one).
///
/// Errors only when the run as a whole cannot start: no runtime, an unusable
/// configuration, duplicate target ids, or no UDP socket could be opened at all.
/// Per-target problems (a name that does not resolve, a missing port, ICMP not
/// permitted) are that target's outcome, reported in its `Done` event.
pub fn start(targets: Vec<TargetSpec>, config: EngineConfig) -> Result<Run, EngineError> {
    let (events_tx, events) = mpsc::unbounded_channel();
    let launched = launch(targets, config, Sink::Channel(Some(events_tx)))?;
    Ok(Run { events, launched })
}

/// Starts a run like [`start`], whose events go to `observer` instead of a channel: the engine
/// calls it with each batch, where and when it hands events over, and carries out what it
/// asks at once (see [`Observer`]). A controller that only looks at the events to steer the
/// run saves a wake-up of its own per batch this way.
///
/// # Errors
/// As [`start`].
pub fn start_observed<O: Observer>(
    targets: Vec<TargetSpec>,
    config: EngineConfig,
    observer: O,
) -> Result<ObservedRun<O>, EngineError> {
    let launched = launch(targets, config, Sink::observer(Box::new(observer)))?;
    Ok(ObservedRun {
        launched,
        observer: PhantomData,
    })
}

/// Starts the run's driver: its own thread where it suits (`direct.rs`), a task on the runtime
/// otherwise.
// The contract takes the list by value, so callers need not keep it alive.
#[allow(clippy::needless_pass_by_value)]
fn launch(
    targets: Vec<TargetSpec>,
    config: EngineConfig,
    sink: Sink,
) -> Result<Launched, EngineError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| EngineError::NoRuntime)?;
    config.validate()?;
    let mut ids = HashSet::with_capacity(targets.len());
    if let Some(dup) = targets.iter().find(|t| !ids.insert(t.id)) {
        return Err(EngineError::DuplicateTarget(dup.id));
    }
    let udp4 = udp::open(Family::V4);
    let udp6 = udp::open(Family::V6);
    let (udp4, udp6) = match (udp4, udp6) {
        (Err(v4), Err(v6)) => return Err(EngineError::NoSocket { v4, v6 }),
        pair => pair,
    };
    let nonce = rand::random::<u64>();
    // rand's thread generator is a CSPRNG (ChaCha12) seeded from the operating system: the
    // 256-bit seed of the per-probe secrets cannot be guessed from anything on the wire.
    let secret_seed = rand::random::<[u8; 32]>();
    let machine = Machine::new(&targets, config, nonce, secret_seed, Instant::now());
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let token = CancellationToken::new();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if direct::suits(&targets, &machine, &sink) {
        match poll::Wake::new() {
            Ok(wake) => {
                let wake = Arc::new(wake);
                let driver = direct::Direct::new(direct::Parts {
                    machine,
                    udp: [udp4, udp6],
                    commands,
                    sink,
                    token: token.clone(),
                    wake: wake.clone(),
                });
                let handle = runtime.spawn_blocking(move || driver.run());
                let control = RunControl {
                    token,
                    commands: commands_tx,
                    wake: Some(wake),
                };
                return Ok(Launched {
                    control: control.clone(),
                    handle,
                    cancel_on_drop: Some(control),
                });
            }
            Err(e) => debug!(error = %e, "no eventfd: the run is driven on the runtime"),
        }
    }
    let to_tokio = |socket: io::Result<std::net::UdpSocket>| -> Result<UdpSocket, String> {
        socket
            .and_then(UdpSocket::from_std)
            .map_err(|e| e.to_string())
    };
    let (inbound_tx, inbound) = mpsc::unbounded_channel();
    let connects = Arc::new(Semaphore::new(machine.config().max_concurrent_connects));
    let engine = Engine {
        machine,
        ports: targets.iter().map(|t| t.ports).collect(),
        names: targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.host {
                Host::Name(name) => Some((i, name.clone())),
                Host::Ip(_) => None,
            })
            .collect(),
        udp4: to_tokio(udp4),
        udp6: to_tokio(udp6),
        udp_sent: false,
        icmp: [None, None],
        icmp_ident: rand::random::<u16>(),
        connects,
        tasks: JoinSet::new(),
        inbound_tx,
        inbound,
        commands,
        sink,
        token: token.clone(),
        timer: timer::Timer::new(),
        packet: Vec::new(),
        held_since: None,
    };
    let handle = runtime.spawn(engine.run());
    let control = RunControl {
        token,
        commands: commands_tx,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        wake: None,
    };
    Ok(Launched {
        control: control.clone(),
        handle,
        cancel_on_drop: Some(control),
    })
}

/// When a driver must wake next: the core's next deadline, or the events held back
/// ([`EngineConfig::forward_every`] since `held_since`), which go out on the first wake-up after
/// their period; one is added for them only when none comes within another period.
fn next_wake(
    machine: &Machine,
    held_since: Option<Instant>,
    look: Option<Instant>,
) -> Option<Instant> {
    let flush = machine
        .config()
        .forward_every
        .zip(held_since)
        .map(|(every, since)| (since + every, every));
    let next = match (machine.poll_timeout(), flush) {
        (Some(next), Some((flush, every))) if next <= flush + every => Some(next),
        (Some(next), Some((flush, _))) => Some(next.min(flush)),
        (next, flush) => next.or(flush.map(|(at, _)| at)),
    };
    // An observer's look (its own clock) is a wake-up of its own.
    match (next, look) {
        (Some(next), Some(look)) => Some(next.min(look)),
        (next, look) => next.or(look),
    }
}

/// Whether the core's events are held back now ([`EngineConfig::forward_every`]): they are
/// while the period that started with the first of them (`held_since`) runs, unless the run
/// is over.
fn holding(machine: &Machine, held_since: &mut Option<Instant>, now: Instant) -> bool {
    if let Some(every) = machine.config().forward_every
        && !machine.is_finished()
        && machine.has_events()
    {
        let since = *held_since.get_or_insert(now);
        if now.saturating_duration_since(since) < every {
            return true;
        }
    }
    *held_since = None;
    false
}

/// Carries out a caller's command.
fn apply(machine: &mut Machine, command: Command) {
    let now = Instant::now();
    match command {
        Command::Stop(id) => machine.stop_target(now, id),
        Command::Extend {
            id,
            more,
            not_before,
        } => machine.extend_target(now, id, more, not_before),
        Command::Release(id) => machine.release_target(now, id),
    }
}

/// Writes the UDP probe `tx` into `packet`.
fn udp_packet(machine: &Machine, tx: &Transmit, packet: &mut Vec<u8>) {
    packet.clear();
    let size = machine.config().payload_size;
    payload::encode_into(machine.nonce(), tx.key.seq, tx.secret, size, packet);
}

/// Writes the echo data of the ICMP probe `tx` into `packet` behind room for the echo header
/// (the socket fills it in), and returns the header's sequence number.
fn echo_packet(machine: &Machine, tx: &Transmit, packet: &mut Vec<u8>) -> u16 {
    packet.clear();
    packet.resize(icmp::ECHO_HEADER_LEN, 0);
    let size = machine.config().payload_size;
    payload::encode_into(machine.nonce(), tx.key.seq, tx.secret, size, packet);
    // The channel's sequence space is 16 bits wide: the number fits the header.
    tx.key.seq.0 as u16
}

/// Ends target `index` at once when its channel cannot work, for both drivers: its family's
/// UDP socket did not open (`udp_errors`, by [`family_slot`]), or its family's ICMP socket
/// cannot be had (opened by `open_icmp` for the first target that needs it, kept in `icmp`:
/// ICMP not permitted, for example).
fn check_channel<S>(
    machine: &mut Machine,
    index: usize,
    udp_errors: [Option<&String>; 2],
    icmp: &mut [Option<Result<S, Unreachable>>; 2],
    open_icmp: impl FnOnce(Family) -> Result<S, Unreachable>,
) {
    let why = match machine.channel(index) {
        Some(Channel::Udp(family)) => udp_errors[family_slot(family)]
            .map(|e| Unreachable::SendFailed(format!("no {family:?} UDP socket: {e}"))),
        Some(Channel::Icmp(family)) => icmp[family_slot(family)]
            .get_or_insert_with(|| open_icmp(family))
            .as_ref()
            .err()
            .cloned(),
        Some(Channel::Tcp(_)) | None => None,
    };
    if let Some(why) = why {
        machine.end_unreachable(Instant::now(), index, why);
    }
}

/// What to do after one receive on a UDP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Read on.
    Again,
    /// A port unreachable is waiting in the error queue: read it.
    ErrorQueue,
    /// Nothing more to read now.
    Done,
}

/// Hands what one receive on a UDP socket of `family` read into `buf` to the core.
fn take_datagram(
    machine: &mut Machine,
    family: Family,
    read: io::Result<sys::Datagram>,
    buf: &[u8],
) -> Read {
    match read {
        Ok(d) => {
            machine.on_datagram(d.received_at, family, d.from, &buf[..d.len]);
            Read::Again
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read::Done,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Read::ErrorQueue,
        Err(e) if sys::is_stale_datagram_error(&e) => {
            // Windows: an ICMP error about an earlier datagram, naming no destination
            // we can trust. Only this read failed; the datagrams behind it are read on.
            debug!(error = %e, ?family, "UDP receive reported an earlier ICMP error");
            Read::Again
        }
        Err(e) => {
            debug!(error = %e, ?family, "UDP receive error");
            Read::Done
        }
    }
}

/// The index of a family in per-family arrays.
fn family_slot(family: Family) -> usize {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// Hands what one receive on an ICMP socket read into `buf` to the core, if it is an echo
/// reply meant for us.
fn take_echo<S>(
    machine: &mut Machine,
    icmp: &icmp::IcmpSocket<S>,
    read: io::Result<sys::Datagram>,
    buf: &[u8],
) -> Read {
    match read {
        Ok(d) => {
            if let Some(data) = icmp.echo_data(&buf[..d.len]) {
                machine.on_echo(d.received_at, icmp.family, d.from.ip(), data);
            }
            Read::Again
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read::Done,
        Err(e) => {
            debug!(error = %e, "ICMP receive error");
            Read::Done
        }
    }
}

/// Hands one entry of a UDP socket's error queue (its datagram in `buf`) to the core, if it
/// says a probe was refused.
fn take_queued_error(
    machine: &mut Machine,
    family: Family,
    entry: io::Result<sys::QueuedError>,
    buf: &[u8],
) -> Read {
    match entry {
        Ok(err) => {
            match err.dest {
                Some(dest) if err.refused => {
                    machine.on_udp_refused(Instant::now(), family, dest, &buf[..err.len]);
                }
                dest => debug!(?dest, errno = err.errno, "socket error queue entry ignored"),
            }
            Read::Again
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read::Done,
        Err(e) => {
            debug!(error = %e, ?family, "reading the socket error queue failed");
            Read::Done
        }
    }
}
