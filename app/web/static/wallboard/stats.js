// Hook for `callStats` (issue 15): the schema has no such field yet. When it lands, query
// it here (and subscribe, if it streams) and render into <section id="stats">; main.js
// already calls loadStats() after every (re)connection.
export async function loadStats(/* execute, section */) {
  return null;
}
