// Behaviour every page shares (the Content Security Policy allows no inline scripts or event handlers).
"use strict";

// <form data-confirm="Question?">: ask before submitting.
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// Running-jobs indicator (admins' header): which jobs run now and how far they are, from the server-sent
// events of /api/admin/jobs/events (EventSource reconnects by itself; the stream sends only changes).
document.addEventListener("DOMContentLoaded", function () {
  const el = document.getElementById("running-jobs");
  if (!el || !window.EventSource) { return; }
  function label(run) {
    return run.job_name + (run.progress_pct !== null ? " " + run.progress_pct + "%" : "");
  }
  const source = new EventSource("/api/admin/jobs/events");
  source.addEventListener("jobs", function (event) {
    const runs = JSON.parse(event.data).running;
    el.hidden = runs.length === 0;
    el.textContent = runs.length === 0 ? "" : runs.length === 1 ? "Running: " + label(runs[0])
      : runs.length + " jobs running: " + runs.map(label).join(", ");
    el.title = runs.map(function (run) { return run.job_name + ": " + (run.progress_text || "started"); }).join("\n");
  });
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
