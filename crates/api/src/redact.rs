//! Keeping secrets out of text: tokens a server echoes back, and user info in URLs.
//!
//! The clients run every string that came from a server (error messages, JSON parser
//! complaints, body excerpts, beacon cities, URLs holding ids) through one redactor **after**
//! it is formatted and **before** it is cut to length, so a token can neither survive whole
//! nor leave a prefix at the cut.
//!
//! **Short secrets.** A secret of at least [`MIN_SUBSTRING_REDACTION_CHARS`] characters is
//! replaced by `***` wherever it appears, even inside a word. A shorter one is replaced only
//! where it stands as a whole word (not touching a letter, digit, `-` or `_`): redacting a
//! two-letter token inside every word would mangle URLs and messages (`mm.e***ample`) while
//! hiding nothing of value. Such short tokens are accepted by the clients (test servers use
//! them), but a real token is far longer.
//!
//! This module compiles without the `http` feature.

/// What a secret is replaced by.
pub const REDACTED: &str = "***";

/// Characters of a body quoted in an error.
pub(crate) const EXCERPT_CHARS: usize = 160;

/// Characters of a JSON parser's complaint kept in an error (it may quote a whole value).
pub(crate) const REASON_CHARS: usize = 300;

/// Characters of an API `message` kept in an error.
pub(crate) const MESSAGE_CHARS: usize = 500;

/// Secrets with at least this many characters are redacted anywhere, even inside a word;
/// shorter ones only as whole words (see the module docs).
pub const MIN_SUBSTRING_REDACTION_CHARS: usize = 8;

/// Whether `c` continues a word for the whole-word rule.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// `text` with every occurrence of `secret` replaced by [`REDACTED`]: anywhere for a secret of
/// at least [`MIN_SUBSTRING_REDACTION_CHARS`] characters, else only where it is a whole word.
/// An empty secret changes nothing.
///
/// ```
/// use edgegap_api::redact::redact;
/// assert_eq!(redact("bad token abcdefgh123", "abcdefgh123"), "bad token ***");
/// assert_eq!(redact("mm.example is down, ex", "ex"), "mm.example is down, ***");
/// ```
pub fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    if secret.chars().count() >= MIN_SUBSTRING_REDACTION_CHARS {
        return text.replace(secret, REDACTED);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, found) in text.match_indices(secret) {
        let end = at + found.len();
        let alone_before = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_word_char(c));
        let alone_after = text[end..].chars().next().is_none_or(|c| !is_word_char(c));
        if alone_before && alone_after {
            out.push_str(&text[copied..at]);
            out.push_str(REDACTED);
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// `raw` with its user info (`user:password@`) removed, for printing a URL that may not even
/// parse. Everything between `://` (or the start, without a scheme) and the last `@` before
/// the query or fragment goes: this may remove more than the user info of an odd URL, never
/// less.
///
/// ```
/// use edgegap_api::redact::url_without_userinfo;
/// assert_eq!(url_without_userinfo("https://user:pa55@mm.example/v1"), "https://mm.example/v1");
/// assert_eq!(url_without_userinfo("https://mm.example/v1?a=b"), "https://mm.example/v1?a=b");
/// ```
pub fn url_without_userinfo(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    let rest = &raw[start..];
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{}{}", &raw[..start], &rest[at + 1..]),
        None => raw.to_owned(),
    }
}

/// `text` cut to at most `max_chars` characters, with `…` when something was cut.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The secrets of one client, applied to everything a server sent back.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secret(s))", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for these secrets (empty ones are ignored).
    pub(crate) fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with every secret redacted.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = redact(&out, secret);
            }
        }
        out
    }

    /// `text` redacted, then cut to `max_chars` characters (in that order, so no secret can
    /// straddle the cut).
    pub(crate) fn clip(&self, text: &str, max_chars: usize) -> String {
        truncate(&self.scrub(text), max_chars)
    }

    /// The start of a body as text, redacted and cut to `max_chars` characters. Only the first
    /// bytes are decoded, enough for `max_chars` characters plus a whole secret; when that
    /// slice ends inside a secret, the secret's partial start is redacted too.
    pub(crate) fn excerpt(&self, body: &[u8], max_chars: usize) -> String {
        let longest = self.secrets.first().map_or(0, String::len);
        let take = body.len().min(max_chars * 4 + longest + 4);
        let sliced = take < body.len();
        let text = String::from_utf8_lossy(&body[..take]);
        let mut text = self.scrub(text.trim_start());
        if sliced {
            self.mask_partial_tail(&mut text);
        }
        let mut out = truncate(text.trim_end(), max_chars);
        if sliced && !out.ends_with('…') {
            out.push('…');
        }
        out
    }

    /// The API's `message` (or `detail` / `error`) from an error body, else a short excerpt
    /// of the body; secrets redacted before anything is cut.
    pub(crate) fn answer_message(&self, body: &[u8]) -> String {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
            for key in ["message", "detail", "error"] {
                if let Some(serde_json::Value::String(m)) = map.get(key) {
                    return self.clip(m, MESSAGE_CHARS);
                }
            }
        }
        let excerpt = self.excerpt(body, EXCERPT_CHARS);
        if excerpt.is_empty() {
            "(no message)".to_owned()
        } else {
            excerpt
        }
    }

    /// Replaces a trailing start of a (long) secret, left by cutting the text, with `***`.
    fn mask_partial_tail(&self, text: &mut String) {
        for secret in &self.secrets {
            if secret.chars().count() < MIN_SUBSTRING_REDACTION_CHARS {
                continue;
            }
            let longest_prefix = secret
                .char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .filter(|&len| text.ends_with(&secret[..len]))
                .max();
            if let Some(len) = longest_prefix {
                text.truncate(text.len() - len);
                text.push_str(REDACTED);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-5f3c9a1e-secret";

    #[test]
    fn long_secrets_go_everywhere_short_ones_only_as_words() {
        assert_eq!(redact(&format!("a{TOKEN}b"), TOKEN), "a***b");
        assert_eq!(
            redact("https://mm.example/x", "x"),
            "https://mm.example/***"
        );
        assert_eq!(
            redact("https://mm.example/xy", "x"),
            "https://mm.example/xy"
        );
        assert_eq!(redact("mm.example", "ex"), "mm.example");
        assert_eq!(redact("token ab, ab.", "ab"), "token ***, ***.");
        assert_eq!(redact("nothing", ""), "nothing");
    }

    #[test]
    fn userinfo_is_removed_even_from_unparsable_urls() {
        assert_eq!(
            url_without_userinfo("https://u:p@h.example:99999/x"),
            "https://h.example:99999/x"
        );
        assert_eq!(
            url_without_userinfo("https://u:pa/ss@h.example/x"),
            "https://h.example/x"
        );
        assert_eq!(url_without_userinfo("u:p@host/x"), "host/x");
        assert_eq!(
            url_without_userinfo("https://h.example/x?mail=a@b"),
            "https://h.example/x?mail=a@b"
        );
    }

    #[test]
    fn a_secret_cut_by_the_excerpt_leaves_no_prefix() {
        let r = Redactor::new([TOKEN.to_owned()]);
        for pad in 0..200 {
            let body = format!("{}{TOKEN}{}", "x".repeat(pad), "y".repeat(1000));
            let text = r.excerpt(body.as_bytes(), 20);
            assert!(!text.contains("tok-5f3c"), "{pad}: {text}");
            let many = TOKEN.repeat(pad + 1) + &"z".repeat(pad);
            let text = r.excerpt(many.as_bytes(), 20);
            assert!(!text.contains("tok-5f3c"), "{pad}: {text}");
            let clipped = r.clip(&body, 20 + pad % 7);
            assert!(!clipped.contains("tok-5f3c"), "{pad}: {clipped}");
        }
    }
}
