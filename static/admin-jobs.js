// Admin → Jobs and one job's page: live progress over server-sent events, no polling.
// The list follows /api/admin/jobs/events (every running job); a job's page follows its run on
// /api/admin/jobs/runs/{id}/events. The markup matches templates/_partials/job_run.html.
"use strict";
(function () {
  function span(cls, text) {
    const s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }
  function when(iso) {
    if (!iso) { return ""; }
    const d = new Date(iso);
    const p = function (n) { return String(n).padStart(2, "0"); };
    return d.getUTCFullYear() + "-" + p(d.getUTCMonth() + 1) + "-" + p(d.getUTCDate()) + " " +
      p(d.getUTCHours()) + ":" + p(d.getUTCMinutes()) + " UTC";
  }
  function ago(iso) {
    if (!iso) { return ""; }
    const s = (Date.now() - new Date(iso).getTime()) / 1000;
    if (s < 45) { return "just now"; }
    if (s < 3600) { return Math.round(s / 60) + " min ago"; }
    if (s < 36 * 3600) { return Math.round(s / 3600) + " h ago"; }
    return Math.round(s / 86400) + " days ago";
  }

  // The "last run" cell: running since…, queued, or the final status with time, duration and error.
  function renderState(cell, run, queued) {
    if (!cell) { return; }
    cell.textContent = "";
    if (run && run.status === "running") {
      const since = span("muted", "started " + ago(run.started_at));
      since.title = "since " + when(run.started_at);
      cell.append(span("status-running", "running"), " ", since);
    } else if (queued) {
      cell.append(span("status-running", "queued"), " ", span("muted", "waiting for a worker"));
    } else if (run) {
      const at = run.finished_at || run.started_at;
      cell.append(span("status-" + run.status, run.status), " ",
        span("muted", when(at) + " (" + ago(at) + ")" + (run.duration_text ? " · took " + run.duration_text : "")));
      if (run.error && run.status !== "cancelled") {
        cell.append(document.createElement("br"), span("status-failed", run.error));
      }
    } else {
      cell.append(span("muted", "never"));
    }
  }
  function renderProgress(cell, run) {
    if (!cell) { return; }
    const bar = cell.querySelector("progress");
    const active = run && run.status === "running";
    if (bar) {
      bar.hidden = !run || (run.progress_pct === null && !active);
      if (run && run.progress_pct !== null) { bar.value = run.progress_pct; } else { bar.removeAttribute("value"); }
    }
    const message = cell.querySelector(".message");
    if (message) { message.textContent = run ? (run.progress_text || "") : ""; }
  }
  function setButtons(scope, busy) {
    const run = scope.querySelector(".run-form");
    const cancel = scope.querySelector(".cancel-form");
    if (run) { run.hidden = busy; }
    if (cancel) { cancel.hidden = !busy; }
  }

  // --- the list of jobs ---------------------------------------------------------------------------------
  function listPage(table) {
    // what the page was rendered with: a run that ends before the first event is refreshed by it
    let busy = new Set(Array.from(table.querySelectorAll("tr[data-busy=true]")).map(function (r) { return r.dataset.job; }));
    function row(name) { return document.getElementById("job-" + name); }
    function show(name, run, queued) {
      const r = row(name);
      if (!r) { return; }
      renderState(r.querySelector(".state"), run, queued);
      renderProgress(r.querySelector(".progress-cell"), run);
      setButtons(r, (run && run.status === "running") || queued);
    }
    async function refreshAll() {
      try {
        const response = await fetch("/api/admin/jobs", {headers: {"Accept": "application/json"}, credentials: "same-origin"});
        if (!response.ok) { return; }
        for (const job of (await response.json()).jobs) {
          if (!busy.has(job.name)) { show(job.name, job.last_run, job.queued); }
        }
      } catch (e) { /* the next event brings it */ }
    }
    const source = new EventSource("/api/admin/jobs/events");
    source.addEventListener("jobs", function (event) {
      const state = JSON.parse(event.data);
      const now = new Set();
      for (const run of state.running) { now.add(run.job_name); show(run.job_name, run, false); }
      for (const name of state.queued) {
        if (!now.has(name)) { now.add(name); show(name, null, true); }
      }
      const ended = Array.from(busy).filter(function (name) { return !now.has(name); });
      busy = now;
      if (ended.length) { refreshAll(); }  // a run that ended (or started and ended between two events)
    });
    source.addEventListener("finished", function (event) {
      const run = JSON.parse(event.data);
      show(run.job_name, run, false);
    });
  }

  // --- one job's page -----------------------------------------------------------------------------------
  function jobPage(section) {
    const name = section.dataset.job;
    let following = null;
    function show(run) {
      renderState(section.querySelector(".state"), run, false);
      renderProgress(section.querySelector(".progress-cell"), run);
      setButtons(section, run.status === "running");
      const history = document.getElementById("run-" + run.id);
      if (history) {
        const status = history.children[1];
        status.className = "status-" + run.status;
        status.textContent = run.status;
        history.children[2].textContent = run.duration_text || "";
        history.children[3].textContent = run.progress_text || "";
      }
    }
    function follow(runId) {
      if (following === runId) { return; }
      following = runId;
      const source = new EventSource("/api/admin/jobs/runs/" + runId + "/events");
      source.addEventListener("progress", function (event) { show(JSON.parse(event.data)); });
      source.addEventListener("end", function (event) {
        const run = JSON.parse(event.data);
        if (run.job_name) { show(run); }
        source.close();
        following = null;
      });
    }
    if (section.dataset.run) { follow(section.dataset.run); }
    // A run started later (Run now, the schedule) is picked up from the stream of running jobs.
    const all = new EventSource("/api/admin/jobs/events");
    all.addEventListener("jobs", function (event) {
      const state = JSON.parse(event.data);
      const run = state.running.find(function (r) { return r.job_name === name; });
      if (run) { follow(String(run.id)); }
      else if (following === null && state.queued.indexOf(name) >= 0) {
        renderState(section.querySelector(".state"), null, true);
        setButtons(section, true);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const table = document.getElementById("jobs");
    if (table) { listPage(table); }
    const section = document.getElementById("current-run");
    if (section) { jobPage(section); }
  });
})();
