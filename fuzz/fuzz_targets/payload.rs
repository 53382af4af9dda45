//! `edgegap_ping::payload`: the check every UDP datagram a beacon (or anyone) sends back goes
//! through (`decode`), and `peek_seq` for the kernel's error queue, which may hand back a
//! truncated copy. Input: 8 bytes session nonce (big endian), 2 bytes probe size, then the
//! received datagram.
//!
//! Deliberately minimal: it only calls `decode(nonce, size, &[u8])` and `peek_seq(nonce, &[u8])`
//! and looks at whether they accept, so it keeps compiling while the payload's layout and
//! `decode`'s return type change (the module's own tests check the exact round trip).
#![no_main]

use edgegap_ping::payload::{HEADER_LEN, MAX_LEN, decode, peek_seq};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let nonce = u64::from_be_bytes(data[..8].try_into().expect("8 bytes"));
    let size = usize::from(u16::from_be_bytes([data[8], data[9]])).min(MAX_LEN);
    let datagram = &data[10..];

    let peeked = peek_seq(nonce, datagram).is_some();
    if decode(nonce, size, datagram).is_some() {
        // A reply is accepted only at the size we send, and only if it starts like ours.
        assert_eq!(datagram.len(), size.max(HEADER_LEN));
        assert!(
            peeked,
            "decode accepted a datagram peek_seq does not recognise"
        );
    }
    // Every prefix is safe to peek at (the error queue's truncated copies).
    for cut in [
        datagram.len() / 2,
        HEADER_LEN.min(datagram.len()),
        1.min(datagram.len()),
    ] {
        let _ = peek_seq(nonce, &datagram[..cut]);
        let _ = decode(nonce, size, &datagram[..cut]);
    }
});
