//! Blocked calls: the [`PendingCall`]s of a session, tried again as sockets become ready,
//! answered as pending once their caller's wait is over, completed or cancelled, and the
//! replies of finished ones kept for whoever polls them.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::sandbox::call::{CallFailure, CallReply, CallValue};

use super::*;
use crate::sandbox::event::{Event, EventKind, Status};
use crate::sandbox::host::HostId;
use crate::sandbox::{CallStatus, SessionError};

/// Blocked calls are tried again at least this often, should a readiness edge be missed.
pub(super) const PENDING_RECHECK: Duration = Duration::from_millis(200);
/// Replies of calls that went pending, kept for those who poll them.
pub(super) const COMPLETED_CALLS_KEPT: usize = 256;

/// A call that blocked.
#[derive(Debug)]
pub(super) struct PendingCall {
    pub(super) call_id: u64,
    pub(super) host: HostId,
    pub(super) fd: i32,
    pub(super) op: BlockingOp,
    /// The event that will record it, arguments filled in.
    pub(super) event: Event,
    /// The caller still waiting for an answer, until `reply_by`.
    pub(super) reply: Option<oneshot::Sender<Result<CallReply, SessionError>>>,
    pub(super) reply_by: Instant,
}

impl SessionTask {
    /// Try every blocked call again; log and answer those that finished.
    pub(super) fn retry_pending(&mut self) {
        // What went over the wire comes first: the packets that let a call finish are
        // logged before its result.
        self.trace(None);
        let mut i = 0;
        while i < self.pending.len() {
            let hidx = self.host_index(self.pending[i].host);
            let fd = self.pending[i].fd;
            let mut op = std::mem::replace(&mut self.pending[i].op, BlockingOp::Accept);
            let mut event = std::mem::replace(
                &mut self.pending[i].event,
                Event::new(EventKind::Accept, Status::Pending),
            );
            let outcome = match hidx {
                Some(hidx) => self.attempt(hidx, fd, &mut op, &mut event),
                None => Some(Err(CallFailure::code(libc::EBADF))),
            };
            match outcome {
                None => {
                    self.pending[i].op = op;
                    self.pending[i].event = event;
                    i += 1;
                }
                Some(result) => {
                    // Packets that went out while the call finished come before its result,
                    // matched to it while it is still among the blocked calls.
                    self.pending[i].op = op;
                    self.pending[i].event = event;
                    self.trace(None);
                    if matches!(self.pending[i].op, BlockingOp::Connect { .. }) && result.is_ok() {
                        let call_id = self.pending[i].call_id;
                        self.await_handshake_ack(call_id);
                    }
                    let mut p = self.pending.remove(i);
                    let event =
                        std::mem::replace(&mut p.event, Event::new(EventKind::Accept, Status::Ok));
                    self.complete_pending(p, event, result);
                }
            }
        }
    }

    /// Log and answer a blocked call that ended.
    pub(super) fn complete_pending(
        &mut self,
        p: PendingCall,
        event: Event,
        result: Result<CallValue, CallFailure>,
    ) {
        let (seq, outcome) = self.log_call(event, result, None);
        let reply = CallReply {
            call_id: p.call_id,
            host: p.host,
            seq,
            outcome,
        };
        match p.reply {
            Some(tx) => {
                tx.send(Ok(reply)).ok(/* the caller gave up; the event is logged */);
            }
            None => {
                if self.completed.len() == COMPLETED_CALLS_KEPT {
                    self.completed.pop_front();
                }
                self.completed.push_back(reply);
            }
        }
    }

    /// End the blocked calls on a descriptor that was closed.
    pub(super) fn cancel_pending_on(&mut self, host: HostId, fd: i32) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].host == host && self.pending[i].fd == fd {
                let mut p = self.pending.remove(i);
                let event =
                    std::mem::replace(&mut p.event, Event::new(EventKind::Close, Status::Ok));
                let failure = CallFailure {
                    hint: Some("The descriptor was closed while this call was blocked on it, so the call ended.".to_owned()),
                    ..CallFailure::code(libc::EBADF)
                };
                self.complete_pending(p, event, Err(failure));
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn call_status(&self, call_id: u64) -> Result<CallStatus, SessionError> {
        if let Some(p) = self.pending.iter().find(|p| p.call_id == call_id) {
            return Ok(CallStatus::Pending {
                host: p.host,
                kind: p.event.kind,
                fd: Some(p.fd),
            });
        }
        self.completed
            .iter()
            .find(|r| r.call_id == call_id)
            .map(|r| CallStatus::Done(r.clone()))
            .ok_or(SessionError::NoSuchCall(call_id))
    }
}
