//! The HTML report in a real browser: headless Chromium loads the page from a file with the
//! network off, runs its script without an error, ends with `data-ready="1"`, and paints
//! something. Without Chromium the test is skipped with a note, except in CI (`CI` set),
//! where it fails: CI installs it (`apt-get install -y chromium`).

use std::path::PathBuf;

use crate::common::browser::{chromium, headless};

use llmrace::record::{EndpointInfo, Replay, ReplayEnd, ReplayHeader};
use llmrace::report::{self, Format};

/// A fixture race of four endpoints, one with a hostile name, folded into a run.
fn run() -> llmrace::replay::Run {
    let mut names = llmrace::stats::fixture::endpoint_names(4);
    names[0] = "<script>alert(\"x\")</script>turbo".to_string();
    run_of(names)
}

/// The fixture race between endpoints named `names`, folded into a run.
fn run_of(names: Vec<String>) -> llmrace::replay::Run {
    let endpoints = names.len();
    let events: Vec<_> = llmrace::stats::fixture::events(endpoints, 150).collect();
    let end = events.last().map(|e| ReplayEnd {
        t: e.t,
        interrupted: false,
    });
    let infos = names
        .into_iter()
        .map(|name| EndpointInfo {
            name,
            protocol: "openai".to_string(),
            model: "mock</title><b>".to_string(),
            base_url: "mock://turbo".to_string(),
            simulated: true,
            concurrency: 4,
            salt: None,
            proxy: None,
            http_version: None,
        })
        .collect();
    let started_at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(20_454);
    let replay = Replay {
        header: ReplayHeader::new(llmrace::config::demo_race(), infos, Vec::new(), started_at),
        events,
        end,
        damage: None,
    };
    llmrace::replay::load::from_replay(&replay)
}

#[test]
fn the_html_report_runs_and_paints_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let page = dir.path().join("report.html");
    std::fs::write(&page, report::render(&run(), Format::Html)).expect("the page is written");
    let url = format!("file://{}", page.display());
    // For looking at the page and its screenshot by hand.
    let keep = std::env::var_os("LLMRACE_KEEP_REPORT").map(PathBuf::from);
    if let Some(keep) = &keep {
        let _ = std::fs::copy(&page, keep.join("report.html"));
    }

    let output = headless(&browser, &dir.path().join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chromium failed: {log}");
    assert!(
        dom.contains("data-ready=\"1\""),
        "the script did not finish; stderr:\n{log}"
    );
    assert!(!log.contains("Uncaught"), "a script error:\n{log}");
    assert!(
        !log.contains(":CONSOLE"),
        "the page logged to the console:\n{log}"
    );
    // The hostile endpoint name is text, not an element: the page's only script is its own.
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");
    assert!(dom.contains("&lt;script&gt;alert"));
    assert!(dom.matches("<svg").count() >= 8);

    let shot = dir.path().join("shot.png");
    let output = headless(&browser, &dir.path().join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2000")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chromium failed: {log}");
    if let Some(keep) = &keep {
        let _ = std::fs::copy(&shot, keep.join("shot.png"));
    }
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    assert_eq!((width, height), (1280, 2000));
    // A blank page of this size compresses to a few kilobytes; tables and charts do not.
    assert!(
        png.len() > 40_000,
        "the screenshot looks blank ({} bytes)",
        png.len()
    );
}

/// A race whose servers were scraped: the Servers section's charts and table load and paint in
/// the browser, with the hostile name still text, and its table fits a 1400 px window.
#[test]
fn the_servers_section_renders_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        return;
    };
    let mut run = run();
    let until = llmrace::event::Offset::from_duration(std::time::Duration::from_secs_f64(
        run.info.duration_s,
    ));
    llmrace::stats::fixture::add_servers(&mut run.summary.endpoints, until);
    let page = report::render(&run, Format::Html);
    assert!(page.contains("<h2>Servers</h2>"));
    let probe = "<script>addEventListener('load', function () {\
        var h = [].filter.call(document.querySelectorAll('h2'), function (e) {\
          return e.textContent === 'Servers'; })[0];\
        var section = h.parentElement, box = section.querySelector('.scroll');\
        var painted = [].filter.call(section.querySelectorAll('svg'), function (svg) {\
          var r = svg.getBoundingClientRect(); return r.width > 100 && r.height > 100; });\
        document.body.setAttribute('data-servers', painted.length + ' ' +\
          section.querySelectorAll('tbody tr').length + ' ' + box.scrollWidth + '/' + box.clientWidth);\
        });</script></body>";
    let page = page.replace("</body>", probe);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("report.html");
    std::fs::write(&path, page).expect("the page is written");
    if let Some(keep) = std::env::var_os("LLMRACE_KEEP_REPORT").map(PathBuf::from) {
        let _ = std::fs::copy(&path, keep.join("servers.html"));
    }
    let output = headless(&browser, &dir.path().join("profile"))
        .arg("--window-size=1400,900")
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chromium failed: {log}");
    assert!(
        dom.contains("data-ready=\"1\""),
        "the script did not finish: {log}"
    );
    assert!(!log.contains("Uncaught"), "a script error:\n{log}");
    assert!(dom.contains("&lt;script&gt;alert(\"x\")&lt;/script&gt;turbo: queue and running"));
    let servers = dom
        .split("data-servers=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the probe did not run: {dom}"));
    let parts: Vec<&str> = servers.split(' ').collect();
    assert_eq!(
        parts[..2],
        ["4", "2"],
        "four charts painted, two rows: {servers}"
    );
    let (scroll, client) = parts[2].split_once('/').expect("scroll/client");
    let (scroll, client): (u32, u32) = (scroll.parse().unwrap(), client.parse().unwrap());
    assert!(
        scroll <= client,
        "the servers table: {scroll} px wide in {client} px"
    );
}

/// The headline and request tables fit a 1400 px window without scrolling sideways, with eight
/// endpoints, long names, failures and estimated token counts (the widest they get). The page
/// is loaded with a probe script of the test's own that writes what overflows into the DOM.
#[test]
fn the_tables_fit_a_1400_px_window() {
    let Some(browser) = chromium() else {
        return;
    };
    let mut names = llmrace::stats::fixture::endpoint_names(8);
    names[7] = "meta-llama/Llama-3.3-70B-Instruct-Turbo".to_string();
    let page = report::render(&run_of(names), Format::Html);
    assert!(page.contains("estimated"), "bursty's counts are estimated");
    assert!(
        page.contains("stream_cut: "),
        "flaky's failures have messages"
    );
    let probe = "<script>addEventListener('load', function () {\
        var wide = ['headline', 'requests'].map(function (id) {\
          var box = document.getElementById(id).parentElement;\
          return id + ' ' + box.scrollWidth + '/' + box.clientWidth;\
        });\
        document.body.setAttribute('data-widths', wide.join(', '));\
        });</script></body>";
    let page = page.replace("</body>", probe);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("report.html");
    std::fs::write(&path, page).expect("the page is written");
    if let Some(keep) = std::env::var_os("LLMRACE_KEEP_REPORT").map(PathBuf::from) {
        let _ = std::fs::copy(&path, keep.join("tables.html"));
    }
    let output = headless(&browser, &dir.path().join("profile"))
        .arg("--window-size=1400,900")
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let widths = dom
        .split("data-widths=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the probe did not run: {dom}"));
    for table in widths.split(", ") {
        let (id, sizes) = table.split_once(' ').expect("id and sizes");
        let (scroll, client) = sizes.split_once('/').expect("scroll/client");
        let (scroll, client): (u32, u32) = (scroll.parse().unwrap(), client.parse().unwrap());
        assert!(scroll <= client, "{id}: {scroll} px wide in {client} px");
    }
}
