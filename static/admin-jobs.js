// Admin → Jobs: live progress: poll the job list and update each row's state, bar and message.
(function () {
  function text(el, value) { if (el) { el.textContent = value; } }
  async function refresh() {
    let body;
    try {
      const response = await fetch("/api/admin/jobs", {headers: {"Accept": "application/json"}, credentials: "same-origin"});
      if (!response.ok) { return; }
      body = await response.json();
    } catch (e) { return; }
    let busy = false;
    for (const job of body.jobs) {
      const row = document.getElementById("job-" + job.name);
      if (!row) { continue; }
      const run = job.last_run;
      const state = row.querySelector(".state");
      state.textContent = "";
      const span = document.createElement("span");
      const active = run && (run.status === "running" || run.status === "retrying");
      if (active) {
        span.className = "status-" + run.status; span.textContent = run.status; busy = true;
      } else if (job.queued) {
        span.className = "status-running"; span.textContent = "queued"; busy = true;
      } else if (run) {
        span.className = "status-" + run.status; span.textContent = run.status;
      } else {
        span.className = "muted"; span.textContent = "never";
      }
      state.appendChild(span);
      if (run && run.error) {
        const err = document.createElement("div"); err.className = "status-failed"; err.textContent = run.error; state.appendChild(err);
      }
      const bar = row.querySelector("progress");
      bar.hidden = !run || (run.progress_pct === null && !active);
      if (run && run.progress_pct !== null) { bar.value = run.progress_pct; } else { bar.removeAttribute("value"); }
      text(row.querySelector(".message"), run ? (run.progress_current + (run.progress_total ? "/" + run.progress_total : "") + " " + (run.message || "")) : "");
    }
    setTimeout(refresh, busy ? 700 : 3000);
  }
  setTimeout(refresh, 300);
})();
