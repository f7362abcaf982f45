// Kernel facts that decide what checkpoint/restore can do on this host.
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";

// The kernel options ckpt cares about, as the kernel's build config spells them.
export const kernelOptions = [
  "CONFIG_CHECKPOINT_RESTORE",
  "CONFIG_TIME_NS",
  "CONFIG_USERFAULTFD",
  "CONFIG_MEM_SOFT_DIRTY",
] as const;
export type KernelOption = (typeof kernelOptions)[number];

// "y", "m", "n" (also for "is not set"), or null when the config could not be read.
export type KernelOptionValue = "y" | "m" | "n" | null;

// The values of `options` in a kernel .config text; an option the text omits is "n".
export function parseKernelConfig(text: string, options: readonly string[] = kernelOptions): Record<string, KernelOptionValue> {
  const values: Record<string, KernelOptionValue> = Object.fromEntries(options.map((o) => [o, "n"]));
  for (const line of text.split("\n")) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m && m[1]! in values) values[m[1]!] = m[2] === "y" || m[2] === "m" ? m[2] : "n";
  }
  return values;
}

// The running kernel's build config text, from /proc/config.gz or /boot, or null.
export function readKernelConfigText(kernelRelease = release()): string | null {
  try {
    return gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    /* not built with IKCONFIG_PROC: try /boot */
  }
  try {
    return readFileSync(`/boot/config-${kernelRelease}`, "utf8");
  } catch {
    return null;
  }
}

export interface KernelFacts {
  release: string;
  // Null when no build config could be read.
  config: Record<KernelOption, KernelOptionValue> | null;
  // /proc/self/ns/time exists: the kernel has time namespaces, whatever the config says.
  timeNamespaceFile: boolean;
}

export function readKernelFacts(): KernelFacts {
  const text = readKernelConfigText();
  return {
    release: release(),
    config: text === null ? null : (parseKernelConfig(text) as Record<KernelOption, KernelOptionValue>),
    timeNamespaceFile: existsSync("/proc/self/ns/time"),
  };
}
