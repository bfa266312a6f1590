//! Reading a session's event log, live or ended. A live session keeps only its newest events
//! in memory; everything older is in the store once committed. These functions join the two
//! without gap or repeat, so every reader (the events page, the WebSocket hand-over, call
//! status, grading, the capture export) sees one log.

use std::sync::Arc;

use super::AppState;
use super::access::Found;
use super::error::ApiError;
use crate::i18n::Lang;
use crate::sandbox::{Event, Seq, SessionError, SessionHandle};

/// Events read from the store per query when a reader wants them all.
const PAGE: u32 = 1_000;

fn store_failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("reading the event log: {e}"))
}

/// Where a page of a live session's log comes from.
enum Source {
    Memory(Vec<Arc<Event>>),
    /// The store holds events after `after` up to this seq (and no further than the page).
    Store(Seq),
}

/// Look for the page in memory; if its start left memory, wait for the store to hold what
/// left and say how far to read there.
async fn locate(handle: &SessionHandle, after: Seq, limit: u32) -> Result<Source, ApiError> {
    match handle.events_after(after, limit as usize) {
        Ok(events) => Ok(Source::Memory(events)),
        Err(first) => {
            handle
                .wait_stored(first - 1)
                .await
                .map_err(SessionError::from)?;
            Ok(Source::Store(first - 1))
        }
    }
}

/// How many of the events after `after` up to `through` a page of `limit` takes.
fn rows(after: Seq, through: Seq, limit: u32) -> u32 {
    u32::try_from(through.saturating_sub(after))
        .unwrap_or(u32::MAX)
        .min(limit)
}

/// Up to `limit` events with seq above `after`, in seq order.
pub async fn page(
    state: &AppState,
    found: &Found,
    after: Seq,
    limit: u32,
) -> Result<Vec<Arc<Event>>, ApiError> {
    let (id, limit) = match found {
        Found::Live(handle) => match locate(handle, after, limit).await? {
            Source::Memory(events) => return Ok(events),
            Source::Store(through) => (handle.id(), rows(after, through, limit)),
        },
        Found::Stored(stored) => (stored.id, limit),
    };
    let events = state
        .store()
        .events(id, after, limit)
        .await
        .map_err(store_failed)?;
    Ok(events.into_iter().map(Arc::new).collect())
}

/// As [`page`], each event as its JSON text (the store's rows are not parsed again).
pub async fn page_json(
    state: &AppState,
    found: &Found,
    after: Seq,
    limit: u32,
) -> Result<Vec<String>, ApiError> {
    let (id, limit) = match found {
        Found::Live(handle) => match locate(handle, after, limit).await? {
            Source::Memory(events) => {
                return events
                    .iter()
                    .map(|e| serde_json::to_string(&**e).map_err(store_failed))
                    .collect();
            }
            Source::Store(through) => (handle.id(), rows(after, through, limit)),
        },
        Found::Stored(stored) => (stored.id, limit),
    };
    let bodies = state
        .store()
        .events_after(id, after, limit)
        .await
        .map_err(store_failed)?;
    // The store keeps events as the writer wrote them: fixed texts in English, messages in
    // every language they have (i18n::for_storage). A body is served as stored only when it
    // reads so in the language asked; any other is read and written again in it (or, should
    // an old row no longer read as an event, served as stored rather than failing the page).
    let english = Lang::current() == Lang::En;
    Ok(bodies
        .into_iter()
        .map(|body| {
            if english && crate::i18n::stored_in_english_only(&body) {
                return body;
            }
            serde_json::from_str::<Event>(&body)
                .and_then(|event| serde_json::to_string(&event))
                .unwrap_or(body)
        })
        .collect())
}

/// Every event of the log, in seq order (a live session's up to its newest shown).
pub async fn all(state: &AppState, found: &Found) -> Result<Vec<Arc<Event>>, ApiError> {
    let mut events: Vec<Arc<Event>> = Vec::new();
    loop {
        let after = events.last().map_or(0, |e| e.seq);
        let next = page(state, found, after, PAGE).await?;
        if next.is_empty() {
            return Ok(events);
        }
        events.extend(next);
    }
}

/// The newest event for which `wanted` holds: memory first, then the whole log a page at a
/// time (keeping only the match, not the log).
pub async fn newest(
    state: &AppState,
    found: &Found,
    wanted: impl Fn(&Event) -> bool,
) -> Result<Option<Arc<Event>>, ApiError> {
    if let Found::Live(handle) = found {
        let recent = match handle.events_after(0, usize::MAX) {
            Ok(events) => return Ok(events.into_iter().rev().find(|e| wanted(e))),
            Err(first) => handle
                .events_after(first - 1, usize::MAX)
                .unwrap_or_default(),
        };
        if let Some(e) = recent.into_iter().rev().find(|e| wanted(e)) {
            return Ok(Some(e));
        }
    }
    let mut newest = None;
    let mut after = 0;
    loop {
        let events = page(state, found, after, PAGE).await?;
        let Some(last) = events.last() else {
            return Ok(newest);
        };
        after = last.seq;
        if let Some(e) = events.into_iter().rev().find(|e| wanted(e)) {
            newest = Some(e);
        }
    }
}
