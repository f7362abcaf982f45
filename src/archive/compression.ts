// The compressions a checkpoint archive may use, how to recognise them, and the programs
// that apply them: zstd (a thread per core) and gzip run as their own processes, reading
// and writing file descriptors, so no archive byte passes through ckpt's event loop.
import { availableParallelism } from "node:os";
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

// zstd's fastest regular level (--fast=1) with a thread per core. Measured on a 1 GiB
// memory image (half random): --fast=1 0.74 s, -3 0.91 s, both 537 MB; -1 1.86 s and
// 607 MB (level 1 does badly on random pages).
export function zstdArgv(): string[] {
  return ["-q", "-c", "--fast=1", `-T${availableParallelism()}`];
}

// The program that compresses an archive from its stdin to its stdout; null for "none".
export function compressorArgv(compression: Compression): { path: string; argv: string[] } | null {
  if (compression === "none") return null;
  const name = compression === "zstd" ? "zstd" : "gzip";
  const path = findExecutable(name);
  if (path === null) throw new CkptError(ExitCode.hostNotReady, `${name} is not installed`, { hint: "install it (scripts/setup-host.sh does), or choose another compression with -c zstd|gzip|none" });
  return { path, argv: compression === "zstd" ? zstdArgv() : ["-1", "-c"] };
}
