/* 统计分析: each <canvas data-chart="bar|line|doughnut" data-chart-table="id"> is drawn by Chart.js from
   the table it names (its header row gives the series, each body row a label and its numbers), so the chart
   can never say something the table — the accessible source of truth — does not. No inline code: CSP. */
(function () {
  "use strict";

  function readTable(table) {
    var series = Array.prototype.slice.call(table.tHead.rows[0].cells, 1).map(function (cell) {
      return { label: cell.textContent.trim(), data: [] };
    });
    var labels = [];
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      if (row.cells.length !== series.length + 1) {
        return; // the "no certificates" row
      }
      labels.push(row.cells[0].textContent.trim());
      series.forEach(function (one, index) {
        one.data.push(Number(row.cells[index + 1].textContent.trim()));
      });
    });
    return { labels: labels, datasets: series };
  }

  function draw(canvas) {
    var table = document.getElementById(canvas.getAttribute("data-chart-table"));
    if (!table || !window.Chart || canvas.hasAttribute("data-drawn")) {
      return;
    }
    var type = canvas.getAttribute("data-chart");
    var data = readTable(table);
    if (type === "doughnut") {
      data.datasets = data.datasets.slice(0, 1); // a share of the whole: the first series only
    }
    new window.Chart(canvas, {
      type: type,
      data: data,
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: type === "bar" && data.labels.length > 6 ? "y" : "x",
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart-table]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
}());
