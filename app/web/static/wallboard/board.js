// The table of calls: one row per call id, updated in place; the time in state ticks.
import { COMMANDS } from "./operations.js";

// An ENDED call stays (greyed) this long, then leaves the board.
const ENDED_LINGER_MS = 5_000;
// How long a first click on "Hang up" waits for the second.
const HANGUP_CONFIRM_MS = 4_000;

function disarm(button, label) {
  clearTimeout(button.armedTimer);
  delete button.dataset.armed;
  button.textContent = label;
}

export function agentLine(call) {
  switch (call.__typename) {
    case "GenesysCall": {
      const numbers = (call.participants || []).map((p) => p.formattedPhoneNumber).filter(Boolean);
      return [call.dnis, ...numbers.filter((n) => n !== call.dnis)].filter(Boolean).join(" ↔ ");
    }
    case "VoipNowCall": {
      const others = new Set();
      for (const view of call.views || []) {
        for (const party of [...(view.source || []), ...(view.destination || [])]) {
          if (party !== call.extension) others.add(party);
        }
      }
      return [call.extension, ...others].join(" ↔ ");
    }
    case "HuaweiCall":
      return [call.caller, call.called].filter(Boolean).join(" → ");
    case "VerbaCall":
      return call.recordedExtension || "";
    default:
      return "";
  }
}

export function formatDuration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export class Board {
  constructor(table, empty, count, onCommand) {
    this.body = table.tBodies[0];
    this.empty = empty;
    this.count = count;
    this.onCommand = onCommand;
    // id -> {call, since (ms), sinceKnown (false: first seen in that state, not entered)}
    this.entries = new Map();
    setInterval(() => this.tick(), 1000);
  }

  // Whether `call` is older than what the board shows: versions rise with every state
  // switchboard publishes (0: a call nobody followed yet — not comparable).
  stale(call) {
    const known = this.entries.get(call.id);
    return Boolean(known && call.version && known.call.version > call.version);
  }

  // A call as a list or a command answered it: the state began no later than now.
  show(call) {
    if (this.stale(call)) return;
    const known = this.entries.get(call.id);
    const sameState = known && known.call.state === call.state;
    this.put(call, sameState ? known.since : Date.now(), sameState ? known.sinceKnown : false);
  }

  // A callEvents event: the state began at event.at — unless the event is switchboard
  // seeing the call for the first time (no previousState): then it began no later.
  // A RESYNC event (events were missed and cannot be replayed) carries every call in
  // scope as it is now: each is shown as a list would show it.
  event(event) {
    if (event.kind === "RESYNC") {
      for (const call of event.calls || []) this.show(call);
      return;
    }
    if (this.stale(event.call)) return;
    const at = Date.parse(event.at);
    const entered = !Number.isNaN(at) && event.previousState != null;
    const known = this.entries.get(event.callId);
    if (known && known.call.state === event.state && (known.sinceKnown || !entered)) {
      this.put(event.call, known.since, known.sinceKnown);
    } else {
      // A new state, or the event of a change a list showed first: it knows when.
      this.put(event.call, Number.isNaN(at) ? Date.now() : at, entered);
    }
  }

  // After a full list of `vendor`: its calls not in it have ended while we looked away.
  retainOnly(vendor, ids) {
    for (const [id, entry] of this.entries) {
      if (entry.call.vendor === vendor && !ids.has(id)) this.remove(id);
    }
  }

  put(call, since, sinceKnown) {
    this.entries.set(call.id, { call, since, sinceKnown });
    let row = this.body.querySelector(`tr[data-call-id="${CSS.escape(call.id)}"]`);
    if (!row) {
      row = this.newRow(call.id);
      this.body.append(row);
    }
    row.dataset.state = call.state;
    row.dataset.vendor = call.vendor;
    row.querySelector(".vendor").textContent = call.vendor;
    const state = row.querySelector(".state");
    state.textContent = call.state;
    state.title = call.vendorState ? `vendor state: ${call.vendorState}` : "";
    row.querySelector(".line").textContent = agentLine(call);
    for (const [capability, button] of Object.entries(row.buttons)) {
      button.disabled = Boolean(row.dataset.pending) || !call.capabilities.includes(capability);
    }
    clearTimeout(row.endedTimer);
    if (call.state === "ENDED") row.endedTimer = setTimeout(() => this.remove(call.id), ENDED_LINGER_MS);
    this.tickRow(row);
    this.updateCount();
  }

  newRow(id) {
    const row = document.createElement("tr");
    row.dataset.callId = id;
    row.innerHTML = `<td class="vendor"></td><td><span class="state"></span></td>
      <td class="time"></td><td class="line"></td><td class="call"></td><td class="actions"></td>`;
    row.querySelector(".call").textContent = id;
    row.buttons = {};
    for (const [capability, { label, mutation }] of Object.entries(COMMANDS)) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.dataset.capability = capability;
      button.addEventListener("click", () => {
        // Hanging up cannot be undone: the first click arms the button for a few seconds,
        // the second one sends the command.
        if (capability === "HANGUP" && !button.dataset.armed) {
          button.dataset.armed = "1";
          button.textContent = "Confirm hang up";
          button.armedTimer = setTimeout(() => disarm(button, label), HANGUP_CONFIRM_MS);
          return;
        }
        disarm(button, label);
        this.onCommand(id, mutation, capability);
      });
      row.querySelector(".actions").append(button);
      row.buttons[capability] = button;
    }
    return row;
  }

  // While a command runs its row's buttons stay off: a second click sends nothing twice.
  pending(id, on) {
    const row = this.body.querySelector(`tr[data-call-id="${CSS.escape(id)}"]`);
    const entry = this.entries.get(id);
    if (!row || !entry) return;
    if (on) row.dataset.pending = "1";
    else delete row.dataset.pending;
    this.put(entry.call, entry.since, entry.sinceKnown);
  }

  remove(id) {
    this.entries.delete(id);
    const row = this.body.querySelector(`tr[data-call-id="${CSS.escape(id)}"]`);
    if (row) row.remove();
    this.updateCount();
  }

  tick() {
    for (const row of this.body.rows) this.tickRow(row);
  }

  tickRow(row) {
    const entry = this.entries.get(row.dataset.callId);
    if (!entry) return;
    const text = formatDuration(Date.now() - entry.since);
    // "≥": first seen in this state by this page, so it may have begun earlier.
    row.querySelector(".time").textContent = entry.sinceKnown ? text : `≥ ${text}`;
  }

  updateCount() {
    const n = this.entries.size;
    this.count.textContent = `${n} call${n === 1 ? "" : "s"}`;
    this.empty.hidden = n > 0;
  }
}
