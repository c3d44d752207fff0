/* Money pages' charts. Every <div data-chart="bars" data-source="ID"> is drawn from the json_script block #ID
   (CSP: no inline JS) holding {labels: [...], series: [{name, values: [...]}]} as grouped bars. */
(function () {
  "use strict";
  var COLORS = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545"];
  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0 },
      grid: { left: 72, right: 16, top: 32, bottom: 80 },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 5 ? 30 : 0 } },
      yAxis: { type: "value", max: data.max === undefined ? null : data.max },
      series: data.series.map(function (s, i) {
        return { name: s.name, type: "bar", data: s.values, itemStyle: { color: COLORS[i % COLORS.length] } };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.querySelectorAll("[data-chart='bars']").forEach(draw);
})();
