// Container names and ids.
import { randomBytes } from "node:crypto";
import { CkptError, ExitCode } from "../errors.ts";

// The same rule podman applies to names.
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

// Whether `name` is a name ckpt would give a container: also what keeps a name read from a
// file (the recovery journal, a directory listing) from reaching outside the store.
export function isContainerName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

export function validateContainerName(name: string): string {
  if (!isContainerName(name)) {
    throw new CkptError(ExitCode.usage, `invalid container name "${name}"`, {
      hint: "a name starts with a letter or digit and continues with letters, digits, '_', '.' or '-' (at most 128 characters)",
    });
  }
  return name;
}

// A 64-hex-digit id, as podman and CRI-O use.
export function newContainerId(): string {
  return randomBytes(32).toString("hex");
}

export function generatedName(id: string): string {
  return `ckpt-${id.slice(0, 8)}`;
}
