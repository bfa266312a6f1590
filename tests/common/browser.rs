//! A headless Chromium driven over the Chrome DevTools Protocol, for the browser tests: no
//! npm, no downloaded browser, only the system's `chromium` and a WebSocket.
//!
//! [`Browser::launch`] starts Chromium with a throw-away profile and connects to its
//! DevTools socket; one task reads the socket and hands answers to the commands waiting for
//! them and page events (uncaught exceptions, `console.error`, error log entries) to the page
//! they belong to. [`Page`] is a tab: `goto`, `eval`, `click`, `fill`, `select`, `wait_for`,
//! `screenshot`. Chromium is killed and its profile removed when the `Browser` drops.
//! [`BrowserSession`] is a tab on a session made from the landing page, with the steps the
//! tests take on it (pick a scenario, take its steps, read the ladder and the API's log).
//!
//! When Chromium is not installed the tests skip, with a line `SKIPPED <test>: chromium not
//! found …` in the test run's output (see `common::report_skip`), unless
//! `PLUGBOARD_REQUIRE_BROWSER` is set, in which case they fail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, SemaphorePermit, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::app::{ApiSession, Isolation, TestApp};

/// Longest one DevTools command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest Chromium may take to open its DevTools port.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How often `wait_for` and `click` look again.
const POLL: Duration = Duration::from_millis(40);
/// How long `click`, `fill` and `select` wait for their element to be usable.
const ACTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Browsers running at once across the tests of a binary, so a small CI machine is not asked
/// for one Chromium per test thread.
const MAX_BROWSERS: usize = 4;
/// Where Debian installs Chromium; other names are looked up on PATH.
const CHROMIUM_PATHS: &[&str] = &[
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The Chromium executable: `PLUGBOARD_CHROMIUM` when set, else Debian's or one on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PLUGBOARD_CHROMIUM") {
        // Set, it is the only candidate (a path that is not there means "no browser").
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for candidate in CHROMIUM_PATHS {
        let candidate = Path::new(candidate);
        if candidate.is_absolute() {
            if candidate.is_file() {
                return Some(candidate.to_owned());
            }
            continue;
        }
        for dir in &path_dirs {
            let full = dir.join(candidate);
            if full.is_file() {
                return Some(full);
            }
        }
    }
    None
}

/// Turns to start a browser (see [`MAX_BROWSERS`]); the semaphore is not tied to a runtime,
/// so the tests' separate runtimes can share it.
static BROWSER_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(MAX_BROWSERS));

/// A browser, or `None` (after saying so) when Chromium is not installed and not required.
pub async fn launch() -> Option<Browser> {
    let Some(exe) = find_chromium() else {
        if std::env::var_os("PLUGBOARD_REQUIRE_BROWSER").is_some() {
            panic!("PLUGBOARD_REQUIRE_BROWSER is set but chromium was not found");
        }
        super::report_skip(
            "chromium not found (install it, or set PLUGBOARD_CHROMIUM to its path)",
        );
        return None;
    };
    let slot = BROWSER_SLOTS.acquire().await.unwrap();
    let mut browser = Browser::launch(&exe).await;
    browser._slot = Some(slot);
    Some(browser)
}

/// What a page reported that a test should fail on.
#[derive(Debug, Default)]
struct PageReports {
    /// Exceptions, console errors and error log entries, as text.
    errors: Mutex<Vec<String>>,
}

/// The DevTools connection: commands out, answers and events in.
#[derive(Debug)]
struct Connection {
    /// Messages to send, written by the writer task.
    outgoing: mpsc::UnboundedSender<Message>,
    /// The next command id.
    next_id: AtomicU64,
    /// Commands waiting for their answer, by id.
    waiting: Mutex<HashMap<u64, oneshot::Sender<Value>>>,
    /// Pages by DevTools session id, for their events.
    pages: Mutex<HashMap<String, Arc<PageReports>>>,
}

impl Connection {
    async fn send(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().insert(id, tx);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.outgoing
            .send(Message::Text(message.to_string().into()))
            .map_err(|_| format!("{method}: the DevTools connection is closed"))?;
        let answer = tokio::time::timeout(COMMAND_TIMEOUT, rx)
            .await
            .map_err(|_| format!("{method}: no answer in {COMMAND_TIMEOUT:?}"))?
            .map_err(|_| format!("{method}: the DevTools connection closed"))?;
        match answer.get("error") {
            Some(error) => Err(format!("{method}: {error}")),
            None => Ok(answer.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// One message from Chromium: an answer, or an event for a page.
    fn receive(&self, message: Value) {
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            if let Some(tx) = self.waiting.lock().unwrap().remove(&id) {
                tx.send(message).ok(/* the command timed out already */);
            }
            return;
        }
        let Some(session) = message.get("sessionId").and_then(Value::as_str) else {
            return;
        };
        let Some(page) = self.pages.lock().unwrap().get(session).cloned() else {
            return;
        };
        let params = &message["params"];
        let error = match message["method"].as_str().unwrap_or("") {
            "Runtime.exceptionThrown" => {
                let details = &params["exceptionDetails"];
                let description = details["exception"]["description"]
                    .as_str()
                    .or(details["text"].as_str())
                    .unwrap_or("exception");
                Some(format!(
                    "uncaught: {description} at {}:{}",
                    details["url"].as_str().unwrap_or("?"),
                    details["lineNumber"]
                ))
            }
            "Runtime.consoleAPICalled"
                if params["type"] == "error" || params["type"] == "assert" =>
            {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .map(|args| {
                        args.iter()
                            .map(|a| {
                                a.get("value")
                                    .map(|v| v.to_string())
                                    .or_else(|| a["description"].as_str().map(str::to_owned))
                                    .unwrap_or_default()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Some(format!(
                    "console.{}: {}",
                    params["type"].as_str().unwrap_or("error"),
                    args.join(" ")
                ))
            }
            "Log.entryAdded" if params["entry"]["level"] == "error" => {
                let entry = &params["entry"];
                Some(format!(
                    "log ({}): {} {}",
                    entry["source"].as_str().unwrap_or("?"),
                    entry["text"].as_str().unwrap_or(""),
                    entry["url"].as_str().unwrap_or("")
                ))
            }
            _ => None,
        };
        if let Some(error) = error {
            page.errors.lock().unwrap().push(error);
        }
    }
}

/// The port Chromium writes to `DevToolsActivePort` in its profile once DevTools listens.
async fn devtools_port(process: &mut Process, profile: &Path) -> u16 {
    let file = profile.join("DevToolsActivePort");
    let log = || std::fs::read_to_string(profile.join("chromium.log")).unwrap_or_default();
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Some(port) = text.lines().next().and_then(|l| l.trim().parse().ok()) {
                return port;
            }
        }
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!(
                "chromium exited ({status}) before opening DevTools:\n{}",
                log()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "chromium did not open DevTools in {START_TIMEOUT:?}:\n{}",
                log()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The Chromium process, killed when dropped (also when a test panics while starting it).
#[derive(Debug)]
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        self.0.kill().ok(/* already gone */);
        self.0.wait().ok(/* reaped either way */);
    }
}

/// A running Chromium with a DevTools connection. Killed on drop.
#[derive(Debug)]
pub struct Browser {
    /// The DevTools connection.
    connection: Arc<Connection>,
    /// The tasks that read and write the DevTools socket.
    tasks: Vec<JoinHandle<()>>,
    /// The Chromium process (dropped before the profile it uses).
    process: Process,
    /// The throw-away profile, removed on drop.
    profile: tempfile::TempDir,
    /// This browser's turn among [`MAX_BROWSERS`], given back on drop.
    _slot: Option<SemaphorePermit<'static>>,
}

impl Browser {
    /// Start Chromium and connect to it.
    pub async fn launch(exe: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(profile.path().join("chromium.log")).unwrap();
        let child = Command::new(exe)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--mute-audio",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
        let mut process = Process(child);
        let port = devtools_port(&mut process, profile.path()).await;
        let version: Value = reqwest::get(format!("http://127.0.0.1:{port}/json/version"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = version["webSocketDebuggerUrl"]
            .as_str()
            .expect("a webSocketDebuggerUrl in /json/version")
            .to_owned();
        let (socket, _) =
            tokio::time::timeout(COMMAND_TIMEOUT, tokio_tungstenite::connect_async(url))
                .await
                .expect("connecting to DevTools timed out")
                .expect("connecting to DevTools");
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        let connection = Arc::new(Connection {
            outgoing,
            next_id: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
            pages: Mutex::new(HashMap::new()),
        });
        let writer = tokio::spawn(async move {
            while let Some(message) = to_send.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let reader = {
            let connection = connection.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    if let Message::Text(text) = message {
                        if let Ok(value) = serde_json::from_str(&text) {
                            connection.receive(value);
                        }
                    }
                }
            })
        };
        Browser {
            connection,
            tasks: vec![writer, reader],
            process,
            profile,
            _slot: None,
        }
    }

    /// A new tab at about:blank, with the viewport given.
    pub async fn new_page(&self, width: u32, height: u32) -> Page {
        let created = self
            .connection
            .send(
                None,
                "Target.createTarget",
                // A window of its own, so that every page is visible (a background tab's
                // timers are throttled).
                json!({"url": "about:blank", "newWindow": true, "width": width, "height": height}),
            )
            .await
            .unwrap();
        let target = created["targetId"].as_str().unwrap().to_owned();
        let attached = self
            .connection
            .send(
                None,
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await
            .unwrap();
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        let reports = Arc::new(PageReports::default());
        self.connection
            .pages
            .lock()
            .unwrap()
            .insert(session.clone(), reports.clone());
        let page = Page {
            connection: self.connection.clone(),
            session,
            reports,
        };
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            page.command(domain, json!({})).await;
        }
        page.viewport(width, height).await;
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One tab.
#[derive(Debug)]
pub struct Page {
    connection: Arc<Connection>,
    /// The DevTools session attached to the tab.
    session: String,
    /// Errors the tab reported.
    reports: Arc<PageReports>,
}

/// Write the PNG of a `Page.captureScreenshot` answer to `path` (directories are created).
fn save_png(shot: &Value, path: &Path) {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// A JavaScript string literal of `text`.
pub fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

impl Page {
    /// Send a DevTools command to this tab; panics on failure.
    pub async fn command(&self, method: &str, params: Value) -> Value {
        self.connection
            .send(Some(&self.session), method, params)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Emulate a screen of this size (CSS pixels).
    pub async fn viewport(&self, width: u32, height: u32) {
        self.command(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await;
    }

    /// Open `url` and wait until it has loaded.
    pub async fn goto(&self, url: &str) {
        let answer = self.command("Page.navigate", json!({"url": url})).await;
        if let Some(error) = answer.get("errorText").and_then(Value::as_str) {
            panic!("navigating to {url}: {error}");
        }
        let check = format!(
            "document.readyState === 'complete' && location.href === {}",
            js_string(url)
        );
        self.wait_for(&check, ACTION_TIMEOUT).await;
    }

    /// Evaluate an expression (promises awaited); its value, or the exception as text.
    pub async fn try_eval(&self, expression: &str) -> Result<Value, String> {
        let answer = self
            .connection
            .send(
                Some(&self.session),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true, "userGesture": true}),
            )
            .await?;
        if let Some(details) = answer.get("exceptionDetails") {
            return Err(details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("exception")
                .to_owned());
        }
        Ok(answer["result"]
            .get("value")
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Evaluate an expression; panics when it throws.
    pub async fn eval(&self, expression: &str) -> Value {
        self.try_eval(expression)
            .await
            .unwrap_or_else(|e| panic!("evaluating `{expression}`: {e}"))
    }

    /// Wait until `expression` is truthy; its value. Panics after `timeout`, showing what the
    /// page says and any errors it reported.
    pub async fn wait_for(&self, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Ok(Value::Null);
        while Instant::now() < deadline {
            last = self.try_eval(expression).await;
            if let Ok(value) = &last {
                let truthy = match value {
                    Value::Null => false,
                    Value::Bool(b) => *b,
                    Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                };
                if truthy {
                    return value.clone();
                }
            }
            tokio::time::sleep(POLL).await;
        }
        let text = self
            .try_eval("document.body ? document.body.innerText.slice(0, 3000) : ''")
            .await
            .unwrap_or_default();
        panic!(
            "waited {timeout:?} for `{expression}` (last: {last:?})\nerrors: {:#?}\npage text:\n{}",
            self.errors(),
            text.as_str().unwrap_or("")
        );
    }

    /// Click the element `selector` names with the mouse, once it is visible, enabled and
    /// not covered (waiting up to a few seconds for that).
    pub async fn click(&self, selector: &str) {
        // The point is taken only once the element has stood still for a frame (a ladder that
        // follows new rows, or a smooth scroll, moves it), and a capturing listener checks the
        // click really reached it: if the page moved between the look and the press, it is
        // done again rather than reported as the page's failure.
        let probe = format!(
            r#"(async () => {{
                const el = document.querySelector({sel});
                if (!el) return 'no element';
                if (el.disabled) return 'disabled';
                el.scrollIntoView({{block: 'center', inline: 'center'}});
                const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
                await frame();
                const a = el.getBoundingClientRect();
                await frame();
                const r = el.getBoundingClientRect();
                if (r.width === 0 || r.height === 0) return 'not visible';
                if (a.left !== r.left || a.top !== r.top) return 'moving';
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                const hit = document.elementFromPoint(x, y);
                if (!hit || !(hit === el || el.contains(hit))) return 'covered by ' + (hit ? hit.outerHTML.slice(0, 120) : 'nothing');
                window.__pbClick = {{ landed: null }};
                document.addEventListener('click', (e) => {{
                    window.__pbClick.landed = el.contains(e.target) ? true : e.target.outerHTML.slice(0, 120);
                }}, {{ capture: true, once: true }});
                return {{x, y}};
            }})()"#,
            sel = js_string(selector)
        );
        let deadline = Instant::now() + ACTION_TIMEOUT;
        loop {
            let last = match self.try_eval(&probe).await {
                Ok(Value::Object(point)) => {
                    let (x, y) = (point["x"].clone(), point["y"].clone());
                    for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
                        self.command(
                            "Input.dispatchMouseEvent",
                            json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
                        )
                        .await;
                    }
                    // Only a click seen on another element is retried: a click that
                    // navigated leaves a new document without the listener's record.
                    match self
                        .try_eval("window.__pbClick && window.__pbClick.landed")
                        .await
                    {
                        Ok(Value::String(elsewhere)) => format!("the click landed on {elsewhere}"),
                        _ => return,
                    }
                }
                other => format!("{other:?}"),
            };
            if Instant::now() > deadline {
                panic!(
                    "cannot click `{selector}`: {last}\nerrors: {:#?}",
                    self.errors()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Wait until `selector` names an enabled element.
    async fn usable(&self, selector: &str) {
        let check = format!(
            "(() => {{ const el = document.querySelector({}); return !!el && !el.disabled; }})()",
            js_string(selector)
        );
        self.wait_for(&check, ACTION_TIMEOUT).await;
    }

    /// Type `value` into the input `selector` names, replacing what it held.
    pub async fn fill(&self, selector: &str, value: &str) {
        self.usable(selector).await;
        let clear = format!(
            r#"(() => {{
                const el = document.querySelector({});
                el.focus();
                Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, '');
                el.dispatchEvent(new Event('input', {{bubbles: true}}));
                return true;
            }})()"#,
            js_string(selector)
        );
        self.eval(&clear).await;
        self.command("Input.insertText", json!({"text": value}))
            .await;
        let changed = format!(
            "document.querySelector({}).dispatchEvent(new Event('change', {{bubbles: true}}))",
            js_string(selector)
        );
        self.eval(&changed).await;
    }

    /// Choose `value` in the select `selector` names.
    pub async fn select(&self, selector: &str, value: &str) {
        self.usable(selector).await;
        let script = format!(
            r#"(() => {{
                const el = document.querySelector({});
                if (![...el.options].some((o) => o.value === {v})) throw new Error('no option ' + {v});
                el.focus();
                el.value = {v};
                el.dispatchEvent(new Event('input', {{bubbles: true}}));
                el.dispatchEvent(new Event('change', {{bubbles: true}}));
                return true;
            }})()"#,
            js_string(selector),
            v = js_string(value)
        );
        self.eval(&script).await;
    }

    /// Press a key (as the keyboard would: keydown then keyup): "Tab", "Enter", " ",
    /// "Escape", "ArrowDown" or "ArrowUp".
    pub async fn press(&self, key: &str) {
        let (code, key_code, text) = match key {
            "Tab" => ("Tab", 9, ""),
            "Enter" => ("Enter", 13, "\r"),
            " " => ("Space", 32, " "),
            "Escape" => ("Escape", 27, ""),
            "ArrowDown" => ("ArrowDown", 40, ""),
            "ArrowUp" => ("ArrowUp", 38, ""),
            other => panic!("press: unknown key {other}"),
        };
        self.command(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": key_code, "text": text}),
        )
        .await;
        self.command(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": key_code}),
        )
        .await;
    }

    /// Save a PNG of the viewport to `path` (directories are created).
    pub async fn screenshot(&self, path: &Path) {
        let shot = self
            .command("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        save_png(&shot, path);
    }

    /// Save a PNG of the whole page, beyond the viewport.
    pub async fn screenshot_full(&self, path: &Path) {
        let shot = self
            .command(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        save_png(&shot, path);
    }

    /// Errors the page reported so far: uncaught exceptions, console.error, error log
    /// entries (failed requests included).
    pub fn errors(&self) -> Vec<String> {
        self.reports.errors.lock().unwrap().clone()
    }
}

/// How long the page may take to show something after an action.
pub const SHOW: Duration = Duration::from_secs(10);

/// A visitor's tab on a session it made itself, by clicking "new session" on the landing page
/// of a test server: the page, and the session as the API reaches it. Dereferences to its
/// [`Page`], so a test reads as its steps: `s.scenario("handshake").await;
/// s.next_steps(5).await; s.assert_no_errors();`.
#[derive(Debug)]
pub struct BrowserSession {
    pub page: Page,
    /// The session the page made, reached through the API with the page's owner token.
    pub api: ApiSession,
}

impl std::ops::Deref for BrowserSession {
    type Target = Page;
    fn deref(&self) -> &Page {
        &self.page
    }
}

/// The word the landing page shows for a server in `isolation`.
fn isolation_shown(isolation: Isolation) -> &'static str {
    match isolation {
        // Where the server may, auto is netns; the tests that use it say which they expect.
        Isolation::Auto => "netns",
        other => other.as_str(),
    }
}

impl BrowserSession {
    /// A new 1280×800 tab that makes a session from the landing page of `app`, a server in
    /// `isolation` mode.
    pub async fn open(browser: &Browser, app: &TestApp, isolation: Isolation) -> BrowserSession {
        Self::open_sized(browser, app, isolation, 1280, 800).await
    }

    /// [`Self::open`] with a viewport of `width`×`height`.
    pub async fn open_sized(
        browser: &Browser,
        app: &TestApp,
        isolation: Isolation,
        width: u32,
        height: u32,
    ) -> BrowserSession {
        let page = browser.new_page(width, height).await;
        Self::from_landing(page, app, isolation).await
    }

    /// Make a session by clicking on the landing page of `app` in `page`.
    pub async fn from_landing(page: Page, app: &TestApp, isolation: Isolation) -> BrowserSession {
        page.goto(&app.url("/")).await;
        page.wait_for(
            &format!(
                "document.querySelector('#isolation').textContent === {}",
                js_string(isolation_shown(isolation))
            ),
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
        let api = app.session_of(id.as_str().unwrap(), token.as_str().unwrap());
        BrowserSession { page, api }
    }

    /// The session's id.
    pub fn id(&self) -> &str {
        &self.api.id
    }

    /// The owner token the page holds.
    pub fn token(&self) -> &str {
        &self.api.token
    }

    /// Pick the guided scenario `name`.
    pub async fn scenario(&self, name: &str) -> &Self {
        self.page.select("#scenario-pick", name).await;
        self
    }

    /// Click the scenario's Next button `n` times, each time waiting for the step to finish.
    pub async fn next_steps(&self, n: usize) {
        for _ in 0..n {
            next_step(&self.page).await;
        }
    }

    /// One step of the scenario.
    pub async fn next_step(&self) {
        next_step(&self.page).await;
    }

    /// The session's events, from the API.
    pub async fn api_events(&self) -> Vec<Value> {
        self.api.events().await
    }

    /// (host, kind) of the ladder's call rows, top to bottom.
    pub async fn ladder_calls(&self) -> Vec<String> {
        ladder_calls(&self.page).await
    }

    /// The page reported no exception, console error or failed request.
    pub fn assert_no_errors(&self) {
        assert_no_errors(&self.page);
    }
}

/// The page reported no exception, console error or failed request.
pub fn assert_no_errors(page: &Page) {
    let errors = page.errors();
    assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
}

/// Click the scenario's Next button once and wait for the step to finish (or for the lesson to
/// end: a netns-only lesson ends after its first step in loopback mode).
pub async fn next_step(page: &Page) {
    let before = page
        .eval("Number(document.querySelector('#scenarios').dataset.step)")
        .await
        .as_u64()
        .unwrap();
    page.click("#scenario-next").await;
    page.wait_for(
        &format!(
            "(() => {{ const s = document.querySelector('#scenarios'); \
             return (Number(s.dataset.step) === {} && !document.querySelector('#scenario-next').disabled) \
                 || (Number(s.dataset.step) > {} && s.dataset.done === 'true'); }})()",
            before + 1,
            before
        ),
        SHOW,
    )
    .await;
}

/// (host, kind) of the ladder's call rows of `page`, top to bottom.
pub async fn ladder_calls(page: &Page) -> Vec<String> {
    let rows = page
        .eval("[...document.querySelectorAll('#ladder .row.is-call')].map((r) => r.dataset.host + ' ' + r.dataset.kind)")
        .await;
    rows.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}
