// Time-series charts drawn by uPlot on a canvas (fast at 100,000 points): one metric's roll-ups
// as its mean over a min–max band, or a few series on one axis (an edge node's CPU, memory and
// GPU). Columns come from lib/series.js: times in seconds first, then one array per series.
// uPlot is loaded when the first chart is drawn, so pages without charts do not wait for it.
import { useEffect, useRef } from "preact/hooks";
import { html } from "./html.js";

let library = null;

/** uPlot, imported once. */
function loadUplot() {
  library ??= import("uplot").then((module) => module.default);
  return library;
}

const COLOURS = ["#0b6bcb", "#c2410c", "#15803d", "#7c3aed"];

/** Draws `columns` with one line per entry of `labels` on an axis of `unit`. */
export function TimeChart({ columns, labels, unit, id, band = false }) {
  const box = useRef(null);
  const plot = useRef(null);
  const latest = useRef(columns);
  useEffect(() => {
    const series = band
      ? [{}, { label: labels[0], stroke: COLOURS[0], width: 1.5 }, { label: labels[1], stroke: "rgba(11,107,203,0.25)" }, { label: labels[2], stroke: "rgba(11,107,203,0.25)" }]
      : [{}, ...labels.map((label, n) => ({ label, stroke: COLOURS[n % COLOURS.length], width: 1.5 }))];
    const options = {
      width: Math.max(320, box.current.clientWidth),
      height: 260,
      scales: { x: { time: true } },
      axes: [{}, { label: unit, size: 60 }],
      series,
      bands: band ? [{ series: [3, 2], fill: "rgba(11,107,203,0.12)" }] : [],
    };
    let cancelled = false;
    loadUplot().then((uPlot) => {
      if (cancelled) return;
      plot.current = new uPlot(options, latest.current, box.current);
      box.current.dataset.drawn = "true";
    });
    return () => {
      cancelled = true;
      plot.current?.destroy();
      plot.current = null;
    };
  }, [unit, labels.join()]);
  useEffect(() => {
    latest.current = columns;
    plot.current?.setData(columns);
  }, [columns]);
  return html`<div class="chart" id=${id} ref=${box} data-points=${columns[0].length}></div>`;
}

/** One metric's roll-ups: `columns` is `[times, mean, min, max]`. */
export function MetricChart({ columns, unit, id }) {
  return html`<${TimeChart} id=${id} columns=${columns} unit=${unit} labels=${["mean", "min", "max"]} band=${true} />`;
}
