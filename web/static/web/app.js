/* Targetline web UI: the little behaviour the pages need beyond plain HTML forms.
   Every page works without it; it adds selection across pages, copy buttons, the
   "only differences" toggle and the cursor placed at a filter error. */
(function () {
  "use strict";

  // --- Links the MLflow client prints ------------------------------------------------
  // "View run at http://host/#/experiments/3/runs/<32 hex>" and "View experiment at
  // http://host/#/experiments/3" are MLflow UI addresses; open the run or the experiment's
  // runs instead. On the sign-in page the fragment rides along in `next`.
  var mlflowLink = /^#\/experiments\/(\d+)(?:\/runs\/([0-9a-f]{32}))?/.exec(location.hash);
  var next = document.querySelector("input[name=next]");
  if (mlflowLink && next) {
    next.value = (next.value || "/").split("#")[0] + location.hash;
  } else if (mlflowLink) {
    var hex = mlflowLink[2];
    location.replace(hex
      ? "/runs/" + [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
                    hex.slice(20)].join("-") + "/"
      : "/experiments/" + mlflowLink[1] + "/");
  }

  // --- Copy buttons: <button data-copy="element-id"> ---------------------------------
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      var text = source.value !== undefined ? source.value : source.textContent;
      var label = button.textContent;
      function done() {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else if (source.select) {
        source.select();
        try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
      }
    });
  });

  // --- Filter error: put the cursor where the parser stopped --------------------------
  var filter = document.querySelector("input[data-error-position]");
  if (filter) {
    var position = parseInt(filter.getAttribute("data-error-position"), 10);
    filter.focus();
    if (!isNaN(position)) filter.setSelectionRange(position, position);
  }

  // --- Runs table: selection kept across pages and filters ---------------------------
  var compareForm = document.getElementById("compare-form");
  if (compareForm) {
    var key = "targetline:selected:" + compareForm.getAttribute("data-project");
    var store = null;
    try { store = window.sessionStorage; } catch (e) { store = null; }
    var selected = [];
    try { selected = JSON.parse((store && store.getItem(key)) || "[]"); } catch (e) { selected = []; }
    var boxes = Array.prototype.slice.call(
      compareForm.querySelectorAll('tbody input[type="checkbox"][name="run"]'));
    var count = document.getElementById("selected-count");
    var button = document.getElementById("compare-button");
    var pageBox = document.getElementById("select-page");

    function save() {
      if (store) { try { store.setItem(key, JSON.stringify(selected)); } catch (e) { /* full */ } }
      count.textContent = String(selected.length);
      button.disabled = selected.length === 0;
      if (pageBox) {
        var checked = boxes.filter(function (b) { return b.checked; }).length;
        pageBox.checked = boxes.length > 0 && checked === boxes.length;
        pageBox.indeterminate = checked > 0 && checked < boxes.length;
      }
    }
    function toggle(id, on) {
      var at = selected.indexOf(id);
      if (on && at < 0) selected.push(id);
      if (!on && at >= 0) selected.splice(at, 1);
    }
    boxes.forEach(function (box) {
      box.checked = box.checked || selected.indexOf(box.value) >= 0;
      toggle(box.value, box.checked);
      box.addEventListener("change", function () { toggle(box.value, box.checked); save(); });
    });
    if (pageBox) {
      pageBox.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = pageBox.checked; toggle(box.value, box.checked); });
        save();
      });
    }
    document.getElementById("clear-selection").addEventListener("click", function () {
      selected = [];
      boxes.forEach(function (box) { box.checked = false; });
      save();
    });
    compareForm.addEventListener("submit", function () {
      // Runs picked on other pages travel as hidden fields, in the order they were picked.
      var onPage = {};
      boxes.forEach(function (box) { onPage[box.value] = true; });
      selected.forEach(function (id) {
        if (onPage[id]) return;
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "run";
        input.value = id;
        compareForm.appendChild(input);
      });
    });
    save();
  }

  // --- Compare table: only differences ---------------------------------------------
  var only = document.getElementById("only-differences");
  var compareTable = document.getElementById("compare-table");
  if (only && compareTable) {
    only.addEventListener("change", function () {
      compareTable.classList.toggle("only-differences", only.checked);
      var url = new URL(window.location.href);
      if (only.checked) url.searchParams.set("diff", "1"); else url.searchParams.delete("diff");
      window.history.replaceState(null, "", url.toString());
      var share = document.getElementById("share-url");
      if (share) {
        var shared = new URL(share.value);
        if (only.checked) shared.searchParams.set("diff", "1"); else shared.searchParams.delete("diff");
        share.value = shared.toString();
      }
    });
  }
})();
