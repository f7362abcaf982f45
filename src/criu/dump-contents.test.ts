import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { readDumpContents, recordedRootMode, tasksOutsideRootTimeNamespace } from "./dump-contents.ts";
import { decodeEntries, encodeImage, IDS_MAGIC } from "./images.ts";

// A real dump: podman 4.3.1 with runc 1.1.5 and CRIU 4.1.1 checkpointing a busybox shell
// loop (PID 1 `sh`, its child `sleep`); the memory pages and mount images left out.
const podman = fileURLToPath(new URL("../../test/fixtures/criu/podman-busybox/", import.meta.url));
// A real fact-2 dump: runc 1.1.5 checkpointed a container restored into a time namespace
// of its own, after a plain `runc exec` left a daemon (`sleep`) in the host's namespace.
const fact2 = fileURLToPath(new URL("../../test/fixtures/criu/runc-fact2/", import.meta.url));

test("a podman dump: the process tree, states, threads and one time namespace", async () => {
  const dump = await readDumpContents(podman);
  assert.deepEqual(dump.tasks.map((t) => [t.pid, t.ppid, t.command, t.state, t.threads.length]), [
    [1, 0, "sh", "alive", 1],
    [8, 1, "sleep", "alive", 1],
  ]);
  assert.equal(dump.rootTimeNsId, dump.tasks[0]!.ids!.timeNsId);
  assert.deepEqual(tasksOutsideRootTimeNamespace(dump), []);
  assert.ok(dump.timens !== null && dump.timens.imageName === "timens-0.img" && dump.timens.monotonicNs > 0n);
});

test("a podman dump: memory per task from mm and pagemap, open files from fdinfo and files.img", async () => {
  const dump = await readDumpContents(podman);
  const sh = dump.tasks[0]!;
  // pagemap-1.img lists 19 pages written (the pages image of PID 1 is 77824 bytes = 19 pages).
  assert.equal(sh.memory?.pagesWritten, 77824 / 4096);
  assert.equal(sh.memory?.areas, sh.memory!.fileAreas + sh.memory!.anonymousAreas);
  assert.ok(sh.memory!.mappedBytes > 0 && sh.memory!.mappedBytes % 4096 === 0);
  assert.deepEqual(sh.files.map((f) => [f.fd, f.type]), [
    [0, "file"],
    [1, "pipe"],
    [2, "pipe"],
  ]);
  assert.equal(sh.files[0]!.target, "/dev/null");
  assert.match(sh.files[1]!.target, /^pipe:\[\d+\]$/);
});

test("details: false reads only the tree and namespaces", async () => {
  const dump = await readDumpContents(podman, { details: false });
  assert.equal(dump.tasks.length, 2);
  assert.ok(dump.tasks.every((t) => t.memory === null && t.files.length === 0 && t.ids !== null));
});

test("the root directory's recorded mode (CRIU checks it on restore): podman's overlay root is 0555", async () => {
  assert.equal(((await recordedRootMode(podman)) ?? 0) & 0o7777, 0o555);
});

test("a runc fact-2 dump: the daemon's time namespace differs from PID 1's and is reported", async () => {
  const dump = await readDumpContents(fact2, { details: false });
  const outside = tasksOutsideRootTimeNamespace(dump);
  assert.equal(outside.length, 1);
  assert.equal(outside[0]!.command, "sleep");
  assert.notEqual(outside[0]!.ids!.timeNsId, dump.rootTimeNsId);
  // The timens image is named after PID 1's namespace, not numbered 0.
  assert.equal(dump.timens?.imageName, `timens-${dump.rootTimeNsId}.img`);
});

test("ids images re-encode byte for byte (repair may rewrite them without losing a field)", async () => {
  for (const dir of [podman, fact2]) {
    for (const pid of (await readDumpContents(dir, { details: false })).tasks.map((t) => t.pid)) {
      const bytes = await readFile(`${dir}/ids-${pid}.img`);
      const entries = decodeEntries(bytes, `ids-${pid}.img`, IDS_MAGIC, "criu.TaskKobjIdsEntry", { defaults: false });
      assert.deepEqual(Buffer.from(encodeImage(IDS_MAGIC, "criu.TaskKobjIdsEntry", entries)), bytes, `ids-${pid}.img of ${dir}`);
      const moved = decodeEntries(encodeImage(IDS_MAGIC, "criu.TaskKobjIdsEntry", entries.map((e) => ({ ...e, time_ns_id: 99 }))), "moved", IDS_MAGIC, "criu.TaskKobjIdsEntry", { defaults: false })[0]!;
      assert.deepEqual({ ...moved, time_ns_id: entries[0]!["time_ns_id"] }, entries[0], "only the time namespace id changes");
    }
  }
});

test("CRIU 4.2.1's pagemap counts pages in its 64-bit field (nr_pages is 0): a sleeping busybox wrote 17 pages", async () => {
  const { readDumpContents } = await import("./dump-contents.ts");
  const dump = await readDumpContents(fileURLToPath(new URL("../../test/fixtures/criu/criu421-sleep/", import.meta.url)), { details: true });
  const sleep = dump.tasks.find((t) => t.command === "sleep");
  // pages-1.img of that dump held 69632 bytes: 17 pages of 4 KiB.
  assert.equal(sleep?.memory?.pagesWritten, 17);
});
