/* Charts of the web UI, drawn with the plotly.js this server serves (never a CDN).
   Data comes from <script type="application/json"> blocks written by the server and from
   /p/<project>/curves.json on the same server. */
(function () {
  "use strict";
  if (!window.Plotly) return;

  var MARGIN_WITH_LEGEND = { l: 56, r: 14, t: 34, b: 44 };
  var FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif", size: 12, color: "#17202b" };
  var CONFIG = { displaylogo: false, responsive: true,
                 modeBarButtonsToRemove: ["select2d", "lasso2d", "toggleSpikelines"] };
  var PALETTE = ["#1f6fd1", "#e0721b", "#2a9d55", "#c93a3a", "#8456c4", "#8c5a3c",
                 "#d24fa4", "#5f6b78", "#a7a21a", "#19a7b8"];
  var SPLIT_COLOURS = { train: "#1f6fd1", validation: "#e0721b", test: "#2a9d55" };

  function colour(index) {
    if (index < PALETTE.length) return PALETTE[index];
    var hue = Math.round((index * 137.508) % 360);  // golden angle: neighbours differ
    return "hsl(" + hue + ", 62%, 42%)";
  }

  // Plotly reads a few HTML-like tags in names and labels; user text is shown as text.
  function safe(text) {
    return String(text === null || text === undefined ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function baseLayout(extra) {
    var layout = {
      font: FONT, margin: MARGIN_WITH_LEGEND, paper_bgcolor: "#fff",
      plot_bgcolor: "#fff", hovermode: "closest",
      xaxis: { gridcolor: "#e8ecf1", zeroline: false, automargin: true },
      yaxis: { gridcolor: "#e8ecf1", zeroline: false, automargin: true },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" }
    };
    for (var k in extra) layout[k] = extra[k];
    return layout;
  }

  // Notes for what the server left off the value axis (a baseline far below), at its edge.
  function offScaleNotes(offScale) {
    return (offScale || []).map(function (off) {
      return { xref: "paper", x: 1, xanchor: "right", yref: "paper", showarrow: false,
               y: off.side === "below" ? 0 : 1, yanchor: off.side === "below" ? "bottom" : "top",
               text: safe(off.text), font: { color: "#5f6b78", size: 12 } };
    });
  }

  function inRange(range, y) {
    return y !== null && (!range || (y >= range[0] && y <= range[1]));
  }

  // --- Dashboard: best so far over time ------------------------------------------------
  // The axes come worked out from the server (web/charts.py): the value range, and x as
  // times or, for runs that all ended within a minute, as their order.
  function progressXAxis(axis, narrow) {
    var out = { range: axis.range, gridcolor: "#e8ecf1", automargin: true, zeroline: false };
    if (axis.type === "order") {
      out.type = "linear";
      // On a phone the title takes two lines: "(all within 6 seconds)" under the rest.
      out.title = { text: narrow ? safe(axis.title).replace(" (", "<br>(") : safe(axis.title) };
      out.showgrid = false;
      if (axis.names.length) {
        out.tickmode = "array";
        out.tickvals = axis.names.map(function (_, i) { return i + 1; });
        out.ticktext = axis.names.map(safe);
      } else {
        out.dtick = 1;
        out.tickformat = "d";
      }
    } else {
      out.type = "date";
    }
    return out;
  }

  function drawProgress() {
    var data = readJSON("progress-data");
    var el = document.getElementById("progress-chart");
    if (!data || !el) return;
    var yRange = data.y_axis.range;
    var passX = [], passY = [], failX = [], failY = [];
    data.dots.x.forEach(function (x, i) {
      var y = data.dots.y[i];
      if (!inRange(yRange, y)) return;  // off the scale: named at the chart's edge
      if (data.dots.passes[i]) { passX.push(x); passY.push(y); }
      else { failX.push(x); failY.push(y); }
    });
    var bestX = data.best.x.slice(), bestY = data.best.y.slice();
    if (data.end !== null && bestX.length && data.end > bestX[bestX.length - 1]) {
      bestX.push(data.end); bestY.push(bestY[bestY.length - 1]);
    }
    var traces = [
      { x: passX, y: passY, type: "scatter", mode: "markers", name: "run on " + data.selected_on,
        marker: { color: "rgba(31,111,209,0.45)", size: 6 }, cliponaxis: false,
        hovertemplate: "%{y:.4g}<extra>run</extra>" },
      { x: failX, y: failY, type: "scatter", mode: "markers", name: "fails a guardrail",
        marker: { color: "rgba(120,128,140,0.45)", size: 6, symbol: "x" }, cliponaxis: false,
        hovertemplate: "%{y:.4g}<extra>fails a guardrail</extra>" },
      { x: bestX, y: bestY, type: "scatter", mode: "lines", line: { shape: "hv", width: 3, color: "#1b56b3" },
        name: "best so far", text: data.best.name.concat(bestX.length > data.best.name.length ? [data.best.name[data.best.name.length - 1]] : []).map(safe),
        hovertemplate: "%{y:.4g} (%{text})<extra>best so far</extra>" }
    ];
    if (data.winner) {
      traces.push({ x: [data.winner.x], y: [data.winner.y], type: "scatter", mode: "markers",
        name: "best model on " + data.judged_on, text: [safe(data.winner.name)], cliponaxis: false,
        marker: { symbol: "star", size: 16, color: "#136b35", line: { color: "#fff", width: 1 } },
        hovertemplate: "%{y:.4g} on " + data.judged_on + " (%{text})<extra></extra>" });
    }
    var layout = baseLayout({
      xaxis: progressXAxis(data.x_axis, el.clientWidth < 520),
      yaxis: { title: { text: data.metric + " (" + data.selected_on + ")" }, range: yRange,
               gridcolor: "#e8ecf1", automargin: true, zeroline: false },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: data.threshold, y1: data.threshold,
                 line: { color: "#9c2f0e", width: 2, dash: "dash" } }],
      annotations: [{ xref: "paper", x: 0.01, xanchor: "left", yref: "y", y: data.threshold, yanchor: "bottom",
                      text: "agreed bar on " + data.judged_on + ": " + data.threshold, showarrow: false,
                      font: { color: "#9c2f0e", size: 12 } }].concat(offScaleNotes(data.y_axis.off_scale))
    });
    if (el.clientWidth < 520) layout.showlegend = false;  // the caption names every mark
    Plotly.newPlot(el, traces, layout, CONFIG);
  }

  // --- Curves (compare view and run page) -----------------------------------------------
  var controls = { x: "step", log: false, smoothing: 0 };
  var drawn = [];  // {el, traces, status} of every loaded chart, redrawn when controls change

  function smooth(values, weight) {
    var out = [], last = 0, n = 0;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || !isFinite(v)) { out.push(null); continue; }
      last = last * weight + (1 - weight) * v;
      n += 1;
      out.push(last / (1 - Math.pow(weight, n)));  // debiased, as TensorBoard does
    }
    return out;
  }

  // The x axis a curve chart draws: wall time when asked for and the points are far enough
  // apart for clock times to read (the server says), steps otherwise.
  function byTime(item) {
    return controls.x === "time" && !!item.axes.time_range;
  }

  function short(value) {
    return String(parseFloat(Number(value).toPrecision(4)));
  }

  // A value logged once (a test score after training) is a marker named with its value,
  // the label on the side of the marker that faces the middle of the chart.
  function singlePoint(raw, t, label, xRange, yRange) {
    var x = raw.x[0], y = t.value[0];
    var right = xRange && x > (xRange[0] + xRange[1]) / 2;
    var high = yRange && y > (yRange[0] + yRange[1]) / 2;
    raw.mode = "markers+text";
    raw.text = [label + ": " + short(y)];
    raw.textposition = (high ? "bottom " : "top ") + (right ? "left" : "right");
    raw.textfont = { color: t.colour, size: 12 };
    raw.marker.size = 9;
    return raw;
  }

  function curveTraces(item) {
    var traces = [];
    var many = item.data.length > 12;
    var time = byTime(item);
    var yRange = controls.log ? null : item.axes.y.range;
    item.data.forEach(function (t) {
      var x = time ? t.time : t.step;
      var label = safe(item.bySplit ? t.split : t.name);
      var raw = { x: x, y: t.value, type: "scatter", mode: "lines",
                  name: label, line: { color: t.colour, width: 1.6 }, marker: { color: t.colour, size: 7 },
                  connectgaps: false, showlegend: !many, legendgroup: label, cliponaxis: false,
                  hovertemplate: "%{y:.4g}<extra>" + label + "</extra>" };
      if (t.value.length === 1) {
        if (!inRange(yRange, t.value[0])) return;  // off the scale: named at the chart's edge
        traces.push(singlePoint(raw, t, label, time ? item.axes.time_range : item.axes.step_range,
                                yRange));
      } else if (controls.smoothing > 0 && t.value.length > 2) {
        raw.opacity = 0.28;
        raw.showlegend = false;
        raw.hoverinfo = "skip";
        delete raw.hovertemplate;
        traces.push(raw);
        traces.push({ x: x, y: smooth(t.value, controls.smoothing), type: "scatter", mode: "lines",
                      name: label, line: { color: t.colour, width: 2 }, showlegend: !many,
                      legendgroup: label, connectgaps: false,
                      hovertemplate: "%{y:.4g}<extra>" + label + " (smoothed)</extra>" });
      } else {
        traces.push(raw);
      }
    });
    return traces;
  }

  function barMarks(bar) {
    if (!bar) return { shapes: [], annotations: [] };
    return {
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: bar.y, y1: bar.y,
                 line: { color: "#9c2f0e", width: 1.5, dash: "dash" } }],
      annotations: [{ xref: "paper", x: 0.01, xanchor: "left", yref: "y", y: bar.y, yanchor: "bottom",
                      text: safe(bar.text), showarrow: false, font: { color: "#9c2f0e", size: 11 } }]
    };
  }

  function renderCurve(item) {
    var time = byTime(item);
    var bar = barMarks(item.axes.bar);
    var yaxis = { type: controls.log ? "log" : "linear", gridcolor: "#e8ecf1", automargin: true,
                  zeroline: false };
    if (!controls.log && item.axes.y.range) yaxis.range = item.axes.y.range;
    var layout = baseLayout({
      xaxis: { type: time ? "date" : "linear", title: { text: time ? "wall time" : "step" },
               range: time ? item.axes.time_range : item.axes.step_range,
               gridcolor: "#e8ecf1", automargin: true, zeroline: false },
      yaxis: yaxis,
      shapes: bar.shapes,
      annotations: bar.annotations.concat(controls.log ? [] : offScaleNotes(item.axes.y.off_scale)),
      showlegend: item.data.length <= 12,
      margin: item.data.length <= 12 ? MARGIN_WITH_LEGEND : { l: 56, r: 14, t: 10, b: 44 }
    });
    var note = controls.x === "time" && !time ? item.axes.time_note : "";
    item.status.textContent = item.words.concat(note ? [note] : []).join(" · ");
    Plotly.react(item.el, curveTraces(item), layout, CONFIG);
  }

  function loadCurves(config, jobs) {
    var queue = jobs.slice();
    var running = 0;
    function next() {
      while (running < 3 && queue.length) {
        running += 1;
        start(queue.shift());
      }
    }
    function start(job) {
      var params = new URLSearchParams();
      params.set("key", job.key);
      job.splits.forEach(function (s) { params.append("split", s); });
      params.set("buckets", String(config.buckets));
      job.runs.forEach(function (id) { params.append("run", id); });
      fetch(config.curves_url + "?" + params.toString(), { credentials: "same-origin",
                                                           headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("the server answered " + r.status);
          return r.json();
        })
        .then(function (data) {
          var bucketed = false;
          data.traces.forEach(function (t) {
            bucketed = bucketed || t.bucketed;
            t.colour = job.bySplit ? (SPLIT_COLOURS[t.split] || colour(3 + job.splits.indexOf(t.split)))
                                   : colour(config.runs.indexOf(t.run));
          });
          var words = [];
          if (!job.bySplit) words.push(data.traces.length + " run" + (data.traces.length === 1 ? "" : "s"));
          if (bucketed) words.push("long curves downsampled to " + config.buckets + " step ranges, min and max kept");
          if (data.hidden) words.push(data.hidden + " hidden (test results)");
          var item = { el: job.el, data: data.traces, bySplit: job.bySplit, axes: data.axes,
                       status: job.status, words: words };
          drawn.push(item);
          renderCurve(item);
          job.el.setAttribute("data-loaded", "true");
        })
        .catch(function (err) { job.status.textContent = "Could not load this chart: " + err.message; })
        .then(function () { running -= 1; next(); });
    }
    next();
  }

  function wireControls() {
    var box = document.getElementById("curve-controls");
    if (!box) return;
    var redraw = function () { drawn.forEach(renderCurve); };
    box.querySelectorAll('input[name="x"]').forEach(function (radio) {
      radio.addEventListener("change", function () { if (radio.checked) { controls.x = radio.value; redraw(); } });
    });
    var log = document.getElementById("log-scale");
    log.addEventListener("change", function () { controls.log = log.checked; redraw(); });
    var slider = document.getElementById("smoothing");
    var shown = document.getElementById("smoothing-value");
    var timer = null;
    slider.addEventListener("input", function () {
      controls.smoothing = parseFloat(slider.value);
      shown.textContent = slider.value;
      clearTimeout(timer);
      timer = setTimeout(redraw, 60);
    });
  }

  function drawCompare() {
    var config = readJSON("compare-data");
    if (!config) return;
    wireControls();
    var jobs = config.charts.map(function (chart) {
      return { key: chart.key, splits: [chart.split], runs: config.runs, bySplit: false,
               el: document.getElementById(chart.id), status: document.getElementById(chart.id + "-status") };
    });
    loadCurves(config, jobs);
    drawParcoords(config.parcoords);
  }

  function drawRun() {
    var config = readJSON("run-data");
    if (!config) return;
    wireControls();
    function job(item) {
      return { key: item.key, splits: item.splits, runs: config.runs, bySplit: true,
               el: document.getElementById(item.id), status: document.getElementById(item.id + "-status") };
    }
    loadCurves(config, config.keys.map(job));
    // System metrics are folded away: their curves load when the reader opens them.
    var system = document.getElementById("system-curves");
    if (system && (config.system_keys || []).length) {
      system.addEventListener("toggle", function opened() {
        if (!system.open) return;
        system.removeEventListener("toggle", opened);
        loadCurves(config, config.system_keys.map(job));
      });
    }
  }

  function drawParcoords(data) {
    var el = document.getElementById("parcoords");
    if (!data || !el) return;
    var metric = data.dimensions[data.dimensions.length - 1];
    var trace = {
      type: "parcoords",
      line: { color: data.color, colorscale: "Viridis", reversescale: data.reversescale, showscale: true,
              colorbar: { title: { text: safe(metric.label) }, thickness: 12 } },
      dimensions: data.dimensions.map(function (d) {
        var out = { label: safe(d.label), values: d.values };
        // tick labels are drawn as plain text (no tags read): escaped, they would show "&lt;"
        if (d.tickvals) { out.tickvals = d.tickvals; out.ticktext = d.ticktext; }
        return out;
      }),
      labelangle: -20, labelside: "top"
    };
    Plotly.newPlot(el, [trace], { font: FONT, margin: { l: 60, r: 70, t: 70, b: 24 }, paper_bgcolor: "#fff" },
                   CONFIG).then(function () { el.setAttribute("data-loaded", "true"); });
  }

  drawProgress();
  drawCompare();
  drawRun();

  // The helpers other pages' scripts draw with (web/static/web/production.js).
  window.TargetlineCharts = { safe: safe, readJSON: readJSON, baseLayout: baseLayout,
                              offScaleNotes: offScaleNotes, config: CONFIG };
})();
