/**
 * 4. False positives: a port held by another process on one address only
 * (127.0.0.1, ::1, 0.0.0.0, :: v6-only, the LAN address), asked for as the
 * preferred port. A library that returns it hands out a port a server cannot
 * bind on every address: a false positive.
 */
import { createPeer, LIBRARIES } from '../peers.mjs';
import { checkFree, findFreePorts, lanAddress, startHolder } from '../support/ports.mjs';
import { target } from '../support/report.mjs';

const REPS = 3;

function cases() {
  const lan = lanAddress();
  return [
    { name: '127.0.0.1 only', host: '127.0.0.1' },
    { name: '::1 only', host: '::1' },
    { name: '0.0.0.0 only', host: '0.0.0.0' },
    { name: ':: v6-only', host: '::', ipv6Only: true },
    { name: lan ? `LAN address (${lan})` : 'LAN address', host: lan },
  ];
}

/** Runs the false-positive section. */
export async function run(ctx) {
  const all = cases();
  const live = all.filter((c) => c.host !== null);
  const ports = await findFreePorts(live.length * LIBRARIES.length * REPS);
  const plan = [];
  for (const c of live)
    for (const lib of LIBRARIES)
      for (let rep = 0; rep < REPS; rep++) plan.push({ c, lib, rep, port: ports[plan.length] });
  const holder = await startHolder(
    plan.map(({ c, port }) => ({ port, host: c.host, ipv6Only: c.ipv6Only ?? false })),
  );
  const failedToHold = new Set(holder.failed.map((f) => f.port));
  const home = ctx.tempDir('false-positives');
  const outcomes = [];
  try {
    const peers = {};
    for (const lib of LIBRARIES) peers[lib] = await createPeer(lib, { home });
    for (const { c, lib, rep, port } of plan) {
      if (failedToHold.has(port)) continue;
      const peer = peers[lib];
      await peer.reset();
      let got;
      let error;
      try {
        got = await peer({ port });
      } catch (e) {
        error = e.code ?? e.message;
      }
      const falsePositive = got === port;
      const otherNotFree = got !== undefined && !falsePositive && !(await checkFree(got)).free;
      if (got !== undefined) await peer.release(got);
      outcomes.push({ case: c.name, lib, rep, port, got, error, falsePositive, otherNotFree });
    }
  } finally {
    await holder.stop();
  }
  const cell = (caseName, lib) => {
    const mine = outcomes.filter((o) => o.case === caseName && o.lib === lib);
    if (mine.length === 0) return 'n/a';
    const fp = mine.filter((o) => o.falsePositive).length;
    const errors = mine.filter((o) => o.error !== undefined).length;
    const bad = mine.filter((o) => o.otherNotFree).length;
    const parts = [fp ? `FALSE POSITIVE ${fp}/${mine.length}` : `ok ${mine.length}/${mine.length}`];
    if (errors) parts.push(`${errors} errors`);
    if (bad) parts.push(`${bad} other port not free`);
    return parts.join(', ');
  };
  const rows = all.map((c) => [
    c.name,
    ...LIBRARIES.map((lib) => (c.host === null ? 'n/a' : cell(c.name, lib))),
  ]);
  const berthFalse = outcomes.filter((o) => o.lib === 'berth' && (o.falsePositive || o.otherNotFree)).length;
  const berthCases = new Set(outcomes.filter((o) => o.lib === 'berth').map((o) => o.case)).size;
  ctx.log(`false positives: berth ${berthFalse}, holder failed ${holder.failed.length}`);
  return {
    id: 'false-positives',
    title: '4. False positives',
    tables: [
      {
        title: `A port held on one address only, asked for as the preferred port (${REPS} ports per case and library)`,
        headers: ['held on', ...LIBRARIES],
        rows,
      },
    ],
    notes: [
      '"ok" = the library did not return the held port (and any other port it returned was bindable on ::, 0.0.0.0, 127.0.0.1 and ::1).',
      'get-port-please binds only `::` for a preferred port; on Linux a dual-stack `::` bind collides with a listener on any address, so it sees all five.',
      ...(holder.failed.length
        ? [`the holder could not bind ${holder.failed.length} ports; those cases were skipped`]
        : []),
    ],
    targets: [
      target('false positives', 'none of the five', berthFalse, 0, {
        shown: `${berthFalse} false positives in ${berthCases} cases x ${REPS} ports`,
      }),
    ],
    raw: { reps: REPS, outcomes, holderFailed: holder.failed },
  };
}
