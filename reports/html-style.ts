/**
 * The stylesheet inlined into the HTML report. Kept apart from the markup so `html.ts` reads as
 * structure only. Colours follow the usual CI convention (green pass, red fail) and stay
 * distinguishable for the common colour-vision deficiencies by also differing in lightness.
 * @module
 */

/** CSS of the HTML report. */
export const HTML_STYLE = `
:root {
  --bg: #f5f6f8; --card: #ffffff; --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --soft: #eef1f4;
  --pass: #1a7f37; --fail: #cf222e; --error: #8250df; --skip: #6e7781; --waived: #9a6700; --accent: #0969da;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .mono { font-family: var(--mono); font-size: 12.5px; }
h1, h2, h3 { margin: 0; font-weight: 600; }
h2 { font-size: 16px; margin-bottom: 12px; }
header.top { background: #24292f; color: #fff; padding: 18px 32px; display: flex; align-items: center; gap: 24px; flex-wrap: wrap; }
header.top h1 { font-size: 20px; letter-spacing: .2px; }
header.top h1 small { font-weight: 400; color: #b6bec7; margin-left: 8px; font-size: 14px; }
.verdict { margin-left: auto; padding: 6px 14px; border-radius: 999px; font-weight: 600; font-size: 13px; }
.verdict.ok { background: var(--pass); } .verdict.bad { background: var(--fail); }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 48px; display: grid; gap: 20px; }
section.card, figure.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 0; min-width: 0; }
.runs { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.tiles { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); }
.tile { background: var(--card); border: 1px solid var(--line); border-left: 4px solid var(--skip); border-radius: 8px; padding: 12px 16px; }
.tile .n { font-size: 26px; font-weight: 650; line-height: 1.1; }
.tile .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.tile.total { border-left-color: var(--accent); } .tile.pass { border-left-color: var(--pass); } .tile.fail { border-left-color: var(--fail); }
.tile.error { border-left-color: var(--error); } .tile.skip { border-left-color: var(--skip); } .tile.waived { border-left-color: var(--waived); }
.ratebar { display: flex; height: 8px; border-radius: 4px; overflow: hidden; background: var(--soft); margin-top: 14px; }
.ratebar span { display: block; height: 100%; }
.charts { display: grid; gap: 20px; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); align-items: start; }
.chart-box { position: relative; width: 100%; }
.chart-note { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
.empty { color: var(--muted); font-style: italic; }
.toolbar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-bottom: 12px; }
.seg { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.seg button { border: 0; border-right: 1px solid var(--line); background: var(--card); padding: 6px 12px; font: inherit; cursor: pointer; color: var(--ink); }
.seg button:last-child { border-right: 0; }
.seg button[aria-pressed="true"] { background: var(--accent); color: #fff; }
.seg button .c { opacity: .75; margin-left: 4px; font-size: 12px; }
select, input[type="search"] { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--ink); }
input[type="search"] { flex: 1 1 240px; min-width: 200px; }
.shown { color: var(--muted); font-size: 12px; margin-left: auto; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; border-bottom: 1px solid var(--line); padding: 8px 10px; }
td { border-bottom: 1px solid var(--soft); padding: 8px 10px; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.case { cursor: pointer; } tr.case:hover { background: #f6f8fa; }
tr.case.open { background: #f0f6ff; }
tr.case td:first-child { width: 28px; color: var(--muted); }
.cid { font-family: var(--mono); font-size: 12.5px; overflow-wrap: anywhere; }
.ctitle { color: var(--muted); }
.badge { display: inline-block; min-width: 58px; text-align: center; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; color: #fff; background: var(--skip); }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); } .badge.error { background: var(--error); }
.badge.waived { background: var(--waived); } .badge.skip { background: var(--skip); }
.tag { display: inline-block; padding: 0 6px; border: 1px solid var(--line); border-radius: 4px; font-size: 11.5px; margin: 1px 2px 1px 0; font-family: var(--mono); background: var(--soft); }
.lvl { font-size: 11.5px; font-weight: 600; letter-spacing: .4px; }
tr.detail td { background: #fbfcfd; padding: 14px 18px 18px 48px; }
.detail-text { margin: 0 0 12px; white-space: pre-wrap; }
.xa { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin-bottom: 12px; }
.xa > div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.xa .exp { border-left: 4px solid var(--pass); } .xa .act { border-left: 4px solid var(--fail); }
.xa h3, .evidence h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); margin-bottom: 4px; }
.xa ul { margin: 0; padding-left: 18px; } .xa pre { margin: 0; white-space: pre-wrap; font-family: var(--mono); font-size: 12.5px; }
ol.ev { list-style: none; margin: 0; padding: 0; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
ol.ev li { display: grid; grid-template-columns: 76px 84px 1fr; gap: 8px; padding: 4px 10px; border-bottom: 1px solid var(--soft); font-family: var(--mono); font-size: 12.5px; }
ol.ev li:last-child { border-bottom: 0; }
ol.ev .at { color: var(--muted); text-align: right; }
ol.ev .sent .dir { color: var(--accent); } ol.ev .received .dir { color: var(--pass); }
ol.ev .note { background: #fff8e6; } ol.ev .note .dir { color: var(--waived); }
ol.ev .msg { white-space: pre-wrap; overflow-wrap: anywhere; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.cov-summary { color: var(--muted); margin: -4px 0 12px; }
footer { text-align: center; color: var(--muted); font-size: 12px; padding: 0 0 32px; }
@media (max-width: 720px) { main { padding: 16px; } .xa { grid-template-columns: 1fr; } .runs, .charts { grid-template-columns: 1fr; } }
@media print { .toolbar { display: none; } tr.detail[hidden] { display: table-row; } }
`;
