/**
 * The sidebar's logic, free of JupyterLab and the DOM so it is unit-tested on its own: reading the server API's JSON
 * (codex_jupyter/server/handlers.py is the contract) into rows, searching the catalog, and writing the cells the
 * sidebar inserts.
 *
 * Only fields named here are ever read from the API's answers, so whatever else a payload carries (a stray
 * credential included) never reaches the page.
 */

/** One surface of `GET /codex/api/health` (warehouse, geocoding, routing, kafka, mqtt, kinesis). */
export interface Surface {
  name: string;
  /** configured, embedded, available, missing-extra or error */
  state: string;
  /** one line: what serves it, or what to do about it */
  detail: string;
}

/** The connection names `%%snowflake -c` takes, and the one a cell without `-c` uses. */
export interface Warehouses {
  names: string[];
  active: string;
}

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
}

/** A table or view of the warehouse, with its columns (the catalog sends both in one answer). */
export interface TableRef {
  database: string;
  schema: string;
  name: string;
  kind: string;
  columns: Column[];
}

/** A curated notebook from `GET /codex/api/dashboards`; `path` is null when Jupyter cannot open it. */
export interface Dashboard {
  name: string;
  title: string;
  description: string;
  path: string | null;
}

/** One run from the jobs API. */
export interface Job {
  id: string;
  notebook: string;
  state: string;
  createdAt: string;
  error: string;
}

/** The embedded warehouse's connection name. */
export const LOCAL = 'local';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : fallback;
}

function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function surfaceMap(health: unknown): Json {
  return isObject(health) && isObject(health.surfaces) ? health.surfaces : {};
}

/** Each surface of a health answer, in the server's order. */
export function surfacesFrom(health: unknown): Surface[] {
  return Object.entries(surfaceMap(health))
    .filter(([, s]) => isObject(s))
    .map(([name, s]) => ({ name, state: text((s as Json).state, 'unknown'), detail: text((s as Json).detail) }));
}

/** The warehouse connections of a health answer: `local` at least; the active one is Snowflake's when configured. */
export function warehousesFrom(health: unknown): Warehouses {
  const warehouse = surfaceMap(health).warehouse;
  if (!isObject(warehouse)) {
    return { names: [LOCAL], active: LOCAL };
  }
  const listed = Array.isArray(warehouse.connections) ? warehouse.connections.filter(n => typeof n === 'string') : [];
  const active = warehouse.backend === 'snowflake' ? text(warehouse.connection, LOCAL) : LOCAL;
  return { names: listed.length ? listed : [LOCAL], active };
}

/** The tables of a catalog answer, each with its columns. */
export function tablesFrom(catalog: unknown): TableRef[] {
  return records(isObject(catalog) ? catalog.tables : undefined).map(t => ({
    database: text(t.database),
    schema: text(t.schema),
    name: text(t.name),
    kind: text(t.kind, 'table'),
    columns: records(t.columns).map(c => ({ name: text(c.name), type: text(c.type), nullable: c.nullable !== false }))
  }));
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

/** The curated notebooks of a dashboards answer, in the server's order. */
export function dashboardsFrom(answer: unknown): Dashboard[] {
  return records(isObject(answer) ? answer.dashboards : undefined).map(d => {
    const name = text(d.name);
    return {
      name,
      title: text(d.title) || name.replace(/\.ipynb$/, ''),
      description: text(d.description),
      path: typeof d.path === 'string' && d.path ? d.path : null
    };
  });
}

/** Where Voila renders a notebook of the server's root (`voila/render/...`, each path segment escaped). */
export function voilaUrl(baseUrl: string, path: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return `${base}voila/render/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The runs of a jobs answer, newest first as the API sends them. */
export function jobsFrom(answer: unknown): Job[] {
  return records(isObject(answer) ? answer.jobs : undefined).map(j => ({
    id: text(j.id),
    notebook: text(j.notebook),
    state: text(j.state, 'unknown'),
    createdAt: text(j.created_at),
    error: text(j.error)
  }));
}

/** Whether a run has an executed notebook to download (the API answers 409 before it has finished). */
export function finished(job: Job): boolean {
  return job.state === 'succeeded' || job.state === 'failed';
}

/** An API time (ISO 8601, UTC) as `YYYY-MM-DD HH:MM UTC`; anything else as it came. */
export function shortTime(iso: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

/** Where the jobs API serves a run's executed notebook. */
export function jobOutputUrl(baseUrl: string, id: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return `${base}codex/api/jobs/${encodeURIComponent(id)}/output`;
}

/** The source of a new analysis notebook's first cells. */
export const NEW_ANALYSIS_CELLS = ['%load_ext codex_jupyter', '%%snowflake\nselect *\nfrom branches\nlimit 10'];
