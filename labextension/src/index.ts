/**
 * codex-jupyter's JupyterLab 4 extension.
 *
 * Every plugin requires only what Voila also provides and takes the rest as optional, so the same bundle loads in
 * Voila (which loads labextensions too) without errors and simply adds nothing there.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { EditorExtensionRegistry, IEditorExtensionRegistry, IEditorLanguageRegistry } from '@jupyterlab/codemirror';

import { snowflakeSql } from './highlight';

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
    const extension = snowflakeSql(sql.support.language);
    extensions.addExtension({
      name: 'codex-jupyter:snowflake-sql',
      factory: () => EditorExtensionRegistry.createImmutableExtension(extension)
    });
  }
};

export default [highlighting];
