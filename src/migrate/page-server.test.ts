import assert from "node:assert/strict";
import { test } from "node:test";
import { CkptError } from "../errors.ts";
import { DEFAULT_PAGE_SERVER_PORT, formatPageServer, LAZY_PIPE_BYTES, lazyPipeProblem, parsePageServer } from "./page-server.ts";

test("a page server is an address with an optional port", () => {
  assert.deepEqual(parsePageServer("192.0.2.1:9000"), { address: "192.0.2.1", port: 9000 });
  assert.deepEqual(parsePageServer("192.0.2.1"), { address: "192.0.2.1", port: DEFAULT_PAGE_SERVER_PORT });
  assert.deepEqual(parsePageServer("[2001:db8::1]:9000"), { address: "2001:db8::1", port: 9000 });
  assert.deepEqual(parsePageServer("2001:db8::1"), { address: "2001:db8::1", port: DEFAULT_PAGE_SERVER_PORT });
  assert.equal(formatPageServer({ address: "2001:db8::1", port: 9000 }), "[2001:db8::1]:9000");
  assert.equal(formatPageServer(parsePageServer("192.0.2.1")), `192.0.2.1:${DEFAULT_PAGE_SERVER_PORT}`);
});

test("host names, wildcards and bad ports are refused with the reason", () => {
  const reason = (text: string) => {
    try {
      parsePageServer(text);
    } catch (error) {
      assert.ok(error instanceof CkptError);
      return error.message;
    }
    return "accepted";
  };
  assert.match(reason("source.example:9000"), /not an IP address/);
  assert.match(reason("0.0.0.0:9000"), /concrete address/);
  assert.match(reason("192.0.2.1:0"), /1 to 65535/);
  assert.match(reason("192.0.2.1:70000"), /1 to 65535/);
  assert.match(reason("192.0.2.1:http"), /1 to 65535/);
});

test("CRIU's 4 MiB page pipes need fs.pipe-max-size or CAP_SYS_RESOURCE", () => {
  assert.match(lazyPipeProblem(1048576, false) ?? "", /fs.pipe-max-size is 1048576 bytes/);
  assert.equal(lazyPipeProblem(LAZY_PIPE_BYTES, false), null);
  assert.equal(lazyPipeProblem(1048576, true), null);
});
