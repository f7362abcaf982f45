// Test "hosts" for networking: each its own network namespace with a bridge br0, so that
// containers on private networks can be reached and moved, all inside namespaces the test
// made (this machine's own network is never touched). ckpt runs in a host's namespace as
// it would on that host, and so do the test's clients.
import { spawn, type ChildProcess } from "node:child_process";
import { execa } from "execa";
import { ckptBin } from "./cli.ts";
import { testResourcePrefix } from "./owner.ts";
import type { Sandbox } from "./sandbox.ts";

export interface NetHost {
  netns: string;
  // The host's own address on br0, with prefix.
  address: string;
  // argv running `cmd` in this host's network namespace (nsenter --net: `ip netns exec`
  // remounts /sys and hides the cgroup mounts the runtimes need).
  on(argv: string[]): string[];
  // `ckpt --root ROOT args` here.
  ckpt(root: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  // The same, failing the test with ckpt's words unless it exits `expected`.
  ckptOk(root: string, args: string[], expected?: number): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  // The command that runs ckpt here with state root `root`: a migration's TARGET.
  ckptCommand(root: string): string;
  // Runs `argv` here; never throws on its exit code.
  exec(argv: string[]): Promise<{ exitCode: number; stdout: string }>;
  // Sends one line to ADDR:PORT (busybox nc) and returns the answer, trimmed.
  ask(address: string, port: string, line: string): Promise<string>;
  // The host ends of container veths here (interfaces named ck...).
  hostEnds(): Promise<string[]>;
}

let count = 0;

export async function netHost(sandbox: Sandbox, label: string, address: string, options: { bridge?: boolean } = {}): Promise<NetHost> {
  const netns = `${testResourcePrefix}${label}${count++}`.slice(0, 30);
  await execa("ip", ["netns", "add", netns]);
  sandbox.defer(async () => void (await execa("ip", ["netns", "delete", netns], { reject: false })));
  await execa("ip", ["-n", netns, "link", "set", "lo", "up"]);
  if (options.bridge !== false) {
    await execa("ip", ["-n", netns, "link", "add", "br0", "type", "bridge"]);
    await execa("ip", ["-n", netns, "addr", "add", address, "dev", "br0"]);
    await execa("ip", ["-n", netns, "link", "set", "br0", "up"]);
  }
  const on = (argv: string[]) => ["nsenter", `--net=/run/netns/${netns}`, ...argv];
  const ckpt = async (root: string, args: string[]) => {
    const [cmd, ...rest] = on([ckptBin, "--root", root, ...args]);
    const r = await execa(cmd!, rest, { reject: false, env: { CKPT_NODE: process.execPath } });
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const exec = async (argv: string[]) => {
    const [cmd, ...rest] = on(argv);
    const r = await execa(cmd!, rest, { reject: false });
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout) };
  };
  return {
    netns,
    address,
    on,
    ckpt,
    ckptOk: async (root, args, expected = 0) => {
      const r = await ckpt(root, args);
      if (r.exitCode !== expected) throw new Error(`ckpt ${args.join(" ")} exited ${r.exitCode}, expected ${expected}\n${r.stdout}\n${r.stderr}`);
      return r;
    },
    ckptCommand: (root) => on([ckptBin, "--root", root]).join(" "),
    exec,
    ask: async (addr, port, line) => (await exec(["sh", "-c", `echo ${line} | busybox nc -w 1 ${addr} ${port}`])).stdout.trim(),
    hostEnds: async () => (await exec(["ip", "-br", "link"])).stdout.split("\n").filter((l) => l.startsWith("ck")),
  };
}

// One L2 segment across hosts: a veth pair whose ends are ports of each host's br0.
export async function linkHosts(a: NetHost, b: NetHost): Promise<void> {
  const name = `lk${process.pid % 100000}${count++}`;
  await execa("ip", ["-n", a.netns, "link", "add", `${name}a`, "type", "veth", "peer", "name", `${name}b`, "netns", b.netns]);
  await execa("ip", ["-n", a.netns, "link", "set", `${name}a`, "master", "br0", "up"]);
  await execa("ip", ["-n", b.netns, "link", "set", `${name}b`, "master", "br0", "up"]);
}

// A process the test started (in a host's namespace), its output gathered; killed by PID
// when the test ends.
export interface Watched {
  child: ChildProcess;
  output(): string;
}

export function startWatched(sandbox: Sandbox, argv: string[]): Watched {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  sandbox.defer(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  });
  return { child, output: () => out };
}

// The tcp-echo client's progress: the last sequence number answered, and its errors.
export function clientProgress(output: string): { connected: number; lastOk: number; errors: string[]; oks: number[] } {
  const lines = output.split("\n");
  const oks = lines.flatMap((l) => /^ok seq=(\d+)$/.exec(l)?.[1] ?? []).map(Number);
  return { connected: lines.filter((l) => l.startsWith("connected ")).length, lastOk: oks.at(-1) ?? 0, errors: lines.filter((l) => l.startsWith("error")), oks };
}
