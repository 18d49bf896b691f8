// Imported first by the operator scripts: @supabase/supabase-js 2.119 prints a Node <= 20
// deprecation notice when it loads. The scripts work on Node 20 (the client supplies the one
// missing piece, see shared/sync-client.ts), so that one notice is dropped; every other warning
// goes through unchanged.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].includes("Node.js 20 and below are deprecated")) return;
  warn(...args);
};
export {};
