// The channel form's example picker: search-as-you-type over /api/items of the chosen type (movies or
// series); picking a result adds it, by id, to the chosen examples. Without this script the form still works:
// titles typed one per line are looked up when it is saved.
"use strict";

(function () {
  const picker = document.querySelector("[data-picker]");
  if (!picker) return;
  const form = picker.closest("form");
  const search = picker.querySelector("[data-search]");
  const input = picker.querySelector("[data-search-input]");
  const results = picker.querySelector("[data-results]");
  const chosen = picker.querySelector("[data-chosen]");
  search.hidden = false;
  let timer = null;
  let asked = 0;

  function mediaType() {
    const checked = form.querySelector('input[name="media_type"]:checked');
    return checked ? checked.value : "movies";
  }

  function chosenIds() {
    return new Set(Array.from(chosen.querySelectorAll('input[name="example_ids"]')).map((el) => el.value));
  }

  function label(item) {
    return item.year ? item.name + " (" + item.year + ")" : item.name;
  }

  function add(item) {
    if (chosenIds().has(String(item.id))) return;
    const li = document.createElement("li");
    const lab = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "example_ids";
    box.value = String(item.id);
    box.checked = true;
    const kind = document.createElement("span");
    kind.className = "muted";
    kind.textContent = item.kind === "Series" ? "series" : "movie";
    lab.append(box, " " + label(item) + " ", kind);
    li.append(lab);
    chosen.append(li);
  }

  function show(items) {
    results.replaceChildren();
    const have = chosenIds();
    for (const item of items) {
      if (have.has(String(item.id))) continue;
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label(item);
      button.addEventListener("click", function () {
        add(item);
        li.remove();
        input.focus();
      });
      li.append(button);
      results.append(li);
    }
    if (!results.children.length && input.value.trim()) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No " + mediaType() + " match.";
      results.append(li);
    }
  }

  async function lookup() {
    const q = input.value.trim();
    const ticket = ++asked;
    if (q.length < 2) {
      results.replaceChildren();
      return;
    }
    const url = "/api/items?" + new URLSearchParams({ media_type: mediaType(), q: q, per_page: "8" });
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok || ticket !== asked) return;
      const body = await response.json();
      show(body.items || []);
    } catch (err) {
      results.replaceChildren();
    }
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookup, 200);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault(); // Enter picks from the list, it does not submit the form
      const first = results.querySelector("button");
      if (first) first.click();
    }
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "media_type") lookup();
  });
})();
