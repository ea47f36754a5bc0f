import { describe, expect, it } from 'vitest';

import { SERVER_MISSING, dashboardPath, getJson, mapLoaded } from './api';
import {
  dashboardsFrom,
  finished,
  groupBySchema,
  jobOutputUrl,
  jobsFrom,
  previewCell,
  searchTables,
  shortTime,
  surfacesFrom,
  tablesFrom,
  voilaUrl,
  warehousesFrom
} from './model';

// Answers in the shapes codex_jupyter/server/handlers.py sends (see tests/integration/server/test_api.py).
const HEALTH = {
  status: 'ok',
  version: '0.1.0',
  surfaces: {
    warehouse: {
      state: 'configured',
      backend: 'snowflake',
      connection: 'prod',
      connections: ['local', 'dev', 'prod'],
      detail: "Snowflake acme (connection 'prod')",
      password: 'hunter2'
    },
    geocoding: { state: 'embedded', providers: ['offline'], detail: 'providers in order: offline' },
    routing: { state: 'embedded', detail: 'great-circle distances (set CODEX_JUPYTER_OSRM_URL for road distances)' },
    kafka: { state: 'missing-extra', detail: "needs the [kafka] extra: pip install 'codex-jupyter[kafka]'" },
    mqtt: { state: 'available', detail: "mqtt:// streams with the client's default settings" },
    kinesis: { state: 'error', detail: 'the kinesis configuration could not be read (ValueError)' }
  },
  extras: { kafka: false, jobs: true },
  jobs: { available: true, max_concurrent: 2, timeout_seconds: 3600, queued: 0, running: 0, succeeded: 1, failed: 0 }
};

const column = (name: string, type: string, nullable = true) => ({ name, type, nullable });
const CATALOG = {
  warehouse: 'embedded local DuckDB warehouse',
  kind: 'local',
  tables: [
    {
      database: 'demo_bank',
      schema: 'main',
      name: 'branches',
      kind: 'table',
      columns: [column('branch_id', 'VARCHAR', false), column('lat', 'DOUBLE')]
    },
    { database: 'demo_bank', schema: 'main', name: 'daily_sales', kind: 'view', columns: [column('day', 'DATE')] },
    { database: 'memory', schema: 'main', name: 'My Table', kind: 'table', columns: [] }
  ]
};
const TABLES = tablesFrom(CATALOG);

describe('health', () => {
  it('gives one row per surface with its state and detail, and never a field it does not name', () => {
    const rows = surfacesFrom(HEALTH);
    expect(rows.map(r => [r.name, r.state])).toEqual([
      ['warehouse', 'configured'],
      ['geocoding', 'embedded'],
      ['routing', 'embedded'],
      ['kafka', 'missing-extra'],
      ['mqtt', 'available'],
      ['kinesis', 'error']
    ]);
    expect(rows[3].detail).toBe("needs the [kafka] extra: pip install 'codex-jupyter[kafka]'");
    expect(JSON.stringify(rows)).not.toContain('hunter2');
    expect(surfacesFrom('not json')).toEqual([]);
    expect(surfacesFrom({ surfaces: { bad: 3, odd: {} } })).toEqual([{ name: 'odd', state: 'unknown', detail: '' }]);
  });

  it('offers the connection names and knows the active one', () => {
    expect(warehousesFrom(HEALTH)).toEqual({ names: ['local', 'dev', 'prod'], active: 'prod' });
    const local = { state: 'embedded', backend: 'local', connections: ['local', 'fake'] };
    expect(warehousesFrom({ surfaces: { warehouse: local } })).toEqual({ names: ['local', 'fake'], active: 'local' });
    // a warehouse whose configuration failed lists nothing: the embedded one stays
    expect(warehousesFrom({ surfaces: { warehouse: { state: 'error', detail: 'bad toml' } } })).toEqual({
      names: ['local'],
      active: 'local'
    });
  });
});

describe('catalog', () => {
  it('reads the tables with their columns from one answer', () => {
    expect(TABLES.map(t => [t.name, t.kind, t.columns.length])).toEqual([
      ['branches', 'table', 2],
      ['daily_sales', 'view', 1],
      ['My Table', 'table', 0]
    ]);
    expect(TABLES[0].columns[0]).toEqual({ name: 'branch_id', type: 'VARCHAR', nullable: false });
    expect(tablesFrom({ tables: [{ name: 't' }, 'junk'] })).toEqual([
      { database: '', schema: '', name: 't', kind: 'table', columns: [] }
    ]);
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
  it('reads the dashboards, with no path where Jupyter cannot open one', () => {
    const analytics = {
      name: 'analytics.ipynb',
      title: 'Demo Bank — analytics',
      description: 'SQL',
      path: 'notebooks/analytics.ipynb'
    };
    const answer = { dashboards: [analytics, { name: 'maps.ipynb', title: '', description: '', path: null }] };
    const maps = { name: 'maps.ipynb', title: 'maps', description: '', path: null };
    expect(dashboardsFrom(answer)).toEqual([analytics, maps]);
  });

  it('links to Voila and to a run output under the base URL', () => {
    expect(voilaUrl('/user/a', 'notebooks/My maps.ipynb')).toBe('/user/a/voila/render/notebooks/My%20maps.ipynb');
    expect(jobOutputUrl('/', 'j 1')).toBe('/codex/api/jobs/j%201/output');
  });

  it('reads jobs with their creation time, and knows which have an output', () => {
    const job = {
      id: 'j1',
      notebook: 'analytics.ipynb',
      parameters: { country: 'US' },
      idempotency_key: null,
      state: 'failed',
      created_at: '2026-01-31T06:00:01.250000+00:00',
      started_at: '2026-01-31T06:00:02+00:00',
      finished_at: '2026-01-31T06:00:09+00:00',
      queued_seconds: 0.75,
      run_seconds: 7,
      error: 'cell 3 raised ValueError: no rows'
    };
    const [read] = jobsFrom({ jobs: [job] });
    expect(read).toEqual({
      id: 'j1',
      notebook: 'analytics.ipynb',
      state: 'failed',
      createdAt: job.created_at,
      error: job.error
    });
    expect(shortTime(read.createdAt)).toBe('2026-01-31 06:00 UTC');
    expect(finished(read)).toBe(true);
    expect(finished({ ...read, state: 'running' })).toBe(false);
    expect(jobsFrom({ jobs: [{ id: 'j2', state: 'queued', error: null }] })[0]).toMatchObject({ error: '' });
  });
});

describe('getJson', () => {
  const answering = (body: string, status: number) => async () => new Response(body, { status });

  it('tells a missing server extension (Jupyter 404) from an error', async () => {
    expect(await getJson(answering('<html>404 : Not Found</html>', 404), 'codex/api/health')).toEqual({
      state: 'missing'
    });
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

  it("shows codex-jupyter's own error message, a 404 included (not a missing API)", async () => {
    const error = { message: "unknown connection 'gone'", reason: 'Not Found', error: 'UnknownConnectionError' };
    const unknown = JSON.stringify(error);
    expect(await getJson(answering(unknown, 404), 'codex/api/catalog?connection=gone')).toEqual({
      state: 'error',
      message: "codex/api/catalog?connection=gone: unknown connection 'gone'"
    });
  });

  it('reads a JSON answer', async () => {
    const loaded = await getJson(answering(JSON.stringify(HEALTH), 200), 'codex/api/health');
    expect(mapLoaded(loaded, surfacesFrom)).toMatchObject({ state: 'ok', value: { length: 6 } });
  });
});

describe('dashboardPath', () => {
  const calls: [string, RequestInit | undefined][] = [];
  const answering = (body: unknown, status: number) => async (path: string, init?: RequestInit) => {
    calls.push([path, init]);
    return new Response(JSON.stringify(body), { status });
  };

  it('opens a dashboard inside the root where it is, asking the server nothing', async () => {
    calls.length = 0;
    const d = { name: 'maps.ipynb', path: 'notebooks/maps.ipynb' };
    expect(await dashboardPath(answering({}, 500), d)).toEqual({ state: 'ok', value: 'notebooks/maps.ipynb' });
    expect(calls).toEqual([]);
  });

  it('has the server copy a dashboard outside the root, and opens the copy', async () => {
    calls.length = 0;
    const fetcher = answering({ path: 'codex-dashboards/My maps.ipynb' }, 200);
    expect(await dashboardPath(fetcher, { name: 'My maps.ipynb', path: null })).toEqual({
      state: 'ok',
      value: 'codex-dashboards/My maps.ipynb'
    });
    expect(calls).toEqual([['codex/api/dashboards/My%20maps.ipynb/copy', { method: 'POST' }]]);
  });

  it("says why when the server cannot copy it: the server's message, or an older server", async () => {
    const unknown = { message: "no notebook named 'gone.ipynb'", reason: 'Not Found', error: 'NotebookNotFound' };
    expect(await dashboardPath(answering(unknown, 404), { name: 'gone.ipynb', path: null })).toEqual({
      state: 'error',
      message: "codex/api/dashboards/gone.ipynb/copy: no notebook named 'gone.ipynb'"
    });
    const older = await dashboardPath(answering('Not Found', 404), { name: 'maps.ipynb', path: null });
    expect(older).toMatchObject({ state: 'error', message: expect.stringContaining('upgrade codex-jupyter') });
  });
});
