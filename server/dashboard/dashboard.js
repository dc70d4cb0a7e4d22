// gonomaly performance dashboard. It polls ../api/performance/metrics (the monitor's Status,
// docs/api.md), keeps the last ten minutes of readings in a ring and draws them as inline SVG.
// A service started with --nats also answers ../api/v1/cluster: the page then shows the
// cluster's queue and workers, polled with the metrics.
// No library and nothing from another host. Every string from the API reaches the page as
// text (textContent, append, setAttribute), never as HTML: the page's Content-Security-Policy
// requires Trusted Types with no policy, so the browser would refuse an HTML string anyway.
"use strict";

(function () {
  const METRICS = "../api/performance/metrics";
  const CLUSTER = "../api/v1/cluster";
  const CLUSTER_PROBE_MS = 60 * 1000; // how often a service without a cluster is asked again
  const KEY_ITEM = "gonomaly.apiKey";
  const RING_MS = 10 * 60 * 1000; // what the charts show
  const RING_MAX = 3000; // points, whatever the interval
  const SVG = "http://www.w3.org/2000/svg";
  const MAX_DETECTOR_LINES = 6;
  const COLORS = ["#2f6db5", "#d9730d", "#c62828", "#2e8b57", "#7b4fb0", "#8a6d3b"];

  // The poll interval in seconds: ?interval=N (0.5 to 60), else 2.
  const every = (function () {
    const v = parseFloat(new URLSearchParams(location.search).get("interval"));
    return Number.isFinite(v) ? Math.min(60, Math.max(0.5, v)) : 2;
  })();

  const ring = [];
  let last = null; // the latest Status
  let lastOK = 0; // when it came (client clock)
  let timer = 0;
  let inflight = null;
  let memoryKey = ""; // when sessionStorage is unavailable
  let clusterOn = false; // the service has a cluster: its section shows and is polled
  let clusterProbed = -Infinity; // when the page last asked a service without one
  let clusterFlight = null;
  let clusterOK = 0; // when the last cluster status came

  // ---- DOM helpers: text only ----
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }

  function svgEl(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG, tag);
    setAttrs(e, attrs);
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }

  function setAttrs(e, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v !== null && v !== undefined) e.setAttribute(k, String(v));
    }
  }

  function setText(id, s) {
    const e = $(id);
    if (e) e.textContent = s;
  }

  // ---- numbers ----
  function num(v) {
    return typeof v === "number" && Number.isFinite(v) ? v : NaN;
  }

  function fmt(v) {
    if (!Number.isFinite(v)) return "–";
    const a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1000) return Math.round(v).toLocaleString("en-US");
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    if (a >= 0.01) return v.toFixed(3);
    return v.toPrecision(2);
  }

  // axisLabel writes an axis value: at most three significant digits, no trailing zeros.
  function axisLabel(v) {
    return Number(v.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 6 });
  }

  function fmtInt(v) {
    return Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "–";
  }

  const ms = (ns) => num(ns) / 1e6;

  function clock(t) {
    const d = new Date(t);
    const p = (n) => String(n).padStart(2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }

  function ago(msec) {
    const s = Math.max(0, Math.round(msec / 1000));
    if (s < 90) return s + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  }

  function span(ns) {
    const s = num(ns) / 1e9;
    if (!Number.isFinite(s) || s <= 0) return "the window";
    if (s % 60 === 0) return s === 60 ? "the last minute" : "the last " + s / 60 + " min";
    return "the last " + Math.round(s) + " s";
  }

  function short(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  // ---- the API key: #key=... or the form, kept in sessionStorage ----
  function getKey() {
    try {
      return sessionStorage.getItem(KEY_ITEM) || "";
    } catch (e) {
      return memoryKey;
    }
  }

  function setKey(k) {
    memoryKey = k;
    try {
      if (k) sessionStorage.setItem(KEY_ITEM, k);
      else sessionStorage.removeItem(KEY_ITEM);
    } catch (e) {
      // private mode: memoryKey holds it for this page
    }
    $("key").placeholder = k ? "key set for this tab" : "kept for this tab only";
  }

  // keyFromFragment takes #key=... into sessionStorage and out of the address bar (and so out
  // of the history and of a shared screenshot). The key is taken as written: a "+" stays a plus (URLSearchParams would make it a space);
  // percent-escapes are decoded, so a key with "&" can be given as %26.
  function keyFromFragment() {
    const h = location.hash.replace(/^#/, "");
    if (!h) return;
    const rest = [];
    let found = false;
    for (const part of h.split("&")) {
      if (!found && part.startsWith("key=")) {
        let k = part.slice(4);
        try {
          k = decodeURIComponent(k);
        } catch (e) {
          // a stray "%": take the key as written
        }
        setKey(k.trim());
        found = true;
      } else if (part) {
        rest.push(part);
      }
    }
    if (found) history.replaceState(null, "", location.pathname + location.search + (rest.length ? "#" + rest.join("&") : ""));
  }

  // ---- messages ----
  function message(text, kind) {
    const m = $("message");
    if (!text) {
      m.hidden = true;
      m.textContent = "";
      return;
    }
    m.textContent = text;
    m.dataset.kind = kind || "error";
    m.hidden = false;
  }

  // ---- polling ----
  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(poll, seconds * 1000);
  }

  async function poll() {
    clearTimeout(timer);
    if (inflight) inflight.abort();
    const ctl = new AbortController();
    inflight = ctl;
    const deadline = setTimeout(() => ctl.abort(), Math.max(5000, every * 2000));
    const key = getKey();
    try {
      const r = await fetch(METRICS, { headers: apiHeaders(key), cache: "no-store", credentials: "omit", signal: ctl.signal });
      if (r.status === 401) {
        // Polling again with the same key cannot help: wait for one from the form.
        message(key
          ? "The service refused the API key (401 Unauthorized). Enter a valid key above."
          : "This service needs an API key (401 Unauthorized). Enter it above, or open this page as …/performance/dashboard#key=YOUR_KEY; it is kept for this tab only.");
        $("key").focus();
        showStale();
        return;
      }
      if (!r.ok) {
        let why = "";
        try {
          const body = await r.json();
          if (body && typeof body.error === "string") why = ": " + short(body.error, 300);
        } catch (e) {
          // not JSON: the status says enough
        }
        throw new Error("the service answered " + r.status + why);
      }
      const st = await r.json();
      if (!st || typeof st !== "object" || !st.service) throw new Error("the answer is not the monitor's status");
      lastOK = Date.now();
      message("");
      update(st);
      clusterDue();
      schedule(every);
    } catch (e) {
      if (ctl !== inflight) return; // a newer poll replaced this one
      const what = e && e.name === "AbortError" ? "no answer within " + Math.round(Math.max(5, every * 2)) + " s" : e && e.message ? short(e.message, 300) : String(e);
      if (e instanceof TypeError && /header|ISO-8859-1|code point/i.test(e.message || "")) {
        message("The API key holds characters an HTTP header cannot carry: enter it again.");
        showStale();
        return;
      }
      message("Cannot read the service's metrics (" + what + "); trying again every " + every + " s.", "info");
      showStale();
      schedule(every);
    } finally {
      clearTimeout(deadline);
      if (ctl === inflight) inflight = null;
    }
  }

  function apiHeaders(key) {
    const headers = { Accept: "application/json" };
    if (key) headers.Authorization = "Bearer " + key;
    return headers;
  }

  // ---- the cluster: ../api/v1/cluster, 404 when the service has none ----
  // It is asked after each good metrics reading, with the same key: every poll while the
  // service has a cluster, once a minute while it has none (a service restarted with --nats
  // then shows it). Its errors show in its own section, never as the page's message.
  function clusterDue() {
    if (clusterFlight) return; // the last one still waits (the service gives NATS 5 s)
    if (!clusterOn && Date.now() - clusterProbed < CLUSTER_PROBE_MS) return;
    pollCluster();
  }

  async function pollCluster() {
    const ctl = new AbortController();
    clusterFlight = ctl;
    clusterProbed = Date.now();
    const limit = Math.max(8, every * 2);
    const deadline = setTimeout(() => ctl.abort(), limit * 1000);
    try {
      const r = await fetch(CLUSTER, { headers: apiHeaders(getKey()), cache: "no-store", credentials: "omit", signal: ctl.signal });
      if (r.status === 404) {
        clusterOn = false;
        $("cluster").hidden = true;
        return;
      }
      // Any other answer comes from a service with a cluster, a 503 from NATS not answering.
      clusterOn = true;
      $("cluster").hidden = false;
      if (!r.ok) {
        let why = "";
        try {
          const body = await r.json();
          if (body && typeof body.error === "string") why = ": " + short(body.error, 300);
        } catch (e) {
          // not JSON: the status says enough
        }
        throw new Error("the service answered " + r.status + why);
      }
      const st = await r.json();
      if (!st || typeof st !== "object" || !Array.isArray(st.workers)) throw new Error("the answer is not the cluster's status");
      clusterOK = Date.now();
      renderCluster(st);
      clusterError("");
    } catch (e) {
      if (!clusterOn) return; // no section to say it in: asked again in a minute
      const what = e && e.name === "AbortError" ? "no answer within " + Math.round(limit) + " s" : e && e.message ? short(e.message, 300) : String(e);
      clusterError("Cannot read the cluster (" + what + ")" +
        (clusterOK ? "; the table is from " + clock(clusterOK) : "") + ". Trying again every " + every + " s.");
    } finally {
      clearTimeout(deadline);
      if (clusterFlight === ctl) clusterFlight = null;
    }
  }

  function clusterError(text) {
    const m = $("cluster-error");
    m.textContent = text;
    m.hidden = !text;
  }

  function renderCluster(st) {
    const workers = st.workers.filter((w) => w && typeof w === "object");
    workers.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    setText("cluster-name", st.name ? "· " + short(st.name, 64) : "");
    const b = (v, high) => el("b", high ? { class: "high" } : null, fmtInt(num(v)));
    $("cluster-summary").replaceChildren(
      b(workers.length), workers.length === 1 ? " worker alive · " : " workers alive · ",
      b(st.queued), " jobs queued · ", b(st.running), " running · ",
      b(st.redelivered, num(st.redelivered) > 0), " redelivered");
    const checked = Date.parse(st.checked) || Date.now();
    $("workers").tBodies[0].replaceChildren(...workers.map((w) => workerRow(w, checked)));
    $("workers").hidden = workers.length === 0;
    $("workers-empty").hidden = workers.length > 0;
  }

  function workerRow(w, checked) {
    const name = String(w.name || "");
    const kinds = Array.isArray(w.kinds) ? w.kinds.map(String).join(", ") : "";
    const started = Date.parse(w.started);
    const title = [name, "pid " + fmtInt(num(w.pid)), w.version ? "version " + String(w.version) : "",
      kinds ? "runs " + kinds : "", Number.isFinite(started) ? "up " + ago(checked - started) : ""].filter(Boolean).join(" · ");
    const jobs = Array.isArray(w.current) ? w.current.filter((j) => j && typeof j === "object") : [];
    const now = [];
    if (w.draining || !jobs.length) {
      now.push(el("span", { class: "badge", "data-status": w.draining ? "warning" : "unknown" }, w.draining ? "draining" : "idle"));
    }
    for (const j of jobs) now.push(jobLine(j, checked));
    return el("tr", { "data-worker": name },
      el("td", { class: "id", title }, name),
      el("td", null, String(w.host || "")),
      el("td", { class: "machine" }, String(w.machine || "")),
      el("td", { class: "num" }, fmtInt(num(w.slots))),
      el("td", { class: "num" }, fmtInt(num(w.done))),
      el("td", { class: "num" + (num(w.failed) > 0 ? " high" : "") }, fmtInt(num(w.failed))),
      el("td", { class: "now" }, ...now));
  }

  function jobLine(j, checked) {
    const run = String(j.run || "");
    const rows = num(j.rows);
    const total = num(j.total);
    const attempt = num(j.attempt);
    const started = Date.parse(j.started);
    let done = fmtInt(rows) + " rows";
    let bar = null;
    if (total > 0) {
      done = fmtInt(rows) + " of " + fmtInt(total) + " rows (" + Math.floor((100 * Math.min(rows, total)) / total) + " %)";
      bar = el("progress", { max: total, value: Math.max(0, Math.min(rows, total)) });
    }
    return el("div", { class: "job" },
      el("div", { class: "what", title: "run " + run },
        String(j.kind || "?") + " " + short(run, 9) + " · part " + fmtInt(num(j.part) + 1) + " · ",
        el("span", attempt > 1 ? { class: "high" } : null, "attempt " + fmtInt(attempt))),
      el("div", { class: "rows" }, bar, el("span", null, done),
        Number.isFinite(started) ? el("span", { title: "running since " + clock(started) }, "for " + ago(checked - started)) : null));
  }

  function showStale() {
    const u = $("updated");
    if (!lastOK) {
      u.textContent = "no reading yet";
    } else {
      u.textContent = "last reading " + clock(lastOK) + ", " + ago(Date.now() - lastOK) + " ago";
    }
    u.classList.add("high");
  }

  function tick() {
    if (!lastOK) return;
    const age = Date.now() - lastOK;
    const u = $("updated");
    if (age > 3 * every * 1000 + 2000) {
      showStale();
    } else {
      u.textContent = "updated " + clock(lastOK) + " · every " + every + " s";
      u.classList.remove("high");
    }
  }

  // ---- the ring ----
  function point(st) {
    const svc = st.service || {};
    const res = st.resources || {};
    const cpu = num(st.cpu_usage);
    const p = {
      t: Date.parse(st.time) || Date.now(),
      p50: ms(svc.p50_ns),
      p95: ms(svc.p95_ns),
      p99: ms(svc.p99_ns),
      thr: num(st.throughput),
      err: num(st.error_rate) * 100,
      rss: num(st.memory_usage),
      heap: num(res.heap_bytes) / 1e6,
      cpu: cpu,
      gc: (cpu * num(res.gc_cpu_percent)) / 100,
      models: new Map(),
    };
    if (!(svc.count > 0)) p.p50 = p.p95 = p.p99 = NaN; // no request in the window: no latency
    for (const m of Array.isArray(st.models) ? st.models : []) {
      if (m && typeof m.id === "string" && m.rows > 0) p.models.set(m.id, num(m.rate) * 100);
    }
    return p;
  }

  function push(p) {
    while (ring.length && ring[ring.length - 1].t >= p.t) ring.pop(); // a restarted clock
    ring.push(p);
    const from = p.t - RING_MS;
    let drop = 0;
    while (drop < ring.length && ring[drop].t < from) drop++;
    drop = Math.max(drop, ring.length - RING_MAX);
    if (drop > 0) ring.splice(0, drop);
  }

  function update(st) {
    last = st;
    push(point(st));
    tick();
    renderKPIs(st);
    renderCharts();
    renderModels(st.models);
    renderOperations(st.operations);
    renderAlerts(st.alerts);
    renderComponents(st.health);
  }

  // ---- figures ----
  function renderKPIs(st) {
    const svc = st.service || {};
    const res = st.resources || {};
    setText("kpi-throughput", fmt(num(st.throughput)));
    const sub = $("kpi-throughput-sub");
    sub.replaceChildren(el("span", { id: "kpi-count" }, fmtInt(num(svc.count))), " requests in " + span(svc.window_ns));
    setText("kpi-p99", svc.count > 0 ? fmt(ms(svc.p99_ns)) : "–");
    setText("kpi-p99-sub", svc.count > 0 ? "p50 " + fmt(ms(svc.p50_ns)) + " · p95 " + fmt(ms(svc.p95_ns)) + " · max " + fmt(ms(svc.max_ns)) : "no API request in the window");
    setText("kpi-errors", fmt(num(st.error_rate) * 100));
    setText("kpi-errors-sub", fmtInt(num(svc.errors)) + " of " + fmtInt(num(svc.count)) + " requests failed");
    setText("kpi-memory", fmt(num(st.memory_usage)));
    setText("kpi-memory-sub", "heap " + fmt(num(res.heap_bytes) / 1e6) + " MB · " + fmtInt(num(res.goroutines)) + " goroutines");
    setText("kpi-cpu", fmt(num(st.cpu_usage)));
    setText("kpi-cpu-sub", "GC " + fmt(num(res.gc_cpu_percent)) + " % of it · load " + fmt(num(res.load1)));
    const alerts = Array.isArray(st.alerts) ? st.alerts : [];
    setText("kpi-alerts", String(alerts.length));
    const bySev = {};
    for (const a of alerts) bySev[a.severity] = (bySev[a.severity] || 0) + 1;
    const parts = ["critical", "high", "medium", "low", "info"].filter((s) => bySev[s]).map((s) => bySev[s] + " " + s);
    setText("kpi-alerts-sub", parts.length ? parts.join(" · ") : "none firing");
    $("kpi-alerts").classList.toggle("high", !!(bySev.critical || bySev.high));
    $("kpi-errors").classList.toggle("high", num(st.error_rate) >= 0.05);
    const h = $("health");
    const status = (st.health && st.health.status) || "unknown";
    h.textContent = "service: " + status;
    h.dataset.status = status;
  }

  // ---- charts ----
  const charts = [
    {
      id: "chart-latency",
      series: () => [
        { name: "p50", color: COLORS[0], get: (p) => p.p50 },
        { name: "p95", color: COLORS[1], get: (p) => p.p95 },
        { name: "p99", color: COLORS[2], get: (p) => p.p99 },
      ],
    },
    { id: "chart-throughput", series: () => [{ name: "API", color: COLORS[0], get: (p) => p.thr }] },
    { id: "chart-errors", series: () => [{ name: "5xx", color: COLORS[2], get: (p) => p.err }] },
    {
      id: "chart-memory",
      series: () => [
        { name: "resident", color: COLORS[0], get: (p) => p.rss },
        { name: "heap", color: COLORS[3], get: (p) => p.heap },
      ],
    },
    {
      id: "chart-cpu",
      series: () => [
        { name: "process", color: COLORS[0], get: (p) => p.cpu },
        { name: "GC", color: COLORS[1], get: (p) => p.gc },
      ],
    },
    { id: "chart-flagged", series: detectorSeries, empty: "no detector has served predictions yet" },
  ];

  // detectorSeries is a line per detector of the latest reading, those with most rows first.
  function detectorSeries() {
    const models = (last && Array.isArray(last.models) ? last.models : []).filter((m) => m && typeof m.id === "string" && m.rows > 0);
    models.sort((a, b) => b.rows - a.rows);
    return models.slice(0, MAX_DETECTOR_LINES).map((m, i) => ({
      name: m.id.length > 12 ? m.id.slice(0, 8) + "…" : m.id,
      full: m.id,
      color: COLORS[i % COLORS.length],
      get: (p) => (p.models.has(m.id) ? p.models.get(m.id) : NaN),
    }));
  }

  function renderCharts() {
    for (const c of charts) drawChart($(c.id), c.series(), c.empty);
  }

  // niceMax is the smallest of 1, 2, 2.5, 5 times a power of ten at or above v.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
    return 10 * e;
  }

  function drawChart(fig, series, emptyText) {
    if (!fig) return;
    let svg = fig.querySelector("svg");
    if (!svg) {
      svg = svgEl("svg", { role: "img", preserveAspectRatio: "none" });
      fig.append(svg);
    }
    const W = Math.max(240, Math.round(svg.getBoundingClientRect().width) || 360);
    const H = 150;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.replaceChildren();

    const pts = ring;
    const lastPts = series.map((s) => {
      for (let i = pts.length - 1; i >= 0; i--) {
        const v = s.get(pts[i]);
        if (Number.isFinite(v)) return { i, v };
      }
      return null;
    });
    const labels = series.map((s, k) => (lastPts[k] ? s.name + " " + fmt(lastPts[k].v) : ""));
    // The right margin fits the widest label, measured in the chart's own font.
    const probe = svgEl("text", { class: "label" });
    svg.append(probe);
    const widest = Math.max(0, ...labels.map((l) => {
      if (!l) return 0;
      probe.textContent = l;
      return probe.getComputedTextLength() || l.length * 7;
    }));
    probe.remove();
    const padL = 38;
    const padR = Math.min(150, Math.max(34, Math.ceil(widest) + 10));
    const padT = 8;
    const padB = 18;
    const plotW = W - padL - padR;
    const plotH = H - padT - padB;

    let ymax = 0;
    for (const p of pts) for (const s of series) {
      const v = s.get(p);
      if (Number.isFinite(v) && v > ymax) ymax = v;
    }
    ymax = niceMax(ymax * 1.05);
    const y = (v) => padT + (1 - Math.max(0, v) / ymax) * plotH;

    for (const f of [0, 0.5, 1]) {
      const yy = Math.round(y(ymax * f)) + 0.5;
      svg.append(svgEl("line", { class: f === 0 ? "axis" : "grid", x1: padL, x2: padL + plotW, y1: yy, y2: yy }));
      svg.append(svgEl("text", { x: padL - 4, y: yy + 4, "text-anchor": "end" }, axisLabel(ymax * f)));
    }

    if (!pts.length || lastPts.every((l) => !l)) {
      svg.append(svgEl("text", { class: "empty-chart", x: padL + plotW / 2, y: padT + plotH / 2, "text-anchor": "middle" },
        pts.length ? emptyText || "nothing in the window" : "waiting for readings"));
      svg.setAttribute("aria-label", fig.querySelector("figcaption").textContent + ": no data");
      return;
    }

    const tEnd = pts[pts.length - 1].t;
    const tSpan = Math.max(20 * every * 1000, tEnd - pts[0].t); // at least twenty polls wide
    const t0 = tEnd - tSpan;
    const x = (t) => padL + ((t - t0) / tSpan) * plotW;
    svg.append(svgEl("text", { x: padL, y: H - 4, "text-anchor": "start" }, clock(t0)));
    svg.append(svgEl("text", { x: padL + plotW / 2, y: H - 4, "text-anchor": "middle" }, clock(t0 + tSpan / 2)));
    svg.append(svgEl("text", { x: padL + plotW, y: H - 4, "text-anchor": "end" }, clock(tEnd)));

    const gap = 3 * every * 1000 + 2000; // a longer silence breaks the line
    const placed = [];
    series.forEach((s, k) => {
      let d = "";
      let n = 0;
      let prevT = -Infinity;
      for (const p of pts) {
        const v = s.get(p);
        if (!Number.isFinite(v)) {
          prevT = -Infinity;
          continue;
        }
        d += (p.t - prevT > gap ? "M" : "L") + x(p.t).toFixed(1) + " " + y(v).toFixed(1);
        prevT = p.t;
        n++;
      }
      if (!n) return;
      const path = svgEl("path", { class: "series", d, stroke: s.color, "data-series": s.name, "data-points": n });
      if (s.full) path.append(svgEl("title", null, s.full));
      svg.append(path);
      const lp = lastPts[k];
      svg.append(svgEl("circle", { cx: x(pts[lp.i].t), cy: y(lp.v), r: 2.6, fill: s.color }));
      placed.push({ y: y(lp.v) + 4, text: labels[k], color: s.color, full: s.full });
    });

    // Labels at the lines' ends, pushed apart so that none overlaps another.
    placed.sort((a, b) => a.y - b.y);
    const gapY = 13;
    const top = padT + 8;
    const bottom = padT + plotH + 4;
    for (let i = 0; i < placed.length; i++) {
      placed[i].y = Math.max(placed[i].y, i ? placed[i - 1].y + gapY : top);
    }
    for (let i = placed.length - 1; i >= 0; i--) {
      placed[i].y = Math.min(placed[i].y, i < placed.length - 1 ? placed[i + 1].y - gapY : bottom);
    }
    for (const l of placed) {
      const t = svgEl("text", { class: "label", x: padL + plotW + 6, y: l.y.toFixed(1), fill: l.color }, l.text);
      if (l.full) t.append(svgEl("title", null, l.full));
      svg.append(t);
    }
    svg.setAttribute("aria-label", fig.querySelector("figcaption").textContent + ": " + labels.filter(Boolean).join(", "));
  }

  // ---- tables ----
  const statusRank = { drift: 0, warning: 1, ok: 2, unknown: 3 };

  function renderModels(models) {
    models = Array.isArray(models) ? models.filter((m) => m && typeof m === "object") : [];
    models.sort((a, b) => (statusRank[a.status] ?? 4) - (statusRank[b.status] ?? 4) || String(a.id).localeCompare(String(b.id)));
    const body = $("models").tBodies[0];
    body.replaceChildren(...models.map(modelRow));
    $("models-empty").hidden = models.length > 0;
    $("models").hidden = models.length === 0;
  }

  function modelRow(m) {
    const id = String(m.id);
    const psi = num(m.score_psi);
    const features = Array.isArray(m.features) ? m.features.filter((f) => f && f.drifted) : [];
    let moved = "none";
    if (!m.profiled) moved = "– (no profile)";
    else if (features.length) {
      moved = features.map((f) => "#" + fmtInt(num(f.index)) + " " + fmt(num(f.psi))).join(", ");
      const more = num(m.drifted_features) - features.length;
      if (more > 0) moved += " +" + more + " more";
    }
    const rate = el("td", { class: "num", title: "p = " + fmt(num(m.rate_p)) }, fmt(num(m.rate) * 100));
    if (m.status === "drift" || m.status === "warning") rate.classList.add("high");
    return el("tr", null,
      el("td", { class: "id", title: id }, id, el("small", null, String(m.algorithm || "") + " v" + fmtInt(num(m.version)))),
      el("td", { class: "num" }, fmtInt(num(m.rows))),
      rate,
      el("td", { class: "num" }, fmt(num(m.expected) * 100)),
      el("td", { class: "num" + (psi >= 0.25 ? " high" : "") }, m.profiled ? fmt(psi) : "–"),
      el("td", null, el("span", { class: "badge", "data-status": String(m.status) }, String(m.status || "unknown"))),
      el("td", { class: features.length ? "high" : "muted" }, moved));
  }

  function renderOperations(ops) {
    ops = Array.isArray(ops) ? ops.filter((o) => o && typeof o === "object" && o.count > 0) : [];
    ops.sort((a, b) => b.count - a.count || String(a.name).localeCompare(String(b.name)));
    $("operations").tBodies[0].replaceChildren(...ops.map((o) =>
      el("tr", null,
        el("td", { class: "op" }, String(o.name)),
        el("td", { class: "num" }, fmtInt(num(o.count))),
        el("td", { class: "num" }, fmt(num(o.throughput))),
        el("td", { class: "num" }, fmt(ms(o.p50_ns))),
        el("td", { class: "num" }, fmt(ms(o.p95_ns))),
        el("td", { class: "num" }, fmt(ms(o.p99_ns))),
        el("td", { class: "num" + (num(o.error_rate) >= 0.05 ? " high" : "") }, fmt(num(o.error_rate) * 100)))));
    $("operations-empty").hidden = ops.length > 0;
    $("operations").hidden = ops.length === 0;
  }

  // alertOpen remembers the alerts whose details the reader opened or closed, by id: the list
  // is rebuilt at every reading. By default the critical and high ones are open.
  const alertOpen = new Map();

  function renderAlerts(alerts) {
    alerts = Array.isArray(alerts) ? alerts.filter((a) => a && typeof a === "object") : [];
    const now = Date.now();
    const live = new Set();
    $("alerts").replaceChildren(...alerts.map((a) => {
      const sev = String(a.severity || "info");
      const id = String(a.id || a.key || "");
      live.add(id);
      const started = Date.parse(a.starts_at);
      const actions = Array.isArray(a.actions) ? a.actions : [];
      const details = el("details", null,
        el("summary", { class: "title" },
          el("span", { class: "badge", "data-status": sev }, sev), " ", String(a.title || a.key || ""),
          Number.isFinite(started) ? el("span", { class: "since" }, "since " + clock(started) + " (" + ago(now - started) + ")") : null),
        a.description ? el("div", { class: "desc" }, String(a.description)) : null,
        actions.length ? el("ul", { "aria-label": "actions" }, ...actions.map((x) => el("li", null, String(x)))) : null);
      details.open = alertOpen.has(id) ? alertOpen.get(id) : sev === "critical" || sev === "high";
      details.addEventListener("toggle", () => alertOpen.set(id, details.open));
      return el("li", { "data-severity": sev }, details);
    }));
    for (const id of alertOpen.keys()) if (!live.has(id)) alertOpen.delete(id);
    $("alerts-empty").hidden = alerts.length > 0;
  }

  function renderComponents(health) {
    const comps = health && Array.isArray(health.components) ? health.components.filter((c) => c && typeof c === "object") : [];
    $("components").replaceChildren(...comps.map((c) =>
      el("li", null,
        el("span", { class: "badge", "data-status": String(c.status) }, String(c.status || "?")),
        el("span", { class: "name" }, String(c.name || "")),
        el("span", { class: "detail" }, String(c.detail || "")))));
  }

  // The instance's name, from /healthz (no key needed), in the header and the tab's title.
  async function showInstance() {
    try {
      const r = await fetch("../healthz", { cache: "no-store", credentials: "omit" });
      const b = r.ok ? await r.json() : null;
      if (b && typeof b.instance === "string" && b.instance) {
        setText("instance", "· " + short(b.instance, 64));
        document.title = "gonomaly · " + short(b.instance, 64) + " · performance";
      }
    } catch (e) {
      // An older server, or none: the header goes without the name.
    }
  }

  // ---- start ----
  function start() {
    keyFromFragment();
    setKey(getKey());
    setText("every", String(every));
    $("keyform").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = $("key");
      const k = input.value.trim();
      input.value = "";
      if (k) setKey(k);
      message("");
      poll();
    });
    $("forget").addEventListener("click", () => {
      setKey("");
      poll();
    });
    let pending = false;
    window.addEventListener("resize", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        renderCharts();
      });
    });
    setInterval(tick, 1000);
    renderCharts();
    showInstance();
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
