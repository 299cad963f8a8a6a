//! The browser the viewer's tests drive: headless Chromium through
//! chromedriver (WebDriver, fantoccini), both from the distribution's
//! packages, and what the tests check on every main page — axe-core's WCAG
//! 2.2 AA rules, a keyboard-only walk, a screenshot and the page's figures
//! (weight and first-contentful-paint), written under
//! `target/screenshots/`.
//!
//! Nothing is downloaded at test time: axe-core is installed, pinned, by
//! `bash tools/browser/install.sh`; Chromium and chromedriver by `.ci/run`.
//! When one is missing [`Tools::find`] says loudly that the test is skipped
//! and how to install it — under `CI=true` it fails instead.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The WCAG rule sets axe-core runs: WCAG 2.0, 2.1 and 2.2, levels A and AA.
const WCAG_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// The window every page is checked (and photographed) in.
const WINDOW: &str = "--window-size=1280,1000";

/// The tallest screenshot taken, in pixels.
const MAX_SHOT_HEIGHT: u64 = 8000;

/// The workspace's root.
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where screenshots and `figures.json` go: `screenshots/` in the target
/// directory this test was built in (`CARGO_TARGET_TMPDIR` is its `tmp/`).
pub fn screenshots_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("screenshots")
}

/// Chromium, chromedriver and axe-core, found on this machine.
pub struct Tools {
    chrome: PathBuf,
    driver: PathBuf,
    axe: String,
}

impl Tools {
    /// The tools, when all are installed. Otherwise `None`, after saying so
    /// loudly on stderr; under `CI=true`, panics.
    pub fn find() -> Option<Tools> {
        let path = |var: &str, default: &str| {
            std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        let chrome = path("CHROME_BIN", "/usr/bin/chromium");
        let driver = path("CHROMEDRIVER", "/usr/bin/chromedriver");
        let axe_file = workspace().join("tools/browser/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&axe_file).ok();
        let missing: Vec<String> = [
            (
                chrome.is_file(),
                format!(
                    "Chromium at {} (CHROME_BIN; apt-get install chromium)",
                    chrome.display()
                ),
            ),
            (
                driver.is_file(),
                format!(
                    "chromedriver at {} (CHROMEDRIVER; apt-get install chromium-driver)",
                    driver.display()
                ),
            ),
            (
                axe.is_some(),
                format!(
                    "axe-core at {} (bash tools/browser/install.sh)",
                    axe_file.display()
                ),
            ),
        ]
        .into_iter()
        .filter(|(present, _)| !present)
        .map(|(_, what)| what)
        .collect();
        match axe {
            Some(axe) if missing.is_empty() => Some(Tools {
                chrome,
                driver,
                axe,
            }),
            _ => {
                let message = format!(
                    "the browser tests' tools are not installed: {}",
                    missing.join("; ")
                );
                assert!(!icr_testkit::corpora::in_ci(), "CI=true and {message}");
                // Straight to the process's stderr, past the test harness's
                // capture, so that a plain `cargo test` shows the skip.
                let test = std::thread::current().name().unwrap_or("a test").to_owned();
                let line = format!(
                    "\n==================== SKIPPED: tests/browser.rs::{test} ====================\n\
                     {message}\n\n"
                );
                let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
                None
            }
        }
    }
}

/// One page's figures: what it weighed and how soon it showed.
#[derive(Debug)]
pub struct Figure {
    /// The page's name (its screenshot's).
    pub page: String,
    /// The HTML document's own bytes, as sent.
    pub html: u64,
    /// Bytes transferred for the page and everything it loaded (the
    /// Performance API's `transferSize`: 0 for what came from the cache).
    pub transferred: u64,
    /// The page's and its resources' encoded sizes: what a first visit,
    /// with nothing cached, carries.
    pub uncached: u64,
    /// First contentful paint, in milliseconds after navigation started.
    pub first_contentful_paint_ms: Option<f64>,
}

/// A headless Chromium driven through chromedriver; both stop when dropped.
pub struct Browser {
    driver: Child,
    /// The WebDriver session.
    pub client: Client,
    axe: String,
    figures: Vec<Figure>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed test the session was not closed: end the browser
        // chromedriver started (its children, by process id) and then
        // chromedriver itself.
        for pid in children(self.driver.id()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The ids of the processes whose parent is `parent` (from `/proc`).
fn children(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (comm) state ppid ...": comm may hold spaces, not ')'.
        let ppid: u32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        (ppid == parent).then_some(pid)
    })
    .collect()
}

/// A free loopback port (bound, then released for chromedriver).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session.
    pub async fn start(tools: Tools) -> Browser {
        Self::start_with(tools, &[]).await
    }

    /// As [`Browser::start`], Chromium given `extra` arguments too.
    pub async fn start_with(tools: Tools, extra: &[&str]) -> Browser {
        let port = free_port();
        let driver = Command::new(&tools.driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            WINDOW,
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
        ];
        args.extend_from_slice(extra);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": tools.chrome, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            match builder.capabilities(caps.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session from chromedriver at {url}: {e}"),
            }
        };
        Browser {
            driver,
            client,
            axe: tools.axe,
            figures: Vec::new(),
        }
    }

    /// Ends the WebDriver session (and with it the browser).
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        self.figures.clear();
    }

    /// Goes to `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("the browser loads {url}: {e}"));
    }

    /// The page's visible text (of `<body>`).
    pub async fn text(&self) -> String {
        self.text_of("body").await
    }

    /// The first element matching `css`; fails the test, naming the page,
    /// when there is none.
    pub async fn element(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => el,
            Err(e) => panic!("{css} on {}: {e}", self.here().await),
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        let el = self.element(css).await;
        el.text().await.expect("an element's text")
    }

    /// The texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for el in self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
        {
            out.push(el.text().await.expect("an element's text"));
        }
        out
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |v| v.len())
    }

    /// Clicks the first element matching `css` (a radio, say: no page
    /// follows).
    pub async fn click(&self, css: &str) {
        let el = self.element(css).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Clicks the first element matching `css` (a link, a submit button)
    /// and waits for the page that follows to load.
    pub async fn follow(&self, css: &str) {
        let el = self.element(css).await;
        // A mark on this page's window: gone once the next page is loaded.
        self.client
            .execute("window.__icrLeaving = true;", vec![])
            .await
            .expect("a mark on the page");
        el.click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
        self.wait_for(
            "return !window.__icrLeaving && document.readyState === 'complete';",
            vec![],
            &format!("a page after clicking {css}"),
        )
        .await;
    }

    /// Waits until the browser is on a loaded page whose URL does not hold
    /// `fragment` (past a page that moves on by itself).
    pub async fn left(&self, fragment: &str) {
        self.wait_for(
            "return document.readyState === 'complete' && !location.href.includes(arguments[0]);",
            vec![json!(fragment)],
            &format!("a page past {fragment}"),
        )
        .await;
    }

    /// Waits (up to 30 s) until `script` returns true in the page shown.
    async fn wait_for(&self, script: &str, args: Vec<Value>, what: &str) {
        let started = Instant::now();
        loop {
            // While the page changes a script may fail: try again.
            if let Ok(Value::Bool(true)) = self.client.execute(script, args.clone()).await {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no {what}: still at {}",
                self.here().await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Types `text` into the field matching `css` (after clearing it), key
    /// by key as a person would.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        el.clear().await.expect("a field clears");
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// The HTTP status of the page shown now (the Performance API's
    /// navigation entry; after redirects, the last answer's).
    pub async fn status(&self) -> u16 {
        let status = self
            .client
            .execute(
                "const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : 0;",
                vec![],
            )
            .await
            .expect("the navigation's status");
        status
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0)
    }

    /// The current URL.
    pub async fn here(&self) -> String {
        self.client
            .current_url()
            .await
            .map_or_else(|e| format!("(no URL: {e})"), |u| u.to_string())
    }

    /// Every check on the page shown now, named `name`: axe-core, the
    /// keyboard walk, a screenshot and the figures.
    pub async fn check_page(&mut self, name: &str) {
        self.figures(name).await;
        self.check_state(name).await;
    }

    /// The checks of [`Browser::check_page`] but the figures, for the page
    /// shown now in another state (a disclosure opened): axe-core, the
    /// keyboard walk, a screenshot named `name`.
    pub async fn check_state(&self, name: &str) {
        self.screenshot(name).await;
        self.axe(name).await;
        self.keyboard(name).await;
    }

    /// Runs axe-core's WCAG 2.2 AA rules on the page shown now, injected
    /// through WebDriver (the page's Content-Security-Policy does not apply
    /// to it); fails listing every serious or critical violation.
    pub async fn axe(&self, name: &str) {
        let violations = self.axe_violations(name).await;
        self.none(
            name,
            "serious or critical WCAG 2.2 AA violations",
            violations,
        )
        .await;
    }

    /// Fails the test, naming the page and what was checked, unless
    /// `problems` is empty.
    async fn none(&self, name: &str, what: &str, problems: Vec<String>) {
        assert!(
            problems.is_empty(),
            "{name} ({}): {what}:\n  {}",
            self.here().await,
            problems.join("\n  ")
        );
    }

    /// axe-core's serious and critical WCAG 2.2 AA violations on the page
    /// shown now, each as `id (impact): help — at [targets]`.
    pub async fn axe_violations(&self, name: &str) -> Vec<String> {
        self.client
            .execute(&self.axe, vec![])
            .await
            .unwrap_or_else(|e| panic!("axe-core injected into {name}: {e}"));
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: 'tag', values: arguments[0] } })
              .then(r => done(r.violations
                  .filter(v => v.impact === 'serious' || v.impact === 'critical')
                  .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                               targets: v.nodes.map(n => n.target.join(' ')) }))))
              .catch(e => done({ error: String(e) }));
        "#;
        let found = self
            .client
            .execute_async(script, vec![json!(WCAG_TAGS)])
            .await
            .unwrap_or_else(|e| panic!("axe-core ran on {name}: {e}"));
        found
            .as_array()
            .unwrap_or_else(|| panic!("axe-core failed on {name}: {found}"))
            .iter()
            .map(|v| {
                format!(
                    "{} ({}): {} — at {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or(""),
                    v["targets"]
                )
            })
            .collect()
    }

    /// Tabs through the page shown now with real key presses and fails
    /// unless every interactive control (links, buttons, inputs, selects,
    /// text areas, summaries; not disabled, not hidden) receives focus and
    /// shows it: its outline or box-shadow (for a radio or checkbox, its
    /// label's drawn box) differs when focused and is not empty. A radio
    /// group is one stop, as the browser makes it.
    pub async fn keyboard(&self, name: &str) {
        let problems = self.keyboard_problems(name).await;
        self.none(name, "keyboard-only use fails", problems).await;
    }

    /// What the keyboard walk of [`Browser::keyboard`] found wrong: each
    /// control Tab never reached, and each that did not show its focus.
    pub async fn keyboard_problems(&self, name: &str) -> Vec<String> {
        // Marks every control with its stop (radios share their group's)
        // and records how each looks unfocused.
        let mark = r#"
            // Start the walk at the top of the page, wherever focus was.
            const start = document.createElement('div');
            start.tabIndex = -1;
            document.body.prepend(start);
            start.focus();
            const sel = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';
            const look = el => {
              const s = getComputedStyle(el);
              let l = [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join('|');
              if (el.matches('input[type=radio], input[type=checkbox]') && el.labels && el.labels[0]) {
                l += '|' + getComputedStyle(el.labels[0], '::before').boxShadow
                   + '|' + getComputedStyle(el.labels[0], '::before').outlineStyle;
              }
              return l;
            };
            window.__icrLook = look;
            const stops = [];
            const groups = new Map();
            for (const el of document.querySelectorAll(sel)) {
              if (el.disabled || el.type === 'hidden' || el.closest('[hidden], [inert]')) continue;
              if (el.tagName === 'INPUT' && el.type === 'radio') {
                // the input itself is drawn invisible: its label is what shows
              } else if (!el.checkVisibility({ visibilityProperty: true })) continue;
              let stop;
              if (el.type === 'radio' && el.name) {
                const key = (el.form ? 'f' : '') + el.name;
                if (!groups.has(key)) { groups.set(key, stops.length); stops.push('radio group ' + el.name); }
                stop = groups.get(key);
              } else {
                stop = stops.length;
                stops.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "'
                  + (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40) + '"');
              }
              el.dataset.icrStop = stop;
              el.dataset.icrLook = look(el);
            }
            return stops;
        "#;
        let stops: Vec<String> = serde_json::from_value(
            self.client
                .execute(mark, vec![])
                .await
                .unwrap_or_else(|e| panic!("controls listed on {name}: {e}")),
        )
        .expect("a list of controls");
        let focused = r#"
            const el = document.activeElement;
            if (!el || el === document.body || el.dataset.icrStop === undefined) {
              return { stop: null, what: el ? el.tagName : null };
            }
            const now = window.__icrLook(el);
            const empty = now.split('|').every(p => p === 'none' || p === '0px' || p === '' ||
                                                   p === 'rgba(0, 0, 0, 0)' || p.startsWith('rgba(0, 0, 0, 0)'));
            return { stop: Number(el.dataset.icrStop), shown: now !== el.dataset.icrLook && !empty, look: now };
        "#;
        let mut reached = vec![false; stops.len()];
        let mut unseen_focus = Vec::new();
        // Every stop once, and a few more for anything outside the list.
        for _ in 0..stops.len() + 4 {
            if reached.iter().all(|r| *r) {
                break;
            }
            self.tab().await;
            let at = self
                .client
                .execute(focused, vec![])
                .await
                .unwrap_or_else(|e| panic!("focus read on {name}: {e}"));
            if let Some(stop) = at["stop"].as_u64().map(|s| s as usize)
                && stop < reached.len()
                && !reached[stop]
            {
                reached[stop] = true;
                if at["shown"] != Value::Bool(true) {
                    unseen_focus.push(format!(
                        "focus not visible on {} (focused: {})",
                        stops[stop], at["look"]
                    ));
                }
            }
        }
        stops
            .iter()
            .zip(&reached)
            .filter(|(_, r)| !**r)
            .map(|(s, _)| format!("Tab never reaches {s}"))
            .chain(unseen_focus)
            .collect()
    }

    /// One real Tab key press.
    async fn tab(&self) {
        let tab: char = Key::Tab.into();
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab });
        self.client
            .perform_actions(keys)
            .await
            .expect("a Tab key press");
    }

    /// Writes a screenshot of the whole page (up to [`MAX_SHOT_HEIGHT`]
    /// pixels: the window is made as tall as the page for it) to
    /// `target/screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) {
        let (width, height) = self
            .client
            .get_window_size()
            .await
            .expect("the window's size");
        let tall = self
            .client
            .execute(
                "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
                vec![],
            )
            .await
            .expect("the page's height");
        let page = tall[0].as_u64().unwrap_or(height);
        let frame = tall[1].as_u64().unwrap_or(0);
        let full = (page + frame).clamp(height, MAX_SHOT_HEIGHT);
        let resized = full > height;
        if resized {
            self.set_size(width, full).await;
        }
        let png = self.client.screenshot().await;
        if resized {
            self.set_size(width, height).await;
        }
        let png = png.unwrap_or_else(|e| panic!("a screenshot of {name}: {e}"));
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).expect("target/screenshots");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("a screenshot written");
    }

    async fn set_size(&self, width: u64, height: u64) {
        let size = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        self.client
            .set_window_size(size(width), size(height))
            .await
            .expect("the window resized");
    }

    /// Records the page's weight and first-contentful-paint (Performance
    /// API) as [`Figure`]s, for [`Browser::write_figures`].
    pub async fn figures(&mut self, name: &str) {
        let script = r#"
            const done = arguments[arguments.length - 1];
            const measure = () => {
              const entries = performance.getEntriesByType('navigation')
                .concat(performance.getEntriesByType('resource'));
              const fcp = performance.getEntriesByName('first-contentful-paint')[0];
              const nav = performance.getEntriesByType('navigation')[0];
              return {
                html: nav ? nav.encodedBodySize : 0,
                transferred: entries.reduce((s, e) => s + (e.transferSize || 0), 0),
                uncached: entries.reduce((s, e) => s + (e.encodedBodySize || 0), 0),
                fcp: fcp ? fcp.startTime : null,
              };
            };
            if (performance.getEntriesByName('first-contentful-paint').length) { done(measure()); }
            else {
              new PerformanceObserver(() => done(measure())).observe({ type: 'paint', buffered: true });
              setTimeout(() => done(measure()), 2000);
            }
        "#;
        let m = self
            .client
            .execute_async(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("figures of {name}: {e}"));
        self.figures.push(Figure {
            page: name.to_owned(),
            html: m["html"].as_u64().unwrap_or(0),
            transferred: m["transferred"].as_u64().unwrap_or(0),
            uncached: m["uncached"].as_u64().unwrap_or(0),
            first_contentful_paint_ms: m["fcp"].as_f64(),
        });
    }

    /// Writes every page's figures to `target/screenshots/figures.json`,
    /// prints them as a table and returns the file's path.
    pub fn write_figures(&self) -> PathBuf {
        let rows: Vec<Value> = self
            .figures
            .iter()
            .map(|f| {
                json!({
                    "page": f.page,
                    "html_bytes": f.html,
                    "transferred_bytes": f.transferred,
                    "uncached_bytes": f.uncached,
                    "first_contentful_paint_ms": f.first_contentful_paint_ms,
                })
            })
            .collect();
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).expect("target/screenshots");
        let file = dir.join("figures.json");
        std::fs::write(
            &file,
            serde_json::to_string_pretty(&json!({ "window": WINDOW, "pages": rows }))
                .expect("figures as JSON"),
        )
        .expect("figures.json written");
        let mut table = format!(
            "{:<28} {:>8} {:>12} {:>12} {:>10}\n",
            "page", "html", "transferred", "uncached", "FCP ms"
        );
        for f in &self.figures {
            table.push_str(&format!(
                "{:<28} {:>8} {:>12} {:>12} {:>10}\n",
                f.page,
                f.html,
                f.transferred,
                f.uncached,
                f.first_contentful_paint_ms
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.0}"))
            ));
        }
        println!("{table}screenshots and figures: {}", dir.display());
        file
    }
}
