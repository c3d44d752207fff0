/* Monitoring dashboard charts. Every <div data-chart="KIND" data-source="ID"> is drawn from the json_script
   block #ID (CSP: no inline JS), also inside fragments htmx loads later. Kinds: progress (completion bars
   with a time-progress marker line; a click on a bar opens that region's or institution's dashboard),
   share, trend, delivery, alerts. */
(function () {
  "use strict";
  var PALETTE = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d", "#ffc107",
                 "#0dcaf0", "#d63384", "#6610f2", "#adb5bd", "#343a40", "#795548", "#8bc34a", "#3f51b5"];
  /* Tooltips drawn on the canvas: ECharts' HTML tooltips carry inline style attributes, which the CSP blocks. */
  function tooltip(extra) {
    var t = { trigger: "axis", renderMode: "richText" };
    if (extra) { t.formatter = extra; }
    return t;
  }
  function pctAxis() { return { type: "value", axisLabel: { formatter: "{value}%" } }; }
  function pctTooltip(params) {
    var list = Array.isArray(params) ? params : [params];
    var lines = [list[0].axisValueLabel || list[0].name];
    list.forEach(function (p) {
      lines.push(p.seriesName + "：" + (p.value === null || p.value === undefined ? "暂无数据" : p.value + "%"));
    });
    return lines.join("\n");
  }
  var builders = {
    progress: function (data) {
      var series = {
        name: "完成率", type: "bar", data: data.completion,
        itemStyle: { color: function (p) { return data.time_progress !== null && p.value !== null && p.value < data.time_progress ? "#dc3545" : "#0d6efd"; } },
        label: { show: true, position: "top", formatter: function (p) { return p.value === null ? "" : p.value + "%"; } }
      };
      if (data.time_progress !== null) {
        series.markLine = { symbol: "none", lineStyle: { color: "#fd7e14", type: "dashed", width: 2 },
          // Above the line at its right end, inside the grid (at the default "end" the chart's edge clipped it),
          // on white so that it reads over a bar.
          label: { position: "insideEndTop", color: "#b35900", backgroundColor: "rgba(255,255,255,0.85)", padding: [2, 4], formatter: "序时进度 " + data.time_progress + "%" }, data: [{ yAxis: data.time_progress }] };
      }
      return {
        tooltip: tooltip(pctTooltip),
        grid: { left: 56, right: 24, top: 36, bottom: 72 },
        xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 6 ? 30 : 0 } },
        yAxis: pctAxis(), series: [series]
      };
    },
    share: function (data) {
      return {
        tooltip: tooltip(pctTooltip),
        grid: { left: 56, right: 16, top: 24, bottom: 72 },
        xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 6 ? 30 : 0 } },
        yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
        series: [{ name: "中选占比", type: "bar", data: data.values, itemStyle: { color: "#198754" } }]
      };
    },
    trend: function (data) {
      return {
        tooltip: tooltip(), legend: { top: 0 },
        grid: { left: 64, right: 16, top: 32, bottom: 32 },
        xAxis: { type: "category", data: data.labels }, yAxis: { type: "value" },
        series: [{ name: "本年度", type: "line", data: data.this_year, itemStyle: { color: "#dc3545" } },
                 { name: "上年同期", type: "line", data: data.last_year, lineStyle: { type: "dashed" }, itemStyle: { color: "#6c757d" } }]
      };
    },
    delivery: function (data) {
      var series = data.series.map(function (s, i) {
        return { name: s.name, type: "bar", data: s.values, itemStyle: { color: PALETTE[i % PALETTE.length] } };
      });
      series.push({ name: "总体", type: "line", data: data.overall, itemStyle: { color: "#212529" } });
      return {
        tooltip: tooltip(pctTooltip), legend: { top: 0 },
        grid: { left: 56, right: 16, top: 32, bottom: 96 },
        xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: 30 } },
        yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }, series: series
      };
    },
    alerts: function (data) {
      return {
        tooltip: tooltip(), legend: { top: 0, type: "scroll" },
        grid: { left: 48, right: 16, top: 40, bottom: 32 },
        xAxis: { type: "category", data: data.months }, yAxis: { type: "value", minInterval: 1 },
        series: data.series.map(function (s, i) {
          return { name: s.name, type: "bar", stack: "alerts", data: s.values, itemStyle: { color: PALETTE[i % PALETTE.length] } };
        })
      };
    }
  };
  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    var build = builders[el.getAttribute("data-chart")];
    if (el.getAttribute("data-rendered") || !source || !build || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(build(data));
    if (data.urls && data.urls.length) {
      chart.on("click", function (p) {
        var url = data.urls[p.dataIndex];
        if (url) { window.location.assign(url); }
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
    el.setAttribute("data-rendered", "1");
  }
  function drawIn(root) {
    root = root || document;
    /* htmx calls back with each swapped-in top-level element, which may itself be a chart. */
    if (root.matches && root.matches("[data-chart]")) { draw(root); }
    var charts = root.querySelectorAll ? root.querySelectorAll("[data-chart]") : [];
    for (var i = 0; i < charts.length; i++) { draw(charts[i]); }
  }
  /* Panels loaded after the page (htmx fragments, e.g. the substitute trend) bring their own chart
     elements: htmx.onLoad runs for the page itself and again for every swapped-in fragment. */
  if (typeof htmx !== "undefined" && htmx.onLoad) {
    htmx.onLoad(drawIn);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawIn(document); });
  } else {
    drawIn(document);
  }
})();
