/* Tasks module: drag and drop on the department board (posts the same form the buttons post, through
   htmx) and the on-time completion chart (ECharts, data from the page). Both are optional: without
   JavaScript the board's buttons and the table under the chart still work. */
(function () {
  "use strict";

  // ---------------------------------------------------------------- board drag and drop
  function setupBoard() {
    // delegated to the document: htmx replaces #board after every move
    if (!document.getElementById("board") || typeof htmx === "undefined") { return; }
    var dragged = null;
    function column(e) { return e.target.closest ? e.target.closest("#board .board-col") : null; }
    function allowed(col) {
      if (!dragged || !col) { return false; }
      var moves = (dragged.getAttribute("data-moves") || "").split(",");
      return moves.indexOf(col.getAttribute("data-status")) >= 0;
    }
    document.addEventListener("dragstart", function (e) {
      var card = e.target.closest ? e.target.closest("#board .board-card[draggable='true']") : null;
      if (!card) { return; }
      dragged = card;
      card.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.getAttribute("data-task"));
    });
    document.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      dragged = null;
      document.querySelectorAll("#board .drop-ok").forEach(function (c) { c.classList.remove("drop-ok"); });
    });
    document.addEventListener("dragover", function (e) {
      var col = column(e);
      if (allowed(col)) { e.preventDefault(); col.classList.add("drop-ok"); }
    });
    document.addEventListener("dragleave", function (e) {
      var col = column(e);
      if (col && !col.contains(e.relatedTarget)) { col.classList.remove("drop-ok"); }
    });
    document.addEventListener("drop", function (e) {
      var col = column(e);
      if (!allowed(col)) { return; }
      e.preventDefault();
      var card = dragged;
      var board = document.getElementById("board");
      htmx.ajax("POST", "/tasks/" + card.getAttribute("data-task") + "/move", {
        target: "#board", swap: "outerHTML",
        values: { to: col.getAttribute("data-status"), version: card.getAttribute("data-version"),
                  org: board.getAttribute("data-org") }
      });
    });
  }

  // ---------------------------------------------------------------- on-time chart
  function setupChart() {
    var el = document.getElementById("ontime-chart");
    if (!el || typeof echarts === "undefined") { return; }
    var d = JSON.parse(el.getAttribute("data-chart") || "{}");
    var L = d.labels || {};
    var chart = echarts.init(el, null, { renderer: "canvas" });
    if (!d.orgs || !d.orgs.length) {
      chart.setOption({ title: { text: L.empty || "", left: "center", top: "middle",
                                 textStyle: { color: "#a0a8b4", fontSize: 14, fontWeight: "normal" } } });
      return;
    }
    chart.setOption({
      color: ["#2f855a", "#e6a23c", "#c0392b", "#1f5fa8"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 4 },
      grid: { left: 8, right: 16, top: 44, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: d.orgs, axisLabel: { interval: 0, rotate: d.orgs.length > 6 ? 30 : 0 } },
      yAxis: [
        { type: "value", name: L.count, minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
        { type: "value", name: L.rate, min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } }
      ],
      series: [
        { name: L.on_time, type: "bar", stack: "n", data: d.on_time, barMaxWidth: 46 },
        { name: L.late, type: "bar", stack: "n", data: d.late, barMaxWidth: 46 },
        { name: L.overdue, type: "bar", stack: "n", data: d.overdue, barMaxWidth: 46 },
        { name: L.rate, type: "line", yAxisIndex: 1, data: d.rate, symbolSize: 8, connectNulls: false,
          label: { show: true, formatter: function (p) { return p.value == null ? "" : p.value + "%"; } } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init() { setupBoard(); setupChart(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
