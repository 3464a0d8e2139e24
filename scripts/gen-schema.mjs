// Writes, from CONFIG_JSON_SCHEMA in src/config/schema.ts (the one place the config
// schema is written), berth.schema.json for editors and src/config/user-config.generated.ts,
// the types `defineConfig` takes (scripts/config-types.mjs). Reads the TypeScript source
// through jiti (a dependency already), so it needs no build first.
// Run after editing the schema: `npm run gen:schema` (src/config/schema.test.ts fails
// while either committed file and the source differ).
import { writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import { configTypes } from './config-types.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jiti = createJiti(import.meta.url, { moduleCache: false });
const { CONFIG_JSON_SCHEMA } = await jiti.import(join(root, 'src/config/schema.ts'));
const outputs = {
  'berth.schema.json': `${JSON.stringify(CONFIG_JSON_SCHEMA, null, 2)}\n`,
  'src/config/user-config.generated.ts': configTypes(CONFIG_JSON_SCHEMA),
};
for (const [file, text] of Object.entries(outputs)) {
  writeFileSync(join(root, file), text);
  console.log(`wrote ${relative(process.cwd(), join(root, file)) || file}`);
}
