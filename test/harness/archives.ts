// Hand-made tar archives for the import attack tests: each entry's header is written as
// given (node-tar's Header), so paths and types a well-behaved packer would never produce
// reach ckpt as an attacker would send them.
import { writeFile } from "node:fs/promises";
import * as tar from "tar";

export interface RawEntry {
  path: string;
  type: "File" | "Directory" | "SymbolicLink" | "Link" | "FIFO" | "CharacterDevice";
  content?: Buffer;
  // Claimed size when it differs from the content's (oversized headers).
  size?: number;
  linkpath?: string;
}

export async function writeRawTar(file: string, entries: RawEntry[]): Promise<void> {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const content = e.content ?? Buffer.alloc(0);
    const size = e.type === "File" ? (e.size ?? content.length) : 0;
    const header = new tar.Header({ path: e.path, type: e.type, size, mode: e.type === "Directory" ? 0o755 : 0o644, mtime: new Date(), uid: 0, gid: 0, ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }) });
    header.encode();
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
