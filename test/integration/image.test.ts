// Checkpoints as OCI images, with a real registry (Debian's docker-registry on loopback),
// skopeo and podman: --create-image, restore IMAGE-REF, and what happens when a push fails
// or an image was altered.
import assert from "node:assert/strict";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { freeLoopbackPort, startRegistry } from "../harness/registry.ts";
import { requirePodman, requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

interface Created {
  image: { ref: string; manifestDigest: string; recognisedBy: string[]; annotations: Record<string, string> };
}
interface Restored {
  name: string;
  checkpoint: string;
  image?: { ref: string; manifestDigest: string };
  signature?: { status: string; name: string | null; fingerprint: string | null };
}

// A counter that writes its count to /tmp/count inside the container: state to compare.
async function counter(ckpt: CkptRoot, sandbox: Sandbox, name: string) {
  const bundle = await createBusyboxBundle(sandbox.path(`bundle-${name}`), { args: ["/bin/sh", "-c", "i=0; while sleep 0.1; do i=$((i+1)); echo $i > /tmp/count; done"] });
  await ckpt.ok(["run", "-d", "--name", name, bundle]);
  return waitFor(`${name} counting`, async () => {
    const r = await ckpt.run(["exec", name, "--", "cat", "/tmp/count"]);
    const n = Number(String(r.stdout).trim());
    return n >= 5 ? n : undefined;
  });
}
const count = async (ckpt: CkptRoot, name: string) => Number(String((await ckpt.ok(["exec", name, "--", "cat", "/tmp/count"])).stdout).trim());

describe("checkpoint images", () => {
  before(() => removeStaleSandboxes());

  test("--create-image into a real registry, restored from that reference under another root: the count goes on from where it was, the image digest and the signer named", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const registry = await startRegistry(t, sandbox);
    if (registry === null) return;
    const a = new CkptRoot(sandbox, "host-a");
    const b = new CkptRoot(sandbox, "host-b");
    await a.ok(["keys", "generate", "--name", "host-a"]);
    const key = sandbox.path("host-a.pub");
    await writeFile(key, String((await a.ok(["keys", "export"])).stdout));
    await b.ok(["keys", "trust", key]);
    await counter(a, sandbox, "web");
    const ref = `docker://${registry}/ckpt/web:1`;
    const created = await a.json<Created[]>(["checkpoint", "--create-image", ref, "--tls-verify=false", "web"]);
    const image = created[0]!.image;
    assert.deepEqual(image.recognisedBy, ["podman", "cri-o", "containerd", "ckpt"]);
    assert.match(image.annotations["io.ckpt.checkpoint.signer"] ?? "", /^SHA256:/);
    // The registry holds it: skopeo reads the manifest back with ckpt's annotations.
    const raw = JSON.parse(String((await execa("skopeo", ["inspect", "--raw", "--tls-verify=false", ref])).stdout)) as { annotations: Record<string, string>; layers: unknown[] };
    assert.equal(raw.annotations["io.podman.annotations.checkpoint.runtime.name"], "runc");
    assert.equal(raw.layers.length, 1);
    // A restore NAME on the source names the image.
    const back = await a.run(["restore", "web"]);
    assert.equal(back.exitCode, 4);
    assert.match(String(back.stderr), new RegExp(`restore it from its image: ckpt restore ${ref.replace(/[.]/g, "\\.")}`));

    const restored = await b.json<Restored>(["restore", "--tls-verify=false", ref]);
    assert.equal(restored.image?.ref, ref);
    assert.equal(restored.image?.manifestDigest, image.manifestDigest);
    assert.deepEqual([restored.signature?.status, restored.signature?.name], ["trusted", "host-a"]);
    const first = await count(b, "web");
    assert.ok(first >= 5, `the count went on from the checkpoint (${first}), not from 0`);
    await waitFor("the count moving on", async () => ((await count(b, "web")) > first ? true : undefined));
  });

  test("podman sees ckpt's image as a checkpoint image: its keys are on the manifest podman stores", async (t) => {
    if (!(await requirePodman(t))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    await counter(ckpt, sandbox, "pm");
    const layout = sandbox.path("layout");
    await ckpt.ok(["checkpoint", "--create-image", `oci:${layout}:pm`, "pm"]);
    const name = `localhost/ckpt-test-image-${process.pid}:1`;
    sandbox.defer(async () => void (await execa("podman", ["rmi", "-f", name], { reject: false })));
    await execa("skopeo", ["copy", "--quiet", `oci:${layout}:pm`, `containers-storage:${name}`]);
    const inspected = JSON.parse(String((await execa("podman", ["image", "inspect", name])).stdout)) as { Annotations: Record<string, string> }[];
    const annotations = inspected[0]!.Annotations;
    for (const key of ["name", "runtime.name", "criu.version", "host.arch", "cgroups.version"]) assert.ok(`io.podman.annotations.checkpoint.${key}` in annotations, key);
    assert.equal(annotations["io.podman.annotations.checkpoint.name"], "pm");
    assert.equal(annotations["io.kubernetes.cri-o.annotations.checkpoint.name"], "pm");
    assert.equal(annotations["org.criu.checkpoint.container.name"], "pm");
    // And ckpt restores it from podman's store.
    await ckpt.ok(["rm", "-f", "pm"]);
    const restored = await ckpt.json<Restored>(["restore", `containers-storage:${name}`]);
    assert.equal(restored.name, "pm");
    assert.ok((await count(ckpt, "pm")) >= 5);
  });

  test("a push that fails (no registry there): exit 10 naming where the checkpoint is kept, restore NAME points there, and it restores from there", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const before = await counter(ckpt, sandbox, "lost");
    const port = await freeLoopbackPort();
    const r = await ckpt.run(["checkpoint", "--create-image", `docker://127.0.0.1:${port}/ckpt/lost:1`, "--tls-verify=false", "lost"]);
    assert.equal(r.exitCode, 10, String(r.stderr));
    const kept = /kept as an OCI layout in (\S+)/.exec(String(r.stderr))?.[1];
    assert.ok(kept, String(r.stderr));
    assert.deepEqual(await readdir(join(ckpt.root, "images")), [kept.split("/").at(-1)]);
    const hint = await ckpt.run(["restore", "lost"]);
    assert.match(String(hint.stderr), new RegExp(`ckpt restore oci:${kept}:checkpoint`));
    await ckpt.ok(["restore", `oci:${kept}:checkpoint`]);
    assert.ok((await count(ckpt, "lost")) >= before, "the state came back, not a fresh start");
  });

  test("attack: an image whose layer was altered after it was made is refused (exit 8) naming the digest, and nothing is restored", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    await counter(ckpt, sandbox, "tamper");
    const layout = sandbox.path("layout");
    const created = await ckpt.json<Created[]>(["checkpoint", "--create-image", `oci:${layout}:t`, "tamper"]);
    await ckpt.ok(["rm", "-f", "tamper"]);
    const manifest = JSON.parse(await readFile(join(layout, "blobs", "sha256", created[0]!.image.manifestDigest.slice(7)), "utf8")) as { layers: { digest: string }[] };
    const blob = join(layout, "blobs", "sha256", manifest.layers[0]!.digest.slice(7));
    const data = await readFile(blob);
    data[Math.floor(data.length / 2)] = data[Math.floor(data.length / 2)]! ^ 0x01;
    await writeFile(blob, data);
    const r = await ckpt.run(["restore", `oci:${layout}:t`]);
    assert.equal(r.exitCode, 8, String(r.stderr));
    assert.match(String(r.stderr), new RegExp(`the blob ${manifest.layers[0]!.digest} does not match its digest or size`));
    assert.deepEqual(await ckpt.json<unknown[]>(["ps", "-a"]), []);
  });

  test("attack: ckpt's annotations kept, the layer swapped for another checkpoint's with every digest recomputed: refused (exit 8) naming both manifests, nothing restored", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const layout = sandbox.path("layout");
    await counter(ckpt, sandbox, "good");
    await counter(ckpt, sandbox, "other");
    const good = (await ckpt.json<Created[]>(["checkpoint", "--create-image", `oci:${layout}:good`, "good"]))[0]!.image;
    const other = (await ckpt.json<Created[]>(["checkpoint", "--create-image", `oci:${layout}:other`, "other"]))[0]!.image;
    await ckpt.ok(["rm", "-f", "good", "other"]);
    const blob = (digest: string) => join(layout, "blobs", "sha256", digest.slice(7));
    const goodManifest = JSON.parse(await readFile(blob(good.manifestDigest), "utf8")) as Record<string, unknown>;
    const otherManifest = JSON.parse(await readFile(blob(other.manifestDigest), "utf8")) as { config: unknown; layers: unknown[] };
    const forged = Buffer.from(JSON.stringify({ ...goodManifest, config: otherManifest.config, layers: otherManifest.layers }));
    const { createHash } = await import("node:crypto");
    const digest = `sha256:${createHash("sha256").update(forged).digest("hex")}`;
    await writeFile(blob(digest), forged);
    const indexPath = join(layout, "index.json");
    const index = JSON.parse(await readFile(indexPath, "utf8")) as { manifests: { digest: string; size: number; annotations: Record<string, string> }[] };
    for (const m of index.manifests) if (m.annotations["org.opencontainers.image.ref.name"] === "good") Object.assign(m, { digest, size: forged.length });
    await writeFile(indexPath, JSON.stringify(index));
    const r = await ckpt.run(["restore", `oci:${layout}:good`]);
    assert.equal(r.exitCode, 8, String(r.stderr));
    assert.match(String(r.stderr), new RegExp(`says its checkpoint manifest is ${good.annotations["io.ckpt.checkpoint.manifest.digest"]}, but its layer carries ${other.annotations["io.ckpt.checkpoint.manifest.digest"]}`));
    assert.deepEqual(await ckpt.json<unknown[]>(["ps", "-a"]), [], "neither container was restored");
  });
});
