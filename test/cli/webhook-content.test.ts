// A webhook's filter and transformation from the CLI: set inline or from a file on create and
// update, removed with --no-…; `webhooks test` prints what the API's test answered; `sources
// rejections` lists what an ingress refused.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repeatedKey as cliRepeatedKey } from "../../cli/src/commands/common.js";
import { repeatedKey } from "../../src/domain/documents";
import { apiWebhook, cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const conn = (url: string) => ["--url", url, "--token", "t"];
const webhook = apiWebhook;
const FILTER = { body: { "data.conversation.channel.type": "phone" } };
const TRANSFORM = '{"text": "New SMS: " & data.body}';

describe("webhooks create and update: filter and transformation", () => {
  it("create sends --filter, --transform and --transform-headers, inline or from @file", async () => {
    const api = await fakeApi({ routes: { "POST /v1/webhooks": new Status(201, { ...webhook, secret: "whsec_x" }) } });
    const h = cliHome();
    writeFileSync(join(h.dir, "filter.json"), JSON.stringify(FILTER));
    writeFileSync(join(h.dir, "shape.jsonata"), TRANSFORM);
    const base = ["webhooks", "create", "--endpoint", "https://d.example/h", "--types", "message.*", ...conn(api.url)];
    const inline = await h.edgehook([...base, "--filter", JSON.stringify(FILTER), "--transform", TRANSFORM, "--transform-headers", '{"x-conversation":"data.conversation.uid"}']);
    expect(inline.code, inline.stderr).toBe(0);
    const files = await h.edgehook([...base, "--filter", "@filter.json", "--transform", "@shape.jsonata"]);
    expect(files.code, files.stderr).toBe(0);
    expect(api.seen[0]!.body).toMatchObject({ filter: FILTER, transform: TRANSFORM, transformHeaders: { "x-conversation": "data.conversation.uid" } });
    expect(api.seen[1]!.body).toMatchObject({ filter: FILTER, transform: TRANSFORM });
  });

  it("update sets them, or removes them with --no-filter, --no-transform and --no-transform-headers (the API's null)", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    const set = await h.edgehook(["webhooks", "update", "wh_1", "--filter", JSON.stringify(FILTER), "--transform", TRANSFORM, ...conn(api.url)]);
    expect(set.code, set.stderr).toBe(0);
    expect(api.seen[0]!.body).toEqual({ filter: FILTER, transform: TRANSFORM });
    const cleared = await h.edgehook(["webhooks", "update", "wh_1", "--no-filter", "--no-transform", "--no-transform-headers", ...conn(api.url)]);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(api.seen[1]!.body).toEqual({ filter: null, transform: null, transformHeaders: null });
  });

  it("update refuses an option with its removal (--filter … --no-filter), either way round, as --enable --disable: exit 2, nothing sent", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    for (const [args, said] of [
      [["--filter", JSON.stringify(FILTER), "--no-filter"], "option '--filter <json|@file>' cannot be used with option '--no-filter'"],
      [["--no-transform", "--transform", TRANSFORM], "option '--transform <expr|@file>' cannot be used with option '--no-transform'"],
      [["--transform-headers", "{}", "--endpoint", "https://d.example/h", "--no-transform-headers"], "option '--transform-headers <json|@file>' cannot be used with option '--no-transform-headers'"],
      [["--enable", "--disable"], "option '--enable' cannot be used with option '--disable'"],
    ] as const) {
      const r = await h.edgehook(["webhooks", "update", "wh_1", ...args, ...conn(api.url)]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toEqual([`error: ${said}`, "(add --help for usage)"]);
    }
    expect(api.seen).toEqual([]);
  });

  it("update --secret sends --previous-secret-valid-seconds with it (how long the old secret keeps signing)", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    const r = await h.edgehook(["webhooks", "update", "wh_1", "--secret", "whsec_bmV3", "--previous-secret-valid-seconds", "0", ...conn(api.url)]);
    expect(r.code, r.stderr).toBe(0);
    expect(api.seen[0]!.body).toEqual({ secret: "whsec_bmV3", previousSecretValidSeconds: 0 });
  });

  it("a filter that is no JSON object, or a file that cannot be read, exits 2 before anything is sent", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    writeFileSync(join(h.dir, "broken.json"), '{\n  "body.a":\n\n');
    for (const [args, why] of [
      [["--filter", "{nope"], "not JSON at line 1 column 2."],
      // An unexpected token JSON.parse says with no position (single quotes, a Python True) is placed all the same.
      [["--filter", `{"body.data.direction": 'inbound'}`], "not JSON at line 1 column 25."],
      [["--filter", '{\n  "body.ok": True\n}'], "not JSON at line 2 column 14."],
      // JSON that breaks off is placed just past its last character, inline or in a file (its last newline aside).
      [["--filter", '{"body":'], "not JSON at line 1 column 9 (it ends too soon)."],
      [["--filter", "@broken.json"], "not JSON at line 2 column 12 (it ends too soon)."],
      [["--filter", "[1]"], "not a JSON object."],
      [["--filter", "@missing.json"], "cannot read missing.json: ENOENT."],
      [["--transform", "@missing.jsonata"], "cannot read missing.jsonata: ENOENT."],
      [["--transform-headers", '"x"'], "not a JSON object."],
      // A number JSON.parse reads as Infinity would be sent again as null, a filter the API would store as meant.
      [["--filter", '{"body":{"data.n":1e400}}'], 'body["data.n"]: not a JSON value (a number out of range: beyond ±1.8e308'],
      [["--filter", '{"body":{"data.n":{"$in":[7,-1e400]}}}'], 'body["data.n"].$in[1]: not a JSON value (a number out of range'],
      [["--transform-headers", '{"x-n":1e999}'], '["x-n"]: not a JSON value (a number out of range'],
      // A key given twice would be sent once, the last (JSON.parse keeps it): the API's refusal never seen.
      [["--filter", '{"headers":{"x-github-event":"push","x-github-event":"release"}}'], 'headers["x-github-event"]: this key is given twice in one object (JSON would keep only the last): give it once.'],
      [["--filter", '{"body":{"a":1,"a":2}}'], "body.a: this key is given twice"],
      [["--transform-headers", '{"x-a":"1","x-b":"2","x-a":"3"}'], '["x-a"]: this key is given twice'],
    ] as const) {
      const r = await h.edgehook(["webhooks", "update", "wh_1", ...args, ...conn(api.url)]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain(`option '${args[0]} <`);
      expect(r.stderr, args.join(" ")).toContain(why);
    }
    expect(api.seen).toEqual([]);
  });

  it("finds a key given twice as the Worker does (its copy of the Worker's scan)", () => {
    const cases = [
      '{"a":1,"b":2}',
      '{"a":1,"a":2}',
      '{"a":1,"\\u0061":2}',
      '{"a":{"a":{"a":1}},"b":[{"a":1},{"a":1}]}',
      '{"x":[1,{"y":[[],{"z":1,"z":2}]}]}',
      '[{"a":1},{"b":{"c":1},"d":[],"b":2}]',
      '{"s":"\\",\\"s\\":","t":"{\\"u\\":1,\\"u\\":2}","s":0}',
      '{"":1,"":2}',
      ' { "k" : [ ] , "k" : { } } ',
      '"just text"',
      "[1,2,[3]]",
    ];
    const found = cases.map((c) => repeatedKey(c));
    expect(found).toEqual([null, ["a"], ["a"], null, ["x", 1, "y", 1, "z"], [1, "b"], ["s"], [""], ["k"], null, null]);
    expect(cases.map((c) => cliRepeatedKey(c))).toEqual(found);
  });

  it("scans a body nested as deep as 64 KiB allows in one pass, each copy (a path copied at each level took minutes and gigabytes)", () => {
    const depth = 32_000;
    const deep = `${"[".repeat(depth)}{"a":1,"a":2}${"]".repeat(depth)}`;
    const wide = `${"[".repeat(3_000)}${"0,".repeat(29_000)}{"b":[],"b":0}${"]".repeat(3_000)}`;
    for (const scan of [repeatedKey, cliRepeatedKey]) {
      expect(scan(deep)).toEqual([...Array<number>(depth).fill(0), "a"]);
      expect(scan(wide)).toEqual([...Array<number>(2_999).fill(0), 29_000, "b"]);
    }
  });

  it("a --transform-headers that is no JSON is refused without repeating it (a credential header's expression is a secret), saying where it fails", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    const secret = "sk_live_51HxDoNotPrintMe";
    const inline = `{"authorization": "'Bearer ${secret}'",}`;
    writeFileSync(join(h.dir, "headers.json"), `{\n  "x-conversation": "data.conversation.uid",\n  "authorization": "'Bearer ${secret}'"\n  "x-more": "1"\n}\n`);
    for (const [value, where] of [[inline, "line 1 column 55"], ["@headers.json", "line 4 column 3"]]) {
      for (const command of [["webhooks", "update", "wh_1"], ["webhooks", "create", "--endpoint", "https://d.example/h", "--types", "message.*"]]) {
        const r = await h.edgehook([...command, "--transform-headers", value, ...conn(api.url)]);
        expect(r.code, value).toBe(2);
        expect(r.stderr, value).toBe(`error: option '--transform-headers <json|@file>' is invalid: not JSON at ${where}.\n(add --help for usage)\n`);
        expect(r.stdout + r.stderr).not.toContain(secret);
      }
    }
    expect(api.seen).toEqual([]);
  });

  it("a file written with a byte-order mark first (as some editors save) is read without it", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    writeFileSync(join(h.dir, "filter.json"), `\uFEFF${JSON.stringify(FILTER)}`);
    writeFileSync(join(h.dir, "shape.jsonata"), `\uFEFF${TRANSFORM}`);
    const r = await h.edgehook(["webhooks", "update", "wh_1", "--filter", "@filter.json", "--transform", "@shape.jsonata", ...conn(api.url)]);
    expect(r.code, r.stderr).toBe(0);
    expect(api.seen[0]!.body).toEqual({ filter: FILTER, transform: TRANSFORM });
  });
});

describe("webhooks test", () => {
  const answer = {
    eventId: "evt_1",
    webhookUid: "wh_1",
    matched: false,
    checks: [
      { check: "eventTypes", passed: true, message: "message.received matches message.*" },
      { check: "owner", passed: true, message: "a catch-all" },
      { check: "sources", passed: true, message: "any source" },
      { check: "filter", passed: false, message: 'body.data.conversation.channel.type is "email\x1b[2J", not "phone"' },
    ],
    transformError: null,
    request: { url: "https://d.example/h", headers: { "content-type": "application/json", authorization: "<redacted>" }, body: '{"text":"New SMS: hi\u009b"}' },
  };

  it("sends the event id and prints the outcome, each check, and the request a delivery would POST, escaped", async () => {
    const api = await fakeApi({ routes: { "POST /v1/webhooks/wh_1/test": answer } });
    const h = cliHome();
    const r = await h.edgehook(["webhooks", "test", "wh_1", "--event", "evt_1", ...conn(api.url)]);
    expect(r.code, r.stderr).toBe(0);
    expect(api.seen[0]).toMatchObject({ method: "POST", path: "/v1/webhooks/wh_1/test", body: { eventId: "evt_1" } });
    expect(r.stdout).not.toMatch(CONTROL);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("not owed: filter fails");
    expect(lines.find((l) => l.startsWith("filter"))).toMatch(/^filter\s+FAIL\s+body\.data\.conversation\.channel\.type is "email\\x1b\[2J", not "phone"$/);
    expect(lines.find((l) => l.startsWith("eventTypes"))).toMatch(/^eventTypes\s+pass\s/);
    expect(r.stdout).toContain("POST https://d.example/h\ncontent-type: application/json\nauthorization: <redacted>\n\n{\"text\":\"New SMS: hi\\x9b\"}\n");
    expect(JSON.parse((await h.edgehook(["webhooks", "test", "wh_1", "--event", "evt_1", "--json", ...conn(api.url)])).stdout)).toEqual(answer);
  });

  it("names every check that fails in its headline, not the first alone", async () => {
    const two = { ...answer, checks: answer.checks.map((c) => (c.check === "eventTypes" ? { ...c, passed: false } : c)) };
    const three = { ...answer, checks: answer.checks.map((c) => (c.check === "owner" ? c : { ...c, passed: false })) };
    const a = await fakeApi({ routes: { "POST /v1/webhooks/wh_2/test": two, "POST /v1/webhooks/wh_3/test": three } });
    const h = cliHome();
    for (const [uid, said] of [["wh_2", "not owed: eventTypes and filter fail"], ["wh_3", "not owed: eventTypes, sources and filter fail"]]) {
      const r = await h.edgehook(["webhooks", "test", uid!, "--event", "evt_1", ...conn(a.url)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split("\n")[0]).toBe(said);
    }
  });

  it("says a delivery would be made, or why the transformation fails; without --event it exits 2", async () => {
    const owed = { ...answer, matched: true, checks: answer.checks.map((c) => ({ ...c, passed: true })) };
    const failing = { ...owed, transformError: "T2001: the $ operator needs numbers", request: null };
    const a = await fakeApi({ routes: { "POST /v1/webhooks/wh_1/test": owed, "POST /v1/webhooks/wh_2/test": failing } });
    const h = cliHome();
    const ok = await h.edgehook(["webhooks", "test", "wh_1", "--event", "evt_1", ...conn(a.url)]);
    expect(ok.stdout.split("\n")[0]).toBe("owed: a delivery would be made");
    const bad = await h.edgehook(["webhooks", "test", "wh_2", "--event", "evt_1", ...conn(a.url)]);
    expect(bad.code, bad.stderr).toBe(0);
    expect(bad.stdout).toContain("transformation fails: T2001: the $ operator needs numbers\n");
    expect(bad.stdout).not.toContain("POST ");
    expect((await h.edgehook(["webhooks", "test", "wh_1", ...conn(a.url)])).code).toBe(2);
    expect(a.seen).toHaveLength(2);
  });
});

describe("sources rejections", () => {
  it("prints the counts by reason, then the latest refused requests, escaped; --limit is passed on; an unknown source exits 1", async () => {
    const answer = {
      sourceId: "podium",
      summary: [{ reason: "invalid_signature", thisHour: 2, lastDay: 5, lastAt: "2026-11-30T10:00:00.000Z" }],
      recent: [
        { at: "2026-11-30T10:00:00.000Z", reason: "invalid_signature", requested: "podium", client: "203.0.113.9", userAgent: "curl/8\x1b[2K", headerNames: ["content-type", "podium-signature"] },
      ],
    };
    const api = await fakeApi({
      routes: {
        "GET /v1/sources/podium/rejections": answer,
        "GET /v1/sources/nope/rejections": new Status(404, { error: { code: "not_found", message: 'No source "nope".' } }),
      },
    });
    const h = cliHome();
    const r = await h.edgehook(["sources", "rejections", "podium", "--limit", "5", ...conn(api.url)]);
    expect(r.code, r.stderr).toBe(0);
    expect(new URLSearchParams(api.seen[0]!.query).get("limit")).toBe("5");
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stdout).toMatch(/invalid_signature\s+2\s+5\s+2026-11-30T10:00:00\.000Z/);
    expect(r.stdout).toMatch(/2026-11-30T10:00:00\.000Z\s+invalid_signature\s+podium\s+203\.0\.113\.9\s+curl\/8\\x1b\[2K\s+content-type,podium-signature/);
    expect(JSON.parse((await h.edgehook(["sources", "rejections", "podium", "--json", ...conn(api.url)])).stdout)).toEqual(answer);
    const missing = await h.edgehook(["sources", "rejections", "nope", ...conn(api.url)]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error 404 not_found: No source "nope".\n');
  });
});

describe("webhooks create and update: when it counts as failing and is disabled automatically", () => {
  it("create sends --failing-after-attempts and --auto-disable-after-minutes; update sets them, never as the API's null", async () => {
    const api = await fakeApi({ routes: { "POST /v1/webhooks": new Status(201, { ...webhook, secret: "whsec_x" }), "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    const created = await h.edgehook(["webhooks", "create", "--endpoint", "https://d.example/h", "--types", "message.*", "--failing-after-attempts", "3", "--auto-disable-after-minutes", "60", ...conn(api.url)]);
    expect(created.code, created.stderr).toBe(0);
    expect(api.seen[0]!.body).toMatchObject({ failingAfterAttempts: 3, autoDisableAfterMinutes: 60 });
    const never = await h.edgehook(["webhooks", "update", "wh_1", "--auto-disable-after-minutes", "never", ...conn(api.url)]);
    expect(never.code, never.stderr).toBe(0);
    expect(api.seen[1]!.body).toEqual({ autoDisableAfterMinutes: null });
    const both = await h.edgehook(["webhooks", "update", "wh_1", "--failing-after-attempts", "25", "--auto-disable-after-minutes", "2880", ...conn(api.url)]);
    expect(both.code, both.stderr).toBe(0);
    expect(api.seen[2]!.body).toEqual({ failingAfterAttempts: 25, autoDisableAfterMinutes: 2880 });
  });

  it("a value that is no whole number (nor never) exits 2 before anything is sent", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    for (const args of [["--auto-disable-after-minutes", "soon"], ["--auto-disable-after-minutes", "1.5"], ["--failing-after-attempts", "never"]]) {
      const r = await h.edgehook(["webhooks", "update", "wh_1", ...args, ...conn(api.url)]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain(`option '${args[0]} <`);
    }
    expect(api.seen).toEqual([]);
  });

  it("a whole number past what a number holds exactly is said to be too large, not to be no whole number", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook, "GET /v1/events": { data: [], nextCursor: null } } });
    const h = cliHome();
    const huge = "99999999999999999999";
    for (const args of [["webhooks", "update", "wh_1", "--timeout-ms", huge], ["webhooks", "update", "wh_1", "--failing-after-attempts", huge], ["events", "list", "--limit", huge]]) {
      const r = await h.edgehook([...args, ...conn(api.url)]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain(`"${huge}" is out of range (too large)`);
      expect(r.stderr, args.join(" ")).not.toContain("whole number");
    }
    expect(api.seen).toEqual([]);
  });

  it("0 minutes or a rate of 0 exits 2 naming never / none, the words for no automatic disable / no limit", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": webhook } });
    const h = cliHome();
    for (const [flag, word] of [["--auto-disable-after-minutes", "never"], ["--rate-limit", "none"]] as const) {
      const r = await h.edgehook(["webhooks", "update", "wh_1", flag, "0", ...conn(api.url)]);
      expect(r.code, flag).toBe(2);
      expect(r.stderr, flag).toContain(`or ${word} `);
    }
    expect(api.seen).toEqual([]);
  });
});

describe("webhooks create and update: what the API says of what it saved", () => {
  const unseen = { code: "unseen_event_type", eventType: "bogus.type", message: 'No source of this webhook has received "bogus.type" yet, and none declares it. It is saved as given and matches once such events arrive.' };

  it("prints the API's warnings on stderr (a type no source has sent may never fire), and a catch-all as such", async () => {
    const api = await fakeApi({
      routes: {
        "POST /v1/webhooks": new Status(201, { ...webhook, eventTypes: ["bogus.type"], secret: "whsec_x", warnings: [unseen] }),
        "PATCH /v1/webhooks/wh_1": { ...webhook, eventTypes: ["bogus.type"], warnings: [unseen] },
      },
    });
    const h = cliHome();
    const created = await h.edgehook(["webhooks", "create", "--endpoint", "https://d.example/h", "--types", "bogus.type", ...conn(api.url)]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain(`warning: ${unseen.message}`);
    expect(created.stdout).toMatch(/wh_1 .* catch-all /);
    const updated = await h.edgehook(["webhooks", "update", "wh_1", "--types", "bogus.type", ...conn(api.url)]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stderr).toContain(`warning: ${unseen.message}`);
  });

  it("with --json, the answer as it came, warnings inside, and nothing on stderr", async () => {
    const api = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": { ...webhook, warnings: [unseen] } } });
    const h = cliHome();
    const r = await h.edgehook(["webhooks", "update", "wh_1", "--types", "bogus.type", "--json", ...conn(api.url)]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ warnings: [unseen] });
    expect(r.stderr).toBe("");
  });
});
