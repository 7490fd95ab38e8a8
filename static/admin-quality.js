// Admin → Quality: reload once the evaluate-server run that was queued or running has ended, so the new
// figures show without a manual reload (the live progress itself is admin-jobs.js's, on #current-run).
"use strict";
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    const section = document.getElementById("current-run");
    if (!section || typeof EventSource === "undefined") { return; }
    const name = section.dataset.job;
    let busy = !section.querySelector(".run-form") || section.querySelector(".run-form").hidden;
    const source = new EventSource("/api/admin/jobs/events");
    source.addEventListener("jobs", function (event) {
      const state = JSON.parse(event.data);
      const now = state.running.some(function (r) { return r.job_name === name; }) || state.queued.indexOf(name) >= 0;
      if (busy && !now) {
        source.close();
        window.location.replace("/admin/quality");
      }
      busy = now;
    });
  });
})();
