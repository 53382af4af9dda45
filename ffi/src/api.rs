//! The exported `egp_*` functions.
//!
//! Every function runs its body inside the panic boundary ([`boundary::call`]), checks each
//! pointer for NULL and each string for UTF-8 before doing anything, and records a message for
//! `egp_last_error_message` when it fails. Handles are ids looked up in a registry, never
//! dereferenced, so a stale or made-up handle is an `EGP_RESULT_INVALID_HANDLE`, not a crash.
//!
//! Ownership: the library never keeps a pointer the caller passes (strings are copied during
//! the call; `user_data` is only handed back to the callback). Buffers are always the
//! caller's. The only pointers the library returns are to static strings.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_void};
use std::sync::{Arc, LazyLock};

use probe::{Probe, Report, parse_beacon_list};

use crate::boundary::{self, call};
use crate::buffer::{read_optional_str, read_str, write_out, write_str};
use crate::callback::{Completion, EgpCompletionCallback, EgpProbe};
use crate::config::{self, EgpConfig, Settings};
use crate::last_error;
use crate::registry::Registry;
use crate::result::{EgpResult, FfiError};
use crate::runtime;
use crate::session::{EgpProgress, Session};

/// Version of this C ABI: bumped only on a breaking change (none is planned; the ABI grows by
/// appending functions, result codes and config fields).
pub const EGP_ABI_VERSION: u32 = 1;

/// The value of a handle that holds no probe.
pub const EGP_PROBE_NONE: EgpProbe = 0;

static VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => c"unknown",
    };

static PROBES: LazyLock<Registry<Session>> = LazyLock::new(Registry::new);

fn session(probe: EgpProbe) -> Result<Arc<Session>, FfiError> {
    PROBES.get(probe).ok_or_else(|| FfiError::handle(probe))
}

/// The library's version, such as `"0.1.0"`.
///
/// Ownership: the string is static; never free or modify it.
#[unsafe(no_mangle)]
pub extern "C" fn egp_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The C ABI version, `EGP_ABI_VERSION` of the header the library was built with. Compare it
/// with the header's at start-up to catch a stale library.
#[unsafe(no_mangle)]
pub extern "C" fn egp_abi_version() -> u32 {
    EGP_ABI_VERSION
}

/// The name of a result code, such as `"EGP_RESULT_BUFFER_TOO_SMALL"`, or
/// `"EGP_RESULT_UNKNOWN"` for a number that is not a code.
///
/// Ownership: the string is static; never free or modify it.
#[unsafe(no_mangle)]
pub extern "C" fn egp_result_name(code: u32) -> *const c_char {
    boundary::value(c"EGP_RESULT_UNKNOWN".as_ptr(), || {
        EgpResult::from_u32(code).map_or(c"EGP_RESULT_UNKNOWN".as_ptr(), |c| c.c_name().as_ptr())
    })
}

/// Fills `config` with the defaults and sets `config->size = size`. Always pass
/// `sizeof(EgpConfig)` as `size`: a library built for an older header keeps reading only the
/// fields it knows.
///
/// # Safety
/// `config` must be NULL (an error) or point to `size` writable bytes, owned by the caller.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_config_init(config: *mut EgpConfig, size: usize) -> EgpResult {
    call(|| {
        if config.is_null() {
            return Err(FfiError::null("config"));
        }
        // SAFETY: non-NULL, and `size` writable bytes per the contract above.
        unsafe { config::init(config, size) }
    })
}

fn create(beacons_json: &str, settings: &Settings) -> Result<EgpProbe, FfiError> {
    let probe_config = settings.to_probe_config()?;
    let beacons = parse_beacon_list(beacons_json)
        .map_err(|e| FfiError::new(EgpResult::BadBeaconList, format!("beacon list: {e}")))?;
    if beacons.is_empty() {
        return Err(FfiError::new(
            EgpResult::NoBeacons,
            "the beacon list holds no beacons: there is nothing to probe",
        ));
    }
    let count = beacons.len();
    let builder = Probe::builder().beacons(beacons).config(probe_config);
    Ok(PROBES.insert(Session::new(builder, count)))
}

/// Creates a probe (not started) from a beacon list and a configuration.
///
/// * `beacons_json`: the beacon list as fetched, either shape: `{"locations": [...]}` (Edgegap
///   v1 API) or `{"beacons": [...]}` (a matchmaker's `locations/beacons`). Copied; the caller
///   keeps ownership.
/// * `config`: NULL for the defaults, or a struct filled by `egp_config_init` and then changed.
///   Read during the call only; the caller keeps ownership.
/// * `out_probe`: receives the new handle (or `EGP_PROBE_NONE` on failure). The caller owns the
///   handle and must release it with `egp_probe_free`.
///
/// # Safety
/// `beacons_json` must be NULL or a NUL-terminated string; `config` NULL or valid for
/// `config->size` bytes; `out_probe` NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_probe_create(
    beacons_json: *const c_char,
    config: *const EgpConfig,
    out_probe: *mut EgpProbe,
) -> EgpResult {
    call(|| {
        // SAFETY: `out_probe` is NULL or valid for one write (contract).
        unsafe { write_out(out_probe, EGP_PROBE_NONE, "out_probe") }?;
        // SAFETY: NULL or NUL-terminated, alive during this call (contract).
        let json = unsafe { read_str(beacons_json, "beacons_json") }?;
        // SAFETY: NULL or valid for its `size` bytes (contract).
        let config = unsafe { config::read(config) }?;
        let settings = Settings {
            config,
            attribute: None,
            cache_file: None,
        };
        let probe = create(json, &settings)?;
        // SAFETY: checked non-NULL above, valid for one write.
        unsafe { write_out(out_probe, probe, "out_probe") }
    })
}

/// Like `egp_probe_create`, with the configuration as a JSON object (NULL or `"{}"` for the
/// defaults). Keys: the `EgpConfig` field names (enums as strings: `"protocol": "udp"`,
/// `"ip_version": "v4"`, `"statistic": "trimmed-mean"`, booleans as `true`/`false`), plus
/// `"attribute"` (the matchmaker rule name, default `"beacons"`) and `"cache_file"` (a path
/// where the report is kept between runs). Unknown keys are an error.
///
/// # Safety
/// `beacons_json` and `config_json` must be NULL or NUL-terminated strings; `out_probe` NULL
/// or valid for one write. Nothing is kept after the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_probe_create_json(
    beacons_json: *const c_char,
    config_json: *const c_char,
    out_probe: *mut EgpProbe,
) -> EgpResult {
    call(|| {
        // SAFETY: `out_probe` is NULL or valid for one write (contract).
        unsafe { write_out(out_probe, EGP_PROBE_NONE, "out_probe") }?;
        // SAFETY: NULL or NUL-terminated, alive during this call (contract).
        let json = unsafe { read_str(beacons_json, "beacons_json") }?;
        // SAFETY: as above.
        let config_text = unsafe { read_optional_str(config_json, "config_json") }?;
        let settings = config::from_json(config_text.unwrap_or("{}"))?;
        let probe = create(json, &settings)?;
        // SAFETY: checked non-NULL above, valid for one write.
        unsafe { write_out(out_probe, probe, "out_probe") }
    })
}

/// Gives the probe the report of an earlier run (the JSON `egp_probe_result_json` returned,
/// saved by the game): its best location is kept while it stays a near tie, so players do not
/// flip between two equally good locations. Before `egp_probe_start` only.
///
/// # Safety
/// `report_json` must be NULL or a NUL-terminated string; it is copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_probe_set_previous_json(
    probe: EgpProbe,
    report_json: *const c_char,
) -> EgpResult {
    call(|| {
        // SAFETY: NULL or NUL-terminated, alive during this call (contract).
        let json = unsafe { read_str(report_json, "report_json") }?;
        let session = session(probe)?;
        let report = Report::from_json(json)
            .map_err(|e| FfiError::new(EgpResult::InvalidJson, format!("previous report: {e}")))?;
        session.set_previous(report)
    })
}

/// Sets the completion callback (NULL clears it) before `egp_probe_start`.
///
/// The callback is called once, **on the library's callback thread** (started by the first
/// call that sets a callback; `EGP_RESULT_RUNTIME` if it cannot be started), when the result
/// is ready; see `EgpCompletionCallback` for what it may call. `user_data` is passed back
/// untouched; the caller owns it and must keep it valid until the callback ran or
/// `egp_probe_free` returned (after which the callback is guaranteed not to run).
///
/// # Safety
/// `callback` must be NULL or a function that follows the `EgpCompletionCallback` contract;
/// `user_data` must be usable from another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_probe_set_callback(
    probe: EgpProbe,
    callback: EgpCompletionCallback,
    user_data: *mut c_void,
) -> EgpResult {
    call(|| session(probe)?.set_callback(Completion::new(callback, user_data)))
}

/// Starts the probe on the library's worker threads and returns at once (it waits for no
/// network, no probe and no callback). A probe runs once. Then call `egp_probe_poll` (from a
/// game loop, every frame is fine) until `finished` is 1. Allowed inside a callback.
#[unsafe(no_mangle)]
pub extern "C" fn egp_probe_start(probe: EgpProbe) -> EgpResult {
    call(|| session(probe)?.start(probe))
}

/// Writes the probe's progress into `out_progress`, without blocking.
///
/// Returns `EGP_RESULT_NOT_STARTED` (with `out_progress` still filled: state CREATED) before
/// `egp_probe_start`. The run's own outcome is `out_progress->status`.
///
/// # Safety
/// `out_progress` must be NULL or valid for one write of `EgpProgress`, owned by the caller.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_probe_poll(
    probe: EgpProbe,
    out_progress: *mut EgpProgress,
) -> EgpResult {
    call(|| {
        if out_progress.is_null() {
            return Err(FfiError::null("out_progress"));
        }
        let progress = session(probe)?.progress();
        // SAFETY: checked non-NULL; valid for one write (contract).
        unsafe { write_out(out_progress, progress, "out_progress") }?;
        if progress.state == crate::session::EgpState::Created as u32 {
            return Err(FfiError::new(
                EgpResult::NotStarted,
                "the probe has not been started: call egp_probe_start",
            ));
        }
        Ok(())
    })
}

fn copy_text(
    probe: EgpProbe,
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
    pick: fn(&crate::session::Texts) -> &str,
) -> Result<(), FfiError> {
    if buf.is_null() && len > 0 {
        return Err(FfiError::null("buf"));
    }
    session(probe)?.with_texts(|texts| {
        // SAFETY: `buf` is NULL with `len == 0` or valid for `len` bytes, `out_needed` NULL or
        // valid for one write (contracts of the two callers).
        unsafe { write_str(pick(texts), buf, len, out_needed) }
    })?
}

/// Copies the finished probe's report (JSON: every location ranked, with its statistics,
/// `unreachable`, `excluded`, `payload`, timings) into `buf` with a NUL.
///
/// `*out_needed` (when not NULL) receives the size needed including the NUL; when `len` is too
/// small `EGP_RESULT_BUFFER_TOO_SMALL` is returned (buf holds `""`): call again with a buffer
/// of that size. `buf` may be NULL when `len` is 0 to ask for the size. Before the end:
/// `EGP_RESULT_NOT_FINISHED`; a run that failed returns its error code.
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` bytes; `out_needed` NULL or valid for one
/// write. Both are the caller's and are not kept.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_probe_result_json(
    probe: EgpProbe,
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> EgpResult {
    call(|| copy_text(probe, buf, len, out_needed, |t| &t.report_json))
}

/// Copies the matchmaker payload, `{"<attribute>": {"<City>": <ms>, ...}}` with only the
/// reachable, non-excluded locations, into `buf`, as `egp_probe_result_json` does. The payload
/// **is** the ticket's `attributes` object (`{"profile": ..., "attributes": <payload>}`): send
/// it whole, adding any other attribute the profile needs as a key beside the latency one;
/// `egp_flow_create` takes it as its `attributes_json`.
///
/// # Safety
/// As `egp_probe_result_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_probe_payload_json(
    probe: EgpProbe,
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> EgpResult {
    call(|| copy_text(probe, buf, len, out_needed, |t| &t.payload_json))
}

/// Copies why this probe's run failed into `buf` with a NUL, as `egp_probe_result_json`
/// copies text: the run's own error (the message behind `EgpProgress::status`), whichever
/// thread asks and whatever other calls failed since. `""` while the probe is created or
/// running, and when its run succeeded.
///
/// # Safety
/// As `egp_probe_result_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_probe_error_message(
    probe: EgpProbe,
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> EgpResult {
    call(|| {
        let message = session(probe)?.error_message();
        // SAFETY: `buf` is NULL (refused by write_str when `len > 0`) or valid for `len`
        // bytes; `out_needed` NULL or valid for one write (contract).
        unsafe { write_str(&message, buf, len, out_needed) }
    })
}

/// Asks the probe to stop sending; it finishes shortly after with what was measured so far
/// (`cancelled` is 1 in its progress). A probe not started yet is finished as
/// `EGP_RESULT_CANCELLED`. Cancelling twice, or a finished probe, is fine. Returns at once: it
/// only signals the run, from any thread, also inside a callback (for any probe).
#[unsafe(no_mangle)]
pub extern "C" fn egp_probe_cancel(probe: EgpProbe) -> EgpResult {
    call(|| {
        session(probe)?.cancel();
        Ok(())
    })
}

/// For tools: starts the probe if needed and blocks the calling thread until it has ended;
/// returns the run's result code. Never call it from a game's main thread. The only call that
/// blocks: refused (`EGP_RESULT_RUNTIME`) inside the completion callback, or on any thread of
/// an async runtime.
#[unsafe(no_mangle)]
pub extern "C" fn egp_probe_run_blocking(probe: EgpProbe) -> EgpResult {
    call(|| {
        runtime::ensure_may_block("egp_probe_run_blocking")?;
        let session = session(probe)?;
        // Starts it unless it already runs or ran (then this only waits for the end).
        match session.start(probe) {
            Err(e) if e.code == EgpResult::AlreadyStarted => {}
            other => other?,
        }
        session.wait()
    })
}

/// Releases the probe: cancels it if running and detaches the callback (once this returns,
/// the callback is not running and never will). The handle is invalid at once; freeing it
/// again returns `EGP_RESULT_INVALID_HANDLE`. Freeing `EGP_PROBE_NONE` does nothing and
/// returns `EGP_RESULT_OK`, like `free(NULL)`.
///
/// It never waits for the run to end: a running probe is cancelled and lets its resources go
/// on the library's threads shortly after. The one wait: called on one of your threads while
/// this probe's callback is running right now, it returns when the callback has returned (so
/// do not call it while holding a lock your callback takes). Inside a callback it never waits,
/// for its own probe or any other: callbacks run one at a time, so no other one is running,
/// and a freed probe whose callback is due is never called back.
#[unsafe(no_mangle)]
pub extern "C" fn egp_probe_free(probe: EgpProbe) -> EgpResult {
    call(|| {
        if probe == EGP_PROBE_NONE {
            return Ok(());
        }
        let session = PROBES
            .remove(probe)
            .ok_or_else(|| FfiError::handle(probe))?;
        session.release();
        Ok(())
    })
}

/// Copies the message of the last failed call **on this thread** into `buf` with a NUL (`""`
/// when none failed), as `egp_probe_result_json` copies text. This call does not change the
/// last error, even when it fails.
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` bytes; `out_needed` NULL or valid for one
/// write. Both are the caller's and are not kept.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> EgpResult {
    let message = boundary::value(String::new(), last_error::message);
    boundary::value(EgpResult::Panic, || {
        // SAFETY: forwarded contract; the result is returned without touching the last error.
        match unsafe { write_str(&message, buf, len, out_needed) } {
            Ok(()) => EgpResult::Ok,
            Err(e) => e.code,
        }
    })
}

/// The code of the last failed call on this thread (`EGP_RESULT_OK` when none failed).
#[unsafe(no_mangle)]
pub extern "C" fn egp_last_error_code() -> EgpResult {
    boundary::value(EgpResult::Panic, last_error::code)
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::session::EgpState;

    /// A UDP echo beacon on loopback, served by a thread until dropped.
    struct Echo {
        port: u16,
        stop: Arc<AtomicBool>,
    }

    impl Echo {
        fn start() -> Echo {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            let port = socket.local_addr().unwrap().port();
            let stop = Arc::new(AtomicBool::new(false));
            let running = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut buf = [0_u8; 2048];
                while !running.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = socket.recv_from(&mut buf) {
                        let _ = socket.send_to(&buf[..n], from);
                    }
                }
            });
            Echo { port, stop }
        }

        fn list(&self) -> String {
            format!(
                r#"{{"count": 1, "locations": [{{"host": "127.0.0.1", "udp_port": {},
                   "location": {{"city": "Echoville", "country": "Loopback"}}}}]}}"#,
                self.port
            )
        }
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn cstring(text: &str) -> std::ffi::CString {
        std::ffi::CString::new(text).unwrap()
    }

    fn read(probe: EgpProbe, payload: bool) -> Result<String, EgpResult> {
        let reader = if payload {
            egp_probe_payload_json
        } else {
            egp_probe_result_json
        };
        let mut needed = 0_usize;
        // SAFETY: size query with a NULL buffer of length 0; `needed` is live.
        let code = unsafe { reader(probe, std::ptr::null_mut(), 0, &raw mut needed) };
        if code != EgpResult::BufferTooSmall {
            return Err(code);
        }
        let mut buf = vec![0_u8; needed];
        // SAFETY: `buf` has `needed` bytes.
        let code = unsafe { reader(probe, buf.as_mut_ptr().cast(), needed, std::ptr::null_mut()) };
        if code != EgpResult::Ok {
            return Err(code);
        }
        buf.pop();
        Ok(String::from_utf8(buf).unwrap())
    }

    fn create(list: &str, config: &str) -> EgpProbe {
        let (list, config) = (cstring(list), cstring(config));
        let mut probe = EGP_PROBE_NONE;
        // SAFETY: live C strings and a live out-pointer.
        let code = unsafe { egp_probe_create_json(list.as_ptr(), config.as_ptr(), &raw mut probe) };
        assert_eq!(code, EgpResult::Ok, "{}", last_error::message());
        probe
    }

    fn poll(probe: EgpProbe) -> (EgpResult, EgpProgress) {
        let mut progress = EgpProgress::default();
        // SAFETY: `progress` is live.
        let code = unsafe { egp_probe_poll(probe, &raw mut progress) };
        (code, progress)
    }

    static CALLBACK_STATUS: AtomicU32 = AtomicU32::new(u32::MAX);

    unsafe extern "C" fn record(_: EgpProbe, status: EgpResult, _: *mut c_void) {
        CALLBACK_STATUS.store(status as u32, Ordering::SeqCst);
    }

    #[test]
    fn a_probe_runs_from_create_to_free_against_a_loopback_echo() {
        let echo = Echo::start();
        let probe = create(&echo.list(), r#"{"count": 3, "interval_ms": 5}"#);
        assert_eq!(poll(probe).0, EgpResult::NotStarted);
        assert_eq!(poll(probe).1.targets_total, 1);
        // SAFETY: a static function and NULL user data.
        let code = unsafe { egp_probe_set_callback(probe, Some(record), std::ptr::null_mut()) };
        assert_eq!(code, EgpResult::Ok);

        assert_eq!(egp_probe_start(probe), EgpResult::Ok);
        assert_eq!(egp_probe_start(probe), EgpResult::AlreadyStarted);
        let deadline = Instant::now() + Duration::from_secs(20);
        let progress = loop {
            let (code, progress) = poll(probe);
            assert_eq!(code, EgpResult::Ok);
            if progress.finished == 1 || Instant::now() > deadline {
                break progress;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(progress.state, EgpState::Finished as u32);
        assert_eq!(progress.status, EgpResult::Ok as u32);
        assert!(progress.samples >= 1, "{progress:?}");

        let report = read(probe, false).unwrap();
        assert!(report.contains("\"city\": \"Echoville\""), "{report}");
        let payload: serde_json::Value = serde_json::from_str(&read(probe, true).unwrap()).unwrap();
        assert!(
            payload["beacons"]["Echoville"]
                .as_f64()
                .is_some_and(|ms| ms >= 0.0),
            "{payload}"
        );

        let waited = Instant::now();
        while CALLBACK_STATUS.load(Ordering::SeqCst) == u32::MAX
            && waited.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(CALLBACK_STATUS.load(Ordering::SeqCst), EgpResult::Ok as u32);

        assert_eq!(egp_probe_free(probe), EgpResult::Ok);
        assert_eq!(egp_probe_free(probe), EgpResult::InvalidHandle);
        assert_eq!(read(probe, false), Err(EgpResult::InvalidHandle));
    }

    /// The handles of two probes whose callbacks free each other.
    static PAIR: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
    static PAIR_FREES: [AtomicU32; 2] = [AtomicU32::new(u32::MAX), AtomicU32::new(u32::MAX)];
    static PAIR_CALLS: AtomicU32 = AtomicU32::new(0);

    unsafe extern "C" fn free_the_other(probe: EgpProbe, _: EgpResult, _: *mut c_void) {
        let other = usize::from(PAIR[0].load(Ordering::SeqCst) == probe);
        // Gives the other probe's callback every chance to be due at the same time.
        std::thread::sleep(Duration::from_millis(20));
        let code = egp_probe_free(PAIR[other].load(Ordering::SeqCst));
        PAIR_FREES[other].store(code as u32, Ordering::SeqCst);
        // Blocking stays refused on the callback thread.
        assert_eq!(egp_probe_run_blocking(probe), EgpResult::Runtime);
        PAIR_CALLS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn callbacks_freeing_each_other_leave_the_library_working() {
        let echo = Echo::start();
        let config = r#"{"count": 2, "interval_ms": 1}"#;
        for slot in &PAIR {
            let probe = create(&echo.list(), config);
            slot.store(probe, Ordering::SeqCst);
            // SAFETY: a static function; the user data is not used.
            let code = unsafe {
                egp_probe_set_callback(probe, Some(free_the_other), std::ptr::null_mut())
            };
            assert_eq!(code, EgpResult::Ok);
        }
        for slot in &PAIR {
            assert_eq!(egp_probe_start(slot.load(Ordering::SeqCst)), EgpResult::Ok);
        }
        let waited = Instant::now();
        while PAIR_CALLS.load(Ordering::SeqCst) == 0 && waited.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(PAIR_CALLS.load(Ordering::SeqCst) >= 1, "no callback ran");
        // Whatever the callbacks freed, each probe is freed exactly once in all.
        for (slot, by_callback) in PAIR.iter().zip(&PAIR_FREES) {
            let by_test = egp_probe_free(slot.load(Ordering::SeqCst)) as u32;
            let by_callback = by_callback.load(Ordering::SeqCst);
            let ok = [by_test, by_callback]
                .iter()
                .filter(|&&c| c == EgpResult::Ok as u32)
                .count();
            assert_eq!(ok, 1, "test free {by_test}, callback free {by_callback}");
        }
        // Nothing is stuck: a new probe runs to its end.
        let probe = create(&echo.list(), config);
        assert_eq!(egp_probe_run_blocking(probe), EgpResult::Ok);
        assert_eq!(egp_probe_free(probe), EgpResult::Ok);
    }

    #[test]
    fn run_blocking_is_refused_on_a_runtime_thread() {
        let echo = Echo::start();
        let probe = create(&echo.list(), r#"{"count": 1}"#);
        let code = runtime::get()
            .unwrap()
            .block_on(async move { egp_probe_run_blocking(probe) });
        assert_eq!(code, EgpResult::Runtime);
        assert_eq!(egp_probe_run_blocking(probe), EgpResult::Ok);
        assert!(read(probe, false).unwrap().contains("Echoville"));
        assert_eq!(egp_probe_free(probe), EgpResult::Ok);
    }

    #[test]
    fn both_beacon_list_shapes_are_accepted_and_bad_ones_rejected() {
        let matchmaker = r#"{"count": 1, "beacons": [{"fqdn": "b.invalid", "public_ip": "127.0.0.1",
            "udp_port": 9, "tcp_port": 9, "location": {"city": "Montreal"}}]}"#;
        let probe = create(matchmaker, "{}");
        assert_eq!(poll(probe).1.targets_total, 1);
        assert_eq!(egp_probe_free(probe), EgpResult::Ok);

        for (list, expected) in [
            ("{not json", EgpResult::BadBeaconList),
            (r#"{"something": []}"#, EgpResult::BadBeaconList),
            (r#"{"locations": []}"#, EgpResult::NoBeacons),
        ] {
            let list = cstring(list);
            let mut probe = 77;
            // SAFETY: live C string, NULL config (defaults), live out-pointer.
            let code = unsafe { egp_probe_create(list.as_ptr(), std::ptr::null(), &raw mut probe) };
            assert_eq!(code, expected);
            assert_eq!(probe, EGP_PROBE_NONE);
            assert_eq!(egp_last_error_code(), expected);
        }
    }

    #[test]
    fn last_error_message_reports_its_size_and_keeps_the_error() {
        assert_eq!(egp_probe_cancel(u64::MAX), EgpResult::InvalidHandle);
        let mut needed = 0_usize;
        // SAFETY: size query; `needed` is live.
        let code = unsafe { egp_last_error_message(std::ptr::null_mut(), 0, &raw mut needed) };
        assert_eq!(code, EgpResult::BufferTooSmall);
        let mut buf = vec![0_u8; needed];
        // SAFETY: `buf` has `needed` bytes.
        let code = unsafe {
            egp_last_error_message(buf.as_mut_ptr().cast(), needed, std::ptr::null_mut())
        };
        assert_eq!(code, EgpResult::Ok);
        let text = CStr::from_bytes_with_nul(&buf).unwrap().to_str().unwrap();
        assert!(text.contains(&u64::MAX.to_string()), "{text}");
        assert_eq!(egp_last_error_code(), EgpResult::InvalidHandle);
    }

    #[test]
    fn static_strings_are_nul_terminated() {
        // SAFETY: both functions return pointers to static NUL-terminated strings.
        let version = unsafe { CStr::from_ptr(egp_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        // SAFETY: as above.
        let name = unsafe { CStr::from_ptr(egp_result_name(EgpResult::NotFinished as u32)) };
        assert_eq!(name.to_str().unwrap(), "EGP_RESULT_NOT_FINISHED");
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(egp_result_name(1234)) };
        assert_eq!(unknown.to_str().unwrap(), "EGP_RESULT_UNKNOWN");
        assert_eq!(egp_abi_version(), EGP_ABI_VERSION);
    }

    #[test]
    fn the_runs_error_belongs_to_the_probe_not_the_thread() {
        let echo = Echo::start();
        let probe = create(&echo.list(), "{}");
        let message = |probe| {
            let mut buf = vec![0_u8; 512];
            // SAFETY: `buf` has 512 bytes.
            let code = unsafe {
                egp_probe_error_message(
                    probe,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    std::ptr::null_mut(),
                )
            };
            assert_eq!(code, EgpResult::Ok);
            CStr::from_bytes_until_nul(&buf)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(message(probe), "", "nothing failed yet");
        assert_eq!(egp_probe_cancel(probe), EgpResult::Ok);
        // Another call fails on this thread afterwards: the probe's message stays its own.
        assert_eq!(egp_probe_cancel(u64::MAX), EgpResult::InvalidHandle);
        let from_other_thread = std::thread::spawn(move || message(probe)).join().unwrap();
        assert!(
            from_other_thread.contains("cancelled before it started"),
            "{from_other_thread}"
        );
        assert_eq!(message(probe), from_other_thread);
        assert_eq!(egp_probe_free(probe), EgpResult::Ok);
    }
}
