// leiosnet serve: the live page. Plain browser JavaScript, no build step; charts with uPlot.
// Data: REST (/api/...) for lists, plans, summaries; one WebSocket (/ws) for everything live.
'use strict';

(function () {
  const $ = (s, el = document) => el.querySelector(s);
  const $$ = (s, el = document) => [...el.querySelectorAll(s)];
  const h = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids.flat()) if (k !== undefined && k !== null) e.append(k instanceof Node ? k : String(k));
    return e;
  };
  const SVG = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs = {}) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
    return e;
  };

  // --- state -----------------------------------------------------------------------------------
  const st = {
    runId: null,
    live: false,
    nodes: [], // plan nodes
    edges: [], // plan edges
    tips: {}, // node → tip
    links: [], // live link views
    metrics: [], // MetricsPoint[]
    heights: new Map(), // node → [[t, h]...]
    chain: [], // ChainEvent[]
    events: [], // run events
    pos: new Map(), // node → {x, y}
    ws: null,
    wsBackoff: 500,
  };
  const params = new URLSearchParams(location.search);
  const hashToken = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (hashToken) {
    sessionStorage.setItem('leiosnet-token', decodeURIComponent(hashToken[1]));
    history.replaceState(null, '', location.pathname + location.search); // keep it out of the address bar
  }
  const token = () => sessionStorage.getItem('leiosnet-token') || '';

  // --- helpers ---------------------------------------------------------------------------------
  let toastTimer;
  function toast(msg, kind = '') {
    const t = $('#toast');
    t.textContent = msg;
    t.className = 'show ' + kind;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (t.className = ''), 5000);
  }
  async function api(path, opts = {}) {
    const headers = { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) };
    if (opts.auth && token()) headers.authorization = 'Bearer ' + token();
    const res = await fetch(path, { method: opts.method || 'GET', headers, body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (!res.ok) {
      const err = new Error((data && data.error) || res.status + ' ' + res.statusText);
      err.status = res.status;
      throw err;
    }
    return data;
  }
  const fmtTime = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
  const short = (hash) => (hash ? hash.slice(0, 10) : '–');
  function hue(str) {
    let x = 2166136261;
    for (let i = 0; i < str.length; i++) x = Math.imul(x ^ str.charCodeAt(i), 16777619);
    return ((x >>> 0) % 360);
  }
  const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#65a30d', '#db2777', '#4b5563', '#ca8a04'];
  const catColour = new Map();
  function categorical(key) {
    if (!catColour.has(key)) catColour.set(key, PALETTE[catColour.size % PALETTE.length]);
    return catColour.get(key);
  }
  function nodeColour(n) {
    const by = $('#colour-by').value;
    const tip = st.tips[n.name];
    if (by === 'tip') {
      if (!tip || !tip.hash) return '#d1d5db';
      return categorical('t:' + tip.hash); // distinct tips, distinct colours
    }
    if (by === 'release') return categorical('r:' + n.release);
    if (by === 'region') return categorical('g:' + (n.region || '(none)'));
    return n.role === 'pool' ? '#2563eb' : '#9ca3af';
  }

  // --- topology graph ----------------------------------------------------------------------------
  function layout() {
    const W = 600, H = 420, n = st.nodes.length;
    st.pos.clear();
    if (n === 0) return;
    const order = [...st.nodes].sort((a, b) => (a.region || '').localeCompare(b.region || '') || a.role.localeCompare(b.role) || a.name.localeCompare(b.name, undefined, { numeric: true }));
    const R = Math.min(W, H) / 2 - 40;
    const p = order.map((nd, i) => ({ name: nd.name, x: W / 2 + R * Math.cos((2 * Math.PI * i) / n - Math.PI / 2), y: H / 2 + R * Math.sin((2 * Math.PI * i) / n - Math.PI / 2) }));
    if (n > 12) {
      // a short force-directed refinement (deterministic: starts from the circle)
      const idx = new Map(p.map((q, i) => [q.name, i]));
      const E = st.edges.map((e) => [idx.get(e.from), idx.get(e.to)]).filter(([a, b]) => a !== undefined && b !== undefined);
      const k = Math.sqrt((W * H) / n) * 0.6;
      for (let it = 0; it < 200; it++) {
        const d = p.map(() => ({ x: 0, y: 0 }));
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
          const dx = p[i].x - p[j].x, dy = p[i].y - p[j].y, dist = Math.max(1, Math.hypot(dx, dy)), f = (k * k) / dist / dist;
          d[i].x += dx * f; d[i].y += dy * f; d[j].x -= dx * f; d[j].y -= dy * f;
        }
        for (const [a, b] of E) {
          const dx = p[a].x - p[b].x, dy = p[a].y - p[b].y, dist = Math.max(1, Math.hypot(dx, dy)), f = dist / k;
          d[a].x -= dx * f * 0.5; d[a].y -= dy * f * 0.5; d[b].x += dx * f * 0.5; d[b].y += dy * f * 0.5;
        }
        const temp = 12 * (1 - it / 200) + 0.5;
        for (let i = 0; i < n; i++) {
          const len = Math.max(1e-9, Math.hypot(d[i].x, d[i].y));
          p[i].x = Math.min(W - 20, Math.max(20, p[i].x + (d[i].x / len) * Math.min(len, temp)));
          p[i].y = Math.min(H - 20, Math.max(20, p[i].y + (d[i].y / len) * Math.min(len, temp)));
        }
      }
    }
    for (const q of p) st.pos.set(q.name, q);
  }
  function linkShape(e) {
    // the live views of both directions win over the plan's
    const views = st.links.filter((l) => (l.from === e.from && l.to === e.to) || (l.from === e.to && l.to === e.from));
    if (views.length === 0) return { ...e.link, connected: true };
    return {
      latencyMs: Math.max(...views.map((v) => v.latencyMs)),
      loss: Math.max(...views.map((v) => v.loss)),
      down: views.some((v) => v.down),
      bandwidthBps: views.map((v) => v.bandwidthBps).find((b) => b !== undefined),
      connected: views.some((v) => v.connected),
    };
  }
  function drawGraph() {
    const g = $('#graph');
    g.replaceChildren();
    const n = st.nodes.length;
    const r = n > 60 ? 5 : n > 20 ? 8 : 14;
    const gl = s('g'), gn = s('g');
    for (const e of st.edges) {
      const a = st.pos.get(e.from), b = st.pos.get(e.to);
      if (!a || !b) continue;
      const sh = linkShape(e);
      let colour = '#94a3b8', dash = null, width = 2;
      if (sh.latencyMs > 100) colour = '#f97316';
      else if (sh.latencyMs > 20) colour = '#eab308';
      if (sh.loss > 0) { colour = '#a855f7'; dash = '2 3'; }
      if (sh.down) { colour = '#dc2626'; dash = '6 4'; width = 2.5; }
      if (sh.bandwidthBps !== undefined) width = 1.2;
      const line = s('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: colour, 'stroke-width': n > 60 ? 0.8 : width, 'stroke-dasharray': dash, 'data-link': e.from + '|' + e.to, opacity: sh.connected === false && !sh.down ? 0.35 : 0.9 });
      const t = s('title');
      t.textContent = `${e.from} ↔ ${e.to}: ${sh.latencyMs} ms${sh.bandwidthBps !== undefined ? ', ' + sh.bandwidthBps + ' B/s' : ''}${sh.loss ? ', loss ' + sh.loss : ''}${sh.down ? ', DOWN' : ''}`;
      line.append(t);
      gl.append(line);
    }
    for (const nd of st.nodes) {
      const p = st.pos.get(nd.name);
      if (!p) continue;
      const tip = st.tips[nd.name];
      const stopped = st.live && tip && (!tip.running || !tip.reachable);
      const grp = s('g', { class: `node ${nd.role}${stopped ? ' stopped' : ''}`, 'data-node': nd.name, transform: `translate(${p.x},${p.y})` });
      grp.append(s('circle', { r: nd.role === 'pool' ? r : r * 0.7, fill: nodeColour(nd) }));
      if (n <= 60) {
        const label = s('text', { x: 0, y: -r - 4, 'text-anchor': 'middle' });
        label.textContent = nd.name + (tip && tip.blockNo !== undefined ? ' #' + tip.blockNo : '');
        grp.append(label);
      }
      const t = s('title');
      t.textContent = `${nd.name} (${nd.role}, ${nd.release}${nd.region ? ', ' + nd.region : ''})\n` + (tip ? `block ${tip.blockNo ?? '–'} slot ${tip.slot ?? '–'} tip ${short(tip.hash)}${tip.running === false ? ' — not running' : ''}` : 'no tip yet');
      grp.append(t);
      gn.append(grp);
    }
    g.append(gl, gn);
    // legend
    const by = $('#colour-by').value;
    const leg = $('#legend');
    leg.replaceChildren();
    const seen = new Map();
    for (const nd of st.nodes) {
      let key;
      if (by === 'tip') { const tp = st.tips[nd.name]; key = tp && tp.hash ? short(tp.hash) : 'no tip'; }
      else if (by === 'release') key = nd.release;
      else if (by === 'region') key = nd.region || '(none)';
      else key = nd.role;
      if (!seen.has(key)) seen.set(key, { c: nodeColour(nd), n: 0 });
      seen.get(key).n++;
    }
    for (const [k, v] of [...seen].slice(0, 8)) leg.append(h('span', { class: 'sw', style: `background:${v.c}` }), `${k} (${v.n})`);
  }

  // --- node table --------------------------------------------------------------------------------
  const NODE_FAULTS = [
    ['stop', 'stop the node (SIGTERM)'],
    ['start', 'start it again'],
    ['kill', 'SIGKILL'],
    ['restart', 'stop and start'],
    ['isolate', 'partition it from every other node for 20 s'],
  ];
  function buildTable() {
    const tb = $('#nodes tbody');
    tb.replaceChildren();
    for (const nd of st.nodes) {
      const buttons = NODE_FAULTS.map(([k, title]) => h('button', { class: 'fault', 'data-fault': k, 'data-node': nd.name, title, onclick: () => nodeFault(k, nd.name) }, k));
      tb.append(
        h('tr', { 'data-node': nd.name },
          h('td', { class: 'name' }, h('span', { class: 'dot' }), nd.name),
          h('td', {}, nd.role), h('td', {}, nd.release), h('td', {}, nd.region || '–'),
          h('td', { class: 'state' }, '–'), h('td', { class: 'num slot' }, '–'), h('td', { class: 'num blockNo' }, '–'),
          h('td', { class: 'hash' }, '–'), h('td', { class: 'num pv' }, '–'),
          h('td', { class: 'faults' }, buttons)),
      );
    }
    $('#nodes-panel').querySelector('#net-faults').hidden = !st.live;
  }
  function updateRow(name, flash) {
    const tr = $(`#nodes tr[data-node="${CSS.escape(name)}"]`);
    const nd = st.nodes.find((x) => x.name === name);
    if (!tr || !nd) return;
    const tip = st.tips[name];
    const state = !st.live ? 'finished' : !tip ? '…' : !tip.running ? 'down' : !tip.reachable ? 'unreachable' : tip.following === false ? 'stopped following' : 'up';
    const cell = $('.state', tr);
    cell.textContent = state;
    cell.className = 'state ' + (state === 'up' ? 'state-up' : state === 'down' ? 'state-down' : state === 'unreachable' ? 'state-unreachable' : '');
    tr.dataset.state = state;
    $('.slot', tr).textContent = tip && tip.slot !== undefined ? tip.slot : '–';
    $('.blockNo', tr).textContent = tip && tip.blockNo !== undefined ? tip.blockNo : '–';
    $('.hash', tr).textContent = short(tip && tip.hash);
    $('.pv', tr).textContent = tip && tip.protocolVersion !== undefined ? tip.protocolVersion : '–';
    $('.dot', tr).style.background = nodeColour(nd);
    for (const b of $$('button.fault', tr)) b.disabled = !st.live;
    if (flash) { tr.classList.remove('flash'); void tr.offsetWidth; tr.classList.add('flash'); }
  }

  // --- faults ------------------------------------------------------------------------------------
  async function fault(body) {
    if (!st.runId) return;
    try {
      const r = await api(`/api/runs/${encodeURIComponent(st.runId)}/faults`, { method: 'POST', body, auth: true });
      toast('applied ' + r.applied, 'ok');
    } catch (e) {
      toast((e.status === 401 ? 'refused: ' : 'fault failed: ') + e.message + (e.status === 401 ? ' — set the token first' : ''), 'bad');
      if (e.status === 401) $('#token').focus();
    }
  }
  // the node's neighbours in the plan (a node's /peers may also list clients such as the generator)
  const neighbours = (node) => [...new Set(st.edges.flatMap((e) => (e.from === node ? [e.to] : e.to === node ? [e.from] : [])))];
  function nodeFault(kind, node) {
    if (kind === 'isolate') {
      const others = st.nodes.map((n) => n.name).filter((n) => n !== node);
      return fault({ kind: 'partition', groups: [[node], others], forS: 20 });
    }
    return fault({ kind, node });
  }
  $('#net-faults').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-net]');
    if (!b || st.nodes.length < 2) return;
    if (b.dataset.net === 'partition') {
      const names = st.nodes.map((n) => n.name);
      const half = Math.ceil(names.length / 2);
      fault({ kind: 'partition', groups: [names.slice(0, half), names.slice(half)], forS: 20 });
    } else {
      const node = st.nodes[0].name;
      const peer = neighbours(node)[0];
      if (peer) fault({ kind: 'link', node, peer, latencyMs: 200, forS: 20 });
    }
  });

  // --- token -------------------------------------------------------------------------------------
  async function checkToken() {
    const badge = $('#token-state');
    if (!token()) { badge.textContent = 'no token'; badge.className = 'badge off'; return; }
    try {
      await api('/api/auth', { method: 'POST', auth: true });
      badge.textContent = 'token ok'; badge.className = 'badge on';
    } catch (e) {
      badge.textContent = e.status === 401 ? 'wrong token' : 'token ?'; badge.className = 'badge bad';
    }
  }
  $('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = $('#token').value.trim();
    if (v) sessionStorage.setItem('leiosnet-token', v); else sessionStorage.removeItem('leiosnet-token');
    $('#token').value = '';
    checkToken();
  });

  // --- charts ------------------------------------------------------------------------------------
  const charts = {};
  const SERIES_COLOURS = PALETTE;
  function chartWidth(el) { return Math.max(260, el.clientWidth || 360); }
  function makeChart(id, series, yLabel) {
    const el = document.getElementById(id);
    el.replaceChildren();
    const opts = {
      width: chartWidth(el), height: 200,
      series: [{}, ...series.map((name, i) => ({ label: name, stroke: SERIES_COLOURS[i % SERIES_COLOURS.length], width: 1.5, spanGaps: true, points: { show: false } }))],
      axes: [{}, { label: yLabel, size: 50 }],
      scales: { x: { time: true } },
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    };
    const data = [[], ...series.map(() => [])];
    charts[id] = { u: new uPlot(opts, data, el), series };
  }
  function heightSeriesNames() {
    const names = st.nodes.map((n) => n.name);
    return names.length <= 10 ? names : ['min', 'median', 'max'];
  }
  function setupCharts() {
    makeChart('chart-height', heightSeriesNames(), 'block');
    makeChart('chart-tput', ['offered', 'applied (ledger)', 'applied kB/s'], 'tx/s');
    makeChart('chart-lat', ['RB adoption', 'EB arrival'], 'ms');
  }
  let drawPending = false;
  function scheduleCharts() {
    if (drawPending) return;
    drawPending = true;
    setTimeout(() => { drawPending = false; drawCharts(); }, 250);
  }
  function drawCharts() {
    if (!charts['chart-height']) return;
    // heights: union of sample times, step-filled per node
    const names = st.nodes.map((n) => n.name);
    const times = [...new Set(names.flatMap((n) => (st.heights.get(n) || []).map(([t]) => t)))].sort((a, b) => a - b);
    const cols = names.map((n) => {
      const pts = st.heights.get(n) || [];
      let i = 0, cur = null;
      return times.map((t) => { while (i < pts.length && pts[i][0] <= t) cur = pts[i++][1]; return cur; });
    });
    let hdata;
    if (names.length <= 10) hdata = [times, ...cols];
    else {
      const stat = (f) => times.map((_, j) => { const v = cols.map((c) => c[j]).filter((x) => x !== null).sort((a, b) => a - b); return v.length ? f(v) : null; });
      hdata = [times, stat((v) => v[0]), stat((v) => v[Math.floor(v.length / 2)]), stat((v) => v[v.length - 1])];
    }
    charts['chart-height'].u.setData(hdata);
    const m = st.metrics;
    charts['chart-tput'].u.setData([m.map((p) => p.t), m.map((p) => p.offeredTps), m.map((p) => p.appliedTps), m.map((p) => p.appliedKBps)]);
    charts['chart-lat'].u.setData([m.map((p) => p.t), m.map((p) => p.rbDelayMs), m.map((p) => p.ebDelayMs)]);
  }
  window.addEventListener('resize', () => { for (const [id, c] of Object.entries(charts)) c.u.setSize({ width: chartWidth(document.getElementById(id)), height: 200 }); });

  function recordHeight(name, tip, tMs) {
    if (!tip || tip.blockNo === undefined) return;
    const arr = st.heights.get(name) || [];
    const t = tMs / 1000;
    if (arr.length && arr[arr.length - 1][1] === tip.blockNo) return;
    arr.push([t, tip.blockNo]);
    if (arr.length > 2000) arr.splice(0, arr.length - 2000);
    st.heights.set(name, arr);
  }

  // --- counters ----------------------------------------------------------------------------------
  function updateCounters() {
    const last = st.metrics[st.metrics.length - 1] || {};
    const heights = Object.values(st.tips).map((t) => t.blockNo).filter((x) => x !== undefined);
    const hashes = new Set(Object.values(st.tips).filter((t) => t.hash && t.running !== false).map((t) => t.hash));
    const c = (label, v, id) => h('div', { class: 'counter', id }, h('b', {}, v ?? '–'), h('span', {}, label));
    const fmt = (v) => (v === null || v === undefined ? '–' : Math.round(v * 10) / 10);
    $('#counters').replaceChildren(
      c('height', heights.length ? Math.max(...heights) : last.height, 'c-height'),
      c('distinct tips', hashes.size || '–', 'c-tips'),
      c('RBs forged', last.rbForged, 'c-rb'),
      c('EBs announced', last.ebForged, 'c-eb'),
      c('votes cast', last.votesCast, 'c-votes'),
      c('certs included', last.certsIncluded, 'c-certs'),
      c('tx/s offered', fmt(last.offeredTps), 'c-offered'),
      c('tx/s applied', fmt(last.appliedTps), 'c-applied'),
    );
  }

  // --- timeline ----------------------------------------------------------------------------------
  const RUN_EVENT_LABEL = (e) => {
    switch (e.type) {
      case 'phase': return e.phase;
      case 'fault': return e.description || JSON.stringify(e.fault);
      case 'fault-undone': return 'undone: ' + e.fault;
      case 'assertion': return `${e.name}: ${e.detail}`;
      case 'upgrade': return `${e.node} → ${e.release} ${e.phase || ''}`;
      case 'mark': return e.label || '';
      case 'run': return `${e.profile} on ${e.runtime}`;
      case 'up': return `${e.nodes} nodes up`;
      case 'generator': return e.phase;
      case 'error': return e.message;
      case 'done': return `${e.status} (exit ${e.exitCode})`;
      default: return Object.entries(e).filter(([k]) => k !== 't' && k !== 'type').map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
    }
  };
  const CHAIN_LABEL = (c) => {
    const d = c.detail || {};
    switch (c.kind) {
      case 'block': return `${c.node} forged #${c.blockNo ?? '?'} slot ${c.slot}${d.announcedEb ? ' + EB' : ''}${d.certifies ? ' (certificate)' : ''}`;
      case 'eb': return `${c.node} EB slot ${c.slot}, ${d.txs ?? 0} txs`;
      case 'votes': return `${c.node} voted (${d.votes} votes)`;
      case 'cert': return `${c.node} certified EB ${short(d.eb)} (${d.voters} voters)`;
      case 'cert-included': return `certificate for ${short(d.eb)} included (seen by ${c.node})`;
      case 'hardfork': return `${c.node}: hard fork to ${d.era} (pv ${d.protocolVersion})`;
      case 'rollback': return `${c.node} rolled back ${d.depth}`;
      case 'stopped-following': return `${c.node} stopped following (pv ${d.protocolVersion})`;
      default: return `${c.node} ${JSON.stringify(d)}`;
    }
  };
  let timelineDirty = false;
  function scheduleTimeline() {
    if (timelineDirty) return;
    timelineDirty = true;
    setTimeout(() => { timelineDirty = false; drawTimeline(); }, 300);
  }
  function drawTimeline() {
    const f = Object.fromEntries($$('[data-filter]').map((c) => [c.dataset.filter, c.checked]));
    const items = [];
    if (f.run) for (const e of st.events) items.push({ t: Date.parse(e.t), cls: e.type + (e.type === 'assertion' ? (e.passed ? ' pass' : ' fail') : ''), k: e.type, text: RUN_EVENT_LABEL(e) });
    const seenCert = new Set();
    for (const c of st.chain) {
      const group = c.kind === 'block' ? 'block' : c.kind === 'votes' ? 'votes' : c.kind === 'eb' || c.kind === 'cert' || c.kind === 'cert-included' ? 'leios' : 'run';
      if (!f[group]) continue;
      if (c.kind === 'cert-included') { if (seenCert.has(c.detail && c.detail.eb)) continue; seenCert.add(c.detail && c.detail.eb); }
      items.push({ t: c.t, cls: c.kind, k: c.kind, text: CHAIN_LABEL(c) });
    }
    items.sort((a, b) => b.t - a.t);
    $('#timeline').replaceChildren(...items.slice(0, 300).map((i) => h('li', { class: i.cls }, h('time', {}, fmtTime(i.t)), h('span', { class: 'k' }, i.k), h('span', {}, i.text))));
  }
  $$('[data-filter]').forEach((c) => c.addEventListener('change', drawTimeline));

  // --- finished runs: summary and report ---------------------------------------------------------
  async function showSummary() {
    const box = $('#summary');
    const frame = $('#report');
    box.replaceChildren();
    frame.hidden = true;
    if (!st.runId) return;
    let info;
    try { info = await api(`/api/runs/${encodeURIComponent(st.runId)}`); } catch { return; }
    if (!info.hasSummary) {
      box.append(h('p', {}, info.live ? 'live testnet — the summary and report come when a `run` ends.' : 'no summary for this run.'));
      return;
    }
    const sm = await api(`/api/runs/${encodeURIComponent(st.runId)}/summary`).catch(() => null);
    if (!sm || !sm.run || !sm.chain) return;
    sm.throughput = sm.throughput || {};
    sm.diffusion = sm.diffusion || { rb: {} };
    sm.diffusion.rb = sm.diffusion.rb || {};
    sm.assertions = sm.assertions || [];
    const row = (k, v) => h('tr', {}, h('td', {}, k), h('td', {}, v ?? '–'));
    const passed = sm.passed;
    box.append(
      h('table', {},
        row('result', h('span', { class: passed ? 'pass' : 'fail' }, passed ? 'PASSED' : 'FAILED')),
        row('profile / runtime', `${sm.run.profile} / ${sm.run.runtime}, ${sm.run.nodes} nodes, ${sm.run.durationS ?? '–'} s`),
        row('blocks / max fork depth', `${sm.chain.blocks} / ${sm.chain.maxForkDepth}`),
        row('EBs announced / certified', sm.leios ? `${sm.leios.ebsAnnounced ?? '–'} / ${sm.leios.ebsCertified ?? '–'}` : '–'),
        row('tx/s, txkB/s', `${sm.throughput.tps ?? '–'}, ${sm.throughput.txkbPerS ?? '–'}`),
        row('RB diffusion p50/p95', `${sm.diffusion.rb.p50Ms ?? '–'} / ${sm.diffusion.rb.p95Ms ?? '–'} ms`),
        row('assertions', `${sm.assertions.filter((a) => a.passed).length}/${sm.assertions.length} passed`),
      ),
    );
    if (info.hasReport) {
      frame.src = `/api/runs/${encodeURIComponent(st.runId)}/report`;
      frame.hidden = false;
    }
  }

  // --- runs --------------------------------------------------------------------------------------
  async function refreshRuns() {
    let l;
    try { l = await api('/api/runs'); } catch { return; }
    const sel = $('#run-select');
    const cur = st.runId || params.get('run');
    const opts = [
      ...l.live.map((r) => ({ id: r.runId, label: `● ${r.runId} (${r.runtime}, ${r.running}/${r.nodes} up)` })),
      ...l.finished.map((r) => ({ id: r.runId, label: `${r.runId} (${r.status || '?'}${r.passed === undefined ? '' : r.passed ? ', passed' : ', failed'})` })),
    ];
    sel.replaceChildren(...(opts.length ? opts.map((o) => h('option', { value: o.id }, o.label)) : [h('option', { value: '' }, '(no runs)')]));
    if (cur && opts.some((o) => o.id === cur)) sel.value = cur;
    if (!st.runId && opts.length) selectRun(cur && opts.some((o) => o.id === cur) ? cur : opts[0].id);
  }
  async function selectRun(id) {
    if (!id) return;
    st.runId = id;
    $('#run-select').value = id;
    const u = new URL(location.href);
    u.searchParams.set('run', id);
    history.replaceState(null, '', u.pathname + u.search);
    Object.assign(st, { tips: {}, links: [], metrics: [], chain: [], events: [], heights: new Map() });
    let topo;
    try { topo = await api(`/api/runs/${encodeURIComponent(id)}/nodes`); } catch (e) { toast(e.message, 'bad'); return; }
    if (st.runId !== id) return;
    st.nodes = topo.nodes;
    st.edges = topo.edges;
    st.live = topo.live;
    catColour.clear();
    $('#topo-info').textContent = `${st.nodes.length} nodes, ${st.edges.length} links`;
    $('#nodes-info').textContent = id;
    setRunState();
    layout();
    buildTable();
    setupCharts();
    drawGraph();
    for (const n of st.nodes) updateRow(n.name);
    updateCounters();
    if (!st.live) {
      // a finished run: its final tips and timeline from the run dir
      const t = await api(`/api/runs/${encodeURIComponent(id)}/tips`).catch(() => null);
      if (t && t.tips && typeof t.tips === 'object') {
        const tips = t.tips.tips || t.tips;
        for (const [n, v] of Object.entries(tips)) if (v && typeof v === 'object') st.tips[n] = { running: false, reachable: false, ...v };
        for (const n of st.nodes) updateRow(n.name);
        drawGraph();
        updateCounters();
      }
    }
    subscribe();
    showSummary();
  }
  function setRunState() {
    const b = $('#run-state');
    b.textContent = st.live ? 'live' : 'finished';
    b.className = 'badge ' + (st.live ? 'on' : 'off');
  }
  $('#run-select').addEventListener('change', (ev) => selectRun(ev.target.value));
  $('#colour-by').addEventListener('change', () => { drawGraph(); for (const n of st.nodes) updateRow(n.name); });

  async function loadProfiles() {
    try {
      const ps = await api('/api/profiles');
      $('#start-profile').replaceChildren(...ps.map((p) => h('option', { value: p.name, title: p.description }, p.name)));
      if (ps.some((p) => p.name === 'ci-praos')) $('#start-profile').value = 'ci-praos';
    } catch { /* ignore */ }
  }
  $('#start-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const sets = $('#start-sets').value.split(',').map((x) => x.trim()).filter(Boolean);
    try {
      toast('starting ' + $('#start-profile').value + '…');
      const r = await api('/api/runs', { method: 'POST', auth: true, body: { profile: $('#start-profile').value, mode: $('#start-mode').value, sets } });
      toast(`started ${r.runId || r.runDir}`, 'ok');
      st.runId = null;
      params.set('run', r.runId || '');
      setTimeout(refreshRuns, 1500);
    } catch (e) { toast('start refused: ' + e.message, 'bad'); }
  });
  $('#stop-run').addEventListener('click', async () => {
    if (!st.runId) return;
    try {
      const r = await api(`/api/runs/${encodeURIComponent(st.runId)}/stop`, { method: 'POST', auth: true });
      toast(r.via === 'abort' ? 'stopping ' + r.runId + ' (analysis and report follow)' : 'removed ' + r.runId, 'ok');
      setTimeout(refreshRuns, 1500);
    } catch (e) { toast('stop refused: ' + e.message, 'bad'); }
  });

  // --- WebSocket ---------------------------------------------------------------------------------
  function subscribe() {
    if (st.ws && st.ws.readyState === WebSocket.OPEN) st.ws.send(JSON.stringify({ subscribe: st.runId }));
  }
  function connect() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    st.ws = ws;
    ws.onopen = () => {
      st.wsBackoff = 500;
      const c = $('#conn');
      c.textContent = 'connected'; c.className = 'badge on';
      if (st.runId) subscribe();
    };
    ws.onclose = () => {
      const c = $('#conn');
      c.textContent = 'offline'; c.className = 'badge off';
      setTimeout(connect, st.wsBackoff);
      st.wsBackoff = Math.min(10000, st.wsBackoff * 2);
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.runId && m.runId !== st.runId) return;
      onMessage(m);
    };
  }
  function onMessage(m) {
    switch (m.type) {
      case 'snapshot': {
        st.live = m.live;
        setRunState();
        for (const [n, tip] of Object.entries(m.tips)) { st.tips[n] = tip; recordHeight(n, tip, tip.changedAt || Date.now()); }
        st.metrics = m.metrics;
        st.chain = m.chain;
        st.events = m.events;
        st.links = m.links;
        for (const n of st.nodes) updateRow(n.name);
        drawGraph(); updateCounters(); scheduleCharts(); drawTimeline();
        break;
      }
      case 'tips': {
        let newBlock = false;
        for (const [n, tip] of Object.entries(m.tips)) {
          const before = st.tips[n];
          st.tips[n] = tip;
          recordHeight(n, tip, m.t);
          const changed = !before || before.blockNo !== tip.blockNo;
          newBlock = newBlock || changed;
          updateRow(n, changed && before !== undefined);
        }
        drawGraph(); updateCounters();
        if (newBlock) scheduleCharts();
        break;
      }
      case 'metrics':
        st.metrics.push(m.point);
        if (st.metrics.length > 600) st.metrics.shift();
        updateCounters(); scheduleCharts();
        break;
      case 'chain':
        st.chain.push(...m.events);
        if (st.chain.length > 500) st.chain.splice(0, st.chain.length - 500);
        scheduleTimeline();
        break;
      case 'event':
        st.events.push(...m.events);
        if (m.events.some((e) => e.type === 'done')) setTimeout(() => { showSummary(); refreshRuns(); }, 500);
        scheduleTimeline();
        break;
      case 'links':
        st.links = m.links;
        drawGraph();
        break;
      case 'status':
        st.live = m.live;
        setRunState();
        for (const n of st.nodes) updateRow(n.name);
        drawGraph();
        refreshRuns();
        showSummary();
        break;
      case 'error':
        toast(m.error, 'bad');
        break;
    }
  }

  // --- go ----------------------------------------------------------------------------------------
  checkToken();
  loadProfiles();
  connect();
  refreshRuns();
  setInterval(refreshRuns, 10000);
})();
