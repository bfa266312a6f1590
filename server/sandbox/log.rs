//! A session's log in memory: its newest events (all of them without a store), the live
//! broadcast to subscribers, and what is known of its hosts. Every handle keeps it, so it
//! stays readable after the session ends; the session task is its only writer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::{Event, HostInfo, Seq, SessionInfo, StoreProgress, now_ms};

/// A session's log: its newest events (all of them without a store), the live broadcast,
/// how far the store has committed it, and what is known of its hosts. Kept by every handle,
/// so it stays readable after the session ends.
#[derive(Debug)]
pub(crate) struct SessionLog {
    /// The session's facts.
    pub(crate) info: Arc<SessionInfo>,
    /// Events and hosts; locked briefly to append or read.
    pub(crate) state: Mutex<LogState>,
    /// New events for subscribers; a slow one lags, nobody waits for it.
    pub(crate) live: broadcast::Sender<Arc<Event>>,
    /// How far the store has committed the log; none without a store.
    pub(crate) progress: Option<StoreProgress>,
    /// Whether calls are answered only once stored.
    pub(super) ack_when_stored: bool,
    /// Events kept in memory at most (older ones are in the store).
    pub(super) tail: usize,
}

impl SessionLog {
    /// Hosts and their addresses.
    pub(crate) fn hosts(&self) -> Vec<HostInfo> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .hosts
            .clone()
    }

    /// Some of the log will never reach the store: whoever waits for it hears so.
    pub(crate) fn give_up_storing(&self) {
        if let Some(progress) = &self.progress {
            progress.give_up();
        }
    }

    /// Number the event, append it and publish it to subscribers.
    pub(crate) fn append(&self, mut event: Event) -> Arc<Event> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.last_seq += 1;
        event.seq = state.last_seq;
        event.time_ms = now_ms();
        let event = Arc::new(event);
        if state.events.len() >= self.tail {
            // Readers of older events go to the store, after waiting for it to have them.
            state.events.pop_front();
        }
        state.events.push_back(event.clone());
        // Sent under the lock so that subscribers see events in seq order.
        self.live.send(event.clone()).ok(/* no subscriber now */);
        event
    }
}

#[derive(Debug)]
pub(crate) struct LogState {
    /// The newest events, in seq order, ending with `last_seq`.
    pub(crate) events: VecDeque<Arc<Event>>,
    /// Seq of the newest event (0 before the first).
    pub(crate) last_seq: Seq,
    /// Why the session ended, once it has.
    pub(crate) ended: Option<crate::i18n::Message>,
    /// Hosts and their addresses.
    pub(crate) hosts: Vec<HostInfo>,
}

/// Seq of the oldest event memory holds (the next one's while it holds none).
pub(super) fn first_in_memory(state: &LogState) -> Seq {
    state.last_seq + 1 - state.events.len() as Seq
}

/// Events after a given seq, and a live feed of what follows.
#[derive(Debug)]
pub struct Subscription {
    /// Seq the backlog starts at; events before it and after the asked seq are in the store.
    pub first: Seq,
    /// Events already in the log after the asked seq, in order.
    pub backlog: Vec<Arc<Event>>,
    /// Events logged after the backlog was read; may repeat the backlog's last ones, which
    /// the reader skips by seq.
    pub live: broadcast::Receiver<Arc<Event>>,
}
