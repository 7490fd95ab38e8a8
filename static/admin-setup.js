// Admin → Server and Models: "Test connection", "Test" and "Estimate cost" answer in place, so what was typed
// (the API key too, which pages never send back) stays in the form for Save. Without JavaScript the same
// buttons submit the form and the page answers.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-answer]").forEach(function (form) {
    const out = document.getElementById(form.dataset.answer);
    form.addEventListener("click", async function (event) {
      const button = event.target.closest("button[data-in-place]");
      if (!button || !out) return;
      event.preventDefault();
      const data = new URLSearchParams(new FormData(form));
      if (button.name) data.set(button.name, button.value);
      out.hidden = false;
      out.className = "flash";
      out.textContent = button.dataset.inPlace || "Working…";
      button.disabled = true;
      try {
        const response = await fetch(button.getAttribute("formaction") || form.getAttribute("action"), {
          method: "POST",
          body: data,
          headers: { "Accept": "application/json" },
          credentials: "same-origin",
        });
        const body = await response.json();
        out.className = "flash " + (response.ok ? "notice" : "error");
        out.textContent = body.message || (body.error && body.error.message) || body.error || response.statusText;
        out.setAttribute("role", response.ok ? "status" : "alert");
      } catch (error) {
        out.className = "flash error";
        out.textContent = "The request failed: " + error;
      } finally {
        button.disabled = false;
      }
    });
  });
});
