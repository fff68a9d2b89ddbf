/* report.js - draws the HTML report of ddbsim from the JSON in
 * <script id="ddbsim-data">: a run (kind "run": charts over virtual time,
 * histograms, checks, fault timeline) or a sweep (kind "runs": the table of
 * seeds).  Every value goes into the page with textContent: none is ever
 * parsed as markup.  Needs dygraphs (Dygraph), inlined before this script. */
(function () {
	'use strict';

	var data = JSON.parse(document.getElementById('ddbsim-data').textContent);
	var main = document.getElementById('report');

	var STATE_COLORS = { up: '#86efac', slow: '#fdba74', down: '#f87171' };
	var WINDOW_COLORS = {
		down: 'rgba(248, 113, 113, 0.25)', slow: 'rgba(253, 186, 116, 0.30)',
		partition: 'rgba(192, 132, 252, 0.25)', crash: 'rgba(148, 163, 184, 0.35)',
		message: 'rgba(96, 165, 250, 0.18)'
	};

	function el(tag, className, text) {
		var e = document.createElement(tag);
		if (className)
			e.className = className;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}

	function add(parent, tag, className, text) {
		var e = el(tag, className, text);
		parent.appendChild(e);
		return e;
	}

	function section(title) {
		var s = add(main, 'section');
		add(s, 'h2', null, title);
		return s;
	}

	function fmt(v, digits) {
		return typeof v === 'number' ? v.toFixed(digits) : '-';
	}

	function summaryList(parent, pairs) {
		var dl = add(parent, 'dl', 'summary');
		pairs.forEach(function (p) {
			add(dl, 'dt', null, p[0]);
			add(dl, 'dd', null, p[1]);
		});
		return dl;
	}

	function table(parent, headers, className) {
		var t = add(parent, 'table', className);
		var tr = add(add(t, 'thead'), 'tr');
		headers.forEach(function (h) { add(tr, 'th', null, h); });
		return add(t, 'tbody');
	}

	/* ---- failure windows from the fault timeline ---------------------- */

	/* Each step of the timeline starts or ends a window: "down" ends with
	 * "up", "slow" with "fast" or "up", "partition X" with "heal X", "crash"
	 * with "restart", a message fault with its own "p=0".  A window still
	 * open at the end lasts until the end of the run. */
	function failureWindows(steps, end) {
		var open = {}, windows = [];
		function close(key, t) {
			if (open[key]) {
				windows.push({ start: open[key].t, end: t, kind: open[key].kind,
				               label: open[key].label });
				delete open[key];
			}
		}
		steps.forEach(function (s) {
			var words = s.action.split(' '), verb = words[0];
			var rest = words.slice(1).join(' ');
			if (verb === 'partition' || verb === 'heal') {
				var key = s.target + ' partition ' + rest;
				close(key, s.t);
				if (verb === 'partition')
					open[key] = { t: s.t, kind: 'partition', label: s.target + ' ' + s.action };
			} else if (['drop', 'duplicate', 'delay', 'reorder'].indexOf(verb) >= 0) {
				close(s.target + ' ' + verb, s.t);
				if (!/^p=0(\.0*)?$/.test(words[1] || ''))
					open[s.target + ' ' + verb] = { t: s.t, kind: 'message',
					                                label: s.target + ' ' + s.action };
			} else {
				close(s.target, s.t);
				if (verb === 'down' || verb === 'slow' || verb === 'crash')
					open[s.target] = { t: s.t, kind: verb, label: s.target + ' ' + s.action };
			}
		});
		Object.keys(open).forEach(function (k) { close(k, end); });
		return windows;
	}

	function shade(windows) {
		return function (ctx, area, g) {
			windows.forEach(function (w) {
				var x1 = Math.max(area.x, g.toDomXCoord(w.start));
				var x2 = Math.min(area.x + area.w, g.toDomXCoord(w.end));
				if (x2 <= x1)
					x2 = x1 + 1;
				ctx.fillStyle = WINDOW_COLORS[w.kind] || WINDOW_COLORS.message;
				ctx.fillRect(x1, area.y, x2 - x1, area.h);
			});
		};
	}

	/* ---- charts -------------------------------------------------------- */

	var graphs = [];

	function chartBox(parent, title) {
		var box = add(parent, 'div', 'chart-box');
		add(box, 'h3', null, title);
		var div = add(box, 'div', 'chart');
		var legend = add(box, 'div', 'legend');
		return { box: box, div: div, legend: legend };
	}

	function timeChart(parent, title, labels, rows, windows, extra) {
		var c = chartBox(parent, title);
		if (rows.length === 0) {
			add(c.box, 'p', null, 'no samples');
			return null;
		}
		var opts = {
			labels: labels, labelsDiv: c.legend, legend: 'always', xlabel: 'virtual time (s)',
			underlayCallback: shade(windows), connectSeparatedPoints: false,
			axes: { x: { valueFormatter: function (v) { return 't=' + v.toFixed(3) + ' s'; } } }
		};
		Object.keys(extra || {}).forEach(function (k) { opts[k] = extra[k]; });
		var g = new Dygraph(c.div, rows, opts);
		graphs.push(g);
		return g;
	}

	/* Orders per second from the cumulative counts of two samples. */
	function rates(t, cumulative) {
		var out = [], prevT = 0, prev = 0;
		for (var i = 0; i < t.length; i++) {
			var dt = t[i] - prevT;
			out.push(dt > 0 ? (cumulative[i] - prev) / dt : 0);
			prevT = t[i];
			prev = cumulative[i];
		}
		return out;
	}

	function columns(t, series) {
		return t.map(function (time, i) {
			return [time].concat(series.map(function (s) { return s[i]; }));
		});
	}

	/* The node states, one row per region, under the queue chart's time axis
	 * (aligned with its plotting area). */
	function stateBand(parent, g, s) {
		var names = Object.keys(s.nodes);
		var canvas = add(parent, 'canvas', 'band');
		canvas.setAttribute('aria-label', 'node states over time');
		var legend = add(parent, 'div', 'legend');
		add(legend, 'span', null, 'node states:');
		Object.keys(STATE_COLORS).forEach(function (k) {
			var sw = add(legend, 'span', 'swatch');
			sw.style.background = STATE_COLORS[k];
			add(legend, 'span', null, k);
		});
		var ROW = 16;
		function draw() {
			var width = g.graphDiv.clientWidth || 600;
			canvas.width = width;
			canvas.height = ROW * names.length + 2;
			var ctx = canvas.getContext('2d');
			var area = g.getArea();
			ctx.font = '11px "DejaVu Sans", sans-serif';
			ctx.textBaseline = 'middle';
			names.forEach(function (name, r) {
				var st = s.nodes[name].state, y = r * ROW + 1;
				for (var i = 0; i < s.t.length; i++) {
					var x1 = g.toDomXCoord(i ? s.t[i - 1] : 0), x2 = g.toDomXCoord(s.t[i]);
					x1 = Math.max(area.x, x1);
					x2 = Math.min(area.x + area.w, x2);
					if (x2 <= x1)
						continue;
					ctx.fillStyle = STATE_COLORS[st[i]] || '#ccc';
					ctx.fillRect(x1, y, x2 - x1 + 0.5, ROW - 3);
				}
				ctx.fillStyle = '#222';
				var label = name.length > 9 ? name.slice(0, 8) + '\u2026' : name;
				ctx.fillText(label, 2, y + (ROW - 3) / 2);
			});
		}
		draw();
		g.updateOptions({ drawCallback: function () { draw(); } }, true);
	}

	function barPlotter(e) {
		var ctx = e.drawingContext, points = e.points;
		var bottom = e.dygraph.toDomYCoord(0), sep = Infinity;
		for (var i = 1; i < points.length; i++)
			sep = Math.min(sep, points[i].canvasx - points[i - 1].canvasx);
		var w = Math.max(2, Math.min(isFinite(sep) ? sep * 0.8 : 24, 24));
		ctx.fillStyle = e.color;
		points.forEach(function (p) {
			if (p.yval > 0)
				ctx.fillRect(p.canvasx - w / 2, p.canvasy, w, bottom - p.canvasy);
		});
	}

	function histogramChart(parent, title, buckets) {
		var c = chartBox(parent, title);
		if (!buckets || buckets.length === 0) {
			add(c.box, 'p', null, 'no samples');
			return;
		}
		var maxX = buckets[buckets.length - 1][0];
		var g = new Dygraph(c.div, buckets, {
			labels: ['ms', 'count'], labelsDiv: c.legend, legend: 'always',
			plotter: barPlotter, xlabel: 'milliseconds (bucket top)', includeZero: true,
			dateWindow: [0, maxX * 1.1 + 1], colors: ['#2563eb']
		});
		graphs.push(g);
	}

	/* ---- one run ------------------------------------------------------- */

	function reproduce() {
		var s = add(main, 'section');
		add(s, 'code', 'command', data.command).title = 'the command that reproduces this run';
	}

	function runSummary(r) {
		var s = section('Run');
		var reasons = Object.keys(r.orders.rejected).map(function (k) {
			return k + ' ' + r.orders.rejected[k];
		}).join(', ');
		summaryList(s, [
			['scenario', r.scenario || '-'],
			['seed', r.seed === undefined ? '-' : r.seed],
			['state hash', r.state_hash || '-'],
			['orders', r.orders.accepted + ' accepted, ' + r.orders.rejected_total + ' rejected of ' +
			           r.orders.generated + (reasons ? ' (' + reasons + ')' : '')],
			['throughput', fmt(r.throughput.orders_per_second, 0) + ' orders/s accepted and synced (' +
			               fmt(r.throughput.virtual_seconds, 1) + ' s simulated)'],
			['order latency', 'p50 ' + fmt(r.latency_ms.p50, 1) + ' ms, p99 ' + fmt(r.latency_ms.p99, 1) +
			                  ' ms, max ' + fmt(r.latency_ms.max, 1) + ' ms'],
			['sync lag', 'p50 ' + fmt(r.sync_lag_ms.p50, 1) + ' ms, p99 ' + fmt(r.sync_lag_ms.p99, 1) +
			             ' ms, max ' + fmt(r.sync_lag_ms.max, 1) + ' ms'],
			['ddbsim', r.ddbsim]
		]);
	}

	function runCharts(r) {
		var s = data.series;
		var end = r.throughput.virtual_seconds;
		var windows = failureWindows(r.faults.steps, end);
		var sec = section('Over virtual time');
		sec.id = 'time';
		var note = add(sec, 'p', 'legend', windows.length
			? 'Shaded: failure windows (red down, orange slow, violet partition, grey crash, ' +
			  'blue message faults).'
			: 'No failure window in this run.');
		note.id = 'windows-note';
		var grid = add(sec, 'div', 'charts time-charts');

		var labels = ['t', 'accepted'], series = [rates(s.t, s.accepted)];
		Object.keys(s.rejected_by_reason).forEach(function (reason) {
			labels.push('rejected: ' + reason);
			series.push(rates(s.t, s.rejected_by_reason[reason]));
		});
		if (labels.length === 2) {
			labels.push('rejected');
			series.push(rates(s.t, s.rejected));
		}
		timeChart(grid, 'Orders/s accepted and rejected', labels, columns(s.t, series), windows,
		          { stepPlot: true, includeZero: true });

		var lag = columns(s.t, [s.lag_p50_ms, s.lag_p99_ms]);
		timeChart(grid, 'Sync lag at the center (ms), per sample interval', ['t', 'p50', 'p99'], lag,
		          windows, { includeZero: true, drawPoints: true, pointSize: 1.5 });

		var qLabels = ['t', 'sync.central', 'sync.documents'], qSeries = [s.central, s.documents];
		Object.keys(s.nodes).forEach(function (name) {
			qLabels.push('node.' + name);
			qSeries.push(s.nodes[name].depth);
		});
		var queueBox = add(grid, 'div');
		var g = timeChart(queueBox, 'Queue depths (messages)', qLabels, columns(s.t, qSeries), windows,
		                  { stepPlot: true, includeZero: true });
		if (g && Object.keys(s.nodes).length)
			stateBand(queueBox, g, s);
	}

	function runHistograms() {
		var hist = section('Histograms');
		var hgrid = add(hist, 'div', 'charts');
		histogramChart(hgrid, 'Order latency', data.histograms.latency_ms);
		histogramChart(hgrid, 'Sync lag', data.histograms.sync_lag_ms);
	}

	function runChecks(r) {
		var s = section('Checks');
		if (r.checks_run === false) {
			add(s, 'p', null, 'The run was interrupted: the checks were not run.');
			return;
		}
		var body = table(s, ['check', 'result', 'detail (the first offending rows)'], 'checks');
		var rows = r.checks.filter(function (c) { return !c.ok; })
			.concat(r.checks.filter(function (c) { return c.ok; }));
		rows.forEach(function (c) {
			var tr = add(body, 'tr');
			add(tr, 'td', null, c.name);
			add(tr, 'td', c.ok ? 'ok' : 'fail', c.ok ? 'ok' : 'FAIL');
			add(tr, 'td', 'detail', c.detail);
		});
	}

	function runFaults(r) {
		if (!r.faults.steps.length)
			return;
		var s = section('Fault timeline');
		var body = table(s, ['t (s)', 'target', 'step']);
		r.faults.steps.forEach(function (st) {
			var tr = add(body, 'tr');
			add(tr, 'td', 'num', st.t.toFixed(3));
			add(tr, 'td', null, st.target);
			add(tr, 'td', null, st.action);
		});
	}

	/* ---- a sweep (--runs) ------------------------------------------------ */

	function sweep() {
		var s = section('Seeds, failures first');
		summaryList(s, [
			['scenario', data.scenario],
			['seeds', data.first_seed + ' to ' + data.last_seed],
			['runs', data.runs + ' (' + data.passed + ' passed, ' + data.failed + ' failed)']
		]);
		var body = table(s, ['seed', 'result', 'failed checks', 'reproduce'], 'runs');
		var rows = data.rows.filter(function (r) { return !r.ok; })
			.concat(data.rows.filter(function (r) { return r.ok; }));
		rows.forEach(function (r) {
			var tr = add(body, 'tr');
			add(tr, 'td', 'num', r.seed);
			add(tr, 'td', r.ok ? 'ok' : 'fail', r.ok ? 'ok' : 'FAIL');
			var failed = add(tr, 'td', 'detail');
			if (r.ok) {
				failed.textContent = 'state hash ' + r.state_hash + ', ' + r.accepted + ' orders';
			} else {
				r.failed.forEach(function (c) {
					var p = add(failed, 'div');
					add(p, 'strong', null, c.name + ': ');
					add(p, 'span', null, c.detail);
				});
			}
			add(add(tr, 'td'), 'code', null, r.command);
		});
		if (data.rows_left_out)
			add(s, 'p', null, data.rows_left_out + ' more seeds are counted above but not listed ' +
			    '(the table keeps ' + data.rows.length + ' rows, failures first).');
	}

	if (data.kind === 'runs') {
		sweep();
	} else {
		reproduce();
		runCharts(data.report);
		runChecks(data.report);
		runSummary(data.report);
		runHistograms();
		runFaults(data.report);
	}
	window.ddbsimGraphs = graphs; /* for the browser tests */
})();
