// Builds what the Python package ships as JavaScript (git-ignored; `make install` builds it), so no CDN is needed
// at run time:
// - src/tableau.js with Tableau's Embedding API v3 (CommonJS on npm), bundled into one ES module anywidget loads;
// - the runtime `codex-jupyter report` inlines into a report's HTML so its widgets render from their saved state,
//   offline: RequireJS and the Jupyter widgets HTML manager (its AMD build, which defines the base, controls and
//   output widget modules and loads any other widget module through RequireJS).
import { build, transform } from "esbuild";
import { readFile, writeFile } from "node:fs/promises";

const STATIC = "../codex_jupyter/widgets/static";

await build({
  entryPoints: ["src/tableau.js"],
  outfile: `${STATIC}/tableau.js`,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "eof",
  logLevel: "warning",
});

// Copied as they are published (RequireJS minified here: npm ships it readable); each keeps its licence comment.
const copies = [
  ["node_modules/requirejs/require.js", `${STATIC}/report-require.js`, true],
  ["node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js", `${STATIC}/report-html-manager.js`, false],
];
for (const [from, to, minify] of copies) {
  const code = await readFile(from, "utf8");
  const out = minify ? (await transform(code, { minify: true, legalComments: "inline" })).code : code;
  await writeFile(to, out);
}
