/* Hospital target charts (CSP: no inline script). <div data-chart="split|monthly" data-source="ID"> is drawn
   from the json_script block #ID: split = target / used / plan-to-date bars per department or doctor;
   monthly = a doctor's monthly plan (bars) and use (line). */
(function () {
  "use strict";
  function tooltip() { return { trigger: "axis", renderMode: "richText" }; }
  var builders = {
    split: function (d) {
      return {
        tooltip: tooltip(), legend: { top: 0, data: ["目标使用量", "已使用量", "计划进度量"] },
        grid: { left: 56, right: 16, top: 36, bottom: 48 },
        xAxis: { type: "category", data: d.labels }, yAxis: { type: "value" },
        series: [
          { name: "目标使用量", type: "bar", data: d.target, itemStyle: { color: "#adb5bd" } },
          { name: "已使用量", type: "bar", data: d.used, itemStyle: { color: "#0d6efd" } },
          { name: "计划进度量", type: "bar", data: d.plan, itemStyle: { color: "#fd7e14" } }
        ]
      };
    },
    monthly: function (d) {
      return {
        tooltip: tooltip(), legend: { top: 0, data: ["月度计划", "已使用量"] },
        grid: { left: 56, right: 16, top: 36, bottom: 48 },
        xAxis: { type: "category", data: d.labels }, yAxis: { type: "value" },
        series: [
          { name: "月度计划", type: "bar", data: d.plan, itemStyle: { color: "#adb5bd" } },
          { name: "已使用量", type: "line", data: d.used, itemStyle: { color: "#0d6efd" } }
        ]
      };
    }
  };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var build = builders[el.getAttribute("data-chart")];
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!build || !source || typeof echarts === "undefined") { return; }
    el.style.height = "320px";
    echarts.init(el).setOption(build(JSON.parse(source.textContent)));
  });
})();
