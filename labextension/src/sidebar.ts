/**
 * The Codex sidebar: Connections, Catalog, Dashboards and Jobs, each loaded from the server API and each saying
 * plainly when that API is missing. Plain DOM inside one Lumino widget: the lists are short and the logic lives in
 * model.ts.
 */
import { Widget } from '@lumino/widgets';

import { Fetcher, Loaded, SERVER_MISSING, dashboardPath, getJson, mapLoaded } from './api';
import {
  Dashboard,
  Job,
  Surface,
  TableRef,
  Warehouses,
  dashboardsFrom,
  finished,
  groupBySchema,
  jobOutputUrl,
  jobsFrom,
  qualifiedName,
  searchTables,
  shortTime,
  surfacesFrom,
  tablesFrom,
  voilaUrl,
  warehousesFrom
} from './model';

/** What the sidebar needs from JupyterLab, passed in so the widget knows no application object. */
export interface ISidebarHost {
  fetcher: Fetcher;
  baseUrl: string;
  insertPreview(table: TableRef, connection: string | null): void;
  openNotebook(path: string): void;
  /** The connection new `%%snowflake` cells use (null: the default). */
  connection: { get(): string | null; set(name: string | null): void };
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = '',
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  node.append(...children);
  return node;
}

/** The line shown instead of a list when it could not be loaded. */
function notice(loaded: Loaded<unknown>): HTMLElement | null {
  if (loaded.state === 'missing') {
    return el('p', 'codex-notice codex-server-missing', SERVER_MISSING);
  }
  if (loaded.state === 'error') {
    return el('p', 'codex-notice codex-error', loaded.message);
  }
  return null;
}

export class CodexSidebar extends Widget {
  private readonly host: ISidebarHost;
  private readonly sections: Record<'connections' | 'catalog' | 'dashboards' | 'jobs', HTMLElement>;
  private tables: TableRef[] = [];
  private query = '';

  constructor(host: ISidebarHost) {
    super();
    this.host = host;
    this.id = 'codex-sidebar';
    this.addClass('codex-sidebar');
    this.title.caption = 'Codex';
    const refresh = el('button', 'jp-Button codex-refresh', 'Refresh');
    refresh.onclick = () => void this.refresh();
    this.sections = {
      connections: el('section', 'codex-section codex-connections'),
      catalog: el('section', 'codex-section codex-catalog'),
      dashboards: el('section', 'codex-section codex-dashboards'),
      jobs: el('section', 'codex-section codex-jobs')
    };
    this.node.append(el('header', 'codex-header', '', el('h2', '', 'Codex'), refresh), ...Object.values(this.sections));
  }

  /** Load every section again (each on its own: one failing leaves the others). */
  async refresh(): Promise<void> {
    await Promise.all([this.loadConnections(), this.loadCatalog(), this.loadDashboards(), this.loadJobs()]);
  }

  private heading(section: HTMLElement, title: string): void {
    section.replaceChildren(el('h3', 'codex-section-title', title));
  }

  private async loadConnections(): Promise<void> {
    const health = await getJson(this.host.fetcher, 'codex/api/health');
    const section = this.sections.connections;
    this.heading(section, 'Connections');
    const problem = notice(health);
    if (problem || health.state !== 'ok') {
      section.append(problem ?? '');
      return;
    }
    const rows = surfacesFrom(health.value).map(surfaceRow);
    section.append(this.selector(warehousesFrom(health.value)), el('ul', 'codex-list', '', ...rows));
  }

  /** The connection new `%%snowflake` cells (and the catalog) use: changing it reloads the catalog. */
  private selector(warehouses: Warehouses): HTMLElement {
    const select = el('select', 'jp-mod-styled codex-connection-select');
    const chosen = this.host.connection.get();
    select.append(el('option', '', `default (${warehouses.active})`));
    select.options[0].value = '';
    for (const name of warehouses.names) {
      const option = el('option', '', name);
      option.value = name;
      option.selected = name === chosen;
      select.append(option);
    }
    select.onchange = () => {
      this.host.connection.set(select.value || null);
      void this.loadCatalog();
    };
    return el('label', 'codex-connection-picker', 'New %%snowflake cells use ', select);
  }

  private async loadCatalog(): Promise<void> {
    const connection = this.host.connection.get();
    const path = connection ? `codex/api/catalog?connection=${encodeURIComponent(connection)}` : 'codex/api/catalog';
    const loaded = mapLoaded(await getJson(this.host.fetcher, path), tablesFrom);
    const section = this.sections.catalog;
    this.heading(section, 'Catalog');
    const problem = notice(loaded);
    if (problem || loaded.state !== 'ok') {
      section.append(problem ?? '');
      return;
    }
    this.tables = loaded.value;
    const search = el('input', 'jp-mod-styled codex-catalog-search');
    search.type = 'search';
    search.placeholder = 'Search tables';
    search.value = this.query;
    const tree = el('div', 'codex-catalog-tree');
    search.oninput = () => {
      this.query = search.value;
      this.renderTree(tree);
    };
    section.append(search, tree);
    this.renderTree(tree);
  }

  private renderTree(tree: HTMLElement): void {
    const found = searchTables(this.tables, this.query);
    if (found.length === 0) {
      tree.replaceChildren(el('p', 'codex-notice', this.tables.length ? 'No table matches.' : 'No tables.'));
      return;
    }
    const groups = [...groupBySchema(found)].map(([schema, tables]) => {
      const group = el('details', 'codex-schema', '', el('summary', '', schema || 'tables'));
      group.open = true;
      group.append(el('ul', 'codex-list', '', ...tables.map(t => this.tableRow(t))));
      return group;
    });
    tree.replaceChildren(...groups);
  }

  private tableRow(table: TableRef): HTMLElement {
    const insert = el('button', 'codex-table', table.name);
    insert.title = `Insert a %%snowflake preview of ${qualifiedName(table)} below the active cell`;
    insert.onclick = () => this.host.insertPreview(table, this.host.connection.get());
    const columns = el('details', 'codex-columns', '', el('summary', '', `${table.columns.length} columns`));
    columns.ontoggle = () => {
      // drawn on first open only: the catalog already holds them, a long catalog need not draw them all
      if (columns.open && columns.childElementCount === 1) {
        columns.append(el('ul', 'codex-list codex-column-list', '', ...table.columns.map(columnRow)));
      }
    };
    return el('li', 'codex-table-row', '', insert, el('span', 'codex-kind', table.kind), columns);
  }

  private async loadDashboards(): Promise<void> {
    const loaded = mapLoaded(await getJson(this.host.fetcher, 'codex/api/dashboards'), dashboardsFrom);
    const section = this.sections.dashboards;
    this.heading(section, 'Dashboards');
    const problem = notice(loaded);
    if (problem || loaded.state !== 'ok') {
      section.append(problem ?? '');
      return;
    }
    const rows = loaded.value.map(d => this.dashboardRow(d));
    section.append(rows.length ? el('ul', 'codex-list', '', ...rows) : el('p', 'codex-notice', 'No dashboards.'));
  }

  private dashboardRow(d: Dashboard): HTMLElement {
    const about = el('div', 'codex-hint codex-description', d.description);
    about.title = d.description;
    const problem = el('div', 'codex-hint codex-error');
    const where = d.path ?? `codex-dashboards/${d.name} (a copy of the installed notebook; an existing copy is kept)`;
    // outside the server's root the server copies the notebook in first, then it opens like any other
    const path = async (): Promise<string | null> => {
      const loaded = await dashboardPath(this.host.fetcher, d);
      problem.textContent = loaded.state === 'error' ? loaded.message : '';
      return loaded.state === 'ok' ? loaded.value : null;
    };
    const open = el('button', 'codex-dashboard', d.title);
    open.title = `Open ${where} as a notebook`;
    open.onclick = async () => {
      const found = await path();
      if (found) {
        this.host.openNotebook(found);
      }
    };
    const voila = el('a', 'codex-voila', 'Voila');
    voila.title = `Open ${where} in Voila`;
    voila.target = '_blank';
    voila.rel = 'noopener';
    if (d.path !== null) {
      voila.href = voilaUrl(this.host.baseUrl, d.path);
    } else {
      voila.href = '#';
      voila.onclick = async event => {
        event.preventDefault();
        const tab = window.open('about:blank', '_blank'); // opened on the click itself, so no popup blocker stops it
        const found = await path();
        if (tab && found) {
          tab.opener = null;
          tab.location.href = voilaUrl(this.host.baseUrl, found);
        } else {
          tab?.close();
        }
      };
    }
    return el('li', 'codex-dashboard-row', '', open, voila, about, problem);
  }

  private async loadJobs(): Promise<void> {
    const loaded = mapLoaded(await getJson(this.host.fetcher, 'codex/api/jobs'), jobsFrom);
    const section = this.sections.jobs;
    this.heading(section, 'Jobs');
    const problem = notice(loaded);
    if (problem || loaded.state !== 'ok') {
      section.append(problem ?? '');
      return;
    }
    const rows = loaded.value.map(job => this.jobRow(job));
    section.append(rows.length ? el('ul', 'codex-list', '', ...rows) : el('p', 'codex-notice', 'No runs yet.'));
  }

  private jobRow(job: Job): HTMLElement {
    const row = el(
      'li',
      'codex-job-row',
      '',
      el('span', 'codex-job-notebook', job.notebook || job.id),
      el('span', `codex-state codex-state-${job.state.toLowerCase()}`, job.state),
      el('span', 'codex-job-created', shortTime(job.createdAt))
    );
    if (finished(job)) {
      const output = el('a', 'codex-job-output', 'output');
      output.href = jobOutputUrl(this.host.baseUrl, job.id);
      output.target = '_blank';
      output.rel = 'noopener';
      row.append(output);
    }
    if (job.error) {
      row.append(el('div', 'codex-hint codex-job-error', job.error));
    }
    return row;
  }
}

/** A surface: its name, its state (configured, embedded, available, missing-extra, error) and what serves it. */
function surfaceRow(s: Surface): HTMLElement {
  return el(
    'li',
    `codex-connection codex-surface-${s.name}`,
    '',
    el('span', 'codex-connection-name', s.name),
    el('span', `codex-state codex-state-${s.state}`, s.state),
    el('div', 'codex-hint', s.detail)
  );
}

function columnRow(c: { name: string; type: string; nullable: boolean }): HTMLElement {
  return el('li', '', `${c.name} `, el('code', '', c.nullable ? c.type : `${c.type} not null`));
}
