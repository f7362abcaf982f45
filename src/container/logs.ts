// Reads the log conmon writes in the k8s-file format: one line per chunk,
// "TIMESTAMP STREAM TAG CONTENT", where TAG is F for a full line and P for a partial one.
import { open } from "node:fs/promises";

export interface LogLine {
  time: string;
  stream: "stdout" | "stderr";
  text: string;
}

// Turns log text into whole lines; partial chunks are joined to the line they start.
// Returns the lines and the unparsed rest (an incomplete last line while following).
export function parseK8sLog(text: string, carry: Partial<Record<"stdout" | "stderr", string>> = {}): { lines: LogLine[]; rest: string } {
  const lines: LogLine[] = [];
  const end = text.lastIndexOf("\n");
  for (const raw of text.slice(0, end + 1).split("\n")) {
    const m = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/.exec(raw);
    if (!m) continue;
    const stream = m[2] as "stdout" | "stderr";
    const content = (carry[stream] ?? "") + m[4]!;
    if (m[3] === "P") {
      carry[stream] = content;
      continue;
    }
    delete carry[stream];
    lines.push({ time: m[1]!, stream, text: content });
  }
  return { lines, rest: text.slice(end + 1) };
}

// Writes log lines to the stream each came from, optionally with its time.
export function writeLogLines(lines: readonly LogLine[], out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }, timestamps = false): void {
  for (const line of lines) (line.stream === "stderr" ? out.stderr : out.stdout).write(timestamps ? `${line.time} ${line.text}\n` : `${line.text}\n`);
}

// Reads the log from `offset`; returns complete lines and the offset after them.
export async function readLogFrom(path: string, offset: number, carry: Partial<Record<"stdout" | "stderr", string>>): Promise<{ lines: LogLine[]; offset: number }> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { lines: [], offset };
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return { lines: [], offset };
    const buffer = Buffer.alloc(size - offset);
    await handle.read(buffer, 0, buffer.length, offset);
    const { lines, rest } = parseK8sLog(buffer.toString("utf8"), carry);
    return { lines, offset: size - Buffer.byteLength(rest) };
  } finally {
    await handle.close();
  }
}
