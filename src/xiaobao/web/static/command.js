// Catastrophe command page: renders a snapshot (JSON of claims/command.py) into the KPI tiles, the map
// (Leaflet; vendored Natural Earth land, no tiles unless configured), the queue and staff tables and the
// backlog chart (ECharts), then listens to the Server-Sent Events stream and re-renders in place on every
// pushed snapshot. The commander's panel posts with fetch and waits for the push.
(function () {
  "use strict";

  var root = document.getElementById("command");
  if (!root) return;
  var L10N = JSON.parse(root.dataset.labels || "{}");
  var lang = root.dataset.lang || "zh";
  var snap = JSON.parse(document.getElementById("command-data").textContent);
  var pushes = 0;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function pct(x) { return (x * 100).toFixed(1) + "%"; }
  function num(x) { return Math.round(x).toLocaleString("en-US"); }
  function h1(x) { return x.toFixed(1); }
  function fmtTime(iso, withSeconds) {
    if (!iso) return "—";
    var d = new Date(iso);
    var local = new Date(d.getTime() + 8 * 3600 * 1000);
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    var s = local.getUTCFullYear() + "-" + p(local.getUTCMonth() + 1) + "-" + p(local.getUTCDate()) + " " +
      p(local.getUTCHours()) + ":" + p(local.getUTCMinutes());
    return withSeconds ? s + ":" + p(local.getUTCSeconds()) : s;
  }
  document.querySelectorAll("[data-time]").forEach(function (el) { el.textContent = fmtTime(el.dataset.time); });

  // ---------------------------------------------------------------- KPI tiles
  function tile(key, value, sub, state, bar) {
    var el = document.querySelector('[data-kpi="' + key + '"]');
    if (!el) return;
    var v = el.querySelector(".kpi-value");
    if (v.textContent !== value) {
      v.textContent = value;
      if (pushes > 1) { el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash"); }
    }
    el.querySelector(".kpi-sub").textContent = sub || "";
    el.classList.toggle("ok", state === "ok");
    el.classList.toggle("bad", state === "bad");
    if (bar != null) el.querySelector(".kpi-bar span").style.width = Math.min(100, bar * 100).toFixed(1) + "%";
  }

  function renderKpis(s) {
    var c = s.counts, n = c.reported;
    var share = function (x) { return n ? pct(x / n) : "—"; };
    tile("reported", num(n), L10N.awaiting + " " + num(c.awaiting_contact) + " · " + L10N.overdue + " " + num(c.contact_overdue),
      c.contact_overdue ? "bad" : null);
    tile("contact_sla", n ? pct(c.contact_sla_rate) : "—", num(c.contacted_in_sla) + " / " + num(n) + " " + L10N.cases);
    tile("surveyed", num(c.surveyed), share(c.surveyed));
    tile("assessed", num(c.assessed), share(c.assessed));
    tile("closed", num(c.closed), share(c.closed));
    tile("paid", num(c.paid), share(c.paid));
    var w = s.one_week;
    tile("one_week", pct(w.ratio),
      L10N.target + " ≥ 30% · " + (w.final ? (w.met ? L10N.met : L10N.not_met) : L10N.running + ", " + L10N.until + " " + fmtTime(w.window_end)) +
        " · " + L10N.paid_prepaid + " " + num(w.paid + w.prepaid) + " / " + L10N.estimate + " " + num(w.estimate) + " " + L10N.yuan,
      w.met ? "ok" : (w.final ? "bad" : null), w.ratio);
    var m = s.motor;
    tile("motor", m.total ? pct(m.rate) : "—",
      L10N.target + " ≥ 90% · " + num(m.closed) + " / " + num(m.total) + " · " + L10N.days_left + " " + m.days_left.toFixed(1),
      m.met ? "ok" : (m.days_left <= 0 && m.total ? "bad" : null), m.rate);
  }

  // ---------------------------------------------------------------- tables
  function renderTables(s) {
    var q = s.queues;
    document.querySelector("#queue-factory tbody").innerHTML = q.factory.length ? q.factory.map(function (r) {
      return "<tr data-key=\"" + esc(r.key) + "\"><td>" + esc(r.name) + "</td><td class=\"depth\">" + num(r.depth) + "</td><td>" + num(r.awaiting_contact) +
        "</td><td>" + h1(r.oldest_h) + "</td><td>" + h1(r.mean_h) + "</td></tr>";
    }).join("") : '<tr><td colspan="5" class="empty">' + esc(L10N.empty) + "</td></tr>";
    document.querySelector("#queue-region tbody").innerHTML = q.region.length ? q.region.map(function (r) {
      return "<tr data-key=\"" + esc(r.key) + "\"><td>" + esc(r.name) + ' <span class="muted mono small">' + esc(r.key) + "</span></td><td class=\"depth\">" + num(r.depth) +
        "</td><td>" + num(r.unassigned) + "</td><td>" + h1(r.oldest_h) + "</td><td>" + h1(r.mean_h) + "</td></tr>";
    }).join("") : '<tr><td colspan="5" class="empty">' + esc(L10N.empty) + "</td></tr>";
    document.querySelector("#utilisation tbody").innerHTML = s.utilisation.length ? s.utilisation.map(function (u) {
      var cls = u.utilisation >= 0.9 ? "bad" : u.utilisation >= 0.7 ? "warn" : "";
      return "<tr data-factory=\"" + esc(u.factory) + "\"><td>" + esc(u.name) + "</td><td>" + esc(u.team || "—") + "</td><td>" + u.staff +
        "</td><td class=\"online\">" + u.online + "</td><td>" + u.busy + "</td><td>" + u.load + " / " + u.capacity +
        '</td><td><span class="util ' + cls + '"><span style="width:' + Math.min(100, u.utilisation * 100).toFixed(0) + '%"></span></span> ' + pct(u.utilisation) + "</td></tr>";
    }).join("") : '<tr><td colspan="7" class="empty">' + esc(L10N.none) + "</td></tr>";
  }

  // ---------------------------------------------------------------- map
  var mapEl = document.getElementById("command-map");
  var map = null, caseLayer = null, rescueLayer = null, fitted = false;
  var colours = {};
  function initMap() {
    if (typeof L === "undefined") return;
    var tiles = JSON.parse(mapEl.dataset.tiles || "{}");
    map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: !!tiles.url });
    map.setView([25.5, 118.5], 7);
    if (tiles.url) {
      L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 18 }).addTo(map);
    } else if (typeof topojson !== "undefined") {
      mapEl.classList.add("no-basemap");
      fetch("/static/vendor/world-atlas/land-50m.json", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (topo) {
          L.geoJSON(topojson.feature(topo, topo.objects.land), { interactive: false, style: { color: "#8a9a8c", weight: 1, fillColor: "#f4f1e8", fillOpacity: 1 } })
            .addTo(map).bringToBack();
          mapEl.dataset.land = "1";
        })
        .catch(function () { /* points alone still show where the work is */ });
    }
    caseLayer = L.layerGroup().addTo(map);
    rescueLayer = L.layerGroup().addTo(map);
  }

  // approximate points (a district seat) would all sit on one spot: spread them a little (< 1.5 km), always
  // the same way for the same case
  function jitter(f) {
    var c = f.geometry.coordinates;
    if (!f.properties.approx) return c;
    var h = ((f.properties.id || f.properties.case_id) * 2654435761) % 4294967296, a = (h % 360) * Math.PI / 180, r = 0.002 + ((h >>> 9) % 100) / 100 * 0.011;
    return [c[0] + r * Math.cos(a), c[1] + r * Math.sin(a)];
  }

  function renderMap(s) {
    s.statuses.forEach(function (st) { colours[st.code] = st; });
    if (!map) return;
    caseLayer.clearLayers();
    rescueLayer.clearLayers();
    var bounds = L.latLngBounds([]), counts = {};
    s.map.cases.features.forEach(function (f) {
      var c = jitter(f), p = f.properties, st = colours[p.status] || { colour: "#555", label: p.status };
      counts[p.status] = (counts[p.status] || 0) + 1;
      bounds.extend([c[1], c[0]]);
      L.circleMarker([c[1], c[0]], { radius: 5, weight: 1, color: "#333", fillColor: st.colour, fillOpacity: 0.85, className: "case-marker status-" + p.status })
        .bindTooltip(esc(p.no) + " · " + esc(st.label) + (p.approx ? " (" + esc(L10N.approx) + ")" : ""))
        .on("click", function () { window.location.href = "/claims/" + p.id; })
        .addTo(caseLayer);
    });
    var activeRescues = 0;
    s.map.rescues.features.forEach(function (f) {
      var c = jitter(f), p = f.properties;
      if (p.active) activeRescues++;
      L.marker([c[1], c[0]], {
        icon: L.divIcon({ className: "rescue-icon" + (p.active ? " active" : " done"), html: "✚", iconSize: [18, 18], iconAnchor: [-3, 21] }),  // above right of the case point
        zIndexOffset: 1000,
      }).bindTooltip(esc(L10N.rescue) + " · " + esc(s.rescue_labels["kind:" + p.kind] || p.kind) + " · " + esc(s.rescue_labels[p.status] || p.status) + " · " + esc(p.no))
        .addTo(rescueLayer);
    });
    if (!fitted && bounds.isValid()) {
      // at least ~0.8 degrees across, so a single town still shows its coast and neighbours
      var ctr = bounds.getCenter();
      bounds.extend([ctr.lat - 0.4, ctr.lng - 0.4]).extend([ctr.lat + 0.4, ctr.lng + 0.4]);
      map.fitBounds(bounds.pad(0.1), { maxZoom: 10 });
      fitted = true;
    }
    document.getElementById("map-legend").innerHTML = "<ul>" + s.statuses.filter(function (st) { return counts[st.code]; }).map(function (st) {
      return '<li><span class="swatch" style="background:' + st.colour + '"></span>' + esc(st.label) + ' <span class="muted" data-status-count="' + st.code + '">(' + counts[st.code] + ")</span></li>";
    }).join("") + '<li><span class="rescue-icon active legend">✚</span> ' + esc(L10N.rescue_active) + ' <span class="muted" id="rescue-count">(' + activeRescues + ")</span></li></ul>";
    var status = s.map.cases.features.length + " " + L10N.cases;
    if (s.map.unplaced) status += " · " + L10N.unplaced + " " + s.map.unplaced;
    if (s.map.truncated) status += " · " + L10N.not_shown + " " + s.map.truncated;
    document.getElementById("map-status").textContent = status;
    mapEl.dataset.points = String(s.map.cases.features.length);
  }

  // ---------------------------------------------------------------- projection chart
  var chartEl = document.getElementById("projection-chart");
  var chart = typeof echarts !== "undefined" ? echarts.init(chartEl) : null;
  window.addEventListener("resize", function () { if (chart) chart.resize(); });
  function clearText(p) {
    if (p.hours_to_clear === 0) return L10N.empty;
    if (p.hours_to_clear == null) return L10N.never_clears;
    return L10N.clears_in + " " + h1(p.hours_to_clear) + " " + L10N.hours;
  }
  function renderProjection(s) {
    var r = s.rates, po = s.projection.open, pc = s.projection.contact;
    document.getElementById("projection-text").innerHTML =
      esc(L10N.window) + " " + h1(r.window_h) + " " + esc(L10N.hours) + " · " + esc(L10N.arrival) + " <strong>" + r.arrival.toFixed(1) +
      "</strong> · " + esc(L10N.service) + " <strong>" + r.service.toFixed(1) + "</strong> · " + esc(L10N.contact_rate) + " <strong>" + r.contact.toFixed(1) +
      '</strong><br><span id="clear-open">' + esc(L10N.open_backlog) + " " + num(po.backlog) + ": " + esc(clearText(po)) + "</span><br>" +
      esc(L10N.contact_backlog) + " " + num(pc.backlog) + ": " + esc(clearText(pc));
    if (!chart) return;
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "value", name: L10N.hours, min: 0, max: po.points[po.points.length - 1][0] },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: L10N.open_backlog, type: "line", showSymbol: false, data: po.points, lineStyle: { width: 2 }, color: "#0b5cad" },
        { name: L10N.contact_backlog, type: "line", showSymbol: false, data: pc.points, lineStyle: { width: 2, type: "dashed" }, color: "#c0392b" },
      ],
    });
  }

  // ---------------------------------------------------------------- commander panel
  var moveForm = document.getElementById("move-form");
  function renderPanel(s) {
    if (!moveForm) return;
    var sel = document.getElementById("move-username"), current = sel.value;
    sel.innerHTML = s.staff.map(function (p) {
      return '<option value="' + esc(p.username) + '">' + esc(p.name) + " (" + esc(p.username) + ") · " + esc(p.factory || "—") + (p.online ? " ●" : " ○") + "</option>";
    }).join("");
    if (current) sel.value = current;
    var fsel = document.getElementById("move-factory"), fcur = fsel.value;
    fsel.innerHTML = fsel.options[0].outerHTML + s.factories.map(function (f) {
      return '<option value="' + esc(f.code) + '">' + esc(f.name) + (f.on_event ? " ★" : "") + "</option>";
    }).join("");
    fsel.value = fcur;
    if (!moveForm.dataset.filled) fillFromStaff();
  }
  function fillFromStaff() {
    var u = document.getElementById("move-username").value;
    var p = snap.staff.filter(function (x) { return x.username === u; })[0];
    if (!p) return;
    document.getElementById("move-factory").value = p.factory || "";
    document.getElementById("move-regions").value = (p.allowed_regions || []).join(", ");
    document.getElementById("move-online").checked = !!p.online;
    moveForm.dataset.filled = "1";
  }
  function post(form, onOk) {
    var out = document.getElementById("move-result");
    var token = form.querySelector("input[name=csrf_token]").value;
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
      headers: { "X-CSRF-Token": token, Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        out.className = "small " + (res.ok ? "success" : "error");
        var k = lang === "zh" ? "message_zh" : "message_en";
        out.textContent = res.ok ? onOk(res.j) : ((res.j.problems || []).map(function (p) { return p.field + ": " + p[k]; }).join("; ") || res.j[k] || L10N.error);
      })
      .catch(function (e) { out.className = "small error"; out.textContent = L10N.error + " " + e.message; });
  }
  if (moveForm) {
    document.getElementById("move-username").addEventListener("change", fillFromStaff);
    moveForm.addEventListener("submit", function (ev) { ev.preventDefault(); post(moveForm, function () { return L10N.saved; }); });
    var dispatchForm = document.getElementById("dispatch-form");
    if (dispatchForm) dispatchForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      post(dispatchForm, function (j) { return L10N.dispatched + " · " + L10N.assigned + " " + j.assigned + " · " + L10N.skipped + " " + j.skipped; });
    });
  }

  // ---------------------------------------------------------------- render and live updates
  function render(s) {
    snap = s;
    pushes++;
    renderKpis(s);
    renderTables(s);
    renderMap(s);
    renderProjection(s);
    renderPanel(s);
    var t = document.getElementById("last-updated");
    t.textContent = fmtTime(s.generated_at, true);
    t.setAttribute("datetime", s.generated_at);
    root.dataset.pushes = String(pushes);
  }

  initMap();
  render(snap);
  var state = document.getElementById("live-state"), dot = document.getElementById("live-dot");
  if (typeof EventSource !== "undefined") {
    var es = new EventSource(root.dataset.stream);
    es.addEventListener("open", function () { state.textContent = L10N.live; dot.className = "live-dot on"; });
    es.addEventListener("snapshot", function (ev) { render(JSON.parse(ev.data)); state.textContent = L10N.live; dot.className = "live-dot on"; });
    es.addEventListener("closed", function () { es.close(); state.textContent = L10N.error; dot.className = "live-dot off"; });
    es.addEventListener("error", function () { state.textContent = L10N.reconnecting; dot.className = "live-dot off"; });
    window.addEventListener("beforeunload", function () { es.close(); });
  }
})();
