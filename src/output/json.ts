// JSON output: one document, two-space indented, newline-terminated. BigInts (nanosecond
// clocks and timestamps) are written as exact JSON integers, not strings or rounded floats.
export function toJson(value: unknown): string {
  const marked = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `\u0000bigint:${v}` : v), 2);
  return marked.replace(/"\\u0000bigint:(-?\d+)"/g, "$1");
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

// The same value with every object's keys in sorted order, for output that diffs cleanly.
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
