// Where a lazy migration's memory is served from, and whether this host lets CRIU serve it.
import { isIP } from "node:net";
import { CkptError, ExitCode } from "../errors.ts";
import { readProcessLimitFacts } from "../host/process-limits.ts";

export interface PageServerAddress {
  address: string;
  port: number;
}

// The port CRIU's page server listens on when --page-server gives only an address.
export const DEFAULT_PAGE_SERVER_PORT = 27027;

// "ADDR[:PORT]" or "[IPV6]:PORT". The address must be one the target can reach: the
// source's own address on the link between them.
export function parsePageServer(text: string): PageServerAddress {
  const bad = (why: string) =>
    new CkptError(ExitCode.usage, `--page-server ${JSON.stringify(text)}: ${why}`, { hint: "give the source's address that the target reaches, with an optional port: --page-server 192.0.2.1:27027" });
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const [address, portText] = bracketed ? [bracketed[1]!, bracketed[2]] : text.includes(":") && isIP(text) !== 6 ? [text.slice(0, text.lastIndexOf(":")), text.slice(text.lastIndexOf(":") + 1)] : [text, undefined];
  if (isIP(address) === 0) throw bad("not an IP address (CRIU's page server listens on an address, not a host name)");
  if (address === "0.0.0.0" || address === "::") throw bad("the target must connect to it, so it must be a concrete address, not a wildcard");
  const port = portText === undefined ? DEFAULT_PAGE_SERVER_PORT : Number(portText);
  if (!/^\d+$/.test(portText ?? "0") || !Number.isInteger(port) || port < 1 || port > 65535) throw bad("the port must be a number from 1 to 65535");
  return { address, port };
}

// How CRIU's page server and the runtimes spell it.
export function formatPageServer(p: PageServerAddress): string {
  return isIP(p.address) === 6 ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
}

// A lazy dump's page server asks for pipes of 4 MiB (F_SETPIPE_SZ). Without
// CAP_SYS_RESOURCE the kernel refuses any pipe above fs.pipe-max-size, and CRIU 4.1.1
// does not check that failure: its first page request then fails with EBADF ("splice:
// Bad file descriptor") and the migration with it. Found on this project's machines.
export const LAZY_PIPE_BYTES = 4 * 1024 * 1024;

export function lazyPipeProblem(pipeMaxSize: number, capSysResource: boolean): string | null {
  if (capSysResource || pipeMaxSize >= LAZY_PIPE_BYTES) return null;
  return `fs.pipe-max-size is ${pipeMaxSize} bytes and ckpt runs without CAP_SYS_RESOURCE, so CRIU's page server cannot get the ${LAZY_PIPE_BYTES}-byte pipes it serves pages through`;
}

export async function refuseUnservableLazyPages(): Promise<void> {
  const facts = readProcessLimitFacts();
  const problem = facts.pipeMaxSize == null ? null : lazyPipeProblem(facts.pipeMaxSize, facts.capSysResource);
  if (problem !== null) {
    throw new CkptError(ExitCode.hostNotReady, "this host cannot serve a lazy migration's memory", {
      evidence: [problem],
      hint: `raise the limit: sysctl -w fs.pipe-max-size=${LAZY_PIPE_BYTES} (scripts/setup-host.sh does), or migrate without --lazy`,
    });
  }
}
