// switchboard over HTTP (POST /graphql) and graphql-ws (graphql-transport-ws on the same
// path), with the bearer token a user gave, if any: `Authorization: Bearer …` on HTTP and
// `{"Authorization": "Bearer …"}` as the connection_init payload.

const TOKEN_KEY = "switchboard.token";
// Codes and close codes that mean "who are you?": the page asks for a token.
const AUTH_CODES = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);
export const AUTH_CLOSE_CODES = new Set([4401, 4403]);

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || "",
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

function authorization() {
  const value = token.get();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

// An error a user can read: message and its extensions.code.
export class GraphQLFailure extends Error {
  constructor(message, code, { auth = false } = {}) {
    super(message);
    this.code = code;
    this.auth = auth;
  }
}

export function failureOf(errors) {
  const first = errors[0] || {};
  const code = (first.extensions && first.extensions.code) || "ERROR";
  return new GraphQLFailure(first.message || "Unknown error", code, {
    auth: AUTH_CODES.has(code),
  });
}

// Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 30 s.
export function backoff(attempt) {
  const ceiling = Math.min(30_000, 500 * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export async function execute(query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...authorization() },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new GraphQLFailure(`switchboard unreachable (${error.message})`, "NETWORK_ERROR");
  }
  if (response.status === 401 || response.status === 403) {
    throw new GraphQLFailure("Authentication required", "UNAUTHENTICATED", { auth: true });
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLFailure(`HTTP ${response.status} without a GraphQL answer`, "HTTP_ERROR");
  }
  if (body.errors && body.errors.length) throw failureOf(body.errors);
  return body.data;
}

// A graphql-ws client that never gives up (backoff between tries); `on.connected` fires on
// every (re)connection so the caller can resynchronise what it missed.
export function connect({ onConnected, onClosed }) {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return globalThis.graphqlWs.createClient({
    url: url.toString(),
    lazy: false,
    keepAlive: 15_000,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event && AUTH_CLOSE_CODES.has(event.code)),
    retryWait: (attempt) => new Promise((resolve) => setTimeout(resolve, backoff(attempt))),
    connectionParams: () => authorization(),
    on: {
      connected: () => onConnected(),
      closed: (event) => onClosed(event, Boolean(event && AUTH_CLOSE_CODES.has(event.code))),
    },
  });
}
