import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { decodeDumpStats, decodeTimens, encodeTimens, splitImage } from "./images.ts";

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/criu/${name}`, import.meta.url));

test("timens image of a real runc dump decodes to nanosecond clocks", () => {
  const t = decodeTimens(fixture("timens-0.img"));
  // Dumped about 50 minutes after boot on a host that never slept: boottime equals monotonic.
  assert.ok(t.monotonicNs > 3000n * 1_000_000_000n && t.monotonicNs < 3100n * 1_000_000_000n, String(t.monotonicNs));
  const gap = t.boottimeNs - t.monotonicNs;
  assert.ok(gap >= 0n && gap < 1_000_000n, `boottime - monotonic = ${gap} ns`);
  assert.notEqual(t.monotonicNs % 1_000_000_000n, 0n);
});

test("encodeTimens writes what decodeTimens reads, byte for byte on a real image", () => {
  const original = fixture("timens-0.img");
  assert.deepEqual(Buffer.from(encodeTimens(decodeTimens(original))), original);
  const moved = { monotonicNs: 5n * 1_000_000_000n + 7n, boottimeNs: 9_000_000_001n };
  assert.deepEqual(decodeTimens(encodeTimens(moved)), moved);
});

test("dump statistics of a real dump: times in microseconds and pages", () => {
  const s = decodeDumpStats(fixture("stats-dump"));
  assert.ok(s.frozenTimeUs > 0 && s.frozenTimeUs >= s.memdumpTimeUs, JSON.stringify(s));
  assert.ok(s.pagesWritten > 0 && s.pagesScanned >= s.pagesWritten, JSON.stringify(s));
});

test("damaged frames are refused with the reason", () => {
  const good = fixture("timens-0.img");
  assert.throws(() => splitImage(good.subarray(0, 5), "x"), /shorter than its magic/);
  assert.throws(() => splitImage(good.subarray(0, good.length - 3), "x"), /claims 22 bytes/);
  const wrong = Buffer.from(good);
  wrong.writeUInt32LE(0x12345678, 0);
  assert.throws(() => splitImage(wrong, "x"), /unknown magic/);
  assert.throws(() => decodeDumpStats(good), /magic 0x43114433 is not/);
});

test("a netns image of a namespace given by path carries only its external key; a directory without one needs none", async () => {
  const { mkdtemp, copyFile, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { readExternalNetnsKeys } = await import("./images.ts");
  const dir = await mkdtemp(join(tmpdir(), "ckpt-unit-netns-"));
  try {
    assert.deepEqual(await readExternalNetnsKeys(dir), []);
    // Written by CRIU 4.2.1 for runc 1.1.5, a container in ckpt's private network namespace.
    await copyFile(new URL("../../test/fixtures/criu/external-netns/netns-10.img", import.meta.url), join(dir, "netns-10.img"));
    assert.deepEqual(await readExternalNetnsKeys(dir), ["extRootNetNS"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
