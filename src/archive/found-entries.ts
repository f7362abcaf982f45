// What a reader found in an archive, by path: each file's size and SHA-256, and which
// paths were directories or links. Compact, because a manifest comes last and every
// digest must be held until then: one map slot and one copied path string per entry, the
// digests packed 32 bytes each in one buffer (about 100 bytes an entry, where an object
// with a hex digest took 300).
import type { ArchiveFileDigest } from "../checkpoint/manifest.ts";

const DIRECTORY = -1;
const LINK = -2;
const DIGEST = 32;

export class FoundEntries {
  private readonly index = new Map<string, number>();
  private digests = Buffer.alloc(DIGEST * 256);
  private sizes = new Float64Array(256);
  private count = 0;

  get fileCount(): number {
    return this.count;
  }

  kind(path: string): "file" | "directory" | "link" | undefined {
    const slot = this.index.get(path);
    return slot === undefined ? undefined : slot === DIRECTORY ? "directory" : slot === LINK ? "link" : "file";
  }

  addDirectory(path: string): void {
    if (!this.index.has(path)) this.index.set(own(path), DIRECTORY);
  }

  addLink(path: string): void {
    this.index.set(own(path), LINK);
  }

  // Takes `path` for a file whose digest comes later (setFile).
  addFile(path: string): number {
    const slot = this.count++;
    if (slot === this.sizes.length) {
      const sizes = new Float64Array(this.sizes.length * 2);
      sizes.set(this.sizes);
      this.sizes = sizes;
      const digests = Buffer.alloc(this.digests.length * 2);
      this.digests.copy(digests);
      this.digests = digests;
    }
    this.index.set(own(path), slot);
    return slot;
  }

  // A file's size and digest (a raw SHA-256, or its hex).
  setFile(slot: number, size: number, sha256: Uint8Array | string): void {
    this.sizes[slot] = size;
    const raw = typeof sha256 === "string" ? Buffer.from(sha256, "hex") : sha256;
    this.digests.set(raw.subarray(0, DIGEST), slot * DIGEST);
  }

  digest(path: string): { size: number; sha256: string } | null {
    const slot = this.index.get(path);
    if (slot === undefined || slot < 0) return null;
    return { size: this.sizes[slot]!, sha256: this.digests.toString("hex", slot * DIGEST, (slot + 1) * DIGEST) };
  }

  // Every file, in the archive's order.
  *files(): Generator<ArchiveFileDigest> {
    for (const [path, slot] of this.index) if (slot >= 0) yield { path, size: this.sizes[slot]!, sha256: this.digests.toString("hex", slot * DIGEST, (slot + 1) * DIGEST) };
  }

  static of(files: Iterable<ArchiveFileDigest>): FoundEntries {
    const found = new FoundEntries();
    for (const f of files) found.setFile(found.addFile(f.path), f.size, f.sha256);
    return found;
  }
}

// A flat copy of a path: node-tar's are slices and concatenations of its header strings,
// which would keep whole headers alive for as long as the path is held.
function own(path: string): string {
  return Buffer.from(path, "utf8").toString("utf8");
}
