// Streams a checkpoint directory out as a tar archive in podman's layout, ending with
// ckpt's manifest and the SHA-256 of every other file. Nothing is staged a second time:
// the compressor reads the large files itself and writes straight to the destination.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, write, type Stats } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { constants as zlib, gzipSync, zstdCompressSync } from "node:zlib";
import * as tar from "tar";
import { MANIFEST_JSON, MANIFEST_PB, writeManifest, type ArchiveFileDigest, type Manifest } from "../checkpoint/manifest.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { SIGNATURE_ENTRY, signManifest, type SigningKey } from "../signing/signature.ts";
import { compressorArgv, type Compression } from "./compression.ts";
import { throttledProgress, type ProgressListener } from "./progress.ts";

export interface ArchiveWriteResult {
  files: ArchiveFileDigest[];
  // Bytes of tar before compression.
  tarBytes: number;
}

// Pure: the order files go into the archive: the top-level files first, then CRIU's
// images; the manifest (written last, with the others' digests) and its signature, CRIU's
// working files and ckpt's partial markers are not in the list.
export function planArchiveEntries(paths: string[]): string[] {
  const excluded = (p: string) => p === MANIFEST_JSON || p === MANIFEST_PB || p === SIGNATURE_ENTRY || p.startsWith("work/") || p.endsWith(".partial");
  const rank = (p: string) => (p.startsWith("checkpoint/") ? 1 : 0);
  return paths.filter((p) => !excluded(p)).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

// The regular files below `dir` (relative paths) with their stat, and their total size.
async function listFiles(dir: string): Promise<{ stats: Map<string, Stats>; bytes: number }> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
  const stats = new Map(await Promise.all(files.map(async (f) => [f, await stat(join(dir, f))] as const)));
  return { stats, bytes: [...stats.values()].reduce((a, s) => a + s.size, 0) };
}

// One entry's header, with a pax header before it when a field does not fit the classic
// one (a long path).
function headerBlocks(data: tar.HeaderData): Buffer {
  const header = new tar.Header(data);
  if (!header.encode()) return header.block!;
  return Buffer.concat([new tar.Pax(data).encode(), header.block!]);
}

async function digestFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}

export interface WriteArchiveOptions {
  // Digests being taken elsewhere (the memory pages, hashed while CRIU wrote them), by
  // path; awaited only once the files themselves are in the archive.
  precomputed?: Promise<ReadonlyMap<string, { size: number; sha256: string }>>;
  onProgress?: ProgressListener;
  // Signs the manifest: its signature entry goes in right after it.
  signer?: SigningKey;
}

// Files at least this big are compressed by the zstd or gzip program reading the file
// itself; smaller ones go through this process in memory.
const LARGE_FILE = 8 * 1024 * 1024;

// Runs a program whose stdout is `outputFd`; it must exit 0.
function runInto(path: string, argv: string[], outputFd: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(path, argv, { stdio: ["ignore", outputFd, "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => (code === 0 ? resolve() : reject(new CkptError(ExitCode.transferFailed, `${what} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || "no message"}`))));
  });
}

// Writes the archive to the file descriptor `outputFd`: one tar stream, its files in
// podman's layout, then ckpt's manifest with every other file's SHA-256.
//
// On this kind of machine a pipe moves about half a GiB a second, slower than zstd
// compresses, so no large file goes through one: the archive is a series of compressed
// frames (zstd and gzip both define a concatenation of frames as the concatenation of
// their contents). Headers, padding and small files are compressed here in memory; each
// large file is compressed by the zstd program reading it directly and writing straight to
// the destination, while its digest, begun during the dump, is finished alongside.
export async function writeArchive(dir: string, manifest: Manifest, outputFd: number, compression: Compression, options: WriteArchiveOptions = {}): Promise<ArchiveWriteResult> {
  const progress = throttledProgress(options.onProgress);
  const { stats, bytes: totalBytes } = await listFiles(dir);
  const entries = planArchiveEntries([...stats.keys()]);
  const compressor = compressorArgv(compression);

  let pending: Buffer[] = [];
  let tarBytes = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const raw = Buffer.concat(pending);
    pending = [];
    const frame = compression === "zstd" ? zstdCompressSync(raw, { params: { [zlib.ZSTD_c_compressionLevel]: -1 } }) : compression === "gzip" ? gzipSync(raw, { level: 1 }) : raw;
    await writeAll(outputFd, frame);
  };
  const add = async (path: string, size: number, mtime: Date, mode: number, content: Buffer | null) => {
    pending.push(headerBlocks({ path, mode, uid: 0, gid: 0, size, mtime, type: "File" }));
    tarBytes += 512;
    if (content !== null) pending.push(content);
    else {
      await flush();
      if (compressor === null) await copyInto(join(dir, path), outputFd);
      else await runInto(compressor.path, [...compressor.argv, "--", join(dir, path)], outputFd, `${compression} compression of ${path}`);
    }
    const padding = (512 - (size % 512)) % 512;
    if (padding > 0) pending.push(Buffer.alloc(padding));
    tarBytes += size + padding;
    progress({ phase: "archive", bytes: tarBytes, totalBytes });
  };

  const files: ArchiveFileDigest[] = [];
  const large: { path: string; size: number }[] = [];
  for (const path of entries) {
    const info = stats.get(path)!;
    if (info.size < LARGE_FILE) {
      const content = await readFile(join(dir, path));
      files.push({ path, size: content.length, sha256: createHash("sha256").update(content).digest("hex") });
      await add(path, content.length, info.mtime, info.mode & 0o7777, content);
    } else {
      large.push({ path, size: info.size });
      await add(path, info.size, info.mtime, info.mode & 0o7777, null);
    }
  }
  const known = (await options.precomputed) ?? new Map<string, { size: number; sha256: string }>();
  for (const { path, size } of large) {
    const digest = known.get(path);
    files.push({ path, size, sha256: digest !== undefined && digest.size === size ? digest.sha256 : (await digestFile(join(dir, path))).sha256 });
  }

  const sealed: Manifest = { ...manifest, files: files.sort((a, b) => (a.path < b.path ? -1 : 1)) };
  await writeManifest(dir, sealed);
  for (const name of [MANIFEST_PB, MANIFEST_JSON]) {
    const content = await readFile(join(dir, name));
    await add(name, content.length, new Date(), 0o600, content);
    // Over the manifest's bytes exactly as they went into the archive.
    if (name === MANIFEST_JSON && options.signer !== undefined) {
      const signature = Buffer.from(`${JSON.stringify(signManifest(content, options.signer), null, 2)}\n`);
      await add(SIGNATURE_ENTRY, signature.length, new Date(), 0o600, signature);
    }
  }
  // The end of the archive: two zero blocks.
  pending.push(Buffer.alloc(1024));
  tarBytes += 1024;
  await flush();
  progress({ phase: "archive", bytes: tarBytes, totalBytes }, true);
  return { files: sealed.files, tarBytes };
}

// Copies a file to `fd` in large chunks (no compression).
async function copyInto(path: string, fd: number): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) await writeAll(fd, chunk);
}

async function writeAll(fd: number, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; ) {
    const written = await new Promise<number>((resolve, reject) =>
      write(fd, data, at, data.length - at, null, (error, n) => {
        // A pipe someone else made non-blocking: wait for the reader.
        if (error?.code === "EAGAIN") setTimeout(() => resolve(0), 2);
        else if (error) reject(error);
        else resolve(n);
      }),
    );
    at += written;
  }
}
