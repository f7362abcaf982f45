import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { encodeManifest, ManifestSchema, type Manifest } from "./manifest.ts";

const zero = { monotonicNs: "0", boottimeNs: "0" };
const manifest: Manifest = {
  formatVersion: 1,
  container: { name: "web", id: "a".repeat(64), sourceBundle: "/b", rootfs: "/b/rootfs" },
  runtime: { name: "runc", version: "1.1.5", path: "/usr/sbin/runc" },
  criuVersion: "4.2.1",
  kernelRelease: "6.18.0",
  hostname: "h",
  bootId: "boot",
  checkpointedAtNs: "1795332152086649416",
  timeNamespace: { kernelSupport: true, declared: false, declaredOffsets: zero, pid1Inode: 1, pid1Offsets: zero, pid1InHostNamespace: true, execJoinedBy: "runtime", dumpedMonotonicNs: "5", dumpedBoottimeNs: "6", host: { realtimeNs: "1", monotonicNs: "2", boottimeNs: "3" } },
  criuStats: { freezingTimeUs: 0, frozenTimeUs: 0, memdumpTimeUs: 0, memwriteTimeUs: 0, pagesScanned: 0, pagesWritten: 0 },
  options: { leaveRunning: false, tcpEstablished: false, fileLocks: true, tcpClose: true },
  tasks: [],
  imagesBytes: 0,
  files: [],
  rootfsInArchive: "",
  lazyPagesFrom: "",
};

describe("the manifest's dump options", () => {
  test("a manifest written before --tcp-close existed still loads, without it", () => {
    const old = JSON.parse(JSON.stringify(manifest)) as { options: Record<string, boolean> };
    delete old.options["tcpClose"];
    assert.deepEqual(ManifestSchema.parse(old).options, { leaveRunning: false, tcpEstablished: false, fileLocks: true, tcpClose: false });
  });

  test("tcp-close and file-locks are in the binary form (manifest.pb)", () => {
    const type = protobuf.loadSync(fileURLToPath(new URL("../../schemas/manifest.proto", import.meta.url))).lookupType("ckpt.Manifest");
    const decoded = type.toObject(type.decode(encodeManifest(manifest)), { defaults: true }) as { options: unknown };
    assert.deepEqual(decoded.options, manifest.options);
  });
});
