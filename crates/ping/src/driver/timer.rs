//! A sleep precise to microseconds, for pacing.
//!
//! tokio's timer wheel has a resolution of one millisecond and rounds every deadline up to
//! the next tick, so a 1 ms gap between probes becomes 1 to 2 ms and a run of 2,560 probes
//! takes twice as long as it should. On Linux the driver waits on a `timerfd` instead: a
//! kernel timer on `CLOCK_MONOTONIC` (the clock behind `Instant`) that tokio's reactor polls
//! like a socket, so a wait ends within microseconds of its deadline without spinning.
//! Elsewhere, and if the timerfd cannot be created, it falls back to tokio's timer.
//!
//! On Windows tokio's timer sleeps through the completion port with a millisecond timeout,
//! which the system rounds to its timer interrupt, 15.6 ms by default: a 1 ms gap would
//! become 15.6 ms. So a [`Timer`] raises the resolution to 1 ms with `timeBeginPeriod(1)`
//! for its lifetime (one run) and restores it with `timeEndPeriod(1)` when dropped; waits
//! then end within about 1 to 2 ms of their deadline, as on macOS. (Since Windows 10 2004
//! the setting is per process; a game has usually raised it already.)
#![allow(unsafe_code)]

use std::time::{Duration, Instant};

/// Waits shorter than this are spent yielding to the runtime (which polls the sockets without
/// blocking in between) rather than sleeping: arming a timer and being woken through the
/// reactor costs tens of microseconds of its own, so a 20 µs pacing gap became 60-150 µs and
/// a run of 64,000 probes took 10 s instead of 1.3 s (`benches/scale.sh`).
pub(crate) const YIELD_BELOW: Duration = Duration::from_micros(100);

/// Waits until an instant, precisely where the platform allows.
#[derive(Debug)]
pub(crate) struct Timer {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fd: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
    /// The instant the timerfd is armed for and has not yet been read at: the driver makes a
    /// new wait on every pass of its loop, mostly for the same deadline, which then needs no
    /// new `timerfd_settime`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    armed: Option<Instant>,
    #[cfg(windows)]
    /// Held for its `Drop`, which restores the system timer resolution.
    _resolution: windows::Resolution,
}

impl Timer {
    /// A timer; must be created inside a tokio runtime.
    pub(crate) fn new() -> Self {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let fd = linux::create()
                .map_err(
                    |e| tracing::debug!(error = %e, "no timerfd: pacing uses tokio's 1 ms timer"),
                )
                .ok();
            Self { fd, armed: None }
        }
        #[cfg(windows)]
        {
            Self {
                _resolution: windows::Resolution::raise(),
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
        Self {}
    }

    /// Returns at `at` (at once if it has passed); never returns for `None`.
    pub(crate) async fn sleep_until(&mut self, at: Option<Instant>) {
        let Some(at) = at else {
            return std::future::pending().await;
        };
        if at.saturating_duration_since(Instant::now()) < YIELD_BELOW {
            while Instant::now() < at {
                tokio::task::yield_now().await;
            }
            return;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(fd) = &self.fd {
            match linux::wait(fd, at, &mut self.armed).await {
                Ok(()) => return,
                Err(e) => tracing::debug!(error = %e, "timerfd wait failed; using tokio's timer"),
            }
        }
        tokio::time::sleep_until(at.into()).await;
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Instant;

    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    pub(super) fn create() -> io::Result<AsyncFd<OwnedFd>> {
        // SAFETY: no pointer arguments; a negative result is an error, anything else a new
        // descriptor that nobody else owns.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a valid descriptor just created and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the `OwnedFd` is moved into the `AsyncFd`, stays open for its whole lifetime
        // and always returns the same descriptor from `as_raw_fd`. Called from `start`, which
        // checks that a tokio runtime (and so a reactor) is current.
        unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)
    }

    /// Arms the timer for `at` (unless `armed` says it already is) and waits for it to fire.
    /// Arming resets any earlier expiry (the kernel clears the count), so a wait abandoned by
    /// `select!` leaves nothing behind but the armed deadline, which the next wait for the
    /// same instant reuses.
    ///
    /// The descriptor is never read: tokio's reactor watches it edge-triggered, and the kernel
    /// signals every expiry to epoll (each one wakes the timerfd's wait queue), whether or not
    /// the count of earlier ones was read; arming anew clears that count. So a readiness tokio
    /// reports is taken for an expiry only once the deadline has passed by the clock (the
    /// monotonic one the timer runs on): a readiness left from an earlier expiry (of a wait
    /// abandoned by `select!`) is cleared and the timer armed again for what is left. Clearing is safe: tokio clears
    /// a readiness only if no new event came since it was reported, so an expiry between the
    /// clock check and the clearing is not lost. This saves a `read` per wait.
    pub(super) async fn wait(
        fd: &AsyncFd<OwnedFd>,
        at: Instant,
        armed: &mut Option<Instant>,
    ) -> io::Result<()> {
        let Some(wait) = at
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        else {
            return Ok(());
        };
        if *armed != Some(at) {
            arm(fd, wait)?;
            *armed = Some(at);
        }
        loop {
            let mut guard = fd.readable().await?;
            // Not ready again until a new expiry: the next arming clears the kernel's count,
            // and its expiry is a new edge.
            guard.clear_ready();
            let now = Instant::now();
            let Some(left) = at.checked_duration_since(now).filter(|d| !d.is_zero()) else {
                *armed = None;
                return Ok(());
            };
            // A readiness left from an earlier expiry: arm again (rare), so that an edge is
            // sure to come for this deadline whatever happened to the earlier arming.
            arm(fd, left)?;
        }
    }

    /// Sets the timer to fire once, `wait` from now.
    fn arm(fd: &AsyncFd<OwnedFd>, wait: std::time::Duration) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(wait.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: libc::c_long::from(wait.subsec_nanos().cast_signed()),
            },
        };
        // SAFETY: `spec` is a valid itimerspec that outlives the call; a null old value is allowed.
        let rc = unsafe {
            libc::timerfd_settime(fd.as_raw_fd(), 0, &raw const spec, std::ptr::null_mut())
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(windows)]
mod windows {
    use windows_sys::Win32::Media::{TIMERR_NOERROR, timeBeginPeriod, timeEndPeriod};

    /// The system timer at 1 ms while it lives.
    #[derive(Debug)]
    pub(super) struct Resolution {
        /// Whether `timeBeginPeriod(1)` succeeded (and so needs its `timeEndPeriod(1)`).
        pub(super) raised: bool,
    }

    impl Resolution {
        pub(super) fn raise() -> Self {
            // SAFETY: no pointers; every successful call is paired with one
            // `timeEndPeriod(1)`, in `drop`.
            let raised = unsafe { timeBeginPeriod(1) } == TIMERR_NOERROR;
            if !raised {
                tracing::debug!("timeBeginPeriod(1) failed: pacing may be coarse");
            }
            Self { raised }
        }
    }

    impl Drop for Resolution {
        fn drop(&mut self) {
            if self.raised {
                // SAFETY: no pointers; ends the period this value began.
                unsafe { timeEndPeriod(1) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_never_wakes_early_and_a_short_wait_is_not_rounded_to_the_millisecond_wheel() {
        let mut timer = Timer::new();
        let mut late = Vec::new();
        for _ in 0..20 {
            let at = Instant::now() + Duration::from_micros(300);
            timer.sleep_until(Some(at)).await;
            let woke = Instant::now();
            assert!(woke >= at, "woke {:?} early", at - woke);
            late.push(woke - at);
        }
        late.sort();
        // tokio's wheel would wake 0.7 ms or more late every time; allow a loaded machine
        // plenty of slack, but the typical wait must beat the wheel.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert!(
            late[late.len() / 2] < Duration::from_micros(650),
            "median lateness {:?}",
            late[late.len() / 2]
        );
        // Windows: tokio's 1 ms wheel, with the system timer at 1 ms instead of 15.6 ms.
        #[cfg(windows)]
        {
            assert!(
                windows::Resolution::raise().raised,
                "timeBeginPeriod(1) failed"
            );
            assert!(
                late[late.len() / 2] < Duration::from_millis(5),
                "median lateness {:?}: the 15.6 ms system tick?",
                late[late.len() / 2]
            );
        }
    }

    #[tokio::test]
    async fn an_abandoned_wait_leaves_no_stale_wakeup() {
        let mut timer = Timer::new();
        let short = Instant::now() + Duration::from_millis(1);
        // Abandon a wait, let its deadline pass, then wait for a later deadline.
        tokio::select! {
            () = timer.sleep_until(Some(Instant::now() + Duration::from_millis(1))) => {}
            () = std::future::ready(()) => {}
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
        let at = Instant::now() + Duration::from_millis(20);
        timer.sleep_until(Some(at)).await;
        assert!(Instant::now() >= at && short < at);
    }

    #[tokio::test]
    async fn a_wait_abandoned_and_taken_up_again_for_the_same_deadline_still_fires() {
        let mut timer = Timer::new();
        let at = Instant::now() + Duration::from_millis(5);
        for _ in 0..3 {
            tokio::select! {
                () = timer.sleep_until(Some(at)) => panic!("woke before its deadline"),
                () = tokio::task::yield_now() => {}
            }
        }
        tokio::time::timeout(Duration::from_secs(5), timer.sleep_until(Some(at)))
            .await
            .expect("the armed deadline fired");
        assert!(Instant::now() >= at);
        // And the next deadline is armed afresh.
        let next = Instant::now() + Duration::from_millis(2);
        timer.sleep_until(Some(next)).await;
        assert!(Instant::now() >= next);
    }

    #[tokio::test]
    async fn a_wait_shorter_than_a_sleep_never_ends_early_and_lets_other_tasks_run() {
        let mut timer = Timer::new();
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let other = tokio::spawn({
            let ran = ran.clone();
            async move { ran.store(true, std::sync::atomic::Ordering::Relaxed) }
        });
        for _ in 0..50 {
            let at = Instant::now() + YIELD_BELOW / 2;
            timer.sleep_until(Some(at)).await;
            assert!(Instant::now() >= at, "woke early");
        }
        other.await.unwrap();
        assert!(ran.load(std::sync::atomic::Ordering::Relaxed));
    }
}
