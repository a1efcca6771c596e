// Pierre dashboard: copy buttons, confirmations and the training chart. No inline code:
// the Content-Security-Policy allows scripts from this origin only.
"use strict";

document.addEventListener("click", (ev) => {
  const btn = ev.target.closest("[data-copy]");
  if (!btn) return;
  const el = document.getElementById(btn.dataset.copy);
  if (!el) return;
  const text = el.textContent.trim();
  const done = () => { btn.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => {});
  } else {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { document.execCommand("copy"); done(); } catch (e) { /* selection stays for manual copy */ }
  }
});

document.addEventListener("submit", (ev) => {
  const btn = ev.target.querySelector("[data-confirm]");
  if (btn && !window.confirm(btn.dataset.confirm)) ev.preventDefault();
});

function readJson(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

function drawTraining() {
  const data = readJson("training-data");
  const target = document.getElementById("training-chart");
  if (!data || !target || typeof uPlot === "undefined" || data.days.length === 0) return;
  const xs = data.days.map((d) => Date.parse(d + "T00:00:00Z") / 1000);
  const width = () => Math.max(280, target.clientWidth);
  const opts = {
    width: width(), height: 320,
    scales: { x: { time: true } },
    series: [
      {},
      { label: "Fitness (CTL)", stroke: "#2d6cdf", width: 2 },
      { label: "Fatigue (ATL)", stroke: "#d92d20", width: 2 },
      { label: "Form (TSB)", stroke: "#067647", width: 2 },
    ],
  };
  const plot = new uPlot(opts, [xs, data.ctl, data.atl, data.tsb], target);
  target.dataset.rendered = "true";
  window.addEventListener("resize", () => plot.setSize({ width: width(), height: 320 }));
}

document.addEventListener("DOMContentLoaded", drawTraining);

document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-w]")) {
    el.style.width = Math.max(1, Number(el.dataset.w)) + "px";
  }
});
