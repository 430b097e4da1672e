/* Complaint dashboard charts (ECharts, served from /static/vendor). Fetches the JSON figures from the
   element's data-api URL; chart titles come from the page (already in the user's language), data labels
   from the API (same language). Clicking a bar or slice opens the matching complaint list. */
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  if (!root || typeof echarts === "undefined") { return; }
  var T = {};
  try { T = JSON.parse(document.getElementById("dashboard-i18n").textContent || "{}"); } catch (e) { T = {}; }
  function t(s) { return T[s] || s; }

  var listBase = root.getAttribute("data-list") || "/complaints";
  var org = root.getAttribute("data-org") || "";
  var charts = [];
  var PALETTE = ["#1f5fa8", "#e6a23c", "#2f855a", "#9f7aea", "#d64545", "#38a3a5", "#718096", "#b7791f",
                 "#4c51bf", "#c05621", "#2c7a7b", "#97266d"];

  function listUrl(params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) { q.append(k, params[k]); });
    if (org && !params.org) { q.append("org", org); }
    return listBase + "?" + q.toString();
  }

  function make(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var c = echarts.init(el, null, { renderer: "canvas" });
    charts.push(c);
    return c;
  }

  function title(text, sub) {
    return { text: text, subtext: sub || "", left: 8, top: 4, textStyle: { fontSize: 14, fontWeight: 600 } };
  }

  function empty(chart, text) {
    chart.setOption({
      title: [title(text), { text: t("暂无数据"), left: "center", top: "middle",
                             textStyle: { color: "#a0a8b4", fontSize: 13, fontWeight: "normal" } }]
    });
  }

  function total(items) { return items.reduce(function (a, b) { return a + b.count; }, 0); }

  function bar(id, text, items, paramName, opts) {
    var chart = make(id);
    if (!chart) { return; }
    if (!total(items)) { empty(chart, text); return; }
    opts = opts || {};
    // horizontal bars, largest on top
    var rows = items.slice().sort(function (a, b) { return a.count - b.count; });
    chart.setOption({
      color: [opts.colour || PALETTE[0]],
      title: title(text, opts.noTotal ? "" : t("受理") + " " + total(items) + " " + t("件")),
      grid: { left: 8, right: 40, top: 52, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
      yAxis: { type: "category", data: rows.map(function (r) { return r.label; }),
               axisLabel: { width: 150, overflow: "truncate" } },
      series: [{ type: "bar", data: rows.map(function (r) { return r.count; }), barMaxWidth: 22,
                 label: { show: true, position: "right", color: "#4a5568" } }]
    });
    if (paramName) {
      chart.on("click", function (p) {
        var row = rows[p.dataIndex];
        if (!row) { return; }
        var params = {};
        params[paramName] = row.code;
        window.location.href = listUrl(params);
      });
    }
  }

  function statusPie(items) {
    var chart = make("chart-status");
    if (!chart) { return; }
    var text = t("状态分布");
    if (!total(items)) { empty(chart, text); return; }
    chart.setOption({
      title: title(text, t("受理") + " " + total(items) + " " + t("件")),
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { type: "scroll", orient: "horizontal", left: "center", bottom: 4, itemWidth: 12, itemHeight: 10 },
      series: [{
        type: "pie", radius: ["32%", "56%"], center: ["50%", "52%"], avoidLabelOverlap: true,
        label: { formatter: "{c}", color: "#4a5568" }, labelLine: { length: 8, length2: 6 },
        data: items.map(function (s) {
          return { name: s.label, value: s.count, code: s.code, itemStyle: { color: s.colour } };
        })
      }]
    });
    chart.on("click", function (p) {
      if (p.data && p.data.code) { window.location.href = listUrl({ status: p.data.code }); }
    });
  }

  function trend(days) {
    var chart = make("chart-trend");
    if (!chart) { return; }
    var text = t("每日受理与办结");
    chart.setOption({
      color: [PALETTE[0], PALETTE[2]],
      title: title(text),
      tooltip: { trigger: "axis" },
      legend: { data: [t("受理"), t("办结")], top: 6, right: 16 },
      grid: { left: 8, right: 24, top: 48, bottom: 8, containLabel: true },
      xAxis: { type: "category", boundaryGap: false, data: days.map(function (d) { return d.day.slice(5); }) },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
      series: [
        { name: t("受理"), type: "line", showSymbol: days.length <= 45, areaStyle: { opacity: 0.08 },
          data: days.map(function (d) { return d.received; }) },
        { name: t("办结"), type: "line", showSymbol: days.length <= 45,
          data: days.map(function (d) { return d.decided; }) }
      ]
    });
  }

  function failed() {
    ["chart-trend", "chart-status", "chart-branch", "chart-cause", "chart-line", "chart-groups"]
      .forEach(function (id) {
        var el = document.getElementById(id);
        if (el) {
          el.textContent = t("数据加载失败");
          el.style.cssText += ";display:flex;align-items:center;justify-content:center;color:#c53030";
        }
      });
  }

  fetch(root.getAttribute("data-api"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (d) {
      trend(d.trend);
      statusPie(d.by_status);
      bar("chart-branch", t("按机构"), d.by_branch, "org", { colour: PALETTE[0] });
      bar("chart-cause", t("按投诉原因"), d.by_cause, "cause", { colour: PALETTE[1] });
      bar("chart-line", t("按险种"), d.by_line, "business_line", { colour: PALETTE[5] });
      bar("chart-groups", t("特殊群体"), d.special_groups, "special_group", { colour: PALETTE[3], noTotal: true });
    })
    .catch(failed);

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 120);
  });
})();
