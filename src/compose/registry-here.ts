/**
 * The registry of a place, for what needs no project (`berth ls --all-projects`,
 * `--all-hosts`, `berth who`): `$BERTH_REGISTRY`, else the `registry` key of the config
 * found from there (the registry `berth assign` would use there), else SQLite.
 */
import { findConfigFile, loadConfig } from '../config/load.js';
import { isBerthError } from '../errors.js';
import { type Adapters, openAdapters } from './context.js';

/** Where to look, and where a config that does not load is reported. */
export interface RegistryFromOptions {
  cwd: string;
  environment: string;
  /** A config file given on the command line, instead of the one found from `cwd`. */
  configFile?: string;
  /** Told when the config does not load (its registry key is then not read). */
  onWarning: (line: string) => void;
}

/**
 * Opens the registry a command run in `cwd` uses, loaded (an etcd registry's mirror
 * included). A config that does not load is reported and passed over.
 *
 * @example
 * const adapters = await openRegistryFrom({ cwd: process.cwd(), environment: 'development', onWarning: console.error });
 */
export async function openRegistryFrom(options: RegistryFromOptions): Promise<Adapters> {
  if ((process.env.BERTH_REGISTRY ?? '').trim() !== '') return openAdapters();
  const file = options.configFile ?? findConfigFile(options.cwd);
  if (file === null) return openAdapters();
  try {
    const { config } = await loadConfig({ cwd: options.cwd, environment: options.environment, file });
    return await openAdapters({ registry: config.registry });
  } catch (error) {
    if (!isBerthError(error) || error.code !== 'E_CONFIG') throw error;
    options.onWarning(`warning: ${error.message} (its registry key is not read; using the default registry)`);
    return openAdapters();
  }
}
