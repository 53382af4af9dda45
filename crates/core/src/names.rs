//! Parsing the vocabulary's names (`udp`, `trimmed-mean`, ...) in one place.

use std::fmt;

/// A name that is not one of the known ones, and which were expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What was being named (`protocol`, `statistic`).
    pub kind: &'static str,
    /// The text that was given.
    pub given: String,
    /// The names accepted, for the message.
    pub expected: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?}: expected one of {}",
            self.kind, self.given, self.expected
        )
    }
}

impl std::error::Error for UnknownName {}

/// The value of `all` whose name is `text`, ignoring case, surrounding space, and `_` for `-`.
pub(crate) fn parse_name<T: Copy>(
    text: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    kind: &'static str,
    expected: &'static str,
) -> Result<T, UnknownName> {
    let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
    all.iter()
        .copied()
        .find(|&v| name(v) == wanted)
        .ok_or_else(|| UnknownName {
            kind,
            given: text.to_owned(),
            expected,
        })
}
