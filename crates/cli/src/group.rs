//! `group`: parties on the matchmaker's groups API. `create` and `join` probe like `ticket`
//! and send this member's own latencies; `ready`, `leave`, `status` and `delete` are one call
//! each.

use std::fmt::Write as _;

use edgegap_probe::api::MatchmakerClient;
use edgegap_probe::api::matchmaker::{Assignment, Group, GroupId, GroupMember, MemberId};
use edgegap_probe::api::redact::url_without_userinfo;
use serde::Serialize;

use crate::app::write_stdout;
use crate::beacons::matchmaker_client;
use crate::cli::{Connection, GroupCommand, PlayerArgs};
use crate::error::CliError;
use crate::output::{fit, table};
use crate::terminal::Terminal;
use crate::ticket::probe_player;

/// Runs `group`.
pub async fn run(
    command: GroupCommand,
    connection: &Connection,
    api_typed: bool,
) -> Result<(), CliError> {
    let matchmaker = connection.matchmaker();
    let player = |mut player: Box<PlayerArgs>| {
        player.source.matchmaker = matchmaker.clone();
        player.source.api = connection.api();
        player.api_flags_typed = api_typed;
        player
    };
    let (client, url) = matchmaker_client(&matchmaker)?;
    match command {
        GroupCommand::Create { player: args, json } => {
            create(&client, &url, &player(args), json).await
        }
        GroupCommand::Join {
            group,
            player: args,
            json,
        } => join(&client, GroupId::new(group), &player(args), json).await,
        GroupCommand::Ready {
            group,
            member,
            not_ready,
            json,
        } => {
            let (gid, mid) = (GroupId::new(group), MemberId::new(member));
            let answer = client.set_member_ready(&gid, &mid, !not_ready).await?;
            if json {
                return print_json(&answer);
            }
            let ready = answer.is_ready.unwrap_or(!not_ready);
            write_stdout(&format!(
                "Member {mid} of group {gid} is {}.\n",
                if ready { "ready" } else { "not ready" }
            ))
        }
        GroupCommand::Leave { group, member } => {
            let (gid, mid) = (GroupId::new(group), MemberId::new(member));
            client.leave_group(&gid, &mid).await?;
            write_stdout(&format!("Member {mid} left group {gid}.\n"))
        }
        GroupCommand::Delete { group } => {
            let gid = GroupId::new(group);
            client.delete_group(&gid).await?;
            write_stdout(&format!("Group {gid} deleted.\n"))
        }
        GroupCommand::Status {
            group,
            member: Some(member),
            json,
        } => {
            let (gid, mid) = (GroupId::new(group), MemberId::new(member));
            let answer = client.get_member(&gid, &mid).await?;
            if json {
                return print_json(&answer);
            }
            let mut text = format!("Member {mid} of group {gid}\n");
            text.push_str(&members_table(std::slice::from_ref(&answer)));
            if let Some(a) = &answer.assignment {
                text.push_str(&assignment(a));
            }
            write_stdout(&text)
        }
        GroupCommand::Status {
            group,
            member: None,
            json,
        } => {
            let gid = GroupId::new(group);
            let answer = client.get_group(&gid).await?;
            if json {
                return print_json(&answer);
            }
            write_stdout(&describe(&answer))
        }
    }
}

/// `group create`: probe, create, say how friends join.
async fn create(
    client: &MatchmakerClient,
    url: &str,
    args: &PlayerArgs,
    json: bool,
) -> Result<(), CliError> {
    let request = probe_player(args, "group create").await?;
    let group = client.create_group(&request).await?;
    if json {
        return print_json(&group);
    }
    let sent = request.latencies().len();
    let mut text = format!(
        "Group {} created (profile {:?}, {sent} location(s) sent).\n",
        group.id, args.profile
    );
    match group.owner_member_id() {
        Some(member) => {
            let _ = writeln!(
                text,
                "Your member id: {member} (for `group ready` and `group leave`)."
            );
        }
        None => text
            .push_str("The matchmaker's answer names no member id for you: see `group status`.\n"),
    }
    let _ = write!(
        text,
        "Friends join with:\n  edgegap-probe group join {} --profile {} \\\n      \
         --matchmaker-url {}\n",
        group.id,
        shell_word(&args.profile),
        url_without_userinfo(url)
    );
    write_stdout(&text)
}

/// `group join`: probe, join with this member's own latencies.
async fn join(
    client: &MatchmakerClient,
    gid: GroupId,
    args: &PlayerArgs,
    json: bool,
) -> Result<(), CliError> {
    let request = probe_player(args, "group join").await?;
    let member = client.join_group(&gid, &request).await?;
    if json {
        return print_json(&member);
    }
    write_stdout(&format!(
        "Joined group {gid} as member {} (profile {:?}, {} location(s) sent).\nSay ready \
         with:\n  edgegap-probe group ready {gid} {}\n",
        member.id,
        args.profile,
        request.latencies().len(),
        member.id
    ))
}

/// A word as a shell reads it back: quoted when it holds anything but plain characters.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Other(format!("cannot encode the answer as JSON: {e}")))?;
    write_stdout(&format!("{text}\n"))
}

fn status_text<T: Serialize>(status: Option<&T>) -> String {
    status
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn members_table(members: &[GroupMember]) -> String {
    let mut t = table(&["member", "ready", "status", "player ip", "server"]);
    for m in members {
        t.add_row(vec![
            m.id.to_string(),
            match m.is_ready {
                Some(true) => "yes".to_owned(),
                Some(false) => "no".to_owned(),
                None => "-".to_owned(),
            },
            status_text(m.status.as_ref()),
            m.player_ip.clone().unwrap_or_default(),
            m.assignment
                .as_ref()
                .map(|a| a.fqdn.clone())
                .unwrap_or_default(),
        ]);
    }
    fit(&mut t, Terminal::detect(), false);
    format!("{t}\n")
}

fn assignment(a: &Assignment) -> String {
    let mut out = format!("Server assigned: {}", a.fqdn);
    if !a.public_ip.is_empty() {
        let _ = write!(out, " ({})", a.public_ip);
    }
    if let Some(l) = &a.location {
        let _ = write!(out, " in {}", l.city);
    }
    out.push('\n');
    for (name, p) in &a.ports {
        let link = if p.link.is_empty() {
            format!("{}:{}", a.fqdn, p.external)
        } else {
            p.link.clone()
        };
        let _ = writeln!(out, "  port {name}: {link}");
    }
    out
}

/// A group for people: its status, then its members.
fn describe(group: &Group) -> String {
    let mut text = format!("Group {}", group.id);
    if let Some(profile) = &group.profile {
        let _ = write!(text, " (profile {profile:?})");
    }
    let status = status_text(group.status.as_ref());
    if !status.is_empty() {
        let _ = write!(text, ": {status}");
    }
    text.push('\n');
    if group.members.is_empty() {
        text.push_str("No member listed in the matchmaker's answer (see --json).\n");
    } else {
        let ready = group
            .members
            .iter()
            .filter(|m| m.is_ready == Some(true))
            .count();
        text.push_str(&members_table(&group.members));
        let _ = writeln!(text, "{ready} of {} member(s) ready.", group.members.len());
    }
    if let Some(a) = group.members.iter().find_map(|m| m.assignment.as_ref()) {
        text.push_str(&assignment(a));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_hint_quotes_what_a_shell_would_split() {
        assert_eq!(shell_word("casual"), "casual");
        assert_eq!(shell_word("my profile"), "'my profile'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
