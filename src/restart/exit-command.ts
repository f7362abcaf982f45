// How ckpt runs itself for `run --restart`: the exit command conmon runs when the
// container exits, and the detached waiter that exit command starts (exit-handler.ts).
// By absolute path, this Node.js and this ckpt: conmon runs its exit command with execv.
import { resolve } from "node:path";

export const EXIT_HANDLER_COMMAND = "__container-exited";
export const WAITER_COMMAND = "__restart-wait";

export function exitHandlerArgv(root: string, name: string): string[] {
  return [process.execPath, resolve(process.argv[1]!), "--root", resolve(root), EXIT_HANDLER_COMMAND, name];
}

export function waiterArgv(root: string, name: string, generation: number): string[] {
  return [process.execPath, resolve(process.argv[1]!), "--root", resolve(root), WAITER_COMMAND, name, String(generation)];
}
