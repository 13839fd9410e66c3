"use strict";
(function () {
  var doc = document;
  var panel = doc.getElementById("filters");
  if (!panel) { return; }
  var fileSelect = doc.getElementById("filter-file");
  var search = doc.getElementById("filter-text");
  var status = doc.getElementById("filter-status");
  var severityBoxes = Array.prototype.slice.call(doc.querySelectorAll("input[name=severity]"));
  var messages = Array.prototype.slice.call(doc.querySelectorAll("section.message")).map(function (section) {
    var header = section.querySelector("header");
    var rows = Array.prototype.slice.call(section.querySelectorAll("tbody tr"));
    return { section: section, header: header, rows: rows, headerText: null, rowTexts: null };
  });

  function lowered(entry) {
    // Text of a message and its rows, lower-cased once, on the first search.
    if (entry.rowTexts === null) {
      entry.headerText = entry.header.textContent.toLowerCase();
      entry.rowTexts = entry.rows.map(function (row) { return row.textContent.toLowerCase(); });
    }
  }

  function apply() {
    var file = fileSelect.value;
    var severities = {};
    severityBoxes.forEach(function (box) { severities[box.value] = box.checked; });
    var query = search.value.trim().toLowerCase();
    var shownMessages = 0;
    var matchingRows = 0;
    messages.forEach(function (entry) {
      var data = entry.section.dataset;
      var shown = (file === "" || data.file === file) && severities[data.severity] === true;
      if (shown && query !== "") {
        lowered(entry);
        var inHeader = entry.headerText.indexOf(query) !== -1;
        var anyRow = false;
        entry.rows.forEach(function (row, index) {
          var hit = entry.rowTexts[index].indexOf(query) !== -1;
          if (hit) { anyRow = true; matchingRows += 1; }
          row.hidden = !(hit || inHeader);
        });
        shown = inHeader || anyRow;
      } else {
        entry.rows.forEach(function (row) { row.hidden = false; });
      }
      entry.section.hidden = !shown;
      if (shown) { shownMessages += 1; }
    });
    var text = shownMessages + " of " + messages.length + " messages shown";
    if (query !== "") { text += ", " + matchingRows + " listed rows match"; }
    status.textContent = text;
    status.dataset.shown = String(shownMessages);
    status.dataset.rows = String(matchingRows);
  }

  var pending = null;
  function later() {
    if (pending !== null) { clearTimeout(pending); }
    pending = setTimeout(function () { pending = null; apply(); }, 120);
  }

  fileSelect.addEventListener("change", apply);
  severityBoxes.forEach(function (box) { box.addEventListener("change", apply); });
  search.addEventListener("input", later);
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); apply(); }
  });
  Array.prototype.forEach.call(doc.querySelectorAll("svg.chart .bar"), function (bar) {
    bar.addEventListener("click", function () {
      var wanted = bar.getAttribute("data-file");
      var known = Array.prototype.some.call(fileSelect.options, function (o) { return o.value === wanted; });
      fileSelect.value = known ? wanted : "";
      apply();
      panel.scrollIntoView();
    });
  });
  panel.hidden = false;
  apply();
})();
