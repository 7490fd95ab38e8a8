// Admin → Quality: reload once an evaluate-server run newer than the one the page shows has ended, so the new
// figures show without a manual reload (the live progress itself is admin-jobs.js's, on #current-run).
// A run can start and end between the page's rendering and this stream's first event (it takes a second on
// a small server), so the page compares the job's latest run with the one it was rendered with.
"use strict";
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    const section = document.getElementById("current-run");
    if (!section || typeof EventSource === "undefined") { return; }
    const name = section.dataset.job;
    const shown = section.dataset.lastRun || "";
    let checking = false;
    async function reloadIfNewer() {
      if (checking) { return; }
      checking = true;
      try {
        const response = await fetch("/api/admin/jobs", {headers: {"Accept": "application/json"}, credentials: "same-origin"});
        if (!response.ok) { return; }
        const job = (await response.json()).jobs.find(function (j) { return j.name === name; });
        const run = job && job.last_run;
        if (run && run.id && String(run.id) !== shown && run.status !== "running" && !job.queued) {
          source.close();
          window.location.replace("/admin/quality");
        }
      } catch (e) { /* the next event tries again */ } finally { checking = false; }
    }
    const source = new EventSource("/api/admin/jobs/events");
    source.addEventListener("jobs", function (event) {
      const state = JSON.parse(event.data);
      const busy = state.running.some(function (r) { return r.job_name === name; }) || state.queued.indexOf(name) >= 0;
      if (!busy) { reloadIfNewer(); }
    });
  });
})();
