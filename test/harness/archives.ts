// Hand-made tar archives for the import attack tests: each entry's header is written as
// given (node-tar's Header), so paths and types a well-behaved packer would never produce
// reach ckpt as an attacker would send them.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import * as tar from "tar";

export interface RawEntry {
  path: string;
  type: "File" | "Directory" | "SymbolicLink" | "Link" | "FIFO" | "CharacterDevice";
  content?: Buffer;
  // Claimed size when it differs from the content's (oversized headers).
  size?: number;
  linkpath?: string;
  // Extended (pax) header records written before the entry, as given (any key, any size).
  pax?: Record<string, string>;
}

// One pax record: "LENGTH key=value\n", LENGTH counting itself.
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

function paxBlocks(records: Record<string, string>, name: string): Buffer[] {
  const body = Buffer.from(Object.entries(records).map(([k, v]) => paxRecord(k, v)).join(""));
  const header = new tar.Header({ path: `PaxHeader/${name}`.slice(0, 99), type: "ExtendedHeader", size: body.length, mode: 0o644, mtime: new Date(), uid: 0, gid: 0 });
  header.encode();
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return [header.block!, padded];
}

export async function writeRawTar(file: string, entries: RawEntry[]): Promise<void> {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const content = e.content ?? Buffer.alloc(0);
    const size = e.type === "File" ? (e.size ?? content.length) : 0;
    const header = new tar.Header({ path: e.path, type: e.type, size, mode: e.type === "Directory" ? 0o755 : 0o644, mtime: new Date(), uid: 0, gid: 0, ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }) });
    // A path or link target too long for the classic header travels in a pax header.
    const long = header.encode();
    const pax = { ...(long ? { path: e.path, ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }) } : {}), ...e.pax };
    if (Object.keys(pax).length > 0) blocks.push(...paxBlocks(pax, e.path.slice(0, 80)));
    blocks.push(header.block!);
    if (size > 0) {
      const body = Buffer.alloc(Math.ceil(size / 512) * 512);
      content.copy(body);
      blocks.push(body);
    }
  }
  blocks.push(Buffer.alloc(1024));
  await writeFile(file, Buffer.concat(blocks));
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// The three JSON files of a ckpt export an attacker edits.
export interface ExportFiles {
  manifest: Json;
  config: Json;
  spec: Json;
}

// The attacker's edit of a real export (an uncompressed tar): its manifest, config.dump and
// spec.dump as `edit` leaves them, the manifest's digests recomputed so that the archive
// still verifies. Written as `${prefix}XXXXXX.tar`.
export async function tamperedExport(archive: string, prefix: string, edit: (files: ExportFiles) => void): Promise<string> {
  const dir = await mkdtemp(prefix);
  await execa("tar", ["-xf", archive, "-C", dir]);
  const read = async (file: string) => JSON.parse(await readFile(join(dir, file), "utf8")) as Json;
  const files: ExportFiles = { manifest: await read("manifest.json"), config: await read("config.dump"), spec: await read("spec.dump") };
  edit(files);
  for (const [file, value] of [["spec.dump", files.spec], ["config.dump", files.config]] as const) {
    const text = JSON.stringify(value);
    await writeFile(join(dir, file), text);
    const entry = (files.manifest["files"] as { path: string; size: number | string; sha256: string }[]).find((f) => f.path === file)!;
    entry.sha256 = createHash("sha256").update(text).digest("hex");
    entry.size = typeof entry.size === "string" ? String(Buffer.byteLength(text)) : Buffer.byteLength(text);
  }
  await writeFile(join(dir, "manifest.json"), JSON.stringify(files.manifest));
  const out = `${dir}.tar`;
  await execa("tar", ["-cf", out, "-C", dir, "."]);
  return out;
}
