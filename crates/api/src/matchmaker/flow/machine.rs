//! [`MatchmakingFlow`]: the state machine of a ticket or a group membership, from creation
//! to the assignment.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::exchange::{FlowRequest, FlowResponse, HttpMethod};
use super::pacing::{FlowOptions, Pacer};
use crate::error::{ApiError, Service, StatusContext};
use crate::matchmaker::{
    Assignment, Group, GroupId, GroupMember, MemberId, MemberReadiness, Ticket, TicketId,
    TicketRequest, TicketStatus,
};
use crate::redact::{REASON_CHARS, Redactor};
use crate::token::MatchmakerToken;

/// What the flow enters matchmaking as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowKind {
    /// A ticket of its own: `POST tickets`, polled with `GET tickets/{id}`, cancelled with
    /// `DELETE tickets/{id}`.
    Ticket,
    /// A new group (party) whose owner this player is: `POST groups`, then the owner's
    /// membership is polled and left like a joined one.
    CreateGroup,
    /// A member joining an existing group: `POST groups/{gid}/members`, polled with
    /// `GET groups/{gid}/members/{mid}`, left with `DELETE groups/{gid}/members/{mid}`.
    JoinGroup(GroupId),
}

/// What the caller does next, as [`MatchmakingFlow::step`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowStep {
    /// Send this request now, then hand its answer to [`MatchmakingFlow::on_response`] (or
    /// its failure to [`MatchmakingFlow::on_transport_error`]).
    Send(FlowRequest),
    /// Nothing to send before this time (the caller's clock, as passed to `step`); call
    /// `step` again then, or sooner after a `cancel` or `set_ready`.
    WaitUntil(Duration),
    /// A request is out: waiting for its answer.
    AwaitingResponse,
    /// The flow ended: [`MatchmakingFlow::outcome`] holds the assignment or the error.
    Finished,
}

/// Where the flow's ticket or membership is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Ticket(TicketId),
    Member(GroupId, MemberId),
}

impl Entry {
    fn segments(&self) -> Vec<String> {
        match self {
            Self::Ticket(id) => vec!["tickets".into(), id.to_string()],
            Self::Member(g, m) => vec![
                "groups".into(),
                g.to_string(),
                "members".into(),
                m.to_string(),
            ],
        }
    }

    /// The id errors name: the ticket's, or the membership's (a member is a ticket).
    fn ticket_id(&self) -> TicketId {
        match self {
            Self::Ticket(id) => id.clone(),
            Self::Member(_, m) => TicketId::new(m.as_str()),
        }
    }

    fn resource(&self) -> String {
        match self {
            Self::Ticket(id) => crate::matchmaker::ticket_resource(id),
            Self::Member(g, m) => crate::matchmaker::member_resource(g, m),
        }
    }
}

/// The request out, awaiting its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Create,
    Poll,
    Ready(bool),
    Delete,
}

/// What is due next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Create(Duration),
    Poll(Duration),
    Delete(Duration),
}

/// Why the caller stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abandon {
    Cancelled,
    TimedOut,
}

/// The matchmaking flow of one player, without I/O: it says which request to send and when,
/// and reads the answers the caller's HTTP stack got. Time is passed in (`now`: any monotonic
/// clock, as a duration since a fixed origin the caller picks), so the flow is deterministic.
///
/// * Create (`POST tickets`, `POST groups` or `POST groups/{gid}/members`); a 429 is retried
///   after its `Retry-After`; any other failure ends the flow (a retry could enter twice).
/// * Poll about every `poll_interval` (± jitter) until `HOST_ASSIGNED` with an assignment:
///   [`MatchmakingFlow::outcome`] is then `Ok(assignment)`. `CANCELLED` by the matchmaker
///   ends it with [`ApiError::TicketCancelled`].
/// * 429, 5xx and transport failures are retried with backoff (at least the poll interval,
///   honouring `Retry-After` up to `max_retry_after`); after `max_consecutive_errors` in a
///   row: [`ApiError::TooManyErrors`]. Any other error ends the flow at once (404: the ticket
///   is gone, [`ApiError::NotFound`]).
/// * [`MatchmakingFlow::cancel`] (or the timeout) sends `DELETE` as soon as the flow knows
///   its ticket; 2xx or 404 end it with [`ApiError::Cancelled`] / [`ApiError::WaitTimedOut`]
///   (`ticket_deleted`); 409 means a match was already found: [`ApiError::AlreadyMatched`].
/// * A body that is not the expected JSON is [`ApiError::Json`], never a panic.
#[derive(Debug)]
pub struct MatchmakingFlow {
    token: MatchmakerToken,
    redactor: Redactor,
    pacer: Pacer,
    kind: FlowKind,
    create_body: String,
    entry: Option<Entry>,
    due: Due,
    in_flight: Option<Sent>,
    errors: u32,
    started: Option<Duration>,
    abandon: Option<Abandon>,
    ready: Option<bool>,
    status: Option<TicketStatus>,
    ticket: Option<Ticket>,
    outcome: Option<Result<Assignment, ApiError>>,
    finished: bool,
}

impl MatchmakingFlow {
    fn with(
        token: MatchmakerToken,
        kind: FlowKind,
        request: Option<&TicketRequest>,
        options: FlowOptions,
    ) -> Self {
        let redactor = Redactor::new([token.expose_secret().to_owned()]);
        Self {
            token,
            redactor,
            pacer: Pacer::new(options),
            kind,
            create_body: request.map_or_else(String::new, |r| r.to_json().to_string()),
            entry: None,
            due: Due::Create(Duration::ZERO),
            in_flight: None,
            errors: 0,
            started: None,
            abandon: None,
            ready: None,
            status: None,
            ticket: None,
            outcome: None,
            finished: false,
        }
    }

    /// A flow that creates a ticket with `request`, then waits for its assignment.
    pub fn ticket(token: MatchmakerToken, request: &TicketRequest, options: FlowOptions) -> Self {
        Self::with(token, FlowKind::Ticket, Some(request), options)
    }

    /// A flow that waits for the assignment of a ticket that already exists.
    pub fn resume_ticket(token: MatchmakerToken, id: TicketId, options: FlowOptions) -> Self {
        let mut flow = Self::with(token, FlowKind::Ticket, None, options);
        flow.entry = Some(Entry::Ticket(id));
        flow.due = Due::Poll(Duration::ZERO);
        flow
    }

    /// A flow that creates a group (this player owns it and is its first member) with the
    /// owner's `request`, then waits for the group's assignment.
    pub fn create_group(
        token: MatchmakerToken,
        request: &TicketRequest,
        options: FlowOptions,
    ) -> Self {
        Self::with(token, FlowKind::CreateGroup, Some(request), options)
    }

    /// A flow that joins group `group` with this member's `request` (its own latencies), then
    /// waits for the group's assignment.
    pub fn join_group(
        token: MatchmakerToken,
        group: GroupId,
        request: &TicketRequest,
        options: FlowOptions,
    ) -> Self {
        Self::with(token, FlowKind::JoinGroup(group), Some(request), options)
    }

    /// What the flow enters matchmaking as.
    pub fn kind(&self) -> &FlowKind {
        &self.kind
    }

    /// The ticket's id once known (a member's id for a group flow).
    pub fn ticket_id(&self) -> Option<TicketId> {
        self.entry.as_ref().map(Entry::ticket_id)
    }

    /// The group, for a group flow once known.
    pub fn group_id(&self) -> Option<&GroupId> {
        match (&self.entry, &self.kind) {
            (Some(Entry::Member(g, _)), _) | (None, FlowKind::JoinGroup(g)) => Some(g),
            _ => None,
        }
    }

    /// The member's id, for a group flow once known.
    pub fn member_id(&self) -> Option<&MemberId> {
        match &self.entry {
            Some(Entry::Member(_, m)) => Some(m),
            _ => None,
        }
    }

    /// The last status the matchmaker reported.
    pub fn status(&self) -> Option<TicketStatus> {
        self.status
    }

    /// The ticket as the matchmaker last described it (ticket flows only).
    pub fn last_ticket(&self) -> Option<&Ticket> {
        self.ticket.as_ref()
    }

    /// The assignment or the error, once the flow has ended.
    pub fn outcome(&self) -> Option<&Result<Assignment, ApiError>> {
        self.outcome.as_ref()
    }

    /// Takes the outcome out (then `outcome` is `None` and `step` keeps saying `Finished`).
    pub fn take_outcome(&mut self) -> Option<Result<Assignment, ApiError>> {
        self.outcome.take()
    }

    /// Whether the flow has ended.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The caller's clock at which `step` has something to do, when nothing is due before.
    pub fn next_wakeup(&self) -> Option<Duration> {
        if self.is_finished() || self.in_flight.is_some() {
            return None;
        }
        let at = match self.due {
            Due::Create(at) | Due::Poll(at) | Due::Delete(at) => at,
        };
        Some(match (self.deadline(), self.abandon) {
            (Some(deadline), None) => at.min(deadline),
            _ => at,
        })
    }

    fn deadline(&self) -> Option<Duration> {
        let timeout = self.pacer.options().timeout?;
        self.started.map(|s| s.saturating_add(timeout))
    }

    /// Stops waiting: the ticket is deleted (the group left) as soon as it is known, unless
    /// `delete_on_cancel` is off. Idempotent; no effect once the flow has ended.
    pub fn cancel(&mut self) {
        if self.is_finished() || self.abandon.is_some() {
            return;
        }
        self.abandon = Some(Abandon::Cancelled);
        if self.in_flight.is_none() {
            self.abandon_now(Duration::ZERO);
        }
    }

    /// Sets this member's readiness (`PATCH groups/{gid}/members/{mid}`), sent at the next
    /// step once the membership exists. Only for group flows.
    pub fn set_ready(&mut self, ready: bool) -> Result<(), ApiError> {
        if self.kind == FlowKind::Ticket {
            return Err(ApiError::InvalidArgument {
                operation: "set group member readiness",
                reason: "this flow is a ticket, not a group membership".into(),
            });
        }
        self.ready = Some(ready);
        Ok(())
    }

    /// What to do now. Call it again after each answer, at the time a `WaitUntil` names, and
    /// after `cancel` or `set_ready`.
    pub fn step(&mut self, now: Duration) -> FlowStep {
        if self.is_finished() {
            return FlowStep::Finished;
        }
        if self.in_flight.is_some() {
            return FlowStep::AwaitingResponse;
        }
        let started = *self.started.get_or_insert(now);
        if let (None, Some(timeout)) = (self.abandon, self.pacer.options().timeout)
            && now >= started.saturating_add(timeout)
        {
            self.abandon = Some(Abandon::TimedOut);
            self.abandon_now(now);
            if self.is_finished() {
                return FlowStep::Finished;
            }
        }
        let (at, sent) = match self.due {
            Due::Create(at) => (at, Sent::Create),
            Due::Poll(at) => match self.ready {
                Some(ready) if self.entry.is_some() => (now, Sent::Ready(ready)),
                _ => (at, Sent::Poll),
            },
            Due::Delete(at) => (at, Sent::Delete),
        };
        if now < at {
            return FlowStep::WaitUntil(self.next_wakeup().unwrap_or(at));
        }
        if let Sent::Ready(_) = sent {
            self.ready = None;
        }
        self.in_flight = Some(sent);
        FlowStep::Send(self.request(sent))
    }

    fn request(&self, sent: Sent) -> FlowRequest {
        let token = &self.token;
        let entry = || self.entry.as_ref().map(Entry::segments).unwrap_or_default();
        match (sent, &self.kind) {
            (Sent::Create, FlowKind::Ticket) => FlowRequest::new(
                HttpMethod::Post,
                vec!["tickets".into()],
                token,
                "create ticket",
            )
            .with_body(self.create_body.clone()),
            (Sent::Create, FlowKind::CreateGroup) => FlowRequest::new(
                HttpMethod::Post,
                vec!["groups".into()],
                token,
                "create group",
            )
            .with_body(self.create_body.clone()),
            (Sent::Create, FlowKind::JoinGroup(g)) => FlowRequest::new(
                HttpMethod::Post,
                vec!["groups".into(), g.to_string(), "members".into()],
                token,
                "join group",
            )
            .with_body(self.create_body.clone()),
            (Sent::Poll, FlowKind::Ticket) => {
                FlowRequest::new(HttpMethod::Get, entry(), token, "get ticket")
            }
            (Sent::Poll, _) => {
                FlowRequest::new(HttpMethod::Get, entry(), token, "get group member")
            }
            (Sent::Ready(is_ready), _) => FlowRequest::new(
                HttpMethod::Patch,
                entry(),
                token,
                "set group member readiness",
            )
            .with_body(serde_json::json!(MemberReadiness { is_ready }).to_string()),
            (Sent::Delete, FlowKind::Ticket) => {
                FlowRequest::new(HttpMethod::Delete, entry(), token, "delete ticket")
            }
            (Sent::Delete, _) => {
                FlowRequest::new(HttpMethod::Delete, entry(), token, "leave group")
            }
        }
    }

    /// Hands over the answer to the request `step` returned. Returns `false` (and changes
    /// nothing) when no request was out.
    pub fn on_response(&mut self, now: Duration, response: &FlowResponse) -> bool {
        let Some(sent) = self.in_flight.take() else {
            return false;
        };
        let request = self.request(sent);
        if response.is_success() {
            self.on_success(now, sent, &request, response.body());
        } else {
            let message = self.redactor.answer_message(response.body());
            let error = ApiError::from_status(
                StatusContext {
                    service: Service::Matchmaker,
                    operation: request.operation(),
                    resource: &self.resource(sent),
                    attempts: 1,
                },
                response.status(),
                message,
                response.retry_after_value(),
            );
            self.on_failure(now, sent, error);
        }
        true
    }

    /// Says the request `step` returned could not be sent or got no answer (connection
    /// refused, timeout, reset); `reason` is scrubbed of the token. Returns `false` when no
    /// request was out.
    pub fn on_transport_error(&mut self, now: Duration, reason: &str) -> bool {
        let Some(sent) = self.in_flight.take() else {
            return false;
        };
        let request = self.request(sent);
        let error = ApiError::Transport {
            service: Service::Matchmaker,
            operation: request.operation(),
            url: self.redactor.scrub(&request.path()),
            attempts: 1,
            reason: self.redactor.clip(reason, REASON_CHARS),
            connect: true,
        };
        self.on_failure(now, sent, error);
        true
    }

    fn resource(&self, sent: Sent) -> String {
        let text = match (&self.entry, sent, &self.kind) {
            (Some(entry), _, _) => entry.resource(),
            (None, _, FlowKind::JoinGroup(g)) => crate::matchmaker::group_resource(g),
            (None, _, FlowKind::CreateGroup) => "a new group".to_owned(),
            (None, _, FlowKind::Ticket) => "a new ticket".to_owned(),
        };
        self.redactor.scrub(&text)
    }

    fn parse<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        body: &[u8],
    ) -> Result<T, ApiError> {
        serde_json::from_slice(body).map_err(|e| ApiError::Json {
            service: Service::Matchmaker,
            operation,
            reason: self.redactor.clip(&e.to_string(), REASON_CHARS),
            excerpt: self.redactor.excerpt(body, crate::redact::EXCERPT_CHARS),
        })
    }

    fn on_success(&mut self, now: Duration, sent: Sent, request: &FlowRequest, body: &[u8]) {
        self.errors = 0;
        let operation = request.operation();
        let read = match sent {
            Sent::Create => self.created(operation, body),
            Sent::Poll => self.polled(operation, body),
            Sent::Ready(_) => Ok(None),
            Sent::Delete => {
                self.finish_abandoned(true);
                return;
            }
        };
        match read {
            Err(e) => self.finish(Err(e)),
            Ok(Some((status, assignment))) => {
                self.status = Some(status);
                match (status, assignment) {
                    (TicketStatus::HostAssigned, Some(a)) => self.finish(Ok(a)),
                    (TicketStatus::Cancelled, _) => {
                        let ticket_id = self.shown_ticket_id();
                        self.finish(Err(ApiError::TicketCancelled { ticket_id }));
                    }
                    _ => self.next_poll(now),
                }
            }
            Ok(None) => self.next_poll(now),
        }
    }

    /// Reads a creation answer: the entry, and the status when the answer holds one.
    fn created(
        &mut self,
        operation: &'static str,
        body: &[u8],
    ) -> Result<Option<(TicketStatus, Option<Assignment>)>, ApiError> {
        match &self.kind {
            FlowKind::Ticket => {
                let ticket: Ticket = self.parse(operation, body)?;
                self.entry = Some(Entry::Ticket(ticket.id.clone()));
                let read = (ticket.status, ticket.assignment.clone());
                self.ticket = Some(ticket);
                Ok(Some(read))
            }
            FlowKind::CreateGroup => {
                let group: Group = self.parse(operation, body)?;
                let member = group.owner_member_id().ok_or(ApiError::Schema {
                    service: Service::Matchmaker,
                    operation,
                    field: "member_id".into(),
                    problem: "is missing (the owner's membership is not named)",
                })?;
                self.entry = Some(Entry::Member(group.id, member));
                Ok(None)
            }
            FlowKind::JoinGroup(g) => {
                let member: GroupMember = self.parse(operation, body)?;
                self.entry = Some(Entry::Member(g.clone(), member.id));
                Ok(member.status.map(|s| (s, member.assignment)))
            }
        }
    }

    fn polled(
        &mut self,
        operation: &'static str,
        body: &[u8],
    ) -> Result<Option<(TicketStatus, Option<Assignment>)>, ApiError> {
        if self.kind == FlowKind::Ticket {
            let ticket: Ticket = self.parse(operation, body)?;
            let read = (ticket.status, ticket.assignment.clone());
            self.ticket = Some(ticket);
            Ok(Some(read))
        } else {
            let member: GroupMember = self.parse(operation, body)?;
            Ok(member.status.map(|s| (s, member.assignment)))
        }
    }

    fn on_failure(&mut self, now: Duration, sent: Sent, error: ApiError) {
        let transient = error.is_transient();
        match sent {
            // A create is retried only when it surely did not happen (429).
            Sent::Create if matches!(error, ApiError::RateLimited { .. }) => {
                if self.count_error() {
                    return self.finish(Err(error));
                }
                let delay = self.pacer.after_error(self.errors, error.retry_after());
                self.due = Due::Create(now + delay);
                if self.abandon.is_some() {
                    self.abandon_now(now);
                }
            }
            Sent::Delete => match error {
                ApiError::NotFound { .. } => self.finish_abandoned(true),
                ApiError::Conflict { .. } => {
                    let ticket_id = self.shown_ticket_id();
                    self.finish(Err(ApiError::AlreadyMatched { ticket_id }));
                }
                e if e.is_transient() && !self.count_error() => {
                    let delay = self.pacer.after_error(self.errors, e.retry_after());
                    self.due = Due::Delete(now + delay);
                }
                _ => self.finish_abandoned(false),
            },
            Sent::Poll | Sent::Ready(_) if transient => {
                if let Sent::Ready(ready) = sent {
                    self.ready.get_or_insert(ready);
                }
                if self.count_error() {
                    let ticket_id = self.shown_ticket_id();
                    return self.finish(Err(ApiError::TooManyErrors {
                        ticket_id,
                        errors: self.errors,
                        last: Box::new(error),
                    }));
                }
                let delay = self.pacer.after_error(self.errors, error.retry_after());
                self.due = Due::Poll(now + delay);
                if self.abandon.is_some() {
                    self.abandon_now(now);
                }
            }
            _ => self.finish(Err(error)),
        }
    }

    /// Counts an error; `true` when that is one too many.
    fn count_error(&mut self) -> bool {
        self.errors += 1;
        self.errors >= self.pacer.max_errors()
    }

    fn next_poll(&mut self, now: Duration) {
        if self.abandon.is_some() {
            self.abandon_now(now);
        } else {
            self.due = Due::Poll(now + self.pacer.interval());
        }
    }

    /// Acts on a cancel or a timeout: delete the entry when there is one and that is wanted,
    /// else end the flow.
    fn abandon_now(&mut self, now: Duration) {
        match (&self.entry, self.pacer.options().delete_on_cancel) {
            (Some(_), true) => {
                self.errors = 0;
                self.due = Due::Delete(now);
            }
            (Some(_), false) => self.finish_abandoned(false),
            (None, _) => self.finish(Err(ApiError::CancelledBeforeEntry {
                operation: self.request(Sent::Create).operation(),
            })),
        }
    }

    fn finish_abandoned(&mut self, ticket_deleted: bool) {
        let ticket_id = self.shown_ticket_id();
        let error = match self.abandon {
            Some(Abandon::TimedOut) => ApiError::WaitTimedOut {
                ticket_id,
                waited: self.pacer.options().timeout.unwrap_or_default(),
                ticket_deleted,
            },
            _ => ApiError::Cancelled {
                ticket_id,
                ticket_deleted,
            },
        };
        self.finish(Err(error));
    }

    fn shown_ticket_id(&self) -> TicketId {
        TicketId::new(
            self.redactor
                .scrub(self.ticket_id().as_ref().map_or("", TicketId::as_str)),
        )
    }

    fn finish(&mut self, outcome: Result<Assignment, ApiError>) {
        self.in_flight = None;
        self.finished = true;
        self.outcome = Some(outcome);
    }
}
