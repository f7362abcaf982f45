import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { booleanSetting, describeOption, optionKey, parseCriuConfig, renderCriuConfig } from "./criu-config.ts";

const names = (text: string) => parseCriuConfig(text, "f.conf").options.map((o) => [o.name, o.value]);

describe("parseCriuConfig", () => {
  test("one option a line, with or without a value, comments and blank lines skipped", () => {
    const text = "# policy\n\ntcp-established\n  file-locks   # trailing comment\nghost-limit 1M\nlog-file mine.log # why\n";
    assert.deepEqual(names(text), [
      ["tcp-established", null],
      ["file-locks", null],
      ["ghost-limit", "1M"],
      ["log-file", "mine.log"],
    ]);
    assert.deepEqual(parseCriuConfig(text, "f.conf").options[1]!.origin, { file: "f.conf", line: 4 });
  });

  test("a leading -- and name=value, as copied from a command line, mean the same", () => {
    assert.deepEqual(names("--tcp-close\n--log-file=x.log\nmanage-cgroups=full\n"), [
      ["tcp-close", null],
      ["log-file", "x.log"],
      ["manage-cgroups", "full"],
    ]);
  });

  test("a tab separates a value too; CRLF line ends are read", () => {
    assert.deepEqual(names("ghost-limit\t2M\r\ntcp-close\r\n"), [
      ["ghost-limit", "2M"],
      ["tcp-close", null],
    ]);
  });

  test("quoted values keep white space; \\\" is a literal quote; \"\" is an empty value", () => {
    assert.deepEqual(names('work-dir "/srv/my \\"work\\" dir"\nlsm-profile ""\nroot "/a b" # c\n'), [
      ["work-dir", '/srv/my "work" dir'],
      ["lsm-profile", ""],
      ["root", "/a b"],
    ]);
  });

  test("an unquoted value is cut at a #, as CRIU cuts it", () => {
    assert.deepEqual(names("log-file a.log#b\n"), [["log-file", "a.log"]]);
  });

  test("lines CRIU would refuse are problems, not options", () => {
    const parsed = parseCriuConfig('root "/unclosed\nlog-file a b\nroot "/x" y\nlsm-profile "a#b"\n!bad\nlog-file=a b\n', "f.conf");
    assert.deepEqual(parsed.options, []);
    assert.deepEqual(
      parsed.problems.map((p) => [p.line, p.reason]),
      [
        [1, "a quoted value without its closing quote"],
        [2, "more than one value (quote a value that holds white space)"],
        [3, "more than one value"],
        [4, "a `#` inside a value (CRIU reads it as a comment)"],
        [5, '"!bad" is not an option name'],
        [6, "a value after name=value"],
      ],
    );
    assert.equal(parsed.problems[1]!.text, "log-file a b");
  });
});

describe("renderCriuConfig", () => {
  test("canonical lines: no --, values quoted only when they must be", () => {
    const text = renderCriuConfig([
      { name: "tcp-close", value: null },
      { name: "log-file", value: "x.log" },
      { name: "work-dir", value: '/a "b" c' },
      { name: "lsm-profile", value: "" },
    ]);
    assert.equal(text, 'tcp-close\nlog-file x.log\nwork-dir "/a \\"b\\" c"\nlsm-profile ""\n');
  });

  test("reads back as the same options", () => {
    const options = [
      { name: "join-ns", value: "time:/proc/1/ns/time" },
      { name: "root", value: "/with space/and\ttab" },
      { name: "x", value: 'q"uote' },
      { name: "file-locks", value: null },
    ];
    assert.deepEqual(names(renderCriuConfig(options)), options.map((o) => [o.name, o.value]));
  });

  test("refuses values CRIU cannot be given", () => {
    assert.throws(() => renderCriuConfig([{ name: "log-file", value: "a#b" }]), /cannot be written/);
    assert.throws(() => renderCriuConfig([{ name: "root", value: "a b\\" }]), /cannot be quoted/);
    assert.throws(() => renderCriuConfig([{ name: "root", value: "a\nb" }]), /cannot be written/);
  });

  test("nothing renders as an empty file", () => {
    assert.equal(renderCriuConfig([]), "");
  });
});

describe("optionKey, booleanSetting, describeOption", () => {
  test("no-X sets what X sets; join-ns is keyed by its namespace; no-default-config is itself", () => {
    assert.equal(optionKey({ name: "no-file-locks", value: null }), "file-locks");
    assert.equal(optionKey({ name: "file-locks", value: null }), "file-locks");
    assert.equal(optionKey({ name: "join-ns", value: "time:/p" }), "join-ns time");
    assert.equal(optionKey({ name: "join-ns", value: "net:/q" }), "join-ns net");
    assert.equal(optionKey({ name: "no-default-config", value: null }), "no-default-config");
  });

  test("the last setting of a boolean option wins; none is undefined", () => {
    assert.equal(booleanSetting([{ name: "file-locks" }, { name: "no-file-locks" }], "file-locks"), false);
    assert.equal(booleanSetting([{ name: "no-file-locks" }, { name: "file-locks" }], "file-locks"), true);
    assert.equal(booleanSetting([{ name: "tcp-close" }], "file-locks"), undefined);
  });

  test("options read as they are written", () => {
    assert.equal(describeOption({ name: "tcp-close", value: null }), "tcp-close");
    assert.equal(describeOption({ name: "log-file", value: "a.log" }), "log-file a.log");
    assert.equal(describeOption({ name: "lsm-profile", value: "" }), 'lsm-profile ""');
  });
});
