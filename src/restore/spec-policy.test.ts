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

test("a bind mount of a host path is a finding; one inside the container's own roots (its unpacked root filesystem, ckpt's stand-ins) is not, nor a tmpfs", () => {
  const spec = {
    ...base,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev/shm", type: "tmpfs", source: "shm" },
      { destination: "/host", type: "bind", source: "/", options: ["rbind"] },
      { destination: "/keys", source: "/root/.ssh", options: ["bind", "ro"] },
      { destination: "/etc/hosts", type: "bind", source: "/var/lib/ckpt/containers/web/mounts/etc_hosts" },
      { destination: "/data", type: "bind", source: "/var/lib/ckpt/containers/web/rootfs/../../../../../etc" },
    ],
  } as unknown as OciSpec;
  assert.deepEqual(vetImportedSpec(spec, ["/var/lib/ckpt/containers/web"]).map((f) => f.detail), [
    "/host: a bind mount of this host's /",
    "/keys: a bind mount of this host's /root/.ssh",
    "/data: a bind mount of this host's /var/lib/ckpt/containers/web/rootfs/../../../../../etc",
  ]);
  assert.deepEqual(unallowed(vetImportedSpec(spec, ["/var/lib/ckpt/containers/web"]), new Set(["mounts"])), []);
});
