//! What a session hands to the store ([`Record`]) and the one way the store answers: the
//! session's [`StoreProgress`], which says how far its log is committed, whether some of it
//! is lost, and when the store is done with it. The store reports to it; it never calls into
//! the sandbox.

use std::sync::Arc;

use tokio::sync::watch;

use super::{Event, Seq, SessionId, SessionInfo};

/// What sessions hand to the store, in order per session.
#[derive(Debug, Clone)]
pub enum Record {
    /// A session began; the store reports how far it has committed the session's log to
    /// the [`StoreProgress`].
    SessionStarted(Arc<SessionInfo>, StoreProgress),
    /// A session logged an event (host additions included).
    Event(SessionId, Arc<Event>),
    /// A session ended.
    SessionEnded {
        id: SessionId,
        at_ms: u64,
        reason: crate::i18n::Message,
    },
}

/// How far the store has committed one session's log: every event up to this seq is in the
/// database. The store's writer advances it after each commit; with a store, a call is
/// answered and an event shown only once it is stored, so a seq a client was given survives
/// a crash. When records are given up (the database failed them, or they never reached the
/// writer), it says so, and whoever waits for them hears it instead of waiting for ever.
#[derive(Debug, Clone)]
pub struct StoreProgress(Arc<watch::Sender<Stored>>);

/// What [`StoreProgress`] holds.
#[derive(Debug, Clone, Copy, Default)]
struct Stored {
    /// Every event up to this seq is committed.
    through: Seq,
    /// Some record after `through` will never be stored.
    lost: bool,
    /// The store is done with the session: its end is written (or given up on), so its log
    /// may be read from the store.
    finished: bool,
}

/// Events a session logged that will never be stored: the database failed them, or they
/// never reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session's events after seq {stored} could not be stored")]
pub struct NotStored {
    /// The newest seq that is stored.
    pub stored: Seq,
}

impl StoreProgress {
    /// Nothing stored yet.
    #[allow(clippy::new_without_default)]
    pub fn new() -> StoreProgress {
        StoreProgress(Arc::new(watch::Sender::new(Stored::default())))
    }

    /// Every event up to `seq` is committed (a smaller seq than already known changes
    /// nothing).
    pub fn stored_through(&self, seq: Seq) {
        self.0.send_if_modified(|stored| {
            let newer = seq > stored.through;
            if newer {
                stored.through = seq;
            }
            newer
        });
    }

    /// A record of the session will never be stored: waits past what is stored now fail.
    pub fn give_up(&self) {
        self.0
            .send_if_modified(|stored| !std::mem::replace(&mut stored.lost, true));
    }

    /// The store is done with the session, its end included: from now on its log is read
    /// from the store, and the sandbox stops keeping the ended session in memory.
    pub fn finish(&self) {
        self.0
            .send_if_modified(|stored| !std::mem::replace(&mut stored.finished, true));
    }

    /// Whether the store is done with the session (see [`Self::finish`]).
    pub fn finished(&self) -> bool {
        self.0.borrow().finished
    }

    /// Wait until the store is done with the session (see [`Self::finish`]).
    pub(super) async fn wait_finished(&self) {
        let mut stored = self.0.subscribe();
        // The sender lives as long as `self`: it cannot close while waited on.
        stored.wait_for(|s| s.finished).await.map(drop).ok();
    }

    /// Seq of the newest event committed.
    pub fn stored(&self) -> Seq {
        self.0.borrow().through
    }

    /// Wait until every event up to `seq` is committed, or some will never be.
    pub(super) async fn wait(&self, seq: Seq) -> Result<(), NotStored> {
        let mut stored = self.0.subscribe();
        // The sender lives as long as `self`: it cannot close while waited on.
        let now = match stored.wait_for(|s| s.through >= seq || s.lost).await {
            Ok(now) => *now,
            Err(_) => *self.0.borrow(),
        };
        if now.through >= seq {
            Ok(())
        } else {
            Err(NotStored {
                stored: now.through,
            })
        }
    }
}
