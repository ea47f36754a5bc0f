/**
 * `%%snowflake` cells are SQL: this CodeMirror 6 extension switches a cell's language to SQL while its text starts
 * with the magic, and back when it no longer does (as jupysql's plugin does for `%%sql`).
 *
 * The switch is a state field feeding CodeMirror's `language` facet at the highest precedence, so it follows every
 * edit without dispatching transactions of its own. Tokens of the SQL tree also get lezer's stable `tok-*` classes,
 * which themes and tests can rely on (JupyterLab's own highlight style uses generated class names).
 */
import { Extension, Prec, StateField, EditorState } from '@codemirror/state';
import { Language, language, languageDataProp, syntaxHighlighting } from '@codemirror/language';
import { classHighlighter } from '@lezer/highlight';

/** The cell magic this extension recognises. */
export const MAGIC = '%%snowflake';

/** How much of a document is read to decide: the magic must be on the first non-blank line. */
const HEAD = 256;

/**
 * Whether a cell's text runs as a `%%snowflake` cell magic.
 *
 * IPython drops leading blank lines, then needs the magic at column 0 followed by the end of the word.
 */
export function isSnowflakeCell(text: string): boolean {
  return /^(?:[ \t]*\r?\n)*%%snowflake(?=[\s]|$)/.test(text);
}

/** The CodeMirror extension that makes `%%snowflake` cells SQL, given JupyterLab's SQL language. */
export function snowflakeSql(sql: Language): Extension {
  const isSql = StateField.define<boolean>({
    create: state => isSnowflakeCell(head(state)),
    update: (value, tr) => (tr.docChanged ? isSnowflakeCell(head(tr.state)) : value)
  });
  const sqlLanguage = Prec.highest(language.computeN([isSql], state => (state.field(isSql) ? [sql] : [])));
  const sqlTokens = syntaxHighlighting({
    style: classHighlighter.style,
    scope: type => type.prop(languageDataProp) === sql.data
  });
  return [isSql, sqlLanguage, sqlTokens];
}

function head(state: EditorState): string {
  return state.doc.sliceString(0, HEAD);
}
