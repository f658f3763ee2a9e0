// The live page. Everything is inline (CSS, JS, the first state), so it works
// offline and under a Content-Security-Policy that forbids external assets.
#include <string>

#include "aggregator/http_endpoint.h"

namespace nf::aggregator {

namespace {

constexpr const char* kHead = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>NeuroFabric aggregator</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.4em}
#summary span{display:inline-block;margin-right:1.5em}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
svg{background:#fafafa;border:1px solid #ddd}
.axis{stroke:#888}.line{fill:none;stroke:#1f6feb;stroke-width:2}.point{fill:#1f6feb}
.fed-line{fill:none;stroke:#d9822b;stroke-width:2;stroke-dasharray:5 3}.fed-point{fill:#d9822b}
#devices{max-height:12em;overflow:auto;font-family:monospace;font-size:.85em}
</style></head><body>
<h1>NeuroFabric aggregator</h1>
<div id="summary"></div>
<h2>Accuracy per round</h2>
<svg id="chart" width="640" height="260" viewBox="0 0 640 260" role="img" aria-label="accuracy per round"></svg>
<h2>Rounds</h2>
<table id="rounds"><thead><tr><th>round</th><th>participants</th><th>failures</th><th>train loss</th><th>eval loss</th><th>accuracy</th><th>federated loss</th><th>federated accuracy</th></tr></thead><tbody></tbody></table>
<h2>Connected devices (<span id="ndev">0</span>)</h2>
<div id="devices"></div>
<script id="initial-state" type="application/json">)HTML";

constexpr const char* kTail = R"HTML(</script>
<script>
"use strict";
const SVGNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmt(v, d) { return v === null || v === undefined || v < 0 ? "-" : Number(v).toFixed(d); }
function pct(v) { return v === null || v === undefined || v < 0 ? "-" : (100 * v).toFixed(2); }
function drawChart(history) {
  const svg = document.getElementById("chart");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = 640, H = 260, L = 45, R = 15, T = 15, B = 35;
  svg.appendChild(el("svg:line", {x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis"}));
  svg.appendChild(el("svg:line", {x1: L, y1: T, x2: L, y2: H - B, class: "axis"}));
  for (let i = 0; i <= 4; i++) {
    const y = H - B - i * (H - T - B) / 4;
    svg.appendChild(el("svg:text", {x: 5, y: y + 4, "font-size": 11}, (i * 25) + "%"));
  }
  // Two series: the server's own test set (solid) and the devices' federated evaluation (dashed).
  const series = [{key: "eval_accuracy", cls: "", name: "test set"},
                  {key: "federated_accuracy", cls: "fed-", name: "federated"}];
  for (const s of series) s.pts = history.filter(h => h[s.key] !== null && h[s.key] !== undefined && h[s.key] >= 0);
  const all = series.flatMap(s => s.pts);
  if (all.length === 0) {
    svg.appendChild(el("svg:text", {x: L + 10, y: T + 20, "font-size": 13}, "no evaluated round yet"));
    return;
  }
  const maxRound = Math.max(...all.map(p => p.round), 1);
  const x = r => L + (W - L - R) * (maxRound === 1 ? 0.5 : (r - 1) / (maxRound - 1));
  const y = a => H - B - (H - T - B) * a;
  for (const s of series) {
    if (s.pts.length === 0) continue;
    svg.appendChild(el("svg:polyline", {class: s.cls + "line", points: s.pts.map(p => x(p.round) + "," + y(p[s.key])).join(" ")}));
    for (const p of s.pts) {
      const c = el("svg:circle", {class: s.cls + "point", cx: x(p.round), cy: y(p[s.key]), r: 3, "data-round": p.round});
      c.appendChild(el("svg:title", {}, s.name + ", round " + p.round + ": " + (100 * p[s.key]).toFixed(2) + "%"));
      svg.appendChild(c);
    }
  }
  if (series[1].pts.length > 0) {
    svg.appendChild(el("svg:text", {x: W - R - 200, y: T + 12, "font-size": 11}, "solid: test set, dashed: federated"));
  }
  svg.appendChild(el("svg:text", {x: L, y: H - 10, "font-size": 11}, "round 1"));
  svg.appendChild(el("svg:text", {x: W - R - 60, y: H - 10, "font-size": 11}, "round " + maxRound));
}
function render(s) {
  const sum = document.getElementById("summary");
  sum.textContent = "";
  const items = [["round", s.round + " / " + s.rounds_total], ["strategy", s.strategy],
                 ["state", s.state], ["connected", s.connected_count],
                 ["accuracy", pct(s.last_eval_accuracy) + "%"],
                 ["federated accuracy", pct(s.last_federated_accuracy) + "%"]];
  for (const [k, v] of items) sum.appendChild(el("span", {}, k + ": " + v));
  drawChart(s.history);
  const body = document.querySelector("#rounds tbody");
  body.textContent = "";
  for (const h of s.history.slice().reverse()) {
    const tr = el("tr");
    for (const v of [h.round, h.participants, h.failures, fmt(h.train_loss, 4), fmt(h.eval_loss, 4), pct(h.eval_accuracy),
                     fmt(h.federated_loss, 4), pct(h.federated_accuracy)])
      tr.appendChild(el("td", {}, String(v)));
    body.appendChild(tr);
  }
  document.getElementById("ndev").textContent = s.connected_count;
  document.getElementById("devices").textContent = s.connected.join("\n");
  document.getElementById("devices").style.whiteSpace = "pre";
}
render(JSON.parse(document.getElementById("initial-state").textContent));
setInterval(() => {
  fetch("/api/state", {cache: "no-store"}).then(r => r.json()).then(render).catch(() => {});
}, 2000);
</script></body></html>
)HTML";

}  // namespace

std::string live_page_html(const std::string& state_json) {
  // "</" inside the embedded JSON could close the script element early.
  std::string safe;
  safe.reserve(state_json.size());
  for (size_t i = 0; i < state_json.size(); ++i) {
    if (state_json[i] == '<') {
      safe += "\\u003c";
    } else {
      safe += state_json[i];
    }
  }
  return std::string(kHead) + safe + kTail;
}

}  // namespace nf::aggregator
