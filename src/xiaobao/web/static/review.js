/* Consumer-protection review pages.
   Submission page: findings highlighted in the material (<mark data-ids>) and their cards in the side panel
   ([data-finding]); j / n / ArrowDown and k / p / ArrowUp move between findings (focus moves to the card, the
   mark scrolls into view); clicking a mark selects its finding; htmx swaps a card after a decision.
   Statistics page: ECharts from the JSON embedded in the page. */
(function () {
  "use strict";

  // ------------------------------------------------------------ the submission page
  var text = document.getElementById("material-text");
  var panel = document.getElementById("findings-panel");
  if (text && panel) {
    var current = -1;
    var cards = function () { return Array.prototype.slice.call(panel.querySelectorAll("[data-finding]")); };
    var marksOf = function (id) {
      return Array.prototype.slice.call(text.querySelectorAll("mark[data-ids]")).filter(function (m) {
        return m.getAttribute("data-ids").split(" ").indexOf(String(id)) >= 0;
      });
    };
    var paintDecisions = function () {
      cards().forEach(function (card) {
        var d = card.getAttribute("data-decision");
        marksOf(card.getAttribute("data-finding")).forEach(function (m) {
          if (m.getAttribute("data-ids").split(" ")[0] !== card.getAttribute("data-finding")) { return; }
          m.classList.toggle("decided", d === "accept");
          m.classList.toggle("dismissed", d === "dismiss");
        });
      });
    };
    var select = function (i, focusCard) {
      var list = cards();
      if (!list.length) { return; }
      i = Math.max(0, Math.min(list.length - 1, i));
      current = i;
      text.querySelectorAll("mark.current").forEach(function (m) { m.classList.remove("current"); });
      list.forEach(function (c) { c.classList.remove("current"); });
      var card = list[i];
      card.classList.add("current");
      var marks = marksOf(card.getAttribute("data-finding"));
      marks.forEach(function (m) { m.classList.add("current"); });
      if (marks.length) { marks[0].scrollIntoView({ block: "center" }); }
      card.scrollIntoView({ block: "nearest" });
      if (focusCard !== false) { card.focus({ preventScroll: true }); }
    };
    var indexOf = function (id) {
      return cards().findIndex(function (c) { return c.getAttribute("data-finding") === String(id); });
    };
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (e.altKey || e.ctrlKey || e.metaKey) { return; }
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) { return; }
      var k = e.key;
      if (k === "j" || k === "n" || k === "ArrowDown") { e.preventDefault(); select(current + 1); }
      else if (k === "k" || k === "p" || k === "ArrowUp") { e.preventDefault(); select(current < 0 ? 0 : current - 1); }
    });
    text.addEventListener("click", function (e) {
      var m = e.target.closest("mark[data-ids]");
      if (!m) { return; }
      var ids = m.getAttribute("data-ids").split(" ");
      // a click on overlapping findings cycles through them
      var list = cards();
      var cur = current >= 0 && list[current] ? list[current].getAttribute("data-finding") : null;
      var at = ids.indexOf(cur);
      select(indexOf(ids[(at + 1) % ids.length]));
    });
    panel.addEventListener("click", function (e) {
      var card = e.target.closest("[data-finding]");
      if (card && !e.target.closest("form")) { select(indexOf(card.getAttribute("data-finding")), false); }
    });
    document.querySelectorAll("[data-goto]").forEach(function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); select(indexOf(a.getAttribute("data-goto"))); });
    });
    // a refused decision (422: e.g. a dismissal without reason) comes back as the card with the problem
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      if (e.detail.xhr && e.detail.xhr.status === 422 && panel.contains(e.detail.target)) {
        e.detail.shouldSwap = true;
        e.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function () {
      paintDecisions();
      if (current >= 0) {
        var list = cards();
        if (list[current]) { list[current].classList.add("current"); }
      }
    });
    paintDecisions();
    var hash = /^#card-(\d+)$/.exec(window.location.hash || "");
    if (hash) { select(indexOf(hash[1])); }
  }

  // ------------------------------------------------------------ statistics
  var dataEl = document.getElementById("review-stats-data");
  if (dataEl && typeof echarts !== "undefined") {
    var data = {};
    try { data = JSON.parse(dataEl.textContent || "{}"); } catch (err) { data = {}; }
    var bars = function (id, labels, values, colour) {
      var el = document.getElementById(id);
      if (!el) { return; }
      // every bar keeps its label: grow the chart with the number of bars
      el.style.height = Math.max(el.clientHeight || 0, labels.length * 22 + 40) + "px";
      var chart = echarts.init(el);
      chart.setOption({
        color: [colour],
        grid: { left: 8, right: 36, top: 10, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: labels.slice().reverse(), axisLabel: { width: 150, overflow: "truncate", interval: 0 } },
        series: [{ type: "bar", data: values.slice().reverse(), label: { show: true, position: "right" } }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    };
    var cats = data.by_category || [];
    bars("chart-category", cats.map(function (c) { return c.label; }), cats.map(function (c) { return c.count; }), "#d64545");
    var rules = data.by_rule || [];
    bars("chart-rule", rules.map(function (r) { return r.label; }), rules.map(function (r) { return r.count; }), "#e6a23c");
    var depts = data.by_department || [];
    bars("chart-dept", depts.map(function (d) { return d.label; }), depts.map(function (d) { return d.findings; }), "#1f5fa8");
    var concl = data.conclusions || [];
    var el = document.getElementById("chart-conclusion");
    if (el) {
      var pie = echarts.init(el);
      pie.setOption({
        color: ["#2f855a", "#38a3a5", "#d64545"],
        tooltip: { trigger: "item" },
        legend: { bottom: 0 },
        series: [{ type: "pie", radius: ["35%", "65%"], data: concl.map(function (c) { return { name: c.label, value: c.count }; }) }]
      });
      window.addEventListener("resize", function () { pie.resize(); });
    }
  }
})();
