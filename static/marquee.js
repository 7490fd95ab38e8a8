// Behaviour every page shares (the Content Security Policy allows no inline scripts or event handlers).
"use strict";

// <form data-confirm="Question?">: ask before submitting.
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// Running-jobs indicator (admins' header): how many jobs run now and their combined progress.
document.addEventListener("DOMContentLoaded", function () {
  const el = document.getElementById("running-jobs");
  if (!el) { return; }
  async function poll() {
    if (!document.hidden) {
      try {
        const r = await fetch("/api/admin/jobs/runs?active=true&limit=50", {headers: {"Accept": "application/json"}});
        if (r.ok) {
          const runs = (await r.json()).runs;
          const known = runs.filter(function (x) { return x.progress_total; });
          const done = known.reduce(function (a, x) { return a + x.progress_current; }, 0);
          const total = known.reduce(function (a, x) { return a + x.progress_total; }, 0);
          el.hidden = runs.length === 0;
          el.textContent = runs.length + (runs.length === 1 ? " job" : " jobs") + " running" +
            (total ? " · " + Math.round(100 * done / total) + "%" : "");
        }
      } catch (e) { /* offline for a moment; try again later */ }
    }
    setTimeout(poll, 3000);
  }
  poll();
});

// The header menu is a <details>: one tap opens it on a phone. Wide screens show it open; browsers without the
// ::details-content selector (which the stylesheet uses for that) get the open attribute here instead.
document.addEventListener("DOMContentLoaded", function () {
  const menu = document.getElementById("menu");
  if (!menu) { return; }
  const wide = window.matchMedia("(min-width: 900px)");
  let supported = false;
  try { supported = CSS.supports("selector(::details-content)"); } catch (e) { supported = false; }
  function follow() {
    if (wide.matches && !supported) { menu.open = true; }
    if (!wide.matches && menu.open && !menu.dataset.touched) { menu.open = false; }
  }
  menu.querySelector("summary").addEventListener("click", function () { menu.dataset.touched = "1"; });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && menu.open && !wide.matches) { menu.open = false; menu.querySelector("summary").focus(); }
  });
  follow();
  wide.addEventListener("change", follow);
});
