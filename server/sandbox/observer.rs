//! Hooks the sandbox calls as its sessions live: a session starts or ends, sockets open or
//! close, a call is counted with its result, an event is logged. An outer layer (the server's
//! metrics) implements [`SandboxObserver`] to count them; the sandbox never knows who listens.
//! Hooks run on the session's task, in the middle of its work: they must be cheap and must
//! not block.

use super::event::EventKind;

/// How a counted call turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResultLabel {
    /// It succeeded.
    Ok = 0,
    /// It failed.
    Error = 1,
    /// It blocked past its caller's wait.
    Pending = 2,
}

impl CallResultLabel {
    /// Every label, in the order of their discriminants.
    pub const ALL: [CallResultLabel; 3] = [
        CallResultLabel::Ok,
        CallResultLabel::Error,
        CallResultLabel::Pending,
    ];

    /// The label's name, as figures show it.
    pub fn name(self) -> &'static str {
        match self {
            CallResultLabel::Ok => "ok",
            CallResultLabel::Error => "error",
            CallResultLabel::Pending => "pending",
        }
    }
}

/// What the sandbox tells whoever watches it. Every hook does nothing by default.
pub trait SandboxObserver: Send + Sync + 'static {
    /// The sandbox takes at most `sessions` live sessions at once (told once, when it is made).
    fn session_capacity(&self, sessions: usize) {
        let _ = sessions;
    }
    /// A session started.
    fn session_started(&self) {}
    /// A session's task stopped, however it stopped.
    fn session_ended(&self) {}
    /// `count` kernel sockets were opened in a session.
    fn sockets_opened(&self, count: usize) {
        let _ = count;
    }
    /// `count` kernel sockets of a session were closed.
    fn sockets_closed(&self, count: usize) {
        let _ = count;
    }
    /// A call of `kind` was answered as `result`.
    fn call_counted(&self, kind: EventKind, result: CallResultLabel) {
        let _ = (kind, result);
    }
    /// A session logged an event.
    fn event_logged(&self) {}
}

/// An observer that hears nothing, for a sandbox nobody counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl SandboxObserver for NoObserver {}
