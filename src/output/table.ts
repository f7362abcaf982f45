// Plain-text tables for people: columns padded to their widest cell, no trailing spaces.
// Columns listed in `alignRight` are right-aligned (numbers, durations).
export function renderTable(rows: readonly (readonly string[])[], options: { indent?: string; alignRight?: readonly number[] } = {}): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  const right = new Set(options.alignRight ?? []);
  return rows.map((row) => `${options.indent ?? ""}${row.map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ")}`.trimEnd());
}
