// JSON output: one document, two-space indented, newline-terminated.
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
