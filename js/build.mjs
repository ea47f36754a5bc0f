// Builds what the Python package ships as JavaScript (git-ignored; `make install` builds it), so no CDN is needed
// at run time:
// - src/tableau.js with Tableau's Embedding API v3 (CommonJS on npm), bundled into one ES module anywidget loads;
// - the runtime `codex-jupyter report` inlines into a report's HTML so its widgets render from their saved state,
//   offline: RequireJS and the Jupyter widgets HTML manager (its AMD build, which defines the base, controls and
//   output widget modules and loads any other widget module through RequireJS).
import { build, transform } from "esbuild";
import { readdir, readFile, writeFile } from "node:fs/promises";

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

// RequireJS minified here (npm ships it readable), with its licence comment.
const requirejs = await readFile("node_modules/requirejs/require.js", "utf8");
await writeFile(`${STATIC}/report-require.js`, (await transform(requirejs, { minify: true, legalComments: "inline" })).code);

// The HTML manager as published, but for its icon font (Font Awesome, for buttons with icons): a page inlines
// the manager, so the font files beside it on a CDN are not there. Each WOFF2 (the format every current browser
// takes first) becomes a data URL; the older formats after it in @font-face are never fetched.
const MANAGER = "node_modules/@jupyter-widgets/html-manager/dist";
let manager = await readFile(`${MANAGER}/embed-amd.js`, "utf8");
for (const font of (await readdir(MANAGER)).filter((name) => name.endsWith(".woff2"))) {
  const url = `"data:font/woff2;base64,${(await readFile(`${MANAGER}/${font}`)).toString("base64")}"`;
  const references = new RegExp(`\\w+\\.p\\+"${font.replace(".", "\\.")}"`, "g");
  if (!references.test(manager)) throw new Error(`html-manager: no reference to ${font}; check its build`);
  manager = manager.replace(references, url);
}
await writeFile(`${STATIC}/report-html-manager.js`, manager);
