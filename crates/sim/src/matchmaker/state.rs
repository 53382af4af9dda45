//! The simulated matchmaker's state and rules: tickets, groups, members, faults. Pure (no
//! sockets), so the rules are tested without the network.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::config::{Fault, MatchmakerConfig};
use super::http::{HttpRequest, HttpResponse};

/// One ticket (a member of a group is a ticket too).
#[derive(Debug, Clone)]
struct Entry {
    profile: String,
    polls: u32,
    group: Option<String>,
    is_ready: bool,
    player_ip: Option<String>,
}

/// Tickets, groups and the faults left to inject.
#[derive(Debug)]
pub(crate) struct MatchmakerState {
    config: MatchmakerConfig,
    faults: Vec<Fault>,
    next_id: u64,
    tickets: BTreeMap<String, Entry>,
    groups: BTreeMap<String, Vec<String>>,
}

impl MatchmakerState {
    pub(crate) fn new(config: MatchmakerConfig) -> Self {
        Self {
            faults: config.faults.clone(),
            config,
            next_id: 1,
            tickets: BTreeMap::new(),
            groups: BTreeMap::new(),
        }
    }

    /// The answer to `request`.
    pub(crate) fn handle(&mut self, request: &HttpRequest) -> HttpResponse {
        if request.header("authorization") != Some(self.config.token.as_str()) {
            return HttpResponse::message(401, "Unauthorized: send the matchmaker token raw");
        }
        let path = request.path.trim_start_matches('/');
        if let Some(fault) = self.take_fault(&request.method, path) {
            let mut response = HttpResponse::message(fault.status, "injected fault");
            response.retry_after = fault.retry_after;
            return response;
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["monitor"]) => {
                HttpResponse::json(200, &json!({"status": "HEALTHY", "version": "sim"}))
            }
            ("GET", ["locations", "beacons"]) => HttpResponse::json(
                200,
                self.config
                    .beacons
                    .as_ref()
                    .unwrap_or(&json!({"count": 0, "beacons": []})),
            ),
            ("POST", ["tickets"]) => self.create(request, None),
            ("GET", ["tickets", id]) => self.poll(id),
            ("DELETE", ["tickets", id]) => self.delete(id),
            ("POST", ["groups"]) => self.create_group(request),
            ("GET", ["groups", gid]) => self.group(gid),
            ("DELETE", ["groups", gid]) => self.delete_group(gid),
            ("POST", ["groups", gid, "members"]) => {
                if self.groups.contains_key(*gid) {
                    self.create(request, Some(gid))
                } else {
                    HttpResponse::message(404, "group not found")
                }
            }
            ("GET", ["groups", gid, "members", mid]) => self.member(gid, mid, true),
            ("PATCH", ["groups", gid, "members", mid]) => self.set_ready(gid, mid, &request.body),
            ("DELETE", ["groups", gid, "members", mid]) => self.leave(gid, mid),
            _ => HttpResponse::message(404, "no such endpoint"),
        }
    }

    fn take_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let at = self.faults.iter().position(|f| {
            f.times > 0
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        })?;
        let fault = &mut self.faults[at];
        fault.times -= 1;
        Some(fault.clone())
    }

    fn new_id(&mut self, prefix: &str) -> String {
        let id = format!("{prefix}-{}", self.next_id);
        self.next_id += 1;
        id
    }

    /// Reads a ticket request body: `profile` and an `attributes` object are required.
    fn read_body(body: &[u8]) -> Result<(String, Option<String>), HttpResponse> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| HttpResponse::message(400, &format!("body is not JSON: {e}")))?;
        let profile = value
            .get("profile")
            .and_then(Value::as_str)
            .ok_or_else(|| HttpResponse::message(400, "`profile` is required"))?;
        if !value.get("attributes").is_some_and(Value::is_object) {
            return Err(HttpResponse::message(400, "`attributes` must be an object"));
        }
        let ip = value
            .get("player_ip")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok((profile.to_owned(), ip))
    }

    fn create(&mut self, request: &HttpRequest, group: Option<&str>) -> HttpResponse {
        let (profile, player_ip) = match Self::read_body(&request.body) {
            Ok(read) => read,
            Err(refused) => return refused,
        };
        let id = self.new_id(if group.is_some() { "member" } else { "ticket" });
        self.tickets.insert(
            id.clone(),
            Entry {
                profile,
                polls: 0,
                group: group.map(str::to_owned),
                is_ready: false,
                player_ip,
            },
        );
        match group {
            Some(gid) => {
                self.groups
                    .entry(gid.to_owned())
                    .or_default()
                    .push(id.clone());
                self.member(gid, &id, false)
            }
            None => HttpResponse::json(201, &self.ticket_json(&id)),
        }
    }

    fn status(&self, id: &str) -> &'static str {
        let polls = self.tickets.get(id).map_or(0, |e| e.polls);
        if polls <= self.config.searching_polls {
            "SEARCHING"
        } else if polls <= self.config.searching_polls + self.config.match_found_polls {
            "MATCH_FOUND"
        } else {
            "HOST_ASSIGNED"
        }
    }

    fn ticket_json(&self, id: &str) -> Value {
        let Some(entry) = self.tickets.get(id) else {
            return Value::Null;
        };
        let status = self.status(id);
        let assignment = (status == "HOST_ASSIGNED").then(|| {
            json!({"fqdn": "sim-server.local", "public_ip": "127.0.0.1",
                   "ports": {"gameport": {"internal": 7777, "external": 31000,
                                          "link": "127.0.0.1:31000", "protocol": "UDP"}},
                   "location": {"city": "Loopback", "country": "Nowhere"}})
        });
        json!({"id": id, "profile": entry.profile, "created_at": "2026-01-01T00:00:00Z",
               "status": status, "player_ip": entry.player_ip, "group_id": entry.group,
               "is_ready": entry.is_ready,
               "match_id": (status != "SEARCHING").then(|| format!("match-{id}")),
               "assignment": assignment})
    }

    /// Whether every member of the entry's group is ready (a ticket is always ready).
    fn searching(&self, id: &str) -> bool {
        match self.tickets.get(id).and_then(|e| e.group.as_ref()) {
            Some(gid) => self.groups.get(gid).is_some_and(|members| {
                members
                    .iter()
                    .all(|m| self.tickets.get(m).is_some_and(|e| e.is_ready))
            }),
            None => true,
        }
    }

    fn poll(&mut self, id: &str) -> HttpResponse {
        if !self.tickets.contains_key(id) {
            return HttpResponse::message(404, "ticket not found");
        }
        if self.searching(id)
            && let Some(entry) = self.tickets.get_mut(id)
        {
            entry.polls += 1;
        }
        HttpResponse::json(200, &self.ticket_json(id))
    }

    fn delete(&mut self, id: &str) -> HttpResponse {
        match self.tickets.get(id) {
            None => HttpResponse::message(404, "ticket not found"),
            Some(_) if self.status(id) != "SEARCHING" => {
                HttpResponse::message(409, "a match was already found")
            }
            Some(entry) => {
                if let Some(gid) = entry.group.clone()
                    && let Some(members) = self.groups.get_mut(&gid)
                {
                    members.retain(|m| m != id);
                }
                self.tickets.remove(id);
                HttpResponse::empty(204)
            }
        }
    }

    fn create_group(&mut self, request: &HttpRequest) -> HttpResponse {
        let gid = self.new_id("group");
        self.groups.insert(gid.clone(), Vec::new());
        let created = self.create(request, Some(&gid));
        if created.status != 201 {
            self.groups.remove(&gid);
            return created;
        }
        let owner = self.groups[&gid][0].clone();
        let mut group = self.group_json(&gid);
        group["member_id"] = json!(owner);
        HttpResponse::json(201, &group)
    }

    fn group_json(&self, gid: &str) -> Value {
        let members: Vec<Value> = self.groups[gid]
            .iter()
            .map(|m| self.ticket_json(m))
            .collect();
        json!({"id": gid, "members": members})
    }

    fn group(&self, gid: &str) -> HttpResponse {
        if self.groups.contains_key(gid) {
            HttpResponse::json(200, &self.group_json(gid))
        } else {
            HttpResponse::message(404, "group not found")
        }
    }

    fn delete_group(&mut self, gid: &str) -> HttpResponse {
        match self.groups.remove(gid) {
            Some(members) => {
                for m in members {
                    self.tickets.remove(&m);
                }
                HttpResponse::empty(204)
            }
            None => HttpResponse::message(404, "group not found"),
        }
    }

    fn in_group(&self, gid: &str, mid: &str) -> bool {
        self.tickets
            .get(mid)
            .is_some_and(|e| e.group.as_deref() == Some(gid))
    }

    fn member(&mut self, gid: &str, mid: &str, poll: bool) -> HttpResponse {
        if !self.in_group(gid, mid) {
            return HttpResponse::message(404, "member not found");
        }
        if poll {
            return self.poll(mid);
        }
        HttpResponse::json(201, &self.ticket_json(mid))
    }

    fn set_ready(&mut self, gid: &str, mid: &str, body: &[u8]) -> HttpResponse {
        if !self.in_group(gid, mid) {
            return HttpResponse::message(404, "member not found");
        }
        let Some(ready) = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("is_ready").and_then(Value::as_bool))
        else {
            return HttpResponse::message(400, "body must be {\"is_ready\": bool}");
        };
        if let Some(entry) = self.tickets.get_mut(mid) {
            entry.is_ready = ready;
        }
        HttpResponse::json(200, &self.ticket_json(mid))
    }

    fn leave(&mut self, gid: &str, mid: &str) -> HttpResponse {
        if self.in_group(gid, mid) {
            self.delete(mid)
        } else {
            HttpResponse::message(404, "member not found")
        }
    }
}
