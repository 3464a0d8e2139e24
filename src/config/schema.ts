/**
 * The configuration schema, written once as a JSON Schema (draft 2020-12)
 * literal. `validate.ts` walks it to check a config without a schema library
 * (valibot was measured and lost: docs/decisions.md), and `scripts/gen-schema.mjs`
 * writes it to `berth.schema.json` so editors complete and check the file, and
 * derives from it the types `defineConfig` takes (`user-config.generated.ts`,
 * each field's JSDoc from its `description`, `default` and `examples`).
 * `patternErrorMessage` is the VS Code JSON keyword; the walker uses it too.
 */

import { DEFAULT_STOP_TIMEOUT_MS, STOP_SIGNALS } from '../core/stack.js';
import { CONFLICT_STRATEGIES } from '../core/types.js';

/** The subset of JSON Schema 2020-12 that the config schema uses and the walker understands. */
export interface JsonSchema {
  $schema?: string;
  $id?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  title?: string;
  description?: string;
  type?: 'object' | 'array' | 'integer' | 'string' | 'boolean';
  properties?: Record<string, JsonSchema>;
  /** `false` forbids unknown keys; a schema checks every unknown key's value. */
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  required?: string[];
  items?: JsonSchema;
  uniqueItems?: boolean;
  minItems?: number;
  minProperties?: number;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  patternErrorMessage?: string;
  /**
   * berth's own annotation (editors ignore keywords they do not know): the
   * integer is a duration in milliseconds, so the walker's message for a
   * string like "5s" says what to write instead (5000).
   */
  unit?: 'milliseconds';
  /** VS Code's keyword for a value of the wrong type; the walker uses it instead of its own message. */
  errorMessage?: string;
  enum?: readonly (string | number | boolean)[];
  /** Branches must differ by `type`: the walker picks the branch whose type matches the value. */
  oneOf?: JsonSchema[];
  default?: unknown;
  examples?: unknown[];
}

/** Service names: usable as a path segment, an environment variable stem and a URL key. */
export const SERVICE_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]*$';

/** Environment variable names as POSIX shells accept them. */
export const ENV_VAR_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Environment names: they end up in leases, `--env` and `BERTH_ENV`. */
export const ENVIRONMENT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

const ref = (name: string): JsonSchema => ({ $ref: `#/$defs/${name}` });

/** The keys of a service that tell `berth up` what to run and how; each does nothing without `command` but `dependsOn` and `ready`. */
const runKeys: Record<string, JsonSchema> = {
  command: {
    description:
      "What `berth up` runs for this service: a string is run by the platform's shell (like a Procfile line), a list is run directly, without a shell. A service without a command is only leased.",
    oneOf: [
      { type: 'string', description: 'A command line for the shell.', minLength: 1 },
      {
        type: 'array',
        description: 'The program and its arguments, run without a shell.',
        items: { type: 'string', description: 'One argument.' },
        minItems: 1,
      },
    ],
    examples: ['npm run dev', ['node', 'server.js']],
  },
  cwd: {
    type: 'string',
    description:
      "Folder to run the command in, relative to the config file. Default: the config file's folder.",
    minLength: 1,
  },
  dependsOn: {
    type: 'array',
    description:
      'Services that must be ready before `berth up` starts this one (the service named by `inheritFrom` is one implicitly).',
    items: { type: 'string', description: 'A service name.' },
    uniqueItems: true,
  },
  ready: {
    ...ref('ready'),
    description:
      'How `berth up` tells the service is ready: a tcp or http check once a process it started binds the port, or a `command` that exits 0, or a line of `output`. Default: the `health` check.',
  },
  portArgs: {
    description:
      "What berth adds to the command so the tool listens on berth's port. Default: the port flag (and strict switch) of a dev server berth knows (vite: --port N --strictPort). `false` adds nothing; a list is added instead, `{port}` replaced (in a string command the words are quoted for the shell).",
    oneOf: [
      { type: 'boolean', description: '`false`: add nothing; `true`: the default.' },
      {
        type: 'array',
        description: 'The words to add, e.g. ["--listen", "127.0.0.1:{port}"].',
        items: { type: 'string', description: 'One word; `{port}` is replaced by the port.' },
        minItems: 1,
      },
    ],
    examples: [false, ['--listen', '127.0.0.1:{port}']],
  },
  restart: {
    type: 'string',
    description:
      'Restart the command when it exits: never ("no": `berth up` then stops the stack, unless it exited 0 and nothing depends on it), after a non-zero exit, or always. Back-off from 1 s, doubling, at most 30 s.',
    enum: ['no', 'on-failure', 'always'],
    default: 'no',
  },
  maxRestarts: {
    type: 'integer',
    description:
      'How many restarts (not starts) `restart` allows before `berth up` gives up. Default: no limit.',
    minimum: 0,
    maximum: 1_000_000,
  },
  stopSignal: {
    type: 'string',
    description: 'Signal sent to the whole process group of the command to stop it.',
    enum: [...STOP_SIGNALS],
    default: 'SIGTERM',
  },
  stopTimeout: {
    type: 'integer',
    description: 'Milliseconds to wait after `stopSignal` before SIGKILL.',
    unit: 'milliseconds',
    minimum: 0,
    maximum: 600_000,
    default: DEFAULT_STOP_TIMEOUT_MS,
  },
};

const service: JsonSchema = {
  type: 'object',
  description: 'One service: where its port may come from and what it speaks.',
  additionalProperties: false,
  properties: {
    preferred: {
      type: 'array',
      description: 'Ports to try in order (after the port the service had last time).',
      items: ref('port'),
      uniqueItems: true,
      examples: [[3000, 3001]],
    },
    range: {
      ...ref('range'),
      description:
        'Inclusive range to scan when no preferred port is free. Default: none when `preferred` is given, else the default pool 20000-29999.',
    },
    priority: {
      type: 'string',
      description: 'Which service keeps a contested port: high beats medium beats low.',
      enum: ['high', 'medium', 'low'],
      default: 'medium',
    },
    requires: {
      type: 'array',
      description:
        'What the service speaks; the first entry decides the URL scheme and the default health check. Default: the inherited service\'s value, else ["http"].',
      items: ref('requirement'),
      uniqueItems: true,
      minItems: 1,
    },
    conflicts: {
      type: 'array',
      description:
        'Services that compete with this one for ports: neither takes a port the other prefers while the other can still have it. Symmetric.',
      items: { type: 'string', description: 'A service name.' },
      uniqueItems: true,
    },
    inheritFrom: {
      type: 'string',
      description:
        'Share the port of another service (a websocket served by the http server). An inheriting service declares no ports of its own.',
    },
    portEnv: {
      type: 'string',
      description:
        'Environment variable that carries the port. Default: the name in UPPER_SNAKE_CASE plus `_PORT`.',
      pattern: ENV_VAR_PATTERN,
      patternErrorMessage: 'must be a shell variable name: letters, digits and _, not starting with a digit',
      examples: ['PGPORT'],
    },
    env: {
      type: 'object',
      description:
        "Extra environment variables for the service's `command` (`berth up`). berth sets PORT and every service's `<NAME>_PORT` and `<NAME>_URL` itself.",
      errorMessage:
        'must be an object of extra variables for the command, e.g. { "NODE_ENV": "development" }. The variable that carries the port is now `portEnv`: rename `env` to `portEnv`',
      propertyNames: {
        type: 'string',
        pattern: ENV_VAR_PATTERN,
        patternErrorMessage:
          'must be a shell variable name: letters, digits and _, not starting with a digit',
      },
      additionalProperties: { type: 'string', description: 'The value of the variable.' },
      examples: [{ NODE_ENV: 'development' }],
    },
    allowPrivileged: {
      type: 'boolean',
      description: 'Allow ports below 1024 for this service. Default: the top-level `allowPrivileged`.',
    },
    health: {
      description:
        'Health check used by `berth wait` and the daemon. Default: derived from `requires` (http check of / for http and websocket, tcp connect otherwise); `false` disables it.',
      oneOf: [
        { type: 'boolean', description: '`false` disables the check; `true` keeps the derived default.' },
        ref('health'),
      ],
    },
    ...runKeys,
    description: { type: 'string', description: 'Free text for people reading the file; berth ignores it.' },
  },
};

const health: JsonSchema = {
  type: 'object',
  description: 'A health check.',
  additionalProperties: false,
  properties: {
    type: {
      type: 'string',
      description:
        'tcp: a connection is accepted. http: a GET answers. Default: http when `path` or `expectStatus` is set, else derived from `requires`.',
      enum: ['tcp', 'http'],
    },
    path: {
      type: 'string',
      description: 'Path to GET for http checks.',
      pattern: '^/',
      patternErrorMessage: 'must start with /',
      default: '/',
    },
    expectStatus: {
      type: 'integer',
      description: 'Exact status the http check expects. Default: any status below 500.',
      minimum: 100,
      maximum: 599,
    },
    intervalMs: {
      type: 'integer',
      description: 'Milliseconds between checks.',
      unit: 'milliseconds',
      minimum: 100,
      maximum: 3_600_000,
      default: 1000,
    },
    timeoutMs: {
      type: 'integer',
      description: 'Milliseconds one check may take. Default: the top-level `healthCheckTimeout`.',
      unit: 'milliseconds',
      minimum: 1,
      maximum: 600_000,
    },
  },
};

/** `ready`: a health check's keys, or a command to run, or a line of output to wait for. */
const ready: JsonSchema = {
  type: 'object',
  description: 'A readiness check.',
  additionalProperties: false,
  properties: {
    type: {
      type: 'string',
      description:
        "tcp: a connection is accepted. http: a GET answers. command: the command exits 0. output: a line of the service's output matches `pattern`. Default: command when `command` is set, output when `pattern` is, http when `path` or `expectStatus` is, else derived from `requires`.",
      enum: ['tcp', 'http', 'command', 'output'],
    },
    path: health.properties!.path!,
    expectStatus: health.properties!.expectStatus!,
    intervalMs: {
      ...health.properties!.intervalMs!,
      description: 'Milliseconds between checks (tcp, http, command).',
    },
    timeoutMs: {
      ...health.properties!.timeoutMs!,
      description:
        'Milliseconds one check may take (a command is killed after it). Default: the top-level `healthCheckTimeout`.',
    },
    command: {
      description:
        "For a command check: a string runs in the platform's shell with the service's variables ($PORT), a list runs directly with `{port}` replaced.",
      oneOf: [
        { type: 'string', description: 'A command line for the shell.', minLength: 1 },
        {
          type: 'array',
          description: 'The program and its arguments, run without a shell.',
          items: { type: 'string', description: 'One argument; `{port}` is replaced by the port.' },
          minItems: 1,
        },
      ],
      examples: ['pg_isready -h 127.0.0.1 -p $PORT', ['redis-cli', '-p', '{port}', 'ping']],
    },
    pattern: {
      type: 'string',
      description:
        "For an output check: a regular expression (JavaScript syntax) matched against each line of the service's stdout and stderr, colour codes removed; ready at the first match after each start.",
      minLength: 1,
      examples: ['ready to accept connections'],
    },
  },
};

/** Settings an environment may override, shared by the top level and `environments.<name>`. */
const overridable: Record<string, JsonSchema> = {
  strategy: {
    type: 'string',
    description:
      'What happens when a wanted port is held by another lease of this project. minimal: move it only if unbound and lower priority. aggressive: move any unbound lease. conservative: never move a lease. strict: fail instead of using a non-preferred port.',
    enum: [...CONFLICT_STRATEGIES],
    default: 'minimal',
  },
  healthCheckTimeout: {
    type: 'integer',
    description: 'Milliseconds a health check or a probe may take.',
    unit: 'milliseconds',
    minimum: 1,
    maximum: 600_000,
    default: 5000,
  },
  maxRetries: {
    type: 'integer',
    description: 'How many times an allocation is retried when another process races for the same port.',
    minimum: 0,
    maximum: 100,
    default: 5,
  },
  enableHealthChecks: { type: 'boolean', description: 'Run health checks at all.', default: true },
  autoReassign: {
    type: 'boolean',
    description: 'Move a service to a free port when its port is taken, instead of failing.',
    default: true,
  },
  allowPrivileged: {
    type: 'boolean',
    description: 'Allow ports below 1024 for every service.',
    default: false,
  },
  exclude: {
    type: 'array',
    description: 'Ports and ranges never handed out for this project (at most 10000 ports per range).',
    items: { description: 'A port or a range.', oneOf: [ref('port'), ref('range')] },
    examples: [[8080, { min: 9000, max: 9010 }]],
  },
};

/**
 * The configuration schema. `berth.schema.json` is this object, serialised by
 * `scripts/gen-schema.mjs` (`npm run gen:schema`), which also writes the
 * `UserConfig` types from it; schema.test.ts fails while either is stale.
 */
export const CONFIG_JSON_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'berth configuration',
  description: 'berth.config.json: the services of a project and where their ports may come from.',
  type: 'object',
  additionalProperties: false,
  required: ['services'],
  properties: {
    $schema: { type: 'string', description: 'Path or URL of this schema, for editors.' },
    project: {
      type: 'string',
      description: 'Project name shown in listings. Default: the name of the folder holding the config.',
      minLength: 1,
    },
    registry: {
      type: 'string',
      description:
        'Where the leases live: `etcd://host1:2379,host2:2379[/prefix]` for a registry shared by a team or a CI fleet, or `sqlite` (the default, one file per user). `BERTH_REGISTRY` wins over it. TLS files and credentials never go here: use the BERTH_ETCD_* environment variables.',
      examples: ['etcd://etcd-1:2379,etcd-2:2379,etcd-3:2379'],
    },
    urls: {
      type: 'string',
      description:
        'What `<NAME>_URL` carries in `berth env`, `berth run` and `berth up`: "ports" (http://localhost:3000), or "named" (http://web.shop.localhost:4939, through the proxy of `berth serve`) when the daemon runs and the name resolves on this machine, else the port URL with a one-line reason.',
      enum: ['ports', 'named'],
      default: 'ports',
    },
    ...overridable,
    services: {
      type: 'object',
      description: 'The services, by name, in the order they are assigned (after inheritance and priority).',
      minProperties: 1,
      propertyNames: {
        type: 'string',
        pattern: SERVICE_NAME_PATTERN,
        patternErrorMessage: 'must start with a letter and use only letters, digits, _ and -',
      },
      additionalProperties: ref('service'),
    },
    environments: {
      type: 'object',
      description:
        'Overrides per environment (`--env`, `BERTH_ENV`). A key given here replaces the same key of the base config.',
      propertyNames: {
        type: 'string',
        pattern: ENVIRONMENT_NAME_PATTERN,
        patternErrorMessage: 'must start with a letter or digit and use only letters, digits, _, . and -',
      },
      additionalProperties: {
        type: 'object',
        description: 'Settings for one environment.',
        additionalProperties: false,
        properties: {
          ...overridable,
          services: {
            type: 'object',
            description: 'Per-service overrides; each names a service of the base config.',
            additionalProperties: {
              ...ref('service'),
              description: 'Keys that replace those of the base service.',
            },
          },
        },
      },
    },
  },
  $defs: {
    port: { type: 'integer', description: 'A TCP port.', minimum: 1, maximum: 65535 },
    range: {
      type: 'object',
      description: 'An inclusive port range.',
      additionalProperties: false,
      required: ['min', 'max'],
      properties: {
        min: { ...ref('port'), description: 'Lowest port of the range.' },
        max: { ...ref('port'), description: 'Highest port of the range.' },
      },
    },
    requirement: {
      type: 'string',
      description: 'A protocol: http, https, websocket (ws://), wss or tcp.',
      enum: ['http', 'https', 'websocket', 'wss', 'tcp'],
    },
    service,
    health,
    ready,
  },
};
