//! The probe payload (UDP, and ICMP echo data):
//! `magic (4) | session nonce (8, big endian) | seq (4, big endian) | secret (8, big endian) | padding`.
//!
//! - The nonce is random per run: it tells our probes from other sessions' datagrams.
//! - The sequence number says which probe this is (it counts up, so it is predictable).
//! - The secret is 64 bits drawn for this one probe from a CSPRNG (ChaCha12, seeded from the
//!   operating system once per run) when it is sent. Nobody can know it before the probe
//!   is on the wire, so a reply can only carry it if it was made from the probe itself: one
//!   probe reveals nothing about the next. The core keeps each probe's secret in its
//!   in-flight entry and accepts a reply only if it carries exactly that secret.
//! - The padding (up to `payload_size`) is a SplitMix64 stream seeded with
//!   `nonce ^ secret ^ (seq << 32 | seq)`, written as little-endian words, so any altered
//!   byte anywhere makes the datagram malformed.
//!
//! [`decode`] only checks that a datagram is a well-formed probe of this session (length,
//! magic, nonce, padding consistent with its sequence number and secret) and says which
//! sequence number and secret it carries; whether that secret is the one the probe was sent
//! with is the core's check (`machine::Machine::on_datagram`).

use crate::event::Seq;

/// The four bytes every probe starts with.
pub const MAGIC: [u8; 4] = *b"EGpb";
/// Bytes before the padding (magic, nonce, sequence number, secret), and the smallest
/// payload a probe can have (`EngineConfig::payload_size` must be at least this).
pub const HEADER_LEN: usize = 24;
/// Bytes up to and including the sequence number: what [`peek_seq`] needs.
const SEQ_END: usize = 16;
/// Largest UDP payload over IPv4.
pub const MAX_LEN: usize = 65_507;

/// What a well-formed probe of this session carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The probe's sequence number.
    pub seq: Seq,
    /// The per-probe secret it carries (to be compared with the one it was sent with).
    pub secret: u64,
}

/// The bytes of probe `seq` of the session `nonce`, carrying `secret`, `len` bytes long
/// (at least [`HEADER_LEN`]).
pub fn encode(nonce: u64, seq: Seq, secret: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.max(HEADER_LEN));
    encode_into(nonce, seq, secret, len, &mut out);
    out
}

/// [`encode`], appended to `out` (the driver reuses one buffer for every probe it sends).
pub(crate) fn encode_into(nonce: u64, seq: Seq, secret: u64, len: usize, out: &mut Vec<u8>) {
    let len = len.max(HEADER_LEN);
    out.reserve(len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&nonce.to_be_bytes());
    out.extend_from_slice(&seq.0.to_be_bytes());
    out.extend_from_slice(&secret.to_be_bytes());
    let mut padding = Padding::new(nonce, seq, secret);
    let mut left = len - HEADER_LEN;
    while left > 0 {
        let word = padding.next_word();
        let take = left.min(word.len());
        out.extend_from_slice(&word[..take]);
        left -= take;
    }
}

/// The padding of a probe: its SplitMix64 words, little endian.
struct Padding(u64);

impl Padding {
    /// The padding of probe `seq` of session `nonce` carrying `secret`.
    fn new(nonce: u64, seq: Seq, secret: u64) -> Padding {
        Padding(nonce ^ secret ^ (u64::from(seq.0) << 32 | u64::from(seq.0)))
    }

    /// Its next eight bytes.
    fn next_word(&mut self) -> [u8; 8] {
        splitmix64(&mut self.0).to_le_bytes()
    }
}

/// The sequence number and secret of `data` if it is a well-formed probe of this session
/// (`len` bytes, our magic and nonce, the padding its sequence number and secret give);
/// `None` otherwise. This does not say the probe was sent with that secret: the caller
/// compares [`Header::secret`] with the one it drew.
pub fn decode(nonce: u64, len: usize, data: &[u8]) -> Option<Header> {
    if data.len() != len.max(HEADER_LEN) || data[..4] != MAGIC || data[4..12] != nonce.to_be_bytes()
    {
        return None;
    }
    let seq = Seq(u32::from_be_bytes(data[12..16].try_into().ok()?));
    let secret = u64::from_be_bytes(data[16..24].try_into().ok()?);
    // The padding is compared word by word as it is generated: no copy of the probe is built.
    let mut padding = Padding::new(nonce, seq, secret);
    data[HEADER_LEN..]
        .chunks(8)
        .all(|chunk| padding.next_word()[..chunk.len()] == *chunk)
        .then_some(Header { seq, secret })
}

/// The sequence number in a datagram that starts like ours (magic and nonce),
/// without checking length, secret or padding: for the error queue, where the kernel
/// may return a truncated copy of what we sent.
pub fn peek_seq(nonce: u64, data: &[u8]) -> Option<Seq> {
    if data.len() < SEQ_END || data[..4] != MAGIC || data[4..12] != nonce.to_be_bytes() {
        return None;
    }
    Some(Seq(u32::from_be_bytes(data[12..16].try_into().ok()?)))
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

    const SECRET: u64 = 0x0123_4567_89ab_cdef;

    #[test]
    fn round_trips() {
        let bytes = encode(42, Seq(7), SECRET, 32);
        assert_eq!(bytes.len(), 32);
        assert_eq!(&bytes[16..24], &SECRET.to_be_bytes());
        assert_eq!(
            decode(42, 32, &bytes),
            Some(Header {
                seq: Seq(7),
                secret: SECRET
            })
        );
        assert_eq!(peek_seq(42, &bytes[..20]), Some(Seq(7)));
        assert_eq!(peek_seq(42, &bytes[..15]), None);
    }

    #[test]
    fn encode_into_appends_what_encode_returns_and_decode_checks_every_padding_byte() {
        let mut buf = b"xy".to_vec();
        for len in [1, HEADER_LEN, 25, 31, 32, 33, 100] {
            buf.truncate(2);
            encode_into(42, Seq(9), SECRET, len, &mut buf);
            let whole = encode(42, Seq(9), SECRET, len);
            assert_eq!(&buf[2..], &whole[..], "len {len}");
            assert!(decode(42, len, &whole).is_some());
            // The last padding byte (a partial word when len % 8 != 0) is checked too.
            let mut bad = whole.clone();
            if bad.len() > HEADER_LEN {
                *bad.last_mut().unwrap() ^= 1;
                assert_eq!(decode(42, len, &bad), None, "len {len}");
            }
        }
    }

    #[test]
    fn the_header_alone_is_a_valid_probe() {
        let bytes = encode(42, Seq(7), SECRET, 1);
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(decode(42, HEADER_LEN, &bytes).map(|h| h.seq), Some(Seq(7)));
    }

    #[test]
    fn rejects_other_sessions_and_lengths() {
        let bytes = encode(42, Seq(7), SECRET, 32);
        assert_eq!(decode(43, 32, &bytes), None);
        assert_eq!(decode(42, 33, &bytes), None);
        assert_eq!(decode(42, 32, &bytes[..31]), None);
        assert_eq!(decode(42, 32, b"hello"), None);
    }

    #[test]
    fn a_probe_copied_with_the_next_sequence_number_is_malformed() {
        // The guess of a beacon that saw probe 7 and wants to answer probe 8 in advance.
        let mut guess = encode(42, Seq(7), SECRET, 32);
        guess[12..16].copy_from_slice(&8u32.to_be_bytes());
        assert_eq!(decode(42, 32, &guess), None);
        // Rebuilt properly, it is well-formed, but carries probe 7's secret: only the core's
        // comparison with probe 8's own secret tells it apart (machine tests).
        let rebuilt = encode(42, Seq(8), SECRET, 32);
        assert_eq!(decode(42, 32, &rebuilt).map(|h| h.secret), Some(SECRET));
    }

    proptest! {
        #[test]
        fn any_altered_byte_is_rejected_or_changes_the_header(
            nonce: u64, seq: u32, secret: u64, len in 24usize..80, pos: usize, flip in 1u8..=255,
        ) {
            let original = Header { seq: Seq(seq), secret };
            let mut bytes = encode(nonce, Seq(seq), secret, len);
            let pos = pos % bytes.len();
            bytes[pos] ^= flip;
            // Whatever byte is altered, the datagram never passes for the probe it came from:
            // the core would see another sequence number or another secret at best.
            prop_assert_ne!(decode(nonce, len, &bytes), Some(original));
            // With 8 bytes of padding (the default 32-byte payload), it is malformed outright.
            if len >= HEADER_LEN + 8 {
                prop_assert_eq!(decode(nonce, len, &bytes), None);
            }
        }
    }
}
