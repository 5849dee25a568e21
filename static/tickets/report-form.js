/* The report form's small helpers: live evidence completeness, the agent's time zone, keyboard niceties.
   The form works without this script (as two steps); HTMX does the field swaps. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function pad(n) { return String(n).padStart(2, "0"); }
  function localNow() {
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }

  function isGiven(input) {
    if (input.type === "file") {
      if (input.files && input.files.length) { return true; }
      var kept = input.closest(".field").querySelector("input[name=pending_upload]");
      return !!(kept && kept.checked);
    }
    return input.value.trim() !== "";
  }

  function updateCompleteness() {
    var box = document.getElementById("completeness-box");
    var fields = document.getElementById("evidence-fields");
    if (!box || !fields) { return; }
    var counted = fields.querySelectorAll("[data-counted]");
    var given = 0, missing = [];
    counted.forEach(function (input) {
      var wrapper = input.closest(".field");
      if (isGiven(input)) { given += 1; }
      else if (wrapper && wrapper.dataset.requirement === "recommended") { missing.push(wrapper.dataset.label); }
    });
    var score = counted.length ? given / counted.length : 1;
    document.getElementById("completeness").textContent = Math.round(score * 100) + "%";
    document.getElementById("completeness-meter").value = score;
    document.getElementById("completeness-missing").textContent = missing.length
      ? "Missing recommended: " + missing.join(", ") + "."
      : "All recommended evidence is there.";
  }

  function prepare(root) {
    var form = document.getElementById("report-form");
    if (!form) { return; }
    var zone = browserZone();
    if (zone) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
      var tz = form.querySelector("input[name=tz]");
      if (tz && !tz.value) { tz.value = zone; }
    }
    // Date-time fields the server filled with "now" in its default zone show the agent's own now instead.
    if (!form.dataset.bound) {
      root.querySelectorAll("input[data-default-now]").forEach(function (input) {
        if (input.value && input.value === input.defaultValue && !input.dataset.localised) {
          input.value = localNow();
          input.dataset.localised = "1";
        }
      });
    }
    updateCompleteness();
  }

  document.addEventListener("DOMContentLoaded", function () {
    prepare(document);
    var form = document.getElementById("report-form");
    if (!form) { return; }
    form.addEventListener("input", updateCompleteness);
    form.addEventListener("change", updateCompleteness);
    var search = document.getElementById("id_customer_q");
    if (search) {
      search.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); window.htmx && window.htmx.trigger(search, "search"); }
      });
    }
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
  document.addEventListener("htmx:afterSettle", function (event) { prepare(event.target); });
})();
