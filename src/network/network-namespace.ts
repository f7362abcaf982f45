// Creates, configures and releases the network namespaces ckpt manages for private
// networks: a namespace file bind-mounted at a path under ckpt's state (as `ip netns`
// does under /run/netns), handed to the runtime as an existing namespace. runc and crun
// then tell CRIU the namespace is external: CRIU dumps none of its configuration and
// restores the processes into whatever namespace the spec names, so ckpt builds the
// same one again before every restore.
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { execa } from "execa";
import { CkptError, ExitCode } from "../errors.ts";
import { mountsUnder } from "../host/mounts.ts";
import type { NetworkConfig } from "../store/network-config.ts";
import { hostCommands, namespaceCommands, upCommands } from "./plan-network.ts";

type PrivateNetwork = Extract<NetworkConfig, { mode: "private" }>;

// Whether a namespace is bound at `path` (not just an empty file left behind).
export async function isNamespaceBound(path: string): Promise<boolean> {
  return mountsUnder(await readFile("/proc/self/mountinfo", "utf8"), [path]).includes(path);
}

// Builds the namespace `config` describes at `nsPath`, from nothing: a namespace bound
// there already is released first (a restore always starts from a fresh one). On any
// failure what was made is released again.
export async function createNetwork(config: PrivateNetwork, nsPath: string, options: { linksUp: boolean } = { linksUp: true }): Promise<void> {
  await releaseNetwork(config, nsPath);
  await writeFile(nsPath, "", { mode: 0o600 });
  await ensurePrivatePropagation(dirname(nsPath));
  try {
    await run("unshare", [`--net=${nsPath}`, "true"], "create the network namespace");
    if (config.interfaces.length > 0) await ipBatch([], hostCommands(config, nsPath, options.linksUp), "create the veth pair on this host");
    await ipBatch(["nsenter", `--net=${nsPath}`], namespaceCommands(config), "configure the container's network namespace");
  } catch (error) {
    await releaseNetwork(config, nsPath);
    throw error;
  }
}

// Brings up the host's ends of a namespace's veth pairs created down, once the
// container's sockets are back.
export async function raiseLinks(config: PrivateNetwork, nsPath: string): Promise<void> {
  if (config.interfaces.length > 0) await ipBatch([], upCommands(config), "bring the host's ends of the container's veth pairs up");
}

// Takes the host's ends of the veth pairs down: the container keeps its namespace but no
// packet reaches it (a post-copy migration's source, while the target takes over its address).
export async function lowerLinks(config: PrivateNetwork): Promise<void> {
  const lines = config.interfaces.map((i) => `link set dev ${i.hostEnd.name} down`);
  if (lines.length > 0) await ipBatch([], lines, "take the host's ends of the container's veth pairs down");
}

// Removes the host's ends of the veth pairs (which removes the container's ends with
// them, at once rather than whenever the kernel gets to the dead namespace) and unbinds
// the namespace. Safe to call when nothing is there.
export async function releaseNetwork(config: NetworkConfig | undefined, nsPath: string): Promise<void> {
  if (config?.mode === "private") {
    for (const i of config.interfaces) await execa("ip", ["link", "del", "dev", i.hostEnd.name], { reject: false, stdin: "ignore" });
  }
  if (await isNamespaceBound(nsPath)) await execa("umount", [nsPath], { reject: false, stdin: "ignore" });
  if (!(await isNamespaceBound(nsPath))) await rm(nsPath, { force: true });
}

// The namespace `nsPath` as `ip` sees it: interfaces with their addresses, and routes.
export interface NetworkSnapshot {
  links: { name: string; up: boolean; mac: string; addresses: string[] }[];
  routes: string[];
}

export async function snapshotNetwork(nsPath: string): Promise<NetworkSnapshot> {
  const inNs = (args: string[]) => execa("nsenter", [`--net=${nsPath}`, "ip", "-j", ...args], { stdin: "ignore" });
  const [addr, route, route6] = await Promise.all([inNs(["addr", "show"]), inNs(["route", "show"]), inNs(["-6", "route", "show"])]);
  const links = (JSON.parse(String(addr.stdout)) as { ifname: string; flags: string[]; address?: string; addr_info?: { local: string; prefixlen: number }[] }[]).map((l) => ({
    name: l.ifname,
    up: l.flags.includes("UP"),
    mac: l.address ?? "",
    addresses: (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort(),
  }));
  const routes = [...(JSON.parse(String(route.stdout)) as object[]), ...(JSON.parse(String(route6.stdout)) as object[])].map((r) => JSON.stringify(r));
  return { links, routes };
}

// A bind mount of a namespace file is refused below a shared mount (it would propagate,
// and the namespace could never be freed); `ip netns` makes its directory a private
// mount of its own for the same reason.
async function ensurePrivatePropagation(dir: string): Promise<void> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const mount = containingMount(info, dir);
  if (mount === null || !mount.shared) return;
  await run("mount", ["--bind", dir, dir], "make ckpt's namespace directory a mount");
  await run("mount", ["--make-private", dir], "make ckpt's namespace directory private");
}

// The mount holding `dir`, and whether it propagates (shared:N in its optional fields).
export function containingMount(mountinfo: string, dir: string): { point: string; shared: boolean } | null {
  let best: { point: string; shared: boolean } | null = null;
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    const point = fields[4];
    if (point === undefined) continue;
    if (dir === point || dir.startsWith(point === "/" ? "/" : `${point}/`)) {
      if (best === null || point.length >= best.point.length) {
        const optional = fields.slice(6, fields.indexOf("-"));
        best = { point, shared: optional.some((f) => f.startsWith("shared:")) };
      }
    }
  }
  return best;
}

async function ipBatch(prefix: string[], lines: string[], what: string): Promise<void> {
  const [cmd, ...args] = [...prefix, "ip", "-batch", "-"];
  const r = await execa(cmd!, args, { input: `${lines.join("\n")}\n`, reject: false });
  if (r.exitCode !== 0) {
    throw new CkptError(ExitCode.runtimeFailed, `could not ${what}`, { evidence: String(r.stderr).trim().split("\n"), hint: "`ip` printed the lines above; `ckpt doctor` checks the host" });
  }
}

async function run(cmd: string, args: string[], what: string): Promise<void> {
  const r = await execa(cmd, args, { reject: false, stdin: "ignore" });
  if (r.exitCode !== 0) throw new CkptError(ExitCode.runtimeFailed, `could not ${what}`, { evidence: String(r.stderr).trim().split("\n") });
}

// Whether a path named by an ns: network exists here.
export function namespacePathExists(path: string): boolean {
  return existsSync(path);
}
