// A real OCI registry for the image tests: Debian's docker-registry on loopback, with a
// configuration and storage of the test's own (Debian's default config asks for htpasswd
// auth), stopped when the test ends, pass or fail.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { findExecutable } from "../../src/host/find-executable.ts";
import { integrationRequired } from "./prerequisites.ts";
import type { Sandbox } from "./sandbox.ts";

// A port nobody listens on now (the kernel's pick, released at once).
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

// The registry's address (127.0.0.1:PORT), or null when the test was skipped.
export async function startRegistry(t: TestContext, sandbox: Sandbox): Promise<string | null> {
  const binary = findExecutable("docker-registry");
  if (binary === null) {
    const message = "docker-registry is not installed (scripts/setup-host.sh installs it)";
    if (integrationRequired()) throw new Error(message);
    t.skip(message);
    return null;
  }
  const port = await freeLoopbackPort();
  const address = `127.0.0.1:${port}`;
  const config = sandbox.path("registry.yml");
  await writeFile(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${sandbox.path("registry-data")}\nhttp:\n  addr: ${address}\n`);
  const child = spawn(binary, ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  sandbox.defer(async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${address}/v2/`).then((r) => r.status === 200, () => false);
    if (ok) return address;
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`docker-registry did not answer on ${address}: ${stderr.slice(-500)}`);
}
