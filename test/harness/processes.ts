// What the tests ask of a process they did not start.
import { readFileSync } from "node:fs";

// Alive and not a zombie waiting for its parent.
export function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
  } catch {
    return false;
  }
}
