#!/usr/bin/env node
/**
 * berth's benchmark harness: `npm run bench` (all sections) or
 * `node bench/run.mjs latency crowded` (some). Prints one table per section
 * with each peer's figure and berth's ratio to it, writes the raw numbers to
 * bench/results/<YYYY-MM-DD>.json (merged with the same day's earlier
 * sections) and rewrites bench/RESULTS.md from that file plus the hand-written
 * bench/ANALYSIS.md (why targets were missed). `node bench/run.mjs --render`
 * rewrites RESULTS.md alone, after ANALYSIS.md changes.
 *
 * Needs dist/ (npm run build) and the peers installed as devDependencies.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotDist } from './support/dist.mjs';
import { machine, printSection, resultsMarkdown, targetsTable, textTable } from './support/report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Section ids in running order; each is bench/sections/<file>. */
const SECTIONS = {
  latency: 'latency.mjs',
  crowded: 'crowded.mjs',
  race: 'race.mjs',
  'false-positives': 'false-positives.mjs',
  scale: 'scale.mjs',
  cli: 'cli.mjs',
  'event-loop': 'event-loop.mjs',
  memory: 'memory.mjs',
  daemon: 'daemon-throughput.mjs',
  burst: 'burst.mjs',
  handoff: 'handoff.mjs',
  etcd: 'etcd.mjs',
  proxy: 'proxy.mjs',
};

function usage() {
  return [
    'Usage: node bench/run.mjs [section...]   measure (default: every section)',
    '       node bench/run.mjs --render       rewrite RESULTS.md from the newest results file',
    `Sections: ${Object.keys(SECTIONS).join(', ')}`,
  ].join('\n');
}

/** Runs the sections `wanted` against a private copy of dist/; returns their results. */
async function measure(wanted) {
  // A private copy of dist/: other engineers rebuild dist/ while a run is going.
  const snapshot = join(HERE, `.dist-${process.pid}`);
  if (!(await snapshotDist(snapshot))) {
    throw new Error('no finished build in dist/. Run `npm run build` first (npm run bench does).');
  }
  process.env.BERTH_BENCH_DIST = snapshot;
  // get-port-please and others read these; a value left in the shell would change what they do.
  delete process.env.PORT;
  delete process.env.HOST;
  const root = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const ctx = {
    tempDir: (name) => mkdtempSync(join(root, `${name}-`)),
    log: (line) => process.stderr.write(`  ${line}\n`),
  };
  const results = [];
  try {
    for (const id of wanted) {
      const sectionStart = performance.now();
      process.stderr.write(`bench: ${id}...\n`);
      const { run } = await import(`./sections/${SECTIONS[id]}`);
      const result = await run(ctx);
      result.seconds = (performance.now() - sectionStart) / 1000;
      result.measuredAt = new Date().toISOString();
      results.push(result);
      console.log(printSection(result));
      process.stderr.write(`bench: ${id} took ${result.seconds.toFixed(1)} s\n`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(snapshot, { recursive: true, force: true });
  }
  return results;
}

/** The newest bench/results/<date>.json, or null. */
function newestResultsFile() {
  const dir = join(HERE, 'results');
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f))
    .sort();
  return files.length ? join(dir, files.at(-1)) : null;
}

/** Rewrites RESULTS.md from `merged` (the content of a results file) and bench/ANALYSIS.md. */
function render(merged) {
  const ordered = Object.keys(SECTIONS)
    .map((id) => merged.sections[id])
    .filter(Boolean);
  // Why targets were missed is written by hand, after profiling, in bench/ANALYSIS.md.
  const analysisFile = join(HERE, 'ANALYSIS.md');
  const analysis = existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : '';
  writeFileSync(
    join(HERE, 'RESULTS.md'),
    resultsMarkdown({
      date: merged.date,
      machine: merged.machine,
      sections: ordered,
      seconds: merged.seconds,
      analysis,
    }),
  );
  console.log(`\n${textTable(targetsTable(ordered))}`);
}

async function main(argv) {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(usage());
    return 0;
  }
  if (argv.includes('--render')) {
    const file = newestResultsFile();
    if (!file) {
      console.error('bench: no results file to render yet. Run `npm run bench` first.');
      return 1;
    }
    render(JSON.parse(readFileSync(file, 'utf8')));
    console.log(`\nbench: RESULTS.md rewritten from ${file}`);
    return 0;
  }
  const unknown = argv.filter((a) => !(a in SECTIONS));
  if (unknown.length) {
    console.error(`unknown section ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  const started = performance.now();
  const results = await measure(argv.length ? argv : Object.keys(SECTIONS));
  const seconds = (performance.now() - started) / 1000;
  const date = new Date().toISOString().slice(0, 10);
  const file = join(HERE, 'results', `${date}.json`);
  mkdirSync(dirname(file), { recursive: true });
  // A partial run replaces its sections in the same day's file and keeps the others.
  const previous = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { sections: {} };
  const merged = { date, machine: machine(), seconds, sections: { ...previous.sections } };
  for (const r of results) merged.sections[r.id] = r;
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  render(merged);
  console.log(
    `\nbench: ${results.length} section(s) in ${seconds.toFixed(0)} s; raw numbers in ${file}, tables in bench/RESULTS.md`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
