// The control page: the user picker submits itself, and the live panel (that user's AI Picks and Top Picks as
// the server lists them, and the webhooks sent) is fetched again every second. Titles that arrived since the
// last look are highlighted; titles that left are named under their list. The last look is kept in
// sessionStorage, so the change a Play caused still shows after the page reloads.
(function () {
  "use strict";
  var picker = document.querySelector("select.autosubmit");
  if (picker) {
    picker.addEventListener("change", function () { picker.form.submit(); });
  }
  var panel = document.getElementById("live");
  if (!panel) { return; }
  var src = panel.getAttribute("data-src");
  var storeKey = "sim-control:" + src;
  var lastHtml = null;

  function snapshot(root) {
    var out = {};
    root.querySelectorAll("[data-library]").forEach(function (lib) {
      out[lib.getAttribute("data-library")] = Array.prototype.map.call(
        lib.querySelectorAll("[data-key]"), function (li) { return li.getAttribute("data-key"); });
    });
    return out;
  }

  function mark(before) {
    if (!before) { return; }
    panel.querySelectorAll("[data-library]").forEach(function (lib) {
      var name = lib.getAttribute("data-library");
      var old = before[name];
      if (!old) { return; }
      var now = [];
      lib.querySelectorAll("[data-key]").forEach(function (li) {
        var key = li.getAttribute("data-key");
        now.push(key);
        if (old.indexOf(key) < 0) { li.classList.add("arrived"); li.setAttribute("title", "new here"); }
      });
      var left = old.filter(function (key) { return now.indexOf(key) < 0; });
      if (left.length) {
        var note = document.createElement("p");
        note.className = "left small";
        note.textContent = "Left: " + left.join(", ");
        lib.appendChild(note);
      }
    });
  }

  function remember(state) {
    try { sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  function recalled() {
    try { return JSON.parse(sessionStorage.getItem(storeKey) || "null"); } catch (e) { return null; }
  }

  mark(recalled());
  remember(snapshot(panel));

  function tick() {
    fetch(src, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && html !== lastHtml) {
          var before = snapshot(panel);
          var first = lastHtml === null;
          lastHtml = html;
          panel.innerHTML = html;
          if (!first) { mark(before); } else { mark(recalled()); }
          remember(snapshot(panel));
        }
      })
      .catch(function () { /* the simulator is restarting: try again */ })
      .then(function () { window.setTimeout(tick, 1000); });
  }
  window.setTimeout(tick, 1000);
})();
