//! A small Chrome DevTools Protocol client: launches Debian's `chromium`
//! headless with a fresh profile, opens pages, evaluates JavaScript, and
//! records each page's console errors and network requests.
//!
//! Why not `chromiumoxide`: its generated protocol crate costs minutes of
//! compile on a 2-core CI machine, and these tests need eight CDP methods.
//! The WebSocket client (`tokio-tungstenite`) is already in the tree via axum.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// What a page did: console errors, exceptions, requests.
#[derive(Debug, Default, Clone)]
pub struct PageLog {
    /// Console `error`/`assert` calls, uncaught exceptions, and browser log
    /// entries of level `error` (CSP violations, failed loads).
    pub errors: Vec<String>,
    /// Every request URL the page started.
    pub requests: Vec<String>,
    /// Bytes received on the wire per finished request (headers + body as sent).
    pub encoded_bytes: u64,
}

pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    tx: mpsc::UnboundedSender<String>,
    pending: Pending,
    logs: Arc<Mutex<HashMap<String, PageLog>>>,
    next_id: AtomicU64,
}

pub struct Page<'b> {
    browser: &'b Browser,
    session: String,
}

/// The browser binary: `$CHROMIUM`, else the first of the usual names on PATH.
fn chromium_binary() -> PathBuf {
    if let Ok(p) = std::env::var("CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the browser tests need Chromium and found none (looked for $CHROMIUM, then chromium, \
         chromium-browser, google-chrome, chrome on PATH). Install it: `apt-get install -y chromium` \
         (.ci/run does)."
    );
}

impl Browser {
    pub async fn launch() -> Browser {
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let bin = chromium_binary();
        let child = Command::new(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--mute-audio",
                "--hide-scrollbars",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let ws_url = devtools_url(profile.path()).await;
        let (ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .expect("connect to the browser's DevTools socket");
        let (mut sink, mut stream) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let logs: Arc<Mutex<HashMap<String, PageLog>>> = Arc::default();
        let (p, l) = (pending.clone(), logs.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Ok(text) = msg.into_text() else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if let Some(id) = v["id"].as_u64() {
                    if let Some(tx) = p.lock().unwrap().remove(&id) {
                        let _ = tx.send(v);
                    }
                } else if let Some(session) = v["sessionId"].as_str() {
                    record(&mut l.lock().unwrap(), session, &v);
                }
            }
        });
        Browser {
            child,
            _profile: profile,
            tx,
            pending,
            logs,
            next_id: AtomicU64::new(1),
        }
    }

    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.tx
            .send(msg.to_string())
            .expect("the browser socket is open");
        let v = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer from the browser in 30 s"))
            .expect("the browser answered");
        if v.get("error").is_some() {
            panic!("{method} failed: {}", v["error"]);
        }
        v["result"].clone()
    }

    /// A new tab with its own cache-free start: console, exceptions, log and
    /// network are recorded from the first request on.
    pub async fn new_page(&self) -> Page<'_> {
        let target = self
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        self.logs
            .lock()
            .unwrap()
            .insert(session.clone(), PageLog::default());
        let page = Page {
            browser: self,
            session,
        };
        for m in [
            "Page.enable",
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
        ] {
            page.call(m, json!({})).await;
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium writes its port and path to `DevToolsActivePort` in the profile.
async fn devtools_url(profile: &Path) -> String {
    let file = profile.join("DevToolsActivePort");
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return format!("ws://127.0.0.1:{port}{path}");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromium did not open its DevTools port within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn record(logs: &mut HashMap<String, PageLog>, session: &str, v: &Value) {
    let Some(log) = logs.get_mut(session) else {
        return;
    };
    let p = &v["params"];
    match v["method"].as_str().unwrap_or("") {
        "Runtime.consoleAPICalled" if matches!(p["type"].as_str(), Some("error" | "assert")) => {
            let args: Vec<String> = p["args"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            x["value"]
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| x["description"].to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            log.errors
                .push(format!("console.error: {}", args.join(" ")));
        }
        "Runtime.exceptionThrown" => {
            let d = &p["exceptionDetails"];
            log.errors.push(format!(
                "exception: {} {}",
                d["text"].as_str().unwrap_or(""),
                d["exception"]["description"].as_str().unwrap_or("")
            ));
        }
        "Log.entryAdded" if p["entry"]["level"] == "error" => {
            log.errors.push(format!(
                "log: {} ({})",
                p["entry"]["text"].as_str().unwrap_or(""),
                p["entry"]["url"].as_str().unwrap_or("")
            ));
        }
        "Network.requestWillBeSent" => {
            if let Some(u) = p["request"]["url"].as_str() {
                log.requests.push(u.to_owned());
            }
        }
        "Network.loadingFinished" => {
            log.encoded_bytes += p["encodedDataLength"].as_f64().unwrap_or(0.0) as u64;
        }
        _ => {}
    }
}

impl Page<'_> {
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// What the page did so far.
    pub fn log(&self) -> PageLog {
        self.browser.logs.lock().unwrap()[&self.session].clone()
    }

    pub async fn goto(&self, url: &str) {
        let r = self.call("Page.navigate", json!({ "url": url })).await;
        assert!(
            r.get("errorText").is_none(),
            "cannot open {url}: {}",
            r["errorText"]
        );
        self.wait_for(
            "document.readyState === 'complete'",
            Duration::from_secs(20),
        )
        .await;
    }

    /// Evaluates `expr` (promises awaited) and returns its JSON value.
    pub async fn eval(&self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(d) = r.get("exceptionDetails") {
            panic!("`{expr}` threw: {d}");
        }
        r["result"]["value"].clone()
    }

    /// Waits until `expr` is truthy; panics with the page's errors after `timeout`.
    pub async fn wait_for(&self, expr: &str, timeout: Duration) {
        let started = Instant::now();
        loop {
            let v = self.eval(&format!("Boolean({expr})")).await;
            if v == json!(true) {
                return;
            }
            if started.elapsed() > timeout {
                let body = self
                    .eval("document.body ? document.body.innerText.slice(0, 2000) : ''")
                    .await;
                panic!(
                    "waited {timeout:?} for `{expr}`; page errors: {:?}; page text: {body}",
                    self.log().errors
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Writes a PNG screenshot of the viewport (or the full page).
    pub async fn screenshot(&self, path: &Path, full_page: bool) {
        let mut params = json!({ "format": "png" });
        if full_page {
            params["captureBeyondViewport"] = json!(true);
            let size = self
                .eval(
                    "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]",
                )
                .await;
            params["clip"] =
                json!({ "x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1 });
        }
        let r = self.call("Page.captureScreenshot", params).await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}
