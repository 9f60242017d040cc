// report.html behaviour: sortable tables, findings filters, case details. No framework, no network.
(function () {
  "use strict";

  // --- sorting: every table.sortable; a header's data-sort is "text", "number" or "none" ------
  // The cell of a row under the header's column `index`, counting each cell's colspan (a
  // crashed rule's row spans its Findings, Cases and Waived columns with one cell: by
  // position alone, its Logic version cell was read under Cases).
  function cellAt(row, index) {
    var column = 0;
    for (var i = 0; i < row.cells.length; i++) {
      column += row.cells[i].colSpan || 1;
      if (column > index) { return row.cells[i]; }
    }
    return null;
  }

  function cellKey(row, index) {
    var cell = cellAt(row, index);
    if (!cell) { return ""; }
    return cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
  }

  // A money cell's currency group (data-group: the currency's place in the case list's
  // order, past every currency where no amount is stated).
  function groupKey(row, index) {
    var cell = cellAt(row, index);
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
  var channel = document.getElementById("filter-channel");  // (none where no case has findings)
  var text = document.getElementById("filter-text");
  var waived = document.getElementById("filter-waived");
  var reset = document.getElementById("filter-reset");
  var status = document.getElementById("filter-status");
  var sections = document.querySelectorAll("section.rule");
  var cases = document.querySelectorAll("details.case");

  // The channel chosen: null for all; "" for the cases stating none (the options' values
  // are the channel after "=", "" all of them).
  function chosenChannel() {
    return channel && channel.value !== "" ? channel.value.slice(1) : null;
  }

  // A finding (a row of a rule's table, or an item of a case's list) passes the rule,
  // severity, channel and waived filters.
  function passes(item, wantRule, minSeverity, showWaived, wantChannel) {
    return (!wantRule || item.getAttribute("data-rule") === wantRule) &&
      parseInt(item.getAttribute("data-severity"), 10) >= minSeverity &&
      (wantChannel === null || item.getAttribute("data-channel") === wantChannel) &&
      (showWaived || item.getAttribute("data-waived") !== "true");
  }

  // An element's per-channel totals (data-by-channel: JSON, channel -> its totals), those
  // of `wantChannel` (undefined where it has none).
  function ofChannel(element, wantChannel) {
    var all = JSON.parse(element.getAttribute("data-by-channel") || "{}");
    return Object.prototype.hasOwnProperty.call(all, wantChannel) ? all[wantChannel] : undefined;
  }

  var caseStatus = document.getElementById("case-filter-status");

  function count(n, word) {
    return n.toLocaleString("en-US") + " " + word + (n === 1 ? "" : "s");
  }

  // A rule section's findings of at least `minSeverity`, from its per-severity totals
  // (every finding of the rule, listed here or not), of `wantChannel`'s cases where one is
  // chosen (its totals per channel: open, then waived, per severity).
  function total(section, name, minSeverity, wantChannel) {
    var sum = 0;
    var counts;
    if (wantChannel === null) {
      counts = (section.getAttribute(name) || "").split(" ");
    } else {
      var mine = ofChannel(section, wantChannel);
      counts = mine ? mine[name === "data-open-by-severity" ? 0 : 1] : [];
    }
    counts.forEach(function (n, rank) {
      if (n !== "" && rank >= minSeverity) { sum += parseInt(n, 10); }
    });
    return sum;
  }

  // Where the findings not in this page are: the run's findings file, if it wrote one.
  function elsewhere(verb) {
    var file = status.getAttribute("data-file");
    return file ? verb + " " + file : "this run wrote no findings file that lists them";
  }

  function notSearched(unlisted) {
    return "The search covers only the findings and cases listed in this report; " +
      count(unlisted, "finding") + " of these rules " + (unlisted === 1 ? "is" : "are") +
      " not listed: " + elsewhere("search") + " for " + (unlisted === 1 ? "it" : "them");
  }

  function applyFilters() {
    var wantRule = rule.value;
    var minSeverity = severity.value === "" ? -1 : parseInt(severity.value, 10);
    var query = text.value.trim().toLowerCase();
    var showWaived = waived.checked;
    var wantChannel = chosenChannel();
    var narrowing = minSeverity >= 0 || query !== "" || !showWaived || wantChannel !== null;
    var shown = 0, waivedShown = 0, sectionsShown = 0;
    var openTotal = 0, waivedTotal = 0, openListed = 0, waivedListed = 0;
    Array.prototype.forEach.call(sections, function (section) {
      var ruleMatches = !wantRule || section.getAttribute("data-rule") === wantRule;
      var visible = 0;
      if (ruleMatches) {
        openTotal += total(section, "data-open-by-severity", minSeverity, wantChannel);
        if (showWaived) {
          waivedTotal += total(section, "data-waived-by-severity", minSeverity, wantChannel);
        }
      }
      Array.prototype.forEach.call(section.querySelectorAll("table.findings tbody tr"), function (row) {
        var listed = ruleMatches && passes(row, "", minSeverity, showWaived, wantChannel);
        var ok = listed && (query === "" || row.textContent.toLowerCase().indexOf(query) !== -1);
        var isWaived = row.getAttribute("data-waived") === "true";
        row.hidden = !ok;
        if (listed) { if (isWaived) { waivedListed += 1; } else { openListed += 1; } }
        if (ok) {
          visible += 1;
          if (isWaived) { waivedShown += 1; } else { shown += 1; }
        }
      });
      section.hidden = !ruleMatches || (narrowing && visible === 0);
      // the rules whose findings are shown: not a section that lists none (No findings)
      if (!section.hidden && visible > 0) { sectionsShown += 1; }
    });
    // Findings the filters match that this page does not list (MAX_FINDINGS_PER_RULE).
    var unlisted = (openTotal - openListed) + (waivedTotal - waivedListed);
    var message;
    if (query === "" && !unlisted) {
      // (every finding the filters match is listed: no "84 of 84")
      message = count(shown, "open finding") +
        (showWaived && waivedTotal ? " and " + waivedShown.toLocaleString("en-US") +
          " waived" : "") + " listed in " + count(sectionsShown, "rule");
    } else if (query === "") {
      message = shown.toLocaleString("en-US") + " of " + count(openTotal, "open finding") +
        (showWaived && waivedTotal ? " and " + waivedShown.toLocaleString("en-US") + " of " +
          waivedTotal.toLocaleString("en-US") + " waived" : "") +
        " listed in " + count(sectionsShown, "rule") +
        (unlisted ? " (" + unlisted.toLocaleString("en-US") + " not in this report: " +
          elsewhere("see") + ")" : "");
    } else if (shown + waivedShown) {
      message = count(shown, "open finding") + (waivedShown ? " and " + waivedShown.toLocaleString("en-US") +
        " waived" : "") + " listed here match the search, in " + count(sectionsShown, "rule") +
        (unlisted ? ". " + notSearched(unlisted) : "");
    } else {
      message = "No finding listed here matches the search" +
        (unlisted ? ". " + notSearched(unlisted) : "");
    }
    status.textContent = message;
    status.setAttribute("data-shown", String(shown));
    status.setAttribute("data-waived", String(waivedShown));
    status.setAttribute("data-open-total", String(openTotal));
    status.setAttribute("data-waived-total", String(waivedTotal));
    status.setAttribute("data-unlisted", String(unlisted));
    filterCases(wantRule, minSeverity, query, showWaived, narrowing, wantChannel);
    printFilters(wantRule, minSeverity, query, showWaived, wantChannel);
  }

  // The print hides the controls: a filtered view prints a banner naming its filters and
  // what they show, so that a printed page never reads as the whole report.
  function printFilters(wantRule, minSeverity, query, showWaived, wantChannel) {
    var active = [];
    if (wantRule) { active.push("rule " + rule.options[rule.selectedIndex].textContent.trim()); }
    if (minSeverity >= 0) { active.push("severity " + severity.options[severity.selectedIndex].textContent.trim()); }
    if (wantChannel !== null) { active.push("channel " + channel.options[channel.selectedIndex].textContent.trim()); }
    if (query !== "") { active.push("search \u201c" + text.value.trim() + "\u201d"); }
    if (!showWaived) { active.push("waived findings hidden"); }
    var words = active.length ? "Filtered view: " + active.join("; ") + ". Findings: " +
      status.textContent + "." + (caseStatus ? " Cases: " + caseStatus.textContent : "") : "";
    Array.prototype.forEach.call(document.querySelectorAll(".print-filters"), function (banner) {
      banner.textContent = words;
      banner.hidden = !active.length;
    });
  }

  // A case is shown when one of its findings passes the rule, severity, channel and
  // waived filters, and its text holds the search; the list says how many of the
  // detailed cases match, and how many cases with findings this page does not detail.
  function filterCases(wantRule, minSeverity, query, showWaived, narrowing, wantChannel) {
    var visibleCases = 0, withRule = 0;
    Array.prototype.forEach.call(cases, function (details) {
      var items = details.querySelectorAll("ul.case-findings li");
      var ok = Array.prototype.some.call(items, function (item) {
        return passes(item, wantRule, minSeverity, showWaived, wantChannel);
      }) && (query === "" || details.textContent.toLowerCase().indexOf(query) !== -1);
      details.hidden = !ok;
      if (ok) { visibleCases += 1; }
      if (Array.prototype.some.call(items, function (item) { return passes(item, wantRule, -1, showWaived, wantChannel); })) {
        withRule += 1;
      }
    });
    if (!caseStatus) { return; }
    var detailed = parseInt(caseStatus.getAttribute("data-detailed"), 10);
    var all, what, mine;
    if (wantRule) {
      var section = document.querySelector('section.rule[data-rule="' + wantRule + '"]');
      if (wantChannel === null) {
        all = section ? parseInt(section.getAttribute(showWaived ? "data-cases" : "data-cases-open"), 10) : 0;
      } else {  // (the rule's totals of the channel: cases with a finding, with an open one)
        mine = section ? ofChannel(section, wantChannel) : undefined;
        all = mine ? mine[showWaived ? 2 : 3] : 0;
      }
      what = " with " + (showWaived ? "a finding" : "an open finding") + " of " + wantRule;
    } else if (wantChannel === null) {
      all = parseInt(caseStatus.getAttribute(showWaived ? "data-total" : "data-open-total"), 10);
      what = " with " + (showWaived ? "findings" : "an open finding");
    } else {
      mine = ofChannel(caseStatus, wantChannel);
      all = mine ? mine[showWaived ? 0 : 1] : 0;
      what = " with " + (showWaived ? "findings" : "an open finding");
    }
    if (wantChannel !== null) {
      what += " in channel " + channel.options[channel.selectedIndex].textContent.replace(/ \(.*$/, "");
    }
    var missing = Math.max(0, all - withRule);
    var message = (narrowing || wantRule ? visibleCases.toLocaleString("en-US") + " of the " +
      count(detailed, "detailed case") + " match" + (detailed === 1 ? "es" : "") + " the filters"
      : "All " + count(detailed, "detailed case") + " shown") + ". " +
      (missing ? "Of the " + count(all, "case") + what + ", " + missing.toLocaleString("en-US") +
        (missing === 1 ? " is" : " are") + " not detailed in this report" +
        (query !== "" ? " (nor searched)" : "") + ": " + elsewhere("see") + "."
        : "Every case" + what + " is detailed here.");
    caseStatus.textContent = message;
    caseStatus.hidden = false;
    caseStatus.setAttribute("data-shown", String(visibleCases));
    caseStatus.setAttribute("data-missing", String(missing));
  }

  if (panel && rule && severity && text && waived && status) {
    panel.hidden = false;
    // A rule section jumped to (#rule-XXX) scrolls to below the sticky controls.
    var fitControls = function () {
      document.documentElement.style.setProperty("--controls-height", (panel.offsetHeight + 24) + "px");
    };
    fitControls();
    window.addEventListener("resize", fitControls);
    rule.addEventListener("change", applyFilters);
    severity.addEventListener("change", applyFilters);
    if (channel) { channel.addEventListener("change", applyFilters); }
    waived.addEventListener("change", applyFilters);
    text.addEventListener("input", applyFilters);
    if (reset) {
      reset.addEventListener("click", function () {
        rule.value = ""; severity.value = ""; text.value = ""; waived.checked = true;
        if (channel) { channel.value = ""; }
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

  // Printing opens every case's summary and findings, but the event tables of the first
  // PRINT_EVENT_CASES cases shown only (and of those opened by the reader): 1,000 cases
  // with every event took 1,269 pages. The page says so.
  // (the note for a print without this script: it runs)
  var scriptNote = document.getElementById("print-script-note");
  if (scriptNote) { scriptNote.hidden = true; }
  var printNote = document.getElementById("print-cases-note");
  var PRINT_EVENT_CASES = printNote ? parseInt(printNote.getAttribute("data-limit"), 10) : 50;
  var closedBeforePrint = [];
  var briefBeforePrint = [];
  window.addEventListener("beforeprint", function () {
    if (panel && !panel.hidden) { applyFilters(); }  // the banner as the filters now are
    var shownCases = 0;
    Array.prototype.forEach.call(cases, function (details) {
      if (details.hidden) { return; }
      shownCases += 1;
      if (!details.open && shownCases > PRINT_EVENT_CASES) {
        details.classList.add("print-brief");
        briefBeforePrint.push(details);
      }
    });
    if (printNote) {
      printNote.textContent = briefBeforePrint.length
        ? "Printed: the events of the first " + Math.min(shownCases, PRINT_EVENT_CASES).toLocaleString("en-US") +
          " cases shown (and of any opened); the other " + count(briefBeforePrint.length, "case") +
          " are printed with their findings only: report.html shows their events."
        : "";
      printNote.hidden = !briefBeforePrint.length;
    }
    closedBeforePrint = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closedBeforePrint.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedBeforePrint.forEach(function (d) { d.open = false; });
    closedBeforePrint = [];
    briefBeforePrint.forEach(function (d) { d.classList.remove("print-brief"); });
    briefBeforePrint = [];
    if (printNote) { printNote.hidden = true; }
  });
}());
