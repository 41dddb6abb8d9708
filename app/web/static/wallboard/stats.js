// Live counts (the callStats subscription): calls per state per vendor and the longest
// waiting and held times, computed by switchboard once per filter for every wallboard —
// the page counts nothing itself, so the numbers are right even for calls it has no row for.
import { failureOf } from "./api.js";

export const CALL_STATS = `subscription WallboardCallStats {
  callStats {
    total longestWaitingSeconds longestHeldSeconds
    byVendor { vendor total byState { state count } }
  }
}`;

function seconds(value) {
  if (value === null || value === undefined) return "–";
  const minutes = Math.floor(value / 60);
  return `${minutes}:${String(value % 60).padStart(2, "0")}`;
}

function cell(tag, text, attributes = {}) {
  const element = document.createElement(tag);
  element.textContent = text;
  for (const [name, value] of Object.entries(attributes)) element.dataset[name] = value;
  return element;
}

// One line of totals, then a table: a row per vendor, a column per state.
export function renderStats(section, stats) {
  section.hidden = false;
  section.replaceChildren();
  const summary = document.createElement("p");
  summary.className = "summary";
  summary.append(
    cell("span", `${stats.total} calls`, { stat: "total" }),
    cell("span", `longest waiting ${seconds(stats.longestWaitingSeconds)}`, { stat: "waiting" }),
    cell("span", `longest held ${seconds(stats.longestHeldSeconds)}`, { stat: "held" }),
  );
  const table = document.createElement("table");
  const states = stats.byVendor[0]?.byState.map((entry) => entry.state) ?? [];
  const head = table.createTHead().insertRow();
  head.append(cell("th", "Vendor"), ...states.map((state) => cell("th", state)), cell("th", "Total"));
  const body = table.createTBody();
  for (const vendor of stats.byVendor) {
    const line = body.insertRow();
    line.dataset.vendor = vendor.vendor;
    line.append(cell("td", vendor.vendor));
    for (const entry of vendor.byState) {
      line.append(cell("td", String(entry.count), { state: entry.state }));
    }
    line.append(cell("td", String(vendor.total), { state: "TOTAL" }));
  }
  section.append(summary, table);
}

// Subscribes on `client` (graphql-ws) and keeps `section` current; subscribes again when
// the stream ends or fails (the socket itself reconnects by itself).
export function followStats(client, section, showError, retryDelay) {
  let attempt = 0;
  let stopped = false;
  const again = () => {
    if (!stopped) setTimeout(() => !stopped && run(), retryDelay(attempt++));
  };
  let dispose = () => {};
  const run = () => {
    dispose = client.subscribe(
      { query: CALL_STATS },
      {
        next: (result) => {
          attempt = 0;
          if (result.errors) showError("callStats", failureOf(result.errors));
          if (result.data) renderStats(section, result.data.callStats);
        },
        error: () => again(),
        complete: () => again(),
      },
    );
  };
  run();
  return () => {
    stopped = true;
    dispose();
  };
}
