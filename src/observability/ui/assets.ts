/**
 * The web console's static assets, kept as strings so `tsc` alone builds the package (no bundler,
 * no files to locate at runtime). Vanilla JS, no external requests: every text is inserted with
 * textContent (event data may come from anyone who can post to a webhook).
 */

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sensorbus console</title>
<link rel="icon" href="data:,">
<style>
  :root { --fg:#1d2330; --muted:#667085; --line:#d0d5dd; --bg:#f7f8fa; --ok:#067647; --bad:#b42318; --warn:#b54708; --accent:#2e5aac; }
  * { box-sizing: border-box; }
  [hidden] { display:none !important; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; align-items:baseline; gap:16px; padding:10px 20px; background:#1d2330; color:#fff; }
  header h1 { font-size:17px; margin:0; }
  header span { color:#c8cdd6; font-size:12px; }
  main { padding:14px 20px; display:grid; gap:14px; grid-template-columns: 1fr; }
  section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 14px; }
  h2 { font-size:14px; margin:0 0 8px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
  #graph { overflow:auto; }
  svg text { font-size:12px; fill:var(--fg); }
  svg .detail { font-size:10px; fill:var(--muted); }
  svg .node rect { stroke:#98a2b3; fill:#fff; rx:6; }
  svg .node.entry rect { fill:#eef4ff; stroke:#84adff; }
  svg .node.dependency rect { fill:#fdf6ee; stroke:#f5b26b; }
  svg .node.trigger rect { fill:#ecfdf3; stroke:#6ce9a6; }
  svg .node.missing rect { stroke-dasharray:4 3; fill:#f9fafb; }
  svg .group { font-size:11px; fill:var(--muted); font-weight:600; }
  svg path.edge { fill:none; stroke:#98a2b3; stroke-width:1.3; }
  svg path.edge.cross { stroke:var(--accent); stroke-dasharray:5 4; stroke-width:1.6; }
  table { border-collapse:collapse; width:100%; font-size:13px; }
  th, td { text-align:left; padding:4px 8px; border-bottom:1px solid #eaecf0; vertical-align:top; }
  th { color:var(--muted); font-weight:600; }
  td.id { font-family:ui-monospace, monospace; font-size:12px; }
  .outcome { font-weight:600; }
  .outcome.fired, .status.ok { color:var(--ok); }
  .outcome.failed, .status.failing { color:var(--bad); }
  .outcome.rejected, .outcome.filtered, .outcome.replaced { color:var(--warn); }
  .status.idle, .outcome.published, .outcome.accepted { color:var(--muted); }
  .empty { color:var(--muted); font-style:italic; }
  .cols { display:grid; grid-template-columns: 3fr 2fr; gap:14px; }
  header form { margin-left:auto; display:flex; gap:6px; }
  header input { font:inherit; padding:3px 8px; border-radius:4px; border:1px solid #667085; width:240px; }
  header button { font:inherit; padding:3px 10px; border-radius:4px; border:0; background:#2e5aac; color:#fff; cursor:pointer; }
  a { color:var(--accent); }
  #timeline-summary { margin:0 0 8px; color:var(--muted); }
  #lanes { overflow:auto; }
  svg .lane-bg { fill:#f9fafb; stroke:#eaecf0; }
  svg .lane-name { font-size:12px; font-weight:600; fill:var(--fg); }
  svg .lane-span { stroke-width:3; }
  svg .axis { font-size:10px; fill:var(--muted); }
  svg .step rect { rx:3; }
  .o-ok { fill:#12b76a; color:var(--ok); stroke:#12b76a; }
  .o-waiting { fill:#98a2b3; color:var(--muted); stroke:#98a2b3; }
  .o-retry { fill:#f79009; color:var(--warn); stroke:#f79009; }
  .o-rejected { fill:#fdb022; color:var(--warn); stroke:#fdb022; }
  .o-failed { fill:#f04438; color:var(--bad); stroke:#f04438; }
  .o-info { fill:#d0d5dd; color:var(--muted); stroke:#d0d5dd; }
  td.outcome-cell { font-weight:600; }
</style>
</head>
<body>
<header><h1><a href="/ui" style="color:#fff;text-decoration:none">sensorbus</a></h1><span>read-only console · refreshes every 2 s</span><span id="updated"></span>
  <form id="trace-search" role="search"><input id="trace-q" name="q" placeholder="correlation ID, e.g. run-42" aria-label="correlation ID"><button type="submit">Trace</button></form>
</header>
<main id="timeline-page" hidden>
  <section><h2 id="timeline-title">Timeline</h2>
    <p id="timeline-summary"></p>
    <div id="lanes"></div>
    <table id="steps"><thead><tr><th>time</th><th>lane</th><th>outcome</th><th>what happened</th><th>+ms</th><th>event</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<main id="dashboard">
  <section><h2>Event flow</h2><div id="graph"><p class="empty">loading…</p></div></section>
  <div class="cols">
    <section><h2>Recent events</h2>
      <table id="events"><thead><tr><th>time</th><th>event id</th><th>source / event</th><th>correlation ID</th><th>outcome</th><th>detail</th></tr></thead><tbody></tbody></table>
    </section>
    <section><h2>Triggers</h2>
      <table id="triggers"><thead><tr><th>sensor / trigger</th><th>status</th><th>fired</th><th>failed</th><th>rejected</th><th>/min</th><th>last error</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
</main>
<script src="/ui/app.js"></script>
</body>
</html>
`;

export const CONSOLE_JS = `"use strict";
(function () {
  var SVGNS = "http://www.w3.org/2000/svg";
  var COLS = ["entry", "dependency", "trigger"];
  var W = 230, H = 40, GAPX = 140, GAPY = 12, GROUPGAP = 26, TOP = 24, X0 = 50;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs || {}) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clip(s, n) { s = String(s || ""); return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function getJson(path) {
    return fetch(path, { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(path + ": HTTP " + r.status);
      return r.json();
    });
  }

  var lastGraph = "";
  function drawGraph(graph) {
    var key = JSON.stringify(graph);
    if (key === lastGraph) return;
    lastGraph = key;
    var box = document.getElementById("graph");
    box.textContent = "";
    if (!graph.nodes.length) { box.appendChild(el("p", { class: "empty" }, "no EventSources or Sensors")); return; }
    var pos = {}, height = 0;
    COLS.forEach(function (kind, c) {
      var y = TOP, group = null;
      graph.nodes.filter(function (n) { return n.kind === kind; }).forEach(function (n) {
        var g = n.group.kind + " " + n.group.name;
        if (g !== group) { y += group === null ? 0 : GROUPGAP; group = g; pos["group:" + c + ":" + g] = { x: X0 + c * (W + GAPX), y: y, label: g }; y += 16; }
        pos[n.id] = { x: X0 + c * (W + GAPX), y: y, node: n };
        y += H + GAPY;
      });
      height = Math.max(height, y);
    });
    var crossCount = graph.edges.filter(function (e) { return e.kind === "cross"; }).length;
    var width = 2 * X0 + COLS.length * W + (COLS.length - 1) * GAPX;
    var full = height + 10 + crossCount * 22;
    var root = svg("svg", { width: width, height: full, viewBox: "0 0 " + width + " " + full, role: "img", "aria-label": "event flow graph" });
    var defs = svg("defs");
    ["plain", "cross"].forEach(function (k) {
      var m = svg("marker", { id: "arrow-" + k, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
      m.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: k === "cross" ? "#2e5aac" : "#98a2b3" }));
      defs.appendChild(m);
    });
    root.appendChild(defs);
    var crossIndex = 0;
    graph.edges.forEach(function (e) {
      var a = pos[e.from], b = pos[e.to];
      if (!a || !b) return;
      var d;
      if (e.kind === "cross") {
        // Around the graph: out of the trigger's right side, along the bottom, into the entry's left.
        var x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
        var low = height + 4 + crossIndex++ * 22, r = 10, xr = x1 + 24 + crossIndex * 4, xl = x2 - 24 - crossIndex * 4;
        d = "M " + x1 + " " + y1 + " H " + (xr - r) + " Q " + xr + " " + y1 + " " + xr + " " + (y1 + r) +
          " V " + (low - r) + " Q " + xr + " " + low + " " + (xr - r) + " " + low +
          " H " + (xl + r) + " Q " + xl + " " + low + " " + xl + " " + (low - r) +
          " V " + (y2 + r) + " Q " + xl + " " + y2 + " " + (xl + r) + " " + y2 + " H " + x2;
        if (e.label) root.appendChild(svg("text", { x: (xl + xr) / 2, y: low - 4, "text-anchor": "middle", class: "detail cross-label" }, clip(e.label, 60)));
      } else {
        var sx = a.x + W, sy = a.y + H / 2, tx = b.x, ty = b.y + H / 2, mx = (sx + tx) / 2;
        d = "M " + sx + " " + sy + " C " + mx + " " + sy + ", " + mx + " " + ty + ", " + tx + " " + ty;
      }
      var p = svg("path", { d: d, class: "edge " + e.kind, "marker-end": "url(#arrow-" + (e.kind === "cross" ? "cross" : "plain") + ")", "data-from": e.from, "data-to": e.to });
      if (e.label) p.appendChild(svg("title", {}, e.label));
      root.appendChild(p);
    });
    Object.keys(pos).forEach(function (id) {
      var p = pos[id];
      if (p.label) { root.appendChild(svg("text", { x: p.x, y: p.y + 11, class: "group" }, clip(p.label, 40))); return; }
      var n = p.node;
      var g = svg("g", { class: "node " + n.kind + (n.missing ? " missing" : ""), "data-node-id": n.id, transform: "translate(" + p.x + "," + p.y + ")" });
      g.appendChild(svg("rect", { width: W, height: H }));
      g.appendChild(svg("text", { x: 8, y: 16 }, clip(n.label, 34)));
      g.appendChild(svg("text", { x: 8, y: 31, class: "detail" }, clip(n.type + " · " + n.detail, 42)));
      g.appendChild(svg("title", {}, n.id + "\\n" + n.detail));
      root.appendChild(g);
    });
    box.appendChild(root);
  }

  function fill(tableId, rows, empty) {
    var body = document.querySelector("#" + tableId + " tbody");
    body.textContent = "";
    if (!rows.length) {
      var tr = el("tr"); var td = el("td", { colspan: "7", class: "empty" }, empty); tr.appendChild(td); body.appendChild(tr); return;
    }
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function drawEvents(events) {
    fill("events", events.map(function (e) {
      var tr = el("tr", { "data-event-id": e.id });
      tr.appendChild(el("td", {}, (e.at || "").replace("T", " ").replace(/\\.\\d+Z$/, "Z")));
      tr.appendChild(el("td", { class: "id", title: e.id }, clip(e.id, 14)));
      tr.appendChild(el("td", {}, (e.source || "?") + " / " + (e.subject || "?")));
      var corr = el("td", { class: "id correlation" });
      if (e.correlationId) corr.appendChild(el("a", { href: traceHref(e.correlationId), title: "timeline of " + e.correlationId }, clip(e.correlationId, 24)));
      tr.appendChild(corr);
      tr.appendChild(el("td", { class: "outcome " + e.outcome }, e.outcome));
      tr.appendChild(el("td", {}, clip(e.fired.length ? e.fired.join(", ") + ": " + e.detail : e.detail, 120)));
      return tr;
    }), "no events yet");
  }

  function drawTriggers(triggers) {
    fill("triggers", triggers.map(function (t) {
      var tr = el("tr", { "data-trigger": t.sensor + "/" + t.trigger });
      tr.appendChild(el("td", {}, t.sensor + " / " + t.trigger));
      tr.appendChild(el("td", { class: "status " + t.status }, t.status));
      tr.appendChild(el("td", {}, String(t.fired)));
      tr.appendChild(el("td", {}, String(t.failed)));
      tr.appendChild(el("td", {}, String(t.rejected)));
      tr.appendChild(el("td", {}, String(t.perMinute)));
      tr.appendChild(el("td", {}, clip(t.lastError || "", 80)));
      return tr;
    }), "no triggers");
  }

  function traceHref(id) { return "/ui/traces/" + encodeURIComponent(id); }
  function traceId() {
    var m = /^\\/ui\\/traces\\/(.+)$/.exec(location.pathname);
    return m ? decodeURIComponent(m[1]) : null;
  }
  document.getElementById("trace-search").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = document.getElementById("trace-q").value.trim();
    if (q) location.href = traceHref(q);
  });

  function ms(iso) { return Date.parse(iso); }
  function fmtMs(n) { return n < 1000 ? n + " ms" : (n / 1000).toFixed(3) + " s"; }
  var LANEH = 34, NAMEW = 230, PLOTW = 760, TOPA = 22;
  var lastTrace = "";
  function drawTrace(t) {
    var key = JSON.stringify(t);
    if (key === lastTrace) return;
    lastTrace = key;
    document.getElementById("timeline-title").textContent = "Timeline of " + t.correlationId;
    document.getElementById("timeline-summary").textContent = t.steps.length + " steps · " + t.events.length + " events · " + t.lanes.length + " lanes · " + fmtMs(t.durationMs) + " · " + t.from + " → " + t.to;
    var t0 = ms(t.from), span = Math.max(1, t.durationMs);
    function x(at) { return NAMEW + 10 + ((ms(at) - t0) / span) * PLOTW; }
    var box = document.getElementById("lanes");
    box.textContent = "";
    var width = NAMEW + PLOTW + 40, height = TOPA + t.lanes.length * LANEH + 8;
    var root = svg("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "timeline of " + t.correlationId });
    for (var i = 0; i <= 4; i++) {
      var ax = NAMEW + 10 + (PLOTW * i) / 4;
      root.appendChild(svg("text", { x: ax, y: 12, class: "axis", "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, "+" + fmtMs(Math.round((span * i) / 4))));
    }
    var row = {}, laneKind = {};
    t.lanes.forEach(function (l, i) {
      var y = TOPA + i * LANEH;
      row[l.name] = y;
      laneKind[l.name] = l.kind;
      var g = svg("g", { class: "lane", "data-lane": l.name, "data-outcome": l.outcome });
      g.appendChild(svg("rect", { x: 0, y: y, width: width - 10, height: LANEH - 4, class: "lane-bg" }));
      g.appendChild(svg("text", { x: 6, y: y + 14, class: "lane-name" }, clip(l.name, 34)));
      g.appendChild(svg("text", { x: 6, y: y + 26, class: "axis" }, l.outcome + " · " + fmtMs(l.durationMs)));
      g.appendChild(svg("line", { x1: x(l.from), x2: Math.max(x(l.to), x(l.from) + 2), y1: y + LANEH / 2 - 2, y2: y + LANEH / 2 - 2, class: "lane-span o-" + l.outcome }));
      root.appendChild(g);
    });
    t.steps.forEach(function (s, i) {
      var y = row[s.lane];
      var a = svg("a", { href: "/api/events/" + encodeURIComponent(s.eventId), class: "step", "data-step": String(i), "data-kind": s.kind, "data-outcome": s.outcome });
      // An object's lane shows how long it stayed in each phase; other steps are instants.
      var w = laneKind[s.lane] === "object" ? Math.max(6, (s.durationMs / span) * PLOTW) : 6;
      a.appendChild(svg("rect", { x: x(s.at) - 3, y: y + 6, width: w, height: LANEH - 16, class: "o-" + s.outcome, opacity: 0.85 }));
      a.appendChild(svg("title", {}, s.at + "  " + s.kind + "\\n" + s.text + "\\nevent " + s.eventId + " (click: its explanation)"));
      root.appendChild(a);
    });
    box.appendChild(root);
    fill("steps", t.steps.map(function (s) {
      var tr = el("tr", { "data-kind": s.kind, "data-outcome": s.outcome });
      tr.appendChild(el("td", {}, s.at.replace("T", " ")));
      tr.appendChild(el("td", {}, s.lane));
      tr.appendChild(el("td", { class: "outcome-cell o-" + s.outcome }, s.kind));
      tr.appendChild(el("td", {}, clip(s.text, 200)));
      tr.appendChild(el("td", {}, String(Math.round(ms(s.at) - t0))));
      var td = el("td", { class: "id" });
      td.appendChild(el("a", { href: "/api/events/" + encodeURIComponent(s.eventId), class: "explain", title: "explanation of event " + s.eventId }, clip(s.eventId, 14)));
      tr.appendChild(td);
      return tr;
    }), "no steps");
  }

  function refreshTrace(id) {
    fetch("/api/traces/" + encodeURIComponent(id), { cache: "no-store" })
      .then(function (r) {
        if (r.status === 404) return r.json().then(function (b) { throw new Error(b.error || "unknown correlation ID"); });
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (t) {
        drawTrace(t);
        document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
        document.body.setAttribute("data-loaded", "true");
      })
      .catch(function (err) {
        document.getElementById("timeline-summary").textContent = String(err.message || err);
        document.body.setAttribute("data-loaded", "true");
      });
  }

  var tid = traceId();
  if (tid !== null) {
    document.getElementById("dashboard").hidden = true;
    document.getElementById("timeline-page").hidden = false;
    document.getElementById("trace-q").value = tid;
    document.title = "trace " + tid + " · sensorbus";
    refreshTrace(tid);
    setInterval(function () { refreshTrace(tid); }, 2000);
    return;
  }

  function refresh() {
    Promise.all([getJson("/api/graph"), getJson("/api/events?limit=50"), getJson("/api/triggers")])
      .then(function (r) {
        drawGraph(r[0]); drawEvents(r[1]); drawTriggers(r[2]);
        document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
        document.body.setAttribute("data-loaded", "true");
      })
      .catch(function (err) { document.getElementById("updated").textContent = String(err.message || err); });
  }
  refresh();
  setInterval(refresh, 2000);
})();
`;
