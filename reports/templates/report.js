// report.html behaviour: sortable tables, findings filters, case details. No framework, no network.
(function () {
  "use strict";

  // --- sorting: every table.sortable; a header's data-sort is "text", "number" or "none" ------
  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    return cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
  }

  // A money cell's currency group (data-group: the currency's place in the case list's
  // order, past every currency where no amount is stated).
  function groupKey(row, index) {
    var cell = row.cells[index];
    return cell ? parseInt(cell.getAttribute("data-group"), 10) || 0 : 0;
  }

  function sortBy(table, index, header) {
    var how = header.getAttribute("data-sort");
    var numeric = how === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(header.parentNode.cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, index), y = cellKey(b, index), order;
      if (how === "money") {
        // Amounts in different currencies are never compared: by currency (always in the
        // case list's order), then by amount in either direction.
        order = groupKey(a, index) - groupKey(b, index);
        if (order !== 0) { return order; }
        order = (parseFloat(x) || 0) - (parseFloat(y) || 0);
      } else if (numeric) {
        order = (parseFloat(x) || 0) - (parseFloat(y) || 0);
      } else {
        order = x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
      }
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      var how = th.getAttribute("data-sort");
      if (!how || how === "none") { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.title = "Sort by " + th.textContent.trim();
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, index, th); });
    });
  });

  // --- filters over the findings of every rule section and the case list ---------------------
  var panel = document.getElementById("filters");
  var rule = document.getElementById("filter-rule");
  var severity = document.getElementById("filter-severity");
  var text = document.getElementById("filter-text");
  var waived = document.getElementById("filter-waived");
  var reset = document.getElementById("filter-reset");
  var status = document.getElementById("filter-status");
  var sections = document.querySelectorAll("section.rule");
  var cases = document.querySelectorAll("details.case");

  // A finding (a row of a rule's table, or an item of a case's list) passes the rule,
  // severity and waived filters.
  function passes(item, wantRule, minSeverity, showWaived) {
    return (!wantRule || item.getAttribute("data-rule") === wantRule) &&
      parseInt(item.getAttribute("data-severity"), 10) >= minSeverity &&
      (showWaived || item.getAttribute("data-waived") !== "true");
  }

  function applyFilters() {
    var wantRule = rule.value;
    var minSeverity = severity.value === "" ? -1 : parseInt(severity.value, 10);
    var query = text.value.trim().toLowerCase();
    var showWaived = waived.checked;
    var narrowing = minSeverity >= 0 || query !== "" || !showWaived;
    var shown = 0, waivedShown = 0, sectionsShown = 0;
    Array.prototype.forEach.call(sections, function (section) {
      var ruleMatches = !wantRule || section.getAttribute("data-rule") === wantRule;
      var visible = 0;
      Array.prototype.forEach.call(section.querySelectorAll("table.findings tbody tr"), function (row) {
        var ok = ruleMatches && passes(row, "", minSeverity, showWaived) &&
          (query === "" || row.textContent.toLowerCase().indexOf(query) !== -1);
        row.hidden = !ok;
        if (ok) {
          visible += 1;
          if (row.getAttribute("data-waived") === "true") { waivedShown += 1; } else { shown += 1; }
        }
      });
      section.hidden = !ruleMatches || (narrowing && visible === 0);
      // the rules whose findings are shown: not a section that lists none (No findings)
      if (!section.hidden && visible > 0) { sectionsShown += 1; }
    });
    // A case is shown when one of its findings passes the rule, severity and waived
    // filters, and its text holds the search.
    Array.prototype.forEach.call(cases, function (details) {
      var items = details.querySelectorAll("ul.case-findings li");
      var ok = Array.prototype.some.call(items, function (item) {
        return passes(item, wantRule, minSeverity, showWaived);
      }) && (query === "" || details.textContent.toLowerCase().indexOf(query) !== -1);
      details.hidden = !ok;
    });
    status.textContent = shown + " open finding" + (shown === 1 ? "" : "s") +
      (waivedShown ? " and " + waivedShown + " waived" : "") + " shown in " +
      sectionsShown + " rule" + (sectionsShown === 1 ? "" : "s");
    status.setAttribute("data-shown", String(shown));
    status.setAttribute("data-waived", String(waivedShown));
  }

  if (panel && rule && severity && text && waived && status) {
    panel.hidden = false;
    rule.addEventListener("change", applyFilters);
    severity.addEventListener("change", applyFilters);
    waived.addEventListener("change", applyFilters);
    text.addEventListener("input", applyFilters);
    if (reset) {
      reset.addEventListener("click", function () {
        rule.value = ""; severity.value = ""; text.value = ""; waived.checked = true;
        applyFilters();
      });
    }
    applyFilters();
  }

  // --- case details: open on navigation, expand/collapse all, everything open when printing -----
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  function setAll(open) {
    Array.prototype.forEach.call(cases, function (details) { details.open = open; });
  }
  var openAll = document.getElementById("cases-open");
  var closeAll = document.getElementById("cases-close");
  if (openAll) { openAll.addEventListener("click", function () { setAll(true); }); }
  if (closeAll) { closeAll.addEventListener("click", function () { setAll(false); }); }

  var closedBeforePrint = [];
  window.addEventListener("beforeprint", function () {
    closedBeforePrint = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closedBeforePrint.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedBeforePrint.forEach(function (d) { d.open = false; });
    closedBeforePrint = [];
  });
}());
