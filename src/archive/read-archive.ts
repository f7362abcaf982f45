// Streams a checkpoint archive into a private staging directory. Every entry's header
// is judged (entry-safety.ts) before a byte of it is written, and every file is hashed
// as it is written; the digests are checked against the manifest once the archive ends,
// before anything is restored from it.
import { createHash } from "node:crypto";
import { closeSync, futimesSync, mkdirSync, openSync, writeSync } from "node:fs";
import { spawn } from "node:child_process";
import { link, mkdir, open, readFile, symlink, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { MANIFEST_JSON, MANIFEST_PB, ManifestSchema, type ArchiveFileDigest, type Manifest } from "../checkpoint/manifest.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { SIGNATURE_ENTRY } from "../signing/signature.ts";
import { findExecutable } from "../host/find-executable.ts";
import { detectCompression, type Compression } from "./compression.ts";
import { checkArchiveEntry, shownPath } from "./entry-safety.ts";
import { FoundEntries } from "./found-entries.ts";
import { hashInBackground } from "./growing-file-hasher.ts";
import { throttledProgress, type ProgressListener } from "./progress.ts";

export interface ReadArchiveOptions {
  // Paths whose content is not needed (inspect skips the memory pages); they are read
  // past, not written.
  skip?: (path: string) => boolean;
  onProgress?: ProgressListener;
  // The archive's size when known, for progress.
  totalBytes?: number | null;
  // What the archive may expand to in `dest` (staging's bound), and its number of entries.
  maxBytes?: number;
  maxEntries?: number;
  // What its entries' paths, link targets and pax headers may add up to.
  maxMetadataBytes?: number;
  // false: `files` stays empty, and the digests are only in `found` (inspect).
  listFiles?: boolean;
}

export { FoundEntries };

export interface ReadArchiveResult {
  // null when read from a pipe (zstd recognises it without ckpt seeing its first bytes).
  compression: Compression | null;
  // What the archive held, hashed as it was written, sorted by path (empty when not listed).
  files: ArchiveFileDigest[];
  // Every entry, one short string each; and how many were files.
  found: FoundEntries;
  fileCount: number;
  // ckpt's manifest, when the archive has one (podman's and CRI-O's do not).
  manifest: Manifest | null;
}

// Where an archive comes from: a file, or standard input.
export type ArchiveInput = { path: string } | { fd: 0 };

export async function readArchive(input: ArchiveInput, dest: string, source: string, options: ReadArchiveOptions = {}): Promise<ReadArchiveResult> {
  let compression: Compression | null = null;
  let fd: number;
  let handle: FileHandle | undefined;
  if ("path" in input) {
    handle = await open(input.path, "r");
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    compression = detectCompression(head.subarray(0, bytesRead));
    if (compression === null) {
      await handle.close();
      throw new CkptError(ExitCode.badCheckpoint, `${source} is not a checkpoint archive (neither zstd, gzip nor tar)`, { hint: "give an archive made by `ckpt checkpoint --export`, `podman container checkpoint --export` or CRI-O" });
    }
    fd = handle.fd;
  } else {
    fd = input.fd;
  }
  // zstd reads the archive itself (a file, or this process's standard input) and
  // decompresses zstd or gzip, or passes plain tar through (-f).
  const zstd = findExecutable("zstd");
  if (zstd === null) {
    await handle?.close();
    throw new CkptError(ExitCode.hostNotReady, "zstd is not installed; ckpt reads archives through it", { hint: "install it (scripts/setup-host.sh does)" });
  }
  const decompressor = spawn(zstd, ["-q", "-d", "-c", "-f"], { stdio: [fd, "pipe", "pipe"] });
  let decompressorErrors = "";
  decompressor.stderr?.on("data", (chunk: Buffer) => (decompressorErrors += chunk.toString()));
  const decompressed = new Promise<void>((resolve, reject) => {
    decompressor.on("error", reject);
    decompressor.on("close", (code: number | null) => (code === 0 ? resolve() : reject(new CkptError(ExitCode.badCheckpoint, `${source} could not be decompressed: ${decompressorErrors.trim() || `zstd exit ${code}`}`))));
  });
  // The memory pages (nearly all of an archive's bytes) are hashed on a worker thread that
  // reads each file right behind this thread's writes.
  const pagesDir = join(dest, "checkpoint");
  const isPages = (path: string) => /^checkpoint\/pages-\d+\.img$/.test(path) && options.skip?.(path) !== true;
  const background = hashInBackground(pagesDir, /^pages-\d+\.img$/);
  const parser = new tar.Parser({ strict: true });
  const found = new FoundEntries();
  // The memory pages hashed on the worker: their digests come once it is done.
  const pagesPending: { path: string; slot: number; size: number }[] = [];
  let refusal: CkptError | null = null;
  let bytes = 0;
  const progress = throttledProgress(options.onProgress);
  // Each write's failure is caught as it happens (an unhandled rejection would end the
  // process before the staging directory is removed) and reported once parsing ends.
  const writes: Promise<void>[] = [];
  let writeError: unknown = null;
  const track = (write: Promise<unknown>) => writes.push(write.then(() => {}, (error: unknown) => void (writeError ??= error)));

  const refuse = (error: CkptError, entry?: tar.ReadEntry) => {
    refusal ??= error;
    entry?.resume();
    parser.abort(error);
  };

  // The metadata bound: paths and link targets as entries arrive, pax and GNU long-name
  // headers as node-tar reads them (it holds each, up to 1 MiB, and skips larger ones).
  let metadataBytes = 0;
  const metadataRefusal = (at: string) =>
    new CkptError(ExitCode.badCheckpoint, `refusing ${source}: its metadata (entry paths, link targets, pax headers) passes ${options.maxMetadataBytes} bytes (at ${at}); a checkpoint has some tens of KiB`, { hint: "nothing from the archive was kept; raise CKPT_MAX_ARCHIVE_METADATA_BYTES only for an archive you trust" });
  const overMetadata = (added: number) => options.maxMetadataBytes !== undefined && (metadataBytes += added) > options.maxMetadataBytes;
  let lastPath: string | null = null;
  const afterLast = () => (lastPath === null ? "a header before the first entry" : `a header after ${shownPath(lastPath)}`);
  parser.on("meta", (meta: string) => {
    if (refusal === null && overMetadata(Buffer.byteLength(meta))) refuse(metadataRefusal(afterLast()));
  });
  parser.on("ignoredEntry", (entry: tar.ReadEntry) => {
    if (refusal === null && entry.meta && overMetadata(entry.size ?? 0)) refuse(metadataRefusal(afterLast()), entry);
  });
  // A tar ends with zero blocks; without them it was cut short (node-tar takes a cut
  // in the middle of a header for the end).
  let ended = false;
  parser.on("nullBlock", () => (ended = true));
  parser.on("eof", () => (ended = true));

  let entries = 0;
  parser.on("entry", (entry: tar.ReadEntry) => {
    if (refusal !== null) return void entry.resume();
    lastPath = entry.path;
    if (options.maxEntries !== undefined && ++entries > options.maxEntries) {
      return refuse(new CkptError(ExitCode.badCheckpoint, `refusing ${source}: more than ${options.maxEntries} entries (at ${shownPath(entry.path)}); a checkpoint has a few hundred`, { hint: "nothing from the archive was kept; raise CKPT_MAX_ARCHIVE_ENTRIES only for an archive you trust" }), entry);
    }
    if (overMetadata(Buffer.byteLength(entry.path) + Buffer.byteLength(entry.linkpath ?? ""))) return refuse(metadataRefusal(shownPath(entry.path)), entry);
    const verdict = checkArchiveEntry({ path: entry.path, type: entry.type, size: entry.size ?? 0, linkpath: entry.linkpath });
    if (!verdict.ok) {
      return refuse(new CkptError(ExitCode.refused, `refusing ${source}: ${verdict.reason}`, { evidence: [`attack: ${verdict.attack}`], hint: "nothing from the archive was kept; only import archives from sources you trust" }), entry);
    }
    const path = entry.path.replace(/^\.\//, "").replace(/\/+$/, "");
    if (path === "" || path === ".") return void entry.resume();
    const previous = found.kind(path);
    if (previous !== undefined && !(previous === "directory" && entry.type === "Directory")) {
      return refuse(new CkptError(ExitCode.refused, `refusing ${source}: ${shownPath(path)} appears twice; a second copy could replace a verified one`), entry);
    }
    const target = join(dest, path);
    if (entry.type === "Directory") {
      entry.resume();
      found.addDirectory(path);
      track(mkdir(target, { recursive: true, mode: 0o700 }));
      return;
    }
    if (entry.type === "SymbolicLink" || entry.type === "Link") {
      entry.resume();
      found.addLink(path);
      track(mkdir(dirname(target), { recursive: true, mode: 0o700 }).then(() => (entry.type === "Link" ? link(join(dest, entry.linkpath ?? ""), target) : symlink(entry.linkpath ?? "", target))));
      return;
    }
    // Taken now, so a second entry of this path is refused even before this one ends.
    const slot = found.addFile(path);
    const hash = createHash("sha256");
    const skip = options.skip?.(path) === true;
    let fd: number | null = null;
    let entryBytes = 0;
    try {
      if (!skip) {
        mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
        // "wx": never write through anything already there.
        fd = openSync(target, "wx", 0o600);
      }
    } catch (error) {
      return refuse(new CkptError(ExitCode.badCheckpoint, `cannot unpack ${shownPath(path)} from ${source}: ${(error as Error).message}`), entry);
    }
    // Written synchronously, chunk by chunk, exactly the bytes that were hashed: the
    // staging directory is tmpfs or page cache, so each write is a memory copy.
    const hashHere = !isPages(path);
    entry.on("data", (chunk: Buffer) => {
      // Checked before the chunk is written: staging never holds more than its bound.
      if (fd !== null && options.maxBytes !== undefined && bytes + chunk.length > options.maxBytes) {
        closeSync(fd);
        fd = null;
        return refuse(new CkptError(ExitCode.badCheckpoint, `refusing ${source}: it expands past ${options.maxBytes} bytes, the room ckpt allows it in staging (at ${shownPath(path)})`, { hint: "nothing from the archive was kept; free memory or disk where ckpt stages imports, or raise CKPT_STAGING_MAX_BYTES for an archive you trust" }), entry);
      }
      if (hashHere) hash.update(chunk);
      bytes += chunk.length;
      entryBytes += chunk.length;
      if (fd !== null) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          closeSync(fd);
          fd = null;
          refuse(new CkptError(ExitCode.transferFailed, `cannot write ${shownPath(path)} while unpacking ${source}: ${(error as Error).message}`, { hint: "free space where ckpt stages imports (tmpfs, or ROOT/staging)" }), entry);
        }
      }
      progress({ phase: "import", bytes, totalBytes: options.totalBytes ?? null });
    });
    entry.on("end", () => {
      if (fd !== null) {
        // The archive's modification time: for another tool's checkpoint the images'
        // time is the best record of when it was dumped.
        if (entry.mtime instanceof Date) futimesSync(fd, entry.mtime, entry.mtime);
        closeSync(fd);
      }
      if (hashHere) found.setFile(slot, entryBytes, hash.digest());
      else pagesPending.push({ path, slot, size: entryBytes });
    });
  });

  const parsed = new Promise<void>((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("close", resolve);
    parser.on("abort", (error: Error) => reject(error));
    parser.on("error", reject);
  });
  const streams = Promise.all([pipeline(decompressor.stdout!, parser), decompressed]);
  const damaged = { hint: "the archive may be truncated or damaged; nothing from it was kept" };
  try {
    await Promise.all([streams, parsed]);
    await Promise.all(writes);
    if (writeError !== null) throw writeError;
    if (!ended) throw new CkptError(ExitCode.badCheckpoint, `${source} is cut short: it ends without tar's end-of-archive blocks${lastPath === null ? "" : ` (the last entry read: ${shownPath(lastPath)})`}`, damaged);
    // What the worker read must be what was written, byte for byte.
    const digests = new Map((await background.finish()).map((d) => [`checkpoint/${d.name}`, d]));
    for (const f of pagesPending) {
      const d = digests.get(f.path);
      if (d === undefined || d.size !== f.size) throw new CkptError(ExitCode.internal, `${f.path} was written with ${f.size} bytes but hashed with ${d?.size ?? 0}`);
      found.setFile(f.slot, f.size, d.sha256);
    }
  } catch (error) {
    await background.abandon();
    decompressor.kill("SIGTERM");
    // zstd's own words, when it found the damage (a bad checksum) before the tar reader did.
    await decompressed.catch(() => {});
    await Promise.allSettled(writes);
    if (refusal !== null) throw refusal;
    if (error instanceof CkptError) throw error;
    const zstdSaid = decompressorErrors
      .split("\n")
      .map((l) => l.replace(/^(zstd: )?\/\*stdin\*\\?\s*:\s*/, "").trim())
      .find((l) => l !== "" && !/broken pipe/i.test(l));
    const at = lastPath === null ? "" : ` (at or after ${shownPath(lastPath)})`;
    const message = (error as Error).message;
    if (zstdSaid !== undefined) throw new CkptError(ExitCode.badCheckpoint, `${source} could not be decompressed${at}: ${zstdSaid} (and so the tar reader: ${message})`, damaged);
    throw new CkptError(ExitCode.badCheckpoint, `${source} could not be read as a checkpoint archive${at}: ${message}`, damaged);
  } finally {
    await handle?.close();
  }
  if (refusal !== null) throw refusal;
  progress({ phase: "import", bytes, totalBytes: options.totalBytes ?? null }, true);

  let manifest: Manifest | null = null;
  if (found.kind(MANIFEST_JSON) === "file") {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(join(dest, MANIFEST_JSON), "utf8"));
    } catch (error) {
      throw new CkptError(ExitCode.badCheckpoint, `${source}: its ${MANIFEST_JSON} is damaged: ${(error as Error).message}`, damaged);
    }
    const parsedManifest = ManifestSchema.safeParse(json);
    if (!parsedManifest.success) throw new CkptError(ExitCode.badCheckpoint, `${source}: its ${MANIFEST_JSON} is damaged: ${parsedManifest.error.issues[0]?.message ?? ""}`);
    manifest = parsedManifest.data;
  }
  const files = options.listFiles === false ? [] : [...found.files()].sort((a, b) => (a.path < b.path ? -1 : 1));
  return { compression, files, found, fileCount: found.fileCount, manifest };
}

export interface VerifyProblem {
  path: string;
  problem: "mismatch" | "missing" | "unlisted" | "size";
  expected?: string;
  actual?: string;
}

// Pure: what the manifest says the archive holds against what it held.
export function compareDigests(listed: ArchiveFileDigest[], found: ArchiveFileDigest[]): VerifyProblem[] {
  return compareFound(listed, FoundEntries.of(found));
}

// The same, against what readArchive found (directories are not listed in a manifest).
export function compareFound(listed: ArchiveFileDigest[], found: FoundEntries): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const listedPaths = new Set(listed.map((f) => f.path));
  for (const want of listed) {
    const got = found.digest(want.path);
    if (got === null) problems.push({ path: want.path, problem: "missing" });
    else if (got.size !== want.size) problems.push({ path: want.path, problem: "size", expected: String(want.size), actual: String(got.size) });
    else if (got.sha256 !== want.sha256) problems.push({ path: want.path, problem: "mismatch", expected: want.sha256, actual: got.sha256 });
  }
  for (const { path } of found.files()) {
    // The manifest cannot list itself, nor the signature of its own bytes.
    if (!listedPaths.has(path) && path !== MANIFEST_JSON && path !== MANIFEST_PB && path !== SIGNATURE_ENTRY) problems.push({ path, problem: "unlisted" });
  }
  return problems;
}

export function describeProblem(p: VerifyProblem): string {
  switch (p.problem) {
    case "mismatch":
      return `${p.path}: SHA-256 ${p.actual} does not match the manifest's ${p.expected}`;
    case "size":
      return `${p.path}: ${p.actual} bytes where the manifest says ${p.expected}`;
    case "missing":
      return `${p.path}: listed in the manifest but not in the archive`;
    case "unlisted":
      return `${p.path}: in the archive but not in the manifest`;
  }
}
