// A spec that joins an existing pid namespace: the container really is in it, on every
// runtime. crun 1.21 cannot join a pid namespace in a container that also gets a new time
// namespace (its create fails with "unshare: Invalid argument"), so ckpt adds none there
// and says so.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { before, describe, test } from "node:test";
import { descendants, killAll } from "../../src/proc/process.ts";
import { runtimeAdapter } from "../../src/runtimes/index.ts";
import { createsTimeNamespace, runtimeNames } from "../../src/runtimes/runtime.ts";
import { createBusyboxBundle, editBundleSpec } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { OciRuntime } from "../harness/oci-runtime.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

const nsInode = (pid: number | "self", type: string) => statSync(`/proc/${pid}/ns/${type}`).ino;

interface PsEntry {
  name: string;
  pid: number | null;
}

// A pid namespace owned by the test: `unshare --pid --fork` and the sleep that is its
// PID 1, both killed by PID after the test.
async function pidNamespaceHolder(sandbox: Sandbox): Promise<number> {
  const unshare = spawn("unshare", ["--pid", "--fork", "--mount-proc", "sleep", "1000"], { stdio: "ignore" });
  const unsharePid = unshare.pid!;
  sandbox.defer(async () => {
    killAll([...(await descendants(unsharePid)).reverse(), unsharePid]);
  });
  return waitFor("the pid namespace holder", async () => (await descendants(unsharePid))[0]);
}

for (const runtime of runtimeNames) {
  describe(`${runtime}: a spec joining an existing pid namespace`, () => {
    before(() => removeStaleSandboxes());

    test("the container runs in that pid namespace, through checkpoint and restore, and ckpt says when it gave it no time namespace", async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const holder = await pidNamespaceHolder(sandbox);
      assert.notEqual(nsInode(holder, "pid"), nsInode("self", "pid"), "the holder has a pid namespace of its own");
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sh", "-c", "exec sleep 1000 </dev/null >/dev/null 2>&1"] });
      await editBundleSpec(bundle, (spec) => {
        spec.linux.namespaces = [...spec.linux.namespaces.filter((ns) => ns.type !== "pid"), { type: "pid", path: `/proc/${holder}/ns/pid` }];
      });

      const run = await ckpt.ok(["--runtime", runtime, "run", "-d", "--name", "joiner", bundle]);
      const pidOf = async () => (await ckpt.json<PsEntry[]>(["ps"])).find((c) => c.name === "joiner")?.pid ?? null;
      const pid = await pidOf();
      assert.ok(pid !== null, "ps shows the container's PID 1");
      assert.equal(nsInode(pid, "pid"), nsInode(holder, "pid"), "PID 1 is in the holder's pid namespace, not a new one");

      const adapter = runtimeAdapter(runtime);
      const version = adapter.parseVersion(await new OciRuntime(runtime).version()).version!;
      const omitted = adapter.timeNamespaceBreaksJoining.includes("pid") && createsTimeNamespace(adapter, version);
      t.diagnostic(`${runtime} ${version}: time namespace omitted: ${omitted}; stderr: ${String(run.stderr).trim() || "(none)"}`);
      if (omitted) {
        assert.match(String(run.stderr), /warning: the spec joins the pid namespace at \/proc\/\d+\/ns\/pid, which \w+ cannot do in a container with a time namespace of its own/);
        assert.equal(nsInode(pid, "time"), nsInode("self", "time"), "no time namespace of its own");
      } else {
        assert.doesNotMatch(String(run.stderr), /joins the pid namespace/);
      }

      await ckpt.ok(["checkpoint", "joiner"]);
      await ckpt.ok(["restore", "joiner"]);
      const restored = await pidOf();
      assert.ok(restored !== null);
      assert.equal(nsInode(restored, "pid"), nsInode(holder, "pid"), "the restored PID 1 is back in the holder's pid namespace");
    });
  });
}
