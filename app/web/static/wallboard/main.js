// The wallboard: every active call across the vendors, live. The calls of the vendors
// that can list them (activeCalls) are loaded on every (re)connection of the callEvents
// subscription, which then keeps the board current; commands go by the call's capabilities.
import { AUTH_CLOSE_CODES, backoff, connect, execute, failureOf, token } from "./api.js";
import { Board } from "./board.js";
import { ACTIVE_CALLS, CALL_EVENTS, LIST_VENDORS, commandDocument } from "./operations.js";
import { followStats } from "./stats.js";

const $ = (selector) => document.querySelector(selector);
const status = $("#status");
const errors = $("#errors");
const tokenForm = $("#token-form");

function setStatus(name, text) {
  status.dataset.status = name;
  status.textContent = text;
}

// An error with its code, newest first; the last ten stay.
function showError(context, failure) {
  const item = document.createElement("div");
  item.className = "error";
  item.dataset.code = failure.code || "ERROR";
  const code = document.createElement("code");
  code.textContent = failure.code || "ERROR";
  item.append(code, ` ${context}: ${failure.message}`);
  errors.prepend(item);
  while (errors.children.length > 10) errors.lastChild.remove();
  if (failure.auth) askForToken();
}

function askForToken() {
  setStatus("unauthorized", "token needed");
  tokenForm.hidden = false;
  $("#token").focus();
}

const board = new Board($("#calls"), $("#empty"), $("#count"), runCommand);

async function runCommand(id, mutation, capability) {
  board.pending(id, true);
  try {
    const data = await execute(commandDocument(mutation), { id });
    board.show(data[mutation]);
  } catch (failure) {
    showError(`${capability} ${id}`, failure);
  } finally {
    board.pending(id, false);
  }
}

// Each list vendor's calls; a vendor that fails keeps its rows and shows its code.
async function loadActiveCalls() {
  const vendorStatus = $("#vendors");
  await Promise.all(
    LIST_VENDORS.map(async (vendor) => {
      try {
        const data = await execute(ACTIVE_CALLS, { vendor });
        for (const call of data.activeCalls) board.show(call);
        board.retainOnly(vendor, new Set(data.activeCalls.map((call) => call.id)));
        vendorStatus.querySelector(`[data-vendor="${vendor}"]`)?.remove();
      } catch (failure) {
        let mark = vendorStatus.querySelector(`[data-vendor="${vendor}"]`);
        if (!mark) {
          mark = document.createElement("span");
          mark.className = "vendor-error";
          mark.dataset.vendor = vendor;
          vendorStatus.append(mark);
        }
        mark.textContent = `${vendor}: ${failure.code}`;
        showError(`activeCalls(${vendor})`, failure);
      }
    }),
  );
}

let client = null;
let subscriptionAttempt = 0;
let stopStats = () => {};
let stopEvents = () => {};
// The cursor of the last callEvents event: a new subscription resumes after it.
let lastCursor = null;
let connections = 0;

function subscribe() {
  stopEvents();
  // A client replaced meanwhile (a new token) has its own subscription: this one stops.
  const mine = client;
  const again = () => {
    if (mine !== client) return;
    setTimeout(() => mine === client && subscribe(), backoff(subscriptionAttempt++));
  };
  stopEvents = mine.subscribe(
    { query: CALL_EVENTS, variables: { after: lastCursor } },
    {
      next: (result) => {
        subscriptionAttempt = 0;
        if (result.errors) showError("callEvents", failureOf(result.errors));
        if (result.data) {
          const event = result.data.callEvents;
          if (mine === client) lastCursor = event.cursor;
          document.body.dataset.cursor = lastCursor ?? "";
          board.event(event);
        }
      },
      // The socket reconnects by itself (graphql-ws retries); this is an error of the
      // operation or a close it will not retry: shown, then subscribed again, unless the
      // close asked for a token (start() subscribes once one is given).
      error: (error) => {
        if (error && AUTH_CLOSE_CODES.has(error.code)) return;
        const failure = Array.isArray(error)
          ? failureOf(error)
          : { code: "DISCONNECTED", message: `websocket closed (${error?.code ?? error})` };
        if (mine === client) showError("callEvents", failure);
        again();
      },
      complete: again,
    },
  );
}

function start() {
  stopStats();
  if (client) client.dispose();
  connections = 0;
  setStatus("connecting", "connecting…");
  client = connect({
    onConnected: () => {
      setStatus("live", "live");
      // Resume: graphql-ws would resend the first subscription as it was; a new one
      // starts after the last event seen, so the missed events come first, in order.
      if (connections++ > 0) subscribe();
      // And the lists: calls that began while disconnected, and vendors events miss.
      loadActiveCalls();
    },
    onClosed: (event, unauthorized) => {
      if (unauthorized) askForToken();
      else if (status.dataset.status !== "unauthorized") setStatus("reconnecting", "reconnecting…");
    },
  });
  subscribe();
  stopStats = followStats(client, $("#stats"), showError, backoff);
}

tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  token.set($("#token").value.trim());
  $("#token").value = "";
  tokenForm.hidden = true;
  start();
});
$("#token-clear").addEventListener("click", () => {
  token.clear();
  tokenForm.hidden = true;
  start();
});
$("#token-button").addEventListener("click", () => {
  tokenForm.hidden = !tokenForm.hidden;
});

// Lists again now and then: a missed event never leaves a row wrong for long.
setInterval(() => {
  if (status.dataset.status === "live") loadActiveCalls();
}, 30_000);

start();
