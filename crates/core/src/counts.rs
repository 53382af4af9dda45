//! What became of every probe sent.

use serde::{Deserialize, Serialize};

/// The fate of the probes of a beacon (or, summed, of a location).
///
/// Every probe sent ends in exactly one of four outcomes, so once nothing is in flight
/// `sent = received + lost + late + cancelled` ([`ProbeCounts::adds_up`]):
///
/// | outcome | meaning |
/// |---|---|
/// | `received` | answered within its timeout: a sample |
/// | `lost` | no valid answer within its timeout, declared lost by the reordering rule, refused, or could not be sent |
/// | `late` | answered after its timeout: counted as loss, never a sample |
/// | `cancelled` | in flight when the run or the beacon was stopped (early decision, deadline, cancel): never loss |
///
/// `duplicates` counts second answers to answered probes; they are not probes and are not in
/// the identity.
///
/// The set of outcomes is closed (adding one would change the identity), so the struct is not
/// `#[non_exhaustive]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProbeCounts {
    /// Probes sent.
    pub sent: u32,
    /// Probes answered in time (samples).
    pub received: u32,
    /// Probes never validly answered: timed out, declared lost, refused or not sendable.
    #[serde(default)]
    pub lost: u32,
    /// Probes answered after their timeout (loss, not samples).
    #[serde(default)]
    pub late: u32,
    /// Probes in flight when the run or the beacon was stopped (not loss).
    #[serde(default)]
    pub cancelled: u32,
    /// Extra answers to already answered probes (ignored).
    #[serde(default)]
    pub duplicates: u32,
}

impl ProbeCounts {
    /// Adds `other` field by field (saturating).
    pub fn add(&mut self, other: ProbeCounts) {
        self.sent = self.sent.saturating_add(other.sent);
        self.received = self.received.saturating_add(other.received);
        self.lost = self.lost.saturating_add(other.lost);
        self.late = self.late.saturating_add(other.late);
        self.cancelled = self.cancelled.saturating_add(other.cancelled);
        self.duplicates = self.duplicates.saturating_add(other.duplicates);
    }

    /// Probes whose fate says something about the path: `sent − cancelled`
    /// (`received + lost + late` once nothing is in flight).
    pub fn settled(&self) -> u32 {
        self.received
            .saturating_add(self.lost)
            .saturating_add(self.late)
    }

    /// Probes lost or late: the numerator of [`ProbeCounts::loss`].
    pub fn lost_or_late(&self) -> u32 {
        self.lost.saturating_add(self.late)
    }

    /// Whether every probe sent has exactly one outcome:
    /// `sent == received + lost + late + cancelled`.
    pub fn adds_up(&self) -> bool {
        u64::from(self.sent)
            == u64::from(self.received)
                + u64::from(self.lost)
                + u64::from(self.late)
                + u64::from(self.cancelled)
    }

    /// The loss fraction `(lost + late) / (sent − cancelled)`, 0..=1: of the probes whose fate
    /// is known, the share that got no answer in time. `None` when no probe's fate is known.
    pub fn loss(&self) -> Option<f64> {
        let settled = self.settled();
        (settled > 0).then(|| f64::from(self.lost_or_late()) / f64::from(settled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_is_loss_and_cancelled_is_not() {
        let c = ProbeCounts {
            sent: 7,
            received: 3,
            lost: 0,
            late: 2,
            cancelled: 2,
            duplicates: 1,
        };
        assert!(c.adds_up());
        assert_eq!(c.loss(), Some(0.4), "2 late of 5 settled");
        assert_eq!(ProbeCounts::default().loss(), None);
        let mut sum = c;
        sum.add(c);
        assert_eq!(sum.sent, 14);
        assert!(sum.adds_up());
        assert!(
            !ProbeCounts {
                sent: 5,
                received: 3,
                ..ProbeCounts::default()
            }
            .adds_up()
        );
    }

    #[test]
    fn old_json_without_the_new_counts_still_reads() {
        let c: ProbeCounts = serde_json::from_str(r#"{"sent": 2, "received": 2}"#).unwrap();
        assert_eq!(c.cancelled, 0);
        assert!(c.adds_up());
    }
}
