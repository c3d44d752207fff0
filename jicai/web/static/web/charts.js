/* Draws every <div data-chart="bar|forecast" data-source="ID"> from the json_script block #ID (CSP: no inline JS). */
(function () {
  "use strict";
  function drawBar(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      // richText tooltips draw on the canvas; HTML tooltips need inline styles, which the CSP forbids.
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { left: 48, right: 16, top: 32, bottom: 32 },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: data.series, type: "bar", data: data.values, label: { show: true, position: "top" },
                 itemStyle: { color: "#0d6efd" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.setAttribute("data-rendered", "1");
  }
  /* Year-end forecast (SPEC §13): per item or batch, completion to date (actual), time progress (plan to
     date) and projected completion at year end, in % of the agreed volume; the dashed line is the
     completion required (progress_tolerance). */
  function pct(v) { return v === null || v === undefined ? "暂无数据" : v + "%"; }
  function drawForecast(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var projected = { name: "年末预计完成率", type: "bar", data: data.projected,
      itemStyle: { color: function (p) { return data.required !== null && p.value !== null && p.value < data.required ? "#dc3545" : "#198754"; } },
      label: { show: true, position: "top", formatter: function (p) { return p.value === null ? "" : p.value + "%"; } } };
    if (data.required !== null) {
      projected.markLine = { symbol: "none", lineStyle: { color: "#dc3545", type: "dashed", width: 2 },
        label: { formatter: "应达 " + data.required + "%" }, data: [{ yAxis: data.required }] };
    }
    chart.setOption({
      tooltip: { trigger: "axis", renderMode: "richText", formatter: function (params) {
        var lines = [params[0].axisValueLabel];
        params.forEach(function (p) { lines.push(p.seriesName + "：" + pct(p.value)); });
        return lines.join("\n");
      } },
      legend: { top: 0 },
      grid: { left: 56, right: 24, top: 40, bottom: data.labels.length > 4 ? 72 : 32 },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      series: [
        { name: "已完成（实际）", type: "bar", data: data.actual, itemStyle: { color: "#0d6efd" } },
        { name: "序时进度（计划）", type: "line", data: data.plan, symbol: "diamond", symbolSize: 10,
          lineStyle: { type: "dotted" }, itemStyle: { color: "#fd7e14" } },
        projected
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.setAttribute("data-rendered", "1");
  }
  function init() {
    var charts = document.querySelectorAll("[data-chart='bar']");
    for (var i = 0; i < charts.length; i++) { drawBar(charts[i]); }
    var forecasts = document.querySelectorAll("[data-chart='forecast']");
    for (var j = 0; j < forecasts.length; j++) { drawForecast(forecasts[j]); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
