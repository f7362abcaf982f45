import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { ExitCode } from "../errors.ts";
import { endQuietlyOnBrokenPipe, onOutputClosed, outputClosed } from "./broken-pipe.ts";

const epipe = () => Object.assign(new Error("write EPIPE"), { code: "EPIPE" });

test("a closed output runs every release once, then ends with 141; later write errors are ignored", async () => {
  const stdout = new EventEmitter() as unknown as NodeJS.WritableStream;
  const stderr = new EventEmitter() as unknown as NodeJS.WritableStream;
  const events: string[] = [];
  let exited!: (code: number) => void;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  endQuietlyOnBrokenPipe([stdout, stderr], (code) => {
    events.push(`exit ${code}`);
    exited(code);
  });
  const undo = onOutputClosed(async () => {
    events.push("kept release");
  });
  onOutputClosed(async () => {
    events.push("dropped release");
  })();
  assert.throws(() => stdout.emit("error", Object.assign(new Error("EIO"), { code: "EIO" })), /EIO/, "other errors are not swallowed");
  assert.equal(outputClosed(), false);
  stdout.emit("error", epipe());
  assert.equal(outputClosed(), true);
  stderr.emit("error", epipe());
  stdout.emit("error", Object.assign(new Error("destroyed"), { code: "ERR_STREAM_DESTROYED" }));
  assert.equal(await exit, ExitCode.outputClosed);
  assert.deepEqual(events, ["kept release", "exit 141"]);
  undo();
});
