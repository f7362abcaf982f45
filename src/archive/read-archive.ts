// Streams a checkpoint archive into a private staging directory. Every entry's header
// is judged (entry-safety.ts) before a byte of it is written, and every file is hashed
// as it is written; the digests are checked against the manifest once the archive ends,
// before anything is restored from it.
import { createHash } from "node:crypto";
import { closeSync, futimesSync, mkdirSync, openSync, writeSync } from "node:fs";
import { link, mkdir, readFile, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { MANIFEST_JSON, MANIFEST_PB, ManifestSchema, type ArchiveFileDigest, type Manifest } from "../checkpoint/manifest.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { codecStream, detectCompression, type Compression } from "./compression.ts";
import { checkArchiveEntry } from "./entry-safety.ts";
import { throttledProgress, type ProgressListener } from "./progress.ts";

export interface ReadArchiveOptions {
  // Paths whose content is not needed (inspect skips the memory pages); they are read
  // past, not written.
  skip?: (path: string) => boolean;
  onProgress?: ProgressListener;
  // The archive's size when known, for progress.
  totalBytes?: number | null;
}

export interface ReadArchiveResult {
  compression: Compression;
  // What the archive held, hashed as it was written.
  files: ArchiveFileDigest[];
  // ckpt's manifest, when the archive has one (podman's and CRI-O's do not).
  manifest: Manifest | null;
}

// Reads until `n` bytes are buffered (or the stream ends) and puts them back.
async function peek(input: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  for (;;) {
    const chunk = input.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= n) break;
      continue;
    }
    if (input.readableEnded) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const done = (value: boolean) => () => {
        input.off("readable", onReadable);
        input.off("end", onEnd);
        input.off("error", onError);
        resolve(value);
      };
      const onReadable = done(false);
      const onEnd = done(true);
      const onError = (error: Error) => reject(error);
      input.once("readable", onReadable);
      input.once("end", onEnd);
      input.once("error", onError);
    });
    if (ended) break;
  }
  const head = Buffer.concat(chunks);
  if (head.length > 0) input.unshift(head);
  return head;
}

export async function readArchive(input: Readable, dest: string, source: string, options: ReadArchiveOptions = {}): Promise<ReadArchiveResult> {
  const head = await peek(input, 512);
  const compression = detectCompression(head);
  if (compression === null) {
    throw new CkptError(ExitCode.badCheckpoint, `${source} is not a checkpoint archive (neither zstd, gzip nor tar)`, { hint: "give an archive made by `ckpt checkpoint --export`, `podman container checkpoint --export` or CRI-O" });
  }
  const codec = codecStream(compression, "decompress");
  const parser = new tar.Parser({ strict: true });
  const files: ArchiveFileDigest[] = [];
  const seen = new Set<string>();
  let refusal: CkptError | null = null;
  let bytes = 0;
  const progress = throttledProgress(options.onProgress);
  const writes: Promise<void>[] = [];

  const refuse = (error: CkptError, entry: tar.ReadEntry) => {
    refusal ??= error;
    entry.resume();
    parser.abort(error);
  };

  parser.on("entry", (entry: tar.ReadEntry) => {
    if (refusal !== null) return void entry.resume();
    const verdict = checkArchiveEntry({ path: entry.path, type: entry.type, size: entry.size ?? 0, linkpath: entry.linkpath });
    if (!verdict.ok) {
      return refuse(new CkptError(ExitCode.refused, `refusing ${source}: ${verdict.reason}`, { evidence: [`attack: ${verdict.attack}`], hint: "nothing from the archive was kept; only import archives from sources you trust" }), entry);
    }
    const path = entry.path.replace(/^\.\//, "").replace(/\/+$/, "");
    if (path === "" || path === ".") return void entry.resume();
    if (seen.has(path) && entry.type !== "Directory") {
      return refuse(new CkptError(ExitCode.refused, `refusing ${source}: ${path} appears twice; a second copy could replace a verified one`), entry);
    }
    seen.add(path);
    const target = join(dest, path);
    if (entry.type === "Directory") {
      entry.resume();
      writes.push(mkdir(target, { recursive: true, mode: 0o700 }).then(() => {}));
      return;
    }
    if (entry.type === "SymbolicLink" || entry.type === "Link") {
      entry.resume();
      writes.push(mkdir(dirname(target), { recursive: true, mode: 0o700 }).then(() => (entry.type === "Link" ? link(join(dest, entry.linkpath ?? ""), target) : symlink(entry.linkpath ?? "", target))));
      return;
    }
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
      return refuse(new CkptError(ExitCode.badCheckpoint, `cannot unpack ${path} from ${source}: ${(error as Error).message}`), entry);
    }
    // Written synchronously, chunk by chunk, exactly the bytes that were hashed: the
    // staging directory is tmpfs or page cache, so each write is a memory copy.
    entry.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      entryBytes += chunk.length;
      if (fd !== null) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          closeSync(fd);
          fd = null;
          refuse(new CkptError(ExitCode.transferFailed, `cannot write ${path} while unpacking ${source}: ${(error as Error).message}`, { hint: "free space where ckpt stages imports (tmpfs, or ROOT/staging)" }), entry);
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
      files.push({ path, size: entryBytes, sha256: hash.digest("hex") });
    });
  });

  const parsed = new Promise<void>((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("close", resolve);
    parser.on("abort", (error: Error) => reject(error));
    parser.on("error", reject);
  });
  const streams = codec === null ? pipeline(input, parser) : Promise.all([pipeline(input, codec.stream, parser), codec.finished]);
  try {
    await Promise.all([streams, parsed]);
    await Promise.all(writes);
    if (refusal !== null) throw refusal;
  } catch (error) {
    await Promise.allSettled(writes);
    if (refusal !== null) throw refusal;
    if (error instanceof CkptError) throw error;
    throw new CkptError(ExitCode.badCheckpoint, `${source} could not be read as a checkpoint archive: ${(error as Error).message}`, { hint: "the archive may be truncated or damaged; nothing from it was kept" });
  }
  if (refusal !== null) throw refusal;
  progress({ phase: "import", bytes, totalBytes: options.totalBytes ?? null }, true);

  let manifest: Manifest | null = null;
  if (seen.has(MANIFEST_JSON)) {
    const parsedManifest = ManifestSchema.safeParse(JSON.parse(await readFile(join(dest, MANIFEST_JSON), "utf8")));
    if (!parsedManifest.success) throw new CkptError(ExitCode.badCheckpoint, `${source}: its ${MANIFEST_JSON} is damaged: ${parsedManifest.error.issues[0]?.message ?? ""}`);
    manifest = parsedManifest.data;
  }
  return { compression, files: files.sort((a, b) => (a.path < b.path ? -1 : 1)), manifest };
}

export interface VerifyProblem {
  path: string;
  problem: "mismatch" | "missing" | "unlisted" | "size";
  expected?: string;
  actual?: string;
}

// Pure: what the manifest says the archive holds against what it held.
export function compareDigests(listed: ArchiveFileDigest[], found: ArchiveFileDigest[]): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const byPath = new Map(found.map((f) => [f.path, f]));
  const listedPaths = new Set(listed.map((f) => f.path));
  for (const want of listed) {
    const got = byPath.get(want.path);
    if (got === undefined) problems.push({ path: want.path, problem: "missing" });
    else if (got.size !== want.size) problems.push({ path: want.path, problem: "size", expected: String(want.size), actual: String(got.size) });
    else if (got.sha256 !== want.sha256) problems.push({ path: want.path, problem: "mismatch", expected: want.sha256, actual: got.sha256 });
  }
  for (const f of found) {
    if (!listedPaths.has(f.path) && f.path !== MANIFEST_JSON && f.path !== MANIFEST_PB) problems.push({ path: f.path, problem: "unlisted" });
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
