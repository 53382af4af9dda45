//! The C ABI's inputs (`ffi/`, `include/edgegap_probe.h`), called exactly as a game would, through
//! the exported `extern "C"` functions: a beacon list and a configuration (JSON text, or the
//! `EgpConfig` struct as raw bytes) to `egp_probe_create[_json]`, then a previous report to
//! `egp_probe_set_previous_json`, then poll, cancel and free. The probe is never started: no
//! socket is opened, no thread is spawned.
//!
//! Input: one mode byte, then
//! * JSON config (mode bit 0 clear): up to three NUL-separated parts: beacon list, config JSON,
//!   previous report;
//! * struct config (mode bit 0 set): the raw bytes of an `EgpConfig` after its `size` field
//!   (`size_of::<EgpConfig>() - 4` bytes, or 16 more with bit 4; a short input keeps the
//!   defaults of `egp_config_init` for the rest), then two NUL-separated parts: beacon list,
//!   previous report.
//!
//! Strings go to the library as C strings as they are (invalid UTF-8 included). Mode bits:
//! 0 = struct config, 1 = config NULL, 2 = beacon list NULL, 3 = skip the previous report,
//! 4 = a struct larger than the library's (a newer header; its tail comes from the input).
//!
//! Besides "never crashes", checks: no call ever returns `EGP_RESULT_PANIC` (a panic stopped at
//! the boundary), a handle is returned exactly on success, the last error matches the code, the
//! result agrees with the Rust parsers, and a freed handle is invalid.
#![no_main]
#![allow(unsafe_code)]

use std::ffi::{CString, c_char};
use std::mem::size_of;
use std::ptr;

use edgegap_probe::{
    EgpConfig, EgpProbe, EgpProgress, EgpResult, EgpState, egp_config_init, egp_last_error_code,
    egp_last_error_message, egp_probe_cancel, egp_probe_create, egp_probe_create_json,
    egp_probe_free, egp_probe_poll, egp_probe_result_json, egp_probe_set_previous_json,
};
use libfuzzer_sys::fuzz_target;

const STRUCT_CONFIG: u8 = 1;
const NULL_CONFIG: u8 = 1 << 1;
const NULL_BEACONS: u8 = 1 << 2;
const NO_PREVIOUS: u8 = 1 << 3;
const LARGER_STRUCT: u8 = 1 << 4;
/// Extra bytes of a "newer header" struct.
const EXTRA: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let struct_config = mode & STRUCT_CONFIG != 0;
    let ours = size_of::<EgpConfig>();
    let size = if mode & LARGER_STRUCT != 0 {
        ours + EXTRA
    } else {
        ours
    };
    let (raw_config, rest) = if struct_config {
        rest.split_at(rest.len().min(size - 4))
    } else {
        (&[][..], rest)
    };
    let mut parts = rest.splitn(if struct_config { 2 } else { 3 }, |&b| b == 0);
    let beacons = parts.next().unwrap_or_default();
    let config = if struct_config {
        raw_config
    } else {
        parts.next().unwrap_or_default()
    };
    // The last part runs to the end of the input: like C, stop at its first NUL.
    let previous = parts
        .next()
        .map(|p| p.split(|&b| b == 0).next().unwrap_or_default());

    let beacons_c = CString::new(beacons).expect("split at NUL");
    let beacons_ptr = if mode & NULL_BEACONS != 0 {
        ptr::null()
    } else {
        beacons_c.as_ptr()
    };

    let mut handle: EgpProbe = u64::MAX;
    let rc = if struct_config {
        // An EgpConfig of `size` bytes as egp_config_init fills it, then overwritten (all but
        // `size`) by the input's bytes; u64 storage keeps it aligned.
        let mut storage = vec![0_u64; size.div_ceil(8)];
        let struct_ptr = storage.as_mut_ptr().cast::<EgpConfig>();
        let base = struct_ptr.cast::<u8>();
        // SAFETY: `storage` holds at least `size` writable bytes, aligned for EgpConfig.
        let init = unsafe { egp_config_init(struct_ptr, size) };
        assert_eq!(init, EgpResult::Ok);
        // SAFETY: `config.len() <= size - 4`, so bytes 4..4 + len lie inside `storage`.
        unsafe { ptr::copy_nonoverlapping(config.as_ptr(), base.add(4), config.len()) };
        let config_ptr = if mode & NULL_CONFIG != 0 {
            ptr::null()
        } else {
            struct_ptr.cast_const()
        };
        // SAFETY: a C string or NULL; a config valid for its `size` bytes or NULL; one u64.
        unsafe { egp_probe_create(beacons_ptr, config_ptr, &raw mut handle) }
    } else {
        let config_c = CString::new(config).expect("split at NUL");
        let config_ptr = if mode & NULL_CONFIG != 0 {
            ptr::null()
        } else {
            config_c.as_ptr()
        };
        // SAFETY: C strings or NULL, and one u64.
        unsafe { egp_probe_create_json(beacons_ptr, config_ptr, &raw mut handle) }
    };

    assert!(
        matches!(
            rc,
            EgpResult::Ok
                | EgpResult::NullArgument
                | EgpResult::InvalidUtf8
                | EgpResult::InvalidJson
                | EgpResult::BadBeaconList
                | EgpResult::NoBeacons
                | EgpResult::InvalidConfig
        ),
        "egp_probe_create returned {rc:?}: {}",
        last_error()
    );
    assert_eq!(
        rc == EgpResult::Ok,
        handle != 0,
        "handle {handle} with {rc:?}"
    );
    if rc != EgpResult::Ok {
        assert_eq!(egp_last_error_code(), rc);
        assert!(!last_error().is_empty(), "{rc:?} without a message");
    }

    // With the default configuration, the result is what the Rust parser says of the list.
    if mode & (NULL_CONFIG | NULL_BEACONS) == NULL_CONFIG {
        let expected = match std::str::from_utf8(beacons) {
            Err(_) => EgpResult::InvalidUtf8,
            Ok(text) => match edgegap_api::parse_beacon_list(text) {
                Err(_) => EgpResult::BadBeaconList,
                Ok(list) if list.is_empty() => EgpResult::NoBeacons,
                Ok(_) => EgpResult::Ok,
            },
        };
        assert_eq!(rc, expected, "{}", last_error());
    }

    if rc != EgpResult::Ok {
        return;
    }

    if let Some(previous) = previous.filter(|_| mode & NO_PREVIOUS == 0) {
        let previous_c = CString::new(previous).expect("split at NUL");
        // SAFETY: a C string.
        let set = unsafe { egp_probe_set_previous_json(handle, previous_c.as_ptr()) };
        let expected = match std::str::from_utf8(previous) {
            Err(_) => EgpResult::InvalidUtf8,
            Ok(text) if edgegap_rank::Report::from_json(text).is_ok() => EgpResult::Ok,
            Ok(_) => EgpResult::InvalidJson,
        };
        assert_eq!(set, expected, "{}", last_error());
    }

    let mut progress = EgpProgress::default();
    // SAFETY: one EgpProgress.
    assert_eq!(
        unsafe { egp_probe_poll(handle, &raw mut progress) },
        EgpResult::NotStarted
    );
    assert_eq!(progress.state, EgpState::Created as u32);
    assert_eq!(progress.finished, 0);
    let mut needed = 0_usize;
    // SAFETY: a size query (NULL, 0) and one usize.
    let read = unsafe { egp_probe_result_json(handle, ptr::null_mut(), 0, &raw mut needed) };
    assert_eq!(read, EgpResult::NotStarted);

    assert_eq!(egp_probe_cancel(handle), EgpResult::Ok);
    // SAFETY: one EgpProgress.
    assert_eq!(
        unsafe { egp_probe_poll(handle, &raw mut progress) },
        EgpResult::Ok
    );
    assert_eq!(progress.state, EgpState::Finished as u32);
    assert_eq!(progress.status, EgpResult::Cancelled as u32);

    assert_eq!(egp_probe_free(handle), EgpResult::Ok);
    assert_eq!(egp_probe_free(handle), EgpResult::InvalidHandle);
    // SAFETY: one EgpProgress.
    assert_eq!(
        unsafe { egp_probe_poll(handle, &raw mut progress) },
        EgpResult::InvalidHandle
    );
});

/// This thread's last error message.
fn last_error() -> String {
    let mut needed = 0_usize;
    // SAFETY: a size query.
    unsafe { egp_last_error_message(ptr::null_mut(), 0, &raw mut needed) };
    let mut buf = vec![0_u8; needed.max(1)];
    // SAFETY: `buf` is `buf.len()` writable bytes.
    let rc = unsafe {
        egp_last_error_message(
            buf.as_mut_ptr().cast::<c_char>(),
            buf.len(),
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, EgpResult::Ok);
    let end = buf.iter().position(|&b| b == 0).expect("NUL-terminated");
    String::from_utf8(buf[..end].to_vec()).expect("the message is UTF-8")
}
