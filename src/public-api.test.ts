/**
 * The public surface of `berth` (src/index.ts), pinned: the names it exports and
 * the signatures and shapes behind them. The type assertions are checked by
 * `tsc --noEmit` (part of `npm test`), so an accidental change to the public API
 * fails the type check; a deliberate one updates this file in the same commit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CheckoutStore, WorktreeReader } from './core/checkouts.js';
// Adapter interfaces the public types refer to; their own shapes are the adapters' business.
import type {
  FreshListeners,
  HealthChecker,
  HolderFinder,
  KernelFacts,
  Probe,
  ProcessGroups,
  ProcessStopper,
  ProcessTable,
  ProcessTree,
  Spawner,
  UserNames,
} from './core/facts.js';
import type { Registry } from './core/registry.js';
import type { RunStore } from './core/runs.js';
import type {
  AdapterOptions,
  Adapters,
  AssignOptions,
  AssignResult,
  AssignStrategy,
  BerthError,
  BerthErrorCode,
  ConflictStrategy,
  Decision,
  GetPortOptions,
  Lease,
  LeaseOwner,
  LeaseState,
  LeaseView,
  PortManager,
  PortManagerOptions,
  PortSource,
  PortsData,
  PortsHandler,
  PortsHandlerOptions,
  Priority,
  Requirement,
  ResolvedConfig,
  ServicePort,
  ServiceSpec,
  Strategy,
  UserConfig,
  UserServiceConfig,
} from './index.js';
import * as api from './index.js';

/** The value exports, in alphabetical order. */
const VALUES = [
  'BerthError',
  'createPortManager',
  'createPortsHandler',
  'defineConfig',
  'getPort',
  'isBerthError',
  'releasePort',
] as const;

interface PortRangeShape {
  min: number;
  max: number;
}

interface HealthConfigShape {
  type?: 'tcp' | 'http';
  path?: string;
  expectStatus?: number;
  intervalMs?: number;
  timeoutMs?: number;
}

interface HealthSpecShape {
  type: 'tcp' | 'http';
  path: string;
  expectStatus: number | null;
  intervalMs: number;
  timeoutMs: number;
}

type StopSignalName = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2' | 'SIGKILL';

describe('public API (src/index.ts)', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(api).sort()).toEqual([...VALUES]);
    expectTypeOf<keyof typeof api>().toEqualTypeOf<(typeof VALUES)[number]>();
  });

  it('keeps the signatures of its functions and of BerthError', () => {
    expectTypeOf(api.getPort).toEqualTypeOf<(options?: GetPortOptions) => Promise<number>>();
    expectTypeOf(api.releasePort).toEqualTypeOf<
      (port: number, options?: { home?: string }) => Promise<boolean>
    >();
    expectTypeOf(api.createPortManager).toEqualTypeOf<
      (options?: PortManagerOptions) => Promise<PortManager>
    >();
    expectTypeOf(api.defineConfig).toEqualTypeOf<(config: UserConfig) => UserConfig>();
    expectTypeOf(api.isBerthError).toEqualTypeOf<
      (error: unknown, code?: BerthErrorCode) => error is BerthError
    >();
    expectTypeOf(api.createPortsHandler).toEqualTypeOf<
      (pm: Pick<PortManager, 'ports'>, options?: PortsHandlerOptions) => PortsHandler
    >();
    expectTypeOf(api.BerthError).constructorParameters.toEqualTypeOf<
      [
        code: BerthErrorCode,
        message: string,
        options?: { data?: Record<string, unknown>; details?: readonly string[]; cause?: unknown },
      ]
    >();
    expectTypeOf<BerthError>().toExtend<Error>();
    expectTypeOf<Pick<BerthError, 'code' | 'data' | 'details'>>().toEqualTypeOf<{
      readonly code: BerthErrorCode;
      readonly data: Record<string, unknown>;
      readonly details: readonly string[];
    }>();
  });

  it('keeps the unions', () => {
    expectTypeOf<Priority>().toEqualTypeOf<'high' | 'medium' | 'low'>();
    expectTypeOf<Requirement>().toEqualTypeOf<'http' | 'https' | 'websocket' | 'wss' | 'tcp'>();
    expectTypeOf<ConflictStrategy>().toEqualTypeOf<'minimal' | 'aggressive' | 'conservative' | 'strict'>();
    expectTypeOf<PortSource>().toEqualTypeOf<
      'inherited' | 'sticky' | 'preferred' | 'range_scan' | 'emergency'
    >();
    // The old names stay as deprecated aliases.
    expectTypeOf<Strategy>().toEqualTypeOf<ConflictStrategy>();
    expectTypeOf<AssignStrategy>().toEqualTypeOf<PortSource>();
    expectTypeOf<AssignStrategy>().toEqualTypeOf<
      'inherited' | 'sticky' | 'preferred' | 'range_scan' | 'emergency'
    >();
    expectTypeOf<BerthErrorCode>().toEqualTypeOf<
      | 'E_CONFIG'
      | 'E_USAGE'
      | 'E_UNKNOWN_SERVICE'
      | 'E_NO_PORT'
      | 'E_PORT_HELD'
      | 'E_REGISTRY_LOCKED'
      | 'E_REGISTRY'
      | 'E_PROBE'
      | 'E_TIMEOUT'
      | 'E_NOT_FOUND'
      | 'E_AMBIGUOUS'
      | 'E_REFUSED'
      | 'E_SERVICE_FAILED'
    >();
    expectTypeOf<LeaseState>().toEqualTypeOf<
      { state: 'reserved' } | { state: 'bound' } | { state: 'stale'; reason: 'owner-dead' | 'expired' }
    >();
  });

  it('keeps the shapes of the config types', () => {
    expectTypeOf<UserServiceConfig>().toEqualTypeOf<{
      preferred?: number[];
      range?: PortRangeShape;
      priority?: Priority;
      requires?: Requirement[];
      conflicts?: string[];
      inheritFrom?: string;
      portEnv?: string;
      env?: Record<string, string>;
      allowPrivileged?: boolean;
      health?: boolean | HealthConfigShape;
      command?: string | string[];
      cwd?: string;
      dependsOn?: string[];
      ready?: HealthConfigShape;
      restart?: 'no' | 'on-failure' | 'always';
      maxRestarts?: number;
      stopSignal?: StopSignalName;
      stopTimeout?: number;
      description?: string;
    }>();
    expectTypeOf<UserConfig>().toEqualTypeOf<{
      $schema?: string;
      project?: string;
      registry?: string;
      urls?: 'ports' | 'named';
      strategy?: Strategy;
      healthCheckTimeout?: number;
      maxRetries?: number;
      enableHealthChecks?: boolean;
      autoReassign?: boolean;
      allowPrivileged?: boolean;
      exclude?: (number | PortRangeShape)[];
      services: Record<string, UserServiceConfig>;
      environments?: Record<
        string,
        {
          strategy?: Strategy;
          healthCheckTimeout?: number;
          maxRetries?: number;
          enableHealthChecks?: boolean;
          autoReassign?: boolean;
          allowPrivileged?: boolean;
          exclude?: (number | PortRangeShape)[];
          services?: Record<string, UserServiceConfig>;
        }
      >;
    }>();
    expectTypeOf<ServiceSpec>().toEqualTypeOf<{
      name: string;
      preferred: readonly number[];
      range: PortRangeShape | null;
      priority: Priority;
      requires: readonly Requirement[];
      conflicts: readonly string[];
      inheritFrom: string | null;
      envVar: string;
      allowPrivileged: boolean;
      health: HealthSpecShape | null;
      run: {
        command:
          | { kind: 'shell'; line: string }
          | { kind: 'exec'; argv: readonly [string, ...string[]] }
          | null;
        cwd: string;
        env: Readonly<Record<string, string>>;
        dependsOn: readonly string[];
        ready: HealthSpecShape | null;
        restart: 'no' | 'on-failure' | 'always';
        maxRestarts: number | null;
        stopSignal: StopSignalName;
        stopTimeoutMs: number;
      };
    }>();
    expectTypeOf<ResolvedConfig>().toEqualTypeOf<{
      project: string;
      dir: string;
      file: string | null;
      environment: string;
      registry?: string | null;
      urls?: 'ports' | 'named';
      strategy: Strategy;
      healthCheckTimeout: number;
      maxRetries: number;
      enableHealthChecks: boolean;
      autoReassign: boolean;
      exclude: readonly number[];
      services: readonly ServiceSpec[];
    }>();
  });

  it('keeps the shapes of the option, result and lease types', () => {
    expectTypeOf<GetPortOptions>().toEqualTypeOf<{
      port?: number | Iterable<number>;
      range?: readonly [number, number] | PortRangeShape;
      exclude?: Iterable<number>;
      label?: string;
      home?: string;
    }>();
    expectTypeOf<Adapters>().toEqualTypeOf<{
      registry: Registry;
      kernel: KernelFacts;
      probe: Probe;
      processes: ProcessTable;
      freshListeners: FreshListeners;
      holders: HolderFinder;
      tree: ProcessTree;
      stopper: ProcessStopper;
      health: HealthChecker;
      users: UserNames;
      spawner: Spawner;
      groups: ProcessGroups;
      runs: RunStore;
      checkouts: CheckoutStore;
      worktrees: WorktreeReader;
      now: () => number;
      log: (line: string) => void;
    }>();
    expectTypeOf<AdapterOptions>().toEqualTypeOf<{
      home?: string;
      adapters?: Partial<Adapters>;
      registry?: string | null;
    }>();
    expectTypeOf<PortManagerOptions>().toEqualTypeOf<{
      home?: string;
      adapters?: Partial<Adapters>;
      registry?: string | null;
      cwd?: string;
      config?: UserConfig;
      configFile?: string;
      environment?: string;
    }>();
    expectTypeOf<AssignOptions>().toEqualTypeOf<{
      strategy?: Strategy;
      owner?: LeaseOwner | null;
      ttlMs?: number | null;
    }>();
    expectTypeOf<ServicePort>().toEqualTypeOf<{ port: number; strategy: AssignStrategy; url: string }>();
    expectTypeOf<AssignResult>().toEqualTypeOf<{
      project: string;
      environment: string;
      services: Record<string, ServicePort>;
      decisions: Decision[];
    }>();
    expectTypeOf<Decision>().toEqualTypeOf<{
      service: string;
      port: number;
      strategy: AssignStrategy;
      from: number | null;
      skipped: readonly { port: number; reason: string }[];
      message: string;
    }>();
    expectTypeOf<LeaseOwner>().toEqualTypeOf<{ pid: number; startTime: string | null }>();
    expectTypeOf<Lease>().toEqualTypeOf<{
      id: number;
      port: number;
      kind: 'service' | 'adhoc';
      project: string;
      dir: string;
      environment: string;
      service: string;
      inheritsFrom: string | null;
      scheme: string | null;
      owner: LeaseOwner | null;
      createdAt: number;
      expiresAt: number | null;
    }>();
    expectTypeOf<LeaseView>().toEqualTypeOf<Lease & LeaseState>();
    expectTypeOf<PortsData>().toEqualTypeOf<
      { environment: string; urls: Record<string, string> } & Record<
        string,
        number | string | Record<string, string>
      >
    >();
    expectTypeOf<PortsHandlerOptions>().toEqualTypeOf<{ path?: string }>();
    expectTypeOf<PortsHandler>().toEqualTypeOf<
      (req: IncomingMessage, res: ServerResponse, next?: () => void) => void
    >();
  });

  it('keeps the PortManager interface', () => {
    expectTypeOf<PortManager>().toEqualTypeOf<{
      readonly config: ResolvedConfig;
      readonly adapters: Adapters;
      assignAll(options?: AssignOptions): Promise<AssignResult>;
      assignServices(services: readonly string[], options?: AssignOptions): Promise<AssignResult>;
      assign(service: string, options?: AssignOptions): Promise<ServicePort>;
      ports(): PortsData;
      leases(): LeaseView[];
      release(...services: string[]): Promise<Lease[]>;
      releaseAll(): Promise<Lease[]>;
      setOwner(services: readonly string[], owner: LeaseOwner | null, ttlMs?: number | null): Promise<void>;
      close(): void;
    }>();
  });
});
