/**
 * Project configs as the daemon needs them: for the order of services in
 * `/api/ports`, ranges on the dashboard, health specs and assignments. A config
 * is loaded from the lease's folder, kept while its file is unchanged, and
 * reloaded when the file changes (or after a while, for .ts configs that import
 * other files).
 */
import { statSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../core/types.js';
import { BerthError } from '../errors.js';

/** Longest a config is kept while its file's mtime stays the same: a .ts config may import files whose edits that mtime does not show. */
const CONFIG_MAX_AGE_MS = 10_000;

/** How long a failed load is remembered, so a broken config is not re-read on every health tick. */
const FAILURE_TTL_MS = 5_000;

/** Loads a project's config for one environment; throws BerthError('E_CONFIG') when it cannot. */
export type LoadProjectConfig = (dir: string, environment: string) => Promise<ResolvedConfig>;

type Entry =
  | { ok: true; config: ResolvedConfig; mtimeMs: number; at: number }
  | { ok: false; error: BerthError; at: number };

/** Loads the config of the checkout in `dir` (and only that folder: no parent's config). */
export const loadProjectConfig: LoadProjectConfig = async (dir, environment) => {
  const { config } = await loadConfig({ cwd: dir, environment });
  if (config.dir !== dir) {
    throw new BerthError(
      'E_CONFIG',
      `no berth config in ${dir} (the nearest is ${config.file ?? config.dir}). Restore the project's berth.config file or release its leases with \`berth release --all\` there.`,
      { data: { dir } },
    );
  }
  return config;
};

function mtimeOf(file: string | null): number {
  if (file === null) return 0;
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** A cache of project configs keyed by folder and environment. */
export class ConfigCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly load: LoadProjectConfig = loadProjectConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** The config, or throws `E_CONFIG` (for assignments, where the reason matters). */
  async require(dir: string, environment: string): Promise<ResolvedConfig> {
    const key = `${dir}\0${environment}`;
    const entry = this.entries.get(key);
    const now = this.now();
    if (entry?.ok && now - entry.at < CONFIG_MAX_AGE_MS && mtimeOf(entry.config.file) === entry.mtimeMs) {
      return entry.config;
    }
    if (entry && !entry.ok && now - entry.at < FAILURE_TTL_MS) throw entry.error;
    try {
      const config = await this.load(dir, environment);
      this.entries.set(key, { ok: true, config, mtimeMs: mtimeOf(config.file), at: now });
      return config;
    } catch (error) {
      if (!(error instanceof BerthError)) throw error;
      this.entries.set(key, { ok: false, error, at: now });
      throw error;
    }
  }

  /** The config, or `null` when it cannot be loaded (for listings, which work from leases alone). */
  async get(dir: string, environment: string): Promise<ResolvedConfig | null> {
    try {
      return await this.require(dir, environment);
    } catch (error) {
      if (error instanceof BerthError) return null;
      throw error;
    }
  }
}
