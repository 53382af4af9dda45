//! What a success answer must hold before it is read: an answer of the wrong shape (`{}`,
//! `{"data": [1, 2, 3]}`) is an [`ApiError::Schema`](crate::ApiError::Schema) naming the
//! field, never an empty list.
//!
//! The rules follow the `required` lists of `spec/edgegap-integration.openapi.json`, plus the
//! listed array of every listing (which the spec leaves optional). Unknown extra fields are
//! always accepted; the crate docs list what each operation requires.

use serde_json::Value;

/// One requirement on an object.
pub(crate) enum Rule {
    /// The field must be present and not `null`.
    Field(&'static str),
    /// The field must be an array, every element an object of the shape; it may be absent
    /// only when the count field named third is present and 0 (an explicitly empty listing).
    List(&'static str, &'static Shape, Option<&'static str>),
    /// The field must be an object of the shape.
    Object(&'static str, &'static Shape),
    /// One of these fields must be an array (elements unchecked).
    AnyList(&'static [&'static str]),
    /// Nothing beyond being an object.
    AnyFields,
}

/// The requirements on one object; an empty shape accepts any JSON.
pub(crate) struct Shape(pub &'static [Rule]);

/// The first requirement an answer breaks.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// Where, e.g. `locations[3].location.city` (only the shape's own names and indices).
    pub field: String,
    /// What is wrong, e.g. `is missing`.
    pub problem: &'static str,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

impl Shape {
    /// No requirement.
    pub const ANY: Shape = Shape(&[]);

    /// Checks `value` against the shape.
    pub(crate) fn check(&self, value: &Value) -> Result<(), Violation> {
        self.check_at(value, "")
    }

    fn check_at(&self, value: &Value, path: &str) -> Result<(), Violation> {
        if self.0.is_empty() {
            return Ok(());
        }
        let Some(map) = value.as_object() else {
            return Err(Violation {
                field: if path.is_empty() {
                    "(the answer)".to_owned()
                } else {
                    path.to_owned()
                },
                problem: "is not a JSON object",
            });
        };
        let present = |name: &str| -> Result<&Value, Violation> {
            match map.get(name) {
                None => Err(Violation {
                    field: join(path, name),
                    problem: "is missing",
                }),
                Some(Value::Null) => Err(Violation {
                    field: join(path, name),
                    problem: "is null",
                }),
                Some(v) => Ok(v),
            }
        };
        for rule in self.0 {
            match rule {
                Rule::Field(name) => {
                    present(name)?;
                }
                Rule::Object(name, shape) => {
                    shape.check_at(present(name)?, &join(path, name))?;
                }
                Rule::List(name, shape, count) => {
                    let said_empty =
                        count.is_some_and(|c| map.get(c).and_then(Value::as_u64) == Some(0));
                    if said_empty && map.get(*name).is_none_or(Value::is_null) {
                        continue;
                    }
                    let Value::Array(items) = present(name)? else {
                        return Err(Violation {
                            field: join(path, name),
                            problem: "is not an array",
                        });
                    };
                    for (i, item) in items.iter().enumerate() {
                        shape.check_at(item, &format!("{}[{i}]", join(path, name)))?;
                    }
                }
                Rule::AnyFields => {}
                Rule::AnyList(names) => {
                    if !names
                        .iter()
                        .any(|n| map.get(*n).is_some_and(Value::is_array))
                    {
                        return Err(Violation {
                            field: join(path, &names.join("` or `")),
                            problem: "is missing (an array is required)",
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

use Rule::{AnyFields, AnyList, Field, List, Object};

/// `LocationData`: every field is required by the spec.
pub(crate) static LOCATION_DATA: Shape = Shape(&[
    Field("city"),
    Field("country"),
    Field("continent"),
    Field("administrative_division"),
    Field("timezone"),
    Field("latitude"),
    Field("longitude"),
]);

/// An entry of `beacon-list`: `host` and `location` are required.
static INTEGRATION_BEACON: Shape = Shape(&[Field("host"), Object("location", &LOCATION_DATA)]);

/// `beacon-list`: `count` (required by the spec) and the `locations` array (absent only when
/// `count` is 0).
pub(crate) static BEACON_LIST: Shape = Shape(&[
    Field("count"),
    List("locations", &INTEGRATION_BEACON, Some("count")),
]);

/// `location-list`: the `locations` array (absent only when `total_count` is 0). The spec
/// also requires `total_count` and `pagination`; the client pages without them, so they are
/// not enforced.
pub(crate) static LOCATION_LIST: Shape =
    Shape(&[List("locations", &LOCATION_DATA, Some("total_count"))]);

/// `EndpointStorage` (`endpoint-get`, `endpoint-create`, entries of `endpoints-list`).
pub(crate) static ENDPOINT_STORAGE: Shape = Shape(&[
    Field("name"),
    Field("access_key_id"),
    Field("endpoint"),
    Field("bucket"),
]);

/// `endpoints-list`: the `endpoints` array (absent only when `total_count` is 0).
pub(crate) static ENDPOINT_STORAGE_LIST: Shape =
    Shape(&[List("endpoints", &ENDPOINT_STORAGE, Some("total_count"))]);

/// `endpoints-list` with an `X-Fields` mask: the `endpoints` array of objects, whose fields
/// are only those the mask asked for (none of them can be required).
pub(crate) static MASKED_ENDPOINT_STORAGE_LIST: Shape =
    Shape(&[List("endpoints", &ANY_OBJECT, Some("total_count"))]);

/// Any JSON object (no field required).
static ANY_OBJECT: Shape = Shape(&[AnyFields]);

/// `PullProfile` (`pull-profile-get`, `pull-profile-create`, entries of `pull-profile-list`).
pub(crate) static PULL_PROFILE: Shape = Shape(&[
    Field("name"),
    Field("source"),
    Field("source_type"),
    Field("destination"),
]);

/// `pull-profile-list`: the `pull_profiles` array (absent only when `total_count` is 0;
/// `total_count` and `pagination` themselves: as for `location-list`).
pub(crate) static PULL_PROFILE_LIST: Shape =
    Shape(&[List("pull_profiles", &PULL_PROFILE, Some("total_count"))]);

/// `pull-profile-link-app-version`.
pub(crate) static PULL_PROFILE_LINK: Shape = Shape(&[
    Field("app"),
    Field("app_version"),
    Field("endpoint"),
    Field("pull_profile"),
]);

/// The city a matchmaker beacon needs.
static CITY: Shape = Shape(&[Field("city")]);

/// An entry of a matchmaker's beacon list.
static MATCHMAKER_BEACON: Shape = Shape(&[Object("location", &CITY)]);

/// A matchmaker's beacon list: the `beacons` array.
pub(crate) static MATCHMAKER_BEACON_LIST: Shape =
    Shape(&[List("beacons", &MATCHMAKER_BEACON, None)]);

/// A page of server instances: one of the arrays the page is read from.
pub(crate) static SERVER_INSTANCE_PAGE: Shape =
    Shape(&[AnyList(&["server_instances", "instances", "items", "data"])]);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(shape: &Shape, value: &Value) -> Option<String> {
        shape
            .check(value)
            .err()
            .map(|v| format!("{} {}", v.field, v.problem))
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        assert_eq!(
            field(&BEACON_LIST, &json!({})).as_deref(),
            Some("count is missing")
        );
        assert_eq!(
            field(&BEACON_LIST, &json!({"count": 3, "data": [1, 2, 3]})).as_deref(),
            Some("locations is missing")
        );
        assert_eq!(
            field(&LOCATION_LIST, &json!({"locations": 3})).as_deref(),
            Some("locations is not an array")
        );
        assert_eq!(
            field(&LOCATION_LIST, &json!([1, 2])).as_deref(),
            Some("(the answer) is not a JSON object")
        );
        let mut loc = json!({"city": "A", "country": "B", "continent": "C",
            "administrative_division": "D", "timezone": "E", "latitude": 1.0, "longitude": 2.0});
        assert_eq!(
            field(&LOCATION_LIST, &json!({"locations": [loc.clone()], "x": 1})),
            None
        );
        loc["timezone"] = Value::Null;
        assert_eq!(
            field(
                &BEACON_LIST,
                &json!({"count": 1, "locations": [{"host": "h", "location": loc}]})
            )
            .as_deref(),
            Some("locations[0].location.timezone is null")
        );
        assert_eq!(
            field(&ENDPOINT_STORAGE_LIST, &json!({"endpoints": [1]})).as_deref(),
            Some("endpoints[0] is not a JSON object")
        );
        assert_eq!(
            field(&SERVER_INSTANCE_PAGE, &json!({"next_cursor": "c"})).as_deref(),
            Some(
                "server_instances` or `instances` or `items` or `data is missing (an array is required)"
            )
        );
        assert_eq!(field(&SERVER_INSTANCE_PAGE, &json!({"items": []})), None);
        assert_eq!(field(&BEACON_LIST, &json!({"count": 0})), None);
        assert_eq!(
            field(&BEACON_LIST, &json!({"count": 2})).as_deref(),
            Some("locations is missing")
        );
        assert_eq!(
            field(&LOCATION_LIST, &json!({"total_count": 0, "pagination": {}})),
            None
        );
        assert_eq!(
            field(
                &LOCATION_LIST,
                &json!({"total_count": 0, "locations": "none"})
            )
            .as_deref(),
            Some("locations is not an array")
        );
        assert_eq!(
            field(&ENDPOINT_STORAGE_LIST, &json!({})).as_deref(),
            Some("endpoints is missing")
        );
        assert_eq!(field(&Shape::ANY, &json!([1])), None);
    }
}
