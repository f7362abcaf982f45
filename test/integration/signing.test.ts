// Signed checkpoint archives, with real runc and CRIU: a signature by a key this host trusts
// makes an imported checkpoint as trusted as one made here (its spec and restart policy are
// taken as they are); anything else is foreign and goes through the import policy; a
// signature that does not match its manifest is refused (exit 8) before anything runs.
// The spec's prestart hook writes a marker in the sandbox: it appears only where the
// checkpoint is trusted or the hook allowed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { createBundleWithHostMount, createBusyboxBundle, inContainerShell } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { tamperedExport } from "../harness/archives.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

interface Signature {
  status: string;
  fingerprint: string | null;
  name: string | null;
}
interface Restored {
  name: string;
  signature: Signature;
}
interface KeyList {
  signing: { name: string; fingerprint: string }[];
  trusted: { name: string; fingerprint: string; own: boolean }[];
}
interface PsEntry {
  name: string;
  status: string;
  restart: { policy: string } | null;
}

// A busybox bundle whose spec asks what an import refuses unasked: a prestart hook that
// writes `marker` on the host, and, with `shared`, a bind mount of that host directory.
async function askingBundle(sandbox: Sandbox, marker: string, shared?: string): Promise<string> {
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
  const path = join(bundle, "config.json");
  const spec = JSON.parse(await readFile(path, "utf8")) as { hooks?: unknown; mounts: unknown[] };
  spec.hooks = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", `echo ran > ${marker}`] }] };
  if (shared !== undefined) spec.mounts.push({ destination: "/data", type: "bind", source: shared, options: ["rbind", "rw"] });
  await writeFile(path, JSON.stringify(spec));
  return bundle;
}

// Runs `name` from `bundle` on `host` and exports it to `archive`; the container is then
// removed, and the marker its hook wrote at `run` too.
async function exportedContainer(host: CkptRoot, bundle: string, name: string, archive: string, marker: string, runArgs: string[] = []): Promise<void> {
  await host.exportOf(bundle, name, archive, { run: runArgs });
  await rm(marker, { force: true });
}

const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");
const containers = async (host: CkptRoot) => readdir(join(host.root, "containers")).catch(() => [] as string[]);

describe("signed checkpoint archives", () => {
  before(() => removeStaleSandboxes());

  test("a signed export restores with its signer named: trusted, its fingerprint the one keys list shows, its restart policy kept", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const host = new CkptRoot(sandbox);
    await host.ok(["keys", "generate", "--name", "host-a"]);
    const keys = await host.json<KeyList>(["keys", "list"]);
    assert.equal(keys.signing.length, 1);
    assert.deepEqual(keys.trusted.map((k) => [k.fingerprint, k.own]), [[keys.signing[0]!.fingerprint, true]], "generating a key trusts it");
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
    const archive = sandbox.path("signed.tar");
    await host.ok(["--runtime", "runc", "run", "-d", "--name", "signed", "--restart", "on-failure:3", bundle]);
    const exported = await host.json<{ archive: { signedBy: { name: string; fingerprint: string } | null } }[]>(["checkpoint", "--export", archive, "-c", "none", "signed"]);
    assert.deepEqual(exported[0]?.archive.signedBy, { name: "host-a", fingerprint: keys.signing[0]!.fingerprint });
    await host.ok(["rm", "-f", "signed"]);

    // The signature follows the manifest it signs, and the manifest does not list it.
    const entries = String((await execa("tar", ["-tf", archive])).stdout).split("\n");
    assert.deepEqual(entries.slice(-2), ["manifest.json", "manifest.sig"]);
    const manifest = JSON.parse(String((await execa("tar", ["-xOf", archive, "manifest.json"])).stdout)) as { files: { path: string }[] };
    assert.equal(manifest.files.some((f) => f.path === "manifest.sig"), false);

    const shown = await host.json<{ source: { archive: { signature: Signature } } }>(["inspect", archive]);
    assert.equal(shown.source.archive.signature.status, "trusted");
    const restored = await host.json<Restored>(["restore", "--import", archive]);
    assert.deepEqual(restored.signature, { status: "trusted", fingerprint: keys.signing[0]!.fingerprint, name: "host-a", valid: true });
    const human = await host.ok(["restore", "--import", archive, "--name", "again"]);
    assert.match(String(human.stdout), new RegExp(`signature: +signed by host-a \\(${keys.signing[0]!.fingerprint.replace(/[+/]/g, "\\$&")}\\), trusted`));
    const ps = await host.json<PsEntry[]>(["ps"]);
    assert.equal(ps.find((e) => e.name === "signed")?.restart?.policy, "on-failure:3", "a trusted checkpoint keeps its restart policy");
  });

  test("attack: a tampered signed archive (spec changed, manifest digests recomputed, signature kept) is refused with exit 8; nothing restored, no hook marker, the archive untouched", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const host = new CkptRoot(sandbox);
    await host.ok(["keys", "generate", "--name", "host-a"]);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
    const archive = sandbox.path("signed.tar");
    await host.ok(["--runtime", "runc", "run", "-d", "--name", "victim", bundle]);
    await host.ok(["checkpoint", "--export", archive, "-c", "none", "victim"]);
    await host.ok(["rm", "-f", "victim"]);

    // The attacker's edit: a hook in spec.dump, a manifest that agrees, the old signature.
    const marker = sandbox.path("HOOK-RAN");
    const evil = await tamperedExport(archive, sandbox.path("evil-"), ({ spec }) => {
      spec["hooks"] = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", `echo ran > ${marker}`] }] };
    });
    const dir = evil.slice(0, -".tar".length);
    const before = await sha256(evil);

    const shown = await host.json<{ source: { archive: { integrity: string; signature: Signature } } }>(["inspect", evil]);
    assert.equal(shown.source.archive.integrity, "verified", "the digests were recomputed: only the signature tells");
    assert.equal(shown.source.archive.signature.status, "invalid");

    const refused = await host.run(["restore", "--import", evil, "--allow", "hooks"]);
    assert.equal(refused.exitCode, 8, String(refused.stderr));
    assert.match(String(refused.stderr), /its signature is invalid: .*the manifest was changed after it was signed/);
    assert.equal(existsSync(marker), false, "the hook did not run");
    assert.deepEqual(await containers(host), [], "nothing was restored");
    assert.equal(await sha256(evil), before, "the archive is untouched");

    // A malformed signature entry is refused the same way.
    await writeFile(join(dir, "manifest.sig"), '{"algorithm":"ed25519"}\n');
    const garbled = sandbox.path("garbled.tar");
    await execa("tar", ["-cf", garbled, "-C", dir, "."]);
    const malformed = await host.run(["restore", "--import", garbled, "--json"]);
    assert.equal(malformed.exitCode, 8, String(malformed.stderr));
    assert.match(String(malformed.stderr), /manifest\.sig is malformed/);
    assert.equal(existsSync(marker), false);
    assert.deepEqual(await containers(host), []);
  });

  test("an unsigned archive is treated as foreign: its hook is refused (exit 5) unless --allow hooks", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const host = new CkptRoot(sandbox);
    const marker = sandbox.path("HOOK-RAN");
    const archive = sandbox.path("unsigned.tar");
    await exportedContainer(host, await askingBundle(sandbox, marker), "plain", archive, marker);
    const entries = String((await execa("tar", ["-tf", archive])).stdout).split("\n");
    assert.equal(entries.includes("manifest.sig"), false, "no key here: unsigned");

    const refused = await host.run(["restore", "--import", archive]);
    assert.equal(refused.exitCode, 5, String(refused.stderr));
    assert.match(String(refused.stderr), /unsigned: treated as a foreign checkpoint/);
    assert.match(String(refused.stderr), /hooks: hooks\.prestart\[0\]/);
    assert.equal(existsSync(marker), false);
    const allowed = await host.json<Restored>(["restore", "--import", archive, "--allow", "hooks"]);
    assert.equal(allowed.signature.status, "unsigned");
    assert.equal(existsSync(marker), true, "allowed, the hook ran");
  });

  test("a validly signed archive from an untrusted key goes through the policy; once its key is trusted, the same archive restores with its original spec (hook and host bind mount) and restart policy", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const hostA = new CkptRoot(sandbox, "host-a");
    const hostB = new CkptRoot(sandbox, "host-b");
    await hostA.ok(["keys", "generate", "--name", "host-a"]);
    await hostB.ok(["keys", "generate", "--name", "host-b"]);
    const shared = sandbox.path("shared-data");
    await mkdir(shared);
    await writeFile(join(shared, "greeting"), "hello\n");
    const marker = sandbox.path("HOOK-RAN");
    const archive = sandbox.path("from-a.tar");
    await exportedContainer(hostA, await askingBundle(sandbox, marker, shared), "vol", archive, marker, ["--restart", "always"]);
    const keyA = (await hostA.json<KeyList>(["keys", "list"])).signing[0]!;

    const refused = await hostB.run(["restore", "--import", archive]);
    assert.equal(refused.exitCode, 5, String(refused.stderr));
    assert.match(String(refused.stderr), new RegExp(`signed by an untrusted key host-a \\(${keyA.fingerprint.replace(/[+/]/g, "\\$&")}\\); its spec goes through the import policy; trust it with: ckpt keys trust`));
    assert.match(String(refused.stderr), /mounts: \/data: a bind mount of this host's/);
    assert.equal(existsSync(marker), false);
    assert.deepEqual(await containers(hostB), []);

    // B trusts A's key, from what A exports.
    const exportedKey = sandbox.path("host-a.pub");
    await writeFile(exportedKey, String((await hostA.ok(["keys", "export"])).stdout));
    await hostB.ok(["keys", "trust", exportedKey]);
    const restored = await hostB.json<Restored>(["restore", "--import", archive]);
    assert.deepEqual(restored.signature, { status: "trusted", fingerprint: keyA.fingerprint, name: "host-a", valid: true });
    assert.equal(existsSync(marker), true, "its own hook ran: the spec was taken as it is");
    assert.equal(String((await hostB.ok(["exec", "vol", "--", "cat", "/data/greeting"])).stdout).trim(), "hello", "its host bind mount is there");
    assert.equal((await hostB.json<PsEntry[]>(["ps"])).find((e) => e.name === "vol")?.restart?.policy, "always");

    // Untrusted again: foreign again.
    await hostB.ok(["rm", "-f", "vol"]);
    await rm(marker, { force: true });
    await hostB.ok(["keys", "untrust", "host-a"]);
    assert.equal((await hostB.run(["restore", "--import", archive])).exitCode, 5);
    assert.equal(existsSync(marker), false);
  });

  test("attack: --no-verify never makes a checkpoint trusted, even one validly signed by a trusted key", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const host = new CkptRoot(sandbox);
    await host.ok(["keys", "generate", "--name", "host-a"]);
    const marker = sandbox.path("HOOK-RAN");
    const archive = sandbox.path("signed.tar");
    await exportedContainer(host, await askingBundle(sandbox, marker), "hooked", archive, marker);

    const refused = await host.run(["restore", "--import", archive, "--no-verify"]);
    assert.equal(refused.exitCode, 5, String(refused.stderr));
    assert.match(String(refused.stderr), /not verified against the manifest: treated as a foreign checkpoint/);
    assert.equal(existsSync(marker), false, "not trusted: the hook did not run");
    const allowed = await host.json<Restored>(["restore", "--import", archive, "--no-verify", "--allow", "hooks"]);
    assert.equal(allowed.signature.status, "not-verified");
    await host.ok(["rm", "-f", "hooked"]);
    await rm(marker, { force: true });

    // Verified, the same archive is trusted.
    const trusted = await host.json<Restored>(["restore", "--import", archive]);
    assert.equal(trusted.signature.status, "trusted");
    assert.equal(existsSync(marker), true);
  });

  test("a migration between two test hosts whose keys trust each other keeps the original spec: a host bind mount without --allow mounts; without the trust the source refuses before freezing", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const source = new CkptRoot(sandbox, "host-a");
    const target = new CkptRoot(sandbox, "host-b");
    await source.ok(["keys", "generate", "--name", "host-a"]);
    await target.ok(["keys", "generate", "--name", "host-b"]);
    const bundle = await createBundleWithHostMount(sandbox.path("bundle"), sandbox.path("shared-data"));
    await source.ok(["--runtime", "runc", "run", "-d", "--name", "vol", bundle]);
    const to = `${ckptBin} --root ${target.root}`;

    const refused = await source.run(["migrate", "vol", "--to", to]);
    assert.equal(refused.exitCode, 5, String(refused.stderr));
    assert.match(String(refused.stderr), /the target does not trust this host's key host-a[\s\S]*nothing was frozen[\s\S]*mounts: \/data: a bind mount of this host's/);
    assert.match(String(refused.stderr), /keys export host-a \| TARGET keys trust -/);
    assert.equal((await source.json<PsEntry[]>(["ps"])).find((e) => e.name === "vol")?.status, "running", "it runs on at the source");

    // Each host trusts the other's key.
    const keyA = sandbox.path("host-a.pub");
    const keyB = sandbox.path("host-b.pub");
    await writeFile(keyA, String((await source.ok(["keys", "export"])).stdout));
    await writeFile(keyB, String((await target.ok(["keys", "export"])).stdout));
    await target.ok(["keys", "trust", keyA]);
    await source.ok(["keys", "trust", keyB]);

    const moved = await source.json<{ targetTrustsSigner: boolean; signedBy: { name: string } | null; restored: Restored }>(["migrate", "vol", "--to", to]);
    assert.equal(moved.targetTrustsSigner, true);
    assert.equal(moved.signedBy?.name, "host-a");
    assert.equal(moved.restored.signature.status, "trusted");
    assert.equal(String((await target.ok(["exec", "vol", "--", "cat", "/data/greeting"])).stdout).trim(), "hello", "restored with its mount, no --allow");
    assert.deepEqual(await source.json<PsEntry[]>(["ps", "-a"]), [], "the source is removed");
  });
});
