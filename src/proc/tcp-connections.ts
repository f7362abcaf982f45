// The TCP connections a container's processes hold, read from /proc before a checkpoint:
// CRIU dumps a connected socket only with --tcp-established (or drops it with --tcp-close),
// and ckpt names them rather than let CRIU fail on the first one.
import { readdir, readFile, readlink } from "node:fs/promises";
import { formatAddress } from "../network/addresses.ts";

// TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h).
const STATES: Record<number, string> = {
  1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
  7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV",
};

export interface TcpSocketEntry {
  local: string;
  remote: string;
  state: string;
  inode: number;
}

// One owned TCP connection: which process holds it, and its ends.
export interface TcpConnection extends TcpSocketEntry {
  pid: number;
  command: string;
}

// Pure: the sockets listed in /proc/net/tcp or /proc/net/tcp6.
export function parseProcNetTcp(text: string): TcpSocketEntry[] {
  return text
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 10)
    .map((f) => ({ local: hexEndpoint(f[1]!), remote: hexEndpoint(f[2]!), state: STATES[parseInt(f[3]!, 16)] ?? `0x${f[3]}`, inode: Number(f[9]) }));
}

// Whether CRIU needs --tcp-established (or --tcp-close) for a socket in this state: every
// state but listening and closed (CRIU's own rule).
export function needsTcpEstablished(state: string): boolean {
  return state !== "LISTEN" && state !== "CLOSE";
}

// "0100007F:1F90" -> "127.0.0.1:8080"; IPv6 as four little-endian words -> "[::1]:8080".
export function hexEndpoint(hex: string): string {
  const [addr = "", port = "0"] = hex.split(":");
  const p = parseInt(port, 16);
  if (addr.length === 8) return `${le32Bytes(addr).join(".")}:${p}`;
  const bytes = [0, 8, 16, 24].flatMap((i) => le32Bytes(addr.slice(i, i + 8)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `${bytes.slice(12).join(".")}:${p}`;
  return `[${formatAddress({ family: 6, value: bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n) })}]:${p}`;
}

function le32Bytes(hex: string): number[] {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

// The connected TCP sockets that `tasks` hold (in the network namespace of `pid1`).
export function readTcpConnections(pid1: number, tasks: readonly { pid: number; command: string }[]): Promise<TcpConnection[]> {
  return readOwnedSockets(pid1, tasks, ["tcp", "tcp6"], (e) => needsTcpEstablished(e.state));
}

// Every inet socket (TCP in any state, UDP) that `tasks` hold: what a CRIU that cannot
// dump inet sockets would fail on. `state` is "UDP" for UDP sockets.
export function readInetSockets(pid1: number, tasks: readonly { pid: number; command: string }[]): Promise<TcpConnection[]> {
  return readOwnedSockets(pid1, tasks, ["tcp", "tcp6", "udp", "udp6"], () => true);
}

export function describeSocket(c: TcpConnection): string {
  return c.state === "LISTEN" ? `PID ${c.pid} (${c.command}): TCP listener ${c.local}` : c.state === "UDP" ? `PID ${c.pid} (${c.command}): UDP ${c.local}` : describeConnection(c);
}

async function readOwnedSockets(pid1: number, tasks: readonly { pid: number; command: string }[], tables: readonly string[], keep: (e: TcpSocketEntry) => boolean): Promise<TcpConnection[]> {
  const texts = await Promise.all(tables.map(async (f) => ({ udp: f.startsWith("udp"), text: await readFile(`/proc/${pid1}/net/${f}`, "utf8").catch(() => "") })));
  const entries = texts.flatMap(({ udp, text }) => parseProcNetTcp(text).map((e) => (udp ? { ...e, state: "UDP" } : e)));
  const connected = new Map(entries.filter((e) => e.inode !== 0 && keep(e)).map((e) => [e.inode, e]));
  if (connected.size === 0) return [];
  const found: TcpConnection[] = [];
  const seen = new Set<number>();
  for (const task of tasks) {
    const fds = await readdir(`/proc/${task.pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${task.pid}/fd/${fd}`).catch(() => ""));
      const entry = m ? connected.get(Number(m[1])) : undefined;
      if (entry !== undefined && !seen.has(entry.inode)) {
        seen.add(entry.inode);
        found.push({ ...entry, pid: task.pid, command: task.command });
      }
    }
  }
  return found;
}

export function describeConnection(c: TcpConnection): string {
  return `PID ${c.pid} (${c.command}): ${c.local} <-> ${c.remote} (${c.state})`;
}
