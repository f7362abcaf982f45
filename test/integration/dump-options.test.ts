// CRIU's dump options travel with the checkpoint: a lock held with flock stays exclusive
// after a plain restore, after restore --all and after a migration; and the operator's
// own CRIU configuration (the bundle's org.criu.config file) is in effect, with ckpt
// saying where its own options override it. On real runc and crun, with real CRIU.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import type { RuntimeName } from "../../src/runtimes/runtime.ts";

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
}

interface CheckpointJson {
  checkpoint: string;
  options: { tcpEstablished: boolean; fileLocks: boolean; tcpClose: boolean };
  criuConfig: { readByRuntime: boolean; via: string | null; options: string[]; overrides: string[] };
  warnings: string[];
}

interface RestoreJson {
  pid: number;
  options: { name: string; from: string; detail: string }[];
  criuConfig: { readByRuntime: boolean; options: string[]; overrides: string[] };
  warnings: string[];
}

// PID 1 takes an exclusive flock on a file in the container's root filesystem, says so,
// and sleeps holding it.
const LOCKED = "/tmp/held.lock";
const lockHolder = ["/usr/bin/file-lock", "hold", LOCKED];

async function holdLock(ckpt: CkptRoot, runtime: RuntimeName, name: string, bundle: string, extra: string[] = []): Promise<void> {
  const r = await ckpt.run(["--runtime", runtime, "run", "-d", "--name", name, ...extra, bundle]);
  assert.equal(r.exitCode, 0, String(r.stderr));
  await waitFor(`${name} to take its lock`, async () => (/locked/.test(String((await ckpt.ok(["logs", name])).stdout)) ? true : undefined));
}

// Whether a second process can take the lock now (LOCK_NB fails while it is held).
async function lockIsFree(ckpt: CkptRoot, name: string): Promise<boolean> {
  const r = await ckpt.run(["exec", name, "--", "/usr/bin/file-lock", "try", LOCKED]);
  assert.ok(r.exitCode === 0 || r.exitCode === 1, `file-lock try exited ${r.exitCode}: ${String(r.stderr)}`);
  return r.exitCode === 0;
}

async function running(ckpt: CkptRoot, name: string): Promise<PsEntry | undefined> {
  return (await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === name && e.status === "running");
}

describe("dump options travel with the checkpoint", () => {
  before(() => removeStaleSandboxes());

  for (const runtime of ["runc", "crun"] as const) {
    test(`${runtime}: a lock held with flock stays exclusive after a plain restore without --file-locks`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: lockHolder });
      await holdLock(ckpt, runtime, "holder", bundle);
      assert.equal(await lockIsFree(ckpt, "holder"), false, "before the checkpoint a second flock fails");

      await ckpt.ok(["checkpoint", "--file-locks", "holder"]);
      const restored = await ckpt.json<RestoreJson>(["restore", "holder"]);
      assert.ok(await running(ckpt, "holder"), "the holder runs again");
      assert.equal(await lockIsFree(ckpt, "holder"), false, "after the restore the lock is still held: a second flock fails");
      assert.deepEqual(restored.options?.map((o) => [o.name, o.from]), [["file-locks", "checkpoint"]], "file-locks applied, from the checkpoint");
    });
  }

  test("runc: restore --all restores the lock of a checkpoint --all --file-locks", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: lockHolder });
    await holdLock(ckpt, "runc", "holder", bundle);
    await ckpt.ok(["checkpoint", "--all", "--file-locks", "--json"]);
    assert.equal((await ckpt.json<PsEntry[]>(["ps", "-a"])).find((e) => e.name === "holder")?.status, "checkpointed");
    await ckpt.ok(["restore", "--all", "--json"]);
    assert.ok(await running(ckpt, "holder"));
    assert.equal(await lockIsFree(ckpt, "holder"), false, "after restore --all the lock is still held");
  });

  for (const runtime of ["runc", "crun"] as const) {
    test(`${runtime}: migrate --file-locks: the lock is held on the target`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const source = new CkptRoot(sandbox, "host-a");
      const target = new CkptRoot(sandbox, "host-b");
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: lockHolder });
      await holdLock(source, runtime, "holder", bundle, ["--network", "none"]);
      const moved = await source.json<{ restored: RestoreJson }>(["migrate", "holder", "--file-locks", "--to", `${ckptBin} --root ${target.root}`]);
      assert.deepEqual(await source.json<PsEntry[]>(["ps", "-a"]), [], "nothing left at the source");
      assert.ok(await running(target, "holder"));
      assert.equal(await lockIsFree(target, "holder"), false, "on the target the lock is still held");
      assert.deepEqual(moved.restored.options?.map((o) => [o.name, o.from]), [["file-locks", "checkpoint"]], "the target applied file-locks, from the checkpoint");
    });
  }

  for (const runtime of ["runc", "crun"] as const) {
    test(`${runtime}: the bundle's own CRIU config is in effect (its file-locks lets a lock holder be dumped without the flag), and ckpt says where it overrides it (log-file)`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: lockHolder });
      const operatorConfig = "# the operator's own CRIU options\nfile-locks\nlog-file mine.log\n";
      await writeFile(join(bundle, "criu.conf"), operatorConfig);
      const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as { annotations?: Record<string, string> };
      spec.annotations = { ...spec.annotations, "org.criu.config": "criu.conf" };
      await writeFile(join(bundle, "config.json"), JSON.stringify(spec));

      const run = await ckpt.run(["--runtime", runtime, "run", "-d", "--name", "holder", bundle]);
      assert.equal(run.exitCode, 0, String(run.stderr));
      assert.match(String(run.stderr), /ckpt: warning: ckpt's own setting overrides `log-file mine.log` from the bundle's CRIU config \(org.criu.config criu.conf\)/);
      await waitFor("holder to take its lock", async () => (/locked/.test(String((await ckpt.ok(["logs", "holder"])).stdout)) ? true : undefined));

      // No --file-locks: CRIU refuses to dump a held lock unless the bundle's file-locks is in effect.
      const dumped = await ckpt.run(["checkpoint", "holder", "--json"]);
      assert.equal(dumped.exitCode, 0, `the dump needs the bundle's file-locks: ${String(dumped.stderr)}`);
      const [report] = JSON.parse(String(dumped.stdout)) as CheckpointJson[];
      assert.equal(report!.options.fileLocks, true, "the manifest records file-locks, from the bundle's config");
      assert.equal(report!.criuConfig.readByRuntime, true);
      assert.equal(report!.criuConfig.via, runtime === "runc" ? "annotation" : "environment");
      assert.deepEqual(report!.criuConfig.options, ["file-locks"]);
      assert.equal(report!.warnings.length, 1);
      assert.match(report!.warnings[0]!, /overrides `log-file mine.log`/);
      assert.match(String(dumped.stderr), /ckpt: warning: ckpt's own setting overrides `log-file mine.log`/);
      assert.ok(existsSync(join(report!.checkpoint, "dump.log")), "CRIU's log is where ckpt reads it, not in mine.log");
      assert.equal(await readFile(join(report!.checkpoint, "bundle-criu.conf"), "utf8"), operatorConfig, "the bundle's file travels with the checkpoint");

      const restored = await ckpt.json<RestoreJson>(["restore", "holder"]);
      assert.equal(await lockIsFree(ckpt, "holder"), false, "the lock is held after the restore");
      assert.deepEqual(restored.options.map((o) => [o.name, o.from]), [["file-locks", "checkpoint"]]);
    });
  }

  for (const runtime of ["runc", "crun"] as const) {
    test(`${runtime}: TCP connections: --tcp-established travels and is refused an explicit opposite, --tcp-close closes them, a --tcp-close checkpoint is restored with it`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      // A server and a client in one container, on one loopback connection; when the
      // client's connection breaks it says so and the container lives on.
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), {
        args: ["/bin/sh", "-c", "/usr/bin/tcp-echo serve 5000 & sleep 0.5; /usr/bin/tcp-echo client 127.0.0.1 5000 --interval-ms 100; echo client-ended; exec sleep 100000"],
      });
      await ckpt.ok(["--runtime", runtime, "run", "-d", "--network", "none", "--name", "tcp", bundle]);
      const lastOk = async () => Math.max(0, ...[...String((await ckpt.ok(["logs", "tcp"])).stdout).matchAll(/^ok seq=(\d+)$/gm)].map((m) => Number(m[1])));
      await waitFor("the client's first answers", async () => ((await lastOk()) >= 3 ? true : undefined));

      const established = (await ckpt.json<CheckpointJson[]>(["checkpoint", "--tcp-established", "tcp"]))[0]!;
      assert.equal(established.options.tcpEstablished, true);
      const refused = await ckpt.run(["restore", "--no-tcp-established", "tcp"]);
      assert.equal(refused.exitCode, 5, String(refused.stderr));
      assert.match(String(refused.stderr), /holds established TCP connections .*CRIU cannot restore it without --tcp-established/);
      assert.equal((await ckpt.json<PsEntry[]>(["ps", "-a"]))[0]?.status, "checkpointed", "the refusal touched nothing");

      const before = await lastOk();
      const back = await ckpt.json<RestoreJson>(["restore", "tcp"]);
      assert.deepEqual(back.options.map((o) => [o.name, o.from]), [["tcp-established", "checkpoint"]]);
      await waitFor("the same connection to go on after the restore", async () => ((await lastOk()) > before + 3 ? true : undefined));
      assert.doesNotMatch(String((await ckpt.ok(["logs", "tcp"])).stdout), /error|client-ended/);

      await ckpt.ok(["checkpoint", "--tcp-established", "tcp"]);
      const closed = await ckpt.json<RestoreJson>(["restore", "--tcp-close", "tcp"]);
      assert.deepEqual(closed.options.map((o) => [o.name, o.from]), [["tcp-close", "flag"]]);
      assert.ok(closed.warnings.some((w) => /restored closed; their peers see them reset/.test(w)), JSON.stringify(closed.warnings));
      await waitFor("the client to see its connection closed", async () => (/client-ended/.test(String((await ckpt.ok(["logs", "tcp"])).stdout)) ? true : undefined));

      // The listener alone now: a --tcp-close dump, which CRIU restores only with --tcp-close.
      const tcpClose = (await ckpt.json<CheckpointJson[]>(["checkpoint", "--tcp-close", "tcp"]))[0]!;
      assert.equal(tcpClose.options.tcpClose, true);
      const again = await ckpt.json<RestoreJson>(["restore", "tcp"]);
      assert.deepEqual(again.options.map((o) => [o.name, o.from]), [["tcp-close", "checkpoint"]]);
      assert.ok(await running(ckpt, "tcp"));
    });
  }
});
