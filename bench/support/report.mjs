/**
 * Turning section results into text: figure tables with berth's ratio to each
 * peer, the targets with met/missed, the machine description, and the
 * RESULTS.md file.
 *
 * A section result is `{ id, title, tables, targets, notes, raw }`, where a
 * table is `{ title, headers, rows }` (rows of already formatted cells) and a
 * target is `{ name, goal, value, met, note }` (`met` true, false or null for
 * "not run").
 */
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { ratio } from './stats.mjs';

/** A number with a sensible number of digits for its size; '-' for NaN. */
export function fmt(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  if (!Number.isFinite(value)) return String(value);
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toFixed(d);
}

/** A ratio as `0.42x`; '-' when undefined. */
export function fmtRatio(value) {
  return Number.isFinite(value) ? `${value.toFixed(value < 0.1 ? 3 : 2)}x` : '-';
}

/**
 * A table of one figure per library and metric, followed by berth's ratio to
 * each peer for every metric not marked `ratio: false` (none for the rows in
 * `noRatio`). `values[lib][metric.key]` holds numbers.
 */
export function figureTable({ title, libraries, metrics, values, noRatio = [] }) {
  const ratioMetrics = metrics.filter((m) => m.ratio !== false);
  const headers = [
    'library',
    ...metrics.map((m) => (m.unit ? `${m.label} (${m.unit})` : m.label)),
    ...ratioMetrics.map((m) => `berth / lib, ${m.label}`),
  ];
  const rows = libraries.map((lib) => [
    lib,
    ...metrics.map((m) => (m.format ?? fmt)(values[lib]?.[m.key])),
    ...ratioMetrics.map((m) =>
      lib === 'berth' || noRatio.includes(lib)
        ? ''
        : fmtRatio(ratio(values.berth?.[m.key], values[lib]?.[m.key])),
    ),
  ]);
  return { title, headers, rows };
}

/** A target line: `met` from comparing `value` with `limit` (`<=` or `>=`). */
export function target(name, goal, value, limit, { compare = '<=', shown, note } = {}) {
  const met = Number.isFinite(value) ? (compare === '<=' ? value <= limit : value >= limit) : null;
  return { name, goal, value: shown ?? fmt(value), met, note: note ?? '' };
}

function pad(cells, widths) {
  return cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
}

/** A table as aligned plain text, for the terminal. */
export function textTable({ title, headers, rows }) {
  const widths = headers.map((h, i) =>
    Math.max(String(h).length, ...rows.map((r) => String(r[i] ?? '').length)),
  );
  const lines = [title, pad(headers, widths), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of rows) lines.push(pad(row, widths));
  return lines.join('\n');
}

/** A table in Markdown. */
export function markdownTable({ title, headers, rows }) {
  const esc = (cell) => String(cell).replaceAll('|', '\\|');
  return [
    `**${title}**`,
    '',
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function verdict(met) {
  return met === true ? 'met' : met === false ? 'MISSED' : 'not run';
}

/** The targets of every section as one table. */
export function targetsTable(sections) {
  const all = sections.flatMap((s) => s.targets);
  const withNotes = all.some((t) => t.note);
  const headers = ['target', 'goal', 'measured', 'verdict', ...(withNotes ? ['note'] : [])];
  const rows = all.map((t) => [t.name, t.goal, t.value, verdict(t.met), ...(withNotes ? [t.note] : [])]);
  return { title: 'Targets (berth / peer ratios from the same run)', headers, rows };
}

/** CPU model, cores, Node version, kernel: what the figures were measured on. */
export function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':')[1].trim();
  } catch {
    // Not Linux: os.cpus() already answered.
  }
  let load = '';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    // No load average off Linux.
  }
  return {
    cpu: model,
    cores: cpus().length,
    node: process.version,
    kernel: release(),
    platform: process.platform,
    loadAverage: load,
  };
}

/** Section results printed for the terminal. */
export function printSection(section) {
  const parts = [`\n=== ${section.title} ===`];
  for (const table of section.tables) parts.push(textTable(table));
  for (const note of section.notes ?? []) parts.push(`note: ${note}`);
  for (const t of section.targets)
    parts.push(
      `target: ${t.name} (${t.goal}): ${t.value} -> ${verdict(t.met)}${t.note ? ` (${t.note})` : ''}`,
    );
  return parts.join('\n\n');
}

/** The whole of bench/RESULTS.md; `analysis` is the hand-written bench/ANALYSIS.md, if any. */
export function resultsMarkdown({ date, machine: m, sections, seconds, analysis }) {
  const out = [
    '# berth benchmark results',
    '',
    'Written by `npm run bench` (bench/run.mjs); do not edit by hand. Raw numbers:',
    `\`bench/results/${date}.json\`. Every figure is the median of several repetitions taken`,
    'for every library in the same run; compare ratios, not absolute times (these shared',
    '2-core machines drift by 1.5x between runs).',
    '',
    `Last run ${date} (${Math.round(seconds)} s for the sections it ran), on ${m.cpu}, ${m.cores} cores, Node ${m.node}, Linux kernel ${m.kernel}` +
      (m.loadAverage ? ` (load average at the end: ${m.loadAverage}).` : '.'),
    '',
    '## Targets',
    '',
    markdownTable(targetsTable(sections)),
    '',
  ];
  if (analysis) out.push(analysis.trim(), '');
  for (const section of sections) {
    out.push(`## ${section.title}`, '');
    if (section.measuredAt)
      out.push(
        `_Measured ${section.measuredAt.slice(0, 16).replace('T', ' ')} UTC, in ${Math.round(section.seconds)} s._`,
        '',
      );
    for (const table of section.tables) out.push(markdownTable(table), '');
    for (const note of section.notes ?? []) out.push(`- ${note}`);
    if ((section.notes ?? []).length) out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
