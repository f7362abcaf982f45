// Staging directories a ckpt command left behind. tmpfs staging (/dev/shm) is shared with
// whatever else runs ckpt on the host (another test process importing at the same time),
// so a leftover is a directory that appeared while the command ran and is still there a
// moment after it exited; ROOT/staging belongs to the test's own root.
import { readdir } from "node:fs/promises";
import { join } from "node:path";

const STAGING = /^ckpt-(import|export)-/;

async function tmpfsStaging(): Promise<Set<string>> {
  return new Set((await readdir("/dev/shm")).filter((n) => STAGING.test(n)));
}

// Call before the command; the returned function, after it, gives what it left.
export async function watchStaging(root: string): Promise<() => Promise<string[]>> {
  const before = await tmpfsStaging();
  return async () => {
    let appeared = [...(await tmpfsStaging())].filter((n) => !before.has(n));
    // Another process's import still running ends soon; this command's leftover stays.
    for (let i = 0; i < 20 && appeared.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const now = await tmpfsStaging();
      appeared = appeared.filter((n) => now.has(n));
    }
    const disk = await readdir(join(root, "staging")).catch(() => [] as string[]);
    return [...appeared.map((n) => join("/dev/shm", n)), ...disk.map((n) => join(root, "staging", n))];
  };
}
