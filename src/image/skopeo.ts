// skopeo (Debian's) moves checkpoint images between an OCI layout ckpt wrote or reads and
// every other transport: registries, podman's store, oci-archive files. ckpt does not speak
// the registry protocol itself. Authentication is skopeo's own (--authfile, or its
// default auth.json); --tls-verify=false is for registries on loopback without TLS.
import { execa } from "execa";
import { CkptError, ExitCode } from "../errors.ts";
import { findExecutable } from "../host/find-executable.ts";

export interface TransferOptions {
  // false: plain HTTP and unverified certificates (a registry on loopback).
  tlsVerify: boolean;
  authfile?: string | undefined;
}

// Pure: the argv of `skopeo copy SRC DEST` for a push (the registry is the destination)
// or a pull (it is the source).
export function skopeoCopyArgv(src: string, dest: string, direction: "push" | "pull", o: TransferOptions): string[] {
  const side = direction === "push" ? "dest" : "src";
  return ["copy", "--quiet", ...(o.tlsVerify ? [] : [`--${side}-tls-verify=false`]), ...(o.authfile === undefined ? [] : [`--${side}-authfile`, o.authfile]), src, dest];
}

export async function skopeoCopy(src: string, dest: string, direction: "push" | "pull", o: TransferOptions): Promise<void> {
  const skopeo = findExecutable("skopeo");
  if (skopeo === null) throw new CkptError(ExitCode.hostNotReady, "skopeo is not installed: ckpt moves images to and from registries and podman's store with it", { hint: "run scripts/setup-host.sh as root (apt-get install skopeo)" });
  const r = await execa(skopeo, skopeoCopyArgv(src, dest, direction, o), { reject: false, stdin: "ignore" });
  if (r.exitCode !== 0) {
    throw new CkptError(ExitCode.transferFailed, `skopeo could not copy ${src} to ${dest}`, {
      evidence: String(r.stderr).trim().split("\n").slice(-4),
      hint: direction === "push" ? "check the reference, the registry's credentials (--authfile) and, for a registry without TLS, --tls-verify=false" : "check the reference and the credentials (--authfile); a registry without TLS needs --tls-verify=false",
    });
  }
}
