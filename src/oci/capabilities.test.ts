import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CkptError, ExitCode } from "../errors.ts";
import { fixtureText } from "../../test/support/fixtures.ts";
import { ambientNote, withRaisableAmbient } from "./capabilities.ts";
import { readOciSpec, type OciSpec } from "./spec.ts";

const runc115 = JSON.parse(fixtureText("oci/runc-1.1.5-spec.json")) as OciSpec;

test("runc 1.1.5's `runc spec`: ambient without inheritable, which no runtime can raise, is left out", () => {
  const r = withRaisableAmbient(runc115.process);
  assert.deepEqual(r.dropped, ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
  const caps = r.process["capabilities"] as Record<string, string[]>;
  assert.deepEqual(caps["ambient"], []);
  // Nothing else changes: the sets the process really gets are the same.
  assert.deepEqual([caps["bounding"], caps["effective"], caps["permitted"]], [["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]]);
  assert.equal((runc115.process["capabilities"] as Record<string, string[]>)["ambient"]!.length, 3, "the input is not changed");
  assert.match(ambientNote(r.dropped), /CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE: they are not also inheritable and permitted/);
});

test("ambient capabilities that are inheritable and permitted stay; a spec without ambient is the same object", () => {
  const both = { ...runc115.process, capabilities: { permitted: ["CAP_KILL", "CAP_CHOWN"], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL", "CAP_CHOWN"] } };
  const r = withRaisableAmbient(both);
  assert.deepEqual([r.dropped, (r.process["capabilities"] as Record<string, string[]>)["ambient"]], [["CAP_CHOWN"], ["CAP_KILL"]]);
  const noAmbient = { ...runc115.process, capabilities: { permitted: ["CAP_KILL"] } };
  assert.equal(withRaisableAmbient(noAmbient).process, noAmbient);
  const consistent = { ...runc115.process, capabilities: { permitted: ["CAP_KILL"], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"] } };
  assert.deepEqual(withRaisableAmbient(consistent), { process: consistent, dropped: [] });
});

// A hostile spec.dump (an unsigned archive, a checkpoint directory) or bundle whose
// capability sets are not lists crashed restore and run with "internal error: TypeError:
// ambient.filter is not a function"; the spec is now refused as unusable, before anything.
test("a spec whose ambient set is a string, or inheritable a number, is refused as no usable OCI spec, never a TypeError", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-caps-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const capabilities of [{ ...runc115.process.capabilities, ambient: "CAP_KILL" }, { ...runc115.process.capabilities, inheritable: 5 }, { ambient: [1, null] }]) {
    const path = join(dir, "spec.dump");
    await writeFile(path, JSON.stringify({ ...runc115, process: { ...runc115.process, capabilities } }));
    await assert.rejects(readOciSpec(path), (e: unknown) => e instanceof CkptError && e.exitCode === ExitCode.usage && /is not a usable OCI spec: process\.capabilities/.test(e.message), JSON.stringify(capabilities));
  }
  // Missing or null sets are a spec as Go writes it: nothing to drop.
  await writeFile(join(dir, "null.json"), JSON.stringify({ ...runc115, process: { ...runc115.process, capabilities: { bounding: ["CAP_KILL"], ambient: null } } }));
  assert.deepEqual(withRaisableAmbient((await readOciSpec(join(dir, "null.json"))).process).dropped, []);
});
