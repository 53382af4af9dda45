//! The peers' ways of choosing a region, re-implemented over plain tokio UDP sockets from their
//! published code and documentation (`shared/notes/peers.md` sums them up): Unity QoS, the
//! Edgegap Unity SDK, Photon's best region, PlayFab's QoS SDK, and a plain fixed-parallel
//! baseline. Each keeps its peer's probe count, pacing, timeout, statistic and ranking; what
//! the notes leave open is taken from the peer's code and said where it is used.
//!
//! Two things are the same for all of them, so that only the strategy differs:
//! - **transport**: UDP to the simulated beacon, which echoes any datagram verbatim. The peers'
//!   wire formats (Unity's request header, Photon's 13-byte ping, PlayFab's `0xFFFF` prefix that
//!   the server zeroes) are not modelled beyond the datagram's size: each probe carries a unique
//!   tag, and only its exact echo counts as the answer. The Edgegap SDK pings over ICMP; here it
//!   uses UDP too, since the simulator injects delay and loss on UDP only.
//! - **the answer**: the index of the chosen target, and the time from the start until the
//!   peer's API would hand that choice to the game (every probe answered or timed out).
//!
//! Every socket is bound to the loopback address of the family of the targets: no datagram
//! leaves the machine.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout_at};

/// A location to choose from: its name and its beacon's UDP address.
#[derive(Debug, Clone)]
pub struct Target {
    /// The location's city (Photon's tie-break orders region codes; the city stands in).
    pub city: String,
    /// The beacon's UDP echo address (loopback).
    pub addr: SocketAddr,
}

/// What one strategy did in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Index of the chosen target; `None` when no target ever answered.
    pub choice: Option<usize>,
    /// From the start until the choice was made.
    pub elapsed: Duration,
    /// Probes sent, over all targets.
    pub probes_sent: u32,
}

/// A peer's strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Unity QoS (`QosJob`): 5 requests per server in a burst, one server after another on one
    /// socket, then up to 500 ms for the replies; mean latency, then loss.
    UnityQos,
    /// The Edgegap Unity SDK's coroutine: 3 pings per location, all at once, 3 s timeout; the
    /// plain mean of the three, a failed ping counting 0 ms.
    EdgegapSdk,
    /// Photon's best region: every region in parallel, 5 pings one after another, 800 ms
    /// timeout (a timeout counts 800 ms); worst dropped and best counted twice; the
    /// alphabetically first region within 1.2× of the best.
    Photon,
    /// PlayFab's QoS SDK: 10 passes over all regions shared by 4 workers, one ping at a time
    /// per worker, 250 ms timeout, a region given up after 3 timeouts; the mean without the
    /// best and worst.
    PlayFab,
    /// A plain baseline: 5 probes to every location at once, 1 s timeout, median.
    FixedParallel,
}

impl Peer {
    /// Every peer strategy, in the order of the comparison table.
    pub const ALL: [Peer; 5] = [
        Peer::UnityQos,
        Peer::EdgegapSdk,
        Peer::FixedParallel,
        Peer::Photon,
        Peer::PlayFab,
    ];

    /// The strategy's row label.
    pub fn label(self) -> &'static str {
        match self {
            Peer::UnityQos => "Unity QoS-style (5 per server, one server at a time)",
            Peer::EdgegapSdk => "Edgegap Unity SDK-style (3 pings, 3 s timeout, mean)",
            Peer::Photon => "Photon-style (5 in a row per region, 800 ms timeout)",
            Peer::PlayFab => "PlayFab SDK-style (10 per region, 4 workers, 250 ms timeout)",
            Peer::FixedParallel => "fixed parallel, 5 probes, median",
        }
    }

    /// Runs the strategy against `targets` and reports its choice. Fails only when a socket
    /// cannot be opened; a probe that cannot be sent or gets an error counts as lost.
    pub async fn choose(self, targets: &[Target]) -> io::Result<Outcome> {
        match self {
            Peer::UnityQos => unity_qos(targets).await,
            Peer::EdgegapSdk => edgegap_sdk(targets).await,
            Peer::Photon => photon(targets).await,
            Peer::PlayFab => playfab(targets).await,
            Peer::FixedParallel => fixed_parallel(targets).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Probes

/// Source of the tags that make every probe unique.
static NEXT_TAG: AtomicU64 = AtomicU64::new(1);

/// A probe of `len` bytes (at least 8) carrying a fresh tag; its exact echo is its answer.
fn probe_bytes(len: usize) -> Vec<u8> {
    let tag = NEXT_TAG.fetch_add(1, Ordering::Relaxed);
    let mut bytes = tag.to_le_bytes().to_vec();
    bytes.resize(len.max(8), 0);
    bytes
}

/// The loopback address of the family of `target`, port 0: where the peers' sockets bind.
fn loopback_for(target: SocketAddr) -> SocketAddr {
    let ip = match target.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    SocketAddr::new(ip, 0)
}

/// A fresh socket connected to `target` (a new `UdpClient`, `PhotonPing` or `UnityEngine.Ping`).
async fn socket_to(target: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(loopback_for(target)).await?;
    socket.connect(target).await?;
    Ok(socket)
}

/// Sends `probe` on a connected socket; when it went out, the instant it did.
async fn send_probe(socket: &UdpSocket, probe: &[u8]) -> Option<Instant> {
    let sent = Instant::now();
    socket.send(probe).await.ok().map(|_| sent)
}

/// Waits for the exact echo of `probe` on a connected socket (other datagrams, such as a late
/// echo of an earlier probe, are skipped) until `deadline`; the instant it arrived.
async fn echo_until(socket: &UdpSocket, probe: &[u8], deadline: Instant) -> Option<Instant> {
    let mut buf = [0u8; 2048];
    let wait = async {
        loop {
            match socket.recv(&mut buf).await {
                Ok(n) if buf[..n] == *probe => return Some(Instant::now()),
                Ok(_) => {}
                // A refused or failed probe is a lost one.
                Err(_) => return None,
            }
        }
    };
    timeout_at(deadline.into(), wait).await.ok().flatten()
}

/// One ping on its own socket: the round trip, or `None` when no echo came within `timeout`.
async fn ping_once(
    target: SocketAddr,
    len: usize,
    timeout: Duration,
) -> io::Result<Option<Duration>> {
    let socket = socket_to(target).await?;
    let probe = probe_bytes(len);
    let Some(sent) = send_probe(&socket, &probe).await else {
        return Ok(None);
    };
    Ok(echo_until(&socket, &probe, sent + timeout)
        .await
        .map(|at| at - sent))
}

/// Whole milliseconds of `rtt`, as the peers that keep `int` milliseconds see it.
fn whole_ms(rtt: Duration) -> u64 {
    rtt.as_millis() as u64
}

/// Index of the smallest score (the first one on a tie); `None` when there is none.
fn lowest<T: PartialOrd + Copy>(scores: impl IntoIterator<Item = Option<T>>) -> Option<usize> {
    scores
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .fold(None, |best: Option<(usize, T)>, (i, s)| match best {
            Some((_, b)) if b <= s => best,
            _ => Some((i, s)),
        })
        .map(|(i, _)| i)
}

// ---------------------------------------------------------------------------------------------
// All at once: the Edgegap SDK and the fixed-parallel baseline

/// A plan of probes all sent at once: how many per location, their size and their timeout.
struct AllAtOnce {
    pings: u32,
    len: usize,
    timeout: Duration,
}

/// Sends the plan's probes to every target at once, each on its own socket, and waits until
/// every one is answered or timed out; the target with the lowest `score` of its round trips
/// (one per probe, `None` when lost) wins.
async fn all_at_once<S: PartialOrd + Copy>(
    targets: &[Target],
    plan: &AllAtOnce,
    score: impl Fn(&[Option<Duration>]) -> Option<S>,
) -> io::Result<Outcome> {
    let start = Instant::now();
    let mut set = JoinSet::new();
    for (index, target) in targets.iter().enumerate() {
        for _ in 0..plan.pings {
            let (addr, len, timeout) = (target.addr, plan.len, plan.timeout);
            set.spawn(async move { (index, ping_once(addr, len, timeout).await) });
        }
    }
    let mut rtts = vec![Vec::new(); targets.len()];
    while let Some(joined) = set.join_next().await {
        let (index, rtt) = joined.map_err(io::Error::other)?;
        rtts[index].push(rtt?);
    }
    Ok(Outcome {
        choice: lowest(rtts.iter().map(|pings| score(pings))),
        elapsed: start.elapsed(),
        probes_sent: plan.pings * targets.len() as u32,
    })
}

/// The Edgegap Unity SDK's coroutine: 3 pings per location, 3 s timeout. The payload is
/// `UnityEngine.Ping`'s ICMP echo of 32 bytes (the notes do not say).
const EDGEGAP: AllAtOnce = AllAtOnce {
    pings: 3,
    len: 32,
    timeout: Duration::from_secs(3),
};

/// The Edgegap Unity SDK: 3 pings to every location at once, 3 s timeout, the plain mean of
/// the three with a failed ping counted as 0 ms (so loss makes a location look closer, and a
/// location that never answers scores 0 ms, the best).
async fn edgegap_sdk(targets: &[Target]) -> io::Result<Outcome> {
    all_at_once(targets, &EDGEGAP, |pings| {
        let total: f64 = pings
            .iter()
            .map(|rtt| rtt.map_or(0.0, |d| d.as_secs_f64() * 1000.0))
            .sum();
        Some(total / pings.len() as f64)
    })
    .await
}

/// The fixed-parallel baseline: 5 probes per location, 1 s timeout (the probe engine's
/// default hard timeout), 32-byte probes (its default payload).
const FIXED: AllAtOnce = AllAtOnce {
    pings: 5,
    len: 32,
    timeout: Duration::from_secs(1),
};

/// The baseline: 5 probes to every location at once, 1 s timeout, the lowest median of the
/// answered probes wins (a location without an answer cannot).
async fn fixed_parallel(targets: &[Target]) -> io::Result<Outcome> {
    all_at_once(targets, &FIXED, |pings| {
        let mut answered: Vec<Duration> = pings.iter().flatten().copied().collect();
        answered.sort();
        answered.get(answered.len() / 2).copied()
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Unity QoS

/// Requests per server (`requestsPerEndpoint`).
const UNITY_REQUESTS: u32 = 5;
/// How long the job waits for the replies after its last send (`maxWaitMs`).
const UNITY_MAX_WAIT: Duration = Duration::from_millis(500);
/// Limit of the whole job (`timeoutMs`).
const UNITY_JOB_TIMEOUT: Duration = Duration::from_secs(10);
/// A pause of `UNITY_PAUSE` after every this many requests (`requestsBetweenPause`).
const UNITY_REQUESTS_BETWEEN_PAUSE: u32 = 10;
/// `requestPauseMs`.
const UNITY_PAUSE: Duration = Duration::from_millis(1);
/// Size of a QoS request: a 15-byte header and a short title (the notes do not say).
const UNITY_PAYLOAD: usize = 24;

/// The replies of a Unity QoS job, per server.
#[derive(Default, Clone)]
struct UnityResult {
    sent: u32,
    received: u32,
    latency_sum_ms: u64,
}

impl UnityResult {
    /// The job's figures: integer mean latency, then loss; `None` without any reply.
    fn score(&self) -> Option<(u64, f64)> {
        (self.received > 0).then(|| {
            let loss = 1.0 - f64::from(self.received) / f64::from(self.sent);
            (self.latency_sum_ms / u64::from(self.received), loss)
        })
    }
}

/// The requests of a Unity QoS job still waiting for a reply: tag -> (server, sent at).
type Pending = HashMap<u64, (usize, Instant)>;

/// Unity QoS (`QosJob`): one socket; for each server in turn, a burst of 5 requests (a 1 ms
/// pause every 10 requests of the job) and a look at the replies already there; then up to
/// 500 ms (within the 10 s job) for the rest. Ranked by mean latency, then loss.
async fn unity_qos(targets: &[Target]) -> io::Result<Outcome> {
    let start = Instant::now();
    let Some(first) = targets.first() else {
        return Ok(no_choice(start, 0));
    };
    let socket = UdpSocket::bind(loopback_for(first.addr)).await?;
    let job_expires = start + UNITY_JOB_TIMEOUT;
    let mut results = vec![UnityResult::default(); targets.len()];
    let mut pending = Pending::new();
    let mut requests = 0;
    for (index, target) in targets.iter().enumerate() {
        for _ in 0..UNITY_REQUESTS {
            let probe = probe_bytes(UNITY_PAYLOAD);
            let sent = Instant::now();
            if socket.send_to(&probe, target.addr).await.is_err() {
                continue;
            }
            pending.insert(tag_of(&probe), (index, sent));
            results[index].sent += 1;
            requests += 1;
            if requests % UNITY_REQUESTS_BETWEEN_PAUSE == 0 {
                sleep(UNITY_PAUSE).await;
            }
        }
        // "To get as accurate results as possible check to see if we have pending responses."
        unity_receive(&socket, targets, &mut pending, &mut results, Instant::now()).await;
    }
    let deadline = (Instant::now() + UNITY_MAX_WAIT).min(job_expires);
    unity_receive(&socket, targets, &mut pending, &mut results, deadline).await;
    let choice = lowest(results.iter().map(UnityResult::score));
    Ok(Outcome {
        choice,
        elapsed: start.elapsed(),
        probes_sent: requests,
    })
}

/// The tag of a probe made by [`probe_bytes`].
fn tag_of(bytes: &[u8]) -> u64 {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Receives Unity QoS replies until none is pending or `deadline` (a deadline already past
/// takes only what is queued), adding each valid one to its server's figures.
async fn unity_receive(
    socket: &UdpSocket,
    targets: &[Target],
    pending: &mut Pending,
    results: &mut [UnityResult],
    deadline: Instant,
) {
    let mut buf = [0u8; 2048];
    while !pending.is_empty() {
        // A timeout polls the receive before its deadline: queued replies are taken even when
        // the deadline has passed.
        let received = timeout_at(deadline.into(), socket.recv_from(&mut buf)).await;
        let Some((n, from)) = received.ok().and_then(Result::ok) else {
            return;
        };
        let Some(&(index, sent)) = pending.get(&tag_of(&buf[..n])) else {
            continue;
        };
        if targets[index].addr == from && n == UNITY_PAYLOAD {
            pending.remove(&tag_of(&buf[..n]));
            results[index].received += 1;
            results[index].latency_sum_ms += whole_ms(sent.elapsed());
        }
    }
}

/// The outcome of a strategy that had nothing to choose from.
fn no_choice(start: Instant, probes_sent: u32) -> Outcome {
    Outcome {
        choice: None,
        elapsed: start.elapsed(),
        probes_sent,
    }
}

// ---------------------------------------------------------------------------------------------
// Photon

/// Pings per region (`RegionPinger.Attempts`).
const PHOTON_ATTEMPTS: u32 = 5;
/// Timeout of one ping, and the figure a timed-out ping counts (`MaxMillisecondsPerPing`).
const PHOTON_TIMEOUT_MS: u64 = 800;
/// After a timeout, the pinger waits up to this many steps ...
const PHOTON_LATE_STEPS: u32 = 4;
/// ... of this long for the late reply before its next attempt.
const PHOTON_LATE_STEP: Duration = Duration::from_millis(100);
/// Pause between two attempts.
const PHOTON_PAUSE: Duration = Duration::from_millis(10);
/// A region within this factor of the best one is "similar" (`pingSimilarityFactor`).
const PHOTON_SIMILARITY: f64 = 1.2;
/// Photon's UDP ping datagram.
const PHOTON_PAYLOAD: usize = 13;

/// Photon's best region, on a first connection (no saved summary, so every region is
/// pinged): each region in parallel; per region 5 pings one after another on one socket, each
/// waiting up to 800 ms, a timeout counting 800 ms and followed by up to 4 × 100 ms of waiting
/// for the late reply, then a 10 ms pause. The region's figure is the sum with the worst
/// replaced by the best, over 5, in integer ms. The best region is the alphabetically first
/// (here: by city) of those within 1.2× the lowest figure.
async fn photon(targets: &[Target]) -> io::Result<Outcome> {
    let start = Instant::now();
    let mut set = JoinSet::new();
    for (index, target) in targets.iter().enumerate() {
        let addr = target.addr;
        set.spawn(async move { (index, photon_region(addr).await) });
    }
    let mut pings = vec![0; targets.len()];
    while let Some(joined) = set.join_next().await {
        let (index, ping) = joined.map_err(io::Error::other)?;
        pings[index] = ping?;
    }
    Ok(Outcome {
        choice: photon_best_region(targets, &pings),
        elapsed: start.elapsed(),
        probes_sent: PHOTON_ATTEMPTS * targets.len() as u32,
    })
}

/// One region's `RegionPinger`: its weighted figure in ms.
async fn photon_region(addr: SocketAddr) -> io::Result<u64> {
    let socket = socket_to(addr).await?;
    let timeout = Duration::from_millis(PHOTON_TIMEOUT_MS);
    let mut rtts = Vec::new();
    for _ in 0..PHOTON_ATTEMPTS {
        let probe = probe_bytes(PHOTON_PAYLOAD);
        let Some(sent) = send_probe(&socket, &probe).await else {
            rtts.push(PHOTON_TIMEOUT_MS);
            continue;
        };
        if let Some(at) = echo_until(&socket, &probe, sent + timeout).await {
            rtts.push(whole_ms(at - sent));
        } else {
            rtts.push(PHOTON_TIMEOUT_MS);
            photon_wait_late_reply(&socket, &probe).await;
        }
        sleep(PHOTON_PAUSE).await;
    }
    let sum: u64 = rtts.iter().sum();
    let best = rtts.iter().min().copied().unwrap_or(0);
    let worst = rtts.iter().max().copied().unwrap_or(0);
    Ok((sum - worst + best) / rtts.len() as u64)
}

/// After a timed-out ping: sleeps 100 ms at a time, up to 4 times, until its reply came.
async fn photon_wait_late_reply(socket: &UdpSocket, probe: &[u8]) {
    for _ in 0..PHOTON_LATE_STEPS {
        let step_end = Instant::now() + PHOTON_LATE_STEP;
        let arrived = echo_until(socket, probe, step_end).await.is_some();
        tokio::time::sleep_until(step_end.into()).await;
        if arrived {
            return;
        }
    }
}

/// `RegionHandler.BestRegion`: the lowest figure, then the alphabetically first region whose
/// figure is within 1.2× of it.
fn photon_best_region(targets: &[Target], pings: &[u64]) -> Option<usize> {
    let lowest_ping = *pings.iter().min()?;
    let cutoff = (lowest_ping as f64 * PHOTON_SIMILARITY) as u64;
    (0..targets.len())
        .filter(|&i| pings[i] <= cutoff)
        .min_by(|&a, &b| targets[a].city.cmp(&targets[b].city))
}

// ---------------------------------------------------------------------------------------------
// PlayFab

/// Passes over the regions (`DefaultPingsPerRegion`).
const PLAYFAB_PINGS_PER_REGION: usize = 10;
/// Ping workers (`DefaultDegreeOfParallelism`).
const PLAYFAB_WORKERS: usize = 4;
/// Timeout of one ping (`DefaultTimeoutMs`).
const PLAYFAB_TIMEOUT: Duration = Duration::from_millis(250);
/// A region is given up after this many timeouts (`NumTimeoutsForError`).
const PLAYFAB_TIMEOUTS_FOR_ERROR: u32 = 3;
/// With at least this many replies the best and worst are left out of the mean
/// (`NumSuccessBeforeFilteringOutBestAndWorst`).
const PLAYFAB_FILTER_FROM: usize = 4;
/// PlayFab's QoS datagram: a 2-byte prefix and the 8-byte send time.
const PLAYFAB_PAYLOAD: usize = 10;

/// One region's `RegionPinger`.
#[derive(Default)]
struct PlayFabRegion {
    latencies_ms: Vec<u64>,
    timeouts: u32,
    sent: u32,
}

impl PlayFabRegion {
    /// `GetResult`: nothing after 3 timeouts or without a reply; else the integer mean, without
    /// the best and the worst once there are 4 replies.
    fn latency_ms(&self) -> Option<u64> {
        if self.timeouts >= PLAYFAB_TIMEOUTS_FOR_ERROR || self.latencies_ms.is_empty() {
            return None;
        }
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_unstable();
        let kept = if sorted.len() >= PLAYFAB_FILTER_FROM {
            &sorted[1..sorted.len() - 1]
        } else {
            &sorted[..]
        };
        Some(kept.iter().sum::<u64>() / kept.len() as u64)
    }
}

/// PlayFab's QoS SDK: 10 passes over the regions, each starting at region `i × n / 10` so that
/// passes begin far apart, taken by 4 workers; a worker walks its pass one ping at a time, each
/// ping on a new socket with a 250 ms timeout, and skips a region that has timed out 3 times.
/// The lowest mean (without best and worst) wins.
async fn playfab(targets: &[Target]) -> io::Result<Outcome> {
    let start = Instant::now();
    let regions: Arc<Vec<Mutex<PlayFabRegion>>> = Arc::new(
        targets
            .iter()
            .map(|_| Mutex::new(PlayFabRegion::default()))
            .collect(),
    );
    let passes: Vec<usize> = (0..PLAYFAB_PINGS_PER_REGION)
        .map(|i| i * targets.len() / PLAYFAB_PINGS_PER_REGION)
        .collect();
    let passes = Arc::new(Mutex::new(passes));
    let addrs: Arc<Vec<SocketAddr>> = Arc::new(targets.iter().map(|t| t.addr).collect());
    let mut workers = JoinSet::new();
    for _ in 0..PLAYFAB_WORKERS {
        let (regions, passes, addrs) = (regions.clone(), passes.clone(), addrs.clone());
        workers.spawn(async move { playfab_worker(&addrs, &regions, &passes).await });
    }
    while let Some(joined) = workers.join_next().await {
        joined.map_err(io::Error::other)??;
    }
    let regions: Vec<PlayFabRegion> = regions
        .iter()
        .map(|r| std::mem::take(&mut *r.lock().expect("no worker panicked")))
        .collect();
    Ok(Outcome {
        choice: lowest(regions.iter().map(PlayFabRegion::latency_ms)),
        elapsed: start.elapsed(),
        probes_sent: regions.iter().map(|r| r.sent).sum(),
    })
}

/// `PingWorker`: takes passes until none is left, walking all regions from the pass's start.
async fn playfab_worker(
    addrs: &[SocketAddr],
    regions: &[Mutex<PlayFabRegion>],
    passes: &Mutex<Vec<usize>>,
) -> io::Result<()> {
    loop {
        let Some(first) = passes.lock().expect("no worker panicked").pop() else {
            return Ok(());
        };
        for step in 0..addrs.len() {
            let index = (first + step) % addrs.len();
            playfab_ping(addrs[index], &regions[index]).await?;
        }
    }
}

/// `RegionPinger.PingAsync`: one ping unless the region is at its timeout threshold.
async fn playfab_ping(addr: SocketAddr, region: &Mutex<PlayFabRegion>) -> io::Result<()> {
    {
        let mut region = region.lock().expect("no worker panicked");
        if region.timeouts >= PLAYFAB_TIMEOUTS_FOR_ERROR {
            return Ok(());
        }
        region.sent += 1;
    }
    let rtt = ping_once(addr, PLAYFAB_PAYLOAD, PLAYFAB_TIMEOUT).await?;
    let mut region = region.lock().expect("no worker panicked");
    match rtt {
        Some(rtt) => region.latencies_ms.push(whole_ms(rtt)),
        None => region.timeouts += 1,
    }
    Ok(())
}
