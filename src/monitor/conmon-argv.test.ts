import assert from "node:assert/strict";
import { test } from "node:test";
import { createMonitorArgv, execMonitorArgv, parseSyncMessages } from "./conmon-argv.ts";

const target = {
  id: "a".repeat(64),
  name: "web",
  runtimePath: "/usr/bin/runc",
  runtimeStateRoot: "/var/lib/ckpt/runtime/runc",
  bundleDir: "/var/lib/ckpt/containers/web/bundle",
  socketDir: "/var/lib/ckpt/containers/web",
};
const create = { ...target, containerPidFile: "/c.pid", monitorPidFile: "/m.pid", logPath: "/c.log", exitDir: "/exit" };

// The values that follow each occurrence of `flag`.
function valuesOf(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

test("create: the runtime and its --root, the bundle, pid files, a k8s-file log and the exit directory", () => {
  const argv = createMonitorArgv(create);
  assert.deepEqual(valuesOf(argv, "-c"), [target.id]);
  assert.deepEqual(valuesOf(argv, "-r"), ["/usr/bin/runc"]);
  assert.deepEqual(valuesOf(argv, "--runtime-arg"), ["--root=/var/lib/ckpt/runtime/runc"]);
  assert.deepEqual(valuesOf(argv, "-l"), ["k8s-file:/c.log"]);
  assert.deepEqual(valuesOf(argv, "--exit-dir"), ["/exit"]);
  assert.ok(!argv.includes("--restore") && !argv.includes("--exit-command"));
});

test("restore: the image directory and each runtime option as its own --runtime-opt", () => {
  const argv = createMonitorArgv({ ...create, restoreFrom: { imageDir: "/img", runtimeOptions: ["--tcp-established", "--lazy-pages"] } });
  assert.deepEqual(valuesOf(argv, "--restore"), ["/img"]);
  assert.deepEqual(valuesOf(argv, "--runtime-opt"), ["--tcp-established", "--lazy-pages"]);
});

test("run --restart: the exit command by path, each argument as its own --exit-command-arg, in order", () => {
  const argv = createMonitorArgv({ ...create, exitCommand: ["/usr/bin/node", "/opt/ckpt/dist/main.js", "--root", "/var/lib/ckpt", "__container-exited", "web"] });
  assert.deepEqual(valuesOf(argv, "--exit-command"), ["/usr/bin/node"]);
  assert.deepEqual(valuesOf(argv, "--exit-command-arg"), ["/opt/ckpt/dist/main.js", "--root", "/var/lib/ckpt", "__container-exited", "web"]);
  assert.deepEqual(createMonitorArgv({ ...create, exitCommand: [] }), createMonitorArgv(create));
});

test("exec: in the foreground with its own id, process spec and log; never an exit command", () => {
  const argv = execMonitorArgv({ ...target, execId: "e1", processSpecPath: "/p.json", execPidFile: "/e.pid", exitDir: "/x", logPath: "/e.log" });
  assert.deepEqual(valuesOf(argv, "-u"), ["e1"]);
  assert.ok(argv.includes("--exec") && argv.includes("--sync"));
  assert.deepEqual(valuesOf(argv, "--exec-process-spec"), ["/p.json"]);
  assert.ok(!argv.includes("--exit-command"));
});

test("sync messages: a PID, an exit code, a failure with conmon's message; junk is an error", () => {
  assert.deepEqual(parseSyncMessages('{"data": 4242}\n{"data": -1, "message": "runc create failed"}\n\n'), [{ data: 4242 }, { data: -1, message: "runc create failed" }]);
  assert.throws(() => parseSyncMessages('{"pid": 1}\n'), /unexpected message from conmon/);
});
