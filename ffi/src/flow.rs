//! One matchmaking flow as the C side sees it: the sans-I/O [`MatchmakingFlow`] of
//! `edgegap-api`, the request it asked for last (so its texts can be read), and its texts.
//!
//! The flow does no I/O and keeps no clock: the caller passes `now_ms` (any monotonic clock in
//! milliseconds, the same origin for every call of one flow) and sends the requests with its
//! own HTTP stack.

use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use probe::api::ApiError;
use probe::api::MatchmakerToken;
use probe::api::matchmaker::flow::{
    FlowOptions, FlowRequest, FlowResponse, FlowStep, HttpMethod, MatchmakingFlow,
};
use probe::api::matchmaker::{DEFAULT_LATENCY_ATTRIBUTE, GroupId, TicketRequest};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::result::{EgpResult, FfiError};

/// Handle of a matchmaking flow: 0 is "no flow". Released with `egp_flow_free`.
pub type EgpFlow = u64;

/// What a flow enters matchmaking as (`egp_flow_create`'s `kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgpFlowKind {
    /// A ticket: `POST tickets`, polled, cancelled with `DELETE tickets/{id}`.
    Ticket = 0,
    /// A new group (party) this player owns: `POST groups`, then its membership is polled.
    CreateGroup = 1,
    /// Joining the group `group_id`: `POST groups/{gid}/members`, then polled.
    JoinGroup = 2,
}

/// What the caller does next (`EgpFlowStep::action`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgpFlowAction {
    /// Send the request now (read it with `egp_flow_text`), then hand the answer to
    /// `egp_flow_respond` (or the failure to `egp_flow_transport_error`).
    Send = 1,
    /// Nothing to send before `wakeup_ms`; call `egp_flow_step` again then (or sooner after
    /// `egp_flow_cancel` / `egp_flow_set_ready`).
    Wait = 2,
    /// A request is out: waiting for its answer.
    AwaitResponse = 3,
    /// The flow ended: `status` says how; the assignment or the error message are texts.
    Finished = 4,
}

/// The HTTP method of the request to send (`EgpFlowStep::method`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgpHttpMethod {
    /// No request.
    None = 0,
    /// `GET`.
    Get = 1,
    /// `POST`.
    Post = 2,
    /// `PATCH`.
    Patch = 3,
    /// `DELETE`.
    Delete = 4,
}

/// Which text `egp_flow_text` copies.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgpFlowText {
    /// The request's method, `"GET"`, `"POST"`, `"PATCH"` or `"DELETE"`.
    RequestMethod = 0,
    /// The request's path relative to the matchmaker's base URL, percent-encoded, without a
    /// leading `/` (e.g. `tickets/abc`).
    RequestPath = 1,
    /// The request's headers, one `Name: value` per line, each ending with `\n`. Holds the
    /// token (`Authorization`): never log it.
    RequestHeaders = 2,
    /// The request's JSON body (`""` when it has none).
    RequestBody = 3,
    /// The assignment as JSON (`{"fqdn", "public_ip", "ports", "location"}`), once the flow
    /// finished with `EGP_RESULT_OK`.
    AssignmentJson = 4,
    /// Why the flow ended without an assignment (`""` before the end or on success). Never
    /// holds the token.
    ErrorMessage = 5,
    /// The ticket's id once known (a member's id for a group flow), else `""`.
    TicketId = 6,
    /// The group's id, for a group flow once known, else `""`.
    GroupId = 7,
    /// The member's id, for a group flow once known, else `""`.
    MemberId = 8,
}

impl EgpFlowText {
    pub(crate) fn from_u32(value: u32) -> Option<Self> {
        [
            Self::RequestMethod,
            Self::RequestPath,
            Self::RequestHeaders,
            Self::RequestBody,
            Self::AssignmentJson,
            Self::ErrorMessage,
            Self::TicketId,
            Self::GroupId,
            Self::MemberId,
        ]
        .into_iter()
        .find(|t| *t as u32 == value)
    }
}

/// What `egp_flow_step` says. Plain integers only.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EgpFlowStep {
    /// An `EgpFlowAction` value.
    pub action: u32,
    /// An `EgpHttpMethod` value (`EGP_HTTP_METHOD_NONE` unless `action` is SEND).
    pub method: u32,
    /// For WAIT: when to call `egp_flow_step` again, on the caller's clock in milliseconds.
    pub wakeup_ms: u64,
    /// For FINISHED: the flow's `EgpResult` (`EGP_RESULT_OK` with an assignment, else why
    /// not); `EGP_RESULT_NOT_FINISHED` before.
    pub status: u32,
    /// The last HTTP status the flow was answered with (0 before any answer).
    pub last_http_status: u32,
}

/// The options a caller may set, as JSON (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonOptions {
    attribute: Option<String>,
    player_ip: Option<String>,
    poll_interval_ms: Option<u64>,
    jitter_ms: Option<u64>,
    max_consecutive_errors: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    max_retry_after_ms: Option<u64>,
    timeout_ms: Option<u64>,
    delete_on_cancel: Option<bool>,
    seed: Option<u64>,
}

/// What `egp_flow_create` was given, already read from C.
pub(crate) struct FlowSpec<'a> {
    pub kind: u32,
    pub token: &'a str,
    pub profile: &'a str,
    pub attributes_json: &'a str,
    pub group_id: Option<&'a str>,
    pub options_json: Option<&'a str>,
}

fn invalid(text: impl Into<String>) -> FfiError {
    FfiError::new(EgpResult::InvalidConfig, text)
}

fn json_error(what: &str, e: &serde_json::Error) -> FfiError {
    FfiError::new(
        EgpResult::InvalidJson,
        format!("{what} could not be read: {e}"),
    )
}

/// The ticket body from the probe's payload: the latency attribute's object becomes the
/// latencies, every other key is passed as it is.
fn ticket_request(
    profile: &str,
    attributes: Map<String, Value>,
    options: &JsonOptions,
) -> Result<TicketRequest, FfiError> {
    let attribute = options
        .attribute
        .clone()
        .unwrap_or_else(|| DEFAULT_LATENCY_ATTRIBUTE.to_owned());
    let mut latencies = Vec::new();
    let mut others = Vec::new();
    for (key, value) in attributes {
        if key == attribute {
            let Value::Object(cities) = value else {
                return Err(invalid(format!(
                    "attributes_json: `{attribute}` must be an object of city → milliseconds"
                )));
            };
            for (city, ms) in cities {
                let ms = ms.as_f64().ok_or_else(|| {
                    invalid(format!(
                        "attributes_json: `{attribute}.{city}` is not a number"
                    ))
                })?;
                latencies.push((city, ms));
            }
        } else {
            others.push((key, value));
        }
    }
    let mut request = TicketRequest::new(profile, latencies).latency_attribute(attribute);
    for (key, value) in others {
        request = request.attribute(key, value);
    }
    if let Some(ip) = &options.player_ip {
        let ip = ip.parse().map_err(|_| {
            invalid(format!(
                "options_json: player_ip {ip:?} is not an IP address"
            ))
        })?;
        request = request.player_ip(ip);
    }
    Ok(request)
}

fn flow_options(o: &JsonOptions) -> FlowOptions {
    let d = FlowOptions::default();
    let ms = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
    FlowOptions {
        poll_interval: ms(o.poll_interval_ms, d.poll_interval),
        jitter: ms(o.jitter_ms, d.jitter),
        max_consecutive_errors: o.max_consecutive_errors.unwrap_or(d.max_consecutive_errors),
        initial_backoff: ms(o.initial_backoff_ms, d.initial_backoff),
        max_backoff: ms(o.max_backoff_ms, d.max_backoff),
        max_retry_after: ms(o.max_retry_after_ms, d.max_retry_after),
        timeout: o.timeout_ms.map(Duration::from_millis),
        delete_on_cancel: o.delete_on_cancel.unwrap_or(d.delete_on_cancel),
        seed: o.seed.unwrap_or_else(seed_from_clock),
    }
}

/// A seed that differs between players (the jitter's purpose), from the system clock.
fn seed_from_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A flow and the request it asked for last.
#[derive(Debug)]
pub(crate) struct FlowSession {
    inner: Mutex<State>,
}

#[derive(Debug)]
struct State {
    flow: MatchmakingFlow,
    request: Option<FlowRequest>,
    last_http_status: u32,
    assignment_json: String,
    error: Option<(EgpResult, String)>,
}

impl FlowSession {
    /// Builds the flow `spec` describes.
    pub(crate) fn new(spec: &FlowSpec<'_>) -> Result<Self, FfiError> {
        let token = MatchmakerToken::new(spec.token);
        if token.is_empty() {
            return Err(invalid("the matchmaker token is empty"));
        }
        let options: JsonOptions = serde_json::from_str(spec.options_json.unwrap_or("{}"))
            .map_err(|e| json_error("options_json", &e))?;
        let attributes: Map<String, Value> = serde_json::from_str(spec.attributes_json)
            .map_err(|e| json_error("attributes_json (an object, e.g. the probe's payload)", &e))?;
        let request = ticket_request(spec.profile, attributes, &options)?;
        let flow_options = flow_options(&options);
        let flow = match (spec.kind, spec.group_id) {
            (k, _) if k == EgpFlowKind::Ticket as u32 => {
                MatchmakingFlow::ticket(token, &request, flow_options)
            }
            (k, _) if k == EgpFlowKind::CreateGroup as u32 => {
                MatchmakingFlow::create_group(token, &request, flow_options)
            }
            (k, Some(group)) if k == EgpFlowKind::JoinGroup as u32 && !group.is_empty() => {
                MatchmakingFlow::join_group(token, GroupId::new(group), &request, flow_options)
            }
            (k, _) if k == EgpFlowKind::JoinGroup as u32 => {
                return Err(FfiError::null("group_id (needed to join a group)"));
            }
            (k, _) => return Err(invalid(format!("flow kind {k} is not an EgpFlowKind"))),
        };
        Ok(Self {
            inner: Mutex::new(State {
                flow,
                request: None,
                last_http_status: 0,
                assignment_json: String::new(),
                error: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a few assignments that a panic cannot leave half done in a way that
        // breaks the flow's own invariants (it is only read through its methods).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What to do at `now_ms`.
    pub(crate) fn step(&self, now_ms: u64) -> EgpFlowStep {
        let mut state = self.lock();
        let step = state.flow.step(Duration::from_millis(now_ms));
        let mut out = EgpFlowStep {
            status: EgpResult::NotFinished as u32,
            last_http_status: state.last_http_status,
            ..EgpFlowStep::default()
        };
        match step {
            FlowStep::Send(request) => {
                out.action = EgpFlowAction::Send as u32;
                out.method = method_code(request.method()) as u32;
                state.request = Some(request);
            }
            FlowStep::WaitUntil(at) => {
                out.action = EgpFlowAction::Wait as u32;
                out.wakeup_ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
            }
            FlowStep::AwaitingResponse => out.action = EgpFlowAction::AwaitResponse as u32,
            FlowStep::Finished => {
                state.settle();
                out.action = EgpFlowAction::Finished as u32;
                out.status = state.error.as_ref().map_or(EgpResult::Ok, |e| e.0) as u32;
            }
        }
        out
    }

    /// Hands the answer over.
    pub(crate) fn respond(
        &self,
        now_ms: u64,
        status: u32,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> Result<(), FfiError> {
        let status = u16::try_from(status)
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| invalid(format!("HTTP status {status} is not between 100 and 599")))?;
        let mut response = FlowResponse::new(status, body);
        if let Some(value) = retry_after {
            response = response.header("Retry-After", value);
        }
        let mut state = self.lock();
        if !state
            .flow
            .on_response(Duration::from_millis(now_ms), &response)
        {
            return Err(no_request());
        }
        state.last_http_status = u32::from(status);
        state.request = None;
        Ok(())
    }

    /// Says the request failed without an answer.
    pub(crate) fn transport_error(&self, now_ms: u64, reason: &str) -> Result<(), FfiError> {
        let mut state = self.lock();
        if !state
            .flow
            .on_transport_error(Duration::from_millis(now_ms), reason)
        {
            return Err(no_request());
        }
        state.request = None;
        Ok(())
    }

    /// Stops waiting (DELETE follows when there is something to delete).
    pub(crate) fn cancel(&self) {
        self.lock().flow.cancel();
    }

    /// Sets this member's readiness.
    pub(crate) fn set_ready(&self, ready: bool) -> Result<(), FfiError> {
        self.lock()
            .flow
            .set_ready(ready)
            .map_err(|e| FfiError::new(EgpResult::InvalidConfig, e.to_string()))
    }

    /// Runs `read` on the text `which`.
    pub(crate) fn with_text<R>(
        &self,
        which: EgpFlowText,
        read: impl FnOnce(&str) -> R,
    ) -> Result<R, FfiError> {
        let mut state = self.lock();
        state.settle();
        let request = || {
            state.request.as_ref().ok_or_else(|| {
                FfiError::new(
                    EgpResult::NotStarted,
                    "no request to read: egp_flow_step has not returned SEND since the last answer",
                )
            })
        };
        let owned;
        let text: &str = match which {
            EgpFlowText::RequestMethod => request()?.method().as_str(),
            EgpFlowText::RequestPath => {
                owned = request()?.path();
                &owned
            }
            EgpFlowText::RequestHeaders => {
                owned =
                    request()?
                        .headers()
                        .iter()
                        .fold(String::new(), |mut lines, (name, value)| {
                            let _ = writeln!(lines, "{name}: {value}");
                            lines
                        });
                &owned
            }
            EgpFlowText::RequestBody => request()?.body().unwrap_or(""),
            EgpFlowText::AssignmentJson => &state.assignment_json,
            EgpFlowText::ErrorMessage => state.error.as_ref().map_or("", |e| e.1.as_str()),
            EgpFlowText::TicketId => {
                owned = state
                    .flow
                    .ticket_id()
                    .map_or_else(String::new, |t| t.to_string());
                &owned
            }
            EgpFlowText::GroupId => state.flow.group_id().map_or("", |g| g.as_str()),
            EgpFlowText::MemberId => state.flow.member_id().map_or("", |m| m.as_str()),
        };
        Ok(read(text))
    }
}

impl State {
    /// Moves a finished flow's outcome into texts (once).
    fn settle(&mut self) {
        let Some(outcome) = self.flow.take_outcome() else {
            return;
        };
        match outcome {
            Ok(assignment) => {
                self.assignment_json = serde_json::to_string(&assignment).unwrap_or_default();
            }
            Err(e) => self.error = Some((outcome_code(&e), e.to_string())),
        }
    }
}

/// The result code of a flow that ended with `error`.
fn outcome_code(error: &ApiError) -> EgpResult {
    match error {
        ApiError::Cancelled { .. }
        | ApiError::WaitTimedOut { .. }
        | ApiError::CancelledBeforeEntry { .. } => EgpResult::MatchmakingCancelled,
        ApiError::AlreadyMatched { .. } => EgpResult::AlreadyMatched,
        _ => EgpResult::MatchmakingFailed,
    }
}

fn method_code(method: HttpMethod) -> EgpHttpMethod {
    match method {
        HttpMethod::Get => EgpHttpMethod::Get,
        HttpMethod::Post => EgpHttpMethod::Post,
        HttpMethod::Patch => EgpHttpMethod::Patch,
        HttpMethod::Delete => EgpHttpMethod::Delete,
    }
}

fn no_request() -> FfiError {
    FfiError::new(
        EgpResult::NoRequestPending,
        "no request is out: answer only the request egp_flow_step returned with SEND, once",
    )
}
