/**
 * `berth init [--force]`: writes a starter berth.config.json with the seed's
 * six services; refuses to overwrite an existing file.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BerthError } from '../../errors.js';
import { noPositionals, parseCommand } from '../args.js';
import type { Command } from '../io.js';

const HELP = `Usage: berth init [--force]

Writes berth.config.json in the current folder with a starter set of services
(server, websocket, client, database, redis, monitoring). Refuses to overwrite
an existing file unless --force is given.`;

/** The starter config: the seed's six services. */
export const STARTER_CONFIG = {
  $schema: './node_modules/berth-ports/berth.schema.json',
  strategy: 'minimal',
  services: {
    server: {
      preferred: [3000, 3001, 3002],
      range: { min: 3000, max: 3999 },
      priority: 'high',
      requires: ['http'],
      conflicts: ['client'],
    },
    websocket: { inheritFrom: 'server', requires: ['websocket'] },
    client: { preferred: [3001], range: { min: 3000, max: 3999 }, priority: 'medium', requires: ['http'] },
    database: { preferred: [5432], range: { min: 5432, max: 5499 }, requires: ['tcp'] },
    redis: { preferred: [6379], range: { min: 6379, max: 6399 }, requires: ['tcp'] },
    monitoring: { preferred: [9091], range: { min: 9090, max: 9199 }, priority: 'low', requires: ['http'] },
  },
  environments: { test: { strategy: 'conservative' } },
};

const init: Command = async (argv, io) => {
  const { values, positionals } = parseCommand('init', argv, { force: { type: 'boolean', short: 'f' } });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  noPositionals('init', positionals);
  const file = resolve(values.config ?? 'berth.config.json');
  if (existsSync(file) && !values.force) {
    throw new BerthError(
      'E_USAGE',
      `${file} already exists; berth init does not overwrite it. Edit it, or pass --force to replace it.`,
    );
  }
  writeFileSync(file, `${JSON.stringify(STARTER_CONFIG, null, 2)}\n`);
  if (values.json) io.out(JSON.stringify({ file }));
  else io.out(`wrote ${file}\nnext: berth assign`);
  return 0;
};

export default init;
