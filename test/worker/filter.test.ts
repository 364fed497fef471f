import fc from "fast-check";
import { RE2JS } from "re2js";
import { describe, expect, it, vi } from "vitest";
import { explainMismatch, FILTER_LIMITS, filterBudget, type Filter, matchesFilter, regexInstructions, regexWeight, validateFilter } from "../../src/routing/filter";
import { regexSizeBound } from "../../src/domain/regex-size";
import openapiDoc from "../../cli/src/openapi.json";
import filtersDoc from "../../docs/filters-and-transforms.md?raw";
import messageReceived from "../fixtures/message.received.json?raw";
import contactSample from "../../cli/src/samples/contact.json?raw";

interface PodiumMessage {
  data: { conversation: { channel: { type: string } } };
  metadata: { eventType: string };
}
const podiumMessage: PodiumMessage = JSON.parse(messageReceived);

function compile(doc: unknown): Filter {
  const r = validateFilter(doc);
  if (!r.ok) throw new Error(`invalid filter: ${JSON.stringify(r.issues)}`);
  return r.filter;
}

function matches(doc: unknown, body: unknown, headers: Record<string, string> = {}): boolean {
  return matchesFilter(compile(doc), { body, headers });
}

function issuesOf(doc: unknown): { path: string; message: string }[] {
  const r = validateFilter(doc);
  if (r.ok) throw new Error("expected the filter to be refused");
  return r.issues;
}

const clone = <T>(v: T): T => structuredClone(v);

describe("provider examples", () => {
  const smsOnly = {
    body: { metadata: { eventType: "message.received" }, data: { conversation: { channel: { type: "sms" } } } },
  };

  it("Podium: message.received on the sms channel only", () => {
    const sms = clone(podiumMessage);
    sms.data.conversation.channel.type = "sms";
    expect(matches(smsOnly, sms)).toBe(true);
    expect(matches(smsOnly, podiumMessage)).toBe(false); // the fixture's channel is "phone"
    const sent = clone(sms);
    sent.metadata.eventType = "message.sent";
    expect(matches(smsOnly, sent)).toBe(false);
    // The same filter with dotted paths.
    const dotted = { body: { "metadata.eventType": "message.received", "data.conversation.channel.type": "sms" } };
    expect(matches(dotted, sms)).toBe(true);
    expect(matches(dotted, podiumMessage)).toBe(false);
  });

  it("Stripe: invoices over $500 (amount_due in cents)", () => {
    const filter = { body: { type: { $startsWith: "invoice." }, data: { object: { amount_due: { $gt: 50000 } } } } };
    const invoice = (amount_due: unknown, type = "invoice.finalized") => ({
      id: "evt_1",
      type,
      data: { object: { id: "in_1", object: "invoice", amount_due, currency: "usd" } },
    });
    expect(matches(filter, invoice(50001))).toBe(true);
    expect(matches(filter, invoice(125000))).toBe(true);
    expect(matches(filter, invoice(50000))).toBe(false);
    expect(matches(filter, invoice("75000"))).toBe(false); // a string is not a number
    expect(matches(filter, invoice(90000, "charge.succeeded"))).toBe(false);
    expect(matches(filter, { type: "invoice.finalized", data: { object: {} } })).toBe(false);
  });

  it("Stripe: a price among the invoice lines (objects inside an array)", () => {
    const filter = { body: { "data.object.lines.data": { price: { id: "price_gold" } } } };
    const lines = (...ids: string[]) => ({ data: { object: { lines: { data: ids.map((id) => ({ price: { id } })) } } } });
    expect(matches(filter, lines("price_basic", "price_gold"))).toBe(true);
    expect(matches(filter, lines("price_basic"))).toBe(false);
    expect(matches(filter, lines())).toBe(false);
  });

  it("objects inside an array: one element holds an object pattern's fields together (as Hookdeck matches), and $and lets each find its own", () => {
    const lines = (...ls: [string, number][]) => ({ data: { object: { lines: { data: ls.map(([id, quantity]) => ({ price: { id }, quantity })) } } } });
    const nested = { body: { "data.object.lines.data": { "price.id": "price_gold", quantity: { $gt: 5 } } } };
    const dotted = { body: { "data.object.lines.data.price.id": "price_gold", "data.object.lines.data.quantity": { $gt: 5 } } };
    const apart = { body: { "data.object.lines.data": { $and: [{ "price.id": "price_gold" }, { quantity: { $gt: 5 } }] } } };
    for (const filter of [nested, dotted]) {
      expect(matches(filter, lines(["price_gold", 9])), JSON.stringify(filter)).toBe(true);
      expect(matches(filter, lines(["price_basic", 9], ["price_gold", 6]))).toBe(true);
      expect(matches(filter, lines(["price_gold", 1], ["price_basic", 9]))).toBe(false);
    }
    expect(matches(apart, lines(["price_gold", 1], ["price_basic", 9]))).toBe(true);
    expect(matches(apart, lines(["price_gold", 1], ["price_basic", 2]))).toBe(false);
    expect(explainMismatch(compile(nested), { body: lines(["price_gold", 1], ["price_basic", 9]), headers: {} })).toBe(
      "no element of body.data.object.lines.data has a matching price and quantity together",
    );
    expect(filtersDoc).toContain("The fields of one object\n  pattern hold for the same element");
  });

  it("an object pattern over an array of objects matches as some element matching all its fields (random arrays)", () => {
    const element = fc.record({ a: fc.integer({ min: 0, max: 2 }), b: fc.integer({ min: 0, max: 2 }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.array(element, { maxLength: 5 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), (xs, a, b) => {
        const expected = xs.length === 0 ? false : xs.some((e) => e.a === a && e.b === b);
        const body = { list: xs };
        expect(matches({ body: { list: { a, b } } }, body)).toBe(expected);
        expect(matches({ body: { "list.a": a, "list.b": b } }, body)).toBe(expected);
        expect(matches({ body: { list: { a: { $neq: a }, b } } }, body)).toBe(xs.some((e) => e.a !== a && e.b === b));
      }),
      { numRuns: 300 },
    );
  });

  it("the reason a $or fails gives each alternative's, with the event's value there", () => {
    const filter = compile({ $or: [{ "body.type": "review.created" }, { body: { "data.rating": { $lte: 2 } } }] });
    expect(explainMismatch(filter, { body: { type: "message.received", data: { rating: 5 } }, headers: {} })).toBe(
      'none of the $or alternatives matches the event ($or[0]: body.type is "message.received", not "review.created"; $or[1]: body.data.rating is 5, not <= 2)',
    );
    // Inside a field, the place is the field's.
    const inside = compile({ body: { "data.channel": { $or: [{ $eq: "sms" }, { $startsWith: "email" }] } } });
    expect(explainMismatch(inside, { body: { data: { channel: "voice" } }, headers: {} })).toBe(
      'none of the $or alternatives matches body.data.channel ($or[0]: body.data.channel is "voice", not "sms"; $or[1]: body.data.channel is "voice", which does not start with "email")',
    );
    expect(explainMismatch(inside, { body: { data: { channel: "email-2" } }, headers: {} })).toBeNull();
  });

  it("compares numbers as JSON reads them, 64-bit floats: an integer beyond 2^53 equals its neighbours, as the docs say; strings compare exactly", () => {
    // Parsed from text, as the API reads a filter and the event's body.
    const big = JSON.parse('{"body": {"data.n": {"$eq": 9007199254740993}}}');
    expect(matches(big, JSON.parse('{"data": {"n": 9007199254740992}}'))).toBe(true);
    expect(matches({ body: { "data.n": "9007199254740993" } }, { data: { n: "9007199254740992" } })).toBe(false);
    expect(matches({ body: { "data.n": "9007199254740993" } }, { data: { n: "9007199254740993" } })).toBe(true);
    expect(filtersDoc).toContain("so it may compare equal to its neighbours (`9007199254740993` matches\n  `9007199254740992`). Match such ids as strings");
  });

  it("the reason a $neq or $nin fails names the operator written, with the event's value there", () => {
    const tags = { body: { data: { tags: ["vip", "new"], status: "failed" } }, headers: {} };
    expect(explainMismatch(compile({ body: { "data.tags": { $nin: ["vip", "draft"] } } }), tags)).toBe('body.data.tags is ["vip","new"], which $nin excludes');
    expect(explainMismatch(compile({ body: { "data.status": { $neq: "failed" } } }), tags)).toBe('body.data.status is "failed", which $neq excludes');
    // $not written is $not.
    expect(explainMismatch(compile({ body: { "data.status": { $not: { $eq: "failed" } } } }), tags)).toBe("body.data.status matches what $not excludes");
  });

  it("a reason cuts a long string value short inside its quotes", () => {
    const filter = compile({ body: { s: "wanted" } });
    const reason = explainMismatch(filter, { body: { s: "a".repeat(200) }, headers: {} });
    expect(reason).toBe(`body.s is "${"a".repeat(76)}…", not "wanted"`);
  });

  it("a reason cuts a value at a whole character: never half an emoji (a lone surrogate)", () => {
    const filter = compile({ body: { t: { $or: [{ $regex: "\\p{Cs}" }] } } });
    // The array's JSON text is cut after 77 units: `["` and then the 76th unit, half of the 38th emoji.
    const reason = explainMismatch(filter, { body: { t: ["😀".repeat(40), "x"] }, headers: {} }) ?? "";
    // (Checked first: a lone surrogate in a failure's message breaks the test runner's report of it.)
    expect(reason.isWellFormed()).toBe(true);
    expect(reason).toBe(`none of the $or alternatives matches body.t ($or[0]: body.t is ["${"😀".repeat(37)}…, which does not match /\\p{Cs}/)`);
    // A string inside its quotes, likewise: 76 units end with half of the 38th emoji.
    const inQuotes = explainMismatch(compile({ body: { s: "wanted" } }), { body: { s: "x" + "😀".repeat(50) }, headers: {} }) ?? "";
    expect(inQuotes).not.toContain("\\ud83d");
    expect(inQuotes).toBe(`body.s is "x${"😀".repeat(37)}…", not "wanted"`);
  });

  describe("a reason shows a value whole when its JSON is at most 80 units, else cut to 77 and an ellipsis", () => {
    const wanted = compile({ body: { s: "wanted" } });
    const reason = (s: unknown) => explainMismatch(wanted, { body: { s }, headers: {} });

    it("counts a string's JSON, escapes and all: no ellipsis on a string shown whole", () => {
      // 80 units of JSON, whole; 82 (75 characters), cut where its 77th unit ends an escape.
      expect(reason(`${"a".repeat(70)}${"\n".repeat(4)}`)).toBe(`body.s is "${"a".repeat(70)}${"\\n".repeat(4)}", not "wanted"`);
      expect(reason(`${"a".repeat(70)}${"\n".repeat(5)}`)).toBe(`body.s is "${"a".repeat(70)}${"\\n".repeat(3)}…", not "wanted"`);
      expect(reason('"'.repeat(76))).toBe(`body.s is "${'\\"'.repeat(38)}…", not "wanted"`);
      // The filter's own value likewise.
      const tabs = compile({ body: { s: `${"a".repeat(70)}${"\t".repeat(5)}` } });
      expect(explainMismatch(tabs, { body: { s: "b" }, headers: {} })).toBe(`body.s is "b", not "${"a".repeat(70)}${"\\t".repeat(3)}…"`);
    });

    it("cuts an array's JSON at a whole escape, never half a \\n or \\u0001", () => {
      // `["` and 37 escapes are 76 units; the 77th would be half of the 38th.
      expect(reason(["\n".repeat(60)])).toBe(`body.s is ["${"\\n".repeat(37)}…, not "wanted"`);
      expect(reason(["\u0001".repeat(20)])).toBe(`body.s is ["${"\\u0001".repeat(12)}…, not "wanted"`);
    });

    it("keeps a character of several code points (a family, a ZWJ sequence of 8 units) whole or not at all", () => {
      expect(reason(`${"a".repeat(74)}👨‍👩‍👧`)).toBe(`body.s is "${"a".repeat(74)}…", not "wanted"`);
    });
  });

  it("the reason a $regex fails on a string over its length bound says so, not that the pattern does not match", () => {
    const filter = compile({ body: { "data.body": { $regex: "a" } } });
    const long = "a".repeat(FILTER_LIMITS.regexInput + 1);
    expect(matchesFilter(filter, { body: { data: { body: long } }, headers: {} })).toBe(false);
    expect(explainMismatch(filter, { body: { data: { body: long } }, headers: {} })).toBe(
      `body.data.body is a string of ${FILTER_LIMITS.regexInput + 1} characters, and $regex never matches one over ${FILTER_LIMITS.regexInput}`,
    );
    expect(explainMismatch(filter, { body: { data: { body: "bbb" } }, headers: {} })).toBe('body.data.body is "bbb", which does not match /a/');
  });

  it("the reason a $regex fails for want of the event's $regex budget says so, not that the pattern does not match", () => {
    // 16,000 characters at a program size of about 1,000 cost more than the whole budget: the string matches, but is never tested.
    const filter = compile({ body: { s: { $regex: "[a-z]{1000}" } } });
    const long = "a".repeat(FILTER_LIMITS.regexInput - 384);
    expect(matchesFilter(filter, { body: { s: long }, headers: {} })).toBe(false);
    expect(explainMismatch(filter, { body: { s: long }, headers: {} })).toBe(
      `body.s is a string of ${long.length} characters, which /[a-z]{1000}/ would cost more to test than is left of the event's $regex work budget, so it does not match`,
    );
    // Tested and failed, the budget left is no reason, even when too little is left to test it again.
    const exact = compile({ body: { s: { $regex: "^[a-z]{1000}$" } } });
    expect(explainMismatch(exact, { body: { s: "a".repeat(1001) }, headers: {} })).toMatch(/, which does not match \/\^\[a-z\]\{1000\}\$\/$/);
  });

  it("a header's value is a string: a filter comparing one with anything else is refused, since it could never match", () => {
    const headers = { "podium-timestamp": "1764698400000" };
    expect(matches({ headers: { "podium-timestamp": { $gt: "1700000000000" } } }, {}, headers)).toBe(true);
    expect(matches({ "headers.Podium-Timestamp": { $in: ["1764698400000"] } }, {}, headers)).toBe(true);
    expect(issuesOf({ headers: { "podium-timestamp": { $gt: 1700000000000 } } })).toEqual([
      { path: '$.headers["podium-timestamp"].$gt', message: `a header's value is a string: compare it with one, e.g. "1700000000000"` },
    ]);
    expect(issuesOf({ headers: { "podium-timestamp": 1764698400000 } })[0]?.path).toBe('$.headers["podium-timestamp"]');
    expect(issuesOf({ "headers.x-flag": { $or: [{ $eq: true }, { $neq: null }] } }).map((i) => i.path)).toEqual([
      '$["headers.x-flag"].$or[0].$eq',
      '$["headers.x-flag"].$or[1].$neq',
    ]);
    expect(issuesOf({ headers: { "x-n": { $nin: ["1", 2] } } })[0]?.path).toBe('$.headers["x-n"].$nin[1]');
    // An object or array pattern there could never match a string either (as the docs say): refused, once, where it starts.
    expect(issuesOf({ headers: { "x-github-event": { push: true } } })).toEqual([
      { path: '$.headers["x-github-event"].push', message: `a header's value is a string, with no field "push" under it: compare the header with a string` },
    ]);
    expect(issuesOf({ "headers.x-github-event.ref.name": "main" }).map((i) => i.path)).toEqual(['$["headers.x-github-event.ref.name"]']);
    expect(issuesOf({ headers: { "x-a": { $not: { b: { c: 1 } } } } }).map((i) => i.path)).toEqual(['$.headers["x-a"].$not.b']);
    expect(issuesOf({ headers: { "x-github-event": ["push", "release"] } })).toEqual([
      { path: '$.headers["x-github-event"]', message: "a header's value is a string, not an array: compare it with a string, or with several in $in" },
    ]);
    expect(matches({ headers: { "x-github-event": { $in: ["push", "release"] } } }, {}, { "x-github-event": "push" })).toBe(true);
    // One stored before the check keeps its meaning: read, it compiles as it did.
    const stored = validateFilter({ headers: { "podium-timestamp": { $neq: 5 } } }, { given: false });
    expect(stored.ok && matchesFilter(stored.filter, { body: {}, headers })).toBe(true);
    const storedObject = validateFilter({ headers: { "podium-timestamp": { a: { $exist: false } } } }, { given: false });
    expect(storedObject.ok && matchesFilter(storedObject.filter, { body: {}, headers })).toBe(true);
    // The body is JSON: numbers there stay numbers.
    expect(matches({ body: { n: { $gt: 1 } } }, { n: 2 })).toBe(true);
    expect(filtersDoc).toContain("A header's value\nis a string, so compare it with strings");
  });

  it("GitHub: pushes to main, by header and body", () => {
    const filter = { headers: { "X-GitHub-Event": "push" }, body: { ref: "refs/heads/main" } };
    const push = { ref: "refs/heads/main", repository: { full_name: "acme/api" }, commits: [] };
    expect(matches(filter, push, { "x-github-event": "push" })).toBe(true);
    expect(matches(filter, push, { "X-GitHub-Event": "push" })).toBe(true);
    expect(matches(filter, { ...push, ref: "refs/heads/feature" }, { "x-github-event": "push" })).toBe(false);
    expect(matches(filter, push, { "x-github-event": "pull_request" })).toBe(false);
    expect(matches(filter, push, {})).toBe(false);
  });

  it("headers: operators on header values, names in any case", () => {
    const filter = { headers: { "User-Agent": { $startsWith: "GitHub-Hookshot/" }, "x-github-delivery": { $exist: true } } };
    expect(matches(filter, {}, { "user-agent": "GitHub-Hookshot/abc123", "X-GitHub-Delivery": "d-1" })).toBe(true);
    expect(matches(filter, {}, { "user-agent": "curl/8.0", "x-github-delivery": "d-1" })).toBe(false);
    expect(matches(filter, {}, { "user-agent": "GitHub-Hookshot/abc123" })).toBe(false);
    expect(matches({ "headers.X-Shopify-Topic": "orders/create" }, {}, { "x-shopify-topic": "orders/create" })).toBe(true);
  });

  it("logic: $or, $and, $not, and $neq on a missing field", () => {
    const filter = {
      $or: [
        { body: { "metadata.eventType": { $in: ["message.received", "message.sent"] } } },
        { $and: [{ body: { "metadata.eventType": { $startsWith: "contact." } } }, { $not: { body: { "data.errors": { $exist: true } } } }] },
      ],
    };
    expect(matches(filter, podiumMessage)).toBe(true);
    expect(matches(filter, { metadata: { eventType: "contact.created" }, data: {} })).toBe(true);
    expect(matches(filter, { metadata: { eventType: "contact.created" }, data: { errors: [] } })).toBe(false);
    expect(matches(filter, { metadata: { eventType: "review.created" } })).toBe(false);
    expect(matches({ body: { status: { $neq: "draft" } } }, {})).toBe(true);
    expect(matches({ body: { status: { $nin: ["draft", "void"] } } }, { status: "paid" })).toBe(true);
    expect(matches({ body: { status: { $nin: ["draft", "void"] } } }, { status: "void" })).toBe(false);
    // Under an array of scalars, or an empty one, the field is missing too.
    for (const tags of [["new", "vip"], []]) {
      expect(matches({ body: { "data.tags.x": { $exist: false } } }, { data: { tags } }), JSON.stringify(tags)).toBe(true);
      expect(matches({ body: { "data.tags.x": { $neq: 1 } } }, { data: { tags } })).toBe(true);
      expect(matches({ body: { "data.tags.x": { $nin: [1] } } }, { data: { tags } })).toBe(true);
      expect(matches({ body: { $not: { "data.tags.x": { $exist: true } } } }, { data: { tags } })).toBe(true);
      expect(matches({ body: { "data.tags.x": { $exist: true } } }, { data: { tags } })).toBe(false);
    }
  });

  it("arrays: a scalar matches an element, an array pattern needs every value", () => {
    const body = { tags: ["vip", "sms", "new"], scores: [3, 9] };
    expect(matches({ body: { tags: "vip" } }, body)).toBe(true);
    expect(matches({ body: { tags: ["sms", "vip"] } }, body)).toBe(true);
    expect(matches({ body: { tags: ["sms", "gone"] } }, body)).toBe(false);
    expect(matches({ body: { tags: { $eq: ["vip", "sms", "new"] } } }, body)).toBe(true);
    expect(matches({ body: { scores: { $gt: 8 } } }, body)).toBe(true);
    expect(matches({ body: { scores: { $gt: 9 } } }, body)).toBe(false);
    expect(matches({ body: { tags: { $regex: "^ne" } } }, body)).toBe(true);
  });

  it("text operators and $regex", () => {
    const body = { data: { body: "Is the 2pm appointment still open?", email: "jamie@example.com" } };
    expect(matches({ body: { "data.body": { $contains: "appointment" } } }, body)).toBe(true);
    expect(matches({ body: { "data.body": { $endsWith: "open?" } } }, body)).toBe(true);
    expect(matches({ body: { "data.body": { $regex: "\\b[0-9]{1,2}(am|pm)\\b" } } }, body)).toBe(true);
    expect(matches({ body: { "data.email": { $regex: "@example\\.org$" } } }, body)).toBe(false);
  });

  it("only own properties count: constructor and __proto__ are not fields of an empty body", () => {
    expect(matches({ body: { constructor: { $exist: true } } }, {})).toBe(false);
    expect(matches({ body: { toString: { $exist: true } } }, {})).toBe(false);
    const protoFilter = JSON.parse('{"body": {"__proto__": {"$exist": true}}}');
    expect(matches(protoFilter, {})).toBe(false);
    expect(matches(protoFilter, JSON.parse('{"__proto__": 1}'))).toBe(true);
    expect(matches(JSON.parse('{"body": {"a": {"$eq": {"__proto__": 1}}}}'), JSON.parse('{"a": {"__proto__": 1}}'))).toBe(true);
    expect(matches(JSON.parse('{"body": {"a": {"$eq": {"__proto__": 1}}}}'), { a: {} })).toBe(false);
  });

  it("an empty filter matches every event", () => {
    expect(matches({}, podiumMessage)).toBe(true);
    expect(matches({}, "not json")).toBe(true);
  });
});

describe("bounds on matching", () => {
  it("$regex runs in linear time: a pattern that backtracks catastrophically in RegExp returns", () => {
    const filter = compile({ body: { s: { $regex: "^(a+)+$" } } });
    const hostile = `${"a".repeat(FILTER_LIMITS.regexInput - 1)}!`;
    expect(matchesFilter(filter, { body: { s: hostile }, headers: {} })).toBe(false);
    expect(matchesFilter(filter, { body: { s: "aaaa" }, headers: {} })).toBe(true);
  });

  it("$regex never matches a string over the input bound", () => {
    const filter = compile({ body: { s: { $regex: "^a" } } });
    expect(matchesFilter(filter, { body: { s: "a".repeat(FILTER_LIMITS.regexInput) }, headers: {} })).toBe(true);
    expect(matchesFilter(filter, { body: { s: "a".repeat(FILTER_LIMITS.regexInput + 1) }, headers: {} })).toBe(false);
  });

  it("bounds the work of a filter's $regex on one event: a costly pattern over many long strings stops matching", () => {
    // Each string under the input bound, none matching until the last: tested whole, a pattern
    // that keeps a thousand threads alive at each character took 5 s on this one event of 256 KB
    // (a tenant's filter on its own events stalled the ingest batch that carried everyone's).
    const miss = ("a".repeat(999) + "1").repeat(16);
    const strings = [...Array.from({ length: 15 }, () => miss), "a".repeat(16_000)];
    expect(strings.every((s) => s.length <= FILTER_LIMITS.regexInput)).toBe(true);
    const costly = compile({ body: { s: { $regex: "\\pL{1000}" } } });
    expect(matchesFilter(costly, { body: { s: strings }, headers: {} })).toBe(false);
    // Within the bound it matches as ever: a shorter repetition on a short string, a cheap pattern over every string.
    expect(matches({ body: { s: { $regex: "\\pL{300}" } } }, { s: ["x", "b".repeat(300)] })).toBe(true);
    // (`a$` weighs 8: 16 × 16,000 × 8 is within the budget; `^a+$`, 18 with the wrapper that keeps re2js from its one-pass program, over 6 of them.)
    expect(matches({ body: { s: { $regex: "a$" } } }, { s: strings })).toBe(true);
    expect(matches({ body: { s: { $regex: "^a+$" } } }, { s: strings.slice(10) })).toBe(true);
  });

  /** The `$regex` work (FILTER_LIMITS.regexWork units) matching `body` spends, and whether it matched. */
  function regexWorkOf(f: Filter, body: unknown): { matched: boolean; work: number } {
    const budget = filterBudget();
    const matched = matchesFilter(f, { body, headers: {} }, budget);
    return { matched, work: FILTER_LIMITS.regexWork - budget.left };
  }

  it("charges a $regex its string's length times its program weighed, before it runs", () => {
    // The weights of programWeight (REGEX_INSTRUCTION_WEIGHTS, routing/regex-weight.ts): 2 a plain instruction, 3 a class of 2–4 ranges, 5 a class of more or a rune folded out of ASCII.
    const order = compile({ body: { id: { $regex: "^order-\\d+$" } } });
    // Each test costs FILTER_LIMITS.regexWorkPerTest besides; `^…` is compiled after `(?:\b|\B)` (three instructions more, weighed).
    const perTest = FILTER_LIMITS.regexWorkPerTest;
    expect(regexWorkOf(order, { id: "order-12345" })).toEqual({ matched: true, work: 11 * 30 + perTest });
    const email = compile({ body: { text: { $regex: "[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}" } } });
    const text = `${"Hello, please write to ".repeat(12)}jane.doe+orders@example.co.uk soon.`;
    expect(text.length).toBe(311);
    expect(regexWorkOf(email, { text })).toEqual({ matched: true, work: 311 * 28 + perTest });
    expect(regexWorkOf(email, { text: "no address here" })).toEqual({ matched: false, work: 15 * 28 + perTest });
    // Case folding weighs: `(?i)[kι]` and `\pL` are classes of many ranges, `(?i)[xy]` one of two.
    const folded = compile({ body: { s: { $regex: "(?i)[kι]\\pL{12}[xy]" } } });
    expect(regexWeight(folded)).toBe(72);
    expect(regexWorkOf(folded, { s: "\u212Aabcdefghijkly" })).toEqual({ matched: true, work: 14 * 72 + perTest });
  });

  it("charges a $regex over an empty string its program at one position: an array of empty strings is bounded too", () => {
    const f = compile({ body: { s: { $regex: "(?:a?){500}b" } } });
    const weight = regexWeight(f);
    expect(regexWorkOf(f, { s: "" })).toEqual({ matched: false, work: weight + FILTER_LIMITS.regexWorkPerTest });
    // 87,000 empty strings (a 256 KiB body's array): once charged nothing, ~0.5 s an event in node.
    const { matched, work } = regexWorkOf(f, { s: Array.from({ length: 87_000 }, () => "") });
    expect(matched).toBe(false);
    const perTest = weight + FILTER_LIMITS.regexWorkPerTest;
    expect(work).toBe(Math.floor(FILTER_LIMITS.regexWork / perTest) * perTest);
    // As many tests of a tiny pattern are bounded by their fixed cost: 8 × `[xy]` once took ~349,000 tests (137–195 ms in workerd).
    const tiny = compile({ $or: Array.from({ length: 8 }, () => ({ body: { s: { $regex: "[xy]" } } })) });
    const matcher = vi.spyOn(Object.getPrototypeOf(RE2JS.compile("a")), "matcher");
    try {
      expect(regexWorkOf(tiny, { s: Array.from({ length: 87_000 }, () => "") }).matched).toBe(false);
      expect(matcher.mock.calls.length).toBeGreaterThan(0);
      expect(matcher.mock.calls.length).toBeLessThanOrEqual(FILTER_LIMITS.regexWork / FILTER_LIMITS.regexWorkPerTest);
    } finally {
      matcher.mockRestore();
    }
  });

  it("compiles a pattern anchored at its start without re2js's one-pass program (8 × ^\\pL{990}: ~1 s and 65 MB), matching as written", () => {
    const compiling = vi.spyOn(RE2JS, "compile");
    try {
      const f = compile({ body: { s: { $regex: "^\\pL{990}" } } });
      const compiled = compiling.mock.results.map((r) => r.value as RE2JS);
      expect(compiled).toHaveLength(1);
      expect(compiled[0]!.re2().onepass).toBeNull();
      // Its limit counts the pattern as written (990 + 3), not the wrapper's three instructions.
      expect(regexInstructions(f)).toBe(RE2JS.compile("^\\pL{990}").programSize());
      const short = compile({ body: { s: { $regex: "^\\pL{5}" } } });
      expect(matchesFilter(short, { body: { s: "éléphant" }, headers: {} })).toBe(true);
      expect(matchesFilter(short, { body: { s: "1éléphant" }, headers: {} })).toBe(false);
    } finally {
      compiling.mockRestore();
    }
  });

  it("matches with re2js's matcher, never its lazy DFA (test()), whose cost the weights do not bound", () => {
    const f = compile({ body: { s: { $regex: "(?i)[kι]\\pL{12}[xy]" } } });
    const dfa = vi.spyOn(Object.getPrototypeOf(RE2JS.compile("a").re2()), "dfa", "get");
    try {
      expect(matchesFilter(f, { body: { s: "\u212Aabcdefghijkly" }, headers: {} })).toBe(true);
      expect(matchesFilter(f, { body: { s: "\u212Aabcdefghijklz" }, headers: {} })).toBe(false);
      expect(dfa).not.toHaveBeenCalled();
    } finally {
      dfa.mockRestore();
    }
  });

  it("stops the audit's filter within the event's budget: 8 folded patterns over 83 strings of Kelvin signs do not match", () => {
    // 8 × `(?i)[kι]\pL{12}[xy]` over 261 KB of `K k K a b κ Ι`: on re2js's DFA, charged by program size
    // (16), about 1 s an event in workerd (2.9 s at worst). Weighed (72 a character), 2,000 characters cost
    // 144,000: 14 strings are tested, then none (~8 ms in node).
    const filter = compile({ $or: Array.from({ length: 8 }, () => ({ body: { s: { $regex: "(?i)[kι]\\pL{12}[xy]" } } })) });
    const alphabet = ["\u212A", "k", "K", "a", "b", "κ", "Ι"];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const strings = Array.from({ length: 83 }, () => Array.from({ length: 2000 }, () => alphabet[next() % alphabet.length]).join(""));
    const { matched, work } = regexWorkOf(filter, { s: strings });
    expect(matched).toBe(false);
    const perString = 2000 * 72 + FILTER_LIMITS.regexWorkPerTest;
    expect(work).toBe(Math.floor(FILTER_LIMITS.regexWork / perString) * perString);
  });

  it("is total: any body, even one that throws when read, gives true or false", () => {
    const filter = compile({
      body: { a: { b: { $gt: 1 } }, c: { $regex: "x" }, d: { $eq: { e: [1] } }, f: ["x"] },
      $not: { headers: { h: { $in: ["1", "2"] } } },
    });
    fc.assert(
      fc.property(fc.anything(), (body) => {
        expect(typeof matchesFilter(filter, { body, headers: {} })).toBe("boolean");
      }),
    );
    const boom = () => {
      throw new Error("boom");
    };
    const hostile = new Proxy({}, { get: boom, ownKeys: boom, getOwnPropertyDescriptor: boom });
    expect(matchesFilter(filter, { body: hostile, headers: {} })).toBe(false);
  });
});

describe("validation", () => {
  it("names the path and the reason", () => {
    expect(issuesOf({ body: { data: { amount: { $foo: 1 } } } })).toEqual([
      { path: "$.body.data.amount.$foo", message: "unknown operator $foo" },
    ]);
    expect(issuesOf({ body: { status: { $ne: "draft" } } })).toEqual([
      { path: "$.body.status.$ne", message: "unknown operator $ne (did you mean $neq?)" },
    ]);
    expect(issuesOf({ body: { "data.amount": { $gt: true } } })).toEqual([
      { path: '$.body["data.amount"].$gt', message: "$gt takes a number or a string" },
    ]);
    expect(issuesOf({ headers: { "X-Event": { $exist: "yes" } } })).toEqual([
      { path: '$.headers["X-Event"].$exist', message: "$exist takes true or false" },
    ]);
    expect(issuesOf({ body: { title: { $in: "Gift" } } })).toEqual([
      { path: "$.body.title.$in", message: "$in takes a non-empty array of values; to find text inside a string, use $contains" },
    ]);
    expect(issuesOf({ body: { $or: [] } })).toEqual([{ path: "$.body.$or", message: "$or takes a non-empty array of filters" }]);
    expect(issuesOf({ body: { tags: [] } })[0]?.path).toBe("$.body.tags");
    expect(issuesOf({ body: { data: {} } })[0]?.path).toBe("$.body.data");
    expect(issuesOf({ body: { "a..b": 1 } })[0]).toEqual({ path: '$.body["a..b"]', message: "a field path has an empty segment" });
  });

  it("addresses a key starting with $ below the top within a dotted path, as docs/filters-and-transforms.md says; standing alone it is an operator", () => {
    expect(issuesOf({ body: { d: { $type: "x" } } })[0]?.message).toBe("unknown operator $type");
    expect(matches({ body: { "d.$type": "x" } }, { d: { $type: "x" } })).toBe(true);
    expect(matches({ body: { "d.$type": "x" } }, { d: { $type: "y" } })).toBe(false);
    expect(issuesOf({ body: { $ref: "y" } })[0]?.message).toBe("unknown operator $ref");
    expect(issuesOf({ body: { "": 1 } })[0]?.message).toBe("a field path has an empty segment");
  });

  it("reports every issue of a document at once", () => {
    const issues = issuesOf({ body: { a: { $gt: null }, b: { $startsWith: 3 } }, headers: { c: { $contains: [] } } });
    expect(issues.map((i) => i.path)).toEqual(["$.body.a.$gt", "$.body.b.$startsWith", "$.headers.c.$contains"]);
  });

  it("the top level is {body, headers}", () => {
    expect(issuesOf({ data: { type: "x" } })).toEqual([
      { path: "$.data", message: 'unknown field "data": a filter matches {"body": …, "headers": …}' },
    ]);
    expect(issuesOf({ $gt: 1 })[0]?.path).toBe("$.$gt");
    expect(issuesOf({ $or: ["x"] })[0]?.path).toBe("$.$or[0]");
    expect(issuesOf("message.received")[0]?.path).toBe("$");
    expect(issuesOf([{ body: {} }])[0]?.path).toBe("$");
    expect(issuesOf(null)[0]?.path).toBe("$");
  });

  it("refuses what is not JSON", () => {
    expect(issuesOf({ body: { a: Number.NaN } })).toEqual([{ path: "$.body.a", message: "not a JSON value" }]);
    expect(issuesOf({ body: { a: { $eq: new Date(0) } } })).toEqual([{ path: "$.body.a.$eq", message: "not a JSON value" }]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(issuesOf({ body: cyclic })).toEqual([{ path: "$", message: "the filter is not a JSON document" }]);
    expect(issuesOf(undefined)[0]?.path).toBe("$");
  });

  it("refuses a number out of range (1e400, JSON.parse's Infinity) alike under every operator, saying so", () => {
    const far = "not a JSON value (a number out of range: beyond ±1.8e308)";
    expect(issuesOf(JSON.parse('{"body": {"data.n": 1e400}}'))).toEqual([{ path: '$.body["data.n"]', message: far }]);
    expect(issuesOf(JSON.parse('{"body": {"n": {"$in": [1e400, 7]}}}'))).toEqual([{ path: "$.body.n.$in[0]", message: far }]);
    for (const op of ["$gt", "$gte", "$lt", "$lte"]) {
      expect(issuesOf(JSON.parse(`{"body": {"n": {"${op}": -1e400}}}`))).toEqual([{ path: `$.body.n.${op}`, message: far }]);
    }
  });

  it("refuses a filter that could never match, or matches every event, where it says so (the headers themselves, an empty filter inside $and/$or/$not, a header named twice)", () => {
    const headers = 'the headers are an object of names and values, so this could never tell events apart: compare a header by its name, e.g. {"headers": {"x-github-event": "push"}}';
    for (const [doc, path, message] of [
      [{ headers: 5 }, "$.headers", headers],
      [{ headers: null }, "$.headers", headers],
      [{ headers: ["a"] }, "$.headers", headers],
      [{ headers: { $eq: "a" } }, "$.headers.$eq", `$eq on the headers themselves: ${headers}`],
      [{ headers: { $nin: ["a"] } }, "$.headers.$nin", `$nin on the headers themselves: ${headers}`],
      [{ headers: { $eq: { "Content-Type": "application/json" } } }, "$.headers.$eq", `$eq on the headers themselves: ${headers}`],
      [{ headers: { $in: [{ "x-a": true }] } }, "$.headers.$in", `$in on the headers themselves: ${headers}`],
      [{ headers: { $regex: "x" } }, "$.headers.$regex", `$regex on the headers themselves: ${headers}`],
      [{ headers: { $exist: false } }, "$.headers.$exist", `$exist on the headers themselves: ${headers}`],
      [{ headers: { $not: { $gt: "a" } } }, "$.headers.$not.$gt", `$gt on the headers themselves: ${headers}`],
      [{ $not: {} }, "$.$not", "an empty filter matches every event (under $not, none): leave it out"],
      [{ $and: [{}] }, "$.$and[0]", "an empty filter matches every event (under $not, none): leave it out"],
      [{ $or: [{ body: { a: 1 } }, {}] }, "$.$or[1]", "an empty filter matches every event (under $not, none): leave it out"],
      [{ headers: { "User-Agent": "node", "user-agent": "nope" } }, '$.headers["user-agent"]', "this header is given twice (names are compared in lower case)"],
      [{ headers: { "x-a": "1", "X-A": { $exist: true } } }, '$.headers["X-A"]', "this header is given twice (names are compared in lower case)"],
    ] as const) {
      expect(issuesOf(doc), JSON.stringify(doc)).toEqual([{ path, message }]);
      // A stored one, saved before these checks, is read as it was and keeps its meaning (routing.test.ts).
      expect(validateFilter(doc, { given: false }).ok, JSON.stringify(doc)).toBe(true);
    }
    // What each such stored filter meant: the headers (an object) are never 5 nor "x", always exist; {} in $and says nothing, in $or all.
    const event = { body: {}, headers: { "x-a": "1" } };
    for (const [doc, meant] of [
      [{ headers: 5 }, false],
      [{ headers: { $neq: "x" } }, true],
      [{ headers: { $exist: true } }, true],
      [{ headers: { $exist: false } }, false],
      [{ $and: [{}, { headers: { "x-a": "2" } }] }, false],
      [{ $and: [{}, { headers: { "x-a": "1" } }] }, true],
      [{ $or: [{}] }, true],
      [{ $not: {} }, false],
      [{ headers: { "X-A": "1", "x-a": "1" } }, true],
      [{ headers: { "X-A": "1", "x-a": "2" } }, false],
      // Compared whole, the headers equal only that exact set (a delivery's request carries many).
      [{ headers: { $eq: { "x-a": "1" } } }, true],
      [{ headers: { $eq: { "X-A": "1" } } }, false],
    ] as const) {
      const stored = validateFilter(doc, { given: false });
      expect(stored.ok && matchesFilter(stored.filter, event), JSON.stringify(doc)).toBe(meant);
    }
    // What still tells events apart is kept: the whole filter {}, a header by name in $and or $or.
    for (const doc of [{}, { headers: { $and: [{ "x-a": "1" }, { "X-B": "2" }] } }, { $or: [{ headers: { "x-a": "1" } }, { headers: { "X-A": "2" } }] }]) {
      expect(validateFilter(doc).ok, JSON.stringify(doc)).toBe(true);
    }
  });

  it("refuses a pattern whose compiled program is over the bound, from its text and without compiling it; realistic patterns are well under it", () => {
    const L = "abcdefghijklmnopqrstuvwxyz";
    // 211 characters, 26,027 instructions: about 55 ms a compile in workerd, and a filter held 8.
    const costly = `(?:${[...L].map((c) => `${c}{1000}`).join("|")})`;
    const compiling = vi.spyOn(RE2JS, "compile");
    try {
      expect(issuesOf({ body: { s: { $regex: costly } } })).toEqual([
        {
          path: "$.body.s.$regex",
          message: `the pattern compiles to up to 26027 RE2 instructions, a repetition counting what it repeats that many times (x{100} is 100 x's), a class the Unicode tables it is built of (\\pL 14 more); the limit is ${FILTER_LIMITS.regexProgram}`,
        },
      ]);
      expect(compiling).not.toHaveBeenCalled();
    } finally {
      compiling.mockRestore();
    }
    expect(issuesOf({ body: { s: { $regex: "(?:abc{50}){20}" } } })[0]?.message).toMatch(/^the pattern compiles to up to 1042 RE2 instructions.*the limit is 1024$/);
    const words = ["invoice", "payment", "customer", "order", "refund", "charge", "subscription", "dispute"];
    let alternation = "";
    for (let i = 0; alternation.length + 12 < FILTER_LIMITS.regexLength - 4; i++) alternation += `${alternation ? "|" : ""}${words[i % 8]}${i}`;
    const realistic = ["^order\\.(created|updated)$", "[0-9]{3}-[0-9]{4}", "^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", `^(?:${alternation})$`, `(?i)^(?:${alternation.slice(0, 240)})$`];
    for (const source of realistic) {
      const f = compile({ body: { s: { $regex: source } } });
      expect(regexInstructions(f), source).toBeLessThan(FILTER_LIMITS.regexProgram / 3);
      expect(regexSizeBound(source), source).toBeLessThan(FILTER_LIMITS.regexProgram / 3);
    }
    // At the bound, and the costly patterns the budgets are measured with.
    expect(regexInstructions(compile({ body: { s: { $regex: `a{1000}b{${FILTER_LIMITS.regexProgram - 1002}}` } } }))).toBe(FILTER_LIMITS.regexProgram);
    expect(validateFilter({ body: { s: { $regex: "\\pL{1000}" } } }).ok).toBe(true);
    // A stored filter keeps what it meant before the bound.
    expect(validateFilter({ body: { s: { $regex: costly } } }, { given: false }).ok).toBe(true);
    const twice = { body: { s: { $regex: "(?:a{1000}|b{100})" } } };
    expect(issuesOf(twice)[0]?.message).toMatch(/^the pattern compiles to up to 1103 RE2 instructions/);
    const stored = validateFilter(twice, { given: false });
    expect(stored.ok && matchesFilter(stored.filter, { body: { s: "b".repeat(100) }, headers: {} })).toBe(true);
  });

  it("counts a class by what building it takes: a class of many Unicode tables is refused, a realistic one stays small", () => {
    // re2js appends a table's ranges to a class and sorts them all: `[\pL…×84]` (254 characters)
    // compiles to 3 instructions in ~46 ms in workerd, ~1.6 s for 2,700 tables.
    const tables = (escape: string, n: number, open = "[") => `${open}${escape.repeat(n)}]`;
    for (const [source, bound] of [
      [tables("\\pL", 84), 17250],
      [tables("\\PL", 84), 17250],
      [tables("\\pL", 83, "[^"), 16854],
      [tables("\\pL", 83, "(?i)["), 65357],
      [tables("\\pL", 13), 556],
    ] as const) {
      expect(regexSizeBound(source), source).toBe(bound);
      expect(RE2JS.compile(source).programSize()).toBe(3);
    }
    for (const source of [tables("\\pL", 84), tables("\\PL", 84), tables("\\pL", 83, "[^"), tables("\\pL", 83, "(?i)["), "(?i)[B-\\x{1E942}]"]) {
      expect(issuesOf({ body: { s: { $regex: source } } })[0]?.message, source).toMatch(/^the pattern compiles to up to \d+ RE2 instructions, .*\\pL 14 more\); the limit is 1024$/);
    }
    // Groups nested deeper than a real pattern's count a level each: RE2 parses each, and `(?:`×1,000
    // around an `a` compiles to 3 instructions (~1 ms; eleven such literals an attempt went uncharged).
    const nested = `${"(?:".repeat(1000)}a${")".repeat(1000)}`;
    expect(RE2JS.compile(nested).programSize()).toBe(3);
    expect(regexSizeBound(nested)).toBeGreaterThanOrEqual(990);
    expect(regexSizeBound(`${"(?:".repeat(8)}a{100}${")".repeat(8)}`)).toBe(regexSizeBound("a{100}"));
    // What compiles to nothing is parsed all the same: a pattern counts a character in four at least.
    const hidden = `(?:${Array(2700).fill("ab").join("|")}){0}`;
    expect(RE2JS.compile(hidden).programSize()).toBe(3);
    expect(regexSizeBound(hidden)).toBe(Math.ceil(hidden.length / 4));
    // What building takes grows faster than the tables: 13 \pL are 556, 34 of them 3,087.
    expect(regexSizeBound(tables("\\pL", 34))).toBe(3087);
    // A repetition copies a class, and matching first goes through each copy's ranges: one more per 1,024 a copy.
    expect(regexSizeBound("[\\pL\\pN\\pP\\pS\\pM\\pC]{300}")).toBe(969);
    // Realistic patterns: a table or two, and Perl, POSIX and ASCII classes, count little.
    for (const [source, bound] of [
      ["^\\pL+$", 20],
      ["[\\pL\\pN]", 20],
      ["(?i)^\\pL+$", 40],
      ["^[\\p{Greek}\\p{Latin}]+$", 7],
      ["^order\\.(created|updated)$", 27],
      ["[0-9]{3}-[0-9]{4}", 10],
      ["^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", 13],
      ["^[\\d\\w\\s[:alpha:]]+$", 6],
      ["\\pL{1000}", 1016],
    ] as const) {
      expect(regexSizeBound(source), source).toBe(bound);
      expect(validateFilter({ body: { s: { $regex: source } } }).ok, source).toBe(true);
    }
  });

  it("bounds every POSIX class RE2 knows, negated and folded too, never below what RE2 compiles it to", () => {
    const names = ["alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "word", "xdigit"];
    for (const name of names) {
      for (const negated of ["", "^"]) {
        for (const flags of ["", "(?i)"]) {
          const source = `${flags}[x[:${negated}${name}:]y]+z`;
          expect(regexSizeBound(source), source).toBeGreaterThanOrEqual(RE2JS.compile(source).programSize());
        }
      }
    }
  });

  it("bounds a pattern's program from its text never below what RE2 compiles it to", () => {
    const atom = fc.constantFrom("a", "\\d", "\\pL", "\\p{Greek}", "\\x{263a}", "\\x41", "[a-z]", "[^]a]", "[[:alpha:]x]", ".", "^", "$", "\\b", "\\Qa{3}\\E", "(?i)", "(?i:k)", "é", "\\{", "[{]", "\\123");
    const repeat = fc.constantFrom("", "", "*", "+", "?", "*?", "{3}", "{2,5}", "{0,}", "{4,}", "{0,3}", "{100}", "??");
    const pattern: fc.Arbitrary<string> = fc.letrec((tie) => ({
      item: fc.oneof(
        { arbitrary: atom, weight: 4 },
        { arbitrary: fc.tuple(fc.constantFrom("(", "(?:", "(?P<n>"), tie("seq"), fc.option(tie("seq"))).map(([open, a, b]) => `${open}${a}${b === null ? "" : `|${b}`})`), weight: 1 },
      ),
      seq: fc.array(fc.tuple(tie("item"), repeat).map(([a, r]) => `${a}${r}`), { minLength: 1, maxLength: 4 }).map((xs) => xs.join("")),
    })).seq as fc.Arbitrary<string>;
    fc.assert(
      fc.property(pattern, (source) => {
        let size: number;
        try {
          size = RE2JS.compile(source).programSize();
        } catch {
          return; // not RE2 syntax (a name used twice): refused as such
        }
        expect(regexSizeBound(source)).toBeGreaterThanOrEqual(size);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses regular expressions that need backtracking, and over-long ones", () => {
    const backref = issuesOf({ body: { s: { $regex: "(a)\\1" } } });
    expect(backref[0]?.path).toBe("$.body.s.$regex");
    expect(backref[0]?.message).toMatch(/^unsupported pattern .*without lookaround or backreferences$/);
    expect(issuesOf({ body: { s: { $regex: "foo(?=bar)" } } })[0]?.message).toMatch(/unsupported pattern/);
    expect(issuesOf({ body: { s: { $regex: "(" } } })[0]?.message).toMatch(/unsupported pattern \(missing closing \)/);
    expect(issuesOf({ body: { s: { $regex: "a".repeat(FILTER_LIMITS.regexLength + 1) } } })).toEqual([
      { path: "$.body.s.$regex", message: `the pattern is ${FILTER_LIMITS.regexLength + 1} UTF-16 code units (an emoji is two); the limit is ${FILTER_LIMITS.regexLength}` },
    ]);
    expect(validateFilter({ body: { s: { $regex: "a".repeat(FILTER_LIMITS.regexLength) } } }).ok).toBe(true);
    // Counted in UTF-16 code units, as the docs count every string's length: an emoji is two.
    expect(issuesOf({ body: { s: { $regex: "😀".repeat(200) } } })[0]?.message).toBe(`the pattern is 400 UTF-16 code units (an emoji is two); the limit is ${FILTER_LIMITS.regexLength}`);
    const nine = Object.fromEntries(Array.from({ length: FILTER_LIMITS.regexes + 1 }, (_, i) => [`f${i}`, { $regex: "x" }]));
    expect(issuesOf({ body: nine })).toEqual([
      { path: `$.body.f${FILTER_LIMITS.regexes}.$regex`, message: `more than ${FILTER_LIMITS.regexes} $regex in one filter` },
    ]);
  });

  it("bounds the document: size, depth and number of conditions", () => {
    const big = { body: { note: "x".repeat(FILTER_LIMITS.bytes) } };
    expect(issuesOf(big)).toEqual([
      { path: "$", message: `the filter is ${JSON.stringify(big).length} bytes of JSON; the limit is ${FILTER_LIMITS.bytes}` },
    ]);
    // Multi-byte characters count as bytes.
    expect(validateFilter({ body: { note: "é".repeat(FILTER_LIMITS.bytes / 2) } }).ok).toBe(false);

    let deep: unknown = 1;
    for (let i = 0; i < FILTER_LIMITS.depth; i++) deep = { a: deep };
    const deepIssues = issuesOf({ body: deep });
    expect(deepIssues).toHaveLength(1);
    expect(deepIssues[0]?.message).toBe(`nested deeper than ${FILTER_LIMITS.depth} levels`);
    expect(deepIssues[0]?.path.startsWith("$.body.a.a.a")).toBe(true);
    let shallow: unknown = 1;
    for (let i = 0; i < FILTER_LIMITS.depth - 2; i++) shallow = { a: shallow };
    expect(validateFilter({ body: shallow }).ok).toBe(true);

    const many = { $or: Array.from({ length: FILTER_LIMITS.conditions + 1 }, (_, i) => ({ body: { n: i } })) };
    expect(issuesOf(many)).toEqual([
      { path: `$.$or[${FILTER_LIMITS.conditions - 1}].body.n`, message: `more than ${FILTER_LIMITS.conditions} conditions in one filter` },
    ]);
  });
});

// ---- Property tests: every operator against a reference model written independently. ----

type V = unknown;
/** Canonical JSON (sorted keys): two values are equal when their canonical texts are. */
function canon(v: V): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canon(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
/** What a leaf operator looks at: the value itself, and its elements when it is an array. */
const candidates = (v: V): V[] => (v === undefined ? [] : Array.isArray(v) ? [v, ...v] : [v]);
const refEq = (v: V, x: V) => candidates(v).some((c) => canon(c) === canon(x));
const refIn = (v: V, xs: V) => Array.isArray(xs) && xs.some((x) => refEq(v, x));
const refOrder = (c: V, x: V, ok: (a: number | string, b: number | string) => boolean) =>
  ((typeof c === "number" && typeof x === "number") || (typeof c === "string" && typeof x === "string")) && ok(c, x);
const refText = (v: V, x: V, ok: (s: string, t: string) => boolean) =>
  candidates(v).some((c) => typeof c === "string" && typeof x === "string" && ok(c, x));

const OPS = ["$eq", "$neq", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$startsWith", "$endsWith", "$contains", "$regex", "$exist"] as const;
type Op = (typeof OPS)[number];

const reference: Record<Op, (v: V, x: V) => boolean> = {
  $eq: refEq,
  $neq: (v, x) => !refEq(v, x),
  $in: refIn,
  $nin: (v, xs) => !refIn(v, xs),
  $gt: (v, x) => candidates(v).some((c) => refOrder(c, x, (a, b) => a > b)),
  $gte: (v, x) => candidates(v).some((c) => refOrder(c, x, (a, b) => a >= b)),
  $lt: (v, x) => candidates(v).some((c) => refOrder(c, x, (a, b) => a < b)),
  $lte: (v, x) => candidates(v).some((c) => refOrder(c, x, (a, b) => a <= b)),
  $startsWith: (v, x) => refText(v, x, (s, t) => s.slice(0, t.length) === t),
  $endsWith: (v, x) => refText(v, x, (s, t) => s.length >= t.length && s.slice(s.length - t.length) === t),
  $contains: (v, x) => refText(v, x, (s, t) => s.split(t).length > 1 || t === ""),
  // The generated patterns mean the same in RegExp and RE2.
  $regex: (v, x) => refText(v, x, (s, t) => new RegExp(t).test(s)),
  $exist: (v, x) => (v !== undefined) === x,
};

const text = fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 4 });
const scalar = fc.oneof(text, fc.integer({ min: -3, max: 3 }), fc.constantFrom(0.5, -2.5), fc.boolean(), fc.constant(null));
const leaf = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(text, scalar, { maxKeys: 2 }), fc.constant(undefined));
const orderable = fc.oneof(text, fc.integer({ min: -3, max: 3 }), fc.constantFrom(0.5, -2.5));
const regex = fc.constantFrom("^a", "b$", "a.c", "^(ab|c)+$", "b?c", "[ac]{2}", "^$", "^[^a]*$");
const operand: Record<Op, fc.Arbitrary<unknown>> = {
  $eq: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(text, scalar, { maxKeys: 2 })),
  $neq: scalar,
  $in: fc.array(fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })), { minLength: 1, maxLength: 3 }),
  $nin: fc.array(scalar, { minLength: 1, maxLength: 3 }),
  $gt: orderable,
  $gte: orderable,
  $lt: orderable,
  $lte: orderable,
  $startsWith: text,
  $endsWith: text,
  $contains: text,
  $regex: regex,
  $exist: fc.boolean(),
};

const at = (v: V) => (v === undefined ? {} : { v });

describe("operators against the reference model", () => {
  for (const op of OPS) {
    it(`${op}`, () => {
      fc.assert(
        fc.property(leaf, operand[op], (v, x) => {
          const filter = compile({ body: { v: { [op]: x } } });
          expect(matchesFilter(filter, { body: at(v), headers: {} })).toBe(reference[op](v, x));
        }),
        { numRuns: 300 },
      );
    });
  }

  const condition = fc.constantFrom(...OPS).chain((op) => operand[op].map((x) => ({ op, x })));
  const refCondition = (v: V, c: { op: Op; x: unknown }) => reference[c.op](v, c.x);
  const single = (c: { op: Op; x: unknown }) => ({ body: { v: { [c.op]: c.x } } });

  it("equality by example: a literal is $eq", () => {
    fc.assert(
      fc.property(leaf, scalar, (v, x) => {
        expect(matches({ body: { v: x } }, at(v))).toBe(refEq(v, x));
      }),
    );
  });

  it("$and, $or and $not combine conditions as every, some and not", () => {
    fc.assert(
      fc.property(leaf, fc.array(condition, { minLength: 1, maxLength: 4 }), (v, cs) => {
        const body = at(v);
        expect(matches({ $and: cs.map(single) }, body)).toBe(cs.every((c) => refCondition(v, c)));
        expect(matches({ $or: cs.map(single) }, body)).toBe(cs.some((c) => refCondition(v, c)));
        expect(matches({ $not: { $or: cs.map(single) } }, body)).toBe(!cs.some((c) => refCondition(v, c)));
        // Several operators on one field all hold.
        const last = new Map(cs.map((c) => [c.op, c.x])); // one key per operator, as in a JSON object
        const together = Object.fromEntries(last);
        expect(matches({ body: { v: together } }, body)).toBe([...last].every(([op, x]) => refCondition(v, { op, x })));
        // $not at the field.
        for (const c of cs) expect(matches({ body: { v: { $not: { [c.op]: c.x } } } }, body)).toBe(!refCondition(v, c));
      }),
    );
  });

  it("nested objects match as subsets, and a dotted key is the same path", () => {
    fc.assert(
      fc.property(fc.dictionary(text, leaf, { maxKeys: 3 }), text, text, condition, condition, (inner, k1, k2, c1, c2) => {
        fc.pre(k1 !== "" && k2 !== "" && k1 !== k2);
        const body = { o: { ...inner, extra: "ignored" } };
        const v1 = Object.hasOwn(inner, k1) ? inner[k1] : undefined;
        const v2 = Object.hasOwn(inner, k2) ? inner[k2] : undefined;
        const expected = refCondition(v1, c1) && refCondition(v2, c2);
        const nested = { body: { o: { [k1]: { [c1.op]: c1.x }, [k2]: { [c2.op]: c2.x } } } };
        const dotted = { body: { [`o.${k1}`]: { [c1.op]: c1.x }, [`o.${k2}`]: { [c2.op]: c2.x } } };
        expect(matches(nested, body)).toBe(expected);
        expect(matches(dotted, body)).toBe(expected);
      }),
    );
  });

  it("a field condition inside an array holds for some element (one that is no object lacks the field), or as missing for an empty array", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.dictionary(fc.constantFrom("k", "j"), leaf, { maxKeys: 2 }), leaf), { maxLength: 4 }), condition, (items, c) => {
        const fieldOf = (item: unknown) => (typeof item === "object" && item !== null && !Array.isArray(item) && Object.hasOwn(item, "k") ? Reflect.get(item, "k") : undefined);
        const expected = items.length === 0 ? refCondition(undefined, c) : items.some((item) => refCondition(fieldOf(item), c));
        expect(matches({ body: { items: { k: { [c.op]: c.x } } } }, { items })).toBe(expected);
      }),
    );
  });

  it("an array pattern needs each of its values in the array", () => {
    fc.assert(
      fc.property(leaf, fc.array(scalar, { minLength: 1, maxLength: 3 }), (v, xs) => {
        const expected = Array.isArray(v) && xs.every((x) => v.some((e) => refEq(e, x)));
        expect(matches({ body: { v: xs } }, at(v))).toBe(expected);
      }),
    );
  });
});

describe("the Podium filter examples users are shown", () => {
  // Podium names a text conversation's channel `phone` (the number texted), as its message object,
  // the repo's fixture (copied from the shared Podium samples) and the CLI's samples do; an example
  // matching only "sms" would filter out every text message it is meant to pass.
  const filtersIn = (value: unknown, out: unknown[] = []): unknown[] => {
    if (Array.isArray(value)) for (const v of value) filtersIn(v, out);
    else if (value !== null && typeof value === "object") {
      if ("data.conversation.channel.type" in value) out.push({ body: value });
      else for (const v of Object.values(value)) filtersIn(v, out);
    }
    return out;
  };

  it("docs/filters-and-transforms.md: each filter on a message's channel passes the fixture's text message", () => {
    const found: unknown[] = [];
    // Fenced JSON blocks that are filters, and the filter given in the curl example.
    for (const [, block] of filtersDoc.matchAll(/```json\n([\s\S]*?)```/g)) {
      let doc: unknown;
      try {
        doc = JSON.parse(block!);
      } catch {
        continue;
      }
      if (validateFilter(doc).ok && JSON.stringify(doc).includes("channel") && JSON.stringify(doc).includes("message.received")) found.push(doc);
    }
    for (const [, inline] of filtersDoc.matchAll(/"filter": (\{.*\}),\n/g)) found.push(JSON.parse(inline!));
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (const doc of found) expect(matches(doc, podiumMessage), JSON.stringify(doc)).toBe(true);
  });

  it("docs/filters-and-transforms.md: the contact example passes the contact `npm run send` sends, and only when the email is new", () => {
    // The CLI's contact sample is Podium's documented contact event: its emails are channels of type
    // EMAIL; an example reading another shape excluded every contact a user sent to try it.
    const gained: { data: { before: { channels: unknown[] }; after: { channels: unknown[] } } } = JSON.parse(contactSample);
    const already = clone(gained);
    already.data.before.channels = already.data.after.channels;
    const found: unknown[] = [];
    for (const [, block] of filtersDoc.matchAll(/```json\n([\s\S]*?)```/g)) {
      if (!block!.includes("contact.updated")) continue;
      const doc: unknown = JSON.parse(block!);
      if (validateFilter(doc).ok) found.push(doc);
    }
    expect(found.length).toBeGreaterThanOrEqual(1);
    for (const doc of found) {
      expect(matches(doc, gained), JSON.stringify(doc)).toBe(true);
      expect(matches(doc, already), JSON.stringify(doc)).toBe(false);
    }
  });

  it("the OpenAPI document's example filter passes the fixture's text message", () => {
    const found = filtersIn(openapiDoc);
    expect(found.length).toBeGreaterThanOrEqual(1);
    for (const doc of found) expect(matches(doc, podiumMessage), JSON.stringify(doc)).toBe(true);
  });
});

describe("the work $in does", () => {
  /** The `work` units matching `body` spends, and whether it matched. */
  function workOf(filter: unknown, body: unknown): { matched: boolean; work: number } {
    const f = compile(filter);
    const budget = filterBudget();
    const matched = matchesFilter(f, { body, headers: {} }, budget);
    return { matched, work: FILTER_LIMITS.work - budget.work };
  }
  const numbers = (n: number, v: (i: number) => unknown = () => 5) => Array.from({ length: n }, (_, i) => v(i));
  const within = (values: unknown[], xs: unknown) => workOf({ body: { xs: { $in: values } } }, { xs });

  it("takes its values in turn to the first found, each 2 units and 2 an element of an array up to an equal one, as the docs say", () => {
    const doc = filtersDoc.replace(/\s+/g, " ");
    // 3 for the conditions that reach the field.
    for (const [v, n] of [[1, 0], [1, 10], [3, 10], [3, 100]] as const) {
      expect(within(numbers(v, (i) => -1 - i), numbers(n)), `${v} over ${n}`).toEqual({ matched: false, work: 3 + v * (2 + 2 * n) });
    }
    // It stops at the first value found, and that at the first equal element.
    expect(within([5, 7], numbers(10))).toEqual({ matched: true, work: 3 + 2 + 2 });
    expect(within([1, 2, 5], [9, 9, 5])).toEqual({ matched: true, work: 3 + 2 * (2 + 2 * 3) + 2 + 2 * 3 });
    // A string compared costs 1 more and 1 per 8 characters of the shorter.
    expect(within(["a".repeat(80)], numbers(10, () => "b".repeat(80)))).toEqual({ matched: false, work: 3 + 2 + 10 * (2 + 1 + 80 / 8) });
    expect(doc).toContain("a string compared 1 more and 1 per 8 characters of the shorter");
    const big = within(numbers(330, (i) => -1 - i), numbers(1600));
    expect(big.work).toBe(1_056_663);
    expect(doc).toContain("330 numbers over an array of 1,600 holding none of them cost 1,056,663 units, about half the budget");
    expect(big.work / FILTER_LIMITS.work).toBeCloseTo(0.5, 1);
    expect(doc).toContain("stops at the first found, each costing 2 (taken, then compared with the field's whole value) and, where the field is an array, 2 an element (walked, compared) up to the first equal one");
  });
});
