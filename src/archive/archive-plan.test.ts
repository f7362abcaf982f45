import assert from "node:assert/strict";
import { test } from "node:test";
import { detectCompression } from "./compression.ts";
import { compareDigests, describeProblem } from "./read-archive.ts";
import { chooseStaging } from "./staging.ts";
import { planArchiveEntries } from "./write-archive.ts";

const GiB = 1024 ** 3;
const digest = (path: string, size: number, c: string) => ({ path, size, sha256: c.repeat(64) });

test("compression is recognised by its magic bytes; a tar by 'ustar' at offset 257; anything else is not an archive", () => {
  assert.equal(detectCompression(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x04])), "zstd");
  assert.equal(detectCompression(Uint8Array.from([0x1f, 0x8b, 0x08])), "gzip");
  const tar = Buffer.alloc(512);
  tar.write("ustar", 257, "latin1");
  assert.equal(detectCompression(tar), "none");
  assert.equal(detectCompression(Buffer.from("{\"not\": \"an archive\"}")), null);
  assert.equal(detectCompression(new Uint8Array(0)), null);
});

test("archive order: top-level files, then CRIU's images; manifest, its signature, CRIU's work files and partial markers left out", () => {
  const planned = planArchiveEntries(["checkpoint/pages-1.img", "manifest.json", "spec.dump", "work/dump.log", "checkpoint/core-1.img", "manifest.pb", "config.dump", "rootfs-diff.tar", "x.partial", "manifest.sig"]);
  assert.deepEqual(planned, ["config.dump", "rootfs-diff.tar", "spec.dump", "checkpoint/core-1.img", "checkpoint/pages-1.img"]);
});

test("verification names each altered, missing, resized and smuggled file", () => {
  const listed = [digest("spec.dump", 10, "a"), digest("checkpoint/pages-1.img", 4096, "b"), digest("checkpoint/core-1.img", 20, "c"), digest("config.dump", 5, "d")];
  const found = [digest("spec.dump", 10, "a"), digest("checkpoint/pages-1.img", 4096, "e"), digest("config.dump", 6, "d"), digest("checkpoint/evil.img", 1, "f"), digest("manifest.json", 9, "0")];
  const problems = compareDigests(listed, found);
  assert.deepEqual(problems.map((p) => [p.path, p.problem]), [
    ["checkpoint/pages-1.img", "mismatch"],
    ["checkpoint/core-1.img", "missing"],
    ["config.dump", "size"],
    ["checkpoint/evil.img", "unlisted"],
  ]);
  assert.equal(describeProblem(problems[0]!), `checkpoint/pages-1.img: SHA-256 ${"e".repeat(64)} does not match the manifest's ${"b".repeat(64)}`);
  assert.deepEqual(compareDigests(listed, listed), [], "an intact archive has no problems");
  assert.deepEqual(compareDigests(listed, [...listed, digest("manifest.sig", 500, "1"), digest("checkpoint/manifest.sig", 5, "2")]).map((p) => [p.path, p.problem]), [["checkpoint/manifest.sig", "unlisted"]], "the top-level signature of the manifest is not a file the manifest lists");
});

test("staging: tmpfs when the checkpoint fits twice in available memory with room to spare, else disk", () => {
  assert.equal(chooseStaging({ memAvailableBytes: 23 * GiB, tmpfsFreeBytes: 12 * GiB, expectedBytes: 1 * GiB }), "tmpfs");
  assert.equal(chooseStaging({ memAvailableBytes: 2 * GiB, tmpfsFreeBytes: 12 * GiB, expectedBytes: 1 * GiB }), "disk", "2 GiB + 512 MiB needed");
  assert.equal(chooseStaging({ memAvailableBytes: 23 * GiB, tmpfsFreeBytes: 0.5 * GiB, expectedBytes: 1 * GiB }), "disk", "tmpfs too small");
  assert.equal(chooseStaging({ memAvailableBytes: 23 * GiB, tmpfsFreeBytes: null, expectedBytes: 1 * GiB }), "disk", "no tmpfs");
  assert.equal(chooseStaging({ memAvailableBytes: 8 * GiB, tmpfsFreeBytes: 8 * GiB, expectedBytes: null }), "tmpfs", "unknown size, plenty of memory");
  assert.equal(chooseStaging({ memAvailableBytes: 3 * GiB, tmpfsFreeBytes: 8 * GiB, expectedBytes: null }), "disk", "unknown size, little memory");
});

test("staging bound: free space minus the reserve, on tmpfs also available memory minus the reserve, and never past the operator's maximum", async () => {
  const { stagingBound, STAGING_RESERVE_BYTES } = await import("./staging.ts");
  const GiB = 1024 ** 3;
  assert.equal(stagingBound({ where: "disk", freeBytes: 10 * GiB, memAvailableBytes: 1 * GiB, configuredMaxBytes: null }), 10 * GiB - STAGING_RESERVE_BYTES);
  assert.equal(stagingBound({ where: "tmpfs", freeBytes: 10 * GiB, memAvailableBytes: 3 * GiB, configuredMaxBytes: null }), 3 * GiB - STAGING_RESERVE_BYTES);
  assert.equal(stagingBound({ where: "tmpfs", freeBytes: 10 * GiB, memAvailableBytes: 3 * GiB, configuredMaxBytes: GiB }), GiB);
  assert.equal(stagingBound({ where: "disk", freeBytes: 100, memAvailableBytes: 0, configuredMaxBytes: null }), 0, "never negative");
});
