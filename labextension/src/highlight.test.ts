import { describe, expect, it } from 'vitest';
import { EditorState } from '@codemirror/state';
import { language, syntaxTree } from '@codemirror/language';
import { python, pythonLanguage } from '@codemirror/lang-python';
import { StandardSQL } from '@codemirror/lang-sql';

import { isSnowflakeCell, snowflakeSql } from './highlight';

const sql = StandardSQL.language;

function editor(doc: string): EditorState {
  return EditorState.create({ doc, extensions: [python(), snowflakeSql(sql)] });
}

describe('isSnowflakeCell', () => {
  it.each([
    '%%snowflake\nselect 1',
    '%%snowflake -o df\nselect 1',
    '%%snowflake',
    '\n  \n%%snowflake\nselect 1'
  ])('accepts what IPython runs as the magic: %j', text => {
    expect(isSnowflakeCell(text)).toBe(true);
  });

  it.each(['%%snowflakes\nselect 1', ' %%snowflake\nselect 1', 'x = 1\n%%snowflake', '%snowflake select 1', ''])(
    'rejects what IPython would not: %j',
    text => {
      expect(isSnowflakeCell(text)).toBe(false);
    }
  );
});

describe('snowflakeSql', () => {
  it('makes a %%snowflake cell SQL and leaves Python cells Python', () => {
    expect(editor('%%snowflake\nselect 1').facet(language)).toBe(sql);
    expect(editor('select = 1').facet(language)).toBe(pythonLanguage);
  });

  it('follows edits that add and remove the magic', () => {
    let state = editor('select * from branches');
    state = state.update({ changes: { from: 0, insert: '%%snowflake\n' } }).state;
    expect(state.facet(language)).toBe(sql);
    expect(syntaxTree(state).type.name).toBe('Script');
    expect(syntaxTree(state).toString()).toContain('Keyword');
    state = state.update({ changes: { from: 0, to: 2, insert: '' } }).state;
    expect(state.facet(language)).toBe(pythonLanguage);
  });
});
