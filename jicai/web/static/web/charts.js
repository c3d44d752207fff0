/* Draws every <div data-chart="bar" data-source="ID"> from the json_script block #ID (CSP: no inline JS). */
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
  function init() {
    var charts = document.querySelectorAll("[data-chart='bar']");
    for (var i = 0; i < charts.length; i++) { drawBar(charts[i]); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
