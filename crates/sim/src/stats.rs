//! Per-beacon counters, shared with the beacon's tasks, and their snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Live counters of one beacon (updated by its tasks).
#[derive(Debug, Default)]
pub struct Counters {
    udp_received: AtomicU64,
    udp_replied: AtomicU64,
    udp_dropped: AtomicU64,
    udp_forged: AtomicU64,
    tcp_accepted: AtomicU64,
}

impl Counters {
    pub(crate) fn received(&self) {
        self.udp_received.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn replied(&self) {
        self.udp_replied.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn dropped(&self) {
        self.udp_dropped.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn forged(&self, datagrams: u64) {
        self.udp_forged.fetch_add(datagrams, Ordering::Relaxed);
    }
    pub(crate) fn accepted(&self) {
        self.tcp_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot, labelled with the beacon's city.
    pub fn snapshot(&self, city: &str) -> BeaconStats {
        BeaconStats {
            city: city.to_owned(),
            udp_received: self.udp_received.load(Ordering::Relaxed),
            udp_replied: self.udp_replied.load(Ordering::Relaxed),
            udp_dropped: self.udp_dropped.load(Ordering::Relaxed),
            udp_forged: self.udp_forged.load(Ordering::Relaxed),
            tcp_accepted: self.tcp_accepted.load(Ordering::Relaxed),
        }
    }
}

/// What one beacon has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BeaconStats {
    /// City of the beacon.
    pub city: String,
    /// Datagrams received on the UDP port.
    pub udp_received: u64,
    /// Datagrams answered (counted once however many `duplicates` were sent).
    pub udp_replied: u64,
    /// Datagrams deliberately left unanswered (`loss` draws, `silent` and hostile beacons).
    pub udp_dropped: u64,
    /// Datagrams a hostile beacon sent that echo no probe (`predict_and_spray`,
    /// `early_replies` and `flood` forgeries and junk), each one counted.
    pub udp_forged: u64,
    /// TCP connections accepted (and closed at once).
    pub tcp_accepted: u64,
}
