import assert from "node:assert/strict";
import { test } from "node:test";
import { isBindMount, type OciSpec } from "../oci/spec.ts";
import { resolveBindDestinations } from "./bind-mounts.ts";

const rootLinks: Record<string, string> = { "/data": "/srv/data", "/var/run": "../run", "/escape": "../../../../host" };
const readLink = (p: string) => rootLinks[p] ?? null;

function spec(mounts: OciSpec["mounts"]): OciSpec {
  return { ociVersion: "1.0.2", process: { args: ["sh"], cwd: "/" }, root: { path: "/rootfs" }, mounts };
}

test("bind mounts are recognised by type or by a bind/rbind option", () => {
  assert.ok(isBindMount({ destination: "/a", type: "bind" }));
  assert.ok(isBindMount({ destination: "/a", type: "none", options: ["rbind", "ro"] }));
  assert.ok(isBindMount({ destination: "/a", options: ["bind"] }));
  assert.ok(!isBindMount({ destination: "/a", type: "tmpfs", options: ["nosuid"] }));
});

test("a bind mount whose destination is a link gets the link's target, inside the root", () => {
  const out = resolveBindDestinations(spec([{ destination: "/data", type: "bind", source: "/host/a", options: ["rbind"] }]), readLink);
  assert.equal(out.spec.mounts?.[0]?.destination, "/srv/data");
  assert.equal(out.spec.mounts?.[0]?.source, "/host/a", "the source is the host's and is never touched");
  assert.deepEqual(out.resolved, [{ from: "/data", to: "/srv/data" }]);
});

test("links in the middle of a destination, and links that climb, are resolved inside the root", () => {
  const out = resolveBindDestinations(spec([
    { destination: "/var/run/app.sock", type: "bind", source: "/h/sock" },
    { destination: "/escape/etc", type: "bind", source: "/h/etc" },
  ]), readLink);
  assert.deepEqual(out.spec.mounts?.map((m) => m.destination), ["/run/app.sock", "/host/etc"]);
});

test("other mounts and destinations without links are left as they are", () => {
  const input = spec([
    { destination: "/data", type: "tmpfs", source: "tmpfs" },
    { destination: "/plain", type: "bind", source: "/h/plain" },
    { destination: "/plain/./", type: "bind", source: "/h/plain" },
  ]);
  const out = resolveBindDestinations(input, readLink);
  assert.deepEqual(out.spec.mounts, input.mounts);
  assert.deepEqual(out.resolved, []);
});

test("a spec without mounts stays without mounts", () => {
  const input = spec(undefined);
  assert.equal(resolveBindDestinations(input, readLink).spec.mounts, undefined);
});
