// repair's output is a destination: it never writes through what is already there.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { CkptError } from "../errors.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { repairUnifyTimens } from "./repair.ts";

// Plain runc's checkpoint with a daemon outside PID 1's time namespace: it needs repair.
const fixture = fileURLToPath(new URL("../../test/fixtures/criu/runc-fact2", import.meta.url));
// A checkpoint directory is given by path: the store is never asked.
const noStore = null as unknown as ContainerStore;

test("attack: repair -o OUT where OUT is a dangling link is refused (exit 9); nothing is written where the link points, no partial copy is left", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-unit-repair-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const images = join(dir, "images");
  await cp(fixture, images, { recursive: true });
  const elsewhere = join(dir, "elsewhere");
  await symlink(elsewhere, join(dir, "out"));
  await assert.rejects(repairUnifyTimens(noStore, images, join(dir, "out")), (e: unknown) => e instanceof CkptError && e.exitCode === 9 && /already exists/.test(e.message));
  assert.equal(existsSync(elsewhere), false, "nothing was created through the link");
  assert.deepEqual((await readdir(dir)).sort(), ["images", "out"], "no partial copy is left");

  const repaired = await repairUnifyTimens(noStore, images, join(dir, "fixed"));
  assert.equal(repaired.output, join(dir, "fixed"));
  assert.ok(repaired.moved.length > 0);
  assert.deepEqual((await readdir(dir)).sort(), ["fixed", "images", "out"], "the copy was renamed into place; no partial copy beside it");
});
