// Hashes files while another process is still writing them: CRIU writes each memory
// pages image front to back, so reading behind it and hashing what is there moves the
// SHA-256 of a gigabyte off the critical path, onto the core CRIU leaves idle.
import { createHash, type Hash } from "node:crypto";
import { open, readdir, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { Worker } from "node:worker_threads";

interface Tail {
  handle: FileHandle;
  hash: Hash;
  offset: number;
}

export interface GrowingFileDigest {
  name: string;
  size: number;
  sha256: string;
}

const CHUNK = 4 * 1024 * 1024;

export class GrowingFileHasher {
  private readonly tails = new Map<string, Tail>();
  private readonly buffer = Buffer.allocUnsafe(CHUNK);
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;

  private readonly dir: string;
  private readonly match: RegExp;
  private readonly intervalMs: number;

  constructor(dir: string, match: RegExp, intervalMs = 20) {
    this.dir = dir;
    this.match = match;
    this.intervalMs = intervalMs;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.busy = this.catchUp().catch(() => {});
      void this.busy.then(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
  }

  // The writer has finished: read every matching file to its end and return the digests.
  async finish(): Promise<GrowingFileDigest[]> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.busy;
    await this.catchUp();
    const out: GrowingFileDigest[] = [];
    for (const [name, tail] of this.tails) {
      out.push({ name, size: tail.offset, sha256: tail.hash.digest("hex") });
      await tail.handle.close();
    }
    this.tails.clear();
    return out;
  }

  // Gives up (the dump failed): closes everything.
  async abandon(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.busy;
    for (const tail of this.tails.values()) await tail.handle.close().catch(() => {});
    this.tails.clear();
  }

  private async catchUp(): Promise<void> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => this.match.test(n));
    for (const name of names) {
      let tail = this.tails.get(name);
      if (tail === undefined) {
        tail = { handle: await open(join(this.dir, name), "r"), hash: createHash("sha256"), offset: 0 };
        this.tails.set(basename(name), tail);
      }
      for (;;) {
        const { bytesRead } = await tail.handle.read(this.buffer, 0, CHUNK, tail.offset);
        if (bytesRead === 0) break;
        tail.hash.update(this.buffer.subarray(0, bytesRead));
        tail.offset += bytesRead;
      }
    }
  }
}

// The same, on a worker thread: for when this thread is busy writing the files.
export interface BackgroundHasher {
  finish(): Promise<GrowingFileDigest[]>;
  abandon(): Promise<void>;
}

export function hashInBackground(dir: string, pattern: RegExp): BackgroundHasher {
  const script = new URL(import.meta.url.endsWith(".ts") ? "./hash-worker.ts" : "./hash-worker.js", import.meta.url);
  const worker = new Worker(script, { workerData: { dir, pattern: pattern.source } });
  const result = new Promise<GrowingFileDigest[]>((resolve, reject) => {
    worker.once("message", (m: { digests?: GrowingFileDigest[]; error?: string }) => (m.digests ? resolve(m.digests) : reject(new Error(m.error ?? "hash worker failed"))));
    worker.once("error", reject);
  });
  result.catch(() => {});
  return {
    async finish() {
      worker.postMessage("finish");
      try {
        return await result;
      } finally {
        await worker.terminate();
      }
    },
    async abandon() {
      await worker.terminate();
    },
  };
}
