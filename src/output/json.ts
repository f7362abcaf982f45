// JSON output: one document, two-space indented, newline-terminated. BigInts (nanosecond
// clocks and timestamps) are written as exact JSON integers, not strings or rounded floats.
export function toJson(value: unknown): string {
  const marked = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `\u0000bigint:${v}` : v), 2);
  return marked.replace(/"\\u0000bigint:(-?\d+)"/g, "$1");
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}
