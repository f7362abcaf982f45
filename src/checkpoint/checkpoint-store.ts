// The checkpoints ckpt keeps under ROOT/checkpoints/NAME/STAMP. A checkpoint directory
// appears under its final name only once complete (it is written as STAMP.partial and
// renamed); a failed dump leaves STAMP.failed with its log.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { StoreLayout } from "../store/layout.ts";
import { readManifest, type Manifest } from "./manifest.ts";

// 20261122T080309.123456789Z: sorts in time order, safe in paths.
export function checkpointStamp(realtimeNs: bigint): string {
  const iso = new Date(Number(realtimeNs / 1_000_000n)).toISOString();
  return `${iso.slice(0, 19).replace(/[-:]/g, "")}.${String(realtimeNs % 1_000_000_000n).padStart(9, "0")}Z`;
}

const STAMP = /^\d{8}T\d{6}\.\d{9}Z$/;

// Pure: the instant a stamp names (ns since the epoch), or null when it is not a stamp.
export function stampNs(stamp: string): bigint | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{9})Z$/.exec(stamp);
  if (m === null) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms)) return null;
  const ns = BigInt(ms) * 1_000_000n + BigInt(m[7]!);
  // A month 13 or a 31st of February rolls over: only a stamp that reads back is one.
  return checkpointStamp(ns) === stamp ? ns : null;
}

export interface StoredCheckpoint {
  dir: string;
  manifest: Manifest;
}

// Complete checkpoints of `name`, oldest first.
export async function listCheckpoints(layout: StoreLayout, name: string): Promise<StoredCheckpoint[]> {
  const base = layout.containerCheckpointsDir(name);
  const stamps = (await readdir(base).catch(() => [] as string[])).filter((s) => STAMP.test(s)).sort();
  const found = await Promise.all(stamps.map(async (s) => ({ dir: join(base, s), manifest: await readManifest(join(base, s)).catch(() => null) })));
  return found.filter((c): c is StoredCheckpoint => c.manifest !== null);
}

export async function listAllCheckpoints(layout: StoreLayout): Promise<StoredCheckpoint[]> {
  const names = (await readdir(layout.checkpointsDir()).catch(() => [] as string[])).sort();
  return (await Promise.all(names.map((n) => listCheckpoints(layout, n)))).flat();
}
