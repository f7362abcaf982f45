// How a CkptError reads: on a terminal (message, evidence, hint) and in JSON. The
// top-level handler renders the error that ends a command; a command that goes on past
// one failure per item (rm of several names) renders each with the same words.
import type { CkptError } from "../errors.ts";

export function errorLines(error: CkptError): string[] {
  const lines = [`ckpt: error: ${error.message}`, ...error.evidence.map((l) => `  ${l}`)];
  if (error.hint) lines.push(`hint: ${error.hint}`);
  return lines;
}

export function errorJson(error: CkptError): { message: string; exitCode: number; hint: string | null; evidence: readonly string[] } {
  return { message: error.message, exitCode: error.exitCode, hint: error.hint ?? null, evidence: error.evidence };
}
