// The one place that decides whether output is coloured.
import { Chalk, type ChalkInstance } from "chalk";

// A chalk that colours only a terminal, and never with --no-color, NO_COLOR or --json.
export function colors(options: { color?: boolean | undefined; json?: boolean | undefined }, stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  const enabled = options.color !== false && options.json !== true && stream.isTTY === true && process.env["NO_COLOR"] === undefined;
  return new Chalk({ level: enabled ? 1 : 0 });
}
