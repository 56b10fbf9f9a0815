extension DashboardAssets {
    /// The dashboard's script: polls `/api/v1/nodes` and `/api/v1/power` every 2 s and draws
    /// the cards and an SVG line chart. Paths are relative, so the page also works behind a
    /// proxy that serves it under a prefix (`kubectl proxy`, an ingress path).
    ///
    /// Every series path carries `data-node`, `data-points` and `data-last-ts` (unix ms of its
    /// newest sample) so that tests and scripts can read what is drawn from the DOM.
    static let script = #"""
        "use strict";
        (function () {
          const STEP = "2s";
          const REFRESH_MS = 2000;
          const PALETTE = ["#f59e0b", "#38bdf8", "#a78bfa", "#34d399", "#f472b6", "#facc15", "#60a5fa", "#fb7185"];
          const SVG = "http://www.w3.org/2000/svg";
          const state = { log: true, nodes: [], power: null, colors: new Map() };

          function $(id) { return document.getElementById(id); }
          function el(tag, attrs, text, ns) {
            const node = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
            for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
            if (text !== undefined) node.textContent = text;
            return node;
          }
          function svg(tag, attrs, text) { return el(tag, attrs, text, true); }
          function color(node) {
            if (!state.colors.has(node)) state.colors.set(node, PALETTE[state.colors.size % PALETTE.length]);
            return state.colors.get(node);
          }
          function watts(value) {
            if (value === null || value === undefined) return "–";
            return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
          }
          function energy(joules) {
            const wh = joules / 3600;
            return wh >= 1000 ? (wh / 1000).toFixed(2) + " kWh" : wh >= 10 ? wh.toFixed(1) + " Wh" : wh.toFixed(2) + " Wh";
          }
          function ago(ms) {
            if (ms === null || ms === undefined) return "never";
            const seconds = Math.max(0, Math.round(ms / 1000));
            if (seconds < 90) return seconds + " s ago";
            if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
            return Math.round(seconds / 3600) + " h ago";
          }
          function clock(ms, withSeconds) {
            const date = new Date(ms);
            const two = (n) => String(n).padStart(2, "0");
            return two(date.getHours()) + ":" + two(date.getMinutes()) + (withSeconds ? ":" + two(date.getSeconds()) : "");
          }

          async function fetchJSON(path) {
            const response = await fetch(path, { cache: "no-store" });
            if (!response.ok) throw new Error(path.split("?")[0] + ": " + (await response.text()).trim());
            return response.json();
          }

          function renderCards(status) {
            const cards = $("cards");
            cards.replaceChildren();
            for (const node of status.nodes) {
              const card = el("article", { class: "card" + (node.up ? "" : " is-down"), "data-node": node.node });
              card.style.setProperty("--accent", color(node.node));
              const head = el("div", { class: "card-head" });
              head.append(el("span", { class: "node" }, node.node));
              head.append(el("span", { class: "pill " + (node.up ? "up" : "down") }, node.up ? "plug up" : "plug down"));
              const value = el("div", { class: "watts" }, node.up ? watts(node.watts) : "–");
              value.append(el("span", { class: "unit" }, "W"));
              const facts = el("div", { class: "facts" });
              const today = el("span", {}, "today ");
              today.append(el("b", {}, energy(node.energyTodayJoules)));
              if (node.backfilledTodayJoules > 0) {
                today.title = energy(node.backfilledTodayJoules) + " of it recorded by the plug while samples were missing";
                today.append(el("span", { class: "backfilled" }, " (" + energy(node.backfilledTodayJoules) + " backfilled)"));
              }
              const last = el("span", { title: node.lastSample ? new Date(node.lastSample).toISOString() : "" },
                "sample " + ago(node.lastSample === null ? null : status.now - node.lastSample));
              facts.append(today, last);
              card.append(head, value, facts);
              if (node.emissionsTodayGrams != null || node.costToday != null) {
                const footprint = el("div", { class: "footprint" });
                if (node.emissionsTodayGrams != null) {
                  const grams = node.emissionsTodayGrams;
                  footprint.append(el("span", { class: "co2", title: "emissions since midnight UTC at the grid's intensity" },
                    grams >= 1000 ? (grams / 1000).toFixed(2) + " kg CO2e" : grams.toFixed(1) + " g CO2e"));
                }
                if (node.costToday != null) {
                  footprint.append(el("span", { class: "cost", title: "cost since midnight UTC at the price in force" },
                    node.costToday.toFixed(4) + " " + (node.currency || "")));
                }
                card.append(footprint);
              }
              if (node.model || node.firmware) {
                const device = el("div", { class: "device", title: node.firmware || "" },
                  [node.model, node.firmware ? "fw " + node.firmware.split("/").pop() : null].filter(Boolean).join(" · "));
                card.append(device);
              }
              cards.append(card);
            }
          }

          function niceLinearTicks(max) {
            const raw = max / 5;
            const power = Math.pow(10, Math.floor(Math.log10(raw)));
            const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
            const ticks = [];
            for (let v = 0; v <= max + step / 2; v += step) ticks.push(v);
            return ticks;
          }
          function logTicks(min, max) {
            const ticks = [];
            for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
              for (const m of [1, 2, 5]) {
                const v = m * Math.pow(10, e);
                if (v >= min * 0.999 && v <= max * 1.001) ticks.push(v);
              }
            }
            return ticks;
          }

          function renderChart() {
            const chart = $("chart");
            const data = state.power;
            chart.replaceChildren();
            const width = chart.clientWidth || 960;
            const height = chart.clientHeight || 380;
            chart.setAttribute("viewBox", "0 0 " + width + " " + height);
            if (!data) return;
            const pad = { left: 52, right: 78, top: 12, bottom: 26 };
            const plotW = width - pad.left - pad.right;
            const plotH = height - pad.top - pad.bottom;
            let low = Infinity, high = -Infinity;
            for (const series of data.series) {
              for (const [, w] of series.points) { low = Math.min(low, w); high = Math.max(high, w); }
            }
            if (!isFinite(high)) {
              chart.append(svg("text", { class: "empty", x: width / 2, y: height / 2, "text-anchor": "middle" },
                "No samples in the last 15 minutes"));
              return;
            }
            let ticks, y;
            if (state.log) {
              const min = Math.pow(10, Math.floor(Math.log10(Math.max(0.1, low * 0.8))));
              const max = Math.max(min * 10, high * 1.25);
              ticks = logTicks(min, max);
              const l0 = Math.log10(min), l1 = Math.log10(max);
              y = (w) => pad.top + plotH * (1 - (Math.log10(Math.max(w, min)) - l0) / (l1 - l0));
            } else {
              ticks = niceLinearTicks(Math.max(1, high * 1.1));
              const max = ticks[ticks.length - 1];
              y = (w) => pad.top + plotH * (1 - Math.max(0, w) / max);
            }
            const x = (t) => pad.left + plotW * (t - data.from) / (data.to - data.from);

            const grid = svg("g", {});
            for (const v of ticks) {
              grid.append(svg("line", { class: "grid", x1: pad.left, x2: pad.left + plotW, y1: y(v), y2: y(v) }));
              grid.append(svg("text", { class: "axis", x: pad.left - 8, y: y(v) + 4, "text-anchor": "end" },
                (v >= 1000 ? v / 1000 + "k" : String(v)) + " W"));
            }
            const minute = 60 * 1000;
            const every = (data.to - data.from) > 30 * minute ? 10 * minute : 3 * minute;
            for (let t = Math.ceil(data.from / every) * every; t <= data.to; t += every) {
              grid.append(svg("line", { class: "grid", x1: x(t), x2: x(t), y1: pad.top, y2: pad.top + plotH, "stroke-opacity": 0.5 }));
              grid.append(svg("text", { class: "axis", x: x(t), y: height - 6, "text-anchor": "middle" }, clock(t, false)));
            }
            chart.append(grid);

            const lines = svg("g", { id: "series" });
            const labels = [];
            const gap = 3 * data.step;
            for (const series of data.series) {
              let d = "", previous = null;
              for (const [t, w] of series.points) {
                const command = previous === null || t - previous > gap ? "M" : "L";
                d += command + x(t + data.step / 2).toFixed(1) + "," + y(w).toFixed(1);
                previous = t;
              }
              const path = svg("path", {
                class: "series", d: d, stroke: color(series.node),
                "data-node": series.node, "data-points": series.points.length,
                "data-last-ts": series.lastSample === null || series.lastSample === undefined ? "" : series.lastSample,
              });
              lines.append(path);
              const last = series.points[series.points.length - 1];
              if (last) {
                lines.append(svg("circle", { cx: x(last[0] + data.step / 2), cy: y(last[1]), r: 3.5, fill: color(series.node) }));
                labels.push({ node: series.node, y: y(last[1]), text: watts(last[1]) + " W" });
              }
            }
            // End labels, pushed apart so that close values stay readable.
            labels.sort((a, b) => a.y - b.y);
            for (let i = 1; i < labels.length; i++) labels[i].y = Math.max(labels[i].y, labels[i - 1].y + 15);
            for (const label of labels) {
              lines.append(svg("text", { class: "end-label", x: pad.left + plotW + 8, y: label.y + 4, fill: color(label.node) },
                label.text));
            }
            chart.append(lines);
            chart.setAttribute("data-rendered", String(Date.now()));
            state.geometry = { x, pad, plotW, plotH, height };
          }

          function renderLegend() {
            const legend = $("legend");
            legend.replaceChildren();
            for (const series of (state.power ? state.power.series : [])) {
              const item = el("span", {});
              const swatch = el("span", { class: "swatch" });
              swatch.style.background = color(series.node);
              item.append(swatch, document.createTextNode(series.node));
              legend.append(item);
            }
          }

          function showTooltip(event) {
            const data = state.power, geometry = state.geometry;
            const tooltip = $("tooltip");
            const chart = $("chart");
            const old = chart.querySelector(".cursor");
            if (old) old.remove();
            if (!data || !geometry) { tooltip.hidden = true; return; }
            const box = chart.getBoundingClientRect();
            const px = event.clientX - box.left;
            if (px < geometry.pad.left || px > geometry.pad.left + geometry.plotW) { tooltip.hidden = true; return; }
            const t = data.from + (px - geometry.pad.left) / geometry.plotW * (data.to - data.from);
            tooltip.replaceChildren(el("div", { class: "muted" }, clock(t, true)));
            for (const series of data.series) {
              let best = null;
              for (const point of series.points) {
                if (best === null || Math.abs(point[0] - t) < Math.abs(best[0] - t)) best = point;
              }
              const row = el("div", {});
              const swatch = el("span", { class: "swatch" });
              swatch.style.background = color(series.node);
              const near = best && Math.abs(best[0] - t) <= 2 * data.step;
              row.append(swatch, document.createTextNode(series.node + "  " + (near ? watts(best[1]) + " W" : "no data")));
              tooltip.append(row);
            }
            chart.append(svg("line", { class: "cursor", x1: px, x2: px, y1: geometry.pad.top, y2: geometry.pad.top + geometry.plotH }));
            tooltip.hidden = false;
            tooltip.style.left = Math.min(px + 14, box.width - 170) + "px";
            tooltip.style.top = "12px";
          }

          // Workflow phases run beside the monitor (demo --cluster): one card per phase with its
          // latest placement, and a table of the newest runs. Absent (404): the section stays hidden.
          function renderWorkflow(feed) {
            const section = $("workflow");
            section.hidden = false;
            $("workflow-now").textContent = feed.current ? "now: " + feed.current : "";
            const cards = $("phase-cards");
            cards.replaceChildren();
            const latest = new Map();
            for (const row of feed.phases) latest.set(row.phase, row);
            for (const [phase, row] of latest) {
              const card = el("article", { class: "phase-card", "data-phase": phase, "data-node": row.node });
              card.append(
                el("div", { class: "muted" }, phase + (row.simulated ? " " : "")),
                el("div", { class: "node" }, row.node),
                el("div", { class: "facts" }, (row.weight === null || row.weight === undefined ? row.scheduler : "w = " + row.weight.toFixed(2)) +
                  " · " + Math.round(row.durationSeconds) + " s · " + energy(row.joules)));
              if (row.simulated) card.firstChild.append(el("span", { class: "sim" }, "simulated"));
              cards.append(card);
            }
            const body = $("phase-table").querySelector("tbody");
            body.replaceChildren();
            for (const row of feed.phases.slice(-30).reverse()) {
              const tr = el("tr", {
                "data-run": row.run, "data-phase": row.phase, "data-node": row.node,
                "data-weight": row.weight === null || row.weight === undefined ? "" : row.weight,
                "data-joules": row.joules.toFixed(2),
              });
              const cells = [
                String(row.run), row.scheduler, row.weight === null || row.weight === undefined ? "–" : row.weight.toFixed(2),
                row.phase, row.node, Math.round(row.durationSeconds) + " s", row.joules.toFixed(0) + " J",
                row.averageWatts === null || row.averageWatts === undefined ? "–" : watts(row.averageWatts) + " W",
              ];
              cells.forEach((text, index) => tr.append(el("td", index >= 5 ? { class: "n" } : {}, text)));
              body.append(tr);
            }
          }

          async function refreshWorkflow() {
            try {
              const response = await fetch("api/v1/workflow", { cache: "no-store" });
              if (response.status === 404) return;
              if (!response.ok) throw new Error("api/v1/workflow: " + (await response.text()).trim());
              renderWorkflow(await response.json());
            } catch (error) {
              $("workflow-now").textContent = "cannot load placements: " + error.message;
            }
          }

          async function refresh() {
            refreshWorkflow();
            try {
              const [status, power] = await Promise.all([
                fetchJSON("api/v1/nodes"),
                fetchJSON("api/v1/power?from=now-15m&to=now&step=" + STEP),
              ]);
              state.power = power;
              renderCards(status);
              renderChart();
              renderLegend();
              $("problem").hidden = true;
              $("updated").textContent = "updated " + clock(status.now, true);
            } catch (error) {
              $("problem").textContent = "Cannot load data: " + error.message;
              $("problem").hidden = false;
            } finally {
              setTimeout(refresh, REFRESH_MS);
            }
          }

          document.addEventListener("DOMContentLoaded", function () {
            $("scale").addEventListener("click", function () {
              state.log = !state.log;
              this.textContent = state.log ? "log scale" : "linear scale";
              this.setAttribute("aria-pressed", String(state.log));
              renderChart();
            });
            $("chart").addEventListener("mousemove", showTooltip);
            $("chart").addEventListener("mouseleave", function () {
              $("tooltip").hidden = true;
              const cursor = $("chart").querySelector(".cursor");
              if (cursor) cursor.remove();
            });
            window.addEventListener("resize", renderChart);
            refresh();
          });
        })();

        """#
}
