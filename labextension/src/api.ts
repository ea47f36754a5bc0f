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

/** GET a JSON answer; a 404 means the server extension is missing rather than an error. */
export async function getJson(fetcher: Fetcher, path: string): Promise<Loaded<unknown>> {
  let response: Response;
  try {
    response = await fetcher(path);
  } catch (err) {
    return { state: 'error', message: `cannot reach the Jupyter server: ${String(err)}` };
  }
  if (response.status === 404) {
    return { state: 'missing' };
  }
  if (!response.ok) {
    return { state: 'error', message: `${path} answered ${response.status} ${response.statusText}`.trim() };
  }
  try {
    return { state: 'ok', value: await response.json() };
  } catch {
    return { state: 'error', message: `${path} did not answer JSON` };
  }
}

/** Apply `read` to a loaded answer, keeping the missing and error states. */
export function mapLoaded<T>(loaded: Loaded<unknown>, read: (value: unknown) => T): Loaded<T> {
  return loaded.state === 'ok' ? { state: 'ok', value: read(loaded.value) } : loaded;
}
