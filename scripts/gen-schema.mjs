// Writes berth.schema.json from CONFIG_JSON_SCHEMA in src/config/schema.ts, the
// one place the config schema is written. Reads the TypeScript source through
// jiti (a dependency already), so it needs no build first.
// Run after editing the schema: `node scripts/gen-schema.mjs` (src/config/schema.test.ts
// fails while the committed file and the source differ).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jiti = createJiti(import.meta.url);
const { CONFIG_JSON_SCHEMA } = await jiti.import(join(root, 'src/config/schema.ts'));
const target = join(root, 'berth.schema.json');
writeFileSync(target, `${JSON.stringify(CONFIG_JSON_SCHEMA, null, 2)}\n`);
console.log(`wrote ${target}`);
