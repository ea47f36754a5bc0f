/**
 * codex-jupyter's JupyterLab 4 extension: `%%snowflake` highlighting, the Codex sidebar, launcher cards and commands.
 *
 * Every plugin requires nothing beyond the application and takes JupyterLab's services as optional, so the same
 * bundle loads in Voila (which loads labextensions too) and simply adds nothing there. Voila shares fewer packages
 * than JupyterLab: CodeMirror is imported only once an editor registry exists, and @jupyterlab/launcher carries a
 * bundled fallback (package.json `sharedPackages`) that only a host without a launcher ever loads.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog } from '@jupyterlab/apputils';
import { EditorExtensionRegistry, IEditorExtensionRegistry, IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { URLExt } from '@jupyterlab/coreutils';

import { Fetcher, SERVER_MISSING, dashboardPath, getJson, mapLoaded } from './api';
import { NEW_ANALYSIS_CELLS, TableRef, dashboardsFrom, previewCell } from './model';
import { CodexSidebar } from './sidebar';
import { voilaWidgetLookup } from './voila';

const CONNECTION_KEY = 'codex-jupyter:connection';

const codexIcon = new LabIcon({
  name: 'codex-jupyter:codex',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<ellipse cx="12" cy="5" rx="8" ry="3"/><path d="M4 7v4c0 1.7 3.6 3 8 3s8-1.3 8-3V7c0 1.7-3.6 3-8 3S4 8.7 4 7z"/>' +
    '<path d="M4 13v4c0 1.7 3.6 3 8 3s8-1.3 8-3v-4c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/></g></svg>'
});

const CommandIds = {
  openSidebar: 'codex:open-sidebar',
  newAnalysis: 'codex:new-analysis',
  openDashboard: 'codex:open-dashboard'
};

/** `%%snowflake` cells highlighted as SQL in notebooks and consoles. */
const highlighting: JupyterFrontEndPlugin<void> = {
  id: 'codex-jupyter:snowflake-highlighting',
  description: 'Highlights cells that start with %%snowflake as SQL.',
  autoStart: true,
  optional: [IEditorExtensionRegistry, IEditorLanguageRegistry],
  activate: async (
    _app: JupyterFrontEnd,
    extensions: IEditorExtensionRegistry | null,
    languages: IEditorLanguageRegistry | null
  ): Promise<void> => {
    if (!extensions || !languages) {
      return;
    }
    const sql = await languages.getLanguage('sql');
    if (!sql?.support) {
      console.warn('codex-jupyter: JupyterLab has no SQL language; %%snowflake cells stay Python');
      return;
    }
    // loaded here, not at the top: CodeMirror's modules exist only where editors do (not in Voila)
    const { snowflakeSql } = await import('./highlight');
    const extension = snowflakeSql(sql.support.language);
    extensions.addExtension({
      name: 'codex-jupyter:snowflake-sql',
      factory: () => EditorExtensionRegistry.createImmutableExtension(extension)
    });
  }
};

/** Insert a `%%snowflake` preview of `table` below the active cell of the current notebook. */
function insertPreview(tracker: INotebookTracker | null, table: TableRef, connection: string | null): void {
  const panel = tracker?.currentWidget;
  if (!panel) {
    console.warn('codex-jupyter: open a notebook to insert a preview of', table.name);
    return;
  }
  NotebookActions.insertBelow(panel.content);
  const cell = panel.content.activeCell;
  cell?.model.sharedModel.setSource(previewCell(table, connection));
  panel.content.activate();
}

async function newAnalysis(app: JupyterFrontEnd): Promise<void> {
  const panel: NotebookPanel = await app.commands.execute('notebook:create-new', { kernelName: 'python3' });
  await panel.context.ready;
  const notebook = panel.content;
  NEW_ANALYSIS_CELLS.forEach((source, i) => {
    if (i > 0) {
      NotebookActions.insertBelow(notebook);
    }
    notebook.activeCell?.model.sharedModel.setSource(source);
  });
}

/** Pick one of the curated dashboards the server API lists and open it (copied into the root first when outside). */
async function pickDashboard(app: JupyterFrontEnd, fetcher: Fetcher): Promise<void> {
  const loaded = mapLoaded(await getJson(fetcher, 'codex/api/dashboards'), dashboardsFrom);
  const dashboards = loaded.state === 'ok' ? loaded.value : [];
  if (dashboards.length === 0) {
    const why = loaded.state === 'missing' ? SERVER_MISSING : loaded.state === 'error' ? loaded.message : '';
    await InputDialog.getText({ title: 'Codex: no dashboards to open', label: why });
    return;
  }
  const byTitle = new Map(dashboards.map(d => [`${d.title} (${d.path ?? d.name})`, d]));
  const choice = await InputDialog.getItem({ title: 'Codex: open dashboard', items: [...byTitle.keys()] });
  const picked = choice.button.accept && choice.value ? byTitle.get(choice.value) : undefined;
  if (!picked) {
    return;
  }
  const path = await dashboardPath(fetcher, picked);
  if (path.state === 'ok') {
    await app.commands.execute('docmanager:open', { path: path.value });
  } else {
    const why = path.state === 'error' ? path.message : '';
    await InputDialog.getText({ title: 'Codex: cannot open the dashboard', label: why });
  }
}

/** The Codex sidebar, its commands and launcher card (JupyterLab only: Voila has no left area). */
const sidebar: JupyterFrontEndPlugin<void> = {
  id: 'codex-jupyter:sidebar',
  description: 'The Codex sidebar: connections, catalog, dashboards and jobs; launcher cards and commands.',
  autoStart: true,
  optional: [ILabShell, INotebookTracker, ICommandPalette, ILauncher],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null
  ): void => {
    if (!labShell) {
      return;
    }
    const settings = ServerConnection.makeSettings();
    const fetcher: Fetcher = (path, init) =>
      ServerConnection.makeRequest(URLExt.join(settings.baseUrl, path), init ?? {}, settings);
    const widget = new CodexSidebar({
      fetcher,
      baseUrl: settings.baseUrl,
      insertPreview: (table, connection) => insertPreview(tracker, table, connection),
      openNotebook: path => void app.commands.execute('docmanager:open', { path }),
      connection: {
        get: () => window.localStorage.getItem(CONNECTION_KEY),
        set: name =>
          name ? window.localStorage.setItem(CONNECTION_KEY, name) : window.localStorage.removeItem(CONNECTION_KEY)
      }
    });
    widget.title.icon = codexIcon;
    labShell.add(widget, 'left', { rank: 300 });
    void app.restored.then(() => widget.refresh());

    app.commands.addCommand(CommandIds.openSidebar, {
      label: 'Codex: open sidebar',
      icon: codexIcon,
      execute: () => {
        labShell.activateById(widget.id);
        return widget.refresh();
      }
    });
    app.commands.addCommand(CommandIds.newAnalysis, {
      label: args => (args.isLauncher ? 'Codex analysis' : 'Codex: new analysis'),
      caption: 'A new notebook with codex-jupyter loaded and a %%snowflake cell',
      icon: codexIcon,
      execute: () => newAnalysis(app)
    });
    app.commands.addCommand(CommandIds.openDashboard, {
      label: args => (args.isLauncher ? 'Codex dashboard' : 'Codex: open dashboard...'),
      caption: 'Open one of the curated dashboards',
      icon: codexIcon,
      execute: () => pickDashboard(app, fetcher)
    });
    for (const command of Object.values(CommandIds)) {
      palette?.addItem({ command, category: 'Codex' });
    }
    launcher?.add({ command: CommandIds.newAnalysis, category: 'Notebook', rank: 10 });
    launcher?.add({ command: CommandIds.openDashboard, category: 'Notebook', rank: 11 });
  }
};

export default [highlighting, sidebar, voilaWidgetLookup];
