import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, isAbsolute, join, relative } from "node:path";
import { test } from "node:test";
import { findExecutable } from "../host/find-executable.ts";
import { pathWithDirFirst, putCriuFirstOnPath } from "./criu-path.ts";

async function tools(t: { after: (fn: () => Promise<void>) => void }, names: string[]) {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-criu-path-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const name of names) {
    await writeFile(join(dir, name), "#!/bin/sh\n");
    await chmod(join(dir, name), 0o755);
  }
  return dir;
}

// --criu rel/criu put "rel" first on PATH: runc 1.1.5's checkpoint then failed with
// 'exec: "criu": cannot run executable found relative to current directory', and crun
// (execvp) or any other child would run whatever is in its working directory.
test("a relative --criu puts an absolute directory first on PATH, never a working-directory-relative one", async (t) => {
  const dir = await tools(t, ["criu"]);
  const links = await tools(t, []);
  const given = relative(process.cwd(), join(dir, "criu"));
  assert.ok(!isAbsolute(given));
  const env: NodeJS.ProcessEnv = { PATH: "/usr/sbin:/usr/bin" };
  putCriuFirstOnPath({ value: given, source: "flag", given }, env, links);
  const entries = env["PATH"]!.split(delimiter);
  assert.ok(entries.every(isAbsolute), `every entry absolute: ${env["PATH"]}`);
  assert.equal(realpathSync(findExecutable("criu", env["PATH"])!), realpathSync(join(dir, "criu")));
});

// --criu /opt/tools/criu put /opt/tools first on PATH: a runc (or iptables) there then
// replaced the system's for every container ckpt created.
test("--criu in a directory that also holds a runc: only criu is put first on PATH, the runc there is never picked", async (t) => {
  const dir = await tools(t, ["criu", "runc", "iptables-restore"]);
  const links = await tools(t, []);
  const env: NodeJS.ProcessEnv = { PATH: "/usr/sbin:/usr/bin" };
  putCriuFirstOnPath({ value: join(dir, "criu"), source: "env", given: join(dir, "criu") }, env, links);
  const first = env["PATH"]!.split(delimiter)[0]!;
  assert.deepEqual(await readdir(first), ["criu"]);
  assert.equal(realpathSync(findExecutable("criu", env["PATH"])!), realpathSync(join(dir, "criu")));
  assert.notEqual(findExecutable("runc", env["PATH"]), join(dir, "runc"));
  assert.notEqual(findExecutable("iptables-restore", env["PATH"]), join(dir, "iptables-restore"));
  // Again: the same link directory, PATH holding it once.
  putCriuFirstOnPath({ value: join(dir, "criu"), source: "env", given: join(dir, "criu") }, env, links);
  assert.equal(env["PATH"]!.split(delimiter).filter((d) => d === first).length, 1);
});

test("a binary of another name works too; the directory goes first once, the rest of PATH keeps its order", async (t) => {
  const dir = await tools(t, ["criu-4.1.1"]);
  const links = await tools(t, []);
  const env: NodeJS.ProcessEnv = { PATH: "/usr/bin" };
  putCriuFirstOnPath({ value: join(dir, "criu-4.1.1"), source: "flag", given: "" }, env, links);
  assert.equal(realpathSync(findExecutable("criu", env["PATH"])!), realpathSync(join(dir, "criu-4.1.1")));
  assert.equal(pathWithDirFirst("/opt/criu/sbin", "/usr/bin:/opt/criu/sbin::/bin"), "/opt/criu/sbin:/usr/bin:/bin");
});

test("a criu left to the default leaves PATH alone; a missing one is exit 2", () => {
  const env: NodeJS.ProcessEnv = { PATH: "/usr/bin" };
  putCriuFirstOnPath({ value: "criu", source: "default", given: "criu" }, env);
  assert.equal(env["PATH"], "/usr/bin");
  assert.throws(() => putCriuFirstOnPath({ value: "/nonexistent/criu", source: "flag", given: "" }, env), /--criu \/nonexistent\/criu: no executable file there/);
});
