// Reads what the fixture programs write inside a container.
import { readFile } from "node:fs/promises";

export interface ClockReport {
  seq: number;
  pid: number;
  timens: string;
  monoNs: bigint;
  bootNs: bigint;
  realNs: bigint;
  backwards: number;
}

const clockLine = /^clock seq=(\d+) pid=(\d+) timens=(\d+) mono=(\d+) boot=(\d+) real=(\d+) backwards=(\d+)$/;

export function parseClockReports(text: string): ClockReport[] {
  return text.split("\n").flatMap((line) => {
    const m = clockLine.exec(line);
    if (!m) return [];
    return [{ seq: Number(m[1]), pid: Number(m[2]), timens: m[3]!, monoNs: BigInt(m[4]!), bootNs: BigInt(m[5]!), realNs: BigInt(m[6]!), backwards: Number(m[7]) }];
  });
}

export async function readText(path: string): Promise<string> {
  return readFile(path, "utf8").catch(() => "");
}

// Polls `probe` until it returns a value that is not undefined, or fails after timeoutMs.
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
