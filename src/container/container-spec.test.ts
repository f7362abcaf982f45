import assert from "node:assert/strict";
import { test } from "node:test";
import type { OciSpec } from "../oci/spec.ts";
import { fixtureText } from "../../test/support/fixtures.ts";
import { planContainerSpec, withoutTimeNamespace, type ContainerSpecRequest } from "./container-spec.ts";

const runc115Spec = () => JSON.parse(fixtureText("oci/runc-1.1.5-spec.json")) as OciSpec;

function spec(namespaces: { type: string; path?: string }[], mounts?: OciSpec["mounts"]): OciSpec {
  return { ociVersion: "1.0.2", process: { args: ["sh"], cwd: "/" }, root: { path: "rootfs" }, linux: { namespaces }, ...(mounts ? { mounts } : {}) };
}
const request: ContainerSpecRequest = {
  sourceBundle: "/bundle",
  command: undefined,
  criuConfigPath: "/ckpt/criu.conf",
  timeNamespaceAvailable: true,
  timeNamespaceBreaksJoining: { runtime: "crun", types: ["pid"] },
};
const types = (s: OciSpec) => (s.linux?.namespaces ?? []).map((ns) => ns.type);

test("a container gets a time namespace of its own when the runtime can create one", () => {
  const planned = planContainerSpec(spec([{ type: "pid" }, { type: "mount" }]), request);
  assert.deepEqual(types(planned.spec), ["pid", "mount", "time"]);
  assert.equal(planned.ownTimeNamespace, true);
  assert.deepEqual(planned.warnings.filter((w) => /capabilit/.test(w)), [], "no warning about capabilities");
});

test("no time namespace is added beside a join the runtime would break with one, and ckpt says so", () => {
  const planned = planContainerSpec(spec([{ type: "pid", path: "/proc/42/ns/pid" }, { type: "mount" }]), request);
  assert.deepEqual(types(planned.spec), ["pid", "mount"]);
  assert.equal(planned.ownTimeNamespace, false);
  assert.equal(planned.warnings.length, 1);
  assert.match(planned.warnings[0]!, /joins the pid namespace at \/proc\/42\/ns\/pid, which crun cannot do in a container with a time namespace of its own/);
});

test("joins the runtime can make beside a time namespace keep it", () => {
  const planned = planContainerSpec(spec([{ type: "pid" }, { type: "network", path: "/run/netns/x" }, { type: "ipc", path: "/proc/42/ns/ipc" }, { type: "uts", path: "/proc/42/ns/uts" }]), request);
  assert.ok(types(planned.spec).includes("time"));
  assert.deepEqual(planned.warnings.filter((w) => /capabilit/.test(w)), [], "no warning about capabilities");
  const runc = planContainerSpec(spec([{ type: "pid", path: "/proc/42/ns/pid" }]), { ...request, timeNamespaceBreaksJoining: { runtime: "runc", types: [] } });
  assert.ok(types(runc.spec).includes("time"), "a runtime that joins fine beside a time namespace gets one");
});

test("without a time namespace available nothing is added and nothing is said", () => {
  const planned = planContainerSpec(spec([{ type: "pid", path: "/proc/42/ns/pid" }]), { ...request, timeNamespaceAvailable: false });
  assert.deepEqual(types(planned.spec), ["pid"]);
  assert.deepEqual(planned.warnings.filter((w) => /capabilit/.test(w)), [], "no warning about capabilities");
});

test("bind-mount destinations are resolved in the bundle's root filesystem", () => {
  const seen: string[] = [];
  const planned = planContainerSpec(spec([], [{ destination: "/data", type: "bind", source: "/host/data" }]), {
    ...request,
    linksIn: (rootfs) => {
      seen.push(rootfs);
      return (p) => (p === "/data" ? "/srv/data" : null);
    },
  });
  assert.deepEqual(seen, ["/bundle/rootfs"]);
  assert.equal(planned.spec.mounts?.[0]?.destination, "/srv/data");
});

test("withoutTimeNamespace: a spec from a runtime that made a time namespace, for one that knows none (runc < 1.2)", () => {
  const spec = { ...runc115Spec(), linux: { namespaces: [{ type: "pid" }, { type: "time" }, { type: "mount" }], timeOffsets: { monotonic: { secs: 5 } } } } as OciSpec;
  const out = withoutTimeNamespace(spec);
  assert.deepEqual(out.linux?.namespaces, [{ type: "pid" }, { type: "mount" }]);
  assert.equal(out.linux?.timeOffsets, undefined);
  assert.equal(spec.linux?.namespaces?.length, 3, "the input is not changed");
  const none = { ...runc115Spec(), linux: { namespaces: [{ type: "pid" }] } } as OciSpec;
  assert.equal(withoutTimeNamespace(none), none);
});

test("planContainerSpec: a runc 1.1.5 bundle's unraisable ambient capabilities are left out, said once as a note", () => {
  const planned = planContainerSpec(runc115Spec(), { sourceBundle: "/b", command: undefined, criuConfigPath: "/c", timeNamespaceAvailable: true });
  assert.deepEqual((planned.spec.process["capabilities"] as Record<string, string[]>)["ambient"], []);
  assert.equal(planned.notes.length, 1);
  assert.match(planned.notes[0]!, /CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE/);
  assert.deepEqual(planned.warnings.filter((w) => /capabilit/.test(w)), [], "no warning about capabilities");
});
