/* The KPI dashboard: charts from the page's JSON (json_script) drawn with plotly.js, and the
   filter form that applies itself on change. No inline script: the CSP to come allows files. */
(function () {
  "use strict";

  var FONT = '-apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  var COLORS = { accent: "#2457c5", ok: "#1a7f37", warn: "#b25e00", bad: "#c4302b", muted: "#98a2b3", vip: "#7a3fc4" };

  function layout(title, extra) {
    var base = {
      title: { text: title, font: { size: 13 }, x: 0.02 },
      margin: { l: 44, r: 12, t: 34, b: 34 },
      height: 250,
      font: { family: FONT, size: 11, color: "#1d2330" },
      legend: { orientation: "h", y: -0.18 },
      paper_bgcolor: "#fff",
      plot_bgcolor: "#fff",
      xaxis: { type: "category", automargin: true },
      yaxis: { rangemode: "tozero", gridcolor: "#e3e6ea" }
    };
    for (var key in extra || {}) { base[key] = extra[key]; }
    return base;
  }

  function column(rows, key) {
    return rows.map(function (r) { return r[key]; });
  }

  function draw() {
    var node = document.getElementById("kpi-chart-data");
    if (!node || !window.Plotly) { return; }
    var data = JSON.parse(node.textContent);
    var rows = data.series, labels = data.labels;
    var x = column(rows, "period");
    var config = { displayModeBar: false, responsive: true };
    window.Plotly.newPlot("chart-volume", [
      { type: "bar", name: labels.created, x: x, y: column(rows, "tickets_created"), marker: { color: COLORS.muted } },
      { type: "bar", name: labels.solved, x: x, y: column(rows, "tickets_solved"), marker: { color: COLORS.accent } }
    ], layout(labels.created + " / " + labels.solved, { barmode: "group" }), config);
    window.Plotly.newPlot("chart-response", [
      { type: "scatter", mode: "lines+markers", name: labels.frt_median, x: x, y: column(rows, "frt_median_cal"), line: { color: COLORS.accent } },
      { type: "scatter", mode: "lines+markers", name: labels.frt_within, x: x, y: column(rows, "frt_within_target"), yaxis: "y2", line: { color: COLORS.ok, dash: "dot" } }
    ], layout(labels.frt_median, {
      yaxis: { title: { text: "min" }, rangemode: "tozero", gridcolor: "#e3e6ea" },
      yaxis2: { title: { text: "%" }, overlaying: "y", side: "right", range: [0, 100], showgrid: false }
    }), config);
    window.Plotly.newPlot("chart-rates", [
      { type: "scatter", mode: "lines+markers", name: labels.sla, x: x, y: column(rows, "sla_all"), line: { color: COLORS.accent } },
      { type: "scatter", mode: "lines+markers", name: labels.resolution, x: x, y: column(rows, "resolution_rate"), line: { color: COLORS.ok } },
      { type: "scatter", mode: "lines+markers", name: labels.csat, x: x, y: column(rows, "csat"), line: { color: COLORS.vip } }
    ], layout("%", { yaxis: { range: [0, 100], gridcolor: "#e3e6ea" } }), config);
    var ages = data.backlog.by_age;
    window.Plotly.newPlot("chart-backlog", [
      { type: "bar", x: ["< 1 h", "1–4 h", "4–24 h", "1–2 d", "> 2 d"], y: [ages.lt_1h, ages["1h_4h"], ages["4h_24h"], ages["1d_2d"], ages.gt_2d],
        marker: { color: [COLORS.ok, COLORS.ok, COLORS.warn, COLORS.bad, COLORS.bad] } }
    ], layout(labels.backlog_age), config);
    document.body.setAttribute("data-charts", "drawn");
  }

  function autosubmit() {
    var form = document.getElementById("kpi-filters");
    if (!form) { return; }
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT" || event.target.type === "date") {
        if (event.target.name === "from" || event.target.name === "to") { return; }
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  }

  function start() { draw(); autosubmit(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
