import { describe, expect, it } from 'vitest';

import { SERVER_MISSING, getJson, mapLoaded } from './api';
import {
  connectionsFrom,
  groupBySchema,
  jobOutputUrl,
  jobsFrom,
  notebookTitle,
  previewCell,
  searchTables,
  status,
  tablesFrom,
  voilaUrl,
  warehouses
} from './model';

const TABLES = [
  { database: 'demo_bank', schema: 'main', name: 'branches', kind: 'table' },
  { database: 'demo_bank', schema: 'main', name: 'daily_sales', kind: 'view' },
  { database: 'memory', schema: 'main', name: 'My Table', kind: 'table' }
];

describe('connectionsFrom', () => {
  it('reads a list, keeps only status and hint, and marks the active one', () => {
    const health = {
      active_connection: 'local',
      connections: [
        { name: 'local', kind: 'warehouse', configured: true, reachable: true, hint: 'embedded DuckDB' },
        { name: 'prod', kind: 'snowflake', configured: true, reachable: false, hint: 'timed out', password: 'hunter2' },
        { name: 'kafka', kind: 'kafka', configured: false, hint: 'set KAFKA_BOOTSTRAP_SERVERS' }
      ]
    };
    const rows = connectionsFrom(health);
    expect(rows.map(r => [r.name, status(r), r.active])).toEqual([
      ['local', 'ready', true],
      ['prod', 'unreachable', false],
      ['kafka', 'not configured', false]
    ]);
    expect(JSON.stringify(rows)).not.toContain('hunter2');
    expect(warehouses(rows).map(r => r.name)).toEqual(['local', 'prod']);
  });

  it('reads a map keyed by name and tolerates junk', () => {
    const rows = connectionsFrom({ connections: { looker: { kind: 'looker', configured: true }, bad: 3 } });
    expect(rows).toEqual([
      { name: 'looker', kind: 'looker', configured: true, reachable: null, hint: '', active: false }
    ]);
    expect(status(rows[0])).toBe('configured');
    expect(connectionsFrom('not json')).toEqual([]);
  });
});

describe('catalog', () => {
  it('reads flat records and a databases > schemas > tables tree alike', () => {
    const tree = {
      databases: [{ name: 'demo_bank', schemas: [{ name: 'main', tables: [{ name: 'branches' }, 'junk'] }] }]
    };
    expect(tablesFrom(tree)).toEqual([TABLES[0]]);
    expect(tablesFrom({ tables: TABLES })).toEqual(TABLES);
  });

  it('searches every word across database, schema and name', () => {
    expect(searchTables(TABLES, 'SALES').map(t => t.name)).toEqual(['daily_sales']);
    expect(searchTables(TABLES, 'demo main br').map(t => t.name)).toEqual(['branches']);
    expect(searchTables(TABLES, '  ')).toHaveLength(3);
    expect([...groupBySchema(TABLES).keys()]).toEqual(['demo_bank.main', 'memory.main']);
  });

  it('writes a preview cell on the chosen connection, quoting names SQL needs quoted', () => {
    expect(previewCell(TABLES[0], null)).toBe('%%snowflake\nselect *\nfrom demo_bank.main.branches\nlimit 100');
    expect(previewCell(TABLES[2], 'prod', 5)).toBe(
      '%%snowflake -c prod\nselect *\nfrom memory.main."My Table"\nlimit 5'
    );
  });
});

describe('dashboards and jobs', () => {
  it('titles a notebook by its first heading, else its file name', () => {
    const nb = {
      cells: [
        { cell_type: 'code', source: '# not markdown' },
        { cell_type: 'markdown', source: ['Intro\n', '## Branch **analytics** ##\n'] }
      ]
    };
    expect(notebookTitle('notebooks/analytics.ipynb', nb)).toBe('Branch **analytics**');
    expect(notebookTitle('notebooks/maps.ipynb', { cells: [] })).toBe('maps');
  });

  it('links to Voila and to a run output under the base URL', () => {
    expect(voilaUrl('/user/a', 'notebooks/My maps.ipynb')).toBe('/user/a/voila/render/notebooks/My%20maps.ipynb');
    expect(jobOutputUrl('/', 'j 1')).toBe('/codex/api/jobs/j%201/output');
  });

  it('reads jobs from a list or a {jobs} answer', () => {
    const job = { id: 'j1', notebook: 'analytics.ipynb', state: 'succeeded', created: '2026-01-01T00:00:00Z' };
    expect(jobsFrom({ jobs: [job] })).toEqual([job]);
    expect(jobsFrom([{ id: 'j2', status: 'running' }])).toEqual([
      { id: 'j2', notebook: '', state: 'running', created: '' }
    ]);
  });
});

describe('getJson', () => {
  const answering = (body: string, status: number) => async () => new Response(body, { status });

  it('tells a missing server extension (404) from an error', async () => {
    expect(await getJson(answering('not found', 404), 'codex/api/health')).toEqual({ state: 'missing' });
    expect(await getJson(answering('boom', 500), 'codex/api/health')).toMatchObject({ state: 'error' });
    expect(await getJson(answering('<html>', 200), 'codex/api/health')).toEqual({
      state: 'error',
      message: 'codex/api/health did not answer JSON'
    });
    const failing = async (): Promise<Response> => {
      throw new TypeError('network down');
    };
    expect(await getJson(failing, 'codex/api/health')).toMatchObject({ state: 'error' });
    expect(SERVER_MISSING).toContain('Server extension not available');
  });

  it('reads a JSON answer', async () => {
    const loaded = await getJson(answering('{"connections": []}', 200), 'codex/api/health');
    expect(mapLoaded(loaded, connectionsFrom)).toEqual({ state: 'ok', value: [] });
  });
});
