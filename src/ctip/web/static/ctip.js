// CTIP dashboard: small progressive enhancements. Every page works without this script.
"use strict";

(function () {
  // Long jobs: poll the job's progress and reload the page when it is done.
  function watchJob(box) {
    const id = box.getAttribute("data-job");
    const bar = box.querySelector(".job-bar");
    const message = box.querySelector(".job-message");
    let delay = 700;
    function poll() {
      fetch("/jobs/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (job) {
          if (bar) { bar.value = job.progress; bar.textContent = Math.round(job.progress * 100) + "%"; }
          if (message) { message.textContent = job.message + " (" + job.seconds + " s)"; }
          if (job.status !== "running") { window.location.reload(); return; }
          delay = Math.min(delay * 1.3, 3000);
          window.setTimeout(poll, delay);
        })
        .catch(function () {
          if (message) { message.textContent = "lost contact with the server; reload the page to see the result"; }
        });
    }
    window.setTimeout(poll, delay);
  }

  // Forms that change something irreversible ask first.
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  // The choropleth's year slider swaps in the map for that year without a reload.
  function yearSlider() {
    const slider = document.getElementById("m-year");
    const target = document.getElementById("world-map");
    const form = document.getElementById("world-form");
    if (!slider || !target || !form) { return; }
    const out = document.getElementById("m-year-out");
    let timer = 0;
    let serial = 0;
    function load() {
      const params = new URLSearchParams(new FormData(form));
      params.set("year", slider.value);
      const mine = ++serial;
      target.setAttribute("aria-busy", "true");
      fetch(target.getAttribute("data-fragment") + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          if (mine !== serial) { return; }
          target.innerHTML = html;
          target.removeAttribute("aria-busy");
          const url = new URL(window.location.href);
          url.searchParams.set("year", slider.value);
          url.searchParams.set("measure", params.get("measure") || "destination");
          window.history.replaceState(null, "", url.toString());
        })
        .catch(function () { form.submit(); });
    }
    slider.addEventListener("input", function () {
      if (out) { out.textContent = slider.value; }
      window.clearTimeout(timer);
      timer = window.setTimeout(load, 200);
    });
  }

  // The hotspot window's month slider: shows the month, and asks for that window when released.
  function monthSlider() {
    const slider = document.getElementById("h-month");
    if (!slider) { return; }
    const months = (slider.getAttribute("data-months") || "").split(",");
    const hidden = document.getElementById(slider.getAttribute("data-target"));
    const out = document.getElementById("h-month-out");
    function show() {
      const month = months[Number(slider.value)] || "";
      if (out) { out.textContent = month; }
      if (hidden) { hidden.value = month; }
      slider.setAttribute("aria-valuetext", month);
    }
    slider.addEventListener("input", show);
    slider.addEventListener("change", function () { show(); slider.form.submit(); });
  }

  function start() {
    document.querySelectorAll(".job[data-job]").forEach(watchJob);
    confirmForms();
    yearSlider();
    monthSlider();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
