// An imported checkpoint's spec is the sender's: OCI hooks in it would run on this host as
// root. The archive here is a real export whose spec.dump an attacker edited, its manifest
// digests recomputed (so the archive verifies): the hook's marker file is the damage looked for.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, test } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle, inContainerShell } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

before(() => removeStaleSandboxes());

test("attack: a hook and a host bind mount added to an imported spec.dump (digests recomputed) are refused, both named: no marker, no container; with --allow for each it restores", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
  await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "hooked", bundle]);
  const archive = sandbox.path("hooked.tar");
  await ckpt.ok(["checkpoint", "--export", archive, "-c", "none", "hooked"]);
  await ckpt.ok(["rm", "-f", "hooked"]);

  // The attacker's edit: a prestart hook writing a marker on the host, and a manifest that agrees.
  const marker = sandbox.path("HOOK-RAN");
  const dir = sandbox.path("unpacked");
  await mkdir(dir);
  await execa("tar", ["-xf", archive, "-C", dir]);
  const spec = JSON.parse(await readFile(join(dir, "spec.dump"), "utf8")) as Record<string, unknown>;
  spec["hooks"] = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", `echo ran > ${marker}`] }] };
  const secret = sandbox.path("host-secret");
  await mkdir(secret);
  (spec["mounts"] as unknown[]).push({ destination: "/mnt/host", type: "bind", source: secret, options: ["rbind", "rw"] });
  const specText = JSON.stringify(spec);
  await writeFile(join(dir, "spec.dump"), specText);
  const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as { files: { path: string; size: number | string; sha256: string }[] };
  const entry = manifest.files.find((f) => f.path === "spec.dump")!;
  entry.sha256 = createHash("sha256").update(specText).digest("hex");
  entry.size = typeof entry.size === "string" ? String((await stat(join(dir, "spec.dump"))).size) : (await stat(join(dir, "spec.dump"))).size;
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
  const evil = sandbox.path("evil.tar");
  await execa("tar", ["-cf", evil, "-C", dir, "."]);

  // inspect shows what the spec asks, and what an import would refuse, before anything runs.
  const shown = JSON.parse(String((await ckpt.ok(["inspect", "--json", evil])).stdout)) as { spec: { hooks: string[]; bindMounts: { destination: string }[]; refusedOnImport: { kind: string }[] } };
  assert.equal(shown.spec.hooks.length, 1);
  assert.ok(shown.spec.bindMounts.some((m) => m.destination === "/mnt/host"));
  assert.deepEqual(shown.spec.refusedOnImport.map((f) => f.kind).sort(), ["hooks", "mounts"]);
  const clean = JSON.parse(String((await ckpt.ok(["inspect", "--json", archive])).stdout)) as { spec: { refusedOnImport: unknown[] } };
  assert.deepEqual(clean.spec.refusedOnImport, [], "the untouched export asks nothing that is refused");
  assert.equal(existsSync(marker), false, "inspect runs nothing");

  const refused = await ckpt.run(["restore", "--import", evil]);
  assert.equal(refused.exitCode, 5, String(refused.stderr));
  assert.match(String(refused.stderr), /hooks: hooks\.prestart\[0\]: \/bin\/sh -c echo ran/);
  assert.match(String(refused.stderr), new RegExp(`mounts: /mnt/host: a bind mount of this host's ${secret.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
  assert.match(String(refused.stderr), /--allow mounts --allow hooks/);
  assert.equal(existsSync(marker), false, "the hook did not run");
  assert.deepEqual(await readdir(join(ckpt.root, "containers")).catch(() => []), [], "no container was left");

  const onlyHooks = await ckpt.run(["restore", "--import", evil, "--allow", "hooks"]);
  assert.equal(onlyHooks.exitCode, 5, "the mount is still refused");
  assert.equal(existsSync(marker), false);
  await ckpt.ok(["restore", "--import", evil, "--allow", "hooks", "--allow", "mounts"]);
  assert.equal(existsSync(marker), true, "allowed, the runtime ran it");
});

test("migrate of a container with a host bind mount is refused before anything is frozen unless --allow mounts, which the target then gets", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const sandbox = await Sandbox.create(t);
  const source = new CkptRoot(sandbox, "host-a");
  const target = new CkptRoot(sandbox, "host-b");
  const shared = sandbox.path("shared-data");
  await mkdir(shared);
  await writeFile(join(shared, "greeting"), "hello\n");
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
  const config = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as { mounts: unknown[] };
  config.mounts.push({ destination: "/data", type: "bind", source: shared, options: ["rbind", "rw"] });
  await writeFile(join(bundle, "config.json"), JSON.stringify(config));
  await source.ok(["--runtime", "runc", "run", "-d", "--name", "vol", bundle]);
  const to = `${ckptBin} --root ${target.root}`;

  const refused = await source.run(["migrate", "vol", "--to", to]);
  assert.equal(refused.exitCode, 5, String(refused.stderr));
  assert.match(String(refused.stderr), /nothing was frozen[\s\S]*mounts: \/data: a bind mount of this host's/);
  assert.equal((await source.json<{ name: string; status: string }[]>(["ps"])).find((e) => e.name === "vol")?.status, "running", "it runs on at the source");
  assert.deepEqual(await target.json<unknown[]>(["ps", "-a"]), []);

  await source.ok(["migrate", "vol", "--allow", "mounts", "--to", to]);
  const read = await target.ok(["exec", "vol", "--", "cat", "/data/greeting"]);
  assert.equal(String(read.stdout).trim(), "hello", "the target restored it with its mount");
});
