//! Text from servers, files and beacons reaches the terminal only through here (stdout, error
//! lines and logs alike):
//! - control characters (ESC, NUL, BEL, ...) are shown escaped (`\u{1b}`), never sent raw, so a
//!   hostile city name cannot move the cursor, recolour the screen or hide text;
//! - the run's secrets (the tokens given by flag or environment, the passwords of URLs given on
//!   the command line) are replaced by `***` wherever a server echoed them, after formatting and
//!   before anything is cut.

use std::borrow::Cow;
use std::io::Write;
use std::sync::OnceLock;

use edgegap_probe::api::redact::redact;

static SECRETS: OnceLock<Vec<String>> = OnceLock::new();

/// The flags whose values are secrets.
const SECRET_FLAGS: [&str; 3] = [
    "--matchmaker-token",
    "--api-token",
    "--server-browser-token",
];
/// The environment variables whose values are secrets.
const SECRET_VARS: [&str; 3] = [
    "EDGEGAP_MATCHMAKER_TOKEN",
    "EDGEGAP_API_TOKEN",
    "EDGEGAP_SERVER_BROWSER_TOKEN",
];
/// The flags whose values are URLs that may carry a password.
const URL_FLAGS: [&str; 3] = ["--matchmaker-url", "--api-url", "--server-browser-url"];

/// Remembers the secrets of this run from its arguments and environment (call once, first).
pub fn register_secrets(args: &[String]) {
    let mut secrets: Vec<String> = SECRET_VARS
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .collect();
    let mut previous: Option<&str> = None;
    for arg in args {
        let (flag, value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (previous.unwrap_or_default(), Some(arg.as_str())),
        };
        if let Some(value) = value {
            if SECRET_FLAGS.contains(&flag) {
                secrets.push(value.to_owned());
            }
            if URL_FLAGS.contains(&flag) {
                secrets.extend(url_password(value));
            }
        }
        previous = Some(arg.as_str());
    }
    secrets.retain(|s| !s.trim().is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let _ = SECRETS.set(secrets);
}

/// The user-info part of `url` (`user:password@`), as a secret.
fn url_password(url: &str) -> Option<String> {
    let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let info = &rest[..rest[..end].rfind('@')?];
    Some(info.split_once(':').map_or(info, |(_, pw)| pw).to_owned())
}

fn scrub(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.get().map_or(&[][..], Vec::as_slice);
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for secret in secrets {
        out = redact(&out, secret);
    }
    Cow::Owned(out)
}

/// `text` scrubbed of secrets, with every control character but `\n` and the colour codes
/// (`ESC[...m`) escaped: for output whose data cells were escaped with [`line`] before the
/// colours were added.
pub fn styled(text: &str) -> String {
    block_keeping_colours(&scrub(text)).into_owned()
}

/// A log writer: gathers one event's line, then writes it scrubbed and escaped to stderr.
#[derive(Default)]
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        // Colour codes written by the log formatter itself are kept on a terminal: escape only
        // what came from elsewhere (the formatter emits ESC only as `ESC[...m`).
        let clean = block_keeping_colours(&scrub(&text)).into_owned();
        let _ = std::io::stderr().lock().write_all(clean.as_bytes());
    }
}

/// Escapes every control character but `\n` and an ESC that starts a colour code
/// (`ESC[` digits and `;` then `m`).
fn block_keeping_colours(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.char_indices() {
        let colour_code = c == '\u{1b}' && is_sgr(&text[i + 1..]);
        if c.is_control() && c != '\n' && !colour_code {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether `rest` (what follows an ESC) is `[` + digits and `;` + `m`.
fn is_sgr(rest: &str) -> bool {
    let Some(params) = rest.strip_prefix('[') else {
        return false;
    };
    let end = params
        .find(|c: char| !(c.is_ascii_digit() || c == ';'))
        .unwrap_or(params.len());
    params[end..].starts_with('m')
}

/// `text` scrubbed of secrets, with every control character escaped, line breaks included
/// (for one-line messages).
pub fn line(text: &str) -> String {
    escape(&scrub(text), false).into_owned()
}

/// `text` scrubbed of secrets, with every control character but `\n` escaped (for tables and
/// reports).
pub fn block(text: &str) -> Cow<'_, str> {
    match scrub(text) {
        // Usually: nothing to scrub, and (a whole JSON report) nothing to escape either, so
        // the text is written as it is, without a copy.
        Cow::Borrowed(text) => escape(text, true),
        Cow::Owned(scrubbed) => Cow::Owned(escape(&scrubbed, true).into_owned()),
    }
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !(keep_newlines && c == '\n');
    // Control characters are C0 and DEL (one byte each) and C1 (U+0080..U+009F, encoded
    // 0xC2 0x80..0x9F): a text without those bytes (a whole JSON report, usually) is kept
    // as it is after one pass over its bytes, without decoding a character.
    let maybe_unsafe =
        |b: u8| (b < 0x20 && !(keep_newlines && b == b'\n')) || b == 0x7f || b == 0xc2;
    // (A fold without an early exit, which the compiler turns into wide compares.)
    let suspect = text.bytes().fold(false, |seen, b| seen | maybe_unsafe(b));
    if !suspect || !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_is_kept() {
        assert_eq!(line("Montréal"), "Montréal");
        assert_eq!(line("a\u{1b}[2Jb\0c"), "a\\u{1b}[2Jb\\u{0}c");
        assert_eq!(line("one\ntwo"), "one\\u{a}two");
        assert_eq!(block("one\ntwo\u{7}"), "one\ntwo\\u{7}");
        assert_eq!(line("\u{9b}31m"), "\\u{9b}31m", "C1 controls too");
        assert_eq!(
            block_keeping_colours("\u{1b}[2mlog\u{1b}[0m \u{0}"),
            "\u{1b}[2mlog\u{1b}[0m \\u{0}"
        );
        assert_eq!(
            block_keeping_colours("\u{1b}]0;title\u{7}\u{1b}[2J"),
            "\\u{1b}]0;title\\u{7}\\u{1b}[2J",
            "only colour codes pass, never a title or a screen clear"
        );
    }

    #[test]
    fn a_url_password_is_a_secret() {
        assert_eq!(url_password("https://u:pw@h/x").as_deref(), Some("pw"));
        assert_eq!(url_password("https://tok@h").as_deref(), Some("tok"));
        assert_eq!(url_password("https://h/a@b"), None);
    }
}
