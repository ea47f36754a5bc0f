/**
 * Voila only: widgets of a preheated page must not show "Error displaying widget: model not found".
 *
 * Why: Voila renders a page's widget outputs while its widget manager is still fetching the widget models from
 * the kernel. jupyterlab-manager's renderer asks `get_model`, which polls for two seconds and then throws; the
 * renderer then shows "model not found" if the manager has finished restoring by then, or waits for the restore
 * otherwise. A restore that finishes during the poll's last sleep leaves the model registered and the manager
 * restored, yet the renderer gives up: one widget of the page is lost for good. It happened on the preheated
 * analytics dashboard under load (about one page in six with the CPU busy). The fix looks once more after the poll.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

/** The part of a jupyter-widgets manager this plugin touches. */
export interface IModelLookup {
  get_model(modelId: string): Promise<unknown>;
  has_model(modelId: string): boolean;
}

/** How long a Voila page waits for its widget manager (a page without a kernel never gets one). */
const MANAGER_WAIT_MS = 3000;

/**
 * Make `manager.get_model` look for the model once more after the base lookup gives up.
 *
 * Only a model that exists by then is returned; a truly unknown model still fails as before.
 */
export function retryModelLookup(manager: IModelLookup): void {
  const lookup = manager.get_model.bind(manager);
  manager.get_model = async (modelId: string): Promise<unknown> => {
    try {
      return await lookup(modelId);
    } catch (error) {
      if (manager.has_model(modelId)) {
        return lookup(modelId);
      }
      throw error;
    }
  };
}

/** Resolves with the manager, or with null when none comes within `ms` (a page without widgets or kernel). */
export async function managerWithin(promise: Promise<IModelLookup>, ms: number): Promise<IModelLookup | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>(resolve => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Activated before the application starts, i.e. before Voila renders any output (it renders on `app.started`,
 * which waits for every plugin's activation), so the patched lookup is the one every renderer calls.
 */
export const voilaWidgetLookup: JupyterFrontEndPlugin<void> = {
  id: 'codex-jupyter:voila-widget-lookup',
  description: 'Voila: a widget whose model arrives as the manager finishes restoring is still displayed.',
  autoStart: true,
  activate: async (app: JupyterFrontEnd): Promise<void> => {
    const pending = (app as unknown as { widgetManagerPromise?: { promise: Promise<IModelLookup> } })
      .widgetManagerPromise;
    if (app.name !== 'Voila' || !pending) {
      return;
    }
    const manager = await managerWithin(pending.promise, MANAGER_WAIT_MS);
    if (manager) {
      retryModelLookup(manager);
    }
  }
};
