/**
 * The registries a long-lived process (the daemon) serves projects from. Its own is `$BERTH_REGISTRY`, else
 * SQLite; a project whose config names another (its `registry` key, which `berth assign`
 * in that checkout uses) is served from that one: the daemon's assignments, releases
 * and ports for the project are where the CLI's are. Each other registry is opened on
 * first use and kept open for the daemon's life, with the daemon's machine adapters.
 */
import { chooseRegistry } from '../core/registry-url.js';
import type { Lease, ResolvedConfig } from '../core/types.js';
import { type Adapters, openAdapters } from './context.js';

/** Opens the adapters of the registry named `url` (the daemon's machine adapters, another registry). */
export type OpenRegistryAdapters = (url: string) => Promise<Adapters>;

/** The daemon's registries, by the URL each config chooses. */
export class ProjectRegistries {
  private readonly others = new Map<string, Promise<Adapters>>();
  private readonly ownUrl: string;

  constructor(
    private readonly own: Adapters,
    private readonly open: OpenRegistryAdapters,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.ownUrl = urlOf(null, env) ?? 'sqlite';
  }

  /**
   * The adapters of the registry `config` chooses (`$BERTH_REGISTRY` wins over its
   * `registry` key, as on the CLI): the daemon's own, or another, opened once.
   *
   * @example
   * const pm = createManagerFor(config, await registries.for(config));
   */
  async for(config: Pick<ResolvedConfig, 'registry'> | null): Promise<Adapters> {
    const url = urlOf(config?.registry ?? null, this.env);
    if (url === null || url === this.ownUrl) return this.own;
    let opening = this.others.get(url);
    if (!opening) {
      opening = this.open(url);
      this.others.set(url, opening);
      // A failed opening (the registry down) is not kept: the next request opens again.
      opening.catch(() => {
        if (this.others.get(url) === opening) this.others.delete(url);
      });
    }
    return opening;
  }

  /** The leases of every registry opened so far (the daemon's own first), for resolving a project's name. */
  async knownLeases(): Promise<Lease[]> {
    const leases = [...this.own.registry.allLeases()];
    for (const opening of this.others.values()) {
      const adapters = await opening.catch(() => null);
      if (adapters) leases.push(...adapters.registry.allLeases());
    }
    return leases;
  }

  /** Closes the registries it opened (not the daemon's own). */
  close(): void {
    for (const opening of this.others.values()) opening.then((a) => a.registry.close()).catch(() => {});
    this.others.clear();
  }
}

/** The URL a registry key chooses; `null` for an unparsable one (the config's rules report it). */
function urlOf(configured: string | null, env: NodeJS.ProcessEnv): string | null {
  try {
    const choice = chooseRegistry(configured, env);
    return choice.kind === 'sqlite' ? 'sqlite' : choice.url;
  } catch {
    return null;
  }
}

/**
 * The default opener: the daemon's machine adapters and run store, another registry.
 *
 * @example
 * const registries = new ProjectRegistries(adapters, registryOpener(adapters));
 */
export function registryOpener(own: Adapters, home?: string): OpenRegistryAdapters {
  return (url) => {
    const { registry: _registry, ...machine } = own;
    return openAdapters({
      ...(home === undefined ? {} : { home }),
      registry: url,
      adapters: {
        ...machine,
        kernel: own.kernel,
        probe: own.probe,
        processes: own.processes,
        runs: own.runs,
      },
    });
  };
}
