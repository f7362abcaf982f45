import assert from "node:assert/strict";
import { test } from "node:test";
import { CkptError, ExitCode } from "../errors.ts";
import { rmExitCode, type Removal } from "./rm.ts";

const failed = (name: string, code: ExitCode): Removal => ({ name, outcome: "failed", error: new CkptError(code, `${name} failed`) });

test("rm exits 0 when every name was removed or, with -f, was missing", () => {
  assert.equal(rmExitCode([{ name: "a", outcome: "removed" }, { name: "b", outcome: "missing" }]), ExitCode.ok);
  assert.equal(rmExitCode([]), ExitCode.ok);
});

test("rm exits with the code of the first name that failed, in the order given", () => {
  assert.equal(rmExitCode([{ name: "a", outcome: "removed" }, failed("b", ExitCode.notFound), failed("c", ExitCode.conflict)]), ExitCode.notFound);
  assert.equal(rmExitCode([failed("c", ExitCode.conflict), failed("b", ExitCode.notFound)]), ExitCode.conflict);
});
