//! The exported `egp_flow_*` functions: the matchmaking flow (ticket and party) without an
//! HTTP stack. The library says which request to send and when; the game's HTTP
//! (UnityWebRequest, Unreal's HTTP module, any client) sends it and hands the answer back.
//!
//! The loop, from a game's frame update:
//!
//! 1. `egp_flow_step(flow, now_ms, &step)`;
//! 2. `SEND`: read `EGP_FLOW_TEXT_REQUEST_METHOD`, `_PATH` (append to the matchmaker's base
//!    URL), `_HEADERS` and `_BODY` with `egp_flow_text`, send, and when the answer arrives
//!    call `egp_flow_respond` (or `egp_flow_transport_error` when none came);
//! 3. `WAIT`: nothing to do before `step.wakeup_ms`; `AWAIT_RESPONSE`: an answer is due;
//! 4. `FINISHED`: `step.status` is `EGP_RESULT_OK` with `EGP_FLOW_TEXT_ASSIGNMENT_JSON`, or
//!    why not, with `EGP_FLOW_TEXT_ERROR_MESSAGE`.
//!
//! Same safety rules as every entry point: panic boundary, NULL checks, ids not pointers,
//! nothing kept of the caller's memory.
#![allow(unsafe_code)]

use std::ffi::c_char;
use std::sync::{Arc, LazyLock};

use crate::boundary::call;
use crate::buffer::{read_optional_str, read_str, write_out, write_str};
use crate::flow::{EgpFlow, EgpFlowStep, EgpFlowText, FlowSession, FlowSpec};
use crate::registry::Registry;
use crate::result::{EgpResult, FfiError};

/// The value of a handle that holds no flow.
pub const EGP_FLOW_NONE: EgpFlow = 0;

static FLOWS: LazyLock<Registry<FlowSession>> = LazyLock::new(Registry::new);

fn flow(id: EgpFlow) -> Result<Arc<FlowSession>, FfiError> {
    FLOWS.get(id).ok_or_else(|| {
        FfiError::new(
            EgpResult::InvalidHandle,
            format!("flow handle {id} is not valid: it was never created or was already freed"),
        )
    })
}

/// Creates a matchmaking flow (nothing is sent until `egp_flow_step`).
///
/// * `kind`: an `EgpFlowKind` (ticket, create a group, join a group).
/// * `token`: the matchmaker's token, sent raw in `Authorization` (a pasted `token ` or
///   `Bearer ` prefix is removed). Copied; it never appears in a message or log.
/// * `profile`: the matchmaking profile.
/// * `attributes_json`: the ticket's `attributes` object, which is exactly what
///   `egp_probe_payload_json` returns (`{"beacons": {"City": ms}}`), with any other attributes
///   the profile's rules need added as keys beside it.
/// * `group_id`: the group to join (`EGP_FLOW_KIND_JOIN_GROUP`); NULL otherwise.
/// * `options_json`: NULL or a JSON object, all keys optional: `attribute` (the latency
///   attribute's name, default `"beacons"`), `player_ip`, `poll_interval_ms` (1000),
///   `jitter_ms` (200), `max_consecutive_errors` (10), `initial_backoff_ms` (250),
///   `max_backoff_ms` (5000), `max_retry_after_ms` (10000), `timeout_ms` (none),
///   `delete_on_cancel` (true), `seed` (of the jitter; from the clock by default).
/// * `out_flow`: receives the handle (`EGP_FLOW_NONE` on failure); release it with
///   `egp_flow_free`.
///
/// # Safety
/// Every string must be NULL (only `group_id` and `options_json` may be) or NUL-terminated;
/// `out_flow` NULL or valid for one write. Nothing is kept after the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_flow_create(
    kind: u32,
    token: *const c_char,
    profile: *const c_char,
    attributes_json: *const c_char,
    group_id: *const c_char,
    options_json: *const c_char,
    out_flow: *mut EgpFlow,
) -> EgpResult {
    call(|| {
        // SAFETY: per the contract above, for every pointer below.
        unsafe { write_out(out_flow, EGP_FLOW_NONE, "out_flow") }?;
        let spec = FlowSpec {
            kind,
            // SAFETY: as above.
            token: unsafe { read_str(token, "token") }?,
            // SAFETY: as above.
            profile: unsafe { read_str(profile, "profile") }?,
            // SAFETY: as above.
            attributes_json: unsafe { read_str(attributes_json, "attributes_json") }?,
            // SAFETY: as above.
            group_id: unsafe { read_optional_str(group_id, "group_id") }?,
            // SAFETY: as above.
            options_json: unsafe { read_optional_str(options_json, "options_json") }?,
        };
        let id = FLOWS.insert(FlowSession::new(&spec)?);
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_flow, id, "out_flow") }
    })
}

/// What to do at `now_ms` (the caller's monotonic clock in milliseconds; the same origin for
/// every call of one flow). Never blocks, never sends anything itself.
///
/// # Safety
/// `out_step` must be NULL or valid for one write of `EgpFlowStep`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_flow_step(
    flow_id: EgpFlow,
    now_ms: u64,
    out_step: *mut EgpFlowStep,
) -> EgpResult {
    call(|| {
        if out_step.is_null() {
            return Err(FfiError::null("out_step"));
        }
        let step = flow(flow_id)?.step(now_ms);
        // SAFETY: checked non-NULL; valid for one write (contract).
        unsafe { write_out(out_step, step, "out_step") }
    })
}

/// Hands over the answer to the request the last `SEND` step named: its HTTP `status`, the
/// `Retry-After` header's value (NULL when absent; only seconds are read) and its body
/// (`body_len` bytes; NULL with 0 for none). Copied during the call.
///
/// `EGP_RESULT_NO_REQUEST_PENDING` when no request was out (answered twice, or never sent).
///
/// # Safety
/// `retry_after` must be NULL or NUL-terminated; `body` NULL (with `body_len` 0) or valid for
/// reads of `body_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_flow_respond(
    flow_id: EgpFlow,
    now_ms: u64,
    status: u32,
    retry_after: *const c_char,
    body: *const u8,
    body_len: usize,
) -> EgpResult {
    call(|| {
        // SAFETY: NULL or NUL-terminated (contract).
        let retry_after = unsafe { read_optional_str(retry_after, "retry_after") }?;
        let body: &[u8] = if body_len == 0 {
            &[]
        } else if body.is_null() {
            return Err(FfiError::null("body"));
        } else {
            // SAFETY: non-NULL and valid for `body_len` bytes for this call (contract).
            unsafe { std::slice::from_raw_parts(body, body_len) }
        };
        flow(flow_id)?.respond(now_ms, status, retry_after, body)
    })
}

/// Says the request the last `SEND` step named got no answer (could not connect, timed out,
/// reset). `reason` (NULL for none) goes into the error message, scrubbed of the token. It
/// counts as one error in a row, like a 5xx.
///
/// # Safety
/// `reason` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_flow_transport_error(
    flow_id: EgpFlow,
    now_ms: u64,
    reason: *const c_char,
) -> EgpResult {
    call(|| {
        // SAFETY: NULL or NUL-terminated (contract).
        let reason = unsafe { read_optional_str(reason, "reason") }?;
        flow(flow_id)?.transport_error(now_ms, reason.unwrap_or("no answer"))
    })
}

/// Stops waiting: the next steps send `DELETE` for the ticket (or leave the group) once it is
/// known, then finish with `EGP_RESULT_MATCHMAKING_CANCELLED` (or
/// `EGP_RESULT_ALREADY_MATCHED` when the matchmaker answered 409: a match was found).
/// Cancelling twice or a finished flow is fine.
#[unsafe(no_mangle)]
pub extern "C" fn egp_flow_cancel(flow_id: EgpFlow) -> EgpResult {
    call(|| {
        flow(flow_id)?.cancel();
        Ok(())
    })
}

/// Sets this member's readiness (`ready` 0 or 1): the next step sends the `PATCH` once the
/// membership exists. Group flows only (`EGP_RESULT_INVALID_CONFIG` for a ticket).
#[unsafe(no_mangle)]
pub extern "C" fn egp_flow_set_ready(flow_id: EgpFlow, ready: u32) -> EgpResult {
    call(|| flow(flow_id)?.set_ready(ready != 0))
}

/// Copies one of the flow's texts (an `EgpFlowText`) into `buf` with a NUL, with the buffer
/// rules of `egp_probe_result_json` (size query with NULL and 0, `EGP_RESULT_BUFFER_TOO_SMALL`).
/// The request texts exist between a `SEND` step and its answer (`EGP_RESULT_NOT_STARTED`
/// otherwise).
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` bytes; `out_needed` NULL or valid for one
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn egp_flow_text(
    flow_id: EgpFlow,
    which: u32,
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> EgpResult {
    call(|| {
        let which = EgpFlowText::from_u32(which).ok_or_else(|| {
            FfiError::new(
                EgpResult::InvalidConfig,
                format!("text {which} is not an EgpFlowText"),
            )
        })?;
        // SAFETY: `buf` is NULL (refused by write_str when `len > 0`) or valid for `len`
        // bytes; `out_needed` NULL or valid for one write (contract).
        flow(flow_id)?.with_text(which, |text| unsafe {
            write_str(text, buf, len, out_needed)
        })?
    })
}

/// Releases the flow. It sends nothing (cancel first and step until FINISHED to delete the
/// ticket). Freeing `EGP_FLOW_NONE` does nothing; freeing twice is `EGP_RESULT_INVALID_HANDLE`.
#[unsafe(no_mangle)]
pub extern "C" fn egp_flow_free(flow_id: EgpFlow) -> EgpResult {
    call(|| {
        if flow_id == EGP_FLOW_NONE {
            return Ok(());
        }
        FLOWS.remove(flow_id).map(drop).ok_or_else(|| {
            FfiError::new(
                EgpResult::InvalidHandle,
                format!(
                    "flow handle {flow_id} is not valid: it was never created or was already freed"
                ),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;
    use crate::flow::{EgpFlowAction, EgpFlowKind, EgpHttpMethod};

    const TOKEN: &str = "flow-secret-token-42";

    fn create(kind: EgpFlowKind, group: Option<&str>) -> Result<EgpFlow, EgpResult> {
        let (token, profile) = (
            CString::new(TOKEN).unwrap(),
            CString::new("casual").unwrap(),
        );
        let attributes = CString::new(r#"{"beacons": {"Chicago": 12.5}, "mode": "duo"}"#).unwrap();
        let options =
            CString::new(r#"{"poll_interval_ms": 100, "jitter_ms": 0, "seed": 1}"#).unwrap();
        let group = group.map(|g| CString::new(g).unwrap());
        let mut id = 99;
        // SAFETY: live C strings and a live out-pointer.
        let code = unsafe {
            egp_flow_create(
                kind as u32,
                token.as_ptr(),
                profile.as_ptr(),
                attributes.as_ptr(),
                group.as_ref().map_or(std::ptr::null(), |g| g.as_ptr()),
                options.as_ptr(),
                &raw mut id,
            )
        };
        if code == EgpResult::Ok {
            Ok(id)
        } else {
            assert_eq!(id, EGP_FLOW_NONE);
            Err(code)
        }
    }

    fn step(id: EgpFlow, now: u64) -> EgpFlowStep {
        let mut out = EgpFlowStep::default();
        // SAFETY: a live out-pointer.
        assert_eq!(
            unsafe { egp_flow_step(id, now, &raw mut out) },
            EgpResult::Ok
        );
        out
    }

    fn text(id: EgpFlow, which: EgpFlowText) -> String {
        let mut buf = vec![0_u8; 4096];
        // SAFETY: `buf` has 4096 bytes.
        let code = unsafe {
            egp_flow_text(
                id,
                which as u32,
                buf.as_mut_ptr().cast(),
                buf.len(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(code, EgpResult::Ok, "{which:?}");
        let end = buf.iter().position(|b| *b == 0).unwrap();
        String::from_utf8(buf[..end].to_vec()).unwrap()
    }

    fn respond(id: EgpFlow, now: u64, status: u32, body: &str) -> EgpResult {
        // SAFETY: `body` is live for its length.
        unsafe { egp_flow_respond(id, now, status, std::ptr::null(), body.as_ptr(), body.len()) }
    }

    #[test]
    fn a_ticket_flow_through_the_c_abi() {
        let id = create(EgpFlowKind::Ticket, None).unwrap();
        let s = step(id, 0);
        assert_eq!(
            (s.action, s.method),
            (EgpFlowAction::Send as u32, EgpHttpMethod::Post as u32)
        );
        assert_eq!(text(id, EgpFlowText::RequestPath), "tickets");
        assert_eq!(text(id, EgpFlowText::RequestMethod), "POST");
        assert!(
            text(id, EgpFlowText::RequestHeaders).starts_with(&format!("Authorization: {TOKEN}\n"))
        );
        let body: serde_json::Value =
            serde_json::from_str(&text(id, EgpFlowText::RequestBody)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"profile": "casual", "attributes": {"beacons": {"Chicago": 12.5}, "mode": "duo"}})
        );
        assert_eq!(
            respond(id, 5, 201, r#"{"id": "t-1", "status": "SEARCHING"}"#),
            EgpResult::Ok
        );
        assert_eq!(respond(id, 5, 201, "{}"), EgpResult::NoRequestPending);
        let s = step(id, 5);
        assert_eq!(
            (s.action, s.wakeup_ms, s.last_http_status),
            (EgpFlowAction::Wait as u32, 105, 201)
        );
        assert_eq!(text(id, EgpFlowText::TicketId), "t-1");
        assert_eq!(step(id, 105).method, EgpHttpMethod::Get as u32);
        assert_eq!(text(id, EgpFlowText::RequestPath), "tickets/t-1");
        let assigned = r#"{"id": "t-1", "status": "HOST_ASSIGNED", "assignment": {"fqdn": "s.example", "public_ip": "203.0.113.1", "ports": {}}}"#;
        assert_eq!(respond(id, 110, 200, assigned), EgpResult::Ok);
        let s = step(id, 110);
        assert_eq!(
            (s.action, s.status),
            (EgpFlowAction::Finished as u32, EgpResult::Ok as u32)
        );
        assert!(text(id, EgpFlowText::AssignmentJson).contains("\"fqdn\":\"s.example\""));
        assert_eq!(text(id, EgpFlowText::ErrorMessage), "");
        assert_eq!(egp_flow_free(id), EgpResult::Ok);
        assert_eq!(egp_flow_free(id), EgpResult::InvalidHandle);
    }

    #[test]
    fn errors_end_the_flow_with_a_message_free_of_the_token() {
        let id = create(EgpFlowKind::Ticket, None).unwrap();
        step(id, 0);
        let reason = CString::new(format!("refused {TOKEN}")).unwrap();
        // SAFETY: a live C string.
        assert_eq!(
            unsafe { egp_flow_transport_error(id, 1, reason.as_ptr()) },
            EgpResult::Ok
        );
        let s = step(id, 1);
        assert_eq!(s.status, EgpResult::MatchmakingFailed as u32);
        let message = text(id, EgpFlowText::ErrorMessage);
        assert!(
            message.contains("create ticket") && !message.contains(TOKEN),
            "{message}"
        );
        egp_flow_free(id);
    }

    #[test]
    fn cancel_deletes_and_409_is_already_matched() {
        let id = create(EgpFlowKind::Ticket, None).unwrap();
        step(id, 0);
        respond(id, 1, 201, r#"{"id": "t-2", "status": "SEARCHING"}"#);
        assert_eq!(egp_flow_cancel(id), EgpResult::Ok);
        assert_eq!(step(id, 2).method, EgpHttpMethod::Delete as u32);
        respond(id, 3, 409, r#"{"message": "matched"}"#);
        assert_eq!(step(id, 3).status, EgpResult::AlreadyMatched as u32);
        egp_flow_free(id);
    }

    #[test]
    fn a_group_member_sets_ready() {
        let id = create(EgpFlowKind::JoinGroup, Some("g-1")).unwrap();
        step(id, 0);
        assert_eq!(text(id, EgpFlowText::RequestPath), "groups/g-1/members");
        respond(id, 1, 201, r#"{"id": "m-1"}"#);
        assert_eq!(egp_flow_set_ready(id, 1), EgpResult::Ok);
        assert_eq!(step(id, 1).method, EgpHttpMethod::Patch as u32);
        assert_eq!(text(id, EgpFlowText::RequestBody), r#"{"is_ready":true}"#);
        assert_eq!(text(id, EgpFlowText::MemberId), "m-1");
        egp_flow_free(id);
    }

    #[test]
    fn bad_arguments_are_clear_errors() {
        assert_eq!(
            create(EgpFlowKind::JoinGroup, None),
            Err(EgpResult::NullArgument)
        );
        let ticket = create(EgpFlowKind::Ticket, None).unwrap();
        assert_eq!(egp_flow_set_ready(ticket, 1), EgpResult::InvalidConfig);
        let mut buf = [0_u8; 8];
        // SAFETY: `buf` has 8 bytes.
        let code =
            unsafe { egp_flow_text(ticket, 99, buf.as_mut_ptr().cast(), 8, std::ptr::null_mut()) };
        assert_eq!(code, EgpResult::InvalidConfig);
        // SAFETY: as above.
        let code = unsafe {
            egp_flow_text(
                ticket,
                EgpFlowText::RequestPath as u32,
                buf.as_mut_ptr().cast(),
                8,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(
            code,
            EgpResult::NotStarted,
            "no request before the first step"
        );
        assert_eq!(respond(ticket, 0, 700, ""), EgpResult::InvalidConfig);
        // SAFETY: NULL out-pointer is an allowed input.
        assert_eq!(
            unsafe { egp_flow_step(ticket, 0, std::ptr::null_mut()) },
            EgpResult::NullArgument
        );
        assert_eq!(egp_flow_cancel(123_456), EgpResult::InvalidHandle);
        egp_flow_free(ticket);
    }
}
