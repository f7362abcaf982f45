// The image directory CRIU restores from. The checkpoint itself is never modified: when
// the clock plan needs other clock values than the dumped ones, CRIU gets a directory of
// hard links (symbolic links across file systems) to the images with a rewritten
// timens image in it.
import { link, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeTimens, type TimensImage } from "../criu/images.ts";

export async function imagesWithClocks(imageDir: string, scratchDir: string, clocks: TimensImage): Promise<string> {
  await rm(scratchDir, { recursive: true, force: true });
  await mkdir(scratchDir, { recursive: true, mode: 0o700 });
  for (const name of await readdir(imageDir)) {
    if (name === "timens-0.img") continue;
    await link(join(imageDir, name), join(scratchDir, name)).catch(() => symlink(join(imageDir, name), join(scratchDir, name)));
  }
  await writeFile(join(scratchDir, "timens-0.img"), encodeTimens(clocks), { mode: 0o600 });
  return scratchDir;
}
