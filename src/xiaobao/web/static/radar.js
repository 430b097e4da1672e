// Risk radar pages: the event map (Leaflet, no base layer unless configured) and the comparison charts
// (ECharts). Data comes from /api/v1/radar/events/<id>/map as GeoJSON-like JSON.
(function () {
  "use strict";

  var WIND_COLOURS = { below_gale: "#8a96a3", gale: "#f2c230", storm: "#f07f1a", typhoon: "#c81d3a" };
  var LOSS_BANDS = [
    { upper: 1, colour: "#8a96a3", zh: "无", en: "none" },
    { upper: 1e4, colour: "#9ecae1", zh: "< 1万元", en: "< 10k yuan" },
    { upper: 1e5, colour: "#4292c6", zh: "1–10万元", en: "10k–100k" },
    { upper: 1e6, colour: "#f07f1a", zh: "10–100万元", en: "100k–1M" },
    { upper: Infinity, colour: "#c81d3a", zh: "≥ 100万元", en: "≥ 1M yuan" },
  ];
  var KM_PER_DEG = 111.12;

  function fmtTime(iso, lang) {
    if (!iso) return "";
    var d = new Date(iso.endsWith("Z") || /[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z");
    var local = new Date(d.getTime() + 8 * 3600 * 1000);
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    return local.getUTCFullYear() + "-" + p(local.getUTCMonth() + 1) + "-" + p(local.getUTCDate()) + " " +
      p(local.getUTCHours()) + ":" + p(local.getUTCMinutes()) + (lang === "zh" ? " 北京时间" : " CST");
  }

  function fmtYuan(v) {
    return v == null ? "—" : Math.round(v).toLocaleString("en-US");
  }

  function escapeHtml(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function lossBand(v) {
    for (var i = 0; i < LOSS_BANDS.length; i++) if ((v || 0) < LOSS_BANDS[i].upper) return i;
    return LOSS_BANDS.length - 1;
  }

  function radiusPolygon(pt, radii) {
    var n = radii.length, out = [], any = false;
    for (var i = 0; i < n; i++) {
      var r = radii[i];
      if (r > 0) any = true;
      var th = (i * 2 * Math.PI) / n;
      out.push([pt.lat + (r * Math.cos(th)) / KM_PER_DEG,
                pt.lon + (r * Math.sin(th)) / (KM_PER_DEG * Math.cos((pt.lat * Math.PI) / 180))]);
    }
    return any ? out : null;
  }

  function initMap(el) {
    var labels = JSON.parse(el.dataset.labels || "{}");
    var tiles = JSON.parse(el.dataset.tiles || "{}");
    var lang = el.dataset.lang || "zh";
    var status = document.getElementById("map-status");
    var legend = document.getElementById("map-legend");
    var select = document.getElementById("colour-by");
    var slider = document.getElementById("time-slider");
    var timeLabel = document.getElementById("time-label");
    var map = L.map(el, { zoomSnap: 0.25, attributionControl: !!tiles.url });
    if (tiles.url) {
      L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 18 }).addTo(map);
    } else {
      // no tile server configured: draw land from the vendored Natural Earth outline (works offline)
      el.classList.add("no-basemap");
    }
    fetch(el.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) { draw(data); })
      .catch(function (e) { status.textContent = "error " + e.message; });

    function draw(data) {
      var pts = data.track.properties.points;
      var features = data.sites.features;
      var bounds = L.latLngBounds([]);
      pts.forEach(function (p) { bounds.extend([p.lat, p.lon]); });
      features.forEach(function (f) { bounds.extend([f.geometry.coordinates[1], f.geometry.coordinates[0]]); });
      if (!bounds.isValid()) bounds = L.latLngBounds([[22, 115], [28, 122]]);
      map.fitBounds(bounds, { padding: [20, 20] }); // the map needs a view before layers are added
      if (!tiles.url) drawLand();
      drawGraticule(bounds.pad(0.5));
      L.polyline(pts.map(function (p) { return [p.lat, p.lon]; }), { color: "#1f3b73", weight: 2.5 }).addTo(map)
        .bindTooltip(labels.track + " " + (data.event.name || ""));
      pts.forEach(function (p, i) {
        if (i % 6 !== 0) return;
        L.circleMarker([p.lat, p.lon], { radius: 3, color: "#1f3b73", weight: 1, fillOpacity: 1 })
          .addTo(map).bindTooltip(fmtTime(p.t, lang) + (p.pressure ? " · " + Math.round(p.pressure) + " hPa" : ""));
      });
      var circles = L.layerGroup().addTo(map);
      var centre = null;
      var siteLayer = L.layerGroup().addTo(map);
      var markers = features.map(function (f) {
        var c = f.geometry.coordinates, pr = f.properties;
        var m = L.circleMarker([c[1], c[0]], { radius: 5, weight: 1, color: "#222", fillOpacity: 0.85 });
        m.feature = f;
        m.bindPopup(function () { return popup(pr); });
        m.addTo(siteLayer);
        return m;
      });

      function popup(pr) {
        var visit = pr.visit === "visited" ? labels.visited : pr.visit === "planned" ? labels.planned :
          pr.visit === "unreachable" ? labels.unreachable : labels.not_visited;
        return '<div class="site-popup"><strong>' + escapeHtml(pr.name) + "</strong>" +
          (pr.approximate ? ' <span class="badge">' + escapeHtml(labels.approximate) + "</span>" : "") +
          "<dl><dt>" + labels.rank + "</dt><dd>#" + pr.rank + "</dd>" +
          "<dt>" + labels.org + "</dt><dd>" + escapeHtml(pr.org) + "</dd>" +
          "<dt>" + labels.contact + "</dt><dd>" + escapeHtml(pr.contact || labels.none) + "</dd>" +
          "<dt>" + labels.wind + "</dt><dd>" + pr.max_wind.toFixed(1) + " m/s</dd>" +
          "<dt>" + labels.loss + "</dt><dd>" + fmtYuan(pr.expected_loss) + " " + labels.yuan + "</dd>" +
          "<dt>" + labels.gale_arrival + "</dt><dd>" + (pr.gale_arrival ? fmtTime(pr.gale_arrival, lang) +
            (pr.hours_until_gale != null ? " (" + pr.hours_until_gale.toFixed(1) + " h)" : "") : labels.never) + "</dd>" +
          "<dt>" + labels.visit + "</dt><dd>" + visit + "</dd>" +
          (pr.actual_loss != null ? "<dt>" + labels.actual + "</dt><dd>" + fmtYuan(pr.actual_loss) + " " + labels.yuan + "</dd>" : "") +
          "</dl></div>";
      }

      function colour() {
        var mode = select.value, counts = {};
        markers.forEach(function (m) {
          var pr = m.feature.properties, key, col;
          if (mode === "wind") { key = pr.band; col = WIND_COLOURS[key]; }
          else { key = String(lossBand(mode === "loss" ? pr.expected_loss : pr.actual_loss)); col = LOSS_BANDS[+key].colour; }
          counts[key] = (counts[key] || 0) + 1;
          m.setStyle({ fillColor: col, radius: pr.visit === "visited" ? 7 : 5, weight: pr.visit === "visited" ? 2 : 1 });
        });
        var items = mode === "wind"
          ? data.bands.map(function (b) { return { colour: WIND_COLOURS[b.key], label: b.label, n: counts[b.key] || 0 }; })
          : LOSS_BANDS.map(function (b, i) { return { colour: b.colour, label: lang === "zh" ? b.zh : b.en, n: counts[String(i)] || 0 }; });
        legend.innerHTML = "<strong>" + escapeHtml(mode === "wind" ? labels.wind : mode === "loss" ? labels.loss : labels.actual) +
          "</strong><ul>" + items.map(function (it) {
            return '<li><span class="swatch" style="background:' + it.colour + '"></span>' + escapeHtml(it.label) +
              ' <span class="muted">(' + it.n + ")</span></li>";
          }).join("") + '</ul><ul class="radii-key"><li><span class="ring gale"></span>' + labels.gale_circle +
          '</li><li><span class="ring storm"></span>' + labels.storm_circle + "</li><li>" +
          '<span class="swatch big"></span>' + labels.visited + "</li></ul>";
      }

      function showTime(i) {
        circles.clearLayers();
        var p = pts[i];
        if (!p) return;
        timeLabel.textContent = fmtTime(p.t, lang);
        if (centre) map.removeLayer(centre);
        centre = L.circleMarker([p.lat, p.lon], { radius: 6, color: "#1f3b73", fillColor: "#fff", weight: 3, fillOpacity: 1 }).addTo(map);
        var g = radiusPolygon(p, p.r_gale), s = radiusPolygon(p, p.r_storm);
        if (g) L.polygon(g, { className: "gale-radius", color: "#e0a800", weight: 2, fillOpacity: 0.08 }).addTo(circles).bindTooltip(labels.gale_circle);
        if (s) L.polygon(s, { className: "storm-radius", color: "#d9480f", weight: 2, fillOpacity: 0.12 }).addTo(circles).bindTooltip(labels.storm_circle);
      }

      slider.max = String(Math.max(0, pts.length - 1));
      var ref = Date.parse(data.event.reference_time), best = 0, bestD = Infinity;
      pts.forEach(function (p, i) { var d = Math.abs(Date.parse(p.t) - ref); if (d < bestD) { bestD = d; best = i; } });
      slider.value = String(best);
      slider.addEventListener("input", function () { showTime(+slider.value); });
      select.addEventListener("change", colour);
      colour();
      showTime(best);
      status.textContent = features.length + " " + labels.sites;
      el.dataset.ready = "1";
    }

    function drawLand() {
      if (typeof topojson === "undefined") return;
      fetch("/static/vendor/world-atlas/land-50m.json", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (topo) {
          var land = topojson.feature(topo, topo.objects.land);
          L.geoJSON(land, { interactive: false, style: { color: "#8a9a8c", weight: 1, fillColor: "#f4f1e8", fillOpacity: 1 } })
            .addTo(map).bringToBack();
          el.dataset.land = "1";
        })
        .catch(function () { /* the grid alone still orients the map */ });
    }

    function drawGraticule(b) {
      var layer = L.layerGroup().addTo(map);
      var s = Math.floor(b.getSouth()), n = Math.ceil(b.getNorth()), w = Math.floor(b.getWest()), e = Math.ceil(b.getEast());
      for (var lat = s; lat <= n; lat++) {
        L.polyline([[lat, w], [lat, e]], { color: "#c7d0d9", weight: 1, interactive: false }).addTo(layer);
      }
      for (var lon = w; lon <= e; lon++) {
        L.polyline([[s, lon], [n, lon]], { color: "#c7d0d9", weight: 1, interactive: false }).addTo(layer);
      }
      for (lat = s; lat <= n; lat++) {
        for (lon = w; lon <= e; lon++) {
          if ((lat - s) % 2 === 0 && (lon - w) % 2 === 0) {
            L.marker([lat, lon], { interactive: false, icon: L.divIcon({ className: "graticule-label", html: lat + "°N " + lon + "°E", iconSize: [70, 12], iconAnchor: [-2, -2] }) }).addTo(layer);
          }
        }
      }
    }
  }

  function initCharts() {
    var dataEl = document.getElementById("chart-data");
    if (!dataEl || typeof echarts === "undefined") return;
    var data = JSON.parse(dataEl.textContent);
    [["chart-branch", data.branch], ["chart-industry", data.industry]].forEach(function (pair) {
      var el = document.getElementById(pair[0]);
      if (!el) return;
      var rows = pair[1];
      var chart = echarts.init(el);
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: [data.labels.modelled, data.labels.actual] },
        grid: { left: 60, right: 20, bottom: 70, top: 40 },
        xAxis: { type: "category", data: rows.map(function (r) { return r[0]; }), axisLabel: { rotate: 30 } },
        yAxis: { type: "value" },
        series: [
          { name: data.labels.modelled, type: "bar", data: rows.map(function (r) { return r[1]; }), itemStyle: { color: "#4292c6" } },
          { name: data.labels.actual, type: "bar", data: rows.map(function (r) { return r[2]; }), itemStyle: { color: "#f07f1a" } },
        ],
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("radar-map");
    if (el && typeof L !== "undefined") initMap(el);
    initCharts();
  });
})();
