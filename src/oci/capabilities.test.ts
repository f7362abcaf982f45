import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { ambientNote, withRaisableAmbient } from "./capabilities.ts";
import type { OciSpec } from "./spec.ts";

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
