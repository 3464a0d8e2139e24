import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BerthError, isBerthError } from '../errors.js';
import { CONFIG_FILE_NAMES, findConfigFile, loadConfig, resolveConfig } from './load.js';

const exampleJson = readFileSync(new URL('../../examples/berth.config.json', import.meta.url), 'utf8');
const example = JSON.parse(exampleJson) as Record<string, unknown>;
const definePath = fileURLToPath(new URL('./define.ts', import.meta.url));

const exampleYaml = `# the issue's example, as YAML
$schema: ../berth.schema.json
project: shop
strategy: minimal
healthCheckTimeout: 5000
maxRetries: 5
enableHealthChecks: true
autoReassign: true
services:
  server: { preferred: [3000, 3001, 3002], range: { min: 3000, max: 3999 }, priority: high, requires: [http], conflicts: [client] }
  websocket: { inheritFrom: server, requires: [websocket] }
  client: { preferred: [3001], range: { min: 3000, max: 3999 }, priority: medium, requires: [http] }
  database: { preferred: [5432], range: { min: 5432, max: 5499 }, requires: [tcp] }
  redis: { preferred: [6379], range: { min: 6379, max: 6399 }, requires: [tcp] }
  monitoring: { preferred: [9091], range: { min: 9090, max: 9199 }, priority: low, requires: [http] }
environments:
  test:
    strategy: conservative
    services:
      server: { preferred: [] }
`;

const exampleTs = `import { defineConfig } from ${JSON.stringify(definePath)};

export default defineConfig(${exampleJson});
`;

let root: string;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'berth-config-')));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(rel: string, text: string): string {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function nested(): string {
  const dir = join(root, 'packages', 'api', 'src');
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function configError(promise: Promise<unknown>): Promise<BerthError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isBerthError(error, 'E_CONFIG')) throw new Error(`expected E_CONFIG, got ${String(error)}`);
  return error;
}

describe('findConfigFile', () => {
  it('finds each supported file upward from a nested folder', () => {
    for (const name of CONFIG_FILE_NAMES) {
      const file = write(name, '{}');
      expect(findConfigFile(nested())).toBe(file);
      rmSync(file);
    }
  });

  it('prefers json over yaml over ts in one folder, and the nearest folder over both', () => {
    write('berth.config.ts', 'export default {}');
    const yaml = write('berth.config.yaml', 'services: {}');
    expect(findConfigFile(root)).toBe(yaml);
    const json = write('berth.config.json', '{}');
    expect(findConfigFile(nested())).toBe(json);
    const near = write('packages/api/berth.config.yml', 'services: {}');
    expect(findConfigFile(nested())).toBe(near);
  });

  it('returns null when there is none up to the root', () => {
    // Nothing in the temp folder; a berth.config.* in the machine's tmp root or above would be a broken machine.
    expect(findConfigFile(nested())).toBeNull();
  });
});

describe('loadConfig', () => {
  it('loads the JSON found upward, with the config folder as the project folder', async () => {
    const file = write('berth.config.json', exampleJson);
    const { config, warnings } = await loadConfig({ cwd: nested(), environment: 'test' });
    expect(warnings).toEqual([]);
    expect(config.file).toBe(file);
    expect(config.dir).toBe(root);
    expect(config.project).toBe('shop');
    expect(config.strategy).toBe('conservative');
    expect(config.services).toHaveLength(6);
  });

  it('loads YAML and TypeScript configs to the same result as the JSON', async () => {
    const cwd = nested();
    write('berth.config.json', exampleJson);
    const fromJson = (await loadConfig({ cwd, environment: 'test' })).config;
    rmSync(join(root, 'berth.config.json'));

    const yamlFile = write('berth.config.yaml', exampleYaml);
    const fromYaml = (await loadConfig({ cwd, environment: 'test' })).config;
    expect(fromYaml).toEqual({ ...fromJson, file: yamlFile });
    rmSync(yamlFile);

    const tsFile = write('berth.config.ts', exampleTs);
    const fromTs = (await loadConfig({ cwd, environment: 'test' })).config;
    expect(fromTs).toEqual({ ...fromJson, file: tsFile });
  });

  it('uses an explicit file over the one the search would find, relative to cwd', async () => {
    write('berth.config.json', exampleJson);
    const other = write('other/custom.json', JSON.stringify({ project: 'other', services: { api: {} } }));
    const { config } = await loadConfig({ cwd: root, file: 'other/custom.json', environment: 'development' });
    expect(config.file).toBe(other);
    expect(config.dir).toBe(join(root, 'other'));
    expect(config.project).toBe('other');
  });

  it('defaults the project name to the config folder', async () => {
    write('shop-frontend/berth.config.json', JSON.stringify({ services: { web: {} } }));
    const { config } = await loadConfig({ cwd: join(root, 'shop-frontend'), environment: 'development' });
    expect(config.project).toBe('shop-frontend');
  });

  it('fails with E_CONFIG and the way out when no config exists', async () => {
    const cwd = nested();
    const error = await configError(loadConfig({ cwd, environment: 'development' }));
    expect(error.message).toBe(
      `no berth.config.json found in ${cwd} or above. Run \`berth init\` to create one, or pass --config FILE.`,
    );
  });

  it('fails with E_CONFIG when the explicit file does not exist', async () => {
    const error = await configError(loadConfig({ cwd: root, file: 'nope.json', environment: 'development' }));
    expect(error.message).toContain('nope.json not found');
    expect(error.message).toMatch(/--config path\.$/);
  });

  it('names the line and column of a JSON syntax error', async () => {
    write('berth.config.json', '{\n  "services": {\n    "api": { "preferred": [3000,] }\n  }\n}\n');
    const error = await configError(loadConfig({ cwd: root, environment: 'development' }));
    expect(error.message).toBe(
      'berth.config.json:3:33: invalid JSON: trailing comma before ]; remove it. Fix the syntax and run again.',
    );
  });

  it('explains comments in JSON', async () => {
    write('berth.config.json', '{\n  // my services\n  "services": {}\n}');
    const error = await configError(loadConfig({ cwd: root, environment: 'development' }));
    expect(error.message).toContain('berth.config.json:2:3: invalid JSON: JSON does not allow comments');
  });

  it('names the line and column of a YAML syntax error', async () => {
    write('berth.config.yaml', 'services:\n  api: { preferred: [3000 }\n');
    const error = await configError(loadConfig({ cwd: root, environment: 'development' }));
    expect(error.message).toBe(
      'berth.config.yaml:2:27: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]. Fix the syntax and run again.',
    );
  });

  it('says what to write for the YAML a person types: a duration with a unit, a range as A-B, a lone service', async () => {
    write(
      'berth.config.yaml',
      'healthCheckTimeout: 5s\nservices:\n  api:\n    range: 14000-14100\n    conflicts: [xx]\n',
    );
    const error = await configError(loadConfig({ cwd: root, environment: 'development' }));
    expect(error.details).toEqual([
      'healthCheckTimeout: must be a whole number, not "5s"; write 5000 (milliseconds)',
      'services.api.range: must be an object, not "14000-14100"; write { "min": 14000, "max": 14100 }',
      'services.api.conflicts[0]: "xx" is not a service, and api is the only service: remove the entry, or declare xx under services.',
    ]);
  });

  it('reports an empty YAML file as a config that is not an object', async () => {
    write('berth.config.yml', '# nothing yet\n');
    const error = await configError(loadConfig({ cwd: root, environment: 'development' }));
    expect(error.details).toEqual(['the config must be an object, not null']);
  });

  it('reports a TypeScript config that throws as E_CONFIG', async () => {
    write('berth.config.ts', 'throw new Error("boom");\nexport default {};\n');
    const error = await configError(loadConfig({ cwd: root, environment: 'development' }));
    expect(error.message).toBe('berth.config.ts failed to load: boom. Fix the file and run again.');
  });

  it("names berth's package when a TypeScript config imports defineConfig from 'berth'", async () => {
    write(
      'berth.config.ts',
      "import { defineConfig } from 'berth';\nexport default defineConfig({ services: { a: {} } });\n",
    );
    const error = await configError(loadConfig({ cwd: root, environment: 'development' }));
    expect(error.message).toContain(
      "berth's package is berth-ports: import { defineConfig } from 'berth-ports'.",
    );
  });

  it('lists every problem in details', async () => {
    write(
      'berth.config.json',
      JSON.stringify({
        strategy: 'fast',
        services: { server: { preferred: ['3000'] }, websocket: { inheritFrom: 'sever' } },
      }),
    );
    const error = await configError(loadConfig({ cwd: nested(), environment: 'development' }));
    expect(error.message).toBe(
      [
        '../../../berth.config.json has 3 problems. Fix them and run again.',
        '  - strategy: "fast" is not one of minimal, aggressive, conservative, strict.',
        '  - services.server.preferred[0]: must be a whole number, not "3000"; write 3000 without quotes',
        '  - services.websocket.inheritFrom: "sever" is not a service. Did you mean "server"?',
      ].join('\n'),
    );
    expect(error.data).toEqual({ file: join(root, 'berth.config.json') });
    expect(error.details).toEqual([
      'strategy: "fast" is not one of minimal, aggressive, conservative, strict.',
      'services.server.preferred[0]: must be a whole number, not "3000"; write 3000 without quotes',
      'services.websocket.inheritFrom: "sever" is not a service. Did you mean "server"?',
    ]);
  });
});

describe('resolveConfig', () => {
  it('resolves an in-code config with the cwd as the project folder', () => {
    const { config } = resolveConfig(example, { cwd: root, environment: 'development' });
    expect(config.file).toBeNull();
    expect(config.dir).toBe(root);
    expect(config.project).toBe('shop');
    expect(config.strategy).toBe('minimal');
  });

  it('throws E_CONFIG with the problems in details', () => {
    let caught: unknown;
    try {
      resolveConfig({ services: { api: { preferred: [0] } } }, { cwd: root, environment: 'development' });
    } catch (error) {
      caught = error;
    }
    expect(isBerthError(caught, 'E_CONFIG')).toBe(true);
    expect((caught as BerthError).message).toBe(
      'the config object has 1 problem. Fix it and run again.\n  - services.api.preferred[0]: 0 is out of range; use a value from 1 to 65535',
    );
    expect((caught as BerthError).details).toEqual([
      'services.api.preferred[0]: 0 is out of range; use a value from 1 to 65535',
    ]);
  });
});
