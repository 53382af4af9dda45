//! Secrets: API tokens and storage keys, as newtypes that never print their value.
//!
//! `Debug` and `Display` of every type here print `***`. The value leaves the type only through
//! `expose_secret()`, which the HTTP layer calls to build the `Authorization` header.
//! This module compiles without the `http` feature.

use std::fmt;

/// Trims whitespace and, when present, a leading `token ` / `Bearer ` scheme word: every token
/// type here adds its own scheme (or none), so a pasted `Authorization` value still works.
fn normalise(raw: &str) -> String {
    let trimmed = raw.trim();
    for prefix in ["token ", "bearer "] {
        if trimmed.len() > prefix.len()
            && trimmed.is_char_boundary(prefix.len())
            && trimmed[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            return trimmed[prefix.len()..].trim_start().to_owned();
        }
    }
    trimmed.to_owned()
}

macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a token. Surrounding whitespace and a leading `token ` or `Bearer ` scheme
            /// word (any case) are removed: the client adds the right scheme itself.
            pub fn new(token: impl AsRef<str>) -> Self {
                Self(normalise(token.as_ref()))
            }

            /// The raw token. Only the HTTP layer should call this, to build a header.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// Whether the token is empty (after trimming), which no API accepts.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(***)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("***")
            }
        }

        impl From<String> for $name {
            fn from(token: String) -> Self {
                Self::new(token)
            }
        }

        impl From<&str> for $name {
            fn from(token: &str) -> Self {
                Self::new(token)
            }
        }
    };
}

secret_token!(
    /// The organisation's Edgegap API token, sent as `Authorization: token <API_TOKEN>`.
    /// It must never ship inside a game client.
    ApiToken
);

secret_token!(
    /// A matchmaker's own token, sent raw: `Authorization: <MATCHMAKER_TOKEN>`.
    MatchmakerToken
);

secret_token!(
    /// A server browser token, sent raw: `Authorization: <TOKEN>`.
    ServerBrowserToken
);

/// A secret sent in a request body (the S3 `secret_access_key` of an endpoint storage).
///
/// Serialises to its value (the API needs it) but prints `***` in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value as given (no trimming: keys may contain anything).
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret value.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_print_their_value() {
        let api = ApiToken::new("s3cr3t-api");
        let mm = MatchmakerToken::new("s3cr3t-mm");
        let sb = ServerBrowserToken::new("s3cr3t-sb");
        let key = SecretString::new("s3cr3t-key");
        for text in [
            format!("{api:?} {api} {api:#?}"),
            format!("{mm:?} {mm}"),
            format!("{sb:?} {sb}"),
            format!("{key:?} {key}"),
        ] {
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(text.contains("***"), "{text}");
        }
        assert_eq!(api.expose_secret(), "s3cr3t-api");
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"s3cr3t-key\"");
    }

    #[test]
    fn a_pasted_scheme_word_is_removed() {
        assert_eq!(ApiToken::new("token abc").expose_secret(), "abc");
        assert_eq!(MatchmakerToken::new("  Bearer xyz ").expose_secret(), "xyz");
        assert_eq!(
            MatchmakerToken::new("tokenless").expose_secret(),
            "tokenless"
        );
        assert_eq!(MatchmakerToken::new("token").expose_secret(), "token");
        assert!(ApiToken::new("   ").is_empty());
    }
}
