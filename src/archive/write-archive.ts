// Streams a checkpoint directory out as a tar archive in podman's layout: every file is
// read once, hashed on its way through, and the manifest, carrying those SHA-256s, goes
// last. Nothing is staged a second time: tar feeds the compressor, which feeds `output`.
import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { MANIFEST_JSON, MANIFEST_PB, writeManifest, type ArchiveFileDigest, type Manifest } from "../checkpoint/manifest.ts";
import { codecStream, type Compression } from "./compression.ts";
import { throttledProgress, type ProgressListener } from "./progress.ts";

export interface ArchiveWriteResult {
  files: ArchiveFileDigest[];
  // Bytes of tar before compression.
  tarBytes: number;
}

// Pure: the order files go into the archive. The manifest comes last (it carries the
// others' digests); CRIU's working files and ckpt's partial markers stay out.
export function planArchiveEntries(paths: string[]): string[] {
  const excluded = (p: string) => p === MANIFEST_JSON || p === MANIFEST_PB || p.startsWith("work/") || p.endsWith(".partial");
  const rank = (p: string) => (p.startsWith("checkpoint/") ? 1 : 0);
  return paths.filter((p) => !excluded(p)).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

async function listFiles(dir: string): Promise<{ paths: string[]; bytes: number }> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
  const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size));
  return { paths: files, bytes: sizes.reduce((a, b) => a + b, 0) };
}

export async function writeArchive(dir: string, manifest: Manifest, output: Writable, compression: Compression, onProgress?: ProgressListener): Promise<ArchiveWriteResult> {
  const { paths, bytes: totalBytes } = await listFiles(dir);
  const entries = planArchiveEntries(paths);
  const pack = new tar.Pack({ cwd: dir, portable: true });
  const codec = codecStream(compression, "compress");

  // A parser on the packed stream sees each file's bytes exactly as they go out.
  const files: ArchiveFileDigest[] = [];
  const digester = new tar.Parser();
  let pending = entries.length;
  let allHashed!: () => void;
  const hashed = new Promise<void>((resolve) => (allHashed = resolve));
  if (pending === 0) allHashed();
  digester.on("entry", (entry: tar.ReadEntry) => {
    const hash = createHash("sha256");
    entry.on("data", (chunk: Buffer) => hash.update(chunk));
    entry.on("end", () => {
      if (entry.path === MANIFEST_JSON || entry.path === MANIFEST_PB) return;
      files.push({ path: entry.path, size: entry.size ?? 0, sha256: hash.digest("hex") });
      if (--pending === 0) allHashed();
    });
  });

  let tarBytes = 0;
  const progress = throttledProgress(onProgress);
  pack.on("data", (chunk: Buffer) => {
    digester.write(chunk);
    tarBytes += chunk.length;
    progress({ phase: "archive", bytes: tarBytes, totalBytes });
  });

  const streamed = codec === null ? pipeline(pack, output) : Promise.all([pipeline(pack, codec.stream, output), codec.finished]);
  // A failure downstream (a closed pipe, a full disk) must not leave the wait for digests hanging.
  const failed = streamed.then(() => new Promise<never>(() => {}));
  for (const entry of entries) pack.add(entry);
  await Promise.race([hashed, failed]);

  const sealed: Manifest = { ...manifest, files: files.sort((a, b) => (a.path < b.path ? -1 : 1)) };
  await writeManifest(dir, sealed);
  pack.add(MANIFEST_PB);
  pack.add(MANIFEST_JSON);
  pack.end();
  await streamed;
  digester.end();
  progress({ phase: "archive", bytes: tarBytes, totalBytes }, true);
  return { files: sealed.files, tarBytes };
}
