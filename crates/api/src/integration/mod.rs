//! The Edgegap Integration API (`spec/edgegap-integration.openapi.json`): locations, beacons,
//! endpoint storage, pull profiles.
//!
//! The types are named after the spec's schemas and compile without the `http` feature; the
//! client ([`IntegrationClient`]) needs it. Unknown fields in answers are ignored. The types
//! themselves tolerate absent fields; the client checks, before parsing, that an answer holds
//! what the spec requires (and a listing its array), and reports
//! [`ApiError::Schema`](crate::ApiError::Schema) otherwise (see the crate docs).

#[cfg(feature = "http")]
mod client;

#[cfg(feature = "http")]
pub use client::{DEFAULT_BASE_URL, IntegrationClient, IntegrationClientBuilder};

use serde::{Deserialize, Serialize};

use crate::beacon::LocationData;
use crate::pagination::{Pagination, impl_page};
use crate::token::SecretString;

pub use crate::beacon::{BeaconList, IntegrationBeacon};

/// Filters and page selection for `GET /v1/locations`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocationQuery {
    /// Only locations that can deploy this app (`app`).
    pub app: Option<String>,
    /// Only locations with capacity for this app version now (`version`).
    pub version: Option<String>,
    /// Page number, from 1 (`page`).
    pub page: Option<u32>,
    /// Page size (`limit`).
    pub limit: Option<u32>,
}

/// Page selection for the other listings (`page`, `limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageQuery {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Page size.
    pub limit: Option<u32>,
}

impl PageQuery {
    /// Page `page` of size `limit`.
    pub fn new(page: u32, limit: u32) -> Self {
        Self {
            page: Some(page),
            limit: Some(limit),
        }
    }
}

/// Answer of `GET /v1/locations` (operation `location-list`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LocationList {
    /// Locations available for deployment at this time.
    #[serde(default)]
    pub locations: Vec<LocationData>,
    /// Additional information regarding locations.
    #[serde(default)]
    pub messages: Vec<String>,
    /// Number of locations over all pages.
    #[serde(default)]
    pub total_count: Option<u64>,
    /// Where this page is.
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

impl_page!(LocationList, LocationData, locations);

/// Defines a string enum of the spec that keeps values this client does not know.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this client does not know, kept as the API sent it.
            Other(String),
        }

        impl $name {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(match text.as_str() {
                    $($text => Self::$variant,)+
                    _ => Self::Other(text),
                })
            }
        }
    };
}

string_enum!(
    /// How logs are written to the bucket (`output_format`; the API defaults to `TEXT`).
    OutputFormat {
        /// Plain text.
        Text => "TEXT",
        /// Newline-delimited JSON.
        Ndjson => "NDJSON",
    }
);

/// An endpoint storage (schema `EndpointStorage`). The `secret_access_key` is never returned.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EndpointStorage {
    /// Name of the endpoint storage.
    #[serde(default)]
    pub name: String,
    /// Access key ID of the S3 bucket.
    #[serde(default)]
    pub access_key_id: String,
    /// Full URL of the S3 service.
    #[serde(default)]
    pub endpoint: String,
    /// Bucket name.
    #[serde(default)]
    pub bucket: String,
    /// Log format.
    #[serde(default)]
    pub output_format: Option<OutputFormat>,
    /// UTC creation time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// UTC time of the last update.
    #[serde(default)]
    pub last_updated: Option<String>,
}

/// Body of `POST /v1/storage/endpoint` (operation `endpoint-create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointStorageCreate {
    /// Name of the endpoint storage.
    pub name: String,
    /// Access key ID of the S3 bucket.
    pub access_key_id: String,
    /// Full URL of the S3 service, with `https://` or `http://`.
    pub endpoint: String,
    /// Bucket name.
    pub bucket: String,
    /// Log format (the API defaults to `TEXT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
    /// Secret access key; encrypted by Edgegap, never returned, never printed by this crate.
    pub secret_access_key: SecretString,
}

/// Body of `PATCH /v1/storage/endpoint/{endpoint_name}` (operation `endpoint-update`): only
/// the fields that are `Some` are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EndpointStorageUpdate {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New access key ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// New secret access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<SecretString>,
    /// New S3 URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// New bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// New log format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
}

/// Answer of `GET /v1/storage/endpoints` (operation `endpoints-list`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EndpointStorageList {
    /// The endpoint storages of this page.
    #[serde(default)]
    pub endpoints: Vec<EndpointStorage>,
    /// Number of endpoint storages over all pages, when given.
    #[serde(default)]
    pub total_count: Option<u64>,
    /// Where this page is (the spec leaves its shape open; read like the other listings').
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

impl_page!(EndpointStorageList, EndpointStorage, endpoints);

/// Answer of `GET /v1/storage/endpoints` sent with an `X-Fields` mask: each entry holds only
/// the fields the mask asked for, kept as the API sent them (a masked-out field is absent,
/// never shown as empty).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MaskedEndpointStorageList {
    /// The endpoint storages of this page, each with only the masked fields.
    #[serde(default)]
    pub endpoints: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Number of endpoint storages over all pages, when given.
    #[serde(default)]
    pub total_count: Option<u64>,
    /// Where this page is (read like [`EndpointStorageList::pagination`]).
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

impl_page!(
    MaskedEndpointStorageList,
    serde_json::Map<String, serde_json::Value>,
    endpoints
);

string_enum!(
    /// Whether a pull profile's source is a file or a folder (`source_type`).
    SourceType {
        /// One file.
        File => "File",
        /// A folder.
        Folder => "Folder",
    }
);

/// A pull profile (schema `PullProfile`): what to copy from the bucket into a container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PullProfile {
    /// Name of the pull profile.
    #[serde(default)]
    pub name: String,
    /// Source in the S3 bucket.
    #[serde(default)]
    pub source: String,
    /// File or folder.
    #[serde(default)]
    pub source_type: Option<SourceType>,
    /// Destination path in the container.
    #[serde(default)]
    pub destination: String,
    /// UTC creation time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// UTC time of the last update.
    #[serde(default)]
    pub last_updated: Option<String>,
}

/// Body of `POST /v1/storage/endpoint/{endpoint_name}/pull-profile` (`pull-profile-create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullProfileCreate {
    /// Name of the pull profile.
    pub name: String,
    /// Source in the S3 bucket.
    pub source: String,
    /// File or folder.
    pub source_type: SourceType,
    /// Destination path in the container (must be writable by a normal user).
    pub destination: String,
}

/// Body of `PATCH .../pull-profile/{pull_profile_name}` (`pull-profile-update`): only the
/// fields that are `Some` are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PullProfileUpdate {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// New source type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<SourceType>,
    /// New destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// Answer of `GET .../pull-profiles` (operation `pull-profile-list`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PullProfileList {
    /// The pull profiles of this page.
    #[serde(default)]
    pub pull_profiles: Vec<PullProfile>,
    /// Number of pull profiles over all pages.
    #[serde(default)]
    pub total_count: Option<u64>,
    /// Where this page is.
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

impl_page!(PullProfileList, PullProfile, pull_profiles);

/// Answer of linking a pull profile to an app version (`pull-profile-link-app-version`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PullProfileLink {
    /// The app.
    #[serde(default)]
    pub app: String,
    /// The app version.
    #[serde(default)]
    pub app_version: String,
    /// The endpoint storage.
    #[serde(default)]
    pub endpoint: String,
    /// The pull profile.
    #[serde(default)]
    pub pull_profile: String,
    /// UTC creation time of the link.
    #[serde(default)]
    pub create_time: Option<String>,
    /// UTC time of the link's last update.
    #[serde(default)]
    pub last_updated: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_bodies_are_sent_but_never_printed() {
        let body = EndpointStorageCreate {
            name: "logs".into(),
            access_key_id: "AKIA".into(),
            endpoint: "https://s3.example".into(),
            bucket: "b".into(),
            output_format: Some(OutputFormat::Ndjson),
            secret_access_key: SecretString::new("hunter2"),
        };
        assert!(!format!("{body:?}").contains("hunter2"));
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["secret_access_key"], "hunter2");
        assert_eq!(json["output_format"], "NDJSON");
    }

    #[test]
    fn unknown_enum_values_and_fields_are_tolerated() {
        let p: PullProfile = serde_json::from_str(
            r#"{"name":"p","source":"s","source_type":"Symlink","destination":"/d","new":1}"#,
        )
        .unwrap();
        assert_eq!(p.source_type, Some(SourceType::Other("Symlink".into())));
        assert_eq!(serde_json::to_value(&p).unwrap()["source_type"], "Symlink");
        let e: EndpointStorage =
            serde_json::from_str(r#"{"name":"e","output_format":"PARQUET"}"#).unwrap();
        assert_eq!(e.output_format, Some(OutputFormat::Other("PARQUET".into())));
        let u = PullProfileUpdate {
            destination: Some("/x".into()),
            ..PullProfileUpdate::default()
        };
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"destination":"/x"}"#
        );
    }
}
