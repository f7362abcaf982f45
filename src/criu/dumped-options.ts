// What a directory of CRIU images says about the options it was dumped with: the file
// locks it holds (filelocks.img), its established TCP connections (one tcp-stream-ID.img
// each) and whether it was dumped with --tcp-close (the inventory's flag).
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeEntries, FILE_LOCKS_MAGIC, INVENTORY_MAGIC, splitImage } from "./images.ts";

export interface DumpedOptionsEvidence {
  fileLocks: number;
  establishedTcp: number;
  tcpClose: boolean;
}

export async function readDumpedOptionsEvidence(imagesDir: string): Promise<DumpedOptionsEvidence> {
  const names = await readdir(imagesDir).catch(() => [] as string[]);
  const locks = names.includes("filelocks.img") ? await readFile(join(imagesDir, "filelocks.img")) : null;
  const inventory = names.includes("inventory.img") ? decodeEntries(await readFile(join(imagesDir, "inventory.img")), "inventory.img", INVENTORY_MAGIC, "criu.InventoryEntry")[0] : undefined;
  return {
    fileLocks: locks === null ? 0 : countEntries(locks, "filelocks.img"),
    establishedTcp: names.filter((n) => /^tcp-stream-[0-9a-f]+\.img$/.test(n)).length,
    tcpClose: inventory?.["tcp_close"] === true,
  };
}

function countEntries(bytes: Uint8Array, name: string): number {
  const { magic, entries } = splitImage(bytes, name);
  return magic === FILE_LOCKS_MAGIC ? entries.length : 0;
}
