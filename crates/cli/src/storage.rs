//! `storage`: endpoint storage and pull profiles, one subcommand per Integration API call.

use std::path::Path;

use edgegap_probe::api::IntegrationClient;
use edgegap_probe::api::integration::{
    EndpointStorage, EndpointStorageCreate, EndpointStorageUpdate, OutputFormat, PullProfile,
    PullProfileCreate, PullProfileUpdate, SourceType,
};
use edgegap_probe::api::token::SecretString;
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::write_stdout;
use crate::beacons::api_client;
use crate::cli::{
    EndpointCommand, EndpointFields, PullProfileCommand, PullProfileFields, StorageArgs,
    StorageCommand,
};
use crate::error::CliError;
use crate::output::table;

/// Page size of the listings.
const PAGE: u32 = 100;

/// Runs `storage`.
pub async fn run(args: StorageArgs) -> Result<(), CliError> {
    let client = api_client(&args.api)?;
    match args.command {
        StorageCommand::Endpoint(command) => endpoint(&client, command).await,
        StorageCommand::PullProfile(command) => pull_profile(&client, command).await,
    }
}

async fn endpoint(client: &IntegrationClient, command: EndpointCommand) -> Result<(), CliError> {
    match command {
        EndpointCommand::List(args) => match args.fields.as_deref().map(str::trim) {
            Some("") => Err(CliError::usage(
                "--fields is empty",
                "name the fields to show, e.g. --fields name,bucket",
            )),
            Some(mask) => {
                let all: Vec<Map<String, Value>> = client
                    .endpoint_storages_masked_stream(PAGE, mask)
                    .try_collect()
                    .await?;
                if args.json.json {
                    let text = serde_json::to_string_pretty(&all).map_err(encode)?;
                    write_stdout(&format!("{text}\n"))
                } else {
                    write_stdout(&format!("{}\n", masked_table(mask, &all)))
                }
            }
            None => {
                let all: Vec<EndpointStorage> =
                    client.endpoint_storages_stream(PAGE).try_collect().await?;
                print_list(&all, args.json.json, endpoints_table)
            }
        },
        EndpointCommand::Get { name, json } => {
            let one = client.get_endpoint_storage(&name).await?;
            print(&[one], json.json, endpoints_table)
        }
        EndpointCommand::Create { name, fields, json } => {
            let body = endpoint_body(name, fields)?;
            let create = EndpointStorageCreate {
                name: required(&body, "name")?,
                access_key_id: required(&body, "access_key_id")?,
                endpoint: required(&body, "endpoint")?,
                bucket: required(&body, "bucket")?,
                output_format: output_format(&body)?,
                secret_access_key: SecretString::new(required(&body, "secret_access_key")?),
            };
            let created = client.create_endpoint_storage(&create).await?;
            print(&[created], json.json, endpoints_table)
        }
        EndpointCommand::Update {
            name,
            rename,
            fields,
            json,
        } => {
            let body = endpoint_body(rename, fields)?;
            let update = EndpointStorageUpdate {
                name: optional(&body, "name")?,
                access_key_id: optional(&body, "access_key_id")?,
                secret_access_key: optional(&body, "secret_access_key")?.map(SecretString::new),
                endpoint: optional(&body, "endpoint")?,
                bucket: optional(&body, "bucket")?,
                output_format: output_format(&body)?,
            };
            let updated = client.update_endpoint_storage(&name, &update).await?;
            print(&[updated], json.json, endpoints_table)
        }
        EndpointCommand::Delete { name } => {
            client.delete_endpoint_storage(&name).await?;
            write_stdout(&format!("deleted endpoint storage {name:?}\n"))
        }
    }
}

async fn pull_profile(
    client: &IntegrationClient,
    command: PullProfileCommand,
) -> Result<(), CliError> {
    match command {
        PullProfileCommand::List { endpoint, json } => {
            let all: Vec<PullProfile> = client
                .pull_profiles_stream(&endpoint, PAGE)
                .try_collect()
                .await?;
            print_list(&all, json.json, profiles_table)
        }
        PullProfileCommand::Get {
            endpoint,
            profile,
            json,
        } => {
            let one = client.get_pull_profile(&endpoint, &profile).await?;
            print(&[one], json.json, profiles_table)
        }
        PullProfileCommand::Create {
            endpoint,
            name,
            fields,
            json,
        } => {
            let body = profile_body(name, fields)?;
            let create = PullProfileCreate {
                name: required(&body, "name")?,
                source: required(&body, "source")?,
                source_type: source_type(&body)?.ok_or_else(|| missing("source_type"))?,
                destination: required(&body, "destination")?,
            };
            let created = client.create_pull_profile(&endpoint, &create).await?;
            print(&[created], json.json, profiles_table)
        }
        PullProfileCommand::Update {
            endpoint,
            profile,
            rename,
            fields,
            json,
        } => {
            let body = profile_body(rename, fields)?;
            let update = PullProfileUpdate {
                name: optional(&body, "name")?,
                source: optional(&body, "source")?,
                source_type: source_type(&body)?,
                destination: optional(&body, "destination")?,
            };
            let updated = client
                .update_pull_profile(&endpoint, &profile, &update)
                .await?;
            print(&[updated], json.json, profiles_table)
        }
        PullProfileCommand::Delete { endpoint, profile } => {
            client.delete_pull_profile(&endpoint, &profile).await?;
            write_stdout(&format!(
                "deleted pull profile {profile:?} of endpoint storage {endpoint:?}\n"
            ))
        }
        PullProfileCommand::Link(link) => {
            let linked = client
                .link_pull_profile(&link.endpoint, &link.profile, &link.app, &link.version)
                .await?;
            let text = serde_json::to_string_pretty(&linked).map_err(encode)?;
            write_stdout(&format!("{text}\n"))
        }
        PullProfileCommand::Unlink(link) => {
            client
                .unlink_pull_profile(&link.endpoint, &link.profile, &link.app, &link.version)
                .await?;
            write_stdout(&format!(
                "unlinked pull profile {:?} from {} version {}\n",
                link.profile, link.app, link.version
            ))
        }
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(encode)`
fn encode(e: serde_json::Error) -> CliError {
    CliError::Other(format!("cannot encode the answer as JSON: {e}"))
}

/// Prints the one item of a get/create/update as a JSON object, or as a table.
fn print<T: Serialize>(
    item: &[T; 1],
    json: bool,
    render: fn(&[T]) -> String,
) -> Result<(), CliError> {
    let text = if json {
        serde_json::to_string_pretty(&item[0]).map_err(encode)?
    } else {
        render(item)
    };
    write_stdout(&format!("{text}\n"))
}

/// Prints a listing as a JSON array (whatever its length, one item included) or a table with
/// its count.
fn print_list<T: Serialize>(
    items: &[T],
    json: bool,
    render: fn(&[T]) -> String,
) -> Result<(), CliError> {
    let text = if json {
        serde_json::to_string_pretty(items).map_err(encode)?
    } else {
        format!("{}\n{} item(s)", render(items), items.len())
    };
    write_stdout(&format!("{text}\n"))
}

/// The top-level field names of an `X-Fields` mask, in order: `name,bucket`, `{name, bucket}`
/// and `{name,nested{a}}` give `name`, `bucket` / `name`, `nested`.
pub fn mask_fields(mask: &str) -> Vec<String> {
    let inner = mask.trim();
    let inner = inner
        .strip_prefix('{')
        .and_then(|m| m.strip_suffix('}'))
        .unwrap_or(inner);
    let mut fields = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                fields.push(std::mem::take(&mut current));
            }
            c if depth == 0 => current.push(c),
            _ => {}
        }
    }
    fields.push(current);
    let mut out: Vec<String> = Vec::new();
    for f in fields {
        let f = f.trim().to_owned();
        if !f.is_empty() && f != "*" && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// A cell for any JSON value: strings as they are, `null` empty, the rest as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The entries of a masked listing: one column per field of the mask (in its order), then any
/// other field the API sent.
fn masked_table(mask: &str, items: &[Map<String, Value>]) -> String {
    let mut columns = mask_fields(mask);
    for item in items {
        for key in item.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let mut t = table(&columns);
    for item in items {
        t.add_row(
            columns
                .iter()
                .map(|c| cell(item.get(c)))
                .collect::<Vec<_>>(),
        );
    }
    format!("{t}\n{} item(s)", items.len())
}

fn endpoints_table(items: &[EndpointStorage]) -> String {
    let mut t = table(&[
        "name",
        "endpoint",
        "bucket",
        "access key id",
        "format",
        "updated",
    ]);
    for e in items {
        t.add_row(vec![
            e.name.clone(),
            e.endpoint.clone(),
            e.bucket.clone(),
            e.access_key_id.clone(),
            e.output_format
                .as_ref()
                .map_or_else(String::new, |f| f.as_str().to_owned()),
            e.last_updated.clone().unwrap_or_default(),
        ]);
    }
    t.to_string()
}

fn profiles_table(items: &[PullProfile]) -> String {
    let mut t = table(&["name", "source", "type", "destination", "updated"]);
    for p in items {
        t.add_row(vec![
            p.name.clone(),
            p.source.clone(),
            p.source_type
                .as_ref()
                .map_or_else(String::new, |t| t.as_str().to_owned()),
            p.destination.clone(),
            p.last_updated.clone().unwrap_or_default(),
        ]);
    }
    t.to_string()
}

/// The JSON object of `--file` (`-`: stdin), or an empty one.
fn body(file: Option<&Path>) -> Result<Map<String, Value>, CliError> {
    let Some(path) = file else {
        return Ok(Map::new());
    };
    let read_error = |source| CliError::Read {
        path: path.to_owned(),
        source,
    };
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(read_error)?
    } else {
        std::fs::read_to_string(path).map_err(read_error)?
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CliError::BadInput(format!(
            "{}: the body must be a JSON object",
            path.display()
        ))),
        Err(e) => Err(CliError::BadInput(format!(
            "{}: not valid JSON: {e}",
            path.display()
        ))),
    }
}

/// A request body: the object of `--file` (or an empty one) with every given flag set over it.
fn request_body<const N: usize>(
    file: Option<&Path>,
    flags: [(&str, Option<String>); N],
) -> Result<Map<String, Value>, CliError> {
    let mut body = body(file)?;
    for (key, value) in flags {
        if let Some(value) = value {
            body.insert(key.to_owned(), Value::String(value));
        }
    }
    Ok(body)
}

/// The body of an endpoint storage create or update; `name` is its (new) name.
fn endpoint_body(name: Option<String>, f: EndpointFields) -> Result<Map<String, Value>, CliError> {
    request_body(
        f.file.as_deref(),
        [
            ("name", name),
            ("endpoint", f.endpoint),
            ("bucket", f.bucket),
            ("access_key_id", f.access_key_id),
            ("secret_access_key", f.secret_access_key),
            ("output_format", f.output_format),
        ],
    )
}

/// The body of a pull profile create or update; `name` is its (new) name.
fn profile_body(
    name: Option<String>,
    f: PullProfileFields,
) -> Result<Map<String, Value>, CliError> {
    request_body(
        f.file.as_deref(),
        [
            ("name", name),
            ("source", f.source),
            ("source_type", f.source_type),
            ("destination", f.destination),
        ],
    )
}

fn missing(key: &str) -> CliError {
    CliError::usage(
        format!("missing {key}"),
        format!(
            "give --{} or put \"{key}\" in --file",
            key.replace('_', "-")
        ),
    )
}

fn optional(body: &Map<String, Value>, key: &str) -> Result<Option<String>, CliError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CliError::BadInput(format!("\"{key}\" must be a string"))),
    }
}

fn required(body: &Map<String, Value>, key: &str) -> Result<String, CliError> {
    optional(body, key)?.ok_or_else(|| missing(key))
}

fn output_format(body: &Map<String, Value>) -> Result<Option<OutputFormat>, CliError> {
    optional(body, "output_format")?
        .map(|f| match f.to_ascii_uppercase().as_str() {
            "TEXT" => Ok(OutputFormat::Text),
            "NDJSON" => Ok(OutputFormat::Ndjson),
            _ => Err(CliError::usage(
                format!("unknown output format {f:?}"),
                "use TEXT or NDJSON",
            )),
        })
        .transpose()
}

fn source_type(body: &Map<String, Value>) -> Result<Option<SourceType>, CliError> {
    optional(body, "source_type")?
        .map(|t| match t.to_ascii_lowercase().as_str() {
            "file" => Ok(SourceType::File),
            "folder" | "directory" => Ok(SourceType::Folder),
            _ => Err(CliError::usage(
                format!("unknown source type {t:?}"),
                "use File or Folder",
            )),
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_fields_are_the_top_level_names_in_order() {
        assert_eq!(mask_fields("name,bucket"), ["name", "bucket"]);
        assert_eq!(mask_fields("{ name , bucket }"), ["name", "bucket"]);
        assert_eq!(mask_fields("{name,nested{a,b},x}"), ["name", "nested", "x"]);
        assert_eq!(mask_fields("*"), Vec::<String>::new());
    }

    #[test]
    fn the_pull_profile_table_shows_the_source_type_as_the_api_spells_it() {
        let p = PullProfile {
            name: "maps".into(),
            source_type: Some(SourceType::Folder),
            ..PullProfile::default()
        };
        let text = profiles_table(&[p]);
        assert!(text.contains("Folder") && !text.contains("Some("), "{text}");
        let e = EndpointStorage {
            output_format: Some(OutputFormat::Ndjson),
            ..EndpointStorage::default()
        };
        let text = endpoints_table(&[e]);
        assert!(text.contains("NDJSON"), "{text}");
    }
}
