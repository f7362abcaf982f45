// The compressions a checkpoint archive may use, how to recognise them, and the streams
// that apply them. zstd runs as the zstd program with one thread per core, so compression
// overlaps with ckpt's own tar work; gzip uses Node's zlib.
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { Duplex, type Readable, type Writable } from "node:stream";
import { createGunzip, createGzip, constants as zlib } from "node:zlib";
import { CkptError, ExitCode } from "../errors.ts";
import { findExecutable } from "../host/find-executable.ts";

export const compressions = ["zstd", "gzip", "none"] as const;
export type Compression = (typeof compressions)[number];

// What the first bytes of an archive say it is; null when it is neither compressed nor
// a tar archive.
export function detectCompression(head: Uint8Array): Compression | null {
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  // A tar header has "ustar" at offset 257.
  if (head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString("latin1") === "ustar") return "none";
  return null;
}

// The file name suffix that goes with a compression.
export function archiveSuffix(compression: Compression): string {
  return { zstd: ".tar.zst", gzip: ".tar.gz", none: ".tar" }[compression];
}

// zstd level 1 with a thread per core: on checkpoint images (half of them random pages)
// it keeps up with CRIU's write speed, which level 3 does not on two cores.
export function zstdArgv(mode: "compress" | "decompress"): string[] {
  return mode === "compress" ? ["-q", "-c", "-1", `-T${availableParallelism()}`] : ["-q", "-d", "-c"];
}

export interface Codec {
  stream: Duplex;
  // Settles when the codec has finished: a program's exit status arrives after its output ends.
  finished: Promise<void>;
}

// A stream that compresses (or decompresses) what is written to it; null for "none".
export function codecStream(compression: Compression, mode: "compress" | "decompress"): Codec | null {
  if (compression === "none") return null;
  if (compression === "gzip") {
    const stream = mode === "compress" ? createGzip({ level: zlib.Z_BEST_SPEED }) : createGunzip();
    return { stream, finished: Promise.resolve() };
  }
  const zstd = findExecutable("zstd");
  if (zstd === null) throw new CkptError(ExitCode.hostNotReady, "zstd is not installed", { hint: "install it (scripts/setup-host.sh does), or choose another compression with -c gzip|none" });
  return programStream(zstd, zstdArgv(mode), `zstd ${mode === "compress" ? "compression" : "decompression"}`);
}

// A child program as a Duplex: writes go to its stdin, reads come from its stdout, and a
// non-zero exit (with its stderr) becomes the stream's error.
function programStream(path: string, argv: string[], what: string): Codec {
  const child: ChildProcess = spawn(path, argv, { stdio: ["pipe", "pipe", "pipe"] });
  const stdin = child.stdin as Writable;
  const stdout = child.stdout as Readable;
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const duplex = Duplex.from({ writable: stdin, readable: stdout });
  const exited = new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new CkptError(ExitCode.badCheckpoint, `${what} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || "no message"}`));
    });
  });
  exited.catch((error: unknown) => duplex.destroy(error as Error));
  // A consumer that fails early must not leave the program behind.
  duplex.on("close", () => {
    if (!stdout.readableEnded && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  });
  return { stream: duplex, finished: exited };
}
