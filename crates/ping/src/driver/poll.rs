//! The two system calls of the dedicated-thread driver (`direct.rs`), Linux and Android only:
//! `ppoll`, which waits for sockets with a nanosecond timeout (no timer descriptor to arm per
//! wait), and an `eventfd`, which other threads write to wake it.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Wakes the driver's thread from its wait: a non-blocking `eventfd` it polls with its sockets,
/// and a flag it looks at after a sleep that does not watch the descriptor.
#[derive(Debug)]
pub(crate) struct Wake {
    fd: OwnedFd,
    /// Set by [`Wake::wake`] before it writes the descriptor, unset by [`Wake::clear`].
    pending: AtomicBool,
}

impl Wake {
    /// A new, unsignalled wake.
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor that
        // nothing else owns.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            pending: AtomicBool::new(false),
        })
    }

    /// Signals it (from any thread). It stays signalled until [`Wake::clear`].
    pub(crate) fn wake(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let one: u64 = 1;
        // SAFETY: the descriptor is open for the life of `self`; the buffer is a live u64 of
        // the 8 bytes eventfd expects. A full counter (EAGAIN) is already signalled.
        unsafe { libc::write(self.fd.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// Whether it was signalled since the last [`Wake::clear`] (no system call).
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst)
    }

    /// Takes the signal back (after the driver saw it), before the driver looks at what it
    /// signals: a signal that comes meanwhile stays, pending or on the descriptor, and is
    /// seen again.
    pub(crate) fn clear(&self) {
        self.pending.store(false, Ordering::SeqCst);
        let mut count: u64 = 0;
        // SAFETY: as in `wake`; the buffer is a live, writable u64. Unsignalled is EAGAIN.
        unsafe { libc::read(self.fd.as_raw_fd(), (&raw mut count).cast(), 8) };
    }

    /// The descriptor to poll.
    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A `pollfd` for `fd`, waiting for input (errors are always reported).
pub(crate) fn readable(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Waits until one of `fds` is ready or `timeout` has passed (`None`: no timeout), and returns
/// how many are ready (their `revents` say how). An interrupted wait returns 0.
pub(crate) fn wait(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let spec = timeout.map(|t| libc::timespec {
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below one billion: fits every platform's `c_long` (32 bits on some Android targets,
        // where the conversion is fallible in type only).
        #[allow(clippy::unnecessary_fallible_conversions)]
        tv_nsec: libc::c_long::try_from(t.subsec_nanos()).unwrap_or(0),
    });
    let spec_ptr = spec.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
    // SAFETY: `fds` is a live, writable slice of pollfd of the length passed; `spec_ptr` is null
    // or points to a live timespec; a null signal mask leaves the mask as it is.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            spec_ptr,
            std::ptr::null(),
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(e)
        };
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_is_seen_by_a_wait_until_cleared() {
        let wake = Wake::new().unwrap();
        let mut fds = [readable(wake.raw())];
        assert_eq!(wait(&mut fds, Some(Duration::ZERO)).unwrap(), 0);
        assert!(!wake.pending());
        wake.wake();
        wake.wake();
        assert!(wake.pending());
        assert_eq!(wait(&mut fds, Some(Duration::from_secs(5))).unwrap(), 1);
        assert_ne!(fds[0].revents & libc::POLLIN, 0);
        wake.clear();
        assert!(!wake.pending());
        fds[0].revents = 0;
        assert_eq!(wait(&mut fds, Some(Duration::ZERO)).unwrap(), 0);
    }

    #[test]
    fn a_wait_wakes_from_another_thread() {
        let wake = std::sync::Arc::new(Wake::new().unwrap());
        let other = wake.clone();
        let t = std::thread::spawn(move || other.wake());
        let mut fds = [readable(wake.raw())];
        // No timeout: only the other thread's write ends it.
        assert_eq!(wait(&mut fds, None).unwrap(), 1);
        t.join().unwrap();
    }
}
