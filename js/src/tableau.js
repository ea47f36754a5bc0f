// The TableauView widget: one <tableau-viz> from Tableau's Embedding API v3, signed in with a token the kernel mints
// for each load. Events go to Python as {type: "event"}; Python's commands come back as {type: "command"}.

const EVENTS = ["firstinteractive", "markselectionchanged", "filterchanged", "tabswitched", "parameterchanged", "vizloaderror"];

// The bundled library runs only when first needed, so library="server" can load the server's own copy instead.
let bundled = null;
function loadLibrary(model) {
  if (model.get("library") === "server") {
    return import(/* @vite-ignore */ model.get("library_url"));
  }
  bundled = bundled || Promise.resolve(require("@tableau/embedding-api"));
  return bundled;
}

// What each event carries to Python, read through the library's own event detail objects.
const DETAIL = {
  firstinteractive: async () => ({}),
  markselectionchanged: async (d) => {
    const marks = await d.getMarksAsync();
    return { worksheet: d.worksheet ? d.worksheet.name : null, tables: marks.data.map(table) };
  },
  filterchanged: async (d) => {
    const f = await d.getFilterAsync();
    const values = (f.appliedValues || []).map((v) => v.value);
    return { worksheet: d.worksheet ? d.worksheet.name : null, field: f.fieldName, type: f.filterType, values };
  },
  tabswitched: async (d) => ({ old: d.oldSheetName, new: d.newSheetName }),
  parameterchanged: async (d) => {
    const p = await d.getParameterAsync();
    return { name: p.name, value: p.currentValue ? p.currentValue.value : null };
  },
  vizloaderror: async (d) => ({ code: d.errorCode, message: String(d.message || "") }),
};

function table(t) {
  return {
    name: t.name,
    columns: t.columns.map((c) => c.fieldName),
    types: t.columns.map((c) => c.dataType),
    rows: t.data.map((row) => row.map((v) => (v.value === undefined ? null : v.value))),
  };
}

function worksheets(viz) {
  const sheet = viz.workbook.activeSheet;
  return sheet.sheetType === "dashboard" ? sheet.worksheets : [sheet];
}

const COMMANDS = {
  apply_filter: (viz, c) => Promise.all(worksheets(viz).map((s) => s.applyFilterAsync(c.field, c.values, c.mode))),
  clear_filter: (viz, c) => Promise.all(worksheets(viz).map((s) => s.clearFilterAsync(c.field))),
  refresh: (viz) => viz.refreshDataAsync(),
};

function render({ model, el }) {
  el.classList.add("codex-tableau");
  const status = document.createElement("div");
  status.className = "codex-tableau-status";
  const holder = document.createElement("div");
  el.append(status, holder);
  let viz = null;
  let interactive = null;
  let markInteractive = null;
  const waiting = [];

  const showError = () => {
    const text = model.get("error");
    status.textContent = text;
    status.classList.toggle("codex-tableau-error", Boolean(text));
  };
  model.on("change:error", showError);
  showError();

  async function load() {
    await loadLibrary(model);
    const token = await new Promise((resolve) => {
      waiting.push(resolve);
      model.send({ type: "token" });
    });
    if (token === null) return; // the kernel could not mint one: it has set `error`, shown above
    if (viz) viz.remove();
    interactive = new Promise((resolve) => (markInteractive = resolve));
    viz = document.createElement("tableau-viz");
    for (const [name, value] of Object.entries(model.get("attributes"))) viz.setAttribute(name, value);
    viz.setAttribute("token", token);
    for (const [field, values] of Object.entries(model.get("filters"))) {
      const f = document.createElement("viz-filter");
      f.setAttribute("field", field);
      f.setAttribute("value", values.join(","));
      viz.append(f);
    }
    const current = viz;
    for (const name of EVENTS) {
      current.addEventListener(name, async (event) => {
        if (name === "firstinteractive") markInteractive();
        try {
          model.send({ type: "event", name, detail: await DETAIL[name](event.detail || {}) });
        } catch (err) {
          const detail = { code: "event-failed", message: `${name}: ${err}` };
          model.send({ type: "event", name: "vizloaderror", detail });
        }
      });
    }
    holder.append(viz);
  }

  async function command(msg) {
    const current = viz;
    try {
      await interactive;
      await COMMANDS[msg.op](current, msg);
      model.send({ type: "result", id: msg.id, ok: true });
    } catch (err) {
      model.send({ type: "result", id: msg.id, ok: false, error: String((err && err.message) || err) });
    }
  }

  model.on("msg:custom", (msg) => {
    if (msg.type === "token") {
      const resolve = waiting.shift();
      if (resolve) resolve(msg.token);
    } else if (msg.type === "reload") {
      load();
    } else if (msg.type === "command") {
      command(msg);
    }
  });
  load();
  return () => {
    if (viz) viz.remove();
  };
}

export default { render };
