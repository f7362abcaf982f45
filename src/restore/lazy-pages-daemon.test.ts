import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { test } from "node:test";
import { readCommandLine } from "../proc/process.ts";
import { StoreLayout } from "../store/layout.ts";
import { recordLazyPages, settleLazyPages } from "./lazy-pages-daemon.ts";

// A stand-in for CRIU's daemon that only this test starts and ends (by PID): a sleep whose
// command line reads like `criu lazy-pages ...`.
async function fakeDaemon() {
  const child = spawn("bash", ["-c", "exec -a 'criu lazy-pages' sleep 30"], { stdio: "ignore" });
  // Until bash has exec'd sleep, /proc/PID/cmdline may still read as this Node process's.
  const deadline = Date.now() + 5000;
  while (!(await readCommandLine(child.pid!)).startsWith("criu lazy-pages")) {
    if (Date.now() > deadline) throw new Error("the stand-in daemon did not start");
    await new Promise((r) => setTimeout(r, 5));
  }
  return child;
}

test("a lazy restore's images and record stay while its daemon runs and go once it has ended", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ckpt-unit-lazy-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const layout = new StoreLayout(root);
  await mkdir(layout.lazyImagesDir("app"), { recursive: true });
  await writeFile(join(layout.lazyImagesDir("app"), "inventory.img"), "x");
  const daemon = await fakeDaemon();
  t.after(() => daemon.kill("SIGKILL"));
  await recordLazyPages(layout, "app", { daemonPid: daemon.pid!, from: "192.0.2.11:27027" });

  assert.deepEqual(await settleLazyPages(layout, "app"), { daemonPid: daemon.pid, from: "192.0.2.11:27027" });
  assert.ok(existsSync(layout.lazyImagesDir("app")), "kept while pages may still be read");

  daemon.kill("SIGKILL");
  await once(daemon, "exit");
  assert.equal(await settleLazyPages(layout, "app"), null);
  assert.equal(existsSync(layout.lazyImagesDir("app")), false);
  assert.equal(existsSync(layout.lazyPagesRecord("app")), false);
  assert.equal(await settleLazyPages(layout, "app"), null, "settling twice is harmless");
});

test("a recorded PID reused by another program does not count as the daemon", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ckpt-unit-lazy-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const layout = new StoreLayout(root);
  await mkdir(layout.containerDir("app"), { recursive: true });
  const other = spawn("sleep", ["30"], { stdio: "ignore" });
  t.after(() => other.kill("SIGKILL"));
  await recordLazyPages(layout, "app", { daemonPid: other.pid!, from: "192.0.2.11:27027" });
  assert.equal(await settleLazyPages(layout, "app"), null);
});
