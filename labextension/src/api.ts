/**
 * The server API (`/codex/api/...`) as the sidebar sees it: each answer is loaded, missing (the server extension is
 * not installed or not enabled: a 404), or failed with a one-line reason.
 */

/** Fetch relative to the Jupyter server, with its auth (JupyterLab passes `ServerConnection.makeRequest`). */
export type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

export type Loaded<T> = { state: 'ok'; value: T } | { state: 'missing' } | { state: 'error'; message: string };

/** What the sidebar says when the server half of codex-jupyter is absent. */
export const SERVER_MISSING =
  'Server extension not available: the Jupyter server has no /codex/api. Install codex-jupyter in the ' +
  "server's environment and restart it (jupyter server extension list shows codex_jupyter).";

/**
 * GET a JSON answer. A 404 from Jupyter itself means the server extension is missing; a 404 from codex-jupyter
 * (JSON naming its `error`, e.g. an unknown connection) and every other failure is an error with the server's message.
 */
export async function getJson(fetcher: Fetcher, path: string, init?: RequestInit): Promise<Loaded<unknown>> {
  let response: Response;
  try {
    response = await fetcher(path, init);
  } catch (err) {
    return { state: 'error', message: `cannot reach the Jupyter server: ${String(err)}` };
  }
  const body: unknown = await response.json().catch(() => undefined);
  const codexError = isCodexError(body) ? body : null;
  if (response.status === 404 && !codexError) {
    return { state: 'missing' };
  }
  if (!response.ok) {
    const why = codexError?.message ?? `answered ${response.status} ${response.statusText}`.trim();
    return { state: 'error', message: `${path}: ${why}` };
  }
  return body === undefined ? { state: 'error', message: `${path} did not answer JSON` } : { state: 'ok', value: body };
}

/** codex-jupyter's error answer: `{message, reason, error}` (Jupyter's own errors carry no `error`). */
function isCodexError(body: unknown): body is { message: string; error: string } {
  const b = body as { message?: unknown; error?: unknown } | null;
  return typeof b === 'object' && b !== null && typeof b.message === 'string' && typeof b.error === 'string';
}

/** Apply `read` to a loaded answer, keeping the missing and error states. */
export function mapLoaded<T>(loaded: Loaded<unknown>, read: (value: unknown) => T): Loaded<T> {
  return loaded.state === 'ok' ? { state: 'ok', value: read(loaded.value) } : loaded;
}

/**
 * Where Jupyter opens a dashboard: its own path, or, when it lies outside the server's root (an installed package),
 * the copy `POST /codex/api/dashboards/{name}/copy` makes under `codex-dashboards/` (an existing copy is kept).
 */
export async function dashboardPath(
  fetcher: Fetcher,
  dashboard: { name: string; path: string | null }
): Promise<Loaded<string>> {
  if (dashboard.path !== null) {
    return { state: 'ok', value: dashboard.path };
  }
  const url = `codex/api/dashboards/${encodeURIComponent(dashboard.name)}/copy`;
  const loaded = await getJson(fetcher, url, { method: 'POST' });
  if (loaded.state === 'missing') {
    return { state: 'error', message: `${url}: this server cannot copy dashboards; upgrade codex-jupyter on it` };
  }
  if (loaded.state === 'error') {
    return loaded;
  }
  const path = (loaded.value as { path?: unknown } | null)?.path;
  return typeof path === 'string' && path
    ? { state: 'ok', value: path }
    : { state: 'error', message: `${url}: answered no path` };
}
