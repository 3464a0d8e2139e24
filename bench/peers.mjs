/**
 * One adapter per library with berth's call shape:
 * `(opts: { port?: number, range?: [min, max] }) => Promise<number>`, plus
 * `release(port)` (berth gives the lease back; the peers hold nothing) and
 * `reset()` (get-port forgets the ports it handed out, so a repetition can ask
 * for the same preferred ports again).
 *
 * Each adapter calls the library the way its README tells a user to:
 * - berth:           `getPort({ home, port, range })` from `berth`, `releasePort(port)` after each call
 * - berth-ports/get-port:  the get-port calls below, on berth's get-port entry: what a user who
 *                    switched with one line gets (registry: BERTH_HOME, set under `home`)
 * - get-port:        `getPort()`, `getPort({ port })`, `getPort({ port: portNumbers(min, max) })`
 * - get-port-please: `getPort({ random: true })` (a bare `getPort()` returns 3000-3100, not any free port),
 *                    `getPort({ port })`, `getPort({ portRange: [min, max] })`
 * - portfinder:      `getPortPromise()` (scans up from 8000), `getPortPromise({ port })`,
 *                    `getPortPromise({ port: min, stopPort: max })`
 * - detect-port:     `detect()`, `detect(port)`; it has no range, so a range is `detect(min)`
 *                    (it tries min..min+9, then any port the kernel hands out)
 * Libraries are imported lazily, so a child process loads only the one it measures.
 */
import { join } from 'node:path';
import { distUrl } from './support/dist.mjs';

/** The libraries, berth's two entries first. */
export const LIBRARIES = [
  'berth',
  'berth-ports/get-port',
  'get-port',
  'get-port-please',
  'portfinder',
  'detect-port',
];

/** The peers only. */
export const PEERS = LIBRARIES.filter((lib) => lib !== 'berth' && lib !== 'berth-ports/get-port');

const noop = async () => {};

/** Calls get-port's API (get-port itself, or berth-ports/get-port) the way get-port's README shows. */
function getPortAdapter({ default: getPort, portNumbers, clearLockedPorts }) {
  const call = ({ port, range } = {}) => {
    if (range) {
      const ports = portNumbers(range[0], range[1]);
      return getPort({ port: port !== undefined ? [port, ...ports] : ports });
    }
    return port !== undefined ? getPort({ port }) : getPort();
  };
  call.release = noop;
  call.reset = async () => clearLockedPorts();
  return call;
}

const factories = {
  async berth({ home }) {
    const { getPort, releasePort } = await import(distUrl('index.js'));
    const call = ({ port, range } = {}) =>
      getPort({ home, ...(port !== undefined ? { port } : {}), ...(range ? { range } : {}) });
    call.release = (port) => releasePort(port, { home });
    call.reset = noop;
    return call;
  },

  async 'berth-ports/get-port'({ home }) {
    // berth-ports/get-port has no option naming the registry: it reads BERTH_HOME at each call.
    // A registry of its own, so its leases (kept until reset, as get-port's users keep
    // them) never crowd the berth row's.
    if (home) process.env.BERTH_HOME = join(home, 'get-port');
    return getPortAdapter(await import(distUrl('get-port/index.js')));
  },

  async 'get-port'() {
    return getPortAdapter(await import('get-port'));
  },

  async 'get-port-please'() {
    const { getPort } = await import('get-port-please');
    const call = ({ port, range } = {}) => {
      if (range) return getPort({ portRange: [range[0], range[1]], ...(port !== undefined ? { port } : {}) });
      return port !== undefined ? getPort({ port }) : getPort({ random: true });
    };
    call.release = noop;
    call.reset = noop;
    return call;
  },

  async portfinder() {
    const { default: portfinder } = await import('portfinder');
    const call = ({ port, range } = {}) => {
      if (range) return portfinder.getPortPromise({ port: port ?? range[0], stopPort: range[1] });
      return port !== undefined ? portfinder.getPortPromise({ port }) : portfinder.getPortPromise();
    };
    call.release = noop;
    call.reset = noop;
    return call;
  },

  async 'detect-port'() {
    const { detect } = await import('detect-port');
    const call = ({ port, range } = {}) => {
      if (range) return detect(port ?? range[0]);
      return port !== undefined ? detect(port) : detect();
    };
    call.release = noop;
    call.reset = noop;
    return call;
  },
};

/**
 * The adapter for `name`. `home` is berth's registry folder (a temp folder per
 * benchmark); the peers ignore it.
 */
export async function createPeer(name, { home } = {}) {
  const factory = factories[name];
  if (!factory) throw new Error(`unknown library ${name}; expected one of ${LIBRARIES.join(', ')}`);
  const call = await factory({ home });
  call.library = name;
  return call;
}
