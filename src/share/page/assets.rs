//! The share page's inline style and script. The script reads the race's frames from the
//! page's JSON, plays them on the race's own clock (play, pause, speed, seek; `#t=0.5` in the
//! address opens the page paused half-way, `#t=12s` at 12 seconds) and shows each frame's
//! numbers as text: it computes no figure. It sets `data-ready` on the body once it has drawn
//! the first frame, and `data-t` to the race time shown, for headless browsers.

pub const STYLE: &str = r#"
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--head:#f6f8fa}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1400px;padding:16px 24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:24px;margin:8px 0}h2{font-size:18px;margin:22px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
.meta,.note{color:var(--muted);font-weight:normal}
.notice{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:6px}
#controls{display:flex;gap:12px;align-items:center;position:sticky;top:0;background:var(--bg);padding:8px 0;border-bottom:1px solid var(--line);z-index:1}
#controls button{min-width:6em}#seek{flex:1}#clock{font-variant-numeric:tabular-nums;min-width:11em;text-align:right}
#track .row{display:flex;align-items:center;gap:10px;margin:4px 0}
#track .name{width:14em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
#track .rail{position:relative;flex:1;height:18px;background:#eaeef2;border-radius:9px}
#track .car{position:absolute;top:0;left:0;width:18px;height:18px;border-radius:9px}
#track .done{min-width:6em;white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}
#track .lead{width:6em;flex:none;font-weight:600;color:#9a6700}
table{border-collapse:collapse;margin:6px 0 10px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;white-space:nowrap}
th{background:var(--head);font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.prompt{background:var(--head);border:1px solid var(--line);border-radius:6px;padding:6px 10px;white-space:pre-wrap;max-height:8em;overflow:auto}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:10px}
.col{border:1px solid var(--line);border-top:6px solid;border-radius:6px;padding:6px 8px;min-height:12em}
.col .head{font-weight:600}.col .stats{color:var(--muted);font-size:13px;min-height:1.4em}
.col .badge{display:inline-block;background:#1b1f24;color:#fff;border-radius:8px;padding:0 6px;margin-left:6px;font-size:12px}
.col .reasoning{color:var(--muted);font-style:italic;white-space:pre-wrap;font-size:13px}
.col .text{white-space:pre-wrap;overflow-wrap:anywhere;max-height:24em;overflow:auto}
#medals li{margin:2px 0}
#lanes,#final{overflow-x:auto}
@media (max-width:700px){body{padding:10px 12px}#controls{flex-wrap:wrap}#clock{min-width:0}#track .row{gap:6px}#track .name{width:6em;flex:none}#track .rail{min-width:4em}#track .done{min-width:0}}
"#;

pub const SCRIPT: &str = r##"
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("race-data").textContent);
  var frames = data.frames, heats = data.heats, duration = data.duration;
  var t = 0, playing = true, speed = 1, last = null;
  var button = document.getElementById("play");
  var seek = document.getElementById("seek");
  var clock = document.getElementById("clock");
  var finale = document.getElementById("final");
  var prompt = document.getElementById("prompt");
  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  var rows = all("#track .row"), lanes = all("#lanes tbody tr"), cols = all("#arena .col");
  function set(el, text) { if (el.textContent !== text) el.textContent = text; }
  function seconds(s) { return s.toFixed(1) + " s"; }
  function ordinal(n) { return n === 1 ? "1st" : n === 2 ? "2nd" : n === 3 ? "3rd" : n + "th"; }
  function frameAt(at) {
    var lo = 0, hi = frames.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (frames[mid].t <= at) lo = mid; else hi = mid - 1;
    }
    return frames[lo];
  }
  function column(col, r) {
    var stats = col.querySelector(".stats");
    var thought = "", said = "";
    if (!r) { set(stats, "no response kept"); }
    else {
      r.pieces.forEach(function (p) {
        if (p[0] <= t) { if (p[2]) thought += p[1]; else said += p[1]; }
      });
      if (r.cut && r.end_at !== null && t >= r.end_at) said += " …";
      var ended = r.end_at !== null && t >= r.end_at;
      var line = t < r.sent ? "waiting" : "TTFT " + (r.first_at !== null && t >= r.first_at ? r.ttft : ended ? "—" : "…");
      if (ended) line += " · " + r.outcome;
      set(stats, line);
      if (r.place !== null && t >= r.end_at) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = ordinal(r.place);
        stats.appendChild(badge);
      }
    }
    set(col.querySelector(".reasoning"), thought);
    set(col.querySelector(".text"), said);
  }
  function render() {
    var f = frameAt(t);
    f.lanes.forEach(function (lane, i) {
      var row = rows[i];
      if (row) {
        row.querySelector(".car").style.left = "calc(" + (lane.progress * 100).toFixed(2) + "% - " + (lane.progress * 18).toFixed(1) + "px)";
        set(row.querySelector(".done"), lane.done);
        set(row.querySelector(".lead"), f.leader === i ? "◆ leader" : "");
      }
      var tr = lanes[i];
      if (tr) {
        Array.prototype.forEach.call(tr.querySelectorAll("td[data-k]"), function (td) {
          set(td, String(lane[td.getAttribute("data-k")]));
        });
      }
    });
    var heat = f.heat === null ? null : heats[f.heat];
    set(prompt, heat ? heat.prompt : "waiting for a prompt every endpoint has started…");
    cols.forEach(function (col, i) { column(col, heat ? heat.responses[i] : null); });
    set(clock, seconds(t) + " / " + seconds(duration));
    seek.value = String(duration > 0 ? Math.round(t / duration * 1000) : 1000);
    finale.hidden = t < duration;
    set(button, playing ? "Pause" : (t >= duration ? "Replay" : "Play"));
    document.body.dataset.t = t.toFixed(3);
  }
  function fromHash() {
    var m = /t=([0-9]*\.?[0-9]+)(s?)/.exec(location.hash);
    if (!m) return false;
    var v = parseFloat(m[1]);
    t = Math.max(0, Math.min(duration, m[2] ? v : v * duration));
    playing = false;
    return true;
  }
  function tick() {
    var now = performance.now();
    if (playing) {
      if (last !== null) t = Math.min(duration, t + (now - last) / 1000 * speed);
      last = now;
      if (t >= duration) playing = false;
      render();
    } else {
      last = null;
    }
  }
  button.addEventListener("click", function () {
    if (!playing && t >= duration) t = 0;
    playing = !playing;
    render();
  });
  document.getElementById("speed").addEventListener("change", function (e) { speed = parseFloat(e.target.value) || 1; });
  seek.addEventListener("input", function () { t = duration * parseInt(seek.value, 10) / 1000; render(); });
  window.addEventListener("hashchange", function () { if (fromHash()) render(); });
  fromHash();
  render();
  document.body.dataset.ready = "1";
  // A timer, not animation frames: frames are a tenth of a second apart, and a timer also runs
  // where no frame is painted (headless browsers, their virtual time).
  setInterval(tick, 50);
})();
"##;
