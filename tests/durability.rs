//! What an acknowledgement waits for when the store cannot take a session's log: an error
//! that says so, never a wait without end.

mod common;

use std::sync::Arc;

use common::{private_pool, timeout};
use plugboard::metrics::Metrics;
use plugboard::sandbox::isolation::loopback::Loopback;
use plugboard::sandbox::{NewSession, Record, Sandbox, SandboxConfig, SessionError};
use tokio::sync::mpsc;

fn sandbox_storing_into(records: mpsc::Sender<Record>) -> Sandbox {
    Sandbox::new(
        SandboxConfig {
            ack_when_stored: true,
            log_tail: 1_000,
            ..Default::default()
        },
        Arc::new(Loopback::new(private_pool().parse().unwrap())),
        Some(records),
        Arc::new(Metrics::default()),
    )
}

#[tokio::test]
async fn a_session_whose_records_cannot_reach_the_store_is_refused_not_hung() {
    // The store's writer is gone (as when it stopped): nothing can be stored.
    let (records, gone) = mpsc::channel(16);
    drop(gone);
    let sandbox = sandbox_storing_into(records);
    let created = timeout(sandbox.create_session(NewSession::default())).await;
    assert!(
        matches!(created, Err(SessionError::NotStored(_))),
        "{created:?}"
    );
}

#[tokio::test]
async fn a_session_is_acknowledged_once_its_start_is_stored() {
    let (records, mut writer) = mpsc::channel(16);
    let sandbox = sandbox_storing_into(records);
    let creating = tokio::spawn(async move { sandbox.create_session(NewSession::default()).await });
    // A writer that has taken the start but not committed it: the creation waits.
    let Some(Record::SessionStarted(_, progress)) = timeout(writer.recv()).await else {
        panic!("the session's start comes first");
    };
    let Some(Record::Event(_, started)) = timeout(writer.recv()).await else {
        panic!("then its first event");
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!creating.is_finished(), "acknowledged before it was stored");
    progress.stored_through(started.seq);
    let handle = timeout(creating)
        .await
        .unwrap()
        .expect("created once stored");
    // A record the store gives up on fails the wait for it instead of holding it for ever.
    progress.give_up();
    let ended = timeout(handle.end("test")).await;
    assert!(
        matches!(ended, Err(SessionError::NotStored(_))),
        "{ended:?}"
    );
}

#[tokio::test]
async fn an_ended_session_leaves_memory_once_the_store_has_it() {
    // A writer that commits every record at once and finishes a session with its end.
    let (records, mut writer) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut sessions = std::collections::HashMap::new();
        while let Some(record) = writer.recv().await {
            match record {
                Record::SessionStarted(info, progress) => {
                    sessions.insert(info.id, progress);
                }
                Record::Event(id, event) => sessions[&id].stored_through(event.seq),
                Record::SessionEnded { id, .. } => sessions[&id].finish(),
            }
        }
    });
    let sandbox = sandbox_storing_into(records);
    let handle = timeout(sandbox.create_session(NewSession::default()))
        .await
        .expect("created");
    timeout(handle.end("test")).await.expect("ended");
    drop(handle);
    // Nobody asks for it again and no other session ends: it still goes.
    timeout(async {
        while sandbox.ended_in_memory() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}
