// Bounded expansion: an archive may not expand past what ckpt allows it in staging (tmpfs
// is memory), nor carry more entries than a checkpoint could. The damage looked for is
// staging use itself, sampled while the import runs.
import assert from "node:assert/strict";
import { readdir, statfs } from "node:fs/promises";
import { before, test } from "node:test";
import { execa } from "execa";
import { writeRawTar, type RawEntry } from "../harness/archives.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRoot } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

const MiB = 1024 * 1024;

before(() => removeStaleSandboxes());

async function stagingLeftovers(root: string): Promise<string[]> {
  const shm = (await readdir("/dev/shm")).filter((n) => n.startsWith("ckpt-import-"));
  const disk = await readdir(`${root}/staging`).catch(() => [] as string[]);
  return [...shm, ...disk];
}

test("attack: a zstd archive that expands far past its staging bound (a tiny file of 256 MiB of zeros) is refused before the bound is exceeded; nothing is left", async (t) => {
  if (!requireRoot(t)) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const plain = sandbox.path("bomb.tar");
  await writeRawTar(plain, [{ path: "config.dump", type: "File", content: Buffer.from("{}") }, { path: "checkpoint/pages-1.img", type: "File", content: Buffer.alloc(256 * MiB) }]);
  await execa("zstd", ["-q", "-19", "--rm", plain, "-o", `${plain}.zst`]);
  const bound = 16 * MiB;
  const before = await statfs("/dev/shm");
  const baseline = before.bavail * before.bsize;
  let lowest = baseline;
  const child = execa(ckptBin, ["--root", ckpt.root, "restore", "--import", `${plain}.zst`, "--no-verify"], { env: { CKPT_NODE: process.execPath, CKPT_STAGING_MAX_BYTES: String(bound) }, reject: false });
  let running = true;
  const sampler = (async () => {
    while (running) {
      const s = await statfs("/dev/shm");
      lowest = Math.min(lowest, s.bavail * s.bsize);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const r = await child;
  running = false;
  await sampler;
  assert.equal(r.exitCode, 8, String(r.stderr));
  assert.match(String(r.stderr), new RegExp(`expands past ${bound} bytes.*checkpoint/pages-1\\.img`));
  const peak = baseline - lowest;
  assert.ok(peak <= bound + 2 * MiB, `staging held at most the bound: peak ${(peak / MiB).toFixed(1)} MiB of ${bound / MiB} MiB`);
  assert.deepEqual(await stagingLeftovers(ckpt.root), [], "the staging directory is gone");
});

test("attack: an archive of 1,001 empty entries is refused at the entry bound (CKPT_MAX_ARCHIVE_ENTRIES=1000), by restore --import and inspect", async (t) => {
  if (!requireRoot(t)) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const many = sandbox.path("many.tar");
  const entries: RawEntry[] = [{ path: "config.dump", type: "File", content: Buffer.from("{}") }];
  for (let i = 0; i < 1000; i++) entries.push({ path: `checkpoint/e${i}`, type: "File", content: Buffer.alloc(0) });
  await writeRawTar(many, entries);
  for (const command of [["restore", "--import", many, "--no-verify"], ["inspect", many]]) {
    const r = await execa(ckptBin, ["--root", ckpt.root, ...command], { env: { CKPT_NODE: process.execPath, CKPT_MAX_ARCHIVE_ENTRIES: "1000" }, reject: false });
    assert.equal(r.exitCode, 8, `${command[0]}: ${String(r.stderr)}`);
    assert.match(String(r.stderr), /more than 1000 entries/);
    assert.deepEqual(await stagingLeftovers(ckpt.root), []);
  }
});
