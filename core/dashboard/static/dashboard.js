// Self-refresh: fetch the page's "live" block again every data-refresh seconds and swap it in.
// The server renders only that block when asked with X-Dashboard-Partial: 1. Paused while the
// tab is hidden, while the operator types in a form, or when the Pause button is pressed; open
// <details> sections stay open across refreshes.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var seconds = parseFloat(live.getAttribute("data-refresh") || "0");
  var toggle = document.getElementById("refresh-toggle");
  var paused = false;
  if (!(seconds > 0)) { return; }
  if (toggle) {
    toggle.addEventListener("click", function () {
      paused = !paused;
      toggle.textContent = paused ? "Resume" : "Pause";
    });
  }

  function openDetails() {
    var open = [];
    live.querySelectorAll("details").forEach(function (element, index) { if (element.open) { open.push(index); } });
    return open;
  }

  function busy() {
    var active = document.activeElement;
    return paused || document.hidden || (active && live.contains(active) && /INPUT|SELECT|TEXTAREA/.test(active.tagName));
  }

  function refresh() {
    if (busy()) { return schedule(); }
    fetch(window.location.href, { headers: { "X-Dashboard-Partial": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined && !busy()) {
          var open = openDetails();
          live.innerHTML = html;
          live.querySelectorAll("details").forEach(function (element, index) {
            if (open.indexOf(index) >= 0) { element.open = true; }
          });
        }
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ })
      .then(schedule);
  }

  function schedule() { window.setTimeout(refresh, seconds * 1000); }
  schedule();
})();
