#!/usr/bin/env node
/**
 * How should a berth process wait for the registry's write lock while other
 * processes hold it? This compares the candidate designs on the real SQLite
 * file (better-sqlite3, WAL, BEGIN IMMEDIATE), with N processes each running
 * T write transactions of R rows (a group-committed batch), all started at
 * once. It chose the design in docs/design/registry-lock.md; rerun it with
 * `node bench/design/lock-designs.mjs` to check that choice on a machine.
 *
 * Designs:
 * - jitter:   busy_timeout 0, retry on timers with exponential back-off and jitter (berth before #8)
 * - poll1:    busy_timeout 0, retry every 1 ms on a timer
 * - busy:     SQLite's own busy handler (busy_timeout), which blocks the thread while it waits,
 *             as a worker thread that may block would
 * - queue:    a FIFO of ticket files in a folder; only the head polls BEGIN IMMEDIATE,
 *             the others sleep on fs.watch until the folder changes
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const SCENARIOS = [
  { n: 16, t: 20, r: 1 },
  { n: 16, t: 1, r: 50 },
  { n: 64, t: 1, r: 10 },
  { n: 32, t: 5, r: 5 },
];
const DESIGNS = (process.env.DESIGNS ?? 'jitter,poll1,busy,queue').split(',');

const CHILD = `
const { createRequire } = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const Database = require(process.env.SQLITE);
const [design, home, T, R] = [process.argv[1], process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const db = new Database(path.join(home, 'r.db'));
db.pragma('busy_timeout = ' + (design === 'busy' ? 60000 : 0));
const begin = db.prepare('BEGIN IMMEDIATE'), commit = db.prepare('COMMIT');
const ins = db.prepare('INSERT INTO t (pid, at) VALUES (?, ?)');
const qdir = path.join(home, 'queue');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let attempts = 0; let timeouts = 0;
const tryBegin = () => { attempts++; try { begin.run(); return true; } catch (e) { if (e.code === 'SQLITE_BUSY') return false; throw e; } };
async function acquire() {
  if (design === 'busy') { attempts++; begin.run(); return () => {}; }
  if (design === 'jitter') { let b = 1; while (!tryBegin()) { await sleep(b * (0.5 + Math.random())); b = Math.min(b * 2, 25); } return () => {}; }
  if (design === 'poll1') { while (!tryBegin()) await sleep(1); return () => {}; }
  // queue: FIFO of tickets; each waiter watches only the ticket ahead of it (no thundering herd)
  if (fs.readdirSync(qdir).length === 0 && tryBegin()) return () => {};
  const ticket = process.hrtime.bigint().toString().padStart(20, '0') + '-' + process.pid;
  fs.writeFileSync(path.join(qdir, ticket), '');
  for (;;) {
    const list = fs.readdirSync(qdir).sort();
    const i = list.indexOf(ticket);
    if (i === 0) { if (tryBegin()) break; await sleep(1); continue; }
    let wake; let watcher;
    try { watcher = fs.watch(path.join(qdir, list[i - 1]), () => wake?.()); } catch { continue; }
    await new Promise((r) => { wake = r; setTimeout(() => { timeouts++; r(); }, 50); });
    watcher.close();
  }
  return () => fs.unlinkSync(path.join(qdir, ticket));
}
process.stdin.once('data', async () => {
  const start = performance.now(); const waits = [];
  for (let i = 0; i < T; i++) {
    const t0 = performance.now();
    const done = await acquire();
    waits.push(performance.now() - t0);
    for (let j = 0; j < R; j++) ins.run(process.pid, Date.now());
    commit.run(); done();
  }
  process.stdout.write(JSON.stringify({ total: performance.now() - start, maxWait: Math.max(...waits), attempts, timeouts }), () => process.exit(0));
});
process.stdout.write('ready');`;

async function scenario(design, { n, t, r }) {
  const home = mkdtempSync(join(tmpdir(), 'berth-lock-'));
  const Database = require('better-sqlite3');
  const db = new Database(join(home, 'r.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, pid INTEGER, at INTEGER)');
  db.close();
  require('node:fs').mkdirSync(join(home, 'queue'));
  const env = { ...process.env, SQLITE: require.resolve('better-sqlite3') };
  const kids = Array.from({ length: n }, () =>
    spawn(process.execPath, ['-e', CHILD, design, home, String(t), String(r)], {
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(kids.map((k) => new Promise((res) => k.stdout.once('data', res))));
  const go = performance.now();
  const outs = kids.map(
    (k) =>
      new Promise((res) => {
        let s = '';
        k.stdout.on('data', (c) => (s += c));
        k.on('exit', () => res(JSON.parse(s)));
      }),
  );
  for (const k of kids) k.stdin.write('go');
  const results = await Promise.all(outs);
  const wall = performance.now() - go;
  rmSync(home, { recursive: true, force: true });
  const totals = results.map((x) => x.total);
  return {
    wall,
    slowest: Math.max(...totals),
    fastest: Math.min(...totals),
    maxWait: Math.max(...results.map((x) => x.maxWait)),
    attempts: results.reduce((a, x) => a + x.attempts, 0),
    timeouts: results.reduce((a, x) => a + (x.timeouts ?? 0), 0),
  };
}

const REPS = Number(process.env.REPS ?? 3);
const rows = [];
for (const sc of SCENARIOS) {
  for (const design of DESIGNS) {
    const runs = [];
    for (let i = 0; i < REPS; i++) runs.push(await scenario(design, sc));
    const med = (k) => runs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    rows.push({
      scenario: `${sc.n} procs x ${sc.t} tx x ${sc.r} rows`,
      design,
      wallMs: med('wall').toFixed(0),
      maxWaitMs: med('maxWait').toFixed(1),
      spread: (med('slowest') / med('fastest')).toFixed(1),
      attempts: med('attempts'),
      timeouts: med('timeouts'),
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
}
console.table(rows);
