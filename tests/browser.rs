//! The pages in a real headless Chromium against the real server: a session created from the
//! landing page, the TCP scenario run by clicking, the diagram's plugs and wire with the
//! tuple the API reports, the ladder in call order, an error in red, the read-only share
//! link following live, an ended session replayed as a recording, every guided scenario,
//! a blocked call, an exercise's checklist, wrong links, a narrow screen and the keyboard.
//! Every page must finish without a console error. Skipped when Chromium is not installed
//! (see `common::browser`). Screenshots go to `tests/artifacts/`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::app::TestApp;
use common::browser::{self, Page, js_string};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long the page may take to show something.
const SHOW: Duration = Duration::from_secs(10);
/// Each browser test as a whole.
const TEST_TIMEOUT: Duration = Duration::from_secs(50);

/// Where screenshots go (git-ignored).
fn artifact(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/artifacts")
        .join(name)
}

/// The page reported no exception, console error or failed request.
fn assert_no_errors(page: &Page) {
    let errors = page.errors();
    assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
}

/// Create a session by clicking on the landing page; (id, owner token).
async fn session_from_landing(app: &TestApp, page: &Page) -> (String, String) {
    page.goto(&app.url("/")).await;
    page.wait_for(
        "document.querySelector('#isolation').textContent === 'loopback'",
        SHOW,
    )
    .await;
    page.click("#new-session").await;
    page.wait_for(
        "location.pathname.startsWith('/s/') && document.querySelectorAll('#topology .host').length === 2",
        SHOW,
    )
    .await;
    let id = page.eval("location.pathname.slice(3)").await;
    let token = page
        .eval("new URLSearchParams(location.hash.slice(1)).get('token')")
        .await;
    (
        id.as_str().unwrap().to_owned(),
        token.as_str().unwrap().to_owned(),
    )
}

/// Click the scenario's Next button once and wait for the step to finish.
async fn next_step(page: &Page) {
    let before = page
        .eval("Number(document.querySelector('#scenarios').dataset.step)")
        .await
        .as_u64()
        .unwrap();
    page.click("#scenario-next").await;
    page.wait_for(
        &format!(
            "(() => {{ const s = document.querySelector('#scenarios'); \
             return Number(s.dataset.step) === {} && (s.dataset.done === 'true' || !document.querySelector('#scenario-next').disabled); }})()",
            before + 1
        ),
        SHOW,
    )
    .await;
}

/// (host, kind) of the ladder's call rows, top to bottom.
async fn ladder_calls(page: &Page) -> Vec<String> {
    let rows = page
        .eval("[...document.querySelectorAll('#ladder .row.is-call')].map((r) => r.dataset.host + ' ' + r.dataset.kind)")
        .await;
    rows.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The open socket of `host` with `fd` in the API's snapshot.
fn socket<'a>(snapshot: &'a Value, host: &str, fd: i64) -> &'a Value {
    snapshot["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == host)
        .and_then(|h| {
            h["sockets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["fd"] == fd)
        })
        .unwrap_or_else(|| panic!("no fd {fd} on {host} in {snapshot}"))
}

#[tokio::test]
async fn tcp_scenario_from_the_landing_page_draws_plugs_wire_and_ladder() {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let app = TestApp::start().await;
        let page = browser.new_page(1280, 800).await;

        // The landing page: a link to the API document and the exercises (or that there
        // are none yet).
        page.goto(&app.url("/")).await;
        page.wait_for(
            "document.querySelector('#no-exercises') || document.querySelector('.exercise')",
            SHOW,
        )
        .await;
        assert_eq!(
            page.eval("!!document.querySelector('a[href=\"/api/openapi.json\"]')")
                .await,
            json!(true)
        );
        page.wait_for("document.querySelector('#isolation').textContent === 'loopback'", SHOW)
            .await;
        page.screenshot(&artifact("landing.png")).await;
        let (id, token) = session_from_landing(&app, &page).await;
        let (status, _) = app
            .get(&format!("/api/sessions/{id}"), Some(&token))
            .await;
        assert_eq!(status, StatusCode::OK, "the page holds the owner token");

        // Step through the TCP lesson up to accept, watching the accept queue fill.
        page.select("#scenario-pick", "tcp").await;
        for _ in 0..5 {
            next_step(&page).await;
        }
        page.wait_for(
            "document.querySelector('.plug[data-host=\"B\"][data-state=\"LISTEN\"] .queue[data-queue=\"1\"]')",
            SHOW,
        )
        .await;
        let queue_text = page
            .eval("document.querySelector('.plug[data-state=\"LISTEN\"] .queue-text').textContent")
            .await;
        assert_eq!(queue_text, json!("1 of 4"));
        next_step(&page).await; // accept

        // The real tuple, from the API.
        let (_, snapshot) = app
            .get(&format!("/api/sessions/{id}"), Some(&token))
            .await;
        let listener = socket(&snapshot, "B", 3);
        assert_eq!(listener["tcp_state"], "LISTEN");
        let client = socket(&snapshot, "A", 3);
        let accepted = socket(&snapshot, "B", 4);
        let client_local = client["tuple"]["local"].as_str().unwrap();
        let server_local = accepted["tuple"]["local"].as_str().unwrap();
        assert_eq!(accepted["tuple"]["remote"], client_local);
        let tuple = format!("TCP {client_local} ↔ {server_local}");
        page.wait_for(
            &format!(
                "[...document.querySelectorAll('#topology .wire-label')].some((w) => w.dataset.tuple === {})",
                js_string(&tuple)
            ),
            SHOW,
        )
        .await;
        let label_text = page
            .eval(&format!(
                "[...document.querySelectorAll('#topology .wire-label')].find((w) => w.dataset.tuple === {}).textContent",
                js_string(&tuple)
            ))
            .await;
        let label_text = label_text.as_str().unwrap();
        for part in ["TCP", client_local, server_local] {
            assert!(label_text.contains(part), "wire label `{label_text}` shows {part}");
        }
        // The three plugs: the listener, the accepted socket and the client.
        let plugs = page
            .eval(
                "[...document.querySelectorAll('#topology .plug:not(.closed)')].map((p) => \
                 [p.dataset.host, p.dataset.fd, p.dataset.state, p.dataset.local, p.dataset.role].join(' '))",
            )
            .await;
        let plugs: Vec<&str> = plugs
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let listener_local = listener["tuple"]["local"].as_str().unwrap();
        for expected in [
            format!("B 3 LISTEN {listener_local} listener"),
            format!("B 4 ESTABLISHED {server_local} accepted"),
            format!("A 3 ESTABLISHED {client_local} client"),
        ] {
            assert!(plugs.contains(&expected.as_str()), "{expected} in {plugs:?}");
        }

        // Data both ways.
        for _ in 0..4 {
            next_step(&page).await;
        }

        // A deliberate error from the console: connect where nothing listens.
        let b_ip = snapshot["hosts"][1]["addrs"][0].as_str().unwrap();
        page.click("#console-hosts [data-host=\"A\"]").await;
        page.select("#console-call", "socket").await;
        page.click("#console-submit").await;
        page.wait_for(
            "document.querySelector('#console-result .res.st-ok') && !document.querySelector('#console-submit').disabled",
            SHOW,
        )
        .await;
        page.select("#console-call", "connect").await;
        page.fill("#console-addr", &format!("{b_ip}:9")).await;
        page.click("#console-submit").await;
        page.wait_for(
            "(document.querySelector('#console-result .errno') || {}).textContent === 'ECONNREFUSED (111)'",
            SHOW,
        )
        .await;
        let row = page
            .wait_for(
                "(() => { const r = [...document.querySelectorAll('#ladder .row.st-error[data-kind=\"connect\"]')].pop(); \
                 if (!r) return null; const e = r.querySelector('.c-result'); \
                 return {text: r.textContent, color: getComputedStyle(e).color}; })()",
                SHOW,
            )
            .await;
        let text = row["text"].as_str().unwrap();
        assert!(text.contains("ECONNREFUSED"), "{text}");
        // The hint: the kernel's, or the sandbox's when loopback isolation refused first.
        assert!(
            text.contains("Nothing is listening") || text.contains("No socket of this session"),
            "the hint is shown: {text}"
        );
        let rgb: Vec<u32> = row["color"]
            .as_str()
            .unwrap()
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .map(|c| c.trim().parse().unwrap())
            .collect();
        assert!(
            rgb[0] > 150 && rgb[1] < 90 && rgb[2] < 90,
            "the errno is red: {rgb:?}"
        );
        // The picture for the README: the connection, the ladder and the error.
        page.eval("window.scrollTo(0, 0)").await;
        tokio::time::sleep(Duration::from_millis(1200)).await; // let the flights land
        page.screenshot(&artifact("session.png")).await;
        page.screenshot_full(&artifact("session-full.png")).await;

        // The rest of the lesson, then the ladder in call order.
        while page
            .eval("document.querySelector('#scenarios').dataset.done")
            .await
            != json!("true")
        {
            next_step(&page).await;
        }
        page.wait_for(
            "document.querySelector('#scenario-status').textContent.startsWith('Done')",
            SHOW,
        )
        .await;
        let expected_calls = [
            "B socket", "B bind", "B listen", "A socket", "A connect", "B accept", "A send",
            "B recv", "B send", "A recv", "A socket", "A connect", "A close", "B recv",
            "B close", "B close",
        ];
        page.wait_for(
            &format!(
                "document.querySelectorAll('#ladder .row.is-call').length === {}",
                expected_calls.len()
            ),
            SHOW,
        )
        .await;
        assert_eq!(ladder_calls(&page).await, expected_calls);
        // Kernel events are drawn too: the queued connection, arriving data, the FIN.
        for kind in ["incoming", "data", "eof", "tcp_state"] {
            let shown = page
                .eval(&format!(
                    "!!document.querySelector('#ladder .row.is-kernel[data-kind=\"{kind}\"]')"
                ))
                .await;
            assert_eq!(shown, json!(true), "a {kind} row in the ladder");
        }
        // What the lesson opened is closed (faded in the diagram); the console's socket
        // is still there.
        page.wait_for(
            "[...document.querySelectorAll('#topology .plug:not(.closed)')].map((p) => p.dataset.host + p.dataset.fd).join() === 'A4'",
            SHOW,
        )
        .await;

        // The event log: errors only, then one event's details.
        page.click("#log-errors").await;
        page.wait_for(
            "[...document.querySelectorAll('#log .log-line')].map((l) => l.dataset.kind + ' ' + l.dataset.status).join() === 'connect error'",
            SHOW,
        )
        .await;
        page.click("#log .log-line[data-kind=\"connect\"]").await;
        let detail = page
            .wait_for("(document.querySelector('#log-detail pre') || {}).textContent", SHOW)
            .await;
        let detail: Value = serde_json::from_str(detail.as_str().unwrap()).unwrap();
        assert_eq!(detail["errno"]["name"], "ECONNREFUSED");
        assert_eq!(detail["addr"], format!("{b_ip}:9"));
        page.click("#log-errors").await;
        page.select("#log-host", "B").await;
        page.wait_for(
            "[...document.querySelectorAll('#log .log-line')].length > 0 && \
             [...document.querySelectorAll('#log .log-line')].every((l) => l.querySelector('.l-host').textContent === 'B')",
            SHOW,
        )
        .await;

        assert_no_errors(&page);
    })
    .await
    .expect("the browser test took too long");
}

#[tokio::test]
async fn share_link_opens_a_read_only_view_that_follows_live() {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let app = TestApp::start().await;
        let owner = browser.new_page(1280, 800).await;
        let (id, _) = session_from_landing(&app, &owner).await;
        let link = owner
            .wait_for("(document.querySelector('#share-link') || {}).value", SHOW)
            .await;
        let link = link.as_str().unwrap().to_owned();
        assert!(link.contains(&format!("/s/{id}#viewer=pbv_")), "{link}");

        owner.select("#scenario-pick", "udp").await;
        next_step(&owner).await;
        let viewer = browser.new_page(1280, 800).await;
        viewer.goto(&link).await;
        viewer
            .wait_for(
                "document.querySelector('#mode-badge').textContent === 'live · read-only'",
                SHOW,
            )
            .await;
        assert_eq!(
            viewer
                .eval("document.querySelector('#console-panel').hidden && document.querySelector('#scenarios-panel').hidden")
                .await,
            json!(true),
            "a viewer gets no console and no scenarios"
        );
        // The same events arrive on both pages, live. Play runs the steps on its own.
        owner.click("#scenario-play").await;
        owner
            .wait_for(
                "Number(document.querySelector('#scenarios').dataset.step) >= 5",
                SHOW,
            )
            .await;
        owner.click("#scenario-play").await; // pause
        owner
            .wait_for(
                "document.querySelector('#scenario-play').textContent === 'Play' \
                 && !document.querySelector('#scenario-next').disabled",
                SHOW,
            )
            .await;
        let seqs = "[...document.querySelectorAll('#ladder .row')].map((r) => r.dataset.seq).join(',')";
        let on_owner = owner.eval(seqs).await;
        viewer
            .wait_for(&format!("{seqs} === {on_owner}"), SHOW)
            .await;
        assert!(
            on_owner.as_str().unwrap().split(',').count() >= 7,
            "{on_owner}"
        );
        viewer
            .wait_for(
                "document.querySelector('#ladder .row[data-kind=\"recvfrom\"][data-status=\"ok\"]')",
                SHOW,
            )
            .await;
        // The datagram's receiver is drawn on the viewer's diagram too.
        viewer
            .wait_for(
                "document.querySelector('#topology .plug[data-host=\"B\"][data-proto=\"udp\"][data-state=\"bound\"]')",
                SHOW,
            )
            .await;
        // A viewer token may not make calls.
        let viewer_token = link.rsplit("viewer=").next().unwrap();
        let (status, body) = app
            .post(
                &format!("/api/sessions/{id}/calls"),
                Some(viewer_token),
                json!({"host": "A", "call": "socket", "domain": "inet", "type": "stream"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

        // Ending the session from the owner page reaches the viewer.
        owner.click("#end-session").await;
        owner.click("#end-confirm").await;
        viewer
            .wait_for("document.querySelector('#mode-badge').textContent === 'ended'", SHOW)
            .await;
        viewer.wait_for("document.querySelector('#rec-replay')", SHOW).await;
        assert_no_errors(&owner);
        assert_no_errors(&viewer);
    })
    .await
    .expect("the browser test took too long");
}

#[tokio::test]
async fn an_ended_session_opens_as_a_recording() {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let app = TestApp::start().await;
        let s = app.session().await;
        let server = s.addr("B", 7070);
        app.ok(&s, json!({"host":"B","call":"socket","domain":"inet","type":"stream"}))
            .await;
        app.ok(&s, json!({"host":"B","call":"bind","fd":3,"addr":server}))
            .await;
        app.ok(&s, json!({"host":"B","call":"listen","fd":3,"backlog":2}))
            .await;
        app.ok(&s, json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
            .await;
        app.ok(&s, json!({"host":"A","call":"connect","fd":3,"addr":server}))
            .await;
        let accepted = app.ok(&s, json!({"host":"B","call":"accept","fd":3})).await;
        let (status, ended) = app
            .send(
                reqwest::Method::DELETE,
                &format!("/api/sessions/{}", s.id),
                Some(&s.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        // An ended session is read from the database, which the store's writer fills in
        // batches: for a moment after the end it may be missing or short there. Wait until
        // the whole log is stored.
        let last_seq = ended["last_seq"].as_u64().unwrap();
        let mut page_of_events = Value::Null;
        for _ in 0..100 {
            let (status, body) = app
                .get(&format!("/api/sessions/{}/events", s.id), Some(&s.token))
                .await;
            assert!(status == StatusCode::OK || status == StatusCode::NOT_FOUND, "{body}");
            page_of_events = body;
            if page_of_events["last_seq"].as_u64() >= Some(last_seq) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(page_of_events["last_seq"], json!(last_seq), "the log is stored");
        let events = page_of_events["events"].as_array().unwrap().clone();
        let accept_at = events
            .iter()
            .position(|e| e["kind"] == "accept" && e["status"] == "ok")
            .unwrap_or_else(|| panic!("no accept in {page_of_events:#}"))
            + 1;

        let page = browser.new_page(1280, 800).await;
        page.goto(&app.url(&format!("/s/{}#viewer={}", s.id, s.viewer)))
            .await;
        page.wait_for(
            "document.querySelector('#mode-badge').textContent === 'recording'",
            SHOW,
        )
        .await;
        let total = events.len();
        page.wait_for(
            &format!(
                "document.querySelector('#rec-position').textContent === 'Event 0 of {total}'"
            ),
            SHOW,
        )
        .await;
        assert_eq!(
            page.eval("document.querySelectorAll('#ladder .row').length")
                .await,
            json!(0),
            "a rewound recording shows no events"
        );
        // Step to just after accept: the connection is drawn from the events alone.
        for _ in 0..accept_at {
            page.click("#rec-step").await;
        }
        page.wait_for(
            &format!("document.querySelectorAll('#ladder .row').length === {accept_at}"),
            SHOW,
        )
        .await;
        let peer = accepted["peer"].as_str().unwrap();
        page.wait_for(
            &format!(
                "[...document.querySelectorAll('#topology .wire-label')].some((w) => w.dataset.tuple === {})",
                js_string(&format!("TCP {peer} ↔ {server}"))
            ),
            SHOW,
        )
        .await;
        // To the end: the session ended, every socket closed.
        page.click("#rec-end").await;
        page.wait_for(
            &format!("document.querySelectorAll('#ladder .row').length === {total}"),
            SHOW,
        )
        .await;
        page.wait_for(
            "document.querySelectorAll('#topology .plug:not(.closed)').length === 0 \
             && !!document.querySelector('#ladder .row[data-kind=\"session_ended\"]')",
            SHOW,
        )
        .await;
        page.click("#rec-reset").await;
        page.wait_for("document.querySelectorAll('#ladder .row').length === 0", SHOW)
            .await;
        // Play runs through on its own.
        page.click("#rec-play").await;
        page.wait_for("document.querySelectorAll('#ladder .row').length >= 2", SHOW)
            .await;
        page.click("#rec-play").await;
        assert_no_errors(&page);
    })
    .await
    .expect("the browser test took too long");
}

#[tokio::test]
async fn narrow_screen_has_one_column_and_works_by_keyboard() {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let app = TestApp::start().await;
        let page = browser.new_page(390, 844).await;
        page.goto(&app.url("/")).await;
        assert_eq!(
            page.eval("document.documentElement.scrollWidth <= window.innerWidth")
                .await,
            json!(true),
            "the landing page fits a phone"
        );
        session_from_landing(&app, &page).await;
        // One column: the controls come below the diagram, nothing scrolls sideways.
        let layout = page
            .eval(
                "(() => { const t = document.querySelector('.area-topology').getBoundingClientRect(); \
                 const s = document.querySelector('.area-side').getBoundingClientRect(); \
                 return {below: s.top >= t.bottom, fits: document.documentElement.scrollWidth <= window.innerWidth}; })()",
            )
            .await;
        assert_eq!(layout, json!({"below": true, "fits": true}));
        let ladder_height = page
            .eval("document.querySelector('#ladder .ladder-scroll').clientHeight")
            .await;
        assert!(
            ladder_height.as_f64().unwrap() > 100.0,
            "the ladder is visible: {ladder_height}"
        );

        // The keyboard alone runs a scenario step: focus the button, press Enter.
        page.eval("document.querySelector('#scenario-next').focus()").await;
        page.press("Enter").await;
        page.wait_for(
            "document.querySelector('#scenarios').dataset.step === '1' \
             && document.querySelector('#topology .plug[data-host=\"B\"]')",
            SHOW,
        )
        .await;
        // Tab moves on to the next control, and focus is visible there.
        page.eval("document.querySelector('#scenario-next').focus()").await;
        page.press("Tab").await;
        let focused = page
            .eval("(() => { const el = document.activeElement; return {id: el.id, outline: getComputedStyle(el).outlineStyle}; })()")
            .await;
        assert_eq!(focused["id"], "scenario-play");
        assert_ne!(focused["outline"], "none", "focus is visible");
        // A plug is a control too: Enter on it picks it for the console.
        page.eval("document.querySelector('#topology .plug[data-host=\"B\"]').focus()").await;
        page.press("Enter").await;
        page.wait_for(
            "document.activeElement && document.activeElement.id === 'console-fd' \
             && document.querySelector('#console-hosts [aria-checked=\"true\"]').dataset.host === 'B'",
            SHOW,
        )
        .await;
        // Connected, to see wires in one column.
        for _ in 0..5 {
            next_step(&page).await;
        }
        page.wait_for("document.querySelector('#topology .wire-label')", SHOW)
            .await;
        page.eval("window.scrollTo(0, 0)").await;
        tokio::time::sleep(Duration::from_millis(1200)).await; // let the flights land
        page.screenshot(&artifact("session-narrow.png")).await;
        assert_no_errors(&page);
    })
    .await
    .expect("the browser test took too long");
}

#[tokio::test]
async fn every_guided_scenario_runs_as_taught() {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let app = TestApp::start().await;
        let page = browser.new_page(1280, 800).await;
        session_from_landing(&app, &page).await;
        let lessons = page
            .eval("[...document.querySelectorAll('#scenario-pick option')].map((o) => o.value)")
            .await;
        let lessons: Vec<String> = lessons
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert!(lessons.len() >= 6, "{lessons:?}");
        // Reset closes what a half-run lesson opened.
        for _ in 0..4 {
            next_step(&page).await;
        }
        page.wait_for(
            "document.querySelectorAll('#topology .plug:not(.closed)').length === 2",
            SHOW,
        )
        .await;
        page.click("#scenario-reset").await;
        page.wait_for(
            "document.querySelector('#scenarios').dataset.step === '0' \
             && document.querySelectorAll('#topology .plug:not(.closed)').length === 0",
            SHOW,
        )
        .await;
        for lesson in &lessons {
            page.select("#scenario-pick", lesson).await;
            page.wait_for(
                "document.querySelector('#scenarios').dataset.step === '0' && !document.querySelector('#scenario-next').disabled",
                SHOW,
            )
            .await;
            while page
                .eval("document.querySelector('#scenarios').dataset.done")
                .await
                != json!("true")
            {
                next_step(&page).await;
                let off = page
                    .eval("[...document.querySelectorAll('#scenario-steps .step-off')].map((s) => s.textContent).join(' | ')")
                    .await;
                assert_eq!(off, json!(""), "{lesson}: a step did not go as taught");
            }
            // Each lesson cleans up after itself.
            page.wait_for(
                "document.querySelectorAll('#topology .plug:not(.closed)').length === 0",
                SHOW,
            )
            .await;
        }
        assert_no_errors(&page);
    })
    .await
    .expect("the browser test took too long");
}

#[tokio::test]
async fn an_exercise_started_from_the_landing_page_shows_its_checklist() {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let app = TestApp::start().await;
        let (status, catalog) = app.get("/api/exercises", None).await;
        if status == StatusCode::NOT_FOUND {
            eprintln!("SKIPPED: the server has no exercises API");
            return;
        }
        let first = catalog[0]["id"].as_str().expect("an exercise").to_owned();
        let page = browser.new_page(1280, 800).await;
        page.goto(&app.url("/")).await;
        page.click(&format!("button[data-exercise={}]", js_string(&first)))
            .await;
        page.wait_for(
            "location.pathname.startsWith('/s/') && !document.querySelector('#exercise-panel').hidden",
            SHOW,
        )
        .await;
        let (_, exercise) = app.get(&format!("/api/exercises/{first}"), None).await;
        let title = exercise["title"].as_str().unwrap();
        page.wait_for(
            &format!(
                "document.querySelector('#exercise-panel .ex-title').textContent === {}",
                js_string(title)
            ),
            SHOW,
        )
        .await;
        let checks = exercise["checks"].as_array().unwrap().len();
        page.wait_for(
            &format!("document.querySelectorAll('#exercise-checks .ex-check').length === {checks}"),
            SHOW,
        )
        .await;
        page.click("#exercise-grade").await;
        page.wait_for(
            "document.querySelector('#exercise-note').textContent.startsWith('Saved as attempt')",
            SHOW,
        )
        .await;
        page.eval("window.scrollTo(0, 0)").await;
        page.screenshot(&artifact("exercise.png")).await;
        assert_no_errors(&page);
    })
    .await
    .expect("the browser test took too long");
}

#[tokio::test]
async fn a_blocked_call_is_shown_until_it_completes() {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let app = TestApp::start().await;
        let page = browser.new_page(1280, 800).await;
        let (id, token) = session_from_landing(&app, &page).await;
        let (_, snapshot) = app.get(&format!("/api/sessions/{id}"), Some(&token)).await;
        let b_ip = snapshot["hosts"][1]["addrs"][0].as_str().unwrap().to_owned();
        let call = |body: Value| {
            let app = &app;
            let path = format!("/api/sessions/{id}/calls");
            let token = token.clone();
            async move { app.post(&path, Some(&token), body).await }
        };
        // A listener made through the API: the page shows it like any other.
        call(json!({"host":"B","call":"socket","domain":"inet","type":"stream"})).await;
        call(json!({"host":"B","call":"bind","fd":3,"addr":format!("{b_ip}:7000")})).await;
        call(json!({"host":"B","call":"listen","fd":3,"backlog":2})).await;
        page.wait_for(
            "document.querySelector('.plug[data-host=\"B\"][data-state=\"LISTEN\"]')",
            SHOW,
        )
        .await;

        // accept from the console blocks: nobody has connected.
        page.click("#topology .plug[data-host=\"B\"][data-fd=\"3\"]").await;
        page.wait_for(
            "document.querySelector('#console-call').value === 'accept' \
             && document.querySelector('#console-expect').textContent.includes('accept')",
            SHOW,
        )
        .await;
        page.eval("document.querySelector('#console-form details').open = true").await;
        page.fill("#console-wait", "100").await;
        page.click("#console-submit").await;
        page.wait_for("document.querySelector('#console-result .res.st-pending')", SHOW)
            .await;
        page.wait_for(
            "document.querySelector('#console-pending .pending-item') \
             && document.querySelector('.plug[data-host=\"B\"] .chip-pending') \
             && document.querySelector('#ladder .row.st-pending[data-kind=\"accept\"]:not(.resolved)')",
            SHOW,
        )
        .await;

        // A client connects: the blocked accept completes.
        call(json!({"host":"A","call":"socket","domain":"inet","type":"stream"})).await;
        call(json!({"host":"A","call":"connect","fd":3,"addr":format!("{b_ip}:7000")})).await;
        page.wait_for(
            "!document.querySelector('#console-pending .pending-item') \
             && !document.querySelector('.chip-pending') \
             && document.querySelector('#ladder .row.st-pending.resolved[data-kind=\"accept\"]') \
             && document.querySelector('.plug[data-host=\"B\"][data-role=\"accepted\"]')",
            SHOW,
        )
        .await;

        // A third host joins the diagram and the ladder.
        page.click("#add-host").await;
        page.wait_for(
            "document.querySelectorAll('#topology .host').length === 3 \
             && document.querySelectorAll('#ladder .lh-lane').length === 3",
            SHOW,
        )
        .await;
        assert_no_errors(&page);
    })
    .await
    .expect("the browser test took too long");
}

#[tokio::test]
async fn a_wrong_link_says_what_is_wrong() {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let app = TestApp::start().await;
        let s = app.session().await;
        let page = browser.new_page(1280, 800).await;
        page.goto(&app.url(&format!("/s/{}#token=pbo_wrong", s.id)))
            .await;
        page.wait_for(
            "document.querySelector('#banner').textContent.includes('does not open session')",
            SHOW,
        )
        .await;
        page.goto(&app.url(&format!("/s/{}", s.id))).await;
        page.wait_for(
            "document.querySelector('#banner').textContent.includes('no token')",
            SHOW,
        )
        .await;
        // The only errors are the refused requests themselves.
        let errors: Vec<String> = page
            .errors()
            .into_iter()
            .filter(|e| !e.contains("status of 401"))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    })
    .await
    .expect("the browser test took too long");
}

/// Without a browser: the shells and static files are served with the right types, cached
/// by ETag, under the CSP, and anything unknown is the API's JSON 404.
#[tokio::test]
async fn pages_and_static_files_are_served() {
    let app = TestApp::start().await;
    let get = |path: &str| app.client.get(app.url(path)).send();

    let landing = get("/").await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK);
    assert!(
        landing.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        landing.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let html = landing.text().await.unwrap();
    assert!(html.contains("/static/landing.js") && html.contains("New session"));

    let page = get("/s/0123456789abcdef").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-session=\"0123456789abcdef\""));
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "nothing inline"
    );

    for (path, kind) in [
        ("/static/session.js", "text/javascript"),
        ("/static/app.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
    ] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert!(headers.contains_key("cache-control"), "{path}");
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let again = app
            .client
            .get(app.url(path))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }

    for path in ["/static/nope.js", "/static/../Cargo.toml", "/s/not-an-id"] {
        let (status, body) = app.get(path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["type"], "not_found", "{path}: {body}");
    }
}
