import assert from "node:assert/strict";
import { test } from "node:test";
import type { OciSpec } from "../oci/spec.ts";
import { unallowed, vetImportedSpec } from "./spec-policy.ts";

const base: OciSpec = { ociVersion: "1.0.2", process: { args: ["/bin/sh"], cwd: "/" }, root: { path: "rootfs" } };

test("every OCI hook of an imported spec is a finding, named by phase, index, path and arguments", () => {
  const spec = { ...base, hooks: { prestart: [{ path: "/bin/sh", args: ["sh", "-c", "id > /x"] }], poststop: [{ path: "/usr/bin/cleanup" }], weird: [{ path: "/x" }] } } as OciSpec;
  assert.deepEqual(vetImportedSpec(spec), [
    { kind: "hooks", detail: "hooks.prestart[0]: /bin/sh -c id > /x" },
    { kind: "hooks", detail: "hooks.poststop[0]: /usr/bin/cleanup" },
    { kind: "hooks", detail: "hooks.weird (unknown phase)[0]: /x" },
  ]);
  assert.deepEqual(vetImportedSpec(base), [], "no hooks, nothing to refuse");
  assert.deepEqual(vetImportedSpec({ ...base, hooks: {} } as OciSpec), []);
});

test("--allow KIND lets exactly that kind through", () => {
  const findings = vetImportedSpec({ ...base, hooks: { prestart: [{ path: "/bin/true" }] } } as OciSpec);
  assert.equal(unallowed(findings, new Set()).length, 1);
  assert.deepEqual(unallowed(findings, new Set(["hooks"])), []);
});
