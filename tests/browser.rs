//! The pages in a real headless Chromium against the real server: a session created from the
//! landing page, the TCP scenario run by clicking, the diagram's plugs and wire with the
//! tuple the API reports, the ladder in call order, an error in red, the read-only share
//! link following live, an ended session replayed as a recording, every guided scenario,
//! a blocked call, an exercise's checklist, wrong links, a narrow screen and the keyboard;
//! in netns mode, packets on the wire: the handshake as three arrows, the numbers toggle, a
//! packet's layers and bytes, a refused connect's RST, the four-way close and TIME_WAIT.
//! Every page must finish without a console error. Skipped when Chromium is not installed
//! (see `common::browser`), the netns ones also where namespaces cannot be made (see
//! `common::netns_sandbox`), each with a `SKIPPED <test>: <reason>` line that plain
//! `cargo test` shows (`common::report_skip`). Screenshots go to `tests/artifacts/`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::app::{Isolation, TestApp, netns_app};
use common::browser::{
    self, Browser, BrowserSession, Page, SHOW, assert_no_errors, js_string, next_step,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Each browser test as a whole.
const TEST_TIMEOUT: Duration = Duration::from_secs(50);

/// Run a browser test's `steps` within `limit`; without Chromium it is skipped, and says so
/// (see `common::browser::launch`).
async fn with_browser(limit: Duration, steps: impl AsyncFnOnce(&Browser)) {
    let Some(browser) = browser::launch().await else {
        return;
    };
    tokio::time::timeout(limit, steps(&browser))
        .await
        .expect("the browser test took too long");
}

/// Where screenshots go (git-ignored).
fn artifact(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/artifacts")
        .join(name)
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
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
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
        let page = BrowserSession::from_landing(page, &app, Isolation::Loopback).await;
        let (id, token) = (page.id().to_owned(), page.token().to_owned());
        let (status, _) = app
            .get(&format!("/api/sessions/{id}"), Some(&token))
            .await;
        assert_eq!(status, StatusCode::OK, "the page holds the owner token");

        // Step through the TCP lesson up to accept, watching the accept queue fill.
        page.scenario("tcp").await.next_steps(5).await;
        page.wait_for(
            "document.querySelector('.plug[data-host=\"B\"][data-state=\"LISTEN\"] .queue[data-queue=\"1\"]')",
            SHOW,
        )
        .await;
        let queue_text = page
            .eval("document.querySelector('.plug[data-state=\"LISTEN\"] .queue-text').textContent")
            .await;
        assert_eq!(queue_text, json!("1 of 4"));
        page.next_step().await; // accept

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
        page.next_steps(4).await;

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
            page.next_step().await;
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
        assert_eq!(page.ladder_calls().await, expected_calls);
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
    .await;
}

/// The labels of the packet arrows caused by the call of the first `kind` row with `status`,
/// drawn above that row: [from, to, label, whether the arrow goes down towards `to`].
const CALL_PACKETS: &str = r#"((kind, status) => {
    const rows = [...document.querySelectorAll('#ladder .row')];
    const end = rows.findIndex((r) => r.dataset.kind === kind && r.dataset.status === status);
    if (end < 0) return null;
    const call = rows[end].dataset.callId;
    return rows.slice(0, end)
        .filter((r) => r.dataset.kind === 'packet' && r.dataset.callId === call && !r.classList.contains('is-control'))
        .map((r) => {
            const line = r.querySelector('.wire-line');
            const box = line.getBoundingClientRect();
            const x1 = line.x1.baseVal.value, x2 = line.x2.baseVal.value;
            const y1 = line.y1.baseVal.value, y2 = line.y2.baseVal.value;
            const lane = (name) => [...document.querySelectorAll('#ladder .lh-lane')]
                .find((l) => l.textContent.includes('host ' + name)).getBoundingClientRect();
            const from = lane(r.dataset.from), to = lane(r.dataset.to);
            const svg = line.ownerSVGElement.getBoundingClientRect();
            const startX = svg.left + x1, endX = svg.left + x2;
            const centre = (b) => b.left + b.width / 2;
            const fromLane = Math.abs(startX - centre(from)) < 6 && Math.abs(endX - centre(to)) < 6;
            return [r.dataset.from, r.dataset.to, r.querySelector('.pkt').textContent, fromLane && y2 > y1 && box.height > 10];
        });
})"#;

#[tokio::test]
async fn the_handshake_is_three_packet_arrows_with_their_layers() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let Some(app) = netns_app().await else {
            return;
        };
        let page = BrowserSession::open_sized(browser, &app, Isolation::Netns, 1280, 900).await;
        let (id, token) = (page.id().to_owned(), page.token().to_owned());
        page.wait_for(
            "document.querySelector('#ladder-capture').dataset.capture === 'on' \
             && !document.querySelector('#capture-download').closest('[hidden]')",
            SHOW,
        )
        .await;

        // The handshake lesson up to connect: SYN, SYN+ACK, ACK between lanes A and B, above
        // the connect's result row, in relative numbers (the default).
        page.scenario("handshake").await.next_steps(5).await;
        let arrows = page
            .wait_for(
                &format!(
                    "(() => {{ const a = {CALL_PACKETS}('connect', 'ok'); return a && a.length === 3 ? a : null; }})()"
                ),
                SHOW,
            )
            .await;
        assert_eq!(
            arrows,
            json!([
                ["A", "B", "SYN seq=0", true],
                ["B", "A", "SYN+ACK seq=0 ack=1", true],
                ["A", "B", "ACK seq=1 ack=1", true],
            ]),
            "three arrows from lane to lane, slanting down"
        );
        // The call and its packets share one bracket, ending at the connect's result.
        let bracket = page
            .eval(
                "(() => { const end = document.querySelector('#ladder .row[data-kind=\"connect\"][data-status=\"ok\"]'); \
                 const rows = [...document.querySelectorAll('#ladder .row.grp')].filter((r) => r.dataset.group === end.dataset.callId); \
                 return [rows[0].dataset.flags, rows[0].classList.contains('grp-start'), rows.at(-1) === end && end.classList.contains('grp-end')]; })()",
            )
            .await;
        assert_eq!(bracket, json!(["SYN", true, true]));

        // The lesson names J and K with this run's numbers, as the API has them.
        let events = page.api_events().await;
        let connect = events
            .iter()
            .find(|e| e["kind"] == "connect" && e["status"] == "ok")
            .unwrap();
        let packet = |flags: &str| {
            events
                .iter()
                .find(|e| {
                    e["kind"] == "packet"
                        && e["call_id"] == connect["call_id"]
                        && e["packet"]["tcp"]["flags"]
                            .as_array()
                            .is_some_and(|f| f.iter().map(|x| x.as_str().unwrap()).collect::<Vec<_>>().join("+") == flags)
                })
                .unwrap_or_else(|| panic!("no {flags} for the connect in {events:#?}"))
        };
        let (syn, syn_ack) = (packet("SYN"), packet("SYN+ACK"));
        let j = syn["packet"]["tcp"]["seq"].as_u64().unwrap();
        let k = syn_ack["packet"]["tcp"]["seq"].as_u64().unwrap();
        let explained = page
            .wait_for(
                "(document.querySelector('#scenario-steps .step-explain.from-packets') || {}).textContent",
                SHOW,
            )
            .await;
        let explained = explained.as_str().unwrap();
        for part in [
            format!("seq J = {j}"),
            format!("own K = {k} and ack J+1 = {}", j + 1),
            format!("ack K+1 = {}", k + 1),
        ] {
            assert!(explained.contains(&part), "`{part}` in: {explained}");
        }

        // SYN_SENT was read from the SYN, never observed, and says so.
        let syn_seq = syn["seq"].as_u64().unwrap();
        let inferred = page
            .eval(
                "(() => { const r = document.querySelector('#ladder .row.inferred[data-host=\"A\"]'); \
                 return [r.querySelector('.c-inferred').textContent, r.querySelector('.pkt-link').dataset.packet]; })()",
            )
            .await;
        assert_eq!(
            inferred,
            json!([
                format!("read from packet #{syn_seq} · too brief to observe on the socket"),
                syn_seq.to_string()
            ])
        );

        // Absolute numbers, remembered across a reload; then relative again.
        page.click("#ladder-numbers-absolute").await;
        let syn_label = "document.querySelector('#ladder .row[data-flags=\"SYN\"] .pkt').textContent";
        page.wait_for(
            &format!("{syn_label} === {}", js_string(&format!("SYN seq={j}"))),
            SHOW,
        )
        .await;
        let syn_ack_label = page
            .eval("document.querySelector('#ladder .row[data-flags=\"SYN+ACK\"] .pkt').textContent")
            .await;
        assert_eq!(syn_ack_label, json!(format!("SYN+ACK seq={k} ack={}", j + 1)));
        page.goto(&app.url(&format!("/s/{id}#token={token}"))).await;
        page.wait_for(
            &format!(
                "document.querySelector('#ladder .row[data-flags=\"SYN\"] .pkt') && {syn_label} === {}",
                js_string(&format!("SYN seq={j}"))
            ),
            SHOW,
        )
        .await;
        page.click("#ladder-numbers-relative").await;
        page.wait_for(&format!("{syn_label} === 'SYN seq=0'"), SHOW).await;

        // Link housekeeping is hidden until asked for.
        let control = "[...document.querySelectorAll('#ladder .row.is-control')]";
        page.wait_for(&format!("{control}.length > 0"), SHOW).await;
        assert_eq!(
            page.eval(&format!("{control}.every((r) => getComputedStyle(r).display === 'none')"))
                .await,
            json!(true)
        );
        page.click("#ladder-control").await;
        page.wait_for(
            &format!("{control}.every((r) => getComputedStyle(r).display !== 'none')"),
            SHOW,
        )
        .await;
        page.click("#ladder-control").await;

        // The SYN's layers: Ethernet, IPv4, TCP as link, network, transport.
        page.click("#ladder .row[data-flags=\"SYN\"] .pkt").await;
        page.wait_for("document.querySelector('#packet-view').open", SHOW)
            .await;
        let layers = page
            .eval("[...document.querySelectorAll('#packet-view .pv-layer')].map((l) => l.dataset.layer + ' ' + l.dataset.name)")
            .await;
        assert_eq!(
            layers,
            json!(["link Ethernet II", "network IPv4", "transport TCP"])
        );
        let seq_field = page
            .eval("document.querySelector('#packet-view .pv-field[data-name=\"Sequence number\"] .pv-value').textContent")
            .await;
        assert_eq!(seq_field, json!(format!("{j} (relative 0)")));
        // Choosing a field lights up its bytes: the source port, two bytes.
        page.click("#packet-view .pv-field[data-name=\"Source port\"]").await;
        let lit = page
            .eval("[...document.querySelectorAll('#packet-view .pv-byte.hl')].map((b) => b.textContent).join('')")
            .await;
        let sport = syn["packet"]["tcp"]["src_port"].as_u64().unwrap();
        assert_eq!(lit, json!(format!("{sport:04x}")));
        // The keyboard walks the fields: the next one is the destination port.
        page.press("ArrowDown").await;
        let lit = page
            .eval("[...document.querySelectorAll('#packet-view .pv-byte.hl')].map((b) => b.textContent).join('')")
            .await;
        let dport = syn["packet"]["tcp"]["dst_port"].as_u64().unwrap();
        assert_eq!(lit, json!(format!("{dport:04x}")));
        page.screenshot(&artifact("packet-layers.png")).await;
        // Esc closes it, and focus goes back to the packet.
        page.press("Escape").await;
        page.wait_for(
            "!document.querySelector('#packet-view').open \
             && document.activeElement && document.activeElement.matches('#ladder .row[data-flags=\"SYN\"] .pkt')",
            SHOW,
        )
        .await;

        // The capture downloads as a pcapng file (its first block's magic), under its name;
        // the file is fetched with the token and handed over as a Blob URL.
        page.eval(
            "window.saved = null; const blobUrl = URL.createObjectURL; \
             URL.createObjectURL = (blob) => { window.blob = blob; return blobUrl(blob); }; \
             HTMLAnchorElement.prototype.click = function () { \
             if (this.download) window.saved = {name: this.download, href: this.href}; }",
        )
        .await;
        page.click("#capture-download").await;
        let saved = page
            .wait_for(
                "window.saved && window.saved.href.startsWith('blob:') && window.blob.arrayBuffer().then((b) => \
                 [window.saved.name, [...new Uint8Array(b.slice(0, 4))].map((x) => x.toString(16).padStart(2, '0')).join(''), b.byteLength])",
                SHOW,
            )
            .await;
        assert_eq!(saved[0], json!(format!("plugboard-{id}.pcapng")));
        assert_eq!(saved[1], json!("0a0d0d0a"), "a pcapng section header");
        assert!(saved[2].as_u64().unwrap() > 200, "{saved}");

        // A refused connect links to the RST behind it.
        let b_ip = "10.0.0.2";
        let call = |body: Value| page.api.call(body);
        let (_, created) = call(json!({"host":"A","call":"socket","domain":"inet","type":"stream"})).await;
        let (_, refused) = call(json!({"host":"A","call":"connect","fd":created["fd"],"addr":format!("{b_ip}:9")})).await;
        assert_eq!(refused["errno"], "ECONNREFUSED", "{refused}");
        let link = page
            .wait_for(
                "(() => { const r = [...document.querySelectorAll('#ladder .row.st-error[data-kind=\"connect\"]')].pop(); \
                 const a = r && r.querySelector('.pkt-link'); return a ? a.dataset.packet : null; })()",
                SHOW,
            )
            .await;
        let rst_seq = link.as_str().unwrap().to_owned();
        let events = page.api_events().await;
        let rst_number: u64 = rst_seq.parse().unwrap();
        let rst = events.iter().find(|e| e["seq"] == rst_number).unwrap();
        let failed = events
            .iter()
            .find(|e| e["kind"] == "connect" && e["status"] == "error")
            .unwrap();
        assert_eq!(failed["packet_seq"], rst_number, "the link is the server's");
        assert!(
            rst["packet"]["summary"].as_str().unwrap().starts_with("RST"),
            "{rst}"
        );
        page.click("#ladder .row.st-error[data-kind=\"connect\"] .pkt-link").await;
        page.wait_for(
            &format!(
                "(() => {{ const r = document.querySelector('#ladder .row[data-seq=\"{rst_seq}\"]'); \
                 return r.classList.contains('flash') && r.classList.contains('selected') && r.dataset.flags === 'RST+ACK'; }})()"
            ),
            SHOW,
        )
        .await;
        page.eval("window.scrollTo(0, document.querySelector('.area-ladder').offsetTop - 8)")
            .await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        page.screenshot(&artifact("packets.png")).await;
        assert_no_errors(&page);
    })
    .await;
}

#[tokio::test]
async fn the_four_way_close_ends_in_time_wait() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let Some(app) = netns_app().await else {
            return;
        };
        let page = BrowserSession::open_sized(browser, &app, Isolation::Netns, 1280, 900).await;
        // Connected, then A closes first: its FIN, and B's kernel's ACK on its own.
        page.scenario("close").await.next_steps(7).await;
        let fin = page
            .wait_for(
                &format!(
                    "(() => {{ const a = {CALL_PACKETS}('close', 'ok'); return a && a.length ? a : null; }})()"
                ),
                SHOW,
            )
            .await;
        assert_eq!(fin[0], json!(["A", "B", "FIN+ACK seq=1 ack=1", true]));
        page.wait_for(
            "[...document.querySelectorAll('#scenario-steps .step-explain')].some((e) => /B’s kernel acknowledged it/.test(e.textContent))",
            SHOW,
        )
        .await;
        // B reads the end of the stream, closes: its FIN, and the last ACK from A's kernel.
        page.next_steps(2).await;
        // The close's segments on the wire, from A's FIN on. B's kernel acknowledges A's FIN
        // on its own, unless it held the ACK back long enough to send it with its own FIN.
        let close = page
            .wait_for(
                "(() => { const rows = [...document.querySelectorAll('#ladder .row')];                  const from = rows.findIndex((r) => r.dataset.flags === 'FIN+ACK');                  const pk = rows.slice(from).filter((r) => r.classList.contains('is-packet') && !r.classList.contains('is-control'))                    .map((r) => r.dataset.from + ' ' + r.querySelector('.pkt').textContent);                  return pk.at(-1) === 'A ACK seq=2 ack=2' ? pk : null; })()",
                SHOW,
            )
            .await;
        let close: Vec<&str> = close
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let four = [
            "A FIN+ACK seq=1 ack=1",
            "B ACK seq=1 ack=2",
            "B FIN+ACK seq=1 ack=2",
            "A ACK seq=2 ack=2",
        ];
        let three = [four[0], four[2], four[3]];
        assert!(close == four || close == three, "{close:?}");
        // A's end waits in TIME_WAIT with no descriptor: a ghost of a plug on host A.
        page.wait_for(
            "document.querySelector('#topology .ksock[data-host=\"A\"][data-state=\"TIME_WAIT\"]')",
            SHOW,
        )
        .await;
        page.wait_for(
            "document.querySelector('#ladder .row[data-kind=\"kernel_socket\"][data-host=\"A\"]')",
            SHOW,
        )
        .await;
        // Binding its port again fails, and the lesson says why.
        while page
            .eval("document.querySelector('#scenarios').dataset.done")
            .await
            != json!("true")
        {
            page.next_step().await;
        }
        let off = page
            .eval("[...document.querySelectorAll('#scenario-steps .step-off')].length")
            .await;
        assert_eq!(off, json!(0));
        let why = page
            .eval("[...document.querySelectorAll('#scenario-steps .step-explain')].map((e) => e.textContent).join('\\n')")
            .await;
        let why = why.as_str().unwrap();
        assert!(why.contains("EADDRINUSE: 10.0.0.1:"), "{why}");
        assert!(why.contains("TIME_WAIT with no descriptor"), "{why}");
        page.eval("window.scrollTo(0, 0)").await;
        page.screenshot(&artifact("time-wait.png")).await;
        assert_no_errors(&page);
    })
    .await;
}

#[tokio::test]
async fn share_link_opens_a_read_only_view_that_follows_live() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let owner = BrowserSession::open(browser, &app, Isolation::Loopback).await;
        let id = owner.id().to_owned();
        let link = owner
            .wait_for("(document.querySelector('#share-link') || {}).value", SHOW)
            .await;
        let link = link.as_str().unwrap().to_owned();
        assert!(link.contains(&format!("/s/{id}#viewer=pbv_")), "{link}");

        owner.scenario("udp").await.next_steps(1).await;
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
    .await;
}

/// B listens on 7070 (fd 3), A connects from its fd 3 and B accepts: the server's address
/// and the accept's answer.
async fn connected_pair(s: &common::app::ApiSession) -> (String, Value) {
    let server = s.addr("B", 7070);
    s.ok(json!({"host":"B","call":"socket","domain":"inet","type":"stream"}))
        .await;
    s.ok(json!({"host":"B","call":"bind","fd":3,"addr":server}))
        .await;
    s.ok(json!({"host":"B","call":"listen","fd":3,"backlog":2}))
        .await;
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    s.ok(json!({"host":"A","call":"connect","fd":3,"addr":server}))
        .await;
    let accepted = s.ok(json!({"host":"B","call":"accept","fd":3})).await;
    (server, accepted)
}

#[tokio::test]
async fn an_ended_session_opens_as_a_recording() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let s = app.session().await;
        let (server, accepted) = connected_pair(&s).await;
        let ended = s.end().await;
        // An ended session is read from the database, which the store's writer fills in
        // batches: for a moment after the end it may be missing or short there. Wait until
        // the whole log is stored.
        let last_seq = ended["last_seq"].as_u64().unwrap();
        let mut page_of_events = Value::Null;
        for _ in 0..100 {
            let (status, body) = app
                .get(&s.path("/events"), Some(&s.token))
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
    .await;
}

#[tokio::test]
async fn narrow_screen_has_one_column_and_works_by_keyboard() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let page = browser.new_page(390, 844).await;
        page.goto(&app.url("/")).await;
        assert_eq!(
            page.eval("document.documentElement.scrollWidth <= window.innerWidth")
                .await,
            json!(true),
            "the landing page fits a phone"
        );
        let page = BrowserSession::from_landing(page, &app, Isolation::Loopback).await;
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
        page.next_steps(5).await;
        page.wait_for("document.querySelector('#topology .wire-label')", SHOW)
            .await;
        page.eval("window.scrollTo(0, 0)").await;
        tokio::time::sleep(Duration::from_millis(1200)).await; // let the flights land
        page.screenshot(&artifact("session-narrow.png")).await;
        assert_no_errors(&page);
    })
    .await;
}

#[tokio::test]
async fn every_guided_scenario_runs_as_taught() {
    // Thirteen lessons of clicks, beside the other browser tests on a busy machine.
    with_browser(TEST_TIMEOUT * 3, async |browser: &Browser| {
        let app = TestApp::start().await;
        let page = BrowserSession::open(browser, &app, Isolation::Loopback).await;
        every_scenario(&page).await;
    })
    .await;
}

#[tokio::test]
async fn every_guided_scenario_runs_as_taught_with_packets() {
    with_browser(TEST_TIMEOUT * 4, async |browser: &Browser| {
        let Some(app) = netns_app().await else {
            return;
        };
        let page = BrowserSession::open(browser, &app, Isolation::Netns).await;
        every_scenario(&page).await;
        // Packets were drawn all along, and the page still had no error.
        let arrows = page
            .eval("document.querySelectorAll('#ladder .row.is-packet:not(.is-control)').length")
            .await;
        assert!(arrows.as_u64().unwrap() > 40, "packet rows: {arrows}");
    })
    .await;
}

/// Run every guided scenario to its end by clicking Next, checking each step went as taught
/// and each lesson closed what it opened.
async fn every_scenario(page: &Page) {
    let lessons = page
        .eval("[...document.querySelectorAll('#scenario-pick option')].map((o) => o.value)")
        .await;
    let lessons: Vec<String> = lessons
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(lessons.len() >= 8, "{lessons:?}");
    // Reset closes what a half-run lesson opened.
    for _ in 0..4 {
        next_step(page).await;
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
            next_step(page).await;
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
    assert_no_errors(page);
}

#[tokio::test]
async fn an_exercise_started_from_the_landing_page_shows_its_checklist() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let (status, catalog) = app.get("/api/exercises", None).await;
        if status == StatusCode::NOT_FOUND {
            common::report_skip("the server has no exercises API");
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
    .await;
}

#[tokio::test]
async fn a_blocked_call_is_shown_until_it_completes() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let page = BrowserSession::open(browser, &app, Isolation::Loopback).await;
        let snapshot = page.api.json().await;
        let b_ip = snapshot["hosts"][1]["addrs"][0].as_str().unwrap().to_owned();
        let call = |body: Value| page.api.call(body);
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
    .await;
}

#[tokio::test]
async fn a_wrong_link_says_what_is_wrong() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
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
    .await;
}

/// A page opened by URL marks itself ready (`<body data-ready="true">`) once it shows the
/// session, so a one-shot screenshot never catches "connecting…": the owner's link, the
/// read-only link (`#viewer=`) and a wrong link alike.
#[tokio::test]
async fn the_page_marks_when_it_is_ready() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let s = app.session().await;
        s.ok(json!({"host":"B","call":"socket","domain":"inet","type":"stream"}))
            .await;
        let ready = "document.body.dataset.ready === 'true'";
        // What the page shows at the moment it says it is ready, read in the same task.
        let shown = "[document.querySelector('#conn-status').textContent,                      document.querySelector('#mode-badge').textContent,                      document.querySelectorAll('#topology .host').length,                      document.querySelectorAll('#topology .plug[data-host=\"B\"]').length]";
        let at_ready = format!("(() => {{ if ({ready}) return {shown}; return null; }})()");
        for (fragment, badge) in [
            (format!("token={}", s.token), "live · owner"),
            (format!("viewer={}", s.viewer), "live · read-only"),
        ] {
            let page = browser.new_page(1280, 800).await;
            page.goto(&app.url(&format!("/s/{}#{fragment}", s.id))).await;
            let seen = page.wait_for(&at_ready, SHOW).await;
            assert_eq!(seen, json!(["● live", badge, 2, 1]), "#{fragment}");
            assert_no_errors(&page);
        }
        // A link that cannot open the session is ready too, with the reason shown.
        let page = browser.new_page(1280, 800).await;
        page.goto(&app.url(&format!("/s/{}", s.id))).await;
        page.wait_for(ready, SHOW).await;
        assert!(
            page.eval("document.querySelector('#banner').textContent")
                .await
                .as_str()
                .unwrap()
                .contains("no token")
        );
    })
    .await;
}

/// While a connection waits in B's accept queue, the wire from A's socket says so (it used
/// to say "peer gone"): from the listener's queue in loopback mode, from the kernel's socket
/// for the connection (`kernel_socket`) in netns mode.
#[tokio::test]
async fn a_connection_in_the_accept_queue_is_labelled_so() {
    with_browser(TEST_TIMEOUT * 2, async |browser: &Browser| {
        let mut apps = vec![("loopback", TestApp::start().await)];
        if let Some(app) = netns_app().await {
            apps.push(("netns", app));
        }
        for (mode, app) in &apps {
            let s = app.session().await;
            let page = browser.new_page(1280, 800).await;
            page.goto(&app.url(&format!("/s/{}#token={}", s.id, s.token)))
                .await;
            page.wait_for("document.body.dataset.ready === 'true'", SHOW)
                .await;
            let b = s.addr("B", 7400);
            for call in [
                json!({"host":"B","call":"socket","domain":"inet","type":"stream"}),
                json!({"host":"B","call":"bind","fd":3,"addr":b}),
                json!({"host":"B","call":"listen","fd":3,"backlog":2}),
                json!({"host":"A","call":"socket","domain":"inet","type":"stream"}),
                json!({"host":"A","call":"connect","fd":3,"addr":b}),
            ] {
                s.ok(call).await;
            }
            let label = page
                .wait_for(
                    "(document.querySelector('#topology .wire-label.half[data-reason=\"accept-queue\"]') || {}).textContent",
                    SHOW,
                )
                .await;
            let label = label.as_str().unwrap();
            assert!(label.starts_with("TCP (in accept queue)"), "{mode}: {label}");
            assert!(!label.contains("peer gone"), "{mode}: {label}");
            // accept gives it a descriptor: the wire joins the two sockets.
            s.ok(json!({"host":"B","call":"accept","fd":3})).await;
            page.wait_for(
                "document.querySelector('#topology .wire-label:not(.half)') \
                 && !document.querySelector('#topology .wire-label.half')",
                SHOW,
            )
            .await;
            assert_no_errors(&page);
        }
    })
    .await;
}

#[tokio::test]
async fn a_unix_connection_is_drawn_inside_its_host_with_its_path_and_layers() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let s = app.session().await;
        let page = browser.new_page(1280, 900).await;
        page.goto(&app.url(&format!("/s/{}#token={}", s.id, s.token)))
            .await;
        page.wait_for("document.body.dataset.ready === 'true'", SHOW)
            .await;
        for call in [
            json!({"host":"A","call":"socket","domain":"unix","type":"stream"}),
            json!({"host":"A","call":"bind","fd":3,"addr":"/tmp/echo.sock"}),
            json!({"host":"A","call":"listen","fd":3,"backlog":4}),
            json!({"host":"A","call":"socket","domain":"unix","type":"stream"}),
            json!({"host":"A","call":"connect","fd":4,"addr":"/tmp/echo.sock"}),
            json!({"host":"A","call":"accept","fd":3}),
            json!({"host":"B","call":"socket","domain":"inet","type":"stream"}),
            json!({"host":"B","call":"bind","fd":3,"addr":s.addr("B", 0)}),
        ] {
            s.ok(call).await;
        }
        // The listener shows its path, and the connection is a wire inside host A.
        let local = page
            .wait_for(
                "[...document.querySelectorAll('#topology .plug-local')].map((t) => t.textContent).find((t) => t.includes('/tmp/echo.sock'))",
                SHOW,
            )
            .await;
        assert!(local.as_str().unwrap().contains("/tmp/echo.sock"), "{local}");
        page.wait_for(
            "document.querySelector('#topology .wire-label.wire-unix.inside')",
            SHOW,
        )
        .await;
        // B's port was chosen by the kernel: its plug says so.
        page.wait_for(
            "[...document.querySelectorAll('#topology .plug')].some((p) => /ephemeral/.test(p.textContent))",
            SHOW,
        )
        .await;
        // The layers overlay names the layers, and says a Unix socket has no network below it.
        page.click("#topology-layers-toggle").await;
        let key = page
            .wait_for(
                "(() => { const k = document.querySelector('#topology-layers'); return k && !k.hidden && k.textContent; })()",
                SHOW,
            )
            .await;
        let key = key.as_str().unwrap();
        for layer in ["transport", "network", "link"] {
            assert!(key.to_lowercase().contains(layer), "{layer}: {key}");
        }
        assert_eq!(
            page.eval("document.querySelector('#topology-layers-toggle').getAttribute('aria-pressed')")
                .await,
            json!("true")
        );
        page.screenshot(&artifact("unix.png")).await;
        assert_no_errors(&page);
    })
    .await;
}

/// Without Chromium a browser test is skipped and says why in plain `cargo test` output, not
/// only under `--nocapture`: this test binary is run again on one browser test, with no
/// browser to find and the harness's default capture.
#[test]
fn a_skipped_browser_test_says_why_in_plain_cargo_test_output() {
    let skipped = "a_wrong_link_says_what_is_wrong";
    let run = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", skipped])
        .env("PLUGBOARD_CHROMIUM", "/nonexistent/chromium")
        .env_remove("PLUGBOARD_REQUIRE_BROWSER")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 passed"), "the test ran: {stdout}");
    assert!(
        stderr.contains(&format!("SKIPPED {skipped}: chromium not found")),
        "no skip line in the default output: stdout {stdout}\nstderr {stderr}"
    );
}

/// What the README tells a newcomer to run or rely on exists: the help command works as
/// written (a bare `plugboard` is not on the PATH after `cargo run`) and lists every flag of
/// the README's table; the page's URL forms and its ready mark (tested above) are documented.
#[test]
fn the_readme_tells_what_works() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        !readme.contains("Run `plugboard --help`"),
        "`plugboard` is not on the PATH after `cargo run`"
    );
    assert!(readme.contains("`cargo run --release -- --help`"));
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    let flags: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `--"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert!(flags.len() > 20, "{flags:?}");
    for flag in flags {
        assert!(
            help.contains(&format!("--{flag}")),
            "--{flag} is not in --help"
        );
    }
    for documented in [
        "/s/{id}#viewer={viewer_token}",
        "data-ready=\"true\"",
        "SKIPPED ",
    ] {
        assert!(readme.contains(documented), "README: {documented}");
    }
}

/// Without a browser: the shells and static files are served with the right types, cached
/// by ETag, under the CSP, and anything unknown is the API's JSON 404.
#[tokio::test]
async fn pages_speak_the_requests_language() {
    let app = TestApp::start().await;
    let get = |path: &str, header: reqwest::header::HeaderName, value: &str| {
        app.client.get(app.url(path)).header(header, value).send()
    };
    for path in ["/", "/s/0123456789abcdef"] {
        let page = get(
            path,
            reqwest::header::ACCEPT_LANGUAGE,
            "zh-CN,zh;q=0.9,en;q=0.8",
        )
        .await
        .unwrap();
        let headers = page.headers().clone();
        assert_eq!(headers["content-language"], "zh-CN", "{path}");
        let vary = headers["vary"].to_str().unwrap();
        assert!(
            vary.contains("Accept-Language") && vary.contains("Cookie"),
            "{vary}"
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("<html lang=\"zh-CN\">"), "{path}");
        assert!(html.contains("data-lang=\"en\""), "the switch on {path}");
    }
    let landing = get("/", reqwest::header::ACCEPT_LANGUAGE, "zh")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(landing.contains("新建会话"));
    // The switch's cookie wins over the browser's languages.
    let chosen = app
        .client
        .get(app.url("/"))
        .header(reqwest::header::ACCEPT_LANGUAGE, "zh-CN")
        .header(reqwest::header::COOKIE, "plugboard_lang=en")
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.headers()["content-language"], "en");
    assert!(chosen.text().await.unwrap().contains("New session"));
}

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

/// Make `page` ask for `accept_language` (as a browser set to that language does).
async fn speak(page: &Page, accept_language: &str) {
    let agent = page.eval("navigator.userAgent").await;
    page.command(
        "Emulation.setUserAgentOverride",
        json!({"userAgent": agent, "acceptLanguage": accept_language}),
    )
    .await;
}

/// `GET path` of `app` with `Accept-Language: zh-CN`: the JSON answer.
async fn get_in_chinese(app: &TestApp, path: &str) -> Value {
    let response = app
        .client
        .get(app.url(path))
        .header(reqwest::header::ACCEPT_LANGUAGE, "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_tcp_scenario_runs_in_chinese() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        // A browser set to Chinese gets the landing page in Chinese.
        let page = browser.new_page(1280, 800).await;
        speak(&page, "zh-CN,zh;q=0.9").await;
        page.goto(&app.url("/")).await;
        assert_eq!(page.eval("document.documentElement.lang").await, json!("zh-CN"));
        assert_eq!(
            page.eval("document.querySelector('#new-session').textContent").await,
            json!("新建会话")
        );
        let page = BrowserSession::from_landing(page, &app, Isolation::Loopback).await;
        assert_eq!(page.eval("document.documentElement.lang").await, json!("zh-CN"));
        assert_eq!(
            page.eval("document.querySelector('#scenarios-title').textContent").await,
            json!("引导场景")
        );
        page.wait_for(
            "document.querySelector('#console-submit') && document.querySelector('#console-submit').textContent === '发起调用'",
            SHOW,
        )
        .await;

        // The TCP lesson in Chinese, up to the accept queue and the data both ways.
        page.scenario("tcp").await;
        assert_eq!(
            page.eval("document.querySelector('#scenario-next').textContent").await,
            json!("开始")
        );
        let steps = page
            .eval("document.querySelector('#scenario-steps').textContent")
            .await;
        assert!(steps.as_str().unwrap().contains("三次握手"), "{steps}");
        page.next_steps(5).await;
        page.wait_for(
            "(document.querySelector('.plug[data-state=\"LISTEN\"] .queue-text') || {}).textContent === '1/4'",
            SHOW,
        )
        .await;
        page.wait_for(
            "document.querySelector('#topology .plug-note').textContent === '监听队列'",
            SHOW,
        )
        .await;
        page.next_steps(5).await;

        // An error from the console, as in the English picture.
        let (_, snapshot) = app
            .get(&format!("/api/sessions/{}", page.id()), Some(page.token()))
            .await;
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
        // The README's Chinese picture.
        page.eval("window.scrollTo(0, 0)").await;
        tokio::time::sleep(Duration::from_millis(1200)).await; // let the flights land
        page.screenshot(&artifact("session.zh-CN.png")).await;
        page.screenshot_full(&artifact("session-full.zh-CN.png")).await;

        // The rest of the lesson: it ends saying so in Chinese.
        while page
            .eval("document.querySelector('#scenarios').dataset.done")
            .await
            != json!("true")
        {
            page.next_step().await;
        }
        page.wait_for(
            "document.querySelector('#scenario-status').textContent.startsWith('完成')",
            SHOW,
        )
        .await;
        assert_eq!(page.ladder_calls().await.len(), 16, "14 lesson calls and 2 by hand");
        page.assert_no_errors();
    })
    .await;
}

#[tokio::test]
async fn the_language_switch_is_remembered_and_an_exercise_runs_in_chinese() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let (status, _) = app.get("/api/exercises", None).await;
        if status == StatusCode::NOT_FOUND {
            common::report_skip("the server has no exercises API");
            return;
        }
        let catalog = get_in_chinese(&app, "/api/exercises").await;
        let first = catalog[0]["id"].as_str().expect("an exercise").to_owned();
        let exercise = get_in_chinese(&app, &format!("/api/exercises/{first}")).await;

        // An English page; one click on the switch and it is Chinese, now and next time.
        let page = browser.new_page(1280, 800).await;
        speak(&page, "en-US,en;q=0.9").await;
        page.goto(&app.url("/")).await;
        assert_eq!(page.eval("document.documentElement.lang").await, json!("en"));
        page.wait_for("document.querySelector('.exercise')", SHOW).await;
        page.click(".lang-switch [data-lang=\"zh-CN\"]").await;
        page.wait_for(
            "document.readyState === 'complete' && document.documentElement.lang === 'zh-CN' \
             && document.querySelector('.exercise')",
            SHOW,
        )
        .await;
        assert_eq!(
            page.eval("document.cookie.includes('plugboard_lang=zh-CN')").await,
            json!(true)
        );
        assert_eq!(
            page.eval("document.querySelector('.lang-switch [aria-current=\"true\"]').dataset.lang")
                .await,
            json!("zh-CN")
        );
        // The exercises as the API gives them in Chinese (the cookie goes with every fetch).
        page.wait_for(
            &format!(
                "document.querySelector('.exercise strong').textContent === {}",
                js_string(catalog[0]["title"].as_str().unwrap())
            ),
            SHOW,
        )
        .await;

        page.wait_for(
            "document.querySelector('#isolation').textContent === 'loopback'",
            SHOW,
        )
        .await;
        page.screenshot(&artifact("landing.zh-CN.png")).await;

        page.click(&format!("button[data-exercise={}]", js_string(&first)))
            .await;
        page.wait_for(
            "location.pathname.startsWith('/s/') && !document.querySelector('#exercise-panel').hidden",
            SHOW,
        )
        .await;
        assert_eq!(page.eval("document.documentElement.lang").await, json!("zh-CN"));
        page.wait_for(
            &format!(
                "document.querySelector('#exercise-panel .ex-title').textContent === {}",
                js_string(exercise["title"].as_str().unwrap())
            ),
            SHOW,
        )
        .await;
        let first_paragraph = exercise["text"]
            .as_str()
            .unwrap()
            .trim()
            .split("\n\n")
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        page.wait_for(
            &format!(
                "document.querySelector('#exercise .ex-body p').textContent.split(/\\s+/).join(' ') === {}",
                js_string(&first_paragraph)
            ),
            SHOW,
        )
        .await;
        assert_eq!(
            page.eval("document.querySelector('#exercise-title').textContent").await,
            json!("练习")
        );
        let checks = exercise["checks"].as_array().unwrap().len();
        page.wait_for(
            &format!(
                "document.querySelectorAll('#exercise-checks .ex-check').length === {checks} \
                 && document.querySelector('#exercise-score').textContent.startsWith('已通过 ')"
            ),
            SHOW,
        )
        .await;
        page.click("#exercise-grade").await;
        page.wait_for(
            "document.querySelector('#exercise-note').textContent.startsWith('已保存为第')",
            SHOW,
        )
        .await;
        page.eval("window.scrollTo(0, 0)").await;
        page.screenshot(&artifact("exercise.zh-CN.png")).await;
        assert_no_errors(&page);
    })
    .await;
}

/// The export of `s` in `lang` as the API gives it in `accept_language`.
async fn export_of(
    app: &TestApp,
    s: &common::app::ApiSession,
    lang: &str,
    accept_language: &str,
) -> Value {
    let response = app
        .client
        .get(app.url(&s.path(&format!("/export?lang={lang}"))))
        .bearer_auth(&s.token)
        .header(reqwest::header::ACCEPT_LANGUAGE, accept_language)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "export {lang}");
    response.json().await.unwrap()
}

/// The page shows `export`'s files as tabs, and file `i` open in the code view with its
/// text exactly.
async fn shows_export(page: &Page, export: &Value, i: usize) {
    let files = export["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    page.wait_for(
        &format!(
            "JSON.stringify([...document.querySelectorAll('#export-tabs .export-tab')].map((t) => t.dataset.name)) === {} \
             && document.querySelector('#export-file').dataset.name === {} \
             && document.querySelector('#export-code').textContent === {}",
            js_string(&serde_json::to_string(&names).unwrap()),
            js_string(names[i]),
            js_string(files[i]["content"].as_str().unwrap()),
        ),
        SHOW,
    )
    .await;
}

#[tokio::test]
async fn a_session_exports_as_code_to_read_copy_and_download() {
    with_browser(TEST_TIMEOUT, async |browser: &Browser| {
        let app = TestApp::start().await;
        let s = app.session().await;
        connected_pair(&s).await;

        // The owner exports C: a tab per host, the first program shown as the API wrote it.
        let page = browser.new_page(1280, 900).await;
        page.goto(&app.url(&format!("/s/{}#token={}", s.id, s.token)))
            .await;
        page.wait_for(
            "!document.querySelector('#export-panel').hidden \
             && document.querySelector('#export-title').textContent === 'Export as code'",
            SHOW,
        )
        .await;
        page.click("#export-lang-c").await;
        let c = export_of(&app, &s, "c", "en").await;
        assert!(c["files"].as_array().unwrap().len() >= 2, "{c}");
        shows_export(&page, &c, 0).await;
        assert_eq!(
            page.eval("document.querySelector('#export-lang-c').getAttribute('aria-pressed')")
                .await,
            json!("true")
        );
        assert_eq!(
            page.eval("document.querySelector('#export-readme pre').textContent")
                .await,
            c["readme"]
        );
        page.click("#export-tab-1").await;
        shows_export(&page, &c, 1).await;

        // Copy puts the program on the clipboard, or where there is none selects it whole.
        page.click("#export-copy").await;
        let content = c["files"][1]["content"].as_str().unwrap();
        page.wait_for(
            &format!(
                "document.querySelector('#export-copy').textContent === 'Copied' \
                 || window.getSelection().toString() === {}",
                js_string(content)
            ),
            SHOW,
        )
        .await;

        // Download hands the browser a file of the program's name and exact text.
        page.eval(
            "window.downloaded = null; \
             const blobs = new Map(); const make = URL.createObjectURL; \
             URL.createObjectURL = (blob) => { const url = make(blob); blobs.set(url, blob); return url; }; \
             HTMLAnchorElement.prototype.click = function () { \
               const blob = blobs.get(this.href); \
               if (this.download && blob) window.downloaded = blob.text() \
                 .then((text) => ({ name: this.download, type: blob.type, text })); }",
        )
        .await;
        page.click("#export-download").await;
        let downloaded = page
            .wait_for(
                "window.downloaded && window.downloaded.then((d) => d)",
                SHOW,
            )
            .await;
        assert_eq!(downloaded["name"], c["files"][1]["name"]);
        assert_eq!(downloaded["text"], c["files"][1]["content"]);
        assert_eq!(downloaded["type"], "text/plain;charset=utf-8");

        // The session goes on: the page says its programs are behind, and exports again.
        let (status, refused) = s
            .call(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{refused}");
        s.call(json!({"host":"A","call":"connect","fd":4,"addr":s.addr("B", 7071)}))
            .await;
        page.wait_for("!!document.querySelector('#export-again')", SHOW)
            .await;
        page.click("#export-again").await;
        let again = export_of(&app, &s, "c", "en").await;
        assert!(
            again["files"].to_string().contains("ECONNREFUSED"),
            "the refused connect is in the new export: {again}"
        );
        shows_export(&page, &again, 1).await;
        page.wait_for("!document.querySelector('#export-again')", SHOW)
            .await;

        // Python too, the same way.
        page.click("#export-lang-python").await;
        shows_export(&page, &export_of(&app, &s, "python", "en").await, 0).await;
        page.eval("document.querySelector('#export-panel').scrollIntoView()")
            .await;
        page.screenshot(&artifact("export.png")).await;
        assert_no_errors(&page);

        // An ended session, read-only, in Chinese: Rust with its Cargo.toml, comments in Chinese.
        s.end().await;
        let viewer = browser.new_page(1280, 900).await;
        speak(&viewer, "zh-CN").await;
        viewer
            .goto(&app.url(&format!("/s/{}#viewer={}", s.id, s.viewer)))
            .await;
        viewer
            .wait_for(
                "!document.querySelector('#export-panel').hidden \
                 && document.querySelector('#export-title').textContent === '导出为代码'",
                SHOW,
            )
            .await;
        viewer.click("#export-lang-rust").await;
        let rust = export_of(&app, &s, "rust", "zh-CN").await;
        assert!(
            rust["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == "Cargo.toml" && f["host"].is_null()),
            "{rust}"
        );
        assert!(
            rust["readme"].as_str().unwrap().contains("主机"),
            "the readme is written in Chinese: {}",
            rust["readme"]
        );
        shows_export(&viewer, &rust, 0).await;
        assert_eq!(
            viewer
                .eval("document.querySelector('#export-copy').textContent")
                .await,
            json!("复制")
        );
        assert_no_errors(&viewer);
    })
    .await;
}
