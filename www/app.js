/*
 * app.js - the web page of `ddbsim serve`: it reads and drives the live
 * API (/api/v1, same origin) and follows /api/v1/events.  Every value from
 * the server is inserted as text (textContent, createElement), never as
 * HTML.  An API error is shown in the page's error area.  No build step:
 * plain ES2017 in the browser, the charts by dygraphs (window.Dygraph).
 */
'use strict';

(function () {

const API = '/api/v1';
const HISTORY_POINTS = 600;      /* the charts keep the last 10 minutes (1 sample/s) */
const TRACKED_MAX = 12;          /* records created here that the page keeps re-reading */
const POLL_MS = 2000;            /* status, sales, tracked records, the filter */
const STREAM_RETRY_MS = 2000;    /* the event stream, reconnected after this */
const STREAM_BUFFER_MAX = 1 << 20; /* an event larger than this ends the stream */
const TOKEN_KEY = 'ddbsim-token'; /* the API's token, for this tab only (sessionStorage) */
/* Zip ranges of live.lua: the n-th region (in the order of GET /nodes) is
 * home for the n-th range; each region's copies live on the region before
 * it in the ring (1 on 3, 2 on 1, 3 on 2). */
const ZIP_RANGES = [[1000, 39999], [40000, 69999], [70000, 99999]];

const state = {
	nodes: [],               /* from GET /nodes or the stream: {name, kind, state, ...} */
	queues: {},              /* queue name -> depth, from the stream's samples */
	samples: [],             /* chart rows: {t: Date, accepted, rejected: {reason: n}, p50, p99, queues: {}} */
	rejectReasons: [],       /* every reason seen, in order */
	queueNames: [],          /* every queue seen, in order */
	bands: [],               /* {t: Date, states: {node: state}, faults: n} */
	filter: null,            /* the last filter's query, run again on each poll */
	tracked: [],             /* ids of records created here, newest first */
	trackedInfo: {},         /* id -> {zip, city, home, read} */
	partitions: [],
	faults: [],
	lastCounters: null,
	streamUp: false,
	charts: {},
	stream: null,            /* the event stream's AbortController */
	token: '',               /* the token, when sessionStorage cannot keep it */
};

/* ---- small DOM helpers (text only) ------------------------------------ */

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
	const e = document.createElement(tag);
	if (text !== undefined && text !== null)
		e.textContent = String(text);
	if (cls)
		e.className = cls;
	return e;
}

function clear(e) {
	while (e.firstChild)
		e.removeChild(e.firstChild);
}

function row(cells) {
	const tr = document.createElement('tr');
	for (const c of cells) {
		const td = document.createElement('td');
		if (c instanceof Node)
			td.appendChild(c);
		else {
			td.textContent = c === undefined || c === null ? '' : String(c);
			td.title = td.textContent;
		}
		tr.appendChild(td);
	}
	return tr;
}

function badge(text, kind) {
	return el('span', text, 'badge badge-' + kind);
}

function stateKind(s) {
	if (s === 'up') return 'ok';
	if (s === 'down') return 'bad';
	if (s === 'slow' || s === 'cut' || s === 'partitioned') return 'warn';
	return 'unknown';
}

/* ---- the API ------------------------------------------------------------ */

class ApiError extends Error {
	constructor(what, status, body) {
		const msg = body && body.error ? body.error : 'HTTP ' + status;
		super(what + ': ' + (status ? status + ' ' : '') + msg +
		      (body && body.field ? ' (field ' + body.field + ')' : ''));
		this.status = status;
		this.body = body;
	}
}

/* The token the server asked for (serve --token-file), or ''. */
function token() {
	try {
		return sessionStorage.getItem(TOKEN_KEY) || '';
	} catch (e) {
		return state.token || '';
	}
}

function authHeaders(h) {
	const t = token();
	if (t)
		h['Authorization'] = 'Bearer ' + t;
	return h;
}

function askToken() {
	$('token-form').hidden = false;
}

async function useToken(ev) {
	ev.preventDefault();
	const t = $('token').value.trim();
	state.token = t;
	try {
		sessionStorage.setItem(TOKEN_KEY, t);
	} catch (e) {
		/* no storage: kept in memory for this page */
	}
	$('token').value = '';
	$('token-form').hidden = true;
	clearError();
	await guarded(loadNodes);
	await loadCuts();
	connectStream();
	await poll();
}

/* One call; the JSON answer, or an ApiError (shown by the caller). */
async function api(method, path, body) {
	const what = method + ' ' + API + path;
	const init = { method, headers: authHeaders({ 'Accept': 'application/json' }) };
	if (body !== undefined) {
		init.headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch(API + path, init);
	} catch (e) {
		throw new ApiError(what, 0, { error: 'the server did not answer (' + e.message + ')' });
	}
	let json = null;
	try {
		json = await res.json();
	} catch (e) {
		json = null;
	}
	if (res.status === 401)
		askToken();
	if (!res.ok)
		throw new ApiError(what, res.status, json);
	return json;
}

function showError(e) {
	$('error-text').textContent = e && e.message ? e.message : String(e);
	$('errors').hidden = false;
}

function clearError() {
	$('errors').hidden = true;
	$('error-text').textContent = '';
}

/* Runs an action of the page; its error goes to the error area. */
async function guarded(fn) {
	try {
		return await fn();
	} catch (e) {
		showError(e);
		return undefined;
	}
}

/* ---- nodes -------------------------------------------------------------- */

function regions() {
	return state.nodes.filter(n => n.kind === 'region').map(n => n.name);
}

function nodeState(name) {
	const n = state.nodes.find(x => x.name === name);
	return n ? n.state : 'unknown';
}

function nodeForSeconds() {
	const v = $('node-for').value.trim();
	if (v === '')
		return undefined;
	const n = Number(v);
	return Number.isFinite(n) && n > 0 ? n : undefined;
}

async function setNode(name, st) {
	const body = { state: st };
	const forS = nodeForSeconds();
	if (st === 'slow')
		body.latency_ms = Math.max(1, Math.round(Number($('node-latency').value) || 200));
	if (st !== 'up' && forS !== undefined)
		body.for_s = forS;
	await guarded(async () => {
		const n = await api('PUT', '/nodes/' + encodeURIComponent(name), body);
		mergeNode(n);
		renderNodes();
		clearError();
	});
}

async function partitionNode(name) {
	const others = state.nodes.map(n => n.name).filter(x => x !== name);
	const body = { from: [name], to: others };
	const forS = nodeForSeconds();
	if (forS !== undefined)
		body.for_s = forS;
	await guarded(async () => {
		await api('POST', '/partitions', body);
		clearError();
		await loadNodes();
		await loadCuts();
	});
}

async function addFault(ev) {
	ev.preventDefault();
	const kind = $('fault-kind').value;
	const body = { kind, probability: Number($('fault-p').value) };
	if (kind === 'delay')
		body.delay_ms = Math.round(Number($('fault-delay').value));
	const forS = nodeForSeconds();
	if (forS !== undefined)
		body.for_s = forS;
	await guarded(async () => {
		await api('POST', '/faults', body);
		clearError();
		await loadCuts();
	});
}

function mergeNode(n) {
	if (!n || !n.name)
		return;
	const i = state.nodes.findIndex(x => x.name === n.name);
	if (i >= 0)
		state.nodes[i] = Object.assign({}, state.nodes[i], n);
	else
		state.nodes.push(n);
}

async function loadNodes() {
	const j = await api('GET', '/nodes');
	state.nodes = j.nodes || [];
	renderNodes();
	renderRegions();
	renderRoute();
}

function queueOf(node) {
	const d = state.queues['node.' + node];
	return typeof d === 'number' ? d : null;
}

/* The nodes' rows are made once and then updated in place, so that a
 * control keeps the keyboard focus while samples arrive. */
function nodeRow(n) {
	const tb = $('nodes').tBodies[0];
	let tr = [...tb.rows].find(r => r.dataset.node === n.name);
	if (tr)
		return tr;
	const nameCell = el('span');
	nameCell.appendChild(el('strong', n.name));
	if (n.kind && n.kind !== n.name)
		nameCell.appendChild(el('span', ' ' + n.kind, 'muted small'));
	const ctl = el('span', null, 'controls');
	for (const [label, st] of [['Down', 'down'], ['Up', 'up'], ['Slow', 'slow']]) {
		const b = el('button', label);
		b.type = 'button';
		b.setAttribute('aria-label', label + ' ' + n.name);
		b.dataset.node = n.name;
		b.dataset.action = st;
		b.addEventListener('click', () => setNode(n.name, st));
		ctl.appendChild(b);
	}
	const p = el('button', 'Partition');
	p.type = 'button';
	p.setAttribute('aria-label', 'Partition ' + n.name + ' from the others');
	p.dataset.node = n.name;
	p.dataset.action = 'partition';
	p.addEventListener('click', () => partitionNode(n.name));
	ctl.appendChild(p);
	tr = row([nameCell, '', ctl]);
	tr.dataset.node = n.name;
	tb.appendChild(tr);
	return tr;
}

function renderNodes() {
	const tb = $('nodes').tBodies[0];
	const names = new Set(state.nodes.map(n => n.name));
	for (const tr of [...tb.rows])
		if (!names.has(tr.dataset.node))
			tb.removeChild(tr);
	for (const n of state.nodes) {
		const st = n.state || 'unknown';
		const cut = Array.isArray(n.cut_from) && n.cut_from.length ? n.cut_from : null;
		const tr = nodeRow(n);
		tr.dataset.state = st;
		const cell = tr.cells[1];
		clear(cell);
		cell.appendChild(badge(st, stateKind(st)));
		if (n.state === 'slow' && n.latency_ms)
			cell.appendChild(el('span', ' +' + n.latency_ms + ' ms', 'muted'));
		if (cut)
			cell.appendChild(el('span', ' cut from ' + cut.join(', '), 'muted small'));
		const q = queueOf(n.name);
		if (q > 0) {
			const qb = badge(q + ' queued', 'warn');
			qb.dataset.queued = String(q);
			cell.appendChild(document.createTextNode(' '));
			cell.appendChild(qb);
		}
	}
}

async function loadCuts() {
	const parts = await api('GET', '/partitions').catch(() => null);
	const faults = await api('GET', '/faults').catch(() => null);
	state.partitions = parts && Array.isArray(parts.partitions) ? parts.partitions : [];
	state.faults = faults && Array.isArray(faults.faults) ? faults.faults : [];
	renderCuts();
}

function until(x) {
	return x.until_s === null || x.until_s === undefined ? ' until undone'
		: ' until t=' + Number(x.until_s).toFixed(1) + ' s';
}

function describeCut(p) {
	return (p.from || []).join(', ') + (p.oneway ? ' → ' : ' ⇹ ') + (p.to || []).join(', ') + until(p);
}

function describeFault(f) {
	let s = f.kind + ' p=' + f.probability;
	if (f.delay_ms !== undefined)
		s += ' ' + f.delay_ms + ' ms';
	return s + until(f);
}

function renderCuts() {
	const ul = $('cuts');
	/* Unchanged: left alone (an Undo button keeps its focus). */
	const key = JSON.stringify([state.partitions, state.faults]);
	if (ul.dataset.key === key)
		return;
	ul.dataset.key = key;
	clear(ul);
	const add = (text, path) => {
		const li = el('li', text + ' ');
		const b = el('button', 'Undo');
		b.type = 'button';
		b.setAttribute('aria-label', 'Undo: ' + text);
		b.addEventListener('click', () => guarded(async () => {
			await api('DELETE', path);
			clearError();
			await loadCuts();
			await loadNodes();
		}));
		li.appendChild(b);
		ul.appendChild(li);
	};
	for (const p of state.partitions)
		add('partition ' + p.id + ': ' + describeCut(p), '/partitions/' + encodeURIComponent(p.id));
	for (const f of state.faults)
		add('fault ' + f.id + ': ' + describeFault(f), '/faults/' + encodeURIComponent(f.id));
	if (!ul.firstChild)
		ul.appendChild(el('li', 'none', 'muted'));
}

/* ---- customers ---------------------------------------------------------- */

/* Where a zip goes, as live.lua routes it: {home, replica} or null. */
function routeOf(zip) {
	const r = regions();
	for (let i = 0; i < ZIP_RANGES.length && i < r.length; i++)
		if (zip >= ZIP_RANGES[i][0] && zip <= ZIP_RANGES[i][1])
			return { home: r[i], replica: r[(i + r.length - 1) % r.length] };
	return null;
}

function renderRoute() {
	const p = $('c-route');
	clear(p);
	const raw = $('c-zip').value.trim();
	if (raw === '') {
		p.textContent = 'Enter a zip to see where the record goes (live.lua\'s zip ranges).';
		return;
	}
	const zip = Number(raw);
	const rt = /^[0-9]+$/.test(raw) ? routeOf(zip) : null;
	if (!rt) {
		p.appendChild(badge('no region', 'bad'));
		p.appendChild(document.createTextNode(' zip ' + raw + ' is outside every range (1000-99999): the server will refuse it'));
		return;
	}
	const part = (label, name) => {
		const st = nodeState(name);
		const s = el('span', null, 'route-part');
		s.dataset.role = label;
		s.dataset.region = name;
		s.appendChild(document.createTextNode(label + ': '));
		s.appendChild(el('strong', name));
		s.appendChild(document.createTextNode(' '));
		s.appendChild(badge(st === 'up' ? 'up' : st + ': queued', stateKind(st)));
		return s;
	};
	p.appendChild(part('home', rt.home));
	p.appendChild(document.createTextNode(' · '));
	p.appendChild(part('replica', rt.replica));
}

function renderQueued() {
	const ul = $('queued');
	clear(ul);
	const names = Object.keys(state.queues).filter(q => q.startsWith('node.') && state.queues[q] > 0);
	for (const q of names) {
		const li = el('li');
		li.dataset.queue = q;
		li.appendChild(badge(String(state.queues[q]), 'warn'));
		li.appendChild(document.createTextNode(' write' + (state.queues[q] === 1 ? '' : 's') +
		                                       ' waiting for ' + q.slice(5) + ' (' + nodeState(q.slice(5)) + ')'));
		ul.appendChild(li);
	}
	if (!ul.firstChild)
		ul.appendChild(el('li', 'none', 'muted'));
}

/* Where a create went, from POST /customers's answer: home and replicas,
 * each written or queued (or held), as badges. */
function describeCreate(j) {
	const p = el('span');
	const copies = [['home', j.home]].concat((j.replicas || []).map(r => ['replica', r]));
	for (const [role, c] of copies) {
		if (!c)
			continue;
		const s = el('span', null, 'route-part');
		s.dataset.role = role;
		s.dataset.region = c.region;
		s.dataset.write = c.write;
		s.appendChild(document.createTextNode(role + ' ' + c.region + ' '));
		s.appendChild(badge(c.write, c.write === 'written' ? 'ok' : 'warn'));
		p.appendChild(s);
	}
	if (j.pending)
		p.appendChild(el('span', ' no copy is up: the write waits, accepted', 'warn'));
	return p;
}

async function createCustomer(ev) {
	ev.preventDefault();
	const raw = $('c-zip').value.trim();
	const body = {
		zip_prefix: /^[0-9]+$/.test(raw) ? Number(raw) : raw,
		city: $('c-city').value,
		state: $('c-state').value,
	};
	const id = $('c-id').value.trim();
	body.id = id || 'web-' + Date.now().toString(36) + '-' + Math.floor(Math.random() * 1e6).toString(36);
	body.unique_id = body.id;
	await guarded(async () => {
		const j = await api('POST', '/customers', body);
		clearError();
		const res = $('c-result');
		clear(res);
		res.appendChild(document.createTextNode('Created ' + body.id + ': '));
		res.appendChild(describeCreate(j));
		const guess = routeOf(Number(body.zip_prefix));
		if (j.home && guess && guess.home !== j.home.region)
			res.appendChild(el('span', ' (this scenario routes zips differently from live.lua: the preview was wrong)', 'warn'));
		state.tracked = [body.id].concat(state.tracked.filter(x => x !== body.id)).slice(0, TRACKED_MAX);
		for (const id of Object.keys(state.trackedInfo))
			if (!state.tracked.includes(id) && id !== body.id)
				delete state.trackedInfo[id];
		state.trackedInfo[body.id] = { zip: body.zip_prefix, city: body.city, home: j.home && j.home.region };
		$('c-id').value = '';
		await readTracked();
	});
}

/* Which copy answered a read: {copy: home|replica, where: region}. */
function servedBy(j) {
	const by = j.served_by || {};
	return { copy: by.copy || '?', where: by.region || '' };
}

async function readTracked() {
	for (const id of state.tracked) {
		try {
			const j = await api('GET', '/customers/' + encodeURIComponent(id));
			const info = state.trackedInfo[id] || {};
			info.read = servedBy(j);
			info.version = j.version === null ? 'not there yet' : j.version + (j.stale ? ' (stale)' : '');
			info.error = null;
			const rec = j.record;
			if (rec) {
				info.home = rec.home;
				info.city = rec.city;
				info.zip = rec.zip_prefix;
			}
			state.trackedInfo[id] = info;
		} catch (e) {
			(state.trackedInfo[id] = state.trackedInfo[id] || {}).error = e.body && e.body.error ? e.body.error : e.message;
		}
	}
	renderTracked();
}

function servedCell(read) {
	const s = el('span');
	s.appendChild(badge(read.copy, read.copy === 'home' ? 'ok' : 'warn'));
	if (read.where)
		s.appendChild(document.createTextNode(' ' + read.where));
	return s;
}

function renderTracked() {
	const tb = $('tracked').tBodies[0];
	clear(tb);
	for (const id of state.tracked) {
		const info = state.trackedInfo[id] || {};
		const read = info.error ? el('span', info.error, 'warn') : info.read ? servedCell(info.read) : '';
		const tr = row([id, info.home, read, info.version, info.zip, info.city]);
		tr.dataset.id = id;
		if (info.read) {
			tr.dataset.copy = info.read.copy;
			tr.dataset.servedBy = info.read.where;
		}
		tb.appendChild(tr);
	}
}

/* The filter: run from its form, then again on every poll, so that rows
 * and unreadable regions follow the nodes. */
async function filterRecords(ev) {
	let q;
	if (ev) {
		ev.preventDefault();
		q = new URLSearchParams();
		const put = (k, id) => { const v = $(id).value.trim(); if (v !== '') q.set(k, v); };
		put('zip_min', 'f-zip-min');
		put('zip_max', 'f-zip-max');
		put('city', 'f-city');
		put('state', 'f-state');
		q.set('limit', '100');
		state.filter = q;
	} else {
		q = state.filter;
		if (!q)
			return;
	}
	await guarded(async () => {
		const j = await api('GET', '/customers?' + q.toString());
		if (ev) /* the poll's refresh leaves an error of another action shown */
			clearError();
		const tb = $('filtered').tBodies[0];
		clear(tb);
		for (const c of j.customers || []) {
			const tr = row([c.id, c.home, servedCell(servedBy(c)), c.zip_prefix, c.city, c.state]);
			tr.dataset.id = c.id;
			tb.appendChild(tr);
		}
		if (j.next_cursor)
			tb.appendChild(row([el('span', 'first ' + j.count + ' shown; narrow the filter for more', 'muted')]));
		if (!tb.firstChild)
			tb.appendChild(row([el('span', 'no records', 'muted')]));
		const un = j.unavailable_regions || [];
		const w = $('f-unavailable');
		w.hidden = un.length === 0;
		w.textContent = un.length ? 'Cannot be read (no copy up): ' + un.join(', ') + ' — records homed there are missing from this list.' : '';
	});
}

/* ---- orders and sales ----------------------------------------------------- */

function renderRegions() {
	const sel = $('o-region');
	const keep = sel.value;
	const names = regions();
	if ([...sel.options].map(o => o.value).join() === names.join())
		return;
	clear(sel);
	for (const r of names)
		sel.appendChild(el('option', r));
	if (names.includes(keep))
		sel.value = keep;
}

function money(cents) {
	return (Number(cents) / 100).toFixed(2);
}

async function placeOrder(ev) {
	ev.preventDefault();
	const body = {
		region: $('o-region').value,
		sku: $('o-sku').value,
		quantity: Number($('o-quantity').value),
	};
	const c = $('o-customer').value.trim();
	if (c)
		body.customer = c;
	await guarded(async () => {
		const j = await api('POST', '/orders', body);
		clearError();
		const res = $('o-result');
		clear(res);
		res.appendChild(badge(j.status, j.status === 'accepted' ? 'ok' : 'bad'));
		res.appendChild(document.createTextNode(' order ' + j.id + ' in ' + j.region + ': ' + j.quantity + ' × ' + j.sku +
		                                        (j.reason ? ' — ' + j.reason + (j.detail ? ': ' + j.detail : '') : '')));
		await loadSales();
	});
}

async function loadSales() {
	const j = await api('GET', '/sales');
	const tb = $('sales-regions').tBodies[0];
	clear(tb);
	const behind = j.behind || {};
	const seen = new Set();
	for (const s of j.by_region || []) {
		seen.add(s.key);
		tb.appendChild(row([s.key, s.orders, s.units, money(s.revenue_cents), behindText(behind[s.key])]));
	}
	for (const r of Object.keys(behind))
		if (!seen.has(r))
			tb.appendChild(row([r, 0, 0, money(0), behindText(behind[r])]));
	const tp = $('sales-products').tBodies[0];
	clear(tp);
	for (const s of j.by_product || [])
		tp.appendChild(row([s.key, s.units, money(s.revenue_cents)]));
}

function behindText(b) {
	if (!b)
		return '';
	if (b.events === null || b.events === undefined)
		return badge(b.error || 'unknown', 'bad');
	return (b.at_least ? '≥ ' : '') + b.events + ' event' + (b.events === 1 ? '' : 's');
}

/* ---- checks --------------------------------------------------------------- */

async function runChecks() {
	const btn = $('checks-run');
	btn.disabled = true;
	$('checks-summary').textContent = 'running…';
	await guarded(async () => {
		const j = await api('GET', '/checks');
		clearError();
		const ul = $('checks');
		clear(ul);
		for (const c of j.checks || []) {
			const li = el('li', null, c.ok ? 'check-ok' : 'check-bad');
			li.dataset.ok = c.ok ? 'yes' : 'no';
			/* A failing check shows its rows; a holding one folds them away. */
			const head = c.ok && c.detail ? el('summary') : li;
			head.appendChild(badge(c.ok ? 'holds' : 'FAILS', c.ok ? 'ok' : 'bad'));
			head.appendChild(el('strong', ' ' + c.name));
			if (head !== li) {
				const fold = el('details');
				fold.appendChild(head);
				fold.appendChild(el('pre', c.detail, 'detail'));
				li.appendChild(fold);
			} else if (c.detail) {
				li.appendChild(el('pre', c.detail, 'detail'));
			}
			ul.appendChild(li);
		}
		const s = $('checks-summary');
		clear(s);
		s.appendChild(badge(j.all_hold ? 'all hold' : j.failed + ' failed', j.all_hold ? 'ok' : 'bad'));
		s.appendChild(document.createTextNode(' at t=' + Number(j.clock_s).toFixed(1) + ' s'));
	});
	if ($('checks-summary').textContent === 'running…')
		$('checks-summary').textContent = '';
	btn.disabled = false;
}

/* ---- the live stream -------------------------------------------------------- */

/* A sample of the stream: its counters into a chart row. */
function onSample(s) {
	const t = new Date();
	const c = s.orders || {};
	const accepted = Number(c.accepted) || 0;
	const rejected = c.rejected_by_reason && typeof c.rejected_by_reason === 'object' ? c.rejected_by_reason : {};
	const prev = state.lastCounters;
	state.lastCounters = { t, accepted, rejected };
	if (s.queues && typeof s.queues === 'object') {
		state.queues = Object.assign({}, s.queues);
		for (const q of Object.keys(s.queues))
			if (!state.queueNames.includes(q))
				state.queueNames.push(q);
	}
	if (s.nodes) {
		const list = Array.isArray(s.nodes) ? s.nodes
			: Object.keys(s.nodes).map(k => typeof s.nodes[k] === 'object' ? Object.assign({ name: k }, s.nodes[k]) : { name: k, state: s.nodes[k] });
		for (const n of list)
			mergeNode(n);
	}
	const lag = s.sync_lag_s || {};
	const dt = prev ? (t - prev.t) / 1000 : 0;
	const rate = (now, before) => dt > 0 ? Math.max(0, (now - before) / dt) : 0;
	const rejRates = {};
	for (const r of Object.keys(rejected)) {
		/* A reason gets its line once an order was rejected for it. */
		if (!state.rejectReasons.includes(r) && Number(rejected[r]) > 0)
			state.rejectReasons.push(r);
		rejRates[r] = prev ? rate(Number(rejected[r]) || 0, Number(prev.rejected[r]) || 0) : 0;
	}
	if (prev) {
		state.samples.push({
			t,
			accepted: rate(accepted, prev.accepted),
			rejected: rejRates,
			/* null: nothing was applied in that second, a gap in the line */
			p50: lag.p50 == null ? null : (Number(lag.p50) || 0) * 1000,
			p99: lag.p99 == null ? null : (Number(lag.p99) || 0) * 1000,
			queues: Object.assign({}, state.queues),
		});
		if (state.samples.length > HISTORY_POINTS)
			state.samples.shift();
	}
	recordBand(t, state.faults.length);
	renderNodes();
	renderQueued();
	renderRoute();
	drawCharts();
}

function recordBand(t, faults) {
	const states = {};
	for (const n of state.nodes)
		states[n.name] = n.cut_from && n.cut_from.length && n.state === 'up' ? 'cut' : n.state;
	state.bands.push({ t, states, faults: faults + state.partitions.length });
	if (state.bands.length > HISTORY_POINTS)
		state.bands.shift();
}

/* A change (node, fault, partition) as it happens. */
function onChange(ev) {
	if (ev && typeof ev.node === 'string' && ev.state) {
		const n = { name: ev.node, state: ev.state };
		if (ev.latency_ms !== undefined)
			n.latency_ms = ev.latency_ms;
		mergeNode(n);
	}
	renderNodes();
	renderRoute();
	recordBand(new Date(), state.faults.length);
	/* What the event does not say (cuts, faults, exact states): read it. */
	guarded(loadNodes);
	loadCuts();
}

function setStream(up, text) {
	state.streamUp = up;
	const s = $('stream');
	s.textContent = 'events: ' + text;
	s.className = 'badge badge-' + (up ? 'ok' : 'warn');
}

/* One event of the stream ("event: NAME" and "data: JSON" lines). */
function dispatch(block) {
	let name = 'message';
	const data = [];
	for (const line of block.split('\n')) {
		if (line.startsWith('event:'))
			name = line.slice(6).trim();
		else if (line.startsWith('data:'))
			data.push(line.slice(5).replace(/^ /, ''));
	}
	if (data.length === 0)
		return;
	let j;
	try {
		j = JSON.parse(data.join('\n'));
	} catch (e) {
		return;
	}
	if (name === 'sample')
		onSample(j);
	else if (name === 'node' || name === 'fault' || name === 'partition')
		onChange(j);
}

/* Follows /api/v1/events with fetch (it can send the token, EventSource
 * cannot), reconnecting after a pause when it ends. */
async function followStream(ctl) {
	while (!ctl.signal.aborted) {
		try {
			const res = await fetch(API + '/events', {
				headers: authHeaders({ 'Accept': 'text/event-stream' }),
				cache: 'no-store',
				signal: ctl.signal,
			});
			if (res.status === 401) {
				askToken();
				setStream(false, 'needs the token');
				return;
			}
			if (!res.ok || !res.body)
				throw new Error('HTTP ' + res.status);
			setStream(true, 'live');
			const reader = res.body.getReader();
			const text = new TextDecoder();
			let buf = '';
			for (;;) {
				const { value, done } = await reader.read();
				if (done)
					break;
				buf += text.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
				let end;
				while ((end = buf.indexOf('\n\n')) >= 0) {
					dispatch(buf.slice(0, end));
					buf = buf.slice(end + 2);
				}
				if (buf.length > STREAM_BUFFER_MAX)
					throw new Error('an event larger than ' + STREAM_BUFFER_MAX + ' bytes');
			}
		} catch (e) {
			if (ctl.signal.aborted)
				return;
		}
		setStream(false, 'reconnecting (polling meanwhile)');
		await new Promise(done => setTimeout(done, STREAM_RETRY_MS));
	}
}

function connectStream() {
	if (state.stream)
		state.stream.abort();
	state.stream = new AbortController();
	followStream(state.stream);
}

/* ---- charts -------------------------------------------------------------------- */

const BAND_COLORS = { up: '#2e7d32', down: '#c62828', slow: '#f9a825', cut: '#ef6c00', unknown: '#9e9e9e' };

/* Shades the windows when something was broken: a node not up, or a fault. */
function shadeFaults(canvas, area, g) {
	const b = state.bands;
	canvas.fillStyle = 'rgba(198, 40, 40, 0.12)';
	for (let i = 0; i < b.length; i++) {
		const broken = b[i].faults > 0 || Object.values(b[i].states).some(s => s !== 'up');
		if (!broken)
			continue;
		const x0 = g.toDomXCoord(b[i].t);
		const x1 = i + 1 < b.length ? g.toDomXCoord(b[i + 1].t) : area.x + area.w;
		canvas.fillRect(Math.max(x0, area.x), area.y, Math.max(1, Math.min(x1, area.x + area.w) - Math.max(x0, area.x)), area.h);
	}
}

function chartRows(kind) {
	const rows = [];
	for (const s of state.samples) {
		if (kind === 'orders')
			rows.push([s.t, s.accepted].concat(state.rejectReasons.map(r => s.rejected[r] || 0)));
		else if (kind === 'lag')
			rows.push([s.t, s.p50, s.p99]);
		else
			rows.push([s.t].concat(state.queueNames.map(q => s.queues[q] || 0)));
	}
	return rows;
}

function chartLabels(kind) {
	if (kind === 'orders')
		return ['time', 'accepted'].concat(state.rejectReasons.map(r => 'rejected: ' + r));
	if (kind === 'lag')
		return ['time', 'p50', 'p99'];
	return ['time'].concat(state.queueNames);
}

function drawCharts() {
	if (!window.Dygraph)
		return;
	for (const kind of ['orders', 'lag', 'queues']) {
		let rows = chartRows(kind);
		const labels = chartLabels(kind);
		if (rows.length === 0) {
			/* Nothing yet: a flat line now, so that the axes show. */
			const now = new Date();
			rows = [[new Date(now - 60000)].concat(labels.slice(1).map(() => 0)), [now].concat(labels.slice(1).map(() => 0))];
		}
		if (labels.length < 2)
			continue;
		const g = state.charts[kind];
		const opts = { file: rows, labels };
		if (!g || g.getLabels().length !== labels.length) {
			if (g)
				g.destroy();
			const o = {
				labels,
				/* The legend is the page's own (text only), under the chart. */
				legend: 'never',
				includeZero: true,
				axes: { y: { axisLabelWidth: 64 } },
				strokeWidth: 1.5,
				axisLabelFontSize: 11,
				labelsKMB: true,
				underlayCallback: shadeFaults,
			};
			if (kind === 'queues')
				o.drawCallback = drawBand;
			state.charts[kind] = new Dygraph($('chart-' + kind), rows, o);
			renderLegend(kind, state.charts[kind]);
		} else {
			g.updateOptions(opts);
		}
	}
}

/* A chart's legend: a swatch of each series' colour and its name, as text. */
function renderLegend(kind, g) {
	const box = $('legend-' + kind);
	clear(box);
	const labels = g.getLabels().slice(1);
	const colors = g.getColors();
	labels.forEach((label, i) => {
		const item = el('span', null, 'legend-item');
		const sw = el('span', null, 'swatch');
		sw.style.backgroundColor = colors[i];
		item.appendChild(sw);
		item.appendChild(document.createTextNode(label));
		box.appendChild(item);
	});
}

/* The node states as a band, one row per node, under the queue chart and
 * on its time axis (its plot area's left edge and width). */
function drawBand() {
	const canvas = $('node-band');
	const g = state.charts.queues;
	const names = state.nodes.map(n => n.name);
	const rowH = 12;
	const width = canvas.clientWidth || 600;
	const plot = g ? g.getArea() : null;
	const left = plot ? plot.x : 64;
	const height = Math.max(rowH * names.length + 4, 20);
	const ratio = window.devicePixelRatio || 1;
	canvas.width = Math.round(width * ratio);
	canvas.height = Math.round(height * ratio);
	canvas.style.height = height + 'px';
	const cx = canvas.getContext('2d');
	cx.setTransform(ratio, 0, 0, ratio, 0, 0);
	cx.clearRect(0, 0, width, height);
	cx.font = '10px system-ui, sans-serif';
	cx.textBaseline = 'middle';
	const b = state.bands;
	let x0Of = t => left;
	const area = { x: left, w: plot ? plot.w : width - left };
	if (g && b.length) {
		const [lo, hi] = g.xAxisRange();
		const scale = area.w / Math.max(1, hi - lo);
		x0Of = t => left + (t - lo) * scale;
	}
	names.forEach((name, k) => {
		const y = 2 + k * rowH;
		cx.fillStyle = '#333';
		cx.textAlign = 'right';
		cx.fillText(name, left - 6, y + rowH / 2);
		for (let i = 0; i < b.length; i++) {
			const st = b[i].states[name] || 'unknown';
			cx.fillStyle = BAND_COLORS[st] || BAND_COLORS.unknown;
			const x0 = Math.max(area.x, x0Of(b[i].t));
			const x1 = Math.min(area.x + area.w, i + 1 < b.length ? x0Of(b[i + 1].t) : area.x + area.w);
			if (x1 > x0)
				cx.fillRect(x0, y, Math.max(1, x1 - x0), rowH - 2);
		}
		if (b.length === 0) {
			cx.fillStyle = BAND_COLORS[nodeState(name)] || BAND_COLORS.unknown;
			cx.fillRect(area.x, y, area.w, rowH - 2);
		}
	});
}

/* ---- status and polling ------------------------------------------------------------ */

async function loadStatus() {
	const j = await api('GET', '/status');
	const c = j.counters || {};
	$('status').textContent = 't=' + Number(j.clock_s).toFixed(1) + ' s · speed ×' + j.speed +
		' · orders ' + (c.orders_accepted || 0) + ' accepted, ' + (c.orders_rejected || 0) + ' rejected · customers ' +
		(c.customers_created || 0) + ' · writes queued ' + (c.customer_writes_queued || 0) + ', replayed ' +
		(c.customer_writes_replayed || 0);
}

async function poll() {
	await guarded(loadStatus);
	await guarded(loadSales);
	if (state.tracked.length)
		await readTracked();
	await filterRecords();
}

async function start() {
	$('error-close').addEventListener('click', clearError);
	$('c-zip').addEventListener('input', renderRoute);
	$('customer-form').addEventListener('submit', createCustomer);
	$('filter-form').addEventListener('submit', filterRecords);
	$('order-form').addEventListener('submit', placeOrder);
	$('node-options').addEventListener('submit', ev => ev.preventDefault());
	$('checks-run').addEventListener('click', runChecks);
	$('token-form').addEventListener('submit', useToken);
	$('fault-form').addEventListener('submit', addFault);
	$('fault-kind').addEventListener('change', () => { $('fault-delay').disabled = $('fault-kind').value !== 'delay'; });
	$('fault-delay').disabled = $('fault-kind').value !== 'delay';
	window.addEventListener('resize', () => { for (const g of Object.values(state.charts)) g.resize(); drawBand(); });
	await guarded(loadNodes);
	await loadCuts();
	recordBand(new Date(), 0);
	drawCharts();
	connectStream();
	await poll();
	setInterval(poll, POLL_MS);
	/* Without the stream, the nodes are read every second instead. */
	setInterval(() => {
		if (!state.streamUp) {
			guarded(loadNodes);
			recordBand(new Date(), state.faults.length);
		}
	}, 1000);
}

document.addEventListener('DOMContentLoaded', start);

})();
