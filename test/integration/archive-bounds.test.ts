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
import { watchStaging } from "../harness/staging.ts";

const MiB = 1024 * 1024;

before(() => removeStaleSandboxes());


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
  const leftovers = await watchStaging(ckpt.root);
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
  assert.deepEqual(await leftovers(), [], "the staging directory is gone");
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
    const leftovers = await watchStaging(ckpt.root);
    const r = await execa(ckptBin, ["--root", ckpt.root, ...command], { env: { CKPT_NODE: process.execPath, CKPT_MAX_ARCHIVE_ENTRIES: "1000" }, reject: false });
    assert.equal(r.exitCode, 8, `${command[0]}: ${String(r.stderr)}`);
    assert.match(String(r.stderr), /more than 1000 entries/);
    assert.deepEqual(await leftovers(), []);
  }
});

// The readers of an archive a metadata bound protects: inspect, an import from a file, and
// a migration target's import from standard input.
const readers = (file: string) => [
  { args: ["inspect", file] },
  { args: ["restore", "--import", file, "--no-verify"] },
  { args: ["restore", "--import", "-", "--json"], inputFile: file },
];

test("attack: a pax header of 1,000 KiB before each of 20 entries (20 MB of metadata a reader parses and holds) is refused at the default 16 MiB metadata bound by inspect, restore --import FILE and restore --import -; nothing is left", async (t) => {
  if (!requireRoot(t)) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const fat = sandbox.path("fat-pax.tar");
  const entries: RawEntry[] = [{ path: "config.dump", type: "File", content: Buffer.from("{}") }];
  for (let i = 0; i < 20; i++) entries.push({ path: `checkpoint/e${i}`, type: "File", content: Buffer.from("x"), pax: { comment: "c".repeat(1000 * 1024) } });
  await writeRawTar(fat, entries);
  for (const reader of readers(fat)) {
    const leftovers = await watchStaging(ckpt.root);
    const r = await execa(ckptBin, ["--root", ckpt.root, ...reader.args], { env: { CKPT_NODE: process.execPath }, reject: false, ...(reader.inputFile === undefined ? {} : { inputFile: reader.inputFile }) });
    assert.equal(r.exitCode, 8, `${reader.args.join(" ")}: ${String(r.stderr)}`);
    assert.match(String(r.stderr), new RegExp(`metadata \\(entry paths, link targets, pax headers\\) passes ${16 * MiB} bytes \\(at a header after checkpoint/e1[56]\\)`));
    assert.deepEqual(await leftovers(), [], "the staging directory is gone");
    assert.deepEqual(await readdir(`${ckpt.root}/containers`).catch(() => []), [], "no container was created");
  }
});

test("attack: 2,000 entries whose paths add up past CKPT_MAX_ARCHIVE_METADATA_BYTES=65536 are refused naming the entry that passed it; nothing is left", async (t) => {
  if (!requireRoot(t)) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const long = sandbox.path("long-paths.tar");
  const entries: RawEntry[] = [{ path: "config.dump", type: "File", content: Buffer.from("{}") }];
  for (let i = 0; i < 2000; i++) entries.push({ path: `checkpoint/${"p".repeat(50)}-${i}`, type: "File", content: Buffer.alloc(0) });
  await writeRawTar(long, entries);
  for (const reader of readers(long)) {
    const leftovers = await watchStaging(ckpt.root);
    const r = await execa(ckptBin, ["--root", ckpt.root, ...reader.args], { env: { CKPT_NODE: process.execPath, CKPT_MAX_ARCHIVE_METADATA_BYTES: "65536" }, reject: false, ...(reader.inputFile === undefined ? {} : { inputFile: reader.inputFile }) });
    assert.equal(r.exitCode, 8, `${reader.args.join(" ")}: ${String(r.stderr)}`);
    assert.match(String(r.stderr), /passes 65536 bytes \(at checkpoint\/p{50}-1\d{3}\)/);
    assert.deepEqual(await leftovers(), [], "the staging directory is gone");
  }
});
