import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, isAbsolute, join, relative } from "node:path";
import { test } from "node:test";
import { pathWithCriuFirst, putCriuFirstOnPath } from "./criu-path.ts";

// --criu rel/criu put "rel" first on PATH: runc 1.1.5's checkpoint then failed with
// 'exec: "criu": cannot run executable found relative to current directory', crun (execvp)
// and any other child would run a criu, iptables... from whatever directory it ran in, and
// ckpt's own version checks (which skip relative entries) read the installed CRIU instead.
test("a relative --criu puts an absolute directory first on PATH, never a working-directory-relative one", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-criu-path-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "criu"), "#!/bin/sh\n");
  await chmod(join(dir, "criu"), 0o755);
  const given = relative(process.cwd(), join(dir, "criu"));
  assert.ok(!isAbsolute(given));
  const env: NodeJS.ProcessEnv = { PATH: "/usr/sbin:/usr/bin" };
  putCriuFirstOnPath({ value: given, source: "flag", given }, env);
  const entries = env["PATH"]!.split(delimiter);
  assert.equal(entries[0], dir);
  assert.ok(entries.every(isAbsolute), `every entry absolute: ${env["PATH"]}`);
});

test("the CRIU's directory goes first once, the rest of PATH keeps its order", () => {
  assert.equal(pathWithCriuFirst("/opt/criu/sbin/criu", "/usr/bin:/opt/criu/sbin::/bin"), "/opt/criu/sbin:/usr/bin:/bin");
});

test("a criu left to the default leaves PATH alone", () => {
  const env: NodeJS.ProcessEnv = { PATH: "/usr/bin" };
  putCriuFirstOnPath({ value: "criu", source: "default", given: "criu" }, env);
  assert.equal(env["PATH"], "/usr/bin");
});
