// berth dashboard: every lease on the machine, live from /api/events.
// Plain DOM, no framework and no build step; every value from the registry is
// written with textContent (project names and folders are not trusted as HTML).

const EVENT_TYPES = ['assigned', 'moved', 'released', 'reclaimed', 'healthy', 'unhealthy'];
const HEALTH_POLL_MS = 2000;
const LOG_MAX = 100;
const HISTORY_REPLAY = 30;
const FLASH_MS = 2500;
const LEAVE_MS = 1500;

const state = {
  leases: [],
  health: new Map(),
  flashes: new Map(),
  seenEventId: 0,
  daemonPid: null,
  loadedAt: 0,
  log: [],
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElementNS(
    tag === 'svg' || tag === 'polyline' || tag === 'line' || tag === 'rect' || tag === 'circle'
      ? 'http://www.w3.org/2000/svg'
      : 'http://www.w3.org/1999/xhtml',
    tag,
  );
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function keyOf(x) {
  return x.kind === 'adhoc' ? `adhoc:${x.port}` : `${x.dir}\0${x.environment}\0${x.service}`;
}

function groupKey(l) {
  return l.kind === 'adhoc' ? 'adhoc' : `${l.project}\0${l.dir}\0${l.environment}`;
}

async function api(path) {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!body?.success) {
    const error = new Error(body?.error?.message ?? `${path} answered ${res.status}`);
    error.status = res.status;
    throw error;
  }
  return body.data;
}

function notice(text) {
  const n = $('notice');
  n.textContent = text ?? '';
  n.hidden = !text;
}

function setConnection(kind, text) {
  $('conn').dataset.state = kind;
  $('conn-text').textContent = text;
}

// ---- rendering -------------------------------------------------------------

function sparkline(history) {
  const w = 64;
  const h = 18;
  const values = history.filter((v) => v !== null);
  const svg = el('svg', {
    class: 'spark',
    viewBox: `0 0 ${w} ${h}`,
    width: w,
    height: h,
    'aria-hidden': 'true',
    'data-points': history.length,
  });
  if (history.length === 0) return svg;
  const max = Math.max(1, ...values);
  const step = history.length > 1 ? w / (history.length - 1) : 0;
  const points = [];
  history.forEach((v, i) => {
    const x = (i * step).toFixed(1);
    if (v === null) {
      svg.append(el('line', { class: 'spark-fail', x1: x, x2: x, y1: 2, y2: h - 2 }));
    } else {
      points.push(`${x},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`);
    }
  });
  if (points.length > 1) svg.append(el('polyline', { points: points.join(' ') }));
  if (points.length > 0) {
    const [x, y] = points[points.length - 1].split(',');
    svg.append(el('circle', { cx: x, cy: y, r: 2 }));
  }
  return svg;
}

// Where the port sits in its service's range, with the preferred ports as ticks.
function rangeStrip(l) {
  if (!l.range) return el('span', { class: 'muted', text: '—' });
  const { min, max } = l.range;
  const span = Math.max(1, max - min);
  const pos = (p) => `${Math.min(100, Math.max(0, ((p - min) / span) * 100))}%`;
  const strip = el('span', {
    class: 'strip',
    title: `range ${min}–${max}; preferred ${l.preferred.join(', ') || 'none'}; port ${l.port}`,
  });
  for (const p of l.preferred) {
    const tick = el('span', { class: 'tick' });
    tick.style.left = pos(p);
    strip.append(tick);
  }
  const mark = el('span', { class: l.port < min || l.port > max ? 'mark outside' : 'mark' });
  mark.style.left = pos(l.port);
  strip.append(mark);
  return el(
    'span',
    { class: 'strip-wrap' },
    strip,
    el('span', { class: 'strip-labels' }, el('small', { text: min }), el('small', { text: max })),
  );
}

function healthOf(l) {
  return state.health.get(keyOf(l)) ?? l.health;
}

// `not-running` (nothing listens: not started) is a state, shown neutral; only `unhealthy` is red.
const HEALTH_LABELS = { 'not-running': 'not running' };

function healthLabel(h) {
  return h ? (HEALTH_LABELS[h.status] ?? h.status) : '—';
}

// What `berth up` does with the service: the health poll carries the newest, the lease list the first.
function runOf(l) {
  const h = state.health.get(keyOf(l));
  return h && h.run !== undefined ? h.run : (l.run ?? null);
}

function runCell(l) {
  const run = runOf(l);
  if (!run) return el('td', { class: 'run muted', text: '—', title: 'not run by berth up' });
  const label = run.orphaned ? `${run.state} (orphaned)` : run.state;
  const title = run.orphaned
    ? `berth up (pid ${run.runnerPid}) was killed; \`berth down\` stops pid ${run.pid ?? '—'}`
    : `pid ${run.pid ?? '—'}, run by berth up (pid ${run.runnerPid})${run.unit !== l.service ? `, served by ${run.unit}` : ''}`;
  const cell = el(
    'td',
    { class: 'run', title, 'data-run': run.state },
    el('span', { class: `pill run-${run.orphaned ? 'orphaned' : run.state}`, text: label }),
  );
  if (run.restarts > 0) {
    cell.append(
      el('span', { class: 'restarts', text: `↻ ${run.restarts}`, title: `${run.restarts} restarts` }),
    );
  }
  return cell;
}

function cells(l) {
  const h = healthOf(l);
  const self = l.kind === 'adhoc' && l.pid !== null && l.pid === state.daemonPid;
  const proxy = self && l.service === 'berth serve proxy';
  const service = el(
    'td',
    { class: 'service' },
    el('span', { text: proxy ? 'berth serve proxy' : self ? 'berth serve' : l.service }),
  );
  if (self)
    service.append(el('small', { class: 'muted inherits', text: proxy ? 'names' : 'this dashboard' }));
  if (l.inheritsFrom) service.append(el('small', { class: 'muted inherits', text: `← ${l.inheritsFrom}` }));
  const url =
    l.url && /^https?:/.test(l.url)
      ? el('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer', text: l.url })
      : el('span', { class: 'mono', text: l.url ?? '—' });
  const urlCell = el('td', { class: 'url' }, url);
  // The service's name through berth's proxy, when the daemon runs one.
  if (l.name) {
    const name = /^https?:/.test(l.name)
      ? el('a', { href: l.name, target: '_blank', rel: 'noopener noreferrer', text: l.name })
      : el('span', { class: 'mono', text: l.name });
    urlCell.append(el('small', { class: 'name' }, name));
  }
  const stateText = l.state === 'stale' ? `stale: ${l.staleReason}` : l.state;
  const healthCell = el(
    'td',
    { class: 'health', title: h?.reason ?? '' },
    el('span', { class: `dot health-${h ? h.status : 'none'}` }),
    el('span', { text: healthLabel(h) }),
  );
  if (h?.reason && h.status === 'unhealthy')
    healthCell.append(el('small', { class: 'reason', text: h.reason }));
  const latency = el(
    'td',
    { class: 'latency' },
    el(
      'span',
      { class: 'lat' },
      el('span', {
        class: 'mono',
        text: h && h.status === 'healthy' && h.latencyMs !== null ? `${h.latencyMs} ms` : '—',
      }),
      sparkline(h?.history ?? []),
    ),
  );
  return [
    service,
    el('td', { class: 'port mono', text: l.port }),
    urlCell,
    el('td', {}, el('span', { class: `pill state-${l.state}`, text: stateText })),
    runCell(l),
    el('td', {
      class: 'mono',
      text: l.pid ?? '—',
      title: l.pid ? 'owner pid' : 'no owner: the lease lasts until released',
    }),
    healthCell,
    latency,
    el('td', {}, rangeStrip(l)),
  ];
}

const HEAD = ['Service', 'Port', 'URL', 'State', 'Run', 'PID', 'Health', 'Latency', 'Place in range'];

function projectSection(gkey, leases) {
  const first = leases[0];
  const section = el('section', { class: 'project', 'data-group': gkey });
  const title =
    first.kind === 'adhoc'
      ? el('h2', {}, el('span', { text: 'getPort() leases' }))
      : el(
          'h2',
          {},
          el('span', { text: first.project }),
          el('span', { class: 'env', text: first.environment }),
        );
  section.append(
    el(
      'header',
      {},
      title,
      el('p', { class: 'dir mono', text: first.kind === 'adhoc' ? 'ports leased by processes' : first.dir }),
    ),
  );
  const tbody = el('tbody');
  const table = el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...HEAD.map((h) => el('th', { scope: 'col', text: h })))),
    tbody,
  );
  section.append(el('div', { class: 'table-wrap' }, table));
  return section;
}

// Inserts `node` right after `prev` (first when null) unless it is there already:
// moving a node would restart its highlight animation.
function place(parent, node, prev) {
  const at = prev ? prev.nextElementSibling : parent.firstElementChild;
  if (at !== node) parent.insertBefore(node, at);
  return node;
}

function render() {
  const root = $('projects');
  const groups = new Map();
  for (const l of state.leases) {
    const g = groupKey(l);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(l);
  }
  // Keyed update: sections and rows are reused, so a highlight survives re-renders.
  const sections = new Map([...root.querySelectorAll('section.project')].map((s) => [s.dataset.group, s]));
  const ordered = [...groups.keys()].sort((a, b) => (a === 'adhoc') - (b === 'adhoc') || a.localeCompare(b));
  let prevSection = null;
  for (const g of ordered) {
    let section = sections.get(g);
    if (!section) section = projectSection(g, groups.get(g));
    sections.delete(g);
    section.classList.remove('leaving');
    prevSection = place(root, section, prevSection);
    const tbody = section.querySelector('tbody');
    const rows = new Map([...tbody.querySelectorAll('tr')].map((r) => [r.dataset.key, r]));
    let prevRow = null;
    for (const l of groups.get(g)) {
      const k = keyOf(l);
      let row = rows.get(k);
      rows.delete(k);
      if (!row) row = el('tr', { 'data-key': k });
      row.classList.remove('leaving');
      row.replaceChildren(...cells(l));
      const flash = state.flashes.get(k);
      if (flash && Date.now() - flash.at < FLASH_MS) row.dataset.flash = flash.type;
      else delete row.dataset.flash;
      prevRow = place(tbody, row, prevRow);
    }
    for (const row of rows.values()) leave(row);
  }
  for (const section of sections.values()) leave(section);
  $('projects').classList.toggle('empty', state.leases.length === 0);
  if (state.leases.length === 0 && !root.querySelector('.empty-note')) {
    root.append(
      el('p', { class: 'empty-note muted', text: 'No leases yet. Run `berth assign` in a project.' }),
    );
  } else if (state.leases.length > 0) {
    root.querySelector('.empty-note')?.remove();
  }
  summary();
}

function leave(node) {
  if (node.classList.contains('leaving')) return;
  node.classList.add('leaving');
  setTimeout(() => {
    if (node.classList.contains('leaving')) node.remove();
  }, LEAVE_MS);
}

function summary() {
  const services = state.leases.filter((l) => l.kind === 'service');
  const projects = new Set(services.map(groupKey)).size;
  const healthy = services.filter((l) => healthOf(l)?.status === 'healthy').length;
  const notRunning = services.filter((l) => healthOf(l)?.status === 'not-running').length;
  const stale = state.leases.filter((l) => l.state === 'stale').length;
  const parts = [
    `${projects} project${projects === 1 ? '' : 's'}`,
    `${services.length} service${services.length === 1 ? '' : 's'}`,
    `${healthy} healthy`,
  ];
  if (notRunning > 0) parts.push(`${notRunning} not running`);
  const run = services.filter((l) => runOf(l)?.state === 'ready').length;
  if (run > 0) parts.push(`${run} run by berth up`);
  if (stale > 0) parts.push(`${stale} stale`);
  $('summary').textContent = parts.join(' · ');
}

// ---- activity log ----------------------------------------------------------

function describe(e) {
  const where = e.project ? `${e.project}/${e.service}` : e.service;
  if (e.type === 'moved') return `${where} ${e.fromPort} → ${e.port}`;
  return `${where} on port ${e.port}`;
}

function logEvent(e, live) {
  const time = new Date(e.at).toLocaleTimeString([], { hour12: false });
  const item = el(
    'li',
    { class: live ? 'live' : null },
    el(
      'p',
      { class: 'when' },
      el('span', { class: `badge type-${e.type}`, text: e.type }),
      el('time', { datetime: new Date(e.at).toISOString(), text: time }),
    ),
    el('p', { class: 'what', text: describe(e) }),
  );
  if (e.detail && e.detail !== e.type) item.append(el('small', { class: 'detail', text: e.detail }));
  if (e.environment && e.environment !== 'development')
    item.append(el('small', { class: 'detail', text: `env ${e.environment}` }));
  const log = $('log');
  log.prepend(item);
  while (log.children.length > LOG_MAX) log.lastElementChild.remove();
  $('log-empty').hidden = true;
}

// ---- data flow -------------------------------------------------------------

let refetchTimer = null;
function scheduleRefetch() {
  clearTimeout(refetchTimer);
  refetchTimer = setTimeout(() => loadLeases().catch(showError), 60);
}

async function loadLeases() {
  const data = await api('/api/leases');
  state.leases = data.leases;
  for (const l of data.leases) if (l.health) state.health.set(keyOf(l), l.health);
  render();
  return data;
}

async function pollHealth() {
  try {
    const data = await api('/api/health');
    for (const h of data.services) state.health.set(keyOf({ ...h, kind: 'service' }), h);
    render();
  } catch (error) {
    if (error.status === 403) showError(error);
  }
}

function onEvent(e, replayedUpTo) {
  if (e.id <= state.seenEventId) return;
  state.seenEventId = e.id;
  const live = e.id > replayedUpTo;
  logEvent(e, live);
  if (!live) return;
  state.flashes.set(keyOf({ ...e, kind: 'service' }), { type: e.type, at: Date.now() });
  scheduleRefetch();
}

function connect(since, replayedUpTo) {
  const source = new EventSource(since === null ? '/api/events' : `/api/events?since=${since}`);
  source.onopen = () => setConnection('live', 'live');
  source.onerror = () => setConnection('down', 'reconnecting…');
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      try {
        onEvent(JSON.parse(message.data), replayedUpTo);
      } catch {
        // A malformed frame is skipped; the next refetch shows the truth anyway.
      }
    });
  }
  return source;
}

function showError(error) {
  if (error.status === 403) {
    setConnection('down', 'not signed in');
    notice(
      'This page needs the access token: open the URL that `berth serve` printed (it ends in ?token=…).',
    );
  } else {
    notice(`Could not load leases: ${error.message}`);
  }
}

async function main() {
  try {
    state.daemonPid = (await api('/api/status')).pid ?? null;
    const data = await loadLeases();
    notice(null);
    const upTo = data.lastEventId;
    connect(Math.max(0, upTo - HISTORY_REPLAY), upTo);
    setInterval(pollHealth, HEALTH_POLL_MS);
    // Flash highlights fade on their own; re-render occasionally so old flashes are cleared.
    setInterval(() => {
      const now = Date.now();
      for (const [k, f] of state.flashes) if (now - f.at > FLASH_MS) state.flashes.delete(k);
    }, FLASH_MS);
  } catch (error) {
    showError(error);
  }
}

main();
