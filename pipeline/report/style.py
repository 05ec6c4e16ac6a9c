"""The report's stylesheet (inlined into the page; no web fonts, nothing fetched)."""

CSS = """
:root { --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --card: #fff;
  --up: #15803d; --down: #b91c1c; --accent: #6d28d9; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 28px 40px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header h1 .day { color: var(--accent); }
.sub { margin: 0 0 16px; color: var(--muted); }
h2 { font-size: 18px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 16px 18px; margin: 18px 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 10px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 12px; }
.kpi .label { color: var(--muted); font-size: 12px; }
.kpi .value { font-size: 20px; font-weight: 600; margin-top: 2px; }
.up { color: var(--up); } .down { color: var(--down); }
/* Plotly sizes a chart once, from its container, when the chart's inline script runs: the
   page's widths must not change after that. auto-fill (not auto-fit) keeps the second column
   while only the first chart exists; min-width: 0 stops a plot from widening its column; the
   scrollbar is always there, so it does not narrow the page when the page grows. */
html { overflow-y: scroll; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; }
.grid2 > * { min-width: 0; }
figure.chart { margin: 0 0 10px; min-height: 200px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px;
  font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
th { background: #f1f5f9; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; }
tbody tr:hover { background: #f8fafc; }
.drivers { white-space: normal; color: #334155; display: inline-block; min-width: 220px; }
.tier { padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.tier.low { background: #dcfce7; color: #166534; }
.tier.elevated { background: #fef9c3; color: #854d0e; }
.tier.high { background: #ffedd5; color: #9a3412; }
.tier.extreme { background: #fee2e2; color: #991b1b; }
.tier.unknown { background: #e2e8f0; }
.score { display: inline-block; width: 60px; height: 8px; background: #e2e8f0; border-radius: 4px;
  vertical-align: middle; overflow: hidden; }
.score span { display: block; height: 100%; background: linear-gradient(90deg, #facc15, #dc2626); }
.status { padding: 1px 8px; border-radius: 10px; font-weight: 600; }
.status.passed { background: #dcfce7; color: #166534; }
.status.failed { background: #fee2e2; color: #991b1b; }
.status.unknown { background: #e2e8f0; color: #334155; }
p.na { color: var(--muted); background: #f1f5f9; border: 1px dashed #cbd5e1; border-radius: 8px;
  padding: 14px; margin: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
ul.problems { color: #92400e; padding-left: 18px; }
code { font-size: 12px; background: #f1f5f9; padding: 1px 4px; border-radius: 4px; }
footer { color: var(--muted); font-size: 12px; margin-top: 20px; }
"""
