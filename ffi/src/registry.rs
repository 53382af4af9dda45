//! Handles are ids into a global table, never pointers: a freed or made-up handle is looked up,
//! not dereferenced, so double free and use after free are detected and reported.
//!
//! Ids start at 1 (0 is "no probe") and are never reused within a process, so a stale id stays
//! invalid even after many more probes were created.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A table of live objects by id.
#[derive(Debug)]
pub(crate) struct Registry<T> {
    next: AtomicU64,
    live: Mutex<HashMap<u64, Arc<T>>>,
}

impl<T> Registry<T> {
    /// An empty table; the first id is 1.
    pub(crate) fn new() -> Self {
        Self {
            next: AtomicU64::new(1),
            live: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> MutexGuard<'_, HashMap<u64, Arc<T>>> {
        // A panic while the lock was held cannot leave the map half-updated (every update is a
        // single insert or remove), so a poisoned lock is safe to keep using.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `value` under a fresh id and returns the id (never 0, never reused).
    pub(crate) fn insert(&self, value: T) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.table().insert(id, Arc::new(value));
        id
    }

    /// The object with this id, if it is live.
    pub(crate) fn get(&self, id: u64) -> Option<Arc<T>> {
        self.table().get(&id).cloned()
    }

    /// Takes the object out of the table; `None` when the id is not live (freed twice, or
    /// never created). Callers already holding the object keep it until they drop it.
    pub(crate) fn remove(&self, id: u64) -> Option<Arc<T>> {
        self.table().remove(&id)
    }

    /// How many objects are live.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_start_at_one_and_are_never_reused() {
        let registry = Registry::new();
        let a = registry.insert("a");
        assert_eq!(a, 1);
        assert!(registry.remove(a).is_some());
        let b = registry.insert("b");
        assert_ne!(a, b, "a freed id must not come back");
        assert!(registry.get(a).is_none(), "stale id resolves to nothing");
        assert_eq!(registry.get(b).as_deref(), Some(&"b"));
    }

    #[test]
    fn double_free_is_detected() {
        let registry = Registry::new();
        let id = registry.insert(5_u32);
        assert_eq!(registry.remove(id).as_deref(), Some(&5));
        assert!(registry.remove(id).is_none());
        assert_eq!(registry.len(), 0);
    }

    #[test]
    fn unknown_and_zero_ids_are_invalid() {
        let registry: Registry<u8> = Registry::new();
        assert!(registry.get(0).is_none());
        assert!(registry.get(42).is_none());
        assert!(registry.remove(u64::MAX).is_none());
    }

    #[test]
    fn a_holder_keeps_the_object_alive_after_removal() {
        let registry = Registry::new();
        let id = registry.insert(String::from("held"));
        let held = registry.get(id).unwrap();
        registry.remove(id);
        assert_eq!(held.as_str(), "held");
        assert!(registry.get(id).is_none());
    }

    #[test]
    fn concurrent_inserts_get_distinct_ids() {
        let registry = Arc::new(Registry::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || (0..100).map(|i| registry.insert(i)).collect::<Vec<_>>())
            })
            .collect();
        let mut ids: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 400);
        assert_eq!(registry.len(), 400);
    }
}
