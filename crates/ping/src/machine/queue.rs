//! The machine's ordered queues of targets: the targets that want to send (one queue per
//! channel) and the targets with probes in flight (by when the oldest times out).
//!
//! A binary heap of `(tick, target index)` keys, where a key is taken out by forgetting it: the
//! target itself says under which key it is queued (`Target::queued_send` with its
//! `next_send_at`, `Target::queued_timeout`), and a key that is no longer that is stale. The
//! machine drops the stale keys at the front after every change ([`Queue::clean`]), so the
//! front is always a target's current key, and the stale ones behind it are dropped as they
//! come forward, or all at once when they outnumber the current ones.
//!
//! A probe on a B-tree cost a removal and an insertion in each queue (about 500 instructions
//! on a run of 256 targets); here it costs a push and, later, a pop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::target::Tick;

/// A queue key: when, and which target (ties in input order).
pub(crate) type Key = (Tick, usize);

/// Stale keys a queue may hold beyond twice its current ones before it drops them all.
const STALE_SLACK: usize = 1024;

/// An ordered queue of target keys with lazy removal (see the module's text).
#[derive(Debug, Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Reverse<Key>>,
    /// Keys that are a target's current key (pushed and not yet forgotten).
    current: usize,
}

impl Queue {
    /// Queues a target's new current key.
    pub(crate) fn push(&mut self, key: Key) {
        self.heap.push(Reverse(key));
        self.current += 1;
    }

    /// A target's key is no longer current (it left the queue or changed its key): it stays
    /// in the heap until [`Queue::clean`] meets it.
    pub(crate) fn forget(&mut self) {
        self.current -= 1;
    }

    /// The least key: a target's current key, when the queue was cleaned since it changed.
    pub(crate) fn first(&self) -> Option<Key> {
        self.heap.peek().map(|&Reverse(key)| key)
    }

    /// Takes the least key out (current: the caller forgets it too).
    pub(crate) fn pop_first(&mut self) -> Option<Key> {
        self.heap.pop().map(|Reverse(key)| key)
    }

    /// Drops the stale keys at the front (`current` says whether a key is a target's current
    /// key), and every stale key once they outnumber the current ones.
    pub(crate) fn clean(&mut self, current: impl Fn(Key) -> bool) {
        if self.heap.len() > 2 * self.current + STALE_SLACK {
            self.heap.retain(|&Reverse(key)| current(key));
        }
        while let Some(&Reverse(key)) = self.heap.peek() {
            if current(key) {
                break;
            }
            self.heap.pop();
        }
    }

    /// Whether no target is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.current == 0
    }

    /// Every key held, current or stale (tests).
    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.heap.iter().map(|&Reverse(key)| key)
    }

    /// How many current keys it holds (tests).
    #[cfg(test)]
    pub(crate) fn current(&self) -> usize {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::time::Duration;

    use super::*;

    fn at(ms: u64) -> Tick {
        Tick::EPOCH.plus(Duration::from_millis(ms))
    }

    #[test]
    fn the_front_is_the_least_current_key_and_stale_keys_go() {
        // Target i's current key, as the machine's targets say it.
        let keys: RefCell<Vec<Option<Tick>>> = RefCell::new(vec![None; 4]);
        let mut queue = Queue::default();
        let current = |(tick, i): Key| keys.borrow()[i] == Some(tick);
        for (i, ms) in [(0, 30), (1, 10), (2, 20), (3, 10)] {
            keys.borrow_mut()[i] = Some(at(ms));
            queue.push((at(ms), i));
        }
        queue.clean(current);
        assert_eq!(queue.first(), Some((at(10), 1)), "ties in input order");
        // Target 1 moves to 40 ms, target 3 leaves: their old keys are stale.
        keys.borrow_mut()[1] = Some(at(40));
        queue.forget();
        queue.push((at(40), 1));
        keys.borrow_mut()[3] = None;
        queue.forget();
        queue.clean(current);
        assert_eq!(queue.first(), Some((at(20), 2)));
        assert_eq!(queue.current(), 3);
        let mut order = Vec::new();
        while let Some(key) = queue.first() {
            queue.pop_first();
            order.push(key);
            queue.clean(current);
        }
        assert_eq!(order, [(at(20), 2), (at(30), 0), (at(40), 1)]);
    }

    #[test]
    fn stale_keys_never_outnumber_the_current_ones_by_much() {
        let mut queue = Queue::default();
        let current = |(_, i): Key| i == 0;
        queue.push((at(0), 0));
        // Target 1 changes its key 10,000 times: behind target 0's, none reaches the front.
        for ms in 1..=10_000 {
            queue.push((at(ms), 1));
            queue.forget();
            queue.clean(current);
        }
        assert!(
            queue.keys().count() <= 2 + STALE_SLACK + 1,
            "{}",
            queue.keys().count()
        );
        assert_eq!(queue.first(), Some((at(0), 0)));
    }
}
