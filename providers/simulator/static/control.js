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

  // { library: { shown: [keys on the page], all: [every key in the library] } }
  function snapshot(root) {
    var out = {};
    root.querySelectorAll("[data-library]").forEach(function (lib) {
      var all = [];
      try { all = JSON.parse(lib.getAttribute("data-all") || "[]"); } catch (e) { all = []; }
      out[lib.getAttribute("data-library")] = {
        shown: Array.prototype.map.call(lib.querySelectorAll("[data-key]"), function (li) {
          return li.getAttribute("data-key");
        }),
        all: all
      };
    });
    return out;
  }

  function missing(from, inside) {
    return from.filter(function (key) { return inside.indexOf(key) < 0; });
  }

  // Highlight titles that came into view; under the list, name the titles that left the library and the
  // ones new to it (a watched pick leaves, the next best arrives).
  function mark(before) {
    if (!before) { return; }
    panel.querySelectorAll("[data-library]").forEach(function (lib) {
      var old = before[lib.getAttribute("data-library")];
      if (!old || !old.shown) { return; }
      var now = snapshot(lib.parentNode)[lib.getAttribute("data-library")];
      lib.querySelectorAll("[data-key]").forEach(function (li) {
        if (old.shown.indexOf(li.getAttribute("data-key")) < 0) {
          li.classList.add("arrived");
          li.setAttribute("title", "new in this list");
        }
      });
      var left = missing(old.all, now.all);
      var added = missing(now.all, old.all);
      if (left.length || added.length) {
        var note = document.createElement("p");
        note.className = "change small";
        if (left.length) {
          var out = document.createElement("span");
          out.className = "left";
          out.textContent = "Left: " + left.join(", ");
          note.appendChild(out);
        }
        if (added.length) {
          var inn = document.createElement("span");
          inn.className = "new";
          inn.textContent = "New: " + added.join(", ");
          note.appendChild(inn);
        }
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
