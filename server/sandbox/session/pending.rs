//! Blocked calls: the [`PendingCall`]s of a session, tried again as sockets become ready,
//! answered as pending once their caller's wait is over, completed or cancelled, and the
//! replies of finished ones kept for whoever polls them.

use crate::i18n::Message;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::SessionTask;
use super::blocking::BlockingOp;
use super::exec::{Facts, call_event};

use crate::sandbox::call::{Call, CallFailure, CallOutcome, CallReply, CallValue};
use crate::sandbox::event::Event;
use crate::sandbox::host::HostId;
use crate::sandbox::observer::CallResultLabel;
use crate::sandbox::{CallStatus, SessionError};

/// Blocked calls are tried again at least this often, should a readiness edge be missed.
pub(super) const PENDING_RECHECK: Duration = Duration::from_millis(200);
/// Replies of calls that went pending, kept for those who poll them.
pub(super) const COMPLETED_CALLS_KEPT: usize = 256;

/// A call that blocked.
#[derive(Debug)]
pub(super) struct PendingCall {
    /// Its id in the session.
    pub(super) call_id: u64,
    /// Its host.
    pub(super) host: HostId,
    /// The descriptor it blocks on.
    pub(super) fd: i32,
    /// What it is still trying to do.
    pub(super) op: BlockingOp,
    /// The call as it was made: its event's arguments.
    pub(super) call: Call,
    /// What the sandbox learned making it (a mapped destination), for its event.
    pub(super) facts: Facts,
    /// The caller still waiting for an answer, until `reply_by`.
    pub(super) reply: Option<oneshot::Sender<Result<CallReply, SessionError>>>,
    /// When the caller's wait is over and it is answered as pending.
    pub(super) reply_by: Instant,
}

impl PendingCall {
    /// The call's event with `result`, or as still pending without one.
    pub(super) fn event(&self, result: Option<&Result<CallValue, CallFailure>>) -> Event {
        call_event(self.host, self.call_id, &self.call, &self.facts, result)
    }
}

impl SessionTask {
    /// Try every blocked call again; log and answer those that finished.
    pub(super) fn retry_pending(&mut self) {
        // What went over the wire comes first: the packets that let a call finish are
        // logged before its result.
        self.trace(None);
        let mut i = 0;
        while i < self.pending.len() {
            // Out of the list while it is tried: the try needs the rest of the task.
            let mut p = self.pending.remove(i);
            let outcome = match self.host_index(p.host) {
                Some(hidx) => self.attempt(hidx, p.fd, &mut p.op),
                None => Some(Err(CallFailure::code(libc::EBADF))),
            };
            self.pending.insert(i, p);
            let Some(result) = outcome else {
                i += 1;
                continue;
            };
            // Packets that went out while the call finished come before its result, matched
            // to it while it is still among the blocked calls.
            self.trace(None);
            if matches!(self.pending[i].op, BlockingOp::Connect { .. }) && result.is_ok() {
                let call_id = self.pending[i].call_id;
                self.await_handshake_ack(call_id);
            }
            let p = self.pending.remove(i);
            self.complete_pending(p, result);
        }
    }

    /// Answer as pending the callers whose wait is over at `now`: their calls stay blocked.
    pub(super) fn answer_overdue(&mut self, now: Instant) {
        for i in 0..self.pending.len() {
            let p = &self.pending[i];
            if p.reply.is_none() || now < p.reply_by {
                continue;
            }
            let mut event = p.event(None);
            event.tuple = self.tuple_of(p.host, p.fd);
            event.note = Some(Message::new(
                "the call blocks; its completion will be logged with the same call_id",
                "调用阻塞了；它完成时会以同一个 call_id 记入日志",
            ));
            event.packet_seq = self.syn_of(p.call_id);
            let kind = event.kind;
            let seq = self.log_event(event);
            self.sandbox
                .observer
                .call_counted(kind, CallResultLabel::Pending);
            let p = &mut self.pending[i];
            if let Some(reply) = p.reply.take() {
                reply
                    .send(Ok(CallReply {
                        call_id: p.call_id,
                        host: p.host,
                        seq,
                        outcome: CallOutcome::Pending,
                    }))
                    .ok(/* the caller gave up; the call stays pending all the same */);
            }
        }
    }

    /// Log and answer a blocked call that ended.
    pub(super) fn complete_pending(
        &mut self,
        p: PendingCall,
        result: Result<CallValue, CallFailure>,
    ) {
        let event = p.event(Some(&result));
        let (seq, outcome) = self.log_call(event, result);
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
                let p = self.pending.remove(i);
                let failure = CallFailure {
                    hint: Some(crate::i18n::Message::new(
                        "The descriptor was closed while this call was blocked on it, so the call ended.",
                        "这个调用阻塞在该描述符上时，描述符被关闭了，于是调用结束。",
                    )),
                    // The session ends it: a kernel leaves a call blocked on a descriptor
                    // another thread closes.
                    sandbox: true,
                    ..CallFailure::code(libc::EBADF)
                };
                self.complete_pending(p, Err(failure));
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn call_status(&self, call_id: u64) -> Result<CallStatus, SessionError> {
        if let Some(p) = self.pending.iter().find(|p| p.call_id == call_id) {
            return Ok(CallStatus::Pending {
                host: p.host,
                kind: p.call.kind(),
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
