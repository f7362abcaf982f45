// Damaged archives (cut short, garbled, a wrong checksum) and archives whose content is
// garbage: every reader fails with a clear exit 8 (damaged) or 5 (refused), never 1 or a
// crash, and leaves no staging directory behind.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { before, test } from "node:test";
import { execa } from "execa";
import { writeRawTar, type RawEntry } from "../harness/archives.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRoot } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { watchStaging } from "../harness/staging.ts";

before(() => removeStaleSandboxes());

const fixture = new URL("../fixtures/criu/podman-busybox/", import.meta.url).pathname;
const spec = { ociVersion: "1.0.2", process: { args: ["/bin/sh"], cwd: "/" }, root: { path: "/x" }, linux: { namespaces: [{ type: "pid" }] } };

// A podman-layout checkpoint: spec, config, CRIU's images and a page file.
function checkpointEntries(): RawEntry[] {
  const entries: RawEntry[] = [
    { path: "spec.dump", type: "File", content: Buffer.from(JSON.stringify(spec)) },
    { path: "config.dump", type: "File", content: Buffer.from(JSON.stringify({ name: "damaged" })) },
    { path: "checkpoint", type: "Directory" },
  ];
  for (const name of readdirSync(fixture).sort()) entries.push({ path: name === "stats-dump" ? name : `checkpoint/${name}`, type: "File", content: readFileSync(join(fixture, name)) });
  entries.push({ path: "checkpoint/pages-1.img", type: "File", content: Buffer.alloc(64 * 1024, 7) });
  return entries;
}

// Each damage as a function of the intact tar's bytes (and the sandbox, for zstd).
const flip = (bytes: Buffer, every: number, from: number) => {
  const out = Buffer.from(bytes);
  for (let i = from; i < out.length; i += every) out[i] = out[i]! ^ 0x5a;
  return out;
};

test("attack: damaged and garbage archives (cut mid-header, cut mid-file, garbled zstd, cut zstd, a wrong gzip CRC, a wrong tar header checksum, a manifest that is not JSON, garbage CRIU images) fail inspect and restore --import with exit 8 or 5, naming what is wrong, never an internal error; no staging is left", async (t) => {
  if (!requireRoot(t)) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const intactPath = sandbox.path("intact.tar");
  await writeRawTar(intactPath, checkpointEntries());
  const intact = readFileSync(intactPath);
  await execa("zstd", ["-q", intactPath, "-o", `${intactPath}.zst`]);
  const zst = readFileSync(`${intactPath}.zst`);
  const gz = gzipSync(intact);
  const badCrc = Buffer.from(gz);
  badCrc[badCrc.length - 8] = badCrc[badCrc.length - 8]! ^ 0xff;
  const badChecksum = Buffer.from(intact);
  badChecksum[512 * 2 + 10] = badChecksum[512 * 2 + 10]! ^ 0x11;
  const garbage = async (entries: RawEntry[]) => {
    const file = sandbox.path(`garbage-${Math.random().toString(36).slice(2)}.tar`);
    await writeRawTar(file, entries);
    return readFileSync(file);
  };
  const cases: Record<string, { bytes: Buffer; expect: RegExp }> = {
    "cut in the middle of a header": { bytes: intact.subarray(0, 512 * 2 + 200), expect: /cut short/ },
    "cut in the middle of a file": { bytes: intact.subarray(0, intact.length - 3000), expect: /could not be read|cut short/ },
    "cut at an entry boundary, no end blocks": { bytes: intact.subarray(0, 512 * 2), expect: /cut short/ },
    "garbled zstd": { bytes: flip(zst, 97, 40), expect: /could not be (read|decompressed)/ },
    "cut zstd": { bytes: zst.subarray(0, zst.length >> 1), expect: /could not be (read|decompressed)|cut short/ },
    "a wrong gzip CRC": { bytes: badCrc, expect: /could not be (read|decompressed)/ },
    "a wrong tar header checksum": { bytes: badChecksum, expect: /could not be read.*checksum/ },
    "zstd's magic, then noise": { bytes: Buffer.concat([zst.subarray(0, 4), Buffer.alloc(4096, 0xa5)]), expect: /could not be (read|decompressed)/ },
    "an empty file": { bytes: Buffer.alloc(0), expect: /not a checkpoint archive|could not be (read|decompressed)/ },
    "a manifest.json that is not JSON": { bytes: await garbage([...checkpointEntries(), { path: "manifest.json", type: "File", content: Buffer.from("{ not json") }]), expect: /manifest\.json is damaged/ },
    "garbage CRIU images": {
      bytes: await garbage(checkpointEntries().map((e) => (e.type === "File" && e.path.startsWith("checkpoint/") && !e.path.includes("pages") ? { ...e, content: Buffer.alloc(300, 0xee) } : e))),
      expect: /\.img/,
    },
  };
  for (const [damage, { bytes, expect }] of Object.entries(cases)) {
    const file = sandbox.path(`${damage.replace(/\W+/g, "-")}.tar`);
    await writeFile(file, bytes);
    for (const args of [["inspect", file], ["restore", "--import", file, "--no-verify"], ["restore", "--import", "-", "--no-verify"]]) {
      const leftovers = await watchStaging(ckpt.root);
      const r = await ckpt.run(args, args.includes("-") ? { inputFile: file } : {});
      const what = `${damage}: ${args.join(" ")}`;
      assert.ok(r.exitCode === 8 || r.exitCode === 5, `${what}: exit ${r.exitCode}\n${r.stderr}`);
      assert.match(String(r.stderr), expect, what);
      assert.doesNotMatch(String(r.stderr), /internal error|\n\s+at /, `${what}: no stack trace`);
      assert.deepEqual(await leftovers(), [], `${what}: no staging left`);
      assert.deepEqual(await readdir(join(ckpt.root, "containers")).catch(() => []), [], `${what}: no container`);
    }
  }
});
