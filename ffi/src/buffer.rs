//! Writing strings into caller-provided buffers, and reading caller strings.
//!
//! The caller owns every buffer. A string is written with its terminating NUL; the needed size
//! (length + 1) is always reported when asked for, so a caller can retry with a larger buffer.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};

use crate::result::{EgpResult, FfiError};

/// Writes `text` and a NUL into `buf` (capacity `len` bytes) and its needed size into
/// `out_needed` (when not NULL).
///
/// * `len` too small: nothing but a NUL in `buf[0]` (when `len > 0`) is written and
///   `BufferTooSmall` is returned; `buf` may be NULL when `len` is 0 (a size query).
/// * `buf` NULL with `len > 0`: `NullArgument`.
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` bytes; `out_needed` must be NULL or valid
/// for a write of one `usize`. Neither is kept after the call.
pub(crate) unsafe fn write_str(
    text: &str,
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> Result<(), FfiError> {
    let needed = text.len() + 1;
    if !out_needed.is_null() {
        // SAFETY: the caller guarantees a non-NULL `out_needed` is valid for one write.
        unsafe { out_needed.write(needed) };
    }
    if buf.is_null() {
        return Err(if len == 0 {
            FfiError::new(
                EgpResult::BufferTooSmall,
                format!("size query: {needed} bytes are needed"),
            )
        } else {
            FfiError::null("buf")
        });
    }
    if len < needed {
        if len > 0 {
            // SAFETY: `buf` is non-NULL and valid for `len >= 1` bytes.
            unsafe { buf.write(0) };
        }
        return Err(FfiError::new(
            EgpResult::BufferTooSmall,
            format!("the buffer holds {len} bytes but {needed} are needed (including the NUL)"),
        ));
    }
    // SAFETY: `buf` is valid for `len >= needed` bytes; the source is a live `&str` of
    // `needed - 1` bytes that cannot overlap the caller's buffer (it is Rust-owned memory).
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
        buf.add(text.len()).write(0);
    }
    Ok(())
}

/// Borrows a NUL-terminated UTF-8 string from the caller for the duration of a call.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid and unchanged for
/// the lifetime `'a` (the current call).
pub(crate) unsafe fn read_str<'a>(ptr: *const c_char, argument: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(argument));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|e| {
        FfiError::new(
            EgpResult::InvalidUtf8,
            format!(
                "argument `{argument}` is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Like [`read_str`], but NULL means "not given".
///
/// # Safety
/// As [`read_str`].
pub(crate) unsafe fn read_optional_str<'a>(
    ptr: *const c_char,
    argument: &str,
) -> Result<Option<&'a str>, FfiError> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { read_str(ptr, argument) }.map(Some)
    }
}

/// Writes `value` through an out-pointer, after checking it for NULL.
///
/// # Safety
/// `out` must be NULL or valid for a write of one `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T, argument: &str) -> Result<(), FfiError> {
    if out.is_null() {
        return Err(FfiError::null(argument));
    }
    // SAFETY: non-NULL and valid for one write per the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str, capacity: usize) -> (Result<(), FfiError>, Vec<u8>, usize) {
        let mut buf = vec![0xAA_u8; capacity];
        let mut needed = 0_usize;
        // SAFETY: the buffer has `capacity` bytes; `needed` is a live usize.
        let result = unsafe { write_str(text, buf.as_mut_ptr().cast(), capacity, &raw mut needed) };
        (result, buf, needed)
    }

    #[test]
    fn exact_fit_writes_text_and_nul() {
        let (result, buf, needed) = write("abc", 4);
        assert!(result.is_ok());
        assert_eq!(needed, 4);
        assert_eq!(buf, b"abc\0");
    }

    #[test]
    fn too_small_reports_the_needed_size_and_leaves_an_empty_string() {
        let (result, buf, needed) = write("abcdef", 3);
        assert_eq!(result.unwrap_err().code, EgpResult::BufferTooSmall);
        assert_eq!(needed, 7);
        assert_eq!(buf, [0, 0xAA, 0xAA], "only the NUL in buf[0] is written");
    }

    #[test]
    fn size_query_with_null_buffer() {
        let mut needed = 0_usize;
        // SAFETY: NULL buffer with length 0; `needed` is live.
        let result = unsafe { write_str("hello", std::ptr::null_mut(), 0, &raw mut needed) };
        assert_eq!(result.unwrap_err().code, EgpResult::BufferTooSmall);
        assert_eq!(needed, 6);
    }

    #[test]
    fn null_buffer_with_a_length_is_a_null_argument() {
        // SAFETY: NULL buffer and NULL out_needed are both allowed inputs.
        let result = unsafe { write_str("x", std::ptr::null_mut(), 8, std::ptr::null_mut()) };
        assert_eq!(result.unwrap_err().code, EgpResult::NullArgument);
    }

    #[test]
    fn larger_buffer_keeps_its_tail() {
        let (result, buf, needed) = write("", 3);
        assert!(result.is_ok());
        assert_eq!(needed, 1);
        assert_eq!(buf, [0, 0xAA, 0xAA]);
    }

    #[test]
    fn read_str_checks_null_and_utf8() {
        // SAFETY: NULL is an allowed input.
        let null = unsafe { read_str(std::ptr::null(), "json") };
        assert_eq!(null.unwrap_err().code, EgpResult::NullArgument);
        let bad = b"ok\xFFno\0";
        // SAFETY: a NUL-terminated byte string that outlives the call.
        let err = unsafe { read_str(bad.as_ptr().cast(), "json") }.unwrap_err();
        assert_eq!(err.code, EgpResult::InvalidUtf8);
        assert!(err.message.contains("offset 2"), "{}", err.message);
        let good = c"Montr\u{e9}al";
        // SAFETY: a C string literal lives forever.
        assert_eq!(
            unsafe { read_str(good.as_ptr(), "json") }.unwrap(),
            "Montréal"
        );
        // SAFETY: as above.
        assert_eq!(
            unsafe { read_optional_str(std::ptr::null(), "x") }.unwrap(),
            None
        );
    }
}
