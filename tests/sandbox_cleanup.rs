//! Ending sessions gives every descriptor back: after 1,000 sessions created, used and ended,
//! the process has as many open descriptors as before. Alone in its binary, so no other test
//! opens descriptors meanwhile.

mod common;

use common::*;
use plugboard::sandbox::{Call, Proto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sessions_leave_no_descriptor_behind() {
    let sb = sandbox();
    // Warm up once so lazily opened runtime descriptors are counted in the baseline.
    let s = session(&sb).await;
    timeout(s.0.end("warm-up")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let before = Descriptors::count().all;
    for i in 0..1000u32 {
        let s = session(&sb).await;
        let port = 20_000 + (i % 1000) as u16;
        let lfd = s.listener(B, port, 4).await;
        let cfd = s.client(A, s.addr(B, port)).await;
        let afd = s.accept(B, lfd).await;
        s.send(A, cfd, b"x").await;
        s.udp_bound(B, 9009).await;
        let udp = s.socket(A, Proto::Udp).await;
        s.sendto(A, udp, b"y", s.addr(B, 9009)).await;
        // Half the sessions leave a blocked call behind; ending must cancel it too.
        if i % 2 == 0 {
            s.call_wait(
                B,
                Call::Recv {
                    fd: afd,
                    max: 1,
                    peek: false,
                },
                0,
            )
            .await;
            s.call_wait(
                B,
                Call::Recv {
                    fd: afd,
                    max: 1,
                    peek: false,
                },
                0,
            )
            .await;
        }
        timeout(s.0.end("cycle")).await.unwrap();
    }
    // Session tasks deregister as they finish.
    for _ in 0..100 {
        if sb.live_sessions() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(sb.live_sessions(), 0);
    let after = Descriptors::count().all;
    assert_eq!(after, before, "descriptors before {before}, after {after}");
}
