//! The probe payload: `magic (4) | session nonce (8, big endian) | seq (4, big endian) | padding`.
//!
//! The padding is a pseudo-random stream derived from the nonce and the sequence number,
//! so a reply is accepted only as a byte-for-byte echo of what was sent: any altered
//! byte, anywhere, makes it foreign (with at least 4 bytes of padding; a bare 16-byte
//! header cannot tell an altered sequence number from another probe's).

use crate::event::Seq;

/// The four bytes every probe starts with.
pub const MAGIC: [u8; 4] = *b"EGpb";
/// Bytes before the padding.
pub const HEADER_LEN: usize = 16;
/// Largest UDP payload over IPv4.
pub const MAX_LEN: usize = 65_507;

/// The bytes of probe `seq` of the session `nonce`, `len` bytes long (at least [`HEADER_LEN`]).
pub fn encode(nonce: u64, seq: Seq, len: usize) -> Vec<u8> {
    let len = len.max(HEADER_LEN);
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&nonce.to_be_bytes());
    out.extend_from_slice(&seq.0.to_be_bytes());
    let mut state = nonce ^ (u64::from(seq.0) << 32 | u64::from(seq.0));
    while out.len() < len {
        let word = splitmix64(&mut state).to_le_bytes();
        let take = (len - out.len()).min(word.len());
        out.extend_from_slice(&word[..take]);
    }
    out
}

/// The sequence number of `data` if it is exactly the probe this session sent
/// (`len` bytes, our magic and nonce, the matching padding); `None` otherwise.
pub fn decode(nonce: u64, len: usize, data: &[u8]) -> Option<Seq> {
    if data.len() != len.max(HEADER_LEN) || data[..4] != MAGIC || data[4..12] != nonce.to_be_bytes()
    {
        return None;
    }
    let seq = Seq(u32::from_be_bytes([data[12], data[13], data[14], data[15]]));
    (encode(nonce, seq, len) == data).then_some(seq)
}

/// The sequence number in a datagram that starts like ours (magic and nonce),
/// without checking length or padding: for the error queue, where the kernel
/// may return a truncated copy of what we sent.
pub fn peek_seq(nonce: u64, data: &[u8]) -> Option<Seq> {
    if data.len() < HEADER_LEN || data[..4] != MAGIC || data[4..12] != nonce.to_be_bytes() {
        return None;
    }
    Some(Seq(u32::from_be_bytes([
        data[12], data[13], data[14], data[15],
    ])))
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips() {
        let bytes = encode(42, Seq(7), 32);
        assert_eq!(bytes.len(), 32);
        assert_eq!(decode(42, 32, &bytes), Some(Seq(7)));
        assert_eq!(peek_seq(42, &bytes[..20]), Some(Seq(7)));
    }

    #[test]
    fn rejects_other_sessions_and_lengths() {
        let bytes = encode(42, Seq(7), 32);
        assert_eq!(decode(43, 32, &bytes), None);
        assert_eq!(decode(42, 33, &bytes), None);
        assert_eq!(decode(42, 32, &bytes[..31]), None);
        assert_eq!(decode(42, 32, b"hello"), None);
    }

    proptest! {
        #[test]
        fn any_altered_byte_is_rejected(nonce: u64, seq: u32, len in 20usize..80, pos: usize, flip in 1u8..=255) {
            let mut bytes = encode(nonce, Seq(seq), len);
            let pos = pos % bytes.len();
            bytes[pos] ^= flip;
            prop_assert_eq!(decode(nonce, len, &bytes), None);
        }
    }
}
