/**
 * The script inlined into the HTML report: table filtering (status, level, run, free text),
 * expandable evidence rows, links from the coverage table to cases, and the Chart.js charts.
 * It is plain ES2020 in a string (the page loads nothing), reads its chart data from the
 * `<script type="application/json" id="vhl-data">` block, and leaves the Chart instances on
 * `window.vhostlabCharts` so a browser test can find them.
 * @module
 */

/** Client-side JavaScript of the HTML report (runs after Chart.js's UMD build). */
export const HTML_CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('vhl-data').textContent);
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.case'));
  var state = { status: 'all', level: '', run: '', q: '' };

  function detailOf(row) { return document.getElementById(row.id + '-detail'); }
  function matches(row) {
    var s = row.getAttribute('data-status');
    if (state.status === 'failing' && s !== 'fail' && s !== 'error') return false;
    if (state.status !== 'all' && state.status !== 'failing' && s !== state.status) return false;
    if (state.level && row.getAttribute('data-level') !== state.level) return false;
    if (state.run && row.getAttribute('data-run') !== state.run) return false;
    if (state.q && row.getAttribute('data-search').indexOf(state.q) < 0) return false;
    return true;
  }
  function apply() {
    var shown = 0;
    rows.forEach(function (row) {
      var ok = matches(row);
      row.hidden = !ok;
      var d = detailOf(row);
      if (d) d.hidden = !ok || !row.classList.contains('open');
      if (ok) shown++;
    });
    document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' cases';
    document.getElementById('no-match').hidden = shown !== 0;
  }
  function setStatus(value) {
    state.status = value;
    document.querySelectorAll('#status-filter button').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-filter') === value));
    });
  }
  function toggle(row, open) {
    var d = detailOf(row);
    if (!d) return;
    var want = open === undefined ? !row.classList.contains('open') : open;
    row.classList.toggle('open', want);
    row.setAttribute('aria-expanded', String(want));
    d.hidden = !want || row.hidden;
  }

  document.querySelectorAll('#status-filter button').forEach(function (b) {
    b.addEventListener('click', function () { setStatus(b.getAttribute('data-filter')); apply(); });
  });
  document.getElementById('level-filter').addEventListener('change', function (e) { state.level = e.target.value; apply(); });
  var runFilter = document.getElementById('run-filter');
  if (runFilter) runFilter.addEventListener('change', function (e) { state.run = e.target.value; apply(); });
  document.getElementById('search').addEventListener('input', function (e) { state.q = e.target.value.trim().toLowerCase(); apply(); });
  rows.forEach(function (row) {
    row.addEventListener('click', function () { toggle(row); });
    row.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(row); }
    });
  });
  document.querySelectorAll('a.case-link').forEach(function (a) {
    a.addEventListener('click', function (e) {
      var row = document.getElementById(a.getAttribute('href').slice(1));
      if (!row) return;
      e.preventDefault();
      setStatus('all'); state.level = ''; state.run = ''; state.q = '';
      document.getElementById('level-filter').value = '';
      if (runFilter) runFilter.value = '';
      document.getElementById('search').value = '';
      apply();
      toggle(row, true);
      row.scrollIntoView({ block: 'center' });
    });
  });
  apply();

  var charts = { areas: null, benchmarks: [] };
  window.vhostlabCharts = charts;
  if (typeof Chart === 'undefined') { console.warn('vhostlab: Chart.js missing, charts not drawn'); return; }
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#59636e';
  Chart.defaults.animation = false;
  Chart.defaults.locale = 'en-US';
  var css = getComputedStyle(document.documentElement);
  function colour(name) { return css.getPropertyValue('--' + name).trim(); }

  var areaCanvas = document.getElementById('chart-areas');
  if (areaCanvas) {
    charts.areas = new Chart(areaCanvas, {
      type: 'bar',
      data: {
        labels: data.areas.labels,
        datasets: data.areas.series.map(function (s) {
          return { label: s.status, data: s.counts, backgroundColor: colour(s.status), borderWidth: 0, barThickness: 18 };
        })
      },
      options: {
        indexAxis: 'y', responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true, ticks: { precision: 0 }, title: { display: true, text: 'cases' } }, y: { stacked: true, grid: { display: false } } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  }

  var palette = ['#0969da', '#e16f24', '#2da44e', '#8250df', '#bf3989', '#6e7781'];
  data.benchmarks.forEach(function (b, i) {
    var canvas = document.getElementById('chart-bench-' + i);
    if (!canvas) return;
    charts.benchmarks.push(new Chart(canvas, {
      type: 'bar',
      data: {
        // "name (k=v, k=v)" on two lines, so long conditions need no slanted labels.
        labels: b.groups.map(function (g) { var m = /^(.*) \((.*)\)$/.exec(g.label); return m ? [m[1], m[2]] : g.label; }),
        datasets: b.series.map(function (s, k) {
          return {
            label: s === '' ? b.unit : s,
            data: b.groups.map(function (g) { return g.values[k]; }),
            backgroundColor: palette[k % palette.length], borderRadius: 3, maxBarThickness: 42
          };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: b.unit } }, x: { grid: { display: false } } },
        plugins: { legend: { display: b.series.length > 1 || b.series[0] !== '', position: 'bottom' },
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + c.formattedValue + ' ' + b.unit; } } } }
      }
    }));
  });
})();
`;
