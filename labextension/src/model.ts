/**
 * The sidebar's logic, free of JupyterLab and the DOM so it is unit-tested on its own: reading the server API's JSON
 * into rows, searching the catalog, and writing the cells the sidebar inserts.
 *
 * Only fields named here are ever read from the API's answers, so whatever else a payload carries (a stray
 * credential included) never reaches the page.
 */

/** One configured or configurable connection, as the health API reports it: a status and a hint, never a secret. */
export interface Connection {
  name: string;
  kind: string;
  configured: boolean;
  reachable: boolean | null;
  hint: string;
  active: boolean;
}

/** A table or view of the active warehouse. */
export interface TableRef {
  database: string;
  schema: string;
  name: string;
  kind: string;
}

export interface Column {
  name: string;
  type: string;
}

/** A curated notebook shown under Dashboards. */
export interface Dashboard {
  path: string;
  title: string;
}

/** One run from the jobs API. */
export interface Job {
  id: string;
  notebook: string;
  state: string;
  created: string;
}

/** Kinds that answer `%%snowflake`: the selector offers these. */
const WAREHOUSE_KINDS = new Set(['warehouse', 'snowflake', 'local', 'duckdb']);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : fallback;
}

function flag(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

function records(value: unknown): Json[] {
  if (Array.isArray(value)) {
    return value.filter(isObject);
  }
  if (isObject(value)) {
    // `{name: {...}}` maps: the key is the name
    return Object.entries(value)
      .filter(([, v]) => isObject(v))
      .map(([name, v]) => ({ name, ...(v as Json) }));
  }
  return [];
}

/** The connections in a health answer (`connections` as a list of records or a map by name). */
export function connectionsFrom(health: unknown): Connection[] {
  if (!isObject(health)) {
    return [];
  }
  const active = text(health.active_connection ?? health.active);
  return records(health.connections).map(c => {
    const name = text(c.name, '?');
    return {
      name,
      kind: text(c.kind ?? c.type, 'service'),
      configured: flag(c.configured) ?? false,
      reachable: flag(c.reachable),
      hint: text(c.hint ?? c.detail ?? c.message),
      active: flag(c.active) ?? (active !== '' && active === name)
    };
  });
}

/** Connections a `%%snowflake` cell can name with `-c`. */
export function warehouses(connections: Connection[]): Connection[] {
  return connections.filter(c => WAREHOUSE_KINDS.has(c.kind.toLowerCase()));
}

/** One word for a connection's state: what a reader scans the list for. */
export function status(c: Connection): 'ready' | 'unreachable' | 'not configured' | 'configured' {
  if (!c.configured) {
    return 'not configured';
  }
  return c.reachable === true ? 'ready' : c.reachable === false ? 'unreachable' : 'configured';
}

/** The tables in a catalog answer: flat `tables` records, or a `databases > schemas > tables` tree. */
export function tablesFrom(catalog: unknown): TableRef[] {
  if (!isObject(catalog)) {
    return [];
  }
  if (catalog.tables !== undefined) {
    return records(catalog.tables).map(t => ({
      database: text(t.database),
      schema: text(t.schema),
      name: text(t.name),
      kind: text(t.kind, 'table')
    }));
  }
  return records(catalog.databases).flatMap(db =>
    records(db.schemas).flatMap(schema =>
      records(schema.tables).map(t => ({
        database: text(db.name),
        schema: text(schema.name),
        name: text(t.name),
        kind: text(t.kind, 'table')
      }))
    )
  );
}

export function columnsFrom(answer: unknown): Column[] {
  return isObject(answer) ? records(answer.columns).map(c => ({ name: text(c.name), type: text(c.type) })) : [];
}

/** `database.schema.table`, leaving out empty parts. */
export function qualifiedName(t: TableRef): string {
  return [t.database, t.schema, t.name].filter(Boolean).map(quoteIdentifier).join('.');
}

/** An identifier as SQL needs it: bare when it is a plain word, double-quoted otherwise. */
export function quoteIdentifier(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** Tables whose name, schema or database contains every word of the query (case-insensitive). */
export function searchTables(tables: TableRef[], query: string): TableRef[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return tables.filter(t => {
    const haystack = `${t.database}.${t.schema}.${t.name}`.toLowerCase();
    return words.every(w => haystack.includes(w));
  });
}

/** Tables grouped by `database.schema`, in the order the catalog gave them. */
export function groupBySchema(tables: TableRef[]): Map<string, TableRef[]> {
  const groups = new Map<string, TableRef[]>();
  for (const t of tables) {
    const key = [t.database, t.schema].filter(Boolean).join('.');
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return groups;
}

/** The cell a click on a table inserts: a `%%snowflake` preview on the selected connection. */
export function previewCell(table: TableRef, connection: string | null, rows = 100): string {
  const options = connection ? ` -c ${connection}` : '';
  return `%%snowflake${options}\nselect *\nfrom ${qualifiedName(table)}\nlimit ${rows}`;
}

/** A notebook's title: its first Markdown heading, else its file name without `.ipynb`. */
export function notebookTitle(path: string, notebook: unknown): string {
  const cells = isObject(notebook) && Array.isArray(notebook.cells) ? notebook.cells.filter(isObject) : [];
  for (const cell of cells) {
    if (cell.cell_type !== 'markdown') {
      continue;
    }
    const source = Array.isArray(cell.source) ? cell.source.join('') : text(cell.source);
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/m.exec(source);
    if (heading) {
      return heading[1];
    }
  }
  return (path.split('/').pop() ?? path).replace(/\.ipynb$/, '');
}

/** Where Voila renders a notebook of the server's root (`voila/render/...`, each path segment escaped). */
export function voilaUrl(baseUrl: string, path: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return `${base}voila/render/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The runs in a jobs answer (`jobs` list, or the list itself), newest first as the API sends them. */
export function jobsFrom(answer: unknown): Job[] {
  const list = Array.isArray(answer) ? answer : isObject(answer) ? answer.jobs : [];
  return records(list).map(j => ({
    id: text(j.id),
    notebook: text(j.notebook ?? j.name),
    state: text(j.state ?? j.status, 'unknown'),
    created: text(j.created ?? j.created_at ?? j.submitted)
  }));
}

/** Where the jobs API serves a run's executed notebook. */
export function jobOutputUrl(baseUrl: string, id: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return `${base}codex/api/jobs/${encodeURIComponent(id)}/output`;
}

/** The source of a new analysis notebook's first cells. */
export const NEW_ANALYSIS_CELLS = ['%load_ext codex_jupyter', '%%snowflake\nselect *\nfrom branches\nlimit 10'];
