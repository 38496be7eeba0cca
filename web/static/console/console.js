// Architecture console: reads only the admin endpoints of the public API
// (/api/v1/admin/*) with an administrator's Bearer token, kept in this tab's
// sessionStorage. Snapshots (architecture, outbox, dead letters, traces) are
// re-read on a timer; the event stream is one long fetch() read as a
// ReadableStream, since EventSource cannot send an Authorization header.
// Plain modules, no build step: the page is served embedded in the binary.

const TOKEN_KEY = 'console.token';
const THEME_KEY = 'console.theme';
const CALL_TIMEOUT_MS = 8000;
const MAX_EVENTS = 500;
const SHOWN_EVENTS = 200;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Canonical places of the six modules on the map: callers left and below
// the modules they call, so the arrows read left to right, bottom to top.
const SLOT_ORDER = ['identity', 'catalog', 'inventory', 'notifications', 'ordering', 'payments'];
const KNOWN = new Set(SLOT_ORDER);
const NODE_W = 184, NODE_H = 86, GAP_X = 48, GAP_Y = 44, PAD = 24, HEAD = 44, COLS = 3;
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (sel) => document.querySelector(sel);
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  arch: null,
  selected: '',
  pos: new Map(), // module → {x, y}, where it is drawn now
  anim: null,
  events: [],
  held: [], // events that arrived while paused
  paused: false,
  stream: null, // AbortController of the event stream
  timers: [],
  saga: { id: '', timer: 0 },
  traces: [],
  trace: '',
};

// ---------- helpers ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}

const moduleColor = (m) => (KNOWN.has(m) ? `var(--m-${m})` : 'var(--m-other)');
const moduleOfType = (type) => String(type || '').split('.')[0];
const short = (id) => (id ? String(id).slice(0, 8) : '');
const plural = (n, one, many = one + 's') => `${n} ${n === 1 ? one : many}`;

function clock(t) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

function ago(t) {
  const s = Math.max(0, (Date.now() - new Date(t).getTime()) / 1000);
  if (!Number.isFinite(s)) return '';
  return duration(s) + ' ago';
}

function duration(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

const hostOf = (url) => {
  try { return new URL(url).host; } catch { return String(url || ''); }
};

// dbLabel shortens a database URL to host/name; anything else is shown as is.
function dbLabel(db) {
  if (!db) return '—';
  try {
    const u = new URL(db);
    return u.host ? `${u.hostname}${u.port ? ':' + u.port : ''}${u.pathname}` : db;
  } catch { return db; }
}

function clip(text, n) {
  text = String(text ?? '');
  return text.length > n ? text.slice(0, n - 1) + '…' : text;
}

// ---------- API ----------

class APIError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || '';
  }
}

// api calls an admin endpoint with the token and a deadline. A 401 means
// the token expired: the console goes back to the login form.
async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    if (res.status === 401 && state.token) logout('Your session ended: log in again.');
    throw new APIError(res.status, data);
  }
  return data;
}

const itemsOf = (data) => (Array.isArray(data) ? data : Array.isArray(data?.items) ? data.items : Array.isArray(data?.modules) ? data.modules : []);

// ---------- login ----------

function showLogin(message = '') {
  $('#main').hidden = true;
  $('#logout').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message;
  setLive('off', 'offline');
  $('#login-email').focus();
}

async function login(ev) {
  ev.preventDefault();
  const error = $('#login-error');
  const submit = ev.submitter || ev.target.querySelector('button');
  error.textContent = '';
  submit.disabled = true;
  try {
    const res = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email: $('#login-email').value.trim(), password: $('#login-password').value }),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      error.textContent = res.status === 401 ? 'Wrong email or password.' : data?.detail || `Login failed (HTTP ${res.status}).`;
      return;
    }
    state.token = data.access_token;
    // An account that is not an administrator gets 403 from every admin
    // endpoint: say so here rather than showing an empty console.
    try {
      await api('/api/v1/admin/architecture');
    } catch (e) {
      state.token = '';
      error.textContent = e.status === 403 ? 'This account is not an administrator.' : `The console cannot read the architecture: ${e.message}`;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $('#login-password').value = '';
    start();
  } catch (e) {
    error.textContent = `Login failed: ${e.message}`;
  } finally {
    submit.disabled = false;
  }
}

function logout(message = '') {
  state.token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  clearTimeout(state.saga.timer);
  state.stream?.abort();
  state.stream = null;
  showLogin(message);
}

function start() {
  $('#login').hidden = true;
  $('#main').hidden = false;
  $('#logout').hidden = false;
  const every = (fn, ms) => { fn(); state.timers.push(setInterval(fn, ms)); };
  every(loadArchitecture, 3000);
  every(loadOutbox, 4000);
  every(loadDeadLetters, 5000);
  every(loadTraces, 6000);
  streamEvents();
}

// ---------- module map ----------

async function loadArchitecture() {
  try {
    const data = await api('/api/v1/admin/architecture');
    // Redrawn only when it changed, so the flowing dashes and the focus stay put.
    const same = JSON.stringify(data) === JSON.stringify(state.arch);
    state.arch = data;
    if (!same) drawMap(itemsOf(data));
    drawBreakers(itemsOf(data));
    const mods = itemsOf(data);
    const remote = mods.filter((m) => !m.local).length;
    const bus = data?.bus ? ` · bus ${data.bus}` : '';
    const silent = mods.filter((m) => m.error).map((m) => `${m.name}: ${m.error}`);
    $('#map-status').textContent = `${plural(mods.length, 'module')}: ${mods.length - remote} in this process, ${remote} remote${bus} · read ${clock(Date.now())}${silent.length ? ' · not answering: ' + silent.join('; ') : ''}`;
  } catch (e) {
    $('#map-status').textContent = `The architecture could not be read: ${e.message}`;
  }
}

// layout places local modules in their slot of the process box, and every
// remote process in a box of its own to the right, its modules stacked.
// On a narrow map (a tablet, a phone) the remote processes go below the
// process box instead of beside it, so the drawing keeps a legible scale.
function layout(mods, narrow) {
  const names = mods.map((m) => m.name);
  const slots = [...SLOT_ORDER.filter((n) => names.includes(n)), ...names.filter((n) => !KNOWN.has(n)).sort()];
  const rows = Math.max(2, Math.ceil(slots.length / COLS));
  const local = {
    x: 0, y: 0, kind: 'local',
    w: PAD * 2 + COLS * NODE_W + (COLS - 1) * GAP_X,
    h: HEAD + PAD + rows * NODE_H + (rows - 1) * GAP_Y,
  };
  const targets = new Map();
  for (const m of mods) {
    if (!m.local) continue;
    const i = slots.indexOf(m.name);
    targets.set(m.name, {
      x: local.x + PAD + (i % COLS) * (NODE_W + GAP_X),
      y: local.y + HEAD + Math.floor(i / COLS) * (NODE_H + GAP_Y),
    });
  }
  const processes = new Map();
  for (const m of mods) {
    if (m.local) continue;
    const key = m.process || 'remote';
    if (!processes.has(key)) processes.set(key, []);
    processes.get(key).push(m.name);
  }
  const boxes = [local];
  const remoteH = (n) => HEAD + 14 + n * NODE_H + (n - 1) * 14 + PAD - 6;
  if (!targets.size && [...processes.values()].every((ms) => ms.length === 1)) {
    // Fully extracted: this process is a gateway, drawn as a band on top,
    // and every module keeps its place on the grid, each in its own box.
    const boxW = NODE_W + PAD * 2, boxH = remoteH(1), gx = GAP_X - PAD * 2 + 40, gy = 30;
    local.w = COLS * boxW + (COLS - 1) * gx;
    local.h = HEAD + 12;
    for (const [url, [name]] of processes) {
      const i = slots.indexOf(name);
      const box = { x: (i % COLS) * (boxW + gx), y: local.h + 40 + Math.floor(i / COLS) * (boxH + gy), w: boxW, h: boxH, kind: 'remote', url, modules: [name] };
      targets.set(name, { x: box.x + PAD, y: box.y + HEAD + 14 });
      boxes.push(box);
    }
    return { targets, boxes, width: local.w, height: Math.max(...boxes.map((b) => b.y + b.h)), localCount: 0 };
  }
  if (narrow) {
    const boxW = NODE_W + PAD * 2;
    let rowY = local.h + 44, rowH = 0, cursor = 0;
    const ordered = [...processes.entries()].sort((a, b) => slots.indexOf(a[1][0]) - slots.indexOf(b[1][0]));
    for (const [url, ms] of ordered) {
      ms.sort((a, b) => slots.indexOf(a) - slots.indexOf(b));
      // Under the column it left, when there is room, so the move reads as a step down.
      let x = Math.max(cursor, (slots.indexOf(ms[0]) % COLS) * (NODE_W + GAP_X));
      if (x + boxW > local.w + 1) {
        if (cursor > 0) { rowY += rowH + 24; rowH = 0; }
        x = cursor > 0 ? 0 : x;
        if (x + boxW > local.w + 1) x = 0;
      }
      const box = { x, y: rowY, w: boxW, h: remoteH(ms.length), kind: 'remote', url, modules: ms };
      ms.forEach((name, k) => targets.set(name, { x: box.x + PAD, y: box.y + HEAD + 14 + k * (NODE_H + 14) }));
      rowH = Math.max(rowH, box.h);
      cursor = x + boxW + 16;
      boxes.push(box);
    }
    const height = Math.max(local.h, ...boxes.map((b) => b.y + b.h));
    return { targets, boxes, width: local.w, height, localCount: mods.filter((m) => m.local).length };
  }
  const columnX = [local.w + 90, local.w + 90 + NODE_W + PAD * 2 + 36];
  const columnY = [0, 0];
  const ordered = [...processes.entries()].sort((a, b) => slots.indexOf(a[1][0]) - slots.indexOf(b[1][0]));
  const total = ordered.reduce((s, [, ms]) => s + remoteH(ms.length) + 22, 0);
  const columns = total > Math.max(local.h, 420) + 40 ? 2 : 1;
  for (const [url, ms] of ordered) {
    ms.sort((a, b) => slots.indexOf(a) - slots.indexOf(b));
    const c = columns === 2 && columnY[1] < columnY[0] ? 1 : 0;
    // Beside the row it left, when there is room, so the move reads as a step out.
    const row = Math.floor(slots.indexOf(ms[0]) / COLS);
    const y = Math.max(columnY[c], columns === 1 ? HEAD + row * (NODE_H + GAP_Y) - HEAD - 14 : 0);
    const box = { x: columnX[c], y, w: NODE_W + PAD * 2, h: remoteH(ms.length), kind: 'remote', url, modules: ms };
    ms.forEach((name, i) => targets.set(name, { x: box.x + PAD, y: box.y + HEAD + 14 + i * (NODE_H + 14) }));
    columnY[c] = box.y + box.h + 22;
    boxes.push(box);
  }
  const width = Math.max(local.w, ...boxes.map((b) => b.x + b.w));
  const height = Math.max(local.h, ...boxes.map((b) => b.y + b.h));
  return { targets, boxes, width, height, localCount: mods.filter((m) => m.local).length };
}

// flows derives the arrows: sync calls from each module's calls, event
// flows from the publisher of every event type a module consumes.
function flows(mods) {
  const byName = new Map(mods.map((m) => [m.name, m]));
  const publisher = new Map();
  for (const m of mods) for (const t of m.publishes || []) publisher.set(t, m.name);
  const edges = [];
  for (const m of mods) {
    for (const c of m.calls || []) if (byName.has(c) && c !== m.name) edges.push({ from: m.name, to: c, kind: 'call', types: [] });
  }
  const events = new Map();
  for (const m of mods) {
    for (const t of m.consumes || []) {
      const p = publisher.get(t) || moduleOfType(t);
      if (!byName.has(p) || p === m.name) continue;
      const key = `${p}>${m.name}`;
      if (!events.has(key)) events.set(key, { from: p, to: m.name, kind: 'event', types: [] });
      events.get(key).types.push(t);
    }
  }
  return [...edges, ...events.values()];
}

function drawMap(mods, { animate = true } = {}) {
  const map = $('#map');
  state.narrow = map.clientWidth < 900;
  const plan = layout(mods, state.narrow);
  const margin = 14;
  map.setAttribute('viewBox', `${-margin} ${-margin} ${plan.width + margin * 2} ${plan.height + margin * 2}`);
  map.replaceChildren();

  const defs = svg('defs');
  for (const name of new Set([...SLOT_ORDER, ...mods.map((m) => m.name)])) {
    defs.append(svg('marker', { id: `arrow-${name}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', style: `fill:${moduleColor(name)}` })));
  }
  map.append(defs);

  const boxLayer = svg('g', { class: 'boxes' });
  const seen = state.boxes || new Set(plan.boxes.map((b) => b.url || 'local'));
  state.boxes = new Set(plan.boxes.map((b) => b.url || 'local'));
  for (const b of plan.boxes) {
    const down = b.kind === 'remote' && b.modules.every((n) => mods.find((m) => m.name === n)?.health === 'down');
    const g = svg('g', { class: `box ${b.kind}${down ? ' down' : ''}${seen.has(b.url || 'local') ? '' : ' enter'}`, 'data-testid': b.kind === 'local' ? 'process-local' : 'process-remote', 'data-process': b.url || 'local' });
    g.append(svg('rect', { x: b.x, y: b.y, width: b.w, height: b.h }));
    if (b.kind === 'local') {
      const title = plan.localCount ? 'This process' : 'This process (gateway: no module runs here)';
      g.append(svg('text', { class: 'box-title', x: b.x + PAD, y: b.y + 27, text: title }));
      g.append(svg('text', { class: 'box-sub', x: b.x + b.w - PAD, y: b.y + 27, 'text-anchor': 'end', text: `${location.host} · ${plural(plan.localCount, 'module')}` }));
    } else {
      g.append(svg('text', { class: 'box-title', x: b.x + PAD, y: b.y + 24, text: down ? 'Remote · not answering' : 'Remote process' }));
      g.append(svg('text', { class: 'box-sub', x: b.x + PAD, y: b.y + 40, text: clip(hostOf(b.url), 30) }, svg('title', { text: b.url })));
    }
    boxLayer.append(g);
  }
  map.append(boxLayer);

  const edgeLayer = svg('g', { class: 'edges' });
  const edges = flows(mods);
  const edgeEls = edges.map((e) => {
    const label = e.kind === 'call' ? `${e.from} calls ${e.to}` : `${e.from} → ${e.to}: ${e.types.join(', ')}`;
    const p = svg('path', { class: `edge ${e.kind}`, 'data-testid': `edge-${e.kind}`, 'data-from': e.from, 'data-to': e.to, style: `stroke:${moduleColor(e.from)}`, 'marker-end': `url(#arrow-${e.from})` }, svg('title', { text: label }));
    edgeLayer.append(p);
    return { e, p };
  });
  map.append(edgeLayer);

  const nodeLayer = svg('g', { class: 'nodes' });
  const nodeEls = new Map();
  for (const m of mods) {
    const g = nodeFor(m);
    nodeLayer.append(g);
    nodeEls.set(m.name, g);
  }
  map.append(nodeLayer);

  const from = new Map();
  for (const [name, to] of plan.targets) from.set(name, state.pos.get(name) || to);
  const moving = [...plan.targets].some(([n, t]) => { const f = from.get(n); return f.x !== t.x || f.y !== t.y; });
  const place = (k) => {
    for (const [name, to] of plan.targets) {
      const f = from.get(name);
      const p = { x: f.x + (to.x - f.x) * k, y: f.y + (to.y - f.y) * k };
      state.pos.set(name, p);
      nodeEls.get(name).setAttribute('transform', `translate(${p.x} ${p.y})`);
    }
    for (const { e, p } of edgeEls) p.setAttribute('d', edgePath(state.pos.get(e.from), state.pos.get(e.to), e.kind, edges));
  };
  cancelAnimationFrame(state.anim);
  if (!moving || !animate || matchMedia('(prefers-reduced-motion: reduce)').matches) {
    place(1);
  } else {
    // A module that changed process glides to its new box.
    const t0 = performance.now();
    const step = (now) => {
      const t = Math.min(1, (now - t0) / 1400);
      place(t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2);
      if (t < 1) state.anim = requestAnimationFrame(step);
    };
    place(0);
    state.anim = requestAnimationFrame(step);
  }
  highlight();
  if (state.selected) showDetail(mods.find((m) => m.name === state.selected));
}

function nodeFor(m) {
  const health = ['up', 'degraded', 'down'].includes(m.health) ? m.health : 'unknown';
  const where = m.local ? 'in this process' : `remote · ${hostOf(m.process)}`;
  const g = svg('g', {
    class: `node ${health}${state.selected === m.name ? ' selected' : ''}`,
    tabindex: 0, role: 'button',
    'data-testid': `module-${m.name}`, 'data-module': m.name, 'data-local': String(!!m.local), 'data-health': health, 'data-process': m.process || '',
    'aria-label': `${m.name}: ${m.local ? 'runs in this process' : `remote, at ${m.process}`}; health ${health}; schema ${m.schema || 'none'}; database ${m.database || 'unknown'}`,
    onclick: () => select(m.name),
    onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(m.name); } },
  });
  g.append(
    svg('rect', { class: 'body', width: NODE_W, height: NODE_H, rx: 12 }),
    svg('rect', { x: 0, y: 12, width: 5, height: NODE_H - 24, rx: 2.5, style: `fill:${moduleColor(m.name)}` }),
    svg('text', { class: 'name', x: 18, y: 27, text: m.name }),
    svg('circle', { class: `health-ring ${health}`, cx: NODE_W - 20, cy: 22, r: 10 }),
    svg('circle', { class: `health ${health}`, cx: NODE_W - 20, cy: 22, r: 5.5 }),
    svg('text', { class: 'meta', x: 18, y: 48, text: clip(`schema ${m.schema || '—'}`, 26) }),
    svg('text', { class: 'meta', x: 18, y: 63, text: clip(`db ${dbLabel(m.database)}`, 26) }, svg('title', { text: m.database || '' })),
    svg('text', { class: `where ${m.local ? 'local' : 'remote'}`, x: 18, y: 78, text: clip(where, 28) }),
    svg('title', { text: `${m.name} · ${where} · ${health}` }),
  );
  return g;
}

// edgePath draws a curve between two nodes' borders. Event flows bend more
// than calls, so a call and an event between the same pair stay apart, and
// two opposite flows bend to opposite sides.
function edgePath(a, b, kind, edges) {
  const ca = { x: a.x + NODE_W / 2, y: a.y + NODE_H / 2 };
  const cb = { x: b.x + NODE_W / 2, y: b.y + NODE_H / 2 };
  const dx = cb.x - ca.x, dy = cb.y - ca.y;
  const len = Math.hypot(dx, dy) || 1;
  const bend = kind === 'event' ? 0.2 : 0.06;
  const ctl = { x: (ca.x + cb.x) / 2 - (dy / len) * len * bend, y: (ca.y + cb.y) / 2 + (dx / len) * len * bend };
  const s = border(ca, ctl, 3), e = border(cb, ctl, 7);
  return `M${s.x.toFixed(1)},${s.y.toFixed(1)} Q${ctl.x.toFixed(1)},${ctl.y.toFixed(1)} ${e.x.toFixed(1)},${e.y.toFixed(1)}`;
}

// border is where the line from a node's centre towards p leaves the node.
function border(c, p, gap) {
  const dx = p.x - c.x, dy = p.y - c.y;
  const hw = NODE_W / 2 + gap, hh = NODE_H / 2 + gap;
  const t = Math.min(Math.abs(dx) > 1e-6 ? hw / Math.abs(dx) : Infinity, Math.abs(dy) > 1e-6 ? hh / Math.abs(dy) : Infinity, 1);
  return { x: c.x + dx * t, y: c.y + dy * t };
}

function select(name) {
  state.selected = state.selected === name ? '' : name;
  const mods = itemsOf(state.arch);
  for (const n of document.querySelectorAll('#map .node')) n.classList.toggle('selected', n.dataset.module === state.selected);
  highlight();
  showDetail(mods.find((m) => m.name === state.selected));
}

function highlight() {
  const map = $('#map');
  const sel = state.selected;
  map.classList.toggle('focused', !!sel);
  for (const e of map.querySelectorAll('.edge')) e.classList.toggle('hl', !!sel && (e.dataset.from === sel || e.dataset.to === sel));
  const near = new Set([sel]);
  for (const e of map.querySelectorAll('.edge.hl')) { near.add(e.dataset.from); near.add(e.dataset.to); }
  for (const n of map.querySelectorAll('.node')) n.classList.toggle('hl', near.has(n.dataset.module));
}

function showDetail(m) {
  const box = $('#module-detail');
  if (!m) {
    box.replaceChildren(el('p', { class: 'muted', text: 'Select a module (click, or Tab to it and press Enter) to see its calls and events.' }));
    return;
  }
  const mods = itemsOf(state.arch);
  const calledBy = mods.filter((o) => (o.calls || []).includes(m.name)).map((o) => o.name);
  const list = (xs) => (xs && xs.length ? el('ul', {}, xs.map((x) => el('li', {}, el('code', { text: x })))) : el('span', { class: 'muted', text: 'none' }));
  const breaker = breakerOf(m);
  box.replaceChildren(
    el('h3', {}, el('span', { class: 'swatch', style: `background:${moduleColor(m.name)}` }), m.name, el('span', { class: `status ${m.health}`, text: m.health || 'unknown' })),
    el('dl', {},
      el('div', {}, el('dt', { text: 'process' }), el('dd', {}, m.local ? 'this process' : el('code', { text: m.process }))),
      el('div', {}, el('dt', { text: 'schema · database' }), el('dd', {}, el('code', { text: `${m.schema || '—'} · ${dbLabel(m.database)}` }))),
      breaker ? el('div', {}, el('dt', { text: 'breaker' }), el('dd', {}, el('span', { class: `status ${breaker}`, text: breaker }))) : null,
      el('div', {}, el('dt', { text: 'calls' }), el('dd', {}, list(m.calls))),
      el('div', {}, el('dt', { text: 'called by' }), el('dd', {}, list(calledBy))),
      el('div', {}, el('dt', { text: 'publishes' }), el('dd', {}, list(m.publishes))),
      el('div', {}, el('dt', { text: 'consumes' }), el('dd', {}, list(m.consumes))),
    ),
  );
}

// ---------- circuit breakers ----------

// breakerOf reads a remote module's breaker state from the architecture
// answer, whichever of the shapes the admin API uses.
function breakerOf(m) {
  const b = m.breaker ?? m.circuit_breaker ?? m.breaker_state;
  if (!b) return '';
  return String(typeof b === 'object' ? b.state ?? '' : b).toLowerCase().replace(/[\s_]+/g, '-');
}

function instancesOf(m) {
  const list = m.instances ?? m.breaker?.instances ?? [];
  return Array.isArray(list) ? list : [];
}

function drawBreakers(mods) {
  const box = $('#breakers');
  const remote = mods.filter((m) => !m.local);
  if (!remote.length) {
    box.replaceChildren(el('p', { class: 'empty', text: 'Every module runs in this process: no remote calls, so no breakers.' }));
    return;
  }
  box.replaceChildren(el('table', {},
    el('thead', {}, el('tr', {}, el('th', { text: 'module' }), el('th', { text: 'state' }), el('th', { text: 'instances' }))),
    el('tbody', {}, remote.map((m) => {
      const st = breakerOf(m) || 'unknown';
      const inst = instancesOf(m);
      return el('tr', { 'data-testid': `breaker-${m.name}`, 'data-state': st },
        el('td', {}, el('span', { class: 'mod' }, el('span', { class: 'swatch', style: `background:${moduleColor(m.name)}` }), m.name)),
        el('td', {}, el('span', { class: `status ${st}`, text: st })),
        el('td', { class: 'inst' }, inst.length
          ? inst.map((i) => el('div', {}, el('code', { text: hostOf(i.url ?? i.base_url ?? i) }), ' ', instanceState(i)))
          : el('code', { text: hostOf(m.process) })),
      );
    })),
  ));
}

function instanceState(i) {
  if (typeof i !== 'object') return '';
  const s = i.state ?? i.status ?? (typeof i.up === 'boolean' ? (i.up ? 'up' : 'down') : '');
  return s ? el('span', { class: `status ${s === 'healthy' || s === 'up' ? 'ok' : s === 'ejected' || s === 'down' ? 'failed' : ''}`, text: s }) : '';
}

// ---------- outbox ----------

async function loadOutbox() {
  const box = $('#outbox');
  try {
    const data = await api('/api/v1/admin/outbox');
    let rows = itemsOf(data);
    if (!rows.length && data && typeof data === 'object' && !Array.isArray(data.items)) {
      rows = Object.entries(data).filter(([, v]) => v && typeof v === 'object').map(([module, v]) => ({ module, ...v }));
    }
    rows = rows.map((r) => ({
      module: r.module ?? r.name ?? '?',
      backlog: Number(r.backlog ?? r.unrelayed ?? r.pending ?? r.count ?? 0),
      oldest: oldestAge(r),
      error: r.error,
    })).sort((a, b) => SLOT_ORDER.indexOf(a.module) - SLOT_ORDER.indexOf(b.module));
    if (!rows.length) {
      box.replaceChildren(el('p', { class: 'empty', text: 'No module reports an outbox.' }));
      return;
    }
    const max = Math.max(1, ...rows.map((r) => r.backlog));
    box.replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, el('th', { text: 'module' }), el('th', { text: 'backlog' }), el('th', { class: 'num', text: 'oldest' }))),
      el('tbody', {}, rows.map((r) => el('tr', { 'data-testid': `outbox-${r.module}`, 'data-backlog': r.backlog },
        el('td', {}, el('span', { class: 'mod' }, el('span', { class: 'swatch', style: `background:${moduleColor(r.module)}` }), r.module)),
        el('td', {}, r.error ? el('span', { class: 'status failed', text: 'unreachable' }) : [
          el('span', { class: 'mono', text: String(r.backlog) }),
          el('div', { class: 'bar', 'aria-hidden': 'true' }, el('span', { style: `width:${(r.backlog / max) * 100}%;background:${moduleColor(r.module)}` })),
        ]),
        el('td', { class: 'num' }, r.backlog ? duration(r.oldest) : el('span', { class: 'muted', text: '—' })),
      ))),
    ));
  } catch (e) {
    box.replaceChildren(el('p', { class: 'empty', text: `The outbox could not be read: ${e.message}` }));
  }
}

function oldestAge(r) {
  if (Number.isFinite(r.oldest_age_seconds)) return r.oldest_age_seconds;
  if (Number.isFinite(r.oldest_age_ms)) return r.oldest_age_ms / 1000;
  if (Number.isFinite(r.oldest_age)) return r.oldest_age;
  const at = r.oldest_at ?? r.oldest;
  if (at) return (Date.now() - new Date(at).getTime()) / 1000;
  return NaN;
}

// ---------- dead letters ----------

async function loadDeadLetters() {
  const box = $('#dead-letters');
  try {
    const data = await api('/api/v1/admin/dead-letters');
    // Unchanged, the list is left alone so the focus stays on its buttons.
    const key = JSON.stringify(data);
    if (key === state.deadLettersKey && box.childElementCount) return;
    state.deadLettersKey = key;
    const items = itemsOf(data);
    const missing = Array.isArray(data?.unavailable) && data.unavailable.length
      ? el('p', { class: 'result bad', text: `Not answering, so their dead letters are missing: ${data.unavailable.join(', ')}.` }) : null;
    $('#dl-count').textContent = items.length ? plural(items.length, 'message') : '';
    if (!items.length) {
      box.replaceChildren(el('p', { class: 'empty', 'data-testid': 'dead-letters-empty', text: 'No dead letters: every message was handled.' }), missing || '');
      return;
    }
    box.replaceChildren(missing || '', ...items.map((d) => el('article', { class: 'dl-item', 'data-testid': 'dead-letter', 'data-id': d.id, 'data-topic': d.topic || '', style: `border-left:4px solid ${moduleColor(d.module)}` },
      el('div', { class: 'what' }, d.topic || d.message?.type || 'message', ' ', el('span', { class: 'muted small', text: `→ ${d.module}${d.handler ? ' / ' + d.handler : ''}` })),
      el('div', { class: 'why', text: clip(d.error, 220) }),
      el('div', { class: 'meta', text: `${plural(d.attempts ?? 0, 'attempt')} · failed ${ago(d.failed_at)} · id ${short(d.id)}${d.process && d.process !== 'local' ? ' · held by ' + hostOf(d.process) : ''}` }),
      el('button', { type: 'button', class: 'primary', 'data-testid': 'replay', 'aria-label': `Replay ${d.topic || 'message'} to ${d.module}`, onclick: () => replay(d) }, 'Replay'),
    )));
  } catch (e) {
    state.deadLettersKey = '';
    box.replaceChildren(el('p', { class: 'empty', text: `The dead letters could not be read: ${e.message}` }));
  }
}

async function replay(d) {
  const dialog = $('#confirm');
  $('#confirm-text').textContent = `The ${d.topic || 'message'} message goes to ${d.module}${d.handler ? ' (' + d.handler + ')' : ''} once more. If its handler succeeds the dead letter is removed; if it fails again it is kept.`;
  dialog.returnValue = '';
  dialog.showModal();
  const answer = await new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true }));
  if (answer !== 'ok') return;
  const result = $('#dl-result');
  result.className = 'result';
  result.textContent = 'Replaying…';
  try {
    await api(`/api/v1/admin/dead-letters/${encodeURIComponent(d.id)}/replay`, { method: 'POST' });
    result.className = 'result ok';
    result.textContent = `Replayed ${d.topic || 'message'} (${short(d.id)}): handled by ${d.module}.`;
  } catch (e) {
    result.className = 'result bad';
    result.textContent = `Replay of ${short(d.id)} failed: ${e.message}`;
  }
  loadDeadLetters();
}

// ---------- event stream ----------

function setLive(cls, text) {
  const live = $('#live');
  live.className = `live ${cls}`;
  live.textContent = text;
}

async function streamEvents() {
  let backoff = 500;
  // A newer stream (after a log out and in) ends this one.
  const gen = state.streamGen = (state.streamGen || 0) + 1;
  while (state.token && gen === state.streamGen) {
    const ctrl = new AbortController();
    state.stream = ctrl;
    try {
      const res = await fetch('/api/v1/admin/events', { headers: { Authorization: `Bearer ${state.token}`, Accept: 'text/event-stream' }, signal: ctrl.signal });
      if (res.status === 401) { logout('Your session ended: log in again.'); return; }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setLive(state.paused ? 'paused' : 'on', state.paused ? 'paused' : 'live');
      backoff = 500;
      await readSSE(res.body, onMessage);
    } catch (e) {
      if (ctrl.signal.aborted) return;
    }
    if (!state.token || gen !== state.streamGen) return;
    setLive('off', 'reconnecting…');
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 8000);
  }
}

// readSSE parses a text/event-stream body: messages are separated by a
// blank line; "event:" names one, "data:" lines make its data.
async function readSSE(body, handle) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') event = val;
        else if (field === 'data') data.push(val);
      }
      if (data.length || event !== 'message') handle(event, data.join('\n'));
    }
  }
}

function onMessage(event, data) {
  let parsed = null;
  try { parsed = data ? JSON.parse(data) : null; } catch { parsed = data; }
  if (event === 'dropped') {
    const n = typeof parsed === 'number' ? parsed : parsed?.dropped ?? parsed?.count ?? null;
    addItem({ dropped: true, n, at: Date.now() });
    return;
  }
  if (event !== 'message' || !parsed || typeof parsed !== 'object' || !parsed.type) return;
  addItem(parsed);
}

function addItem(item) {
  if (state.paused) {
    state.held.push(item);
    renderEvents();
    return;
  }
  state.events.unshift(item);
  if (state.events.length > MAX_EVENTS) state.events.length = MAX_EVENTS;
  noteType(item);
  const list = $('#events');
  if (matches(item)) {
    list.querySelector('.empty')?.remove();
    list.prepend(eventRow(item));
    while (list.children.length > SHOWN_EVENTS) list.lastChild.remove();
  }
  $('#events-count').textContent = plural(state.events.filter((e) => !e.dropped).length, 'event');
}

const seenTypes = new Set();
const seenModules = new Set();
function noteType(item) {
  if (item.dropped || seenTypes.has(item.type)) return;
  seenTypes.add(item.type);
  $('#event-types').append(el('option', { value: item.type }));
  const m = moduleOfType(item.type);
  if (!seenModules.has(m)) {
    seenModules.add(m);
    $('#filter-module').append(el('option', { value: m, text: m }));
  }
}

function orderIdOf(e) {
  const p = e.payload && typeof e.payload === 'object' ? e.payload : {};
  if (typeof p.order_id === 'string' && UUID_RE.test(p.order_id)) return p.order_id;
  if (moduleOfType(e.type) === 'ordering' && UUID_RE.test(e.aggregate_id || '')) return e.aggregate_id;
  return '';
}

function matches(e) {
  if (e.dropped) return true;
  const type = $('#filter-type').value.trim().toLowerCase();
  const mod = $('#filter-module').value;
  const corr = $('#filter-correlation').value.trim().toLowerCase();
  if (type && !e.type.toLowerCase().includes(type)) return false;
  if (mod && moduleOfType(e.type) !== mod) return false;
  if (corr && !String(e.correlation_id || '').toLowerCase().includes(corr)) return false;
  return true;
}

function eventRow(e) {
  if (e.dropped) {
    return el('li', { class: 'dropped', 'data-testid': 'events-dropped', role: 'status' },
      `⚠ ${e.n ? plural(e.n, 'event') : 'Some events'} dropped: this console read the stream too slowly. The outbox and dead letters are unaffected.`);
  }
  const order = orderIdOf(e);
  const m = moduleOfType(e.type);
  const content = [
    el('span', { class: 'time', text: clock(e.occurred_at) }),
    el('span', { class: 'type' }, e.type, el('span', { class: 'muted small', text: ` v${e.version ?? 1}` })),
    el('span', { class: 'ids mono' }, order ? `order ${short(order)} · ` : '', `corr ${clip(e.correlation_id || '—', 18)}`),
  ];
  const attrs = { class: `event${order ? ' has-order' : ''}`, style: `border-left-color:${moduleColor(m)}` };
  const body = order
    ? el('button', { ...attrs, type: 'button', 'aria-label': `${e.type} of order ${order}: open its saga`, onclick: () => openSaga(order) }, content, el('span', { class: 'open', text: 'open saga →' }))
    : el('div', attrs, content);
  return el('li', { 'data-testid': 'event', 'data-type': e.type, 'data-order-id': order || null, 'data-correlation-id': e.correlation_id || null }, body);
}

function renderEvents() {
  const list = $('#events');
  const shown = state.events.filter(matches).slice(0, SHOWN_EVENTS);
  const rows = shown.map(eventRow);
  if (state.paused && state.held.length) {
    rows.unshift(el('li', { class: 'paused-note', role: 'status', 'data-testid': 'events-held' }, `Paused: ${plural(state.held.length, 'new event')} held. Resume to see them.`));
  }
  if (!rows.length) rows.push(el('li', { class: 'empty', text: state.events.length ? 'No event matches the filters.' : 'Waiting for events… place an order to see its saga unfold.' }));
  list.replaceChildren(...rows);
  $('#events-count').textContent = plural(state.events.filter((e) => !e.dropped).length, 'event');
}

function togglePause() {
  state.paused = !state.paused;
  const b = $('#events-pause');
  b.setAttribute('aria-pressed', String(state.paused));
  b.textContent = state.paused ? 'Resume' : 'Pause';
  setLive(state.paused ? 'paused' : 'on', state.paused ? 'paused' : 'live');
  if (!state.paused) {
    const held = state.held;
    state.held = [];
    for (const item of held) { state.events.unshift(item); noteType(item); }
    if (state.events.length > MAX_EVENTS) state.events.length = MAX_EVENTS;
  }
  renderEvents();
}

// ---------- saga ----------

function openSaga(id) {
  $('#saga-order').value = id;
  loadSaga(id, true);
  $('#panel-saga').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

async function loadSaga(id, fresh) {
  const box = $('#saga');
  clearTimeout(state.saga.timer);
  id = id.trim();
  if (!UUID_RE.test(id)) {
    box.replaceChildren(el('p', { class: 'error', role: 'alert', text: 'An order id is a UUID, like 3f2b8c1e-…' }));
    return;
  }
  if (fresh) state.saga = { id, timer: 0, polls: 0 };
  try {
    const s = await api(`/api/v1/admin/sagas/${encodeURIComponent(id)}`);
    drawSaga(s);
    // A saga still running is re-read until it settles.
    if (SAGA_LIVE.has(s.status) && state.saga.id === id && state.saga.polls++ < 60) {
      state.saga.timer = setTimeout(() => loadSaga(id, false), 1500);
    }
  } catch (e) {
    box.replaceChildren(el('p', { class: 'empty', text: e.status === 404 ? `No saga for order ${short(id)} (yet).` : `The saga could not be read: ${e.message}` }));
    if (e.status === 404 && state.saga.id === id && state.saga.polls++ < 10) state.saga.timer = setTimeout(() => loadSaga(id, false), 1500);
  }
}

// outcomeClass colours a saga step: ordering logs "done, next <step>",
// "failed, compensating with <step>", "retry", and the saga's end,
// "confirmed", "cancelled" or "cancelled_confirmed".
function outcomeClass(outcome) {
  const o = String(outcome || '').toLowerCase();
  if (/fail|error|declin|cancel|timeout|timed|reject/.test(o)) return 'bad';
  if (/compensat|retr|pending|running|waiting/.test(o)) return 'warn';
  return 'ok';
}

const SAGA_LIVE = new Set(['pending', 'running', 'compensating']);

function drawSaga(s) {
  const steps = Array.isArray(s.steps) ? s.steps : [];
  const t0 = steps.length ? new Date(steps[0].at).getTime() : 0;
  $('#saga').replaceChildren(
    el('div', { class: 'saga-head' },
      el('span', {}, 'order ', el('code', { text: s.order_id, 'data-testid': 'saga-order-id' })),
      el('span', { class: `status ${s.status}`, 'data-testid': 'saga-status', text: s.status || 'unknown' })),
    s.reason ? el('p', { class: 'small', 'data-testid': 'saga-reason' }, el('strong', { text: 'reason: ' }), s.reason) : '',
    steps.length
      ? el('ol', { class: 'timeline', 'aria-label': 'Saga steps, oldest first' }, steps.map((st) => {
        const dt = new Date(st.at).getTime() - t0;
        return el('li', { class: outcomeClass(st.outcome), 'data-testid': 'saga-step', 'data-step': st.step, 'data-outcome': st.outcome },
          el('span', { class: 'mark', 'aria-hidden': 'true' }),
          el('div', { class: 'step', text: String(st.step).replace(/_/g, ' ') }),
          el('div', {}, el('span', { class: 'outcome', text: st.repeats > 1 ? `${st.outcome} ×${st.repeats}` : st.outcome }), ' ', el('span', { class: 'when', text: `${clock(st.at)}${dt > 0 ? ` (+${duration(dt / 1000)})` : ''}` })),
          st.detail ? el('div', { class: 'when', text: st.detail }) : null);
      }))
      : el('p', { class: 'empty', text: 'The saga has no step yet.' }),
  );
}

// ---------- traces ----------

async function loadTraces() {
  const list = $('#traces');
  try {
    const data = await api('/api/v1/admin/traces?limit=20');
    const key = JSON.stringify(data);
    if (key === state.tracesKey && list.childElementCount) return;
    state.tracesKey = key;
    state.traces = itemsOf(data);
  } catch (e) {
    state.traces = [];
    state.tracesKey = '';
    if (e.status !== 404) {
      list.replaceChildren(el('li', { class: 'empty', text: `The traces could not be read: ${e.message}` }));
      return;
    }
  }
  if (!state.traces.length) {
    list.replaceChildren(el('li', { class: 'empty', 'data-testid': 'traces-empty', text: 'No traces yet.' }));
    $('#waterfall').replaceChildren(el('p', { class: 'muted', text: 'Requests and event handlers appear here as traces once the processes record them.' }));
    return;
  }
  if (!state.traces.some((t) => t.trace_id === state.trace)) state.trace = state.traces[0].trace_id;
  list.replaceChildren(...state.traces.map((t) => el('li', {},
    el('button', { type: 'button', 'data-testid': 'trace', 'data-trace-id': t.trace_id, 'aria-current': String(t.trace_id === state.trace), onclick: () => { state.trace = t.trace_id; loadTracesView(); } },
      el('span', { class: 'root', text: t.root || t.spans?.[0]?.name || t.trace_id }),
      el('span', { class: 'tmeta' }, el('span', { class: 'mono', text: `${Number(t.duration_ms ?? 0).toFixed(1)} ms` }), el('span', { text: clock(t.start) }),
        (t.modules || []).map((m) => el('span', { class: 'chip' }, el('span', { class: 'swatch', style: `background:${moduleColor(m)}` }), m)))))));
  drawWaterfall(state.traces.find((t) => t.trace_id === state.trace));
}

function loadTracesView() {
  for (const b of document.querySelectorAll('#traces button')) b.setAttribute('aria-current', String(b.dataset.traceId === state.trace));
  drawWaterfall(state.traces.find((t) => t.trace_id === state.trace));
}

// drawWaterfall lays a trace's spans out as bars on one time axis, each
// under its parent, coloured by the module that recorded it.
function drawWaterfall(t) {
  const box = $('#waterfall');
  const spans = Array.isArray(t?.spans) ? t.spans : [];
  if (!spans.length) { box.replaceChildren(el('p', { class: 'muted', text: 'This trace has no spans.' })); return; }
  const start = (s) => new Date(s.start).getTime();
  const t0 = Math.min(...spans.map(start));
  const end = Math.max(...spans.map((s) => start(s) + Number(s.duration_ms || 0)));
  const total = Math.max(end - t0, 0.001);
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map();
  for (const s of spans) {
    const parent = ids.has(s.parent_span_id) ? s.parent_span_id : '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  const rows = [];
  const walk = (parent, depth) => {
    for (const s of (children.get(parent) || []).sort((a, b) => start(a) - start(b))) {
      rows.push([s, depth]);
      if (depth < 30) walk(s.span_id, depth + 1);
    }
  };
  walk('', 0);
  // A trace with hundreds of SQL spans stays readable: the first ones are drawn.
  const MAX_ROWS = 120;
  const hidden = rows.length - MAX_ROWS;
  if (hidden > 0) rows.length = MAX_ROWS;
  box.replaceChildren(
    el('div', { class: 'wf-axis', 'aria-hidden': 'true' }, el('span', { text: '0 ms' }), el('span', { text: `${(total / 2).toFixed(1)} ms` }), el('span', { text: `${total.toFixed(1)} ms` })),
    ...rows.map(([s, depth]) => {
      const left = ((start(s) - t0) / total) * 100;
      const width = (Number(s.duration_ms || 0) / total) * 100;
      const failed = s.status === 'error' || !!s.error;
      const label = `${s.name} (${s.module || 'no module'}${s.process ? ', ' + hostOf(s.process) : ''}): ${Number(s.duration_ms || 0).toFixed(2)} ms${failed ? ', failed: ' + (s.error || 'error') : ''}`;
      const attrs = Object.entries(s.attributes || {}).map(([k, v]) => `${k}=${v}`).join('\n');
      return el('div', { class: 'wf-row', 'data-testid': 'span', 'data-module': s.module || '' },
        el('span', { class: 'wf-name', style: `padding-left:${depth * 0.8}rem`, title: s.name }, el('span', { class: 'swatch', style: `background:${moduleColor(s.module)};margin-right:.35rem` }), s.name),
        el('span', { class: 'wf-track', role: 'img', 'aria-label': label, title: attrs ? `${label}\n${attrs}` : label },
          el('span', { class: `wf-bar${failed ? ' error' : ''}`, style: `left:${left}%;width:${Math.max(width, 0.3)}%;background:${moduleColor(s.module)}` }),
          el('span', { class: 'wf-dur', style: left + width > 78 ? `right:${100 - left + 0.5}%` : `left:${left + width + 0.8}%`, text: `${Number(s.duration_ms || 0).toFixed(1)} ms` })));
    }),
    hidden > 0 ? el('p', { class: 'muted small', text: `… and ${plural(hidden, 'more span')}.` }) : '',
  );
}

// ---------- theme ----------

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function toggleTheme() {
  const dark = document.documentElement.dataset.theme ? document.documentElement.dataset.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  const next = dark ? 'light' : 'dark';
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
}

// ---------- start ----------

function init() {
  applyTheme(localStorage.getItem(THEME_KEY) || '');
  $('#theme').addEventListener('click', toggleTheme);
  $('#logout').addEventListener('click', () => logout());
  $('#login-form').addEventListener('submit', login);
  $('#events-pause').addEventListener('click', togglePause);
  $('#events-clear').addEventListener('click', () => { state.events = []; state.held = []; renderEvents(); });
  for (const id of ['#filter-type', '#filter-module', '#filter-correlation']) $(id).addEventListener('input', renderEvents);
  $('#events-filters').addEventListener('submit', (ev) => ev.preventDefault());
  $('#saga-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadSaga($('#saga-order').value, true); });
  renderEvents();
  // The map's arrangement depends on its width (see layout).
  new ResizeObserver(() => {
    const narrow = $('#map').clientWidth < 900;
    if (state.arch && narrow !== state.narrow && $('#map').clientWidth > 0) drawMap(itemsOf(state.arch), { animate: false });
  }).observe($('#map'));
  if (state.token) start();
  else showLogin();
}

init();
