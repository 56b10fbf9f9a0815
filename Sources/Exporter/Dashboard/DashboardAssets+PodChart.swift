extension DashboardAssets {
    /// The panel "Power by pod": for each node, the last hour's power per minute as stacked
    /// bars, one colour per pod (the biggest ten of the hour; the rest as "other pods") and
    /// muted ones for the node's `system` and `idle` shares, with a legend. It reads
    /// `/api/v1/pods/power` every 30 s (the figures change once a minute). The panel stays
    /// hidden while no node has per-pod figures (`kubernetes.podEnergy` off); a node without
    /// them gets a one-line note, a failing answer one line in the panel's head.
    ///
    /// Every share's path carries `data-node`, `data-share` (its label), `data-kind` and
    /// `data-points` (the minutes it has power in), so that tests and scripts can read what
    /// is drawn from the DOM.
    static let podChartScript = #"""
        "use strict";
        (function () {
          const REFRESH_MS = 30000;
          const SVG = "http://www.w3.org/2000/svg";
          // The node chart's first hues come last here, so that a pod's colour is not taken for a node's.
          const PALETTE = ["#a78bfa", "#34d399", "#f472b6", "#2dd4bf", "#facc15", "#fb7185", "#c084fc", "#60a5fa",
            "#f59e0b", "#38bdf8"];
          const MUTED = { other: "#64748b", system: "#475569", idle: "#334155" };
          const colors = new Map();

          function $(id) { return document.getElementById(id); }
          function el(tag, attrs, text, ns) {
            const node = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
            for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
            if (text !== undefined) node.textContent = text;
            return node;
          }
          function svg(tag, attrs, text) { return el(tag, attrs, text, true); }
          function color(share) {
            if (share.kind !== "pod") return MUTED[share.kind] || MUTED.other;
            if (!colors.has(share.name)) colors.set(share.name, PALETTE[colors.size % PALETTE.length]);
            return colors.get(share.name);
          }
          function watts(value) {
            return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
          }
          function clock(ms) {
            const date = new Date(ms);
            return String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0");
          }
          function ticks(max) {
            const raw = max / 4;
            const power = Math.pow(10, Math.floor(Math.log10(raw)));
            const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
            const values = [];
            for (let v = 0; v <= max + step / 2; v += step) values.push(v);
            return values;
          }

          function renderNode(node, data, width) {
            const figure = el("figure", { class: "pod-chart", "data-node": node.node });
            figure.append(el("figcaption", { class: "node" }, node.node));
            if (node.points.length === 0) {
              figure.append(el("p", { class: "muted pod-note" }, "No per-pod figures for this node in the last hour."));
              return figure;
            }
            const height = 200;
            const pad = { left: 52, right: 12, top: 10, bottom: 24 };
            const plotW = width - pad.left - pad.right;
            const plotH = height - pad.top - pad.bottom;
            let high = 0;
            for (const point of node.points) high = Math.max(high, point.watts.reduce((a, b) => a + b, 0));
            const scale = ticks(Math.max(1, high * 1.08));
            const top = scale[scale.length - 1];
            const x = (t) => pad.left + plotW * (t - data.from) / (data.to - data.from);
            const y = (w) => pad.top + plotH * (1 - w / top);
            const chart = svg("svg", {
              class: "pod-svg", "data-node": node.node, viewBox: "0 0 " + width + " " + height, role: "img",
              "aria-label": "Power of " + node.node + " by pod over the last hour",
            });
            const grid = svg("g", {});
            for (const v of scale) {
              grid.append(svg("line", { class: "grid", x1: pad.left, x2: pad.left + plotW, y1: y(v), y2: y(v) }));
              grid.append(svg("text", { class: "axis", x: pad.left - 8, y: y(v) + 4, "text-anchor": "end" },
                (v >= 1000 ? v / 1000 + "k" : String(v)) + " W"));
            }
            const every = 10 * 60 * 1000;
            for (let t = Math.ceil(data.from / every) * every; t <= data.to; t += every) {
              grid.append(svg("text", { class: "axis", x: x(t), y: height - 6, "text-anchor": "middle" }, clock(t)));
            }
            chart.append(grid);
            // Bottom up: idle, system, other pods, then the pods; the shares come top down.
            const bars = svg("g", { class: "pod-bars" });
            const base = node.points.map(() => 0);
            for (let i = node.shares.length - 1; i >= 0; i--) {
              const share = node.shares[i];
              let d = "", drawn = 0;
              node.points.forEach((point, index) => {
                const w = point.watts[i] || 0;
                if (w <= 0) return;
                const left = Math.max(pad.left, x(point.t));
                const right = Math.min(pad.left + plotW, x(point.t + data.step));
                const barW = Math.max(0.5, right - left - (right - left > 3 ? 1 : 0));
                if (right <= left) return;
                const y0 = y(base[index]), y1 = y(base[index] + w);
                d += "M" + left.toFixed(1) + "," + y0.toFixed(1) + "V" + y1.toFixed(1) +
                  "H" + (left + barW).toFixed(1) + "V" + y0.toFixed(1) + "Z";
                base[index] += w;
                drawn++;
              });
              const path = svg("path", {
                class: "pod-share pod-" + share.kind, d: d || "M0,0", fill: color(share), "data-node": node.node,
                "data-share": share.name, "data-kind": share.kind, "data-points": drawn,
              });
              path.append(svg("title", {}, share.name + " · " + watts(share.averageWatts) + " W on average"));
              bars.append(path);
            }
            chart.append(bars);
            figure.append(chart);
            const legend = el("div", { class: "legend pod-legend", "data-node": node.node });
            for (const share of node.shares) {
              const item = el("span", { "data-share": share.name, "data-kind": share.kind });
              const swatch = el("span", { class: "swatch" });
              swatch.style.background = color(share);
              const label = share.kind === "other" ? share.name + " (" + share.pods + ")" : share.name;
              item.append(swatch, document.createTextNode(label + " "), el("b", {}, watts(share.averageWatts) + " W"));
              legend.append(item);
            }
            figure.append(legend);
            return figure;
          }

          function render(data) {
            const section = $("pods");
            const charts = $("pod-charts");
            const any = data.nodes.some((node) => node.points.length > 0);
            section.hidden = !any;
            charts.replaceChildren();
            if (!any) return;
            const width = Math.max(480, charts.clientWidth || 960);
            for (const node of data.nodes) charts.append(renderNode(node, data, width));
            $("pods-note").textContent = "";
            charts.setAttribute("data-rendered", String(Date.now()));
          }

          async function refresh() {
            try {
              const response = await fetch("api/v1/pods/power?from=now-1h&to=now", { cache: "no-store" });
              if (!response.ok) throw new Error("api/v1/pods/power: " + (await response.text()).trim());
              render(await response.json());
            } catch (error) {
              // A failing answer is worth seeing even while no chart is drawn.
              $("pods").hidden = false;
              $("pods-note").textContent = "cannot load the pods' power: " + error.message;
            } finally {
              setTimeout(refresh, REFRESH_MS);
            }
          }

          document.addEventListener("DOMContentLoaded", refresh);
        })();

        """#
}
