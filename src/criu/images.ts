// Decodes CRIU image files with the project's schemas/criu-images.proto.
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { CkptError, ExitCode } from "../errors.ts";

const IMG_COMMON_MAGIC = 0x54564319;
const IMG_SERVICE_MAGIC = 0x55105940;
export const TIMENS_MAGIC = 0x43114433;
export const STATS_MAGIC = 0x57093306;
export const INVENTORY_MAGIC = 0x58313116;
export const PSTREE_MAGIC = 0x50273030;
export const IDS_MAGIC = 0x54432030;
export const CORE_MAGIC = 0x55053847;
export const MM_MAGIC = 0x57492820;
export const PAGEMAP_MAGIC = 0x56084025;
export const FDINFO_MAGIC = 0x56213732;
export const FILES_MAGIC = 0x56303138;
export const NETNS_MAGIC = 0x55933752;
export const FILE_LOCKS_MAGIC = 0x54323616;

let root: protobuf.Root | undefined;
function schema(): protobuf.Root {
  root ??= new protobuf.Root().loadSync(fileURLToPath(new URL("../../schemas/criu-images.proto", import.meta.url)), { keepCase: true });
  return root;
}

// The image's own magic and its entries' bytes. Throws on a damaged frame.
export function splitImage(bytes: Uint8Array, name: string): { magic: number; entries: Uint8Array[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) throw badImage(name, "shorter than its magic words");
  const first = view.getUint32(0, true);
  // inventory.img alone carries its own magic without the common word before it.
  const headerBytes = first === INVENTORY_MAGIC ? 4 : 8;
  if (first !== IMG_COMMON_MAGIC && first !== IMG_SERVICE_MAGIC && first !== INVENTORY_MAGIC) throw badImage(name, `unknown magic 0x${first.toString(16)}`);
  const magic = first === INVENTORY_MAGIC ? first : view.getUint32(4, true);
  const entries: Uint8Array[] = [];
  for (let at = headerBytes; at < bytes.byteLength; ) {
    if (at + 4 > bytes.byteLength) throw badImage(name, `truncated entry size at byte ${at}`);
    const size = view.getUint32(at, true);
    if (at + 4 + size > bytes.byteLength) throw badImage(name, `entry at byte ${at} claims ${size} bytes, ${bytes.byteLength - at - 4} left`);
    entries.push(bytes.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return { magic, entries };
}

function badImage(name: string, why: string): CkptError {
  return new CkptError(ExitCode.badCheckpoint, `CRIU image ${name} is damaged: ${why}`);
}

// Every entry of an image, decoded as `type` (int64s as decimal strings).
// With `defaults: false`, fields absent from the image stay absent (for re-encoding).
export function decodeEntries(bytes: Uint8Array, name: string, expectedMagic: number, type: string, options: { defaults?: boolean } = {}): Record<string, unknown>[] {
  const { magic, entries } = splitImage(bytes, name);
  if (magic !== expectedMagic) throw badImage(name, `magic 0x${magic.toString(16)} is not 0x${expectedMagic.toString(16)}`);
  const message = schema().lookupType(type);
  return entries.map((entry, i) => {
    try {
      return message.toObject(message.decode(entry), { longs: String, defaults: options.defaults ?? true, arrays: true }) as Record<string, unknown>;
    } catch (error) {
      throw badImage(name, `entry ${i} does not decode as ${type}: ${(error as Error).message}`);
    }
  });
}

// Frames entries as an image of `magic` (with the common magic word first).
export function encodeImage(magic: number, type: string, entries: Record<string, unknown>[]): Uint8Array {
  const message = schema().lookupType(type);
  const bodies = entries.map((e) => message.encode(message.fromObject(e)).finish());
  const out = new Uint8Array(8 + bodies.reduce((n, b) => n + 4 + b.byteLength, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, IMG_COMMON_MAGIC, true);
  view.setUint32(4, magic, true);
  let at = 8;
  for (const body of bodies) {
    view.setUint32(at, body.byteLength, true);
    out.set(body, at + 4);
    at += 4 + body.byteLength;
  }
  return out;
}

function decodeSingle(bytes: Uint8Array, name: string, expectedMagic: number, type: string): Record<string, unknown> {
  const { magic, entries } = splitImage(bytes, name);
  if (magic !== expectedMagic) throw badImage(name, `magic 0x${magic.toString(16)} is not 0x${expectedMagic.toString(16)}`);
  if (entries.length !== 1) throw badImage(name, `${entries.length} entries where one was expected`);
  const message = schema().lookupType(type);
  return message.toObject(message.decode(entries[0]!), { longs: String, defaults: true }) as Record<string, unknown>;
}

export interface TimensImage {
  monotonicNs: bigint;
  boottimeNs: bigint;
}

const nsOf = (t: { tv_sec: string; tv_nsec: string }) => BigInt(t.tv_sec) * 1_000_000_000n + BigInt(t.tv_nsec);

export function decodeTimens(bytes: Uint8Array, name = "timens-0.img"): TimensImage {
  const e = decodeSingle(bytes, name, TIMENS_MAGIC, "criu.TimensEntry") as { monotonic: { tv_sec: string; tv_nsec: string }; boottime: { tv_sec: string; tv_nsec: string } };
  return { monotonicNs: nsOf(e.monotonic), boottimeNs: nsOf(e.boottime) };
}

export function encodeTimens(t: TimensImage): Uint8Array {
  const ts = (ns: bigint) => ({ tv_sec: String(ns / 1_000_000_000n), tv_nsec: String(ns % 1_000_000_000n) });
  return encodeImage(TIMENS_MAGIC, "criu.TimensEntry", [{ monotonic: ts(t.monotonicNs), boottime: ts(t.boottimeNs) }]);
}

export interface DumpStats {
  freezingTimeUs: number;
  frozenTimeUs: number;
  memdumpTimeUs: number;
  memwriteTimeUs: number;
  pagesScanned: number;
  pagesWritten: number;
}

export function decodeDumpStats(bytes: Uint8Array, name = "stats-dump"): DumpStats {
  const e = decodeSingle(bytes, name, STATS_MAGIC, "criu.StatsEntry") as { dump?: Record<string, string> };
  const d = e.dump;
  if (d === undefined || d === null) throw badImage(name, "no dump statistics");
  const n = (k: string) => Number(d[k] ?? 0);
  return {
    freezingTimeUs: n("freezing_time"),
    frozenTimeUs: n("frozen_time"),
    memdumpTimeUs: n("memdump_time"),
    memwriteTimeUs: n("memwrite_time"),
    pagesScanned: n("pages_scanned"),
    pagesWritten: n("pages_written"),
  };
}

// CRIU names the image after the namespace's id in the dump: timens-0.img when the
// container shared the host's namespace, timens-N.img when it had its own.
export async function timensImageName(imageDir: string): Promise<string | null> {
  const names = (await readdir(imageDir)).filter((n) => /^timens-\d+\.img$/.test(n));
  if (names.length > 1) throw badImage(imageDir, `more than one time namespace image (${names.join(", ")})`);
  return names[0] ?? null;
}

export async function readTimensImage(imageDir: string): Promise<TimensImage | null> {
  const name = await timensImageName(imageDir);
  return name === null ? null : decodeTimens(await readFile(`${imageDir}/${name}`), name);
}

export async function readDumpStats(imageDir: string): Promise<DumpStats | null> {
  const bytes = await readFile(`${imageDir}/stats-dump`).catch(() => null);
  return bytes === null ? null : decodeDumpStats(bytes);
}

// The keys of the network namespaces CRIU left to the restore (netns-N.img with ext_key):
// a checkpoint made in a namespace given by path cannot be restored without one.
export async function readExternalNetnsKeys(imageDir: string): Promise<string[]> {
  const names = (await readdir(imageDir)).filter((n) => /^netns-\d+\.img$/.test(n));
  const keys = await Promise.all(names.map(async (n) => decodeSingle(await readFile(`${imageDir}/${n}`), n, NETNS_MAGIC, "criu.NetnsEntry")["ext_key"]));
  return keys.filter((k): k is string => typeof k === "string" && k !== "");
}
