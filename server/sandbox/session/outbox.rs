//! The session's outbox: every event goes through here into the log (numbered, published to
//! subscribers) and on to the store's record channel; records the channel has no room for
//! wait in order and are flushed later, never blocking the loop. A call's event gets its
//! outcome here and is counted.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::SessionTask;

use crate::sandbox::Record;
use crate::sandbox::call::{CallFailure, CallOutcome, CallValue};
use crate::sandbox::event::{Event, EventKind, Seq};
use crate::sandbox::host::HostId;
use crate::sandbox::observer::CallResultLabel;

/// Kernel events a session may log beyond its event limit before it is ended: calls stop at
/// the limit, but the kernel does not.
pub(super) const KERNEL_EVENT_SLACK: usize = 1000;
/// When the record channel is full, try again after this long.
pub(super) const RECORD_RETRY: Duration = Duration::from_millis(50);
/// How long an ending session waits for room in the record channel.
pub(super) const RECORD_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

impl SessionTask {
    /// Log a call's event (see [`call_event`](super::exec::call_event)) with the tuple its
    /// socket has now and, for a failure, the packet behind it; count the call.
    pub(super) fn log_call(
        &mut self,
        mut event: Event,
        result: Result<CallValue, CallFailure>,
    ) -> (Seq, CallOutcome) {
        if event.tuple.is_none() || event.kind != EventKind::Close {
            let fresh = match (event.host, event.fd) {
                (Some(h), Some(fd)) => self.tuple_of(h, fd),
                _ => None,
            };
            event.tuple = fresh.or(event.tuple);
        }
        let (label, outcome) = match result {
            Ok(value) => (CallResultLabel::Ok, CallOutcome::Ok(value)),
            Err(failure) => {
                event.packet_seq = self.packet_behind(&event);
                (CallResultLabel::Error, CallOutcome::Err(failure))
            }
        };
        self.sandbox.observer.call_counted(event.kind, label);
        if let Some(call_id) = event.call_id {
            self.forget_call_packets(call_id);
        }
        let seq = self.log_event(event);
        (seq, outcome)
    }

    pub(super) fn log_isolation(
        &mut self,
        host: HostId,
        fd: i32,
        peer: Option<crate::sandbox::net::Addr>,
        note: crate::i18n::Message,
    ) {
        let tuple = self.tuple_of(host, fd);
        let mut event = Event::observed(EventKind::Isolation, host, fd, tuple);
        event.peer = peer;
        event.sandbox = true;
        event.note = Some(note);
        self.log_event(event);
    }

    pub(super) fn log_len(&self) -> usize {
        self.log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_seq as usize
    }

    /// Append an event to the log, publish it and hand it to the store.
    pub(super) fn log_event(&mut self, event: Event) -> Seq {
        self.log_shared(event).seq
    }

    /// As [`Self::log_event`], handing back the logged event.
    pub(super) fn log_shared(&mut self, event: Event) -> Arc<Event> {
        let limits = &self.log.info.limits;
        let limit = limits.max_events + limits.max_packets + KERNEL_EVENT_SLACK;
        let event = self.log.append(event);
        if event.seq as usize >= limit {
            self.must_end = Some(crate::i18n::Message::new(
                "the session's event log is full",
                "会话的事件日志满了",
            ));
        }
        self.sandbox.observer.event_logged();
        self.record(Record::Event(self.log.info.id, event.clone()));
        event
    }

    /// Hand a record to the store without waiting; keep it if the channel is full.
    pub(super) fn record(&mut self, record: Record) {
        let Some(records) = &self.sandbox.records else {
            return;
        };
        if !self.unsent.is_empty() {
            self.unsent.push_back(record);
            return;
        }
        match records.try_send(record) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(record)) => self.unsent.push_back(record),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.log.give_up_storing();
                tracing::warn!(session = %self.log.info.id, "record channel closed; event not stored");
            }
        }
    }

    pub(super) fn flush_unsent(&mut self) {
        let Some(records) = &self.sandbox.records else {
            self.unsent.clear();
            return;
        };
        while let Some(record) = self.unsent.pop_front() {
            match records.try_send(record) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(record)) => {
                    self.unsent.push_front(record);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.unsent.clear();
                    break;
                }
            }
        }
    }
}
