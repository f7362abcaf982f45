// An imported checkpoint's spec is the sender's: OCI hooks in it would run on this host as
// root. The archive here is a real export whose spec.dump an attacker edited, its manifest
// digests recomputed (so the archive verifies): the hook's marker file is the damage looked for.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, test } from "node:test";
import { execa } from "execa";
import { createBundleWithHostMount, createBusyboxBundle, inContainerShell } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requirePodman, requireRealHost } from "../harness/prerequisites.ts";
import { podmanBusyboxImage } from "../harness/podman.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { waitFor } from "../harness/reports.ts";
import { tamperedExport, type Json } from "../harness/archives.ts";

before(() => removeStaleSandboxes());


test("attack: a hook and a host bind mount added to an imported spec.dump (digests recomputed) are refused, both named: no marker, no container; with --allow for each it restores", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
  const archive = await ckpt.exportOf(bundle, "hooked", sandbox.path("hooked.tar"));

  // The attacker's edit: a prestart hook writing a marker on the host, and a manifest that agrees.
  const marker = sandbox.path("HOOK-RAN");
  const secret = sandbox.path("host-secret");
  await mkdir(secret);
  const evil = await tamperedExport(archive, sandbox.path("evil-"), ({ spec }) => {
    spec["hooks"] = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", `echo ran > ${marker}`] }] };
    (spec["mounts"] as unknown[]).push({ destination: "/mnt/host", type: "bind", source: secret, options: ["rbind", "rw"] });
  });

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
  assert.match(String(refused.stderr), /--allow hooks --allow mounts/);
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
  const bundle = await createBundleWithHostMount(sandbox.path("bundle"), sandbox.path("shared-data"));
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

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
  restart: { policy: string; restarts: number } | null;
}

test("attack: an imported spec that asks for privileges (CAP_SYS_ADMIN, the host's pid namespace, a kernel sysctl, no masks, unconfined seccomp, rlimits past the host's) and a restart policy is refused naming each; with --spec FILE it restores, and restarts from the operator's spec, never the sender's", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
  const archive = await ckpt.exportOf(bundle, "priv", sandbox.path("priv.tar"));
  const corePattern = await readFile("/proc/sys/kernel/core_pattern", "utf8");
  const evil = await tamperedExport(archive, sandbox.path("evil-"), ({ spec, config }) => {
    for (const set of Object.values(spec["process"]["capabilities"] as Record<string, string[]>)) set.push("CAP_SYS_ADMIN");
    spec["linux"]["namespaces"] = (spec["linux"]["namespaces"] as Json[]).map((n) => (n["type"] === "pid" ? { type: "pid", path: "/proc/1/ns/pid" } : n));
    spec["linux"]["sysctl"] = { "kernel.core_pattern": `|${sandbox.path("CORE-HANDLER")}` };
    delete spec["linux"]["maskedPaths"];
    spec["linux"]["seccomp"] = { defaultAction: "SCMP_ACT_ALLOW" };
    spec["process"]["rlimits"] = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2 ** 40 }];
    config["restart"] = { policy: "always", maxRetries: null, backoff: { initialMs: 100, maxMs: 100, resetAfterMs: 600_000 } };
  });

  const refused = await ckpt.run(["restore", "--import", evil]);
  assert.equal(refused.exitCode, 5, String(refused.stderr));
  for (const finding of [
    /capabilities: process\.capabilities: CAP_SYS_ADMIN, beyond the default set/,
    /namespaces: linux\.namespaces: pid joins \/proc\/1\/ns\/pid/,
    /sysctls: linux\.sysctl: kernel\.core_pattern=/,
    /masked-paths: linux\.maskedPaths: none/,
    /confinement: linux\.seccomp: SCMP_ACT_ALLOW by default and no rule that refuses anything/,
    /rlimits: process\.rlimits: RLIMIT_NOFILE 1024\/1099511627776, above this host's/,
  ]) assert.match(String(refused.stderr), finding);
  assert.match(String(refused.stderr), /--allow capabilities --allow namespaces --allow sysctls --allow confinement --allow masked-paths --allow rlimits, or give the spec yourself with --spec FILE/);
  assert.deepEqual(await readdir(join(ckpt.root, "containers")).catch(() => []), [], "no container was created");
  assert.equal(await readFile("/proc/sys/kernel/core_pattern", "utf8"), corePattern, "the host's sysctl is untouched");
  const shown = await ckpt.json<{ spec: { refusedOnImport: { kind: string }[]; restart: string | null } }>(["inspect", "--json", evil]);
  assert.deepEqual([...new Set(shown.spec.refusedOnImport.map((f) => f.kind))].sort(), ["capabilities", "confinement", "masked-paths", "namespaces", "rlimits", "sysctls"]);
  assert.equal(shown.spec.restart, "always", "inspect shows the restart policy the archive asks for");

  // The operator's own spec: restored, and its restart policy is not the sender's.
  const restored = await ckpt.json<{ pid: number }>(["restore", "--import", evil, "--spec", join(bundle, "config.json")]);
  assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "priv")?.restart?.policy ?? "no", "no", "the archive's restart policy is not honoured");
  assert.notEqual(await readlink(`/proc/${restored.pid}/ns/pid`), await readlink("/proc/self/ns/pid"), "the container has its own pid namespace");
  await ckpt.ok(["rm", "-f", "priv"]);

  // With --restart given again, the container restarts: from the operator's spec.
  const again = await ckpt.json<{ pid: number }>(["restore", "--import", evil, "--spec", join(bundle, "config.json"), "--restart", "always", "--backoff-initial", "100ms"]);
  assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "priv")?.restart?.policy, "always");
  process.kill(again.pid, "SIGKILL");
  const restarted = await waitFor("the restart", async () => {
    const e = (await ckpt.json<PsEntry[]>(["ps"])).find((p) => p.name === "priv");
    return e?.status === "running" && e.pid !== null && e.pid !== again.pid ? e : undefined;
  }, 20_000);
  const status = await readFile(`/proc/${restarted.pid}/status`, "utf8");
  const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
  assert.equal((bounding >> 21n) & 1n, 0n, "the restarted container has no CAP_SYS_ADMIN (bit 21)");
  assert.notEqual(await readlink(`/proc/${restarted.pid}/ns/pid`), await readlink("/proc/self/ns/pid"), "nor the host's pid namespace");
  await ckpt.ok(["rm", "-f", "priv"]);
});

test("attack: an archive without a root filesystem whose spec names this host's / as the root is refused even with --allow rootfs; the untouched one restores only with --allow rootfs", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
  const archive = await ckpt.exportOf(bundle, "shared", sandbox.path("shared.tar"), { export: ["--ignore-rootfs"] });
  const evil = await tamperedExport(archive, sandbox.path("evil-"), ({ spec }) => {
    spec["root"] = { path: "/", readonly: false };
  });
  for (const args of [[], ["--allow", "rootfs"]]) {
    const r = await ckpt.run(["restore", "--import", evil, ...args]);
    assert.equal(r.exitCode, 5, String(r.stderr));
    assert.match(String(r.stderr), /root filesystem is this host's own root/);
    assert.deepEqual(await readdir(join(ckpt.root, "containers")).catch(() => []), [], "no container was created");
  }
  const unasked = await ckpt.run(["restore", "--import", archive]);
  assert.equal(unasked.exitCode, 5, String(unasked.stderr));
  assert.match(String(unasked.stderr), /rootfs: root\.path .*: a directory of this host the archive names/);
  await ckpt.ok(["restore", "--import", archive, "--allow", "rootfs"]);
  assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "shared")?.status, "running");
  await ckpt.ok(["rm", "-f", "shared"]);
});

test("attack: a podman archive whose spec has a hook and a host bind mount is refused with both named, the hook not run; with --allow hooks --allow mounts it restores and reads the mount", async (t) => {
  if (!(await requirePodman(t))) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const { tag, image, rootfs } = await podmanBusyboxImage(sandbox, "hook-");
  // podman puts the hooks of its hooks directory into the spec: each start appends a line.
  const marker = sandbox.path("HOOK-RUNS");
  const hooks = sandbox.path("hooks.d");
  await mkdir(hooks);
  await writeFile(join(hooks, "marker.json"), JSON.stringify({ version: "1.0.0", hook: { path: "/bin/sh", args: ["sh", "-c", `echo ran >> ${marker}`] }, when: { always: true }, stages: ["prestart"] }));
  const data = sandbox.path("host-data");
  await mkdir(data);
  await writeFile(join(data, "greeting"), "hello from the host\n");
  await execa("podman", ["--hooks-dir", hooks, "run", "-d", "--name", tag, "--runtime", "runc", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "-v", `${data}:/data`, image, "/bin/sh", "-c", "sleep 100000"]);
  const archive = sandbox.path("podman.tar.zst");
  await execa("podman", ["container", "checkpoint", "--export", archive, tag]);
  const runsByPodman = (await readFile(marker, "utf8")).split("\n").filter(Boolean).length;
  assert.ok(runsByPodman >= 1, "podman ran the hook when it started the container");

  const shown = await ckpt.json<{ spec: { refusedOnImport: { kind: string }[] } }>(["inspect", "--json", archive]);
  assert.deepEqual(shown.spec.refusedOnImport.map((f) => f.kind).sort(), ["hooks", "mounts"], "inspect names what restore refuses, and only that (podman's defaults and its root filesystem changes pass)");
  const refused = await ckpt.run(["restore", "--import", archive, "--no-verify", "--rootfs", rootfs]);
  assert.equal(refused.exitCode, 5, String(refused.stderr));
  assert.match(String(refused.stderr), /hooks: hooks\.prestart\[0\]: \/bin\/sh -c echo ran >>/);
  assert.match(String(refused.stderr), new RegExp(`mounts: /data: a bind mount of this host's ${data.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
  assert.equal((await readFile(marker, "utf8")).split("\n").filter(Boolean).length, runsByPodman, "ckpt ran no hook");
  assert.deepEqual(await readdir(join(ckpt.root, "containers")).catch(() => []), [], "no container was created");

  const onlyMounts = await ckpt.run(["restore", "--import", archive, "--no-verify", "--rootfs", rootfs, "--allow", "mounts"]);
  assert.equal(onlyMounts.exitCode, 5, "the hook is still refused");
  assert.doesNotMatch(String(onlyMounts.stderr), /mounts: \/data/);
  await ckpt.ok(["restore", "--import", archive, "--no-verify", "--rootfs", rootfs, "--allow", "hooks", "--allow", "mounts"]);
  assert.equal((await readFile(marker, "utf8")).split("\n").filter(Boolean).length, runsByPodman + 1, "allowed, the runtime ran the hook once");
  assert.equal(String((await ckpt.ok(["exec", tag, "--", "cat", "/data/greeting"])).stdout).trim(), "hello from the host");
  await ckpt.ok(["rm", "-f", tag]);
});

test("attack: a hook under a key runc folds to hooks (Hooks, hoo\\u212As with a Kelvin sign) is refused as disguised, even with every --allow; no hook runs, inspect names it", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
  const archive = await ckpt.exportOf(bundle, "folded", sandbox.path("folded.tar"));
  const marker = sandbox.path("HOOK-RAN");
  for (const key of ["Hooks", "hoo\u212as"]) {
    const evil = await tamperedExport(archive, sandbox.path("folded-"), ({ spec }) => {
      spec[key] = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", `echo ran > ${marker}`] }], createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `echo ran > ${marker}`] }] };
    });
    const shown = await ckpt.json<{ spec: { refusedOnImport: { kind: string; detail: string }[] } }>(["inspect", "--json", evil]);
    assert.deepEqual(shown.spec.refusedOnImport.map((f) => f.kind), ["disguised"], key);
    const allowAll = ["hooks", "mounts", "capabilities", "namespaces", "devices", "sysctls", "confinement", "masked-paths", "rlimits", "rootfs", "annotations", "network"].flatMap((k) => ["--allow", k]);
    const r = await ckpt.run(["restore", "--import", evil, ...allowAll]);
    assert.equal(r.exitCode, 5, String(r.stderr));
    assert.match(String(r.stderr), new RegExp(`disguised: ${key}: runc would read it as "hooks"`));
    assert.equal(existsSync(marker), false, `${key}: no hook ran`);
    assert.deepEqual(await readdir(join(ckpt.root, "containers")).catch(() => []), [], "no container was created");
  }
});
