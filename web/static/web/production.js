/* The Production tab: the live results against the test figure and the bar, and the drift
   table's rows opening the reference vs live histograms of a feature and its PSI over the
   live windows. Data comes from the page's <script type="application/json"> blocks. */
(function () {
  "use strict";
  var charts = window.TargetlineCharts;
  if (!window.Plotly || !charts) return;
  var safe = charts.safe;
  var BAR = "#9c2f0e", TEST = "#5f6b78", LIVE = "#1f6fd1", REFERENCE = "#9aa6b5";

  function line(y, colour, dash) {
    return { type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: y, y1: y,
             line: { color: colour, width: 1.5, dash: dash } };
  }

  function label(y, text, colour, below) {
    return { xref: "paper", x: 0.01, xanchor: "left", yref: "y", y: y,
             yanchor: below ? "top" : "bottom", text: safe(text), showarrow: false,
             font: { color: colour, size: 12 } };
  }

  // --- the target metric per live window ---------------------------------------------
  function drawLive() {
    var data = charts.readJSON("live-data");
    var el = document.getElementById("live-chart");
    if (!data || !el) return;
    var traces = [
      { x: data.counted.x, y: data.counted.y, text: data.counted.text.map(safe),
        type: "scatter", mode: "lines+markers", name: "live " + data.metric, cliponaxis: false,
        line: { color: LIVE, width: 2.5 }, marker: { color: LIVE, size: 9 },
        hovertemplate: "%{text}<extra></extra>" },
      { x: data.too_few.x, y: data.too_few.y, text: data.too_few.text.map(safe),
        type: "scatter", mode: "markers", name: "too few checked", cliponaxis: false,
        marker: { color: "#fff", size: 9, line: { color: TEST, width: 2 } },
        hovertemplate: "%{text} (too few to count)<extra></extra>" }
    ].filter(function (trace) { return trace.x.length; });  // no hollow points: no entry
    // The bar and the test figure are lines across the whole chart (even over one window),
    // named in the legend by empty traces: labels on the chart would sit on each other, the
    // two being often a point apart.
    var shapes = [line(data.threshold, BAR, "dash")];
    function named(name, colour, dash) {
      return { x: [null], y: [null], type: "scatter", mode: "lines", name: safe(name),
               line: { color: colour, width: 1.8, dash: dash }, hoverinfo: "skip" };
    }
    traces.push(named("agreed bar: " + data.threshold, BAR, "dash"));
    if (data.test_value !== null) {
      shapes.push(line(data.test_value, TEST, "dot"));
      traces.push(named("on " + data.judged_on + ": " +
                        String(parseFloat(data.test_value.toPrecision(4))), TEST, "dot"));
    }
    var layout = charts.baseLayout({
      xaxis: { type: "date", gridcolor: "#e8ecf1", automargin: true, zeroline: false },
      yaxis: { title: { text: safe(data.metric) }, range: data.y_axis.range,
               gridcolor: "#e8ecf1", automargin: true, zeroline: false },
      shapes: shapes, annotations: charts.offScaleNotes(data.y_axis.off_scale)
    });
    Plotly.newPlot(el, traces, layout, charts.config).then(function () {
      el.setAttribute("data-loaded", "true");
    });
  }

  // --- drift: a feature's histograms and PSI -------------------------------------------
  function percent(shares) {
    return shares.map(function (s) { return Math.round(s * 1000) / 10; });
  }

  function drawFeature(data, name) {
    var feature = data.features[name];
    var detail = document.getElementById("feature-detail");
    if (!feature || !detail) return;
    detail.hidden = false;
    document.getElementById("feature-title").textContent =
      name + ": in training and live (share of cases per " +
      (feature.kind === "numeric" ? "bin" : "category") + ")";
    var bins = feature.bins.map(safe);
    var narrow = detail.clientWidth < 480;
    Plotly.react("histogram-chart", [
      { x: bins, y: percent(feature.reference), type: "bar", name: "in training",
        marker: { color: REFERENCE }, hovertemplate: "%{x}: %{y} %<extra>in training</extra>" },
      { x: bins, y: percent(feature.live), type: "bar", name: "live",
        marker: { color: LIVE }, hovertemplate: "%{x}: %{y} %<extra>live</extra>" }
    ], charts.baseLayout({
      barmode: "group", bargap: 0.2, hovermode: "x",
      xaxis: { type: "category", automargin: true, tickangle: narrow && bins.length > 4 ? -40 : 0,
               title: { text: feature.kind === "numeric" ? safe(name) + " (bin edges)" : "" } },
      yaxis: { title: { text: "% of cases" }, rangemode: "tozero", gridcolor: "#e8ecf1",
               automargin: true, zeroline: false }
    }), charts.config);
    var psi = feature.psi;
    var top = Math.max(data.significant_above * 1.4, Math.max.apply(null, psi.y.concat([0])) * 1.1);
    Plotly.react("psi-chart", [
      { x: psi.x, y: psi.y, text: psi.text.map(safe), type: "scatter", mode: "lines+markers",
        name: "PSI", line: { color: LIVE, width: 2 }, marker: { size: 7 }, cliponaxis: false,
        hovertemplate: "%{text}: PSI %{y:.4f}<extra></extra>" }
    ], charts.baseLayout({
      margin: { l: 56, r: 14, t: 10, b: 36 }, showlegend: false,
      xaxis: { type: "date", gridcolor: "#e8ecf1", automargin: true, zeroline: false },
      yaxis: { title: { text: "PSI" }, range: [0, top], gridcolor: "#e8ecf1",
               automargin: true, zeroline: false },
      shapes: [line(data.moderate_from, "#b07a00", "dot"), line(data.significant_above, BAR, "dash")],
      annotations: [label(data.moderate_from, "moderate", "#7a4f00", false),
                    label(data.significant_above, "significant", BAR, false)]
    }), charts.config).then(function () { detail.setAttribute("data-feature", name); });
  }

  function wireDrift() {
    var data = charts.readJSON("drift-data");
    var table = document.getElementById("drift-table");
    if (!data || !table) return;
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-feature]"));
    function select(row) {
      rows.forEach(function (r) {
        var on = r === row;
        r.classList.toggle("selected", on);
        r.querySelector("button").setAttribute("aria-pressed", on ? "true" : "false");
      });
      drawFeature(data, row.getAttribute("data-feature"));
    }
    rows.forEach(function (row) {
      row.addEventListener("click", function () { select(row); });
    });
    if (rows.length) select(rows[0]);  // the most drifted input, shown from the start
  }

  drawLive();
  wireDrift();
})();
