// Bundles src/tableau.js with Tableau's Embedding API v3 (CommonJS on npm) into one ES module that anywidget loads.
// The output goes into the Python package (git-ignored; `make install` builds it), so no CDN is needed at run time.
import { build } from "esbuild";

await build({
  entryPoints: ["src/tableau.js"],
  outfile: "../codex_jupyter/widgets/static/tableau.js",
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "eof",
  logLevel: "warning",
});
