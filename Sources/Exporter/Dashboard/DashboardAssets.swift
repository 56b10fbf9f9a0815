/// The dashboard page and its style sheet, compiled into the binary so that the page works
/// on a cluster without internet access. The script is in `DashboardAssets+Script.swift`,
/// the panel "Power by pod" in `DashboardAssets+PodChart.swift`.
enum DashboardAssets {
    /// `dashboard.js`: the page's script, then the pod panel's (each a closure of its own).
    static let bundledScript = script + podChartScript

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>energy-monitor</title>
        <link rel="stylesheet" href="dashboard.css">
        <script src="dashboard.js" defer></script>
        </head>
        <body>
        <header>
          <div class="brand"><span class="bolt" aria-hidden="true">&#9889;</span> energy-monitor</div>
          <div class="meta"><span id="updated">connecting&hellip;</span></div>
        </header>
        <main>
          <div id="problem" class="problem" hidden></div>
          <section id="cards" class="cards" aria-label="Nodes"></section>
          <section class="panel" aria-label="Power chart">
            <div class="panel-head">
              <h2>Power per node <span class="muted">&middot; last 15 minutes</span></h2>
              <div class="controls">
                <button id="scale" type="button" aria-pressed="true" title="Switch between logarithmic and linear watts">log scale</button>
              </div>
            </div>
            <div class="chart-wrap">
              <svg id="chart" role="img" aria-label="Power per node over the last 15 minutes"></svg>
              <div id="tooltip" class="tooltip" hidden></div>
            </div>
            <div id="legend" class="legend"></div>
          </section>
          <section id="pods" class="panel" aria-label="Power by pod" hidden>
            <div class="panel-head">
              <h2>Power by pod <span class="muted">&middot; last hour, per minute</span></h2>
              <div id="pods-note" class="muted"></div>
            </div>
            <div id="pod-charts" class="pod-charts"></div>
          </section>
          <section id="workflow" class="panel" aria-label="Workflow placements" hidden>
            <div class="panel-head">
              <h2>Workflow placements <span class="muted">&middot; where each phase ran, at which weight</span></h2>
              <div id="workflow-now" class="muted"></div>
            </div>
            <div id="phase-cards" class="cards phase-cards"></div>
            <table id="phase-table">
              <thead><tr><th>run</th><th>scheduler</th><th>weight</th><th>phase</th><th>node</th>
                <th class="n">duration</th><th class="n">energy</th><th class="n">mean power</th></tr></thead>
              <tbody></tbody>
            </table>
          </section>
        </main>
        <footer>
          Served from the SQLite store &middot;
          <a href="api/v1/power">/api/v1/power</a> &middot; <a href="api/v1/nodes">/api/v1/nodes</a> &middot;
          <a href="api/v1/pods/power">/api/v1/pods/power</a> &middot;
          <a href="metrics">/metrics</a> &middot; <a href="readyz">/readyz</a>
        </footer>
        </body>
        </html>

        """#

    static let style = #"""
        :root {
          --bg: #0f1419; --panel: #171d25; --line: #263040; --text: #e6edf3; --muted: #8b98a9;
          --up: #3fb950; --down: #f85149;
          color-scheme: dark;
        }
        * { box-sizing: border-box; }
        body {
          margin: 0; background: var(--bg); color: var(--text);
          font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
        }
        header {
          display: flex; justify-content: space-between; align-items: center;
          padding: 14px 28px; border-bottom: 1px solid var(--line); background: #121820;
        }
        .brand { font-size: 18px; font-weight: 600; letter-spacing: .2px; }
        .bolt { color: #f59e0b; }
        .meta, .muted { color: var(--muted); font-weight: 400; }
        main { padding: 22px 28px; max-width: 1280px; margin: 0 auto; }
        .problem {
          background: #3b1d1f; border: 1px solid var(--down); color: #ffd7d5;
          padding: 10px 14px; border-radius: 8px; margin-bottom: 16px;
        }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 16px; }
        .card {
          background: var(--panel); border: 1px solid var(--line); border-radius: 12px;
          padding: 14px 16px 12px; border-top: 3px solid var(--accent, #888);
        }
        .card-head { display: flex; justify-content: space-between; align-items: center; }
        .node { font-weight: 600; font-size: 15px; }
        .pill {
          font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .6px;
          padding: 2px 8px; border-radius: 999px;
        }
        .pill.up { color: var(--up); background: rgba(63, 185, 80, .12); }
        .pill.down { color: var(--down); background: rgba(248, 81, 73, .14); }
        .watts { font-size: 34px; font-weight: 650; margin: 6px 0 2px; font-variant-numeric: tabular-nums; }
        .watts .unit { font-size: 16px; color: var(--muted); font-weight: 500; margin-left: 4px; }
        .card.is-down .watts { color: var(--muted); }
        .facts { display: flex; justify-content: space-between; color: var(--muted); font-size: 12.5px; }
        .facts b { color: var(--text); font-weight: 600; font-variant-numeric: tabular-nums; }
        .footprint { display: flex; justify-content: space-between; color: var(--muted); font-size: 12.5px; margin-top: 4px; }
        .footprint span { font-variant-numeric: tabular-nums; }
        .device { margin-top: 6px; color: var(--muted); font-size: 11.5px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .panel {
          background: var(--panel); border: 1px solid var(--line); border-radius: 12px;
          margin-top: 18px; padding: 14px 16px 10px;
        }
        .panel-head { display: flex; justify-content: space-between; align-items: center; }
        h2 { font-size: 15px; margin: 0; font-weight: 600; }
        button {
          background: #1f2733; color: var(--text); border: 1px solid var(--line); border-radius: 6px;
          padding: 4px 10px; font: inherit; font-size: 12.5px; cursor: pointer;
        }
        button:hover { border-color: var(--muted); }
        .chart-wrap { position: relative; margin-top: 8px; }
        #chart { width: 100%; height: 380px; display: block; }
        #chart .grid { stroke: var(--line); stroke-width: 1; }
        #chart .axis { fill: var(--muted); font-size: 11.5px; }
        #chart .series { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
        #chart .end-label { font-size: 12px; font-weight: 600; }
        #chart .cursor { stroke: var(--muted); stroke-dasharray: 3 3; }
        #chart .empty { fill: var(--muted); font-size: 14px; }
        .tooltip {
          position: absolute; pointer-events: none; background: #0b1016; border: 1px solid var(--line);
          border-radius: 8px; padding: 6px 10px; font-size: 12.5px; white-space: nowrap;
        }
        .tooltip .swatch, .legend .swatch {
          display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px;
        }
        .legend { display: flex; gap: 18px; padding: 6px 4px 2px; color: var(--muted); font-size: 12.5px; }
        .pod-charts { display: grid; gap: 14px; margin-top: 8px; }
        .pod-chart { margin: 0; }
        .pod-chart .node { font-size: 13.5px; }
        .pod-svg { width: 100%; height: 200px; display: block; }
        .pod-svg .grid { stroke: var(--line); stroke-width: 1; }
        .pod-svg .axis { fill: var(--muted); font-size: 11px; }
        .pod-note { margin: 4px 0 0; font-size: 12.5px; }
        .pod-legend { flex-wrap: wrap; gap: 4px 16px; }
        .pod-legend b { color: var(--text); font-weight: 600; font-variant-numeric: tabular-nums; }
        .phase-cards { margin-top: 10px; }
        .phase-card { background: #121820; border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; }
        .phase-card .node { font-size: 20px; }
        .sim { color: #facc15; font-size: 11px; text-transform: uppercase; letter-spacing: .6px; }
        #phase-table { width: 100%; border-collapse: collapse; margin-top: 12px; font-size: 13px; }
        #phase-table th, #phase-table td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; }
        #phase-table th { color: var(--muted); font-weight: 500; }
        #phase-table .n { text-align: right; font-variant-numeric: tabular-nums; }
        footer { text-align: center; color: var(--muted); font-size: 12px; padding: 10px 0 24px; }
        footer a { color: var(--muted); }

        """#
}
