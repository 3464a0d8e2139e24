/**
 * What the proxy answers itself: the list of names (404 for an unknown name,
 * 200 for `localhost` alone), the 502 for a known service that is not
 * running, and the bare refusal for any other Host. HTML for a browser, JSON
 * for `Accept: application/json`, in the API's one error shape.
 */
import { createHash } from 'node:crypto';
import { type NameRoute, namedUrl } from '../../core/names.js';
import { BASE_HEADERS } from '../headers.js';

/** An answer of the proxy's own, ready to write. */
export interface ProxyPage {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const STYLE =
  'body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem}' +
  'table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #8884}' +
  'code{font-size:90%}.idle{opacity:.6}';

/** The pages carry no script and one known style: nothing else may load or run. */
const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Whether the client asked for JSON rather than a page. */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = accept.indexOf('application/json');
  const html = accept.indexOf('text/html');
  return json !== -1 && (html === -1 || json < html);
}

/** A name as the list and the API show it. */
export interface NameEntry {
  name: string;
  url: string;
  project: string;
  dir: string;
  environment: string;
  service: string;
  port: number | null;
  running: boolean;
}

/** The entries of a table, sorted by name, with URLs on `port` (the port the client used). */
export function nameEntries(table: ReadonlyMap<string, NameRoute>, port: number): NameEntry[] {
  return [...table.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((r) => ({
      name: r.name,
      url: namedUrl(r.scheme, r.name, port),
      project: r.project,
      dir: r.dir,
      environment: r.environment,
      service: r.service,
      port: r.port,
      running: r.state === 'live',
    }));
}

function html(status: number, title: string, body: string): ProxyPage {
  return {
    status,
    headers: {
      ...BASE_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': PAGE_CSP,
    },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`,
  };
}

function json(status: number, payload: unknown): ProxyPage {
  return {
    status,
    headers: {
      'x-content-type-options': 'nosniff',
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    },
    body: `${JSON.stringify(payload)}\n`,
  };
}

function listHtml(entries: readonly NameEntry[]): string {
  if (entries.length === 0) {
    return '<p>berth knows no names yet. Run <code>berth up</code> (or <code>berth assign</code>) in a project.</p>';
  }
  const rows = entries
    .map((e) => {
      const link = e.url.startsWith('http')
        ? `<a href="${escapeHtml(e.url)}/">${escapeHtml(e.name)}</a>`
        : escapeHtml(e.url);
      const where = e.port === null ? '' : String(e.port);
      return `<tr class="${e.running ? 'live' : 'idle'}"><td>${link}</td><td>${escapeHtml(e.project)}</td><td>${escapeHtml(e.service)}</td><td>${escapeHtml(e.environment)}</td><td>${where}</td><td>${e.running ? 'leased' : 'not running'}</td><td><code>${escapeHtml(e.dir)}</code></td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>name</th><th>project</th><th>service</th><th>environment</th><th>port</th><th>state</th><th>folder</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The list of names: 404 naming the unknown `host`, or 200 for the index (`host` null).
 *
 * @example
 * namesPage('nope.localhost', entries, true).status // 404
 */
export function namesPage(host: string | null, entries: readonly NameEntry[], asJson: boolean): ProxyPage {
  const message =
    host === null
      ? `berth's proxy knows ${entries.length} name${entries.length === 1 ? '' : 's'}.`
      : `no service is named ${host}. Known names are listed; check the spelling, or run \`berth up\` in the project first.`;
  if (asJson) {
    return host === null
      ? json(200, { success: true, data: { names: entries } })
      : json(404, {
          success: false,
          error: { code: 'E_NOT_FOUND', message, data: { host, names: entries }, details: [] },
        });
  }
  return html(
    host === null ? 200 : 404,
    host === null ? 'berth names' : `${host}: unknown name`,
    `<h1>${host === null ? 'Names' : `${escapeHtml(host)} is not a name berth knows`}</h1><p>${escapeHtml(message)}</p>${listHtml(entries)}`,
  );
}

/** The command that starts a service of a route. */
export function startCommand(route: Pick<NameRoute, 'service' | 'environment'>): string {
  return route.environment === 'development'
    ? `berth up ${route.service}`
    : `berth up ${route.service} --env ${route.environment}`;
}

/**
 * 502 for a known name whose service does not answer: nothing listens on its
 * leased port (`reason` says what the connection met), or it has no live lease
 * at all (`reason` null: the proxy did not connect anywhere).
 */
export function notRunningPage(route: NameRoute, reason: string | null, asJson: boolean): ProxyPage {
  const port = route.port === null ? 'no port yet' : `port ${route.port}`;
  const what =
    reason === null
      ? `${route.service} (${route.project}) is not running: it has no live lease${route.port === null ? '' : ` (it had port ${route.port})`}.`
      : `${route.service} (${route.project}) is not answering on ${port}: ${reason}.`;
  const message = `${what} Start it with \`${startCommand(route)}\` in ${route.dir}.`;
  if (asJson) {
    return json(502, {
      success: false,
      error: {
        code: 'E_NOT_RUNNING',
        message,
        data: {
          name: route.name,
          service: route.service,
          project: route.project,
          dir: route.dir,
          environment: route.environment,
          port: route.port,
          command: startCommand(route),
        },
        details: [],
      },
    });
  }
  return html(
    502,
    `${route.name}: not running`,
    `<h1>${escapeHtml(route.name)} is not running</h1><p>${escapeHtml(what)}</p><p>Start it with <code>${escapeHtml(startCommand(route))}</code> in <code>${escapeHtml(route.dir)}</code>.</p>`,
  );
}

/** The answer to any Host that is not a name under .localhost: nothing listed, nothing named. */
export const REFUSED_PAGE: ProxyPage = Object.freeze({
  status: 403,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  body: 'Refused: this proxy serves <service>.<project>.localhost names only.\n',
});

/** A page as a raw HTTP/1.1 response, for a socket that asked to upgrade. */
export function rawResponse(page: ProxyPage): string {
  const reason =
    { 403: 'Forbidden', 404: 'Not Found', 502: 'Bad Gateway', 200: 'OK' }[page.status] ?? 'Error';
  const headers = Object.entries({
    ...page.headers,
    'content-length': String(Buffer.byteLength(page.body)),
    connection: 'close',
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `HTTP/1.1 ${page.status} ${reason}\r\n${headers}\r\n${page.body}`;
}
