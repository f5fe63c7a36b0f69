// baes view: sortable tables, the status filter, and live refresh of an experiment page.
"use strict";

function sortValue(cell) {
  const key = cell.dataset.sort;
  if (key !== undefined) {
    const number = Number(key);
    return Number.isNaN(number) ? key : number;
  }
  return cell.textContent.trim().toLowerCase();
}

function makeSortable(table) {
  const headers = table.tHead ? Array.from(table.tHead.rows[0].cells) : [];
  headers.forEach((th, column) => {
    th.addEventListener("click", () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach((other) => other.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = sortValue(a.cells[column]);
        const y = sortValue(b.cells[column]);
        const order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach((row) => body.appendChild(row));
    });
  });
}

function watchExperiment(live) {
  // Polls a small JSON state; reloads the page when a run started, ended or made a call.
  const url = live.dataset.stateUrl;
  let version = live.dataset.version;
  setInterval(async () => {
    try {
      const answer = await fetch(url, { cache: "no-store" });
      if (!answer.ok) return;
      const state = await answer.json();
      if (state.version !== version) {
        version = state.version;
        window.location.reload();
      }
    } catch (error) {
      // The server is gone (baes view stopped): keep the page as it is.
    }
  }, 2000);
}

function fillTotals(table) {
  // Cost and pass rate are measured in the background; fill the cells still pending.
  const pending = () => table.querySelectorAll("td.pending").length;
  if (!pending()) return;
  const timer = setInterval(async () => {
    try {
      const answer = await fetch(table.dataset.totalsUrl, { cache: "no-store" });
      if (!answer.ok) return;
      const totals = await answer.json();
      table.querySelectorAll("td.pending[data-cost]").forEach((cell) => {
        const value = totals[cell.dataset.cost];
        if (!value || value.pending) return;
        cell.textContent = value.cost;
        cell.dataset.sort = value.cost_usd === null ? -1 : value.cost_usd;
        if (value.cost_note) cell.title = value.cost_note;
        cell.classList.remove("pending");
      });
      table.querySelectorAll("td.pending[data-rate]").forEach((cell) => {
        const value = totals[cell.dataset.rate];
        if (!value || value.pending) return;
        cell.textContent = value.pass_rate;
        cell.dataset.sort = value.mean_pass_rate === null ? -1 : value.mean_pass_rate;
        cell.title = `mean over ${value.rated_runs} completed run(s) whose checks gave a verdict`;
        cell.classList.remove("pending");
      });
      if (!pending()) clearInterval(timer);
    } catch (error) {
      clearInterval(timer);
    }
  }, 500);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table[data-totals-url]").forEach(fillTotals);
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  const live = document.getElementById("live");
  if (live) watchExperiment(live);
  document.body.dataset.script = "ready"; // the script ran (CSP allows it): tests check this
});
