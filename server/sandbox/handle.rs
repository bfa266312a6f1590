//! [`SessionHandle`]: the way to reach a session. It sends commands to the session's task
//! and reads the session's log directly; with a store that acknowledges only what it
//! committed, it answers once the events it reports are stored.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::log::{SessionLog, Subscription, first_in_memory};
use super::session::Command;
use super::{
    Call, CallReply, Event, EventKind, HostId, HostInfo, Limit, NotStored, Seq, SessionError,
    SessionId, SessionInfo, Snapshot,
};

/// A way to reach a live session. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    /// The session's log, readable even after it ends.
    pub(super) log: Arc<SessionLog>,
    /// The session task's command channel.
    pub(super) commands: mpsc::Sender<Command>,
}

/// The status of one call, for whoever polls it.
// Large for the reason `CallOutcome` is (an inline Unix-domain name); one per call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStatus {
    /// Still blocked.
    Pending {
        host: HostId,
        kind: EventKind,
        fd: Option<i32>,
    },
    /// Done; the reply it would have had.
    Done(CallReply),
}

impl SessionHandle {
    /// The session's facts.
    pub fn info(&self) -> &Arc<SessionInfo> {
        &self.log.info
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.log.info.id
    }

    /// Hosts and their addresses.
    pub fn hosts(&self) -> Vec<HostInfo> {
        self.log.hosts()
    }

    /// Why the session ended, if it has.
    pub fn ended(&self) -> Option<crate::i18n::Message> {
        self.log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ended
            .clone()
    }

    /// Live subscribers now.
    pub fn subscribers(&self) -> usize {
        self.log.live.receiver_count()
    }

    /// Seq of the newest event.
    pub fn last_seq(&self) -> Seq {
        self.log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_seq
    }

    /// Seq of the newest event readers are shown: with a store that acknowledges only what
    /// it committed, the newest committed one; else the newest logged.
    pub fn shown_seq(&self) -> Seq {
        match &self.log.progress {
            Some(progress) if self.log.ack_when_stored => progress.stored(),
            _ => self.last_seq(),
        }
    }

    /// Wait until every event up to `seq` is in the store (at once without a store).
    pub async fn wait_stored(&self, seq: Seq) -> Result<(), NotStored> {
        match &self.log.progress {
            Some(progress) => progress.wait(seq).await,
            None => Ok(()),
        }
    }

    /// Wait until an event up to `seq` may be shown (see [`Self::shown_seq`]).
    pub async fn wait_shown(&self, seq: Seq) -> Result<(), NotStored> {
        if self.log.ack_when_stored {
            self.wait_stored(seq).await
        } else {
            Ok(())
        }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SessionError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| SessionError::Ended)?;
        rx.await.map_err(|_| SessionError::Ended)
    }

    /// Make a call on `host`. A blocking call waits up to `wait` (the session's default when
    /// none, capped by its limit), then answers [`CallOutcome::Pending`](super::CallOutcome::Pending).
    pub async fn call(
        &self,
        host: HostId,
        call: Call,
        wait: Option<Duration>,
    ) -> Result<CallReply, SessionError> {
        let limits = &self.log.info.limits;
        let wait = match wait {
            None => Duration::from_millis(limits.wait_ms),
            Some(w) if w.as_millis() > u128::from(limits.max_wait_ms) => {
                return Err(SessionError::Limit {
                    limit: Limit::Wait,
                    max: limits.max_wait_ms,
                });
            }
            Some(w) => w,
        };
        let reply = self
            .ask(|reply| Command::Call {
                host,
                call,
                wait,
                reply,
            })
            .await??;
        // Group commit: the store's next transaction carries this event with every other
        // one logged meanwhile; the answer leaves once it is durable.
        self.wait_shown(reply.seq).await?;
        Ok(reply)
    }

    /// The status of call `call_id`.
    pub async fn call_status(&self, call_id: u64) -> Result<CallStatus, SessionError> {
        let status = self
            .ask(|reply| Command::CallStatus { call_id, reply })
            .await??;
        if let CallStatus::Done(reply) = &status {
            self.wait_shown(reply.seq).await?;
        }
        Ok(status)
    }

    /// A snapshot of every host and socket with live kernel figures.
    pub async fn snapshot(&self) -> Result<Snapshot, SessionError> {
        self.ask(|reply| Command::Snapshot { reply }).await
    }

    /// Add a host (the next letter).
    pub async fn add_host(&self) -> Result<HostInfo, SessionError> {
        self.ask(|reply| Command::AddHost { reply }).await?
    }

    /// End the session: close every socket and cancel every pending call.
    pub async fn end(&self, reason: impl Into<crate::i18n::Message>) -> Result<(), SessionError> {
        let reason = reason.into();
        self.ask(|reply| Command::End { reason, reply }).await?;
        // The end is acknowledged like a call: once the whole log is stored.
        self.wait_shown(self.last_seq()).await?;
        Ok(())
    }

    /// Up to `limit` shown events (see [`Self::shown_seq`]) with seq greater than `after`,
    /// from memory; or `Err(first)` when the first of them has left memory: the events before
    /// seq `first` are in the store ([`Self::wait_stored`] for `first - 1`, then read them).
    pub fn events_after(&self, after: Seq, limit: usize) -> Result<Vec<Arc<Event>>, Seq> {
        let shown = self.shown_seq();
        let state = self.log.state.lock().unwrap_or_else(|e| e.into_inner());
        let first = first_in_memory(&state);
        if after.saturating_add(1) < first {
            return Err(first);
        }
        let start = usize::try_from(after.saturating_add(1) - first).unwrap_or(usize::MAX);
        Ok(state
            .events
            .iter()
            .skip(start)
            .take_while(|e| e.seq <= shown)
            .take(limit)
            .cloned()
            .collect())
    }

    /// Subscribe to events after `after`: those in memory now, then live ones. Events between
    /// `after` and the backlog's first (`Subscription::first`) left memory: they are in the
    /// store once [`Self::wait_stored`] says so.
    pub fn subscribe(&self, after: Seq) -> Subscription {
        // Subscribing under the log's lock means no event can fall between backlog and live.
        let state = self.log.state.lock().unwrap_or_else(|e| e.into_inner());
        let live = self.log.live.subscribe();
        let first = first_in_memory(&state);
        let start = usize::try_from(after.saturating_sub(first - 1)).unwrap_or(usize::MAX);
        Subscription {
            first: first.max(after.saturating_add(1)),
            backlog: state.events.iter().skip(start).cloned().collect(),
            live,
        }
    }
}
