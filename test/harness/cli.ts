// Runs the built ckpt CLI (bin/ckpt -> dist/) as a user would.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { execa, type Options, type Result } from "execa";

export const ckptBin = fileURLToPath(new URL("../../bin/ckpt", import.meta.url));
const distMain = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

// `ckpt args...` without throwing on a non-zero exit; fails clearly when not built.
export async function runCkpt(args: string[], options: Options = {}): Promise<Result> {
  if (!existsSync(distMain)) throw new Error("dist/ is missing: run `npm run build` before the integration tests");
  return execa(ckptBin, args, { reject: false, env: { CKPT_NODE: process.execPath }, ...options }) as Promise<Result>;
}
