// Each signature scheme's sign and verify, in process: they agree with each other, and
// with the real libraries (standardwebhooks, stripe, @octokit/webhooks-methods) or with
// vectors made by an independent implementation (Node's createHmac) where none exists.
import { sign as octokitSign, verify as octokitVerify } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { bytesToBase64, utf8 } from "../../src/domain/crypto";
import { STATUS_OF } from "../../src/http/errors";
import { AppError } from "../../src/domain/errors";
import type { HmacConfig } from "../../src/domain/hmac-config";
import { signatureHeaders } from "../../src/pipeline/sign";
import { github } from "../../src/schemes/github";
import { hmacScheme } from "../../src/schemes/hmac";
import { podium } from "../../src/schemes/podium";
import type { HmacScheme, Scheme, SignedRequest } from "../../src/schemes/scheme";
import { shopify } from "../../src/schemes/shopify";
import { slack } from "../../src/schemes/slack";
import { secretProblem, standardWebhooks } from "../../src/schemes/standard-webhooks";
import { stripe } from "../../src/schemes/stripe";
import vectors from "../fixtures/scheme-vectors.json";

const whsec = () => `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
const request = (headers: Record<string, string>, body: string | Uint8Array, now = Date.now()): SignedRequest => ({
  headers: new Headers(headers),
  raw: typeof body === "string" ? utf8(body) : body,
  now,
});

/** The code a verification fails with, or "accepted". */
async function outcome(verification: Promise<void>): Promise<string> {
  try {
    await verification;
    return "accepted";
  } catch (err) {
    if (err instanceof AppError && STATUS_OF[err.code] === 401) return err.code;
    throw err;
  }
}

/** The 401 a verification fails with, code and message, or "accepted": an answer to compare with another. */
async function answer(verification: Promise<void>): Promise<string> {
  try {
    await verification;
    return "accepted";
  } catch (err) {
    if (err instanceof AppError && STATUS_OF[err.code] === 401) return `${err.code}: ${err.message}`;
    throw err;
  }
}

/** The signature header's hex digits in upper case, its prefixes and `t=` as they were. */
const upperHex = (value: string) => value.replace(/[0-9a-f]{40,}/g, (hex) => hex.toUpperCase());

const hmacConfig = (c: Partial<HmacConfig>): HmacConfig => ({
  header: "x-sig",
  algorithm: "SHA-256",
  encoding: "hex",
  prefix: "",
  timestampHeader: null,
  typePath: null,
  dedupePath: null,
  ...c,
});

const SCHEMES: [string, HmacScheme, string][] = [
  ["podium", podium, "podium-scheme-secret"],
  ["standard-webhooks", standardWebhooks, whsec()],
  ["stripe", stripe, "whsec_stripe_scheme_secret_value"],
  ["github", github, "github-scheme-secret"],
  ["shopify", shopify, "shopify-scheme-secret"],
  ["slack", slack, "slack-scheme-secret"],
  ["hmac SHA-256 hex sha256=", hmacScheme(hmacConfig({ prefix: "sha256=" })), "generic-secret"],
  ["hmac SHA-512 base64 with a timestamp", hmacScheme(hmacConfig({ algorithm: "SHA-512", encoding: "base64", timestampHeader: "x-ts" })), "generic-secret"],
];
const TIMESTAMPED = SCHEMES.filter(([, scheme]) => scheme.spec.timestamp);
/** Whether a timestamp ahead of the clock is taken up to a day (Stripe's: stripe-node refuses only an old one). */
const futureAccepted = (scheme: HmacScheme) => {
  const ts = scheme.spec.timestamp;
  return ts !== undefined && "entry" in ts && ts.aheadSeconds !== undefined;
};
const UNTIMESTAMPED = SCHEMES.filter(([, scheme]) => !scheme.spec.timestamp);

describe.each(SCHEMES)("%s: sign, then verify", (name, scheme, secret) => {
  const body = JSON.stringify({ type: "thing.happened", id: name });

  it("verifies what it signs, under any secret of a rotation, and nothing else", async () => {
    const headers = await scheme.sign(secret, body);
    expect(await outcome(scheme.verify(request(headers, body), ["an-older-secret", secret], 300))).toBe("accepted");
    expect(await outcome(scheme.verify(request(headers, utf8(body)), [secret], 300))).toBe("accepted");
    expect(await outcome(scheme.verify(request(headers, `${body} `), [secret], 300))).toBe("invalid_signature");
    expect(await outcome(scheme.verify(request(headers, body), ["an-older-secret"], 300))).toBe("invalid_signature");
    expect(await outcome(scheme.verify(request({}, body), [secret], 300))).toBe("missing_signature");
  });

  it("accepts its signature header sent twice when either copy matches, in either order (Shopify's is one value: refused)", async () => {
    const at = Date.now();
    const good = await scheme.sign(secret, body, { now: at, id: "msg_twice" });
    const other = await scheme.sign("another-secret-of-someone", body, { now: at, id: "msg_twice" });
    const header = scheme.spec.header;
    for (const copies of [[good[header]!, other[header]!], [other[header]!, good[header]!]]) {
      const headers = new Headers(good);
      headers.delete(header);
      for (const copy of copies) headers.append(header, copy);
      expect(await outcome(scheme.verify({ headers, raw: utf8(body), now: at }, [secret], 300))).toBe(scheme.spec.oneValue ? "invalid_signature" : "accepted");
    }
  });

  it("signs raw bytes as they are, invalid UTF-8 included", async () => {
    const raw = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d]);
    const headers = await scheme.sign(secret, raw);
    expect(await outcome(scheme.verify(request(headers, raw), [secret], 300))).toBe("accepted");
  });
});

describe.each(SCHEMES.filter(([, scheme]) => scheme.spec.encoding === "hex"))("%s: hex in upper case", (name, scheme, secret) => {
  it("is refused as any wrong signature is where the provider's own verifier compares lower case (Podium's and a generic source's take either)", async () => {
    const body = JSON.stringify({ type: "thing.happened", id: name });
    const at = Date.now();
    const headers = await scheme.sign(secret, body, { now: at });
    const header = scheme.spec.header;
    const upper = { ...headers, [header]: upperHex(headers[header]!) };
    expect(upper[header]).not.toBe(headers[header]);
    const wrong = await scheme.sign("another-secret-of-someone", body, { now: at });
    const refused = await answer(scheme.verify(request(wrong, body, at), [secret], 300));
    expect(await answer(scheme.verify(request(upper, body, at), [secret], 300))).toBe(scheme === podium || name.startsWith("hmac") ? "accepted" : refused);
    expect(await answer(scheme.verify(request(headers, body, at), [secret], 300))).toBe("accepted");
  });
});

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** The same MAC's bytes spelled otherwise: URL-safe, unpadded, its unused low bits set (decoded alike by a lenient decoder). */
function otherSpellings(b64: string): Record<string, string> {
  const data = b64.replace(/=+$/, "");
  const last = data.length - 1;
  return {
    "URL-safe": b64.replace(/\+/g, "-").replace(/\//g, "_"),
    unpadded: data,
    "padding bits altered": data.slice(0, last) + BASE64[BASE64.indexOf(data[last]!) ^ 1] + b64.slice(data.length),
  };
}

describe.each(SCHEMES.filter(([, scheme]) => scheme.spec.encoding === "base64"))("%s: base64 spelled otherwise", (name, scheme, secret) => {
  const generic = name.startsWith("hmac");
  it(`is ${generic ? "accepted (a generic source's sender is anyone)" : "refused 401 invalid_signature: the provider's verifiers compare the canonical base64 text"}`, async () => {
    const header = scheme.spec.header;
    const at = Date.now();
    // A body whose MAC has a + or / in it, so that its URL-safe spelling differs.
    let body = "";
    let headers: Record<string, string> = {};
    for (let i = 0; !/[+/]/.test(headers[header] ?? ""); i++) {
      body = JSON.stringify({ i });
      headers = await scheme.sign(secret, body, { now: at, id: "msg_base64" });
    }
    const value = headers[header]!;
    const prefix = scheme.spec.prefix;
    const mac = prefix ? value.slice(value.lastIndexOf(prefix) + prefix.length) : value;
    for (const [how, spelled] of Object.entries(otherSpellings(mac))) {
      expect(spelled, how).not.toBe(mac);
      const sent = { ...headers, [header]: value.slice(0, value.length - mac.length) + spelled };
      expect(await outcome(scheme.verify(request(sent, body, at), [secret], 300)), how).toBe(generic ? "accepted" : "invalid_signature");
    }
    expect(await outcome(scheme.verify(request(headers, body, at), [secret], 300))).toBe("accepted");
  });
});

describe.each(TIMESTAMPED)("%s: the timestamp is signed", (_name, scheme, secret) => {
  const body = JSON.stringify({ type: "thing.happened" });

  it("refuses a changed timestamp, and a stale one unless the tolerance is 0", async () => {
    const at = Date.now() - 600_000;
    const headers = await scheme.sign(secret, body, { now: at });
    expect(await outcome(scheme.verify(request(headers, body), [secret], 300))).toBe("timestamp_out_of_tolerance");
    expect(await outcome(scheme.verify(request(headers, body), [secret], 0))).toBe("accepted");
    expect(await outcome(scheme.verify(request(headers, body, at + 299_000), [secret], 300))).toBe("accepted");

    const timestamp = "1700000000";
    const signed = await scheme.sign(secret, body, { timestamp });
    const moved = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k, v.replace(timestamp, "1700000001")]));
    expect(moved).not.toEqual(signed);
    expect(await outcome(scheme.verify(request(moved, body), [secret], 0))).toBe("invalid_signature");
  });
});

describe.each(TIMESTAMPED)("%s: a timestamp out of tolerance", (_name, scheme, secret) => {
  const body = JSON.stringify({ type: "thing.happened" });

  it("is said with how far off it is and which way, so a replay and a wrong clock can be told apart", async () => {
    const second = Math.floor(Date.now() / 1000);
    const signed = await scheme.sign(secret, body, { timestamp: String(second) });
    const refusal = (offset: number) => scheme.verify(request(signed, body, (second + offset) * 1000), [secret], 300);
    await expect(refusal(412)).rejects.toMatchObject({
      code: "timestamp_out_of_tolerance",
      message: "The signature is right, but its timestamp is 412 s old, more than the 300 s allowed: sign each request as it is sent, with a clock that is right.",
    });
    if (futureAccepted(scheme)) await expect(refusal(-3600)).resolves.toBeUndefined();
    else {
      await expect(refusal(-3600)).rejects.toMatchObject({
        code: "timestamp_out_of_tolerance",
        message: "The signature is right, but its timestamp is 3600 s ahead of the current time, more than the 300 s allowed: sign each request as it is sent, with a clock that is right.",
      });
    }
  });
});

describe.each(TIMESTAMPED)("%s: the tolerance's edge", (_name, scheme, secret) => {
  const body = JSON.stringify({ type: "thing.happened" });

  it("takes a timestamp in whole seconds exactly the tolerance away late in the clock's second, and refuses one a second further", async () => {
    const second = Math.floor(Date.now() / 1000);
    const signed = await scheme.sign(secret, body, { timestamp: String(second) });
    // The clock `offset` whole seconds after the timestamp, 999 ms into its second.
    const at = (offset: number) => request(signed, body, (second + offset) * 1000 + 999);
    for (const offset of [300, -300]) expect(await outcome(scheme.verify(at(offset), [secret], 300))).toBe("accepted");
    for (const offset of [301, -301]) {
      const expected = offset < 0 && futureAccepted(scheme) ? "accepted" : "timestamp_out_of_tolerance";
      expect(await outcome(scheme.verify(at(offset), [secret], 300))).toBe(expected);
    }
  });
});

/** The schemes whose timestamp has a header of its own (not an entry of the signature's, as stripe's). */
const TIMESTAMP_HEADERS = TIMESTAMPED.flatMap(([name, scheme, secret]) => {
  const ts = scheme.spec.timestamp;
  return ts && "header" in ts ? [[name, scheme, secret, ts.header] as const] : [];
});

describe.each(TIMESTAMP_HEADERS)("%s: the timestamp header", (_name, scheme, secret, tsHeader) => {
  it("says so when it was sent twice", async () => {
    const body = "{}";
    const headers = new Headers(await scheme.sign(secret, body));
    headers.append(tsHeader, headers.get(tsHeader)!);
    await expect(scheme.verify({ headers, raw: utf8(body), now: Date.now() }, [secret], 300)).rejects.toThrow(`${tsHeader} was sent more than once`);
  });
});

describe.each(UNTIMESTAMPED)("%s: no timestamp", (_name, scheme, secret) => {
  it("sends the signature header alone, and verifies it at any time", async () => {
    const headers = await scheme.sign(secret, "{}", { now: 0 });
    expect(Object.keys(headers)).toEqual([scheme.spec.header]);
    expect(await outcome(scheme.verify(request(headers, "{}"), [secret], 300))).toBe("accepted");
  });
});

describe("podium", () => {
  it("says a millisecond timestamp out of tolerance by less than a second is out by a second, never the tolerance itself", async () => {
    const secret = "podium-scheme-secret";
    const now = Date.now();
    const signed = await podium.sign(secret, "{}", { now });
    // 300.4 s off: refused, and said as more than the 300 s allowed (rounded, it read "300 s old, more than the 300 s allowed").
    await expect(podium.verify(request(signed, "{}", now + 300_400), [secret], 300)).rejects.toThrow("its timestamp is 301 s old, more than the 300 s allowed");
    await expect(podium.verify(request(signed, "{}", now - 300_400), [secret], 300)).rejects.toThrow("its timestamp is 301 s ahead of the current time, more than the 300 s allowed");
  });

  it("signs in milliseconds, and accepts seconds, upper-case hex and a sha256= prefix", async () => {
    const secret = "podium-scheme-secret";
    const now = Date.now();
    const headers = await podium.sign(secret, "{}", { now });
    expect(headers).toEqual({ "podium-timestamp": String(now), "podium-signature": expect.stringMatching(/^[0-9a-f]{64}$/) });
    const signature = headers["podium-signature"]!;
    for (const sig of [signature.toUpperCase(), `sha256=${signature}`, `SHA256=${signature}`]) {
      expect(await outcome(podium.verify(request({ ...headers, "podium-signature": sig }, "{}"), [secret], 300))).toBe("accepted");
    }
    const seconds = await podium.sign(secret, "{}", { timestamp: String(Math.floor(now / 1000)) });
    expect(await outcome(podium.verify(request(seconds, "{}"), [secret], 300))).toBe("accepted");
  });
});

describe("standard-webhooks, against the standardwebhooks package", () => {
  const body = JSON.stringify({ type: "invoice.paid", data: { id: 1 } });

  it("signs what the package verifies, and verifies what the package signs", async () => {
    const secret = whsec();
    const ours = await standardWebhooks.sign(secret, body, { id: "msg_1" });
    expect(() => new Webhook(secret).verify(body, ours)).not.toThrow();
    const at = new Date();
    const theirs = {
      "webhook-id": "msg_2",
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign("msg_2", at, body),
    };
    expect(await outcome(standardWebhooks.verify(request(theirs, body), [secret], 300))).toBe("accepted");
    // A plain secret is its UTF-8 bytes.
    const plain = await standardWebhooks.sign("a-plain-secret", body);
    expect(() => new Webhook(utf8("a-plain-secret"), { format: "raw" }).verify(body, plain)).not.toThrow();
  });

  it("refuses, as the package does, its signature spelled otherwise (URL-safe, unpadded, other padding bits)", async () => {
    const secret = whsec();
    let headers: Record<string, string> = {};
    for (let i = 0; !/[+/]/.test(headers["webhook-signature"] ?? ""); i++) headers = await standardWebhooks.sign(secret, body, { id: `msg_${i}` });
    const mac = headers["webhook-signature"]!.slice("v1,".length);
    for (const [how, spelled] of Object.entries(otherSpellings(mac))) {
      const sent = { ...headers, "webhook-signature": `v1,${spelled}` };
      expect(() => new Webhook(secret).verify(body, sent), how).toThrow();
      expect(await outcome(standardWebhooks.verify(request(sent, body), [secret], 300)), how).toBe("invalid_signature");
    }
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
  });

  it("accepts any matching v1 entry among several, and ignores other versions", async () => {
    const secret = whsec();
    const good = await standardWebhooks.sign(secret, body, { id: "msg_3" });
    const other = await standardWebhooks.sign(whsec(), body, { id: "msg_3", timestamp: good["webhook-timestamp"] });
    const signature = `v2,${good["webhook-signature"]!.slice(3)} ${other["webhook-signature"]} ${good["webhook-signature"]}`;
    expect(await outcome(standardWebhooks.verify(request({ ...good, "webhook-signature": signature }, body), [secret], 300))).toBe("accepted");
    const versionOnly = `v2,${good["webhook-signature"]!.slice(3)}`;
    expect(await outcome(standardWebhooks.verify(request({ ...good, "webhook-signature": versionOnly }, body), [secret], 300))).toBe(
      "invalid_signature",
    );
  });

  it("refuses a whsec_ secret that is not base64 or under 24 bytes, with one clear reason; one stored before the rule verifies as the first release did while its key holds 16 bytes (the API and configuration refuse new ones)", async () => {
    expect(secretProblem(whsec())).toBeNull();
    expect(secretProblem("any-other-secret")).toBeNull();
    expect(secretProblem("whsec_!!!!not-base64!!!!")).toMatch(/not base64/);
    expect(secretProblem(`whsec_${btoa("twenty-three bytes long")}`)).toMatch(/at least 24 bytes.*has 23/);
    // Keyed as the first release keyed it (its standardWebhooksKey): a short key by its base64
    // bytes, as the package signs with it; one that is not base64 by its UTF-8 bytes. Never the
    // other way round: a short key's UTF-8 bytes sign nothing it takes.
    const short = "whsec_c3ctc2VjcmV0LXN3LXNlY3JldA==";
    const notBase64 = "whsec_!!!!not-base64!!!!";
    const at = new Date();
    const signed = (secret: string | Uint8Array, options?: { format: "raw" }) => ({
      "webhook-id": "msg_1",
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(secret, options).sign("msg_1", at, body),
    });
    expect(await outcome(standardWebhooks.verify(request(signed(short), body), [short], 300))).toBe("accepted");
    expect(await outcome(standardWebhooks.verify(request(signed(utf8(notBase64), { format: "raw" }), body), [notBase64], 300))).toBe("accepted");
    expect(await outcome(standardWebhooks.verify(request(signed(utf8(short), { format: "raw" }), body), [short], 300))).toBe("invalid_signature");
    for (const weak of [short, notBase64]) {
      expect(await outcome(standardWebhooks.verify(request(await standardWebhooks.sign(weak, body), body), [weak], 300)), weak).toBe("accepted");
    }
    // Unless its key is too short to hold (under 16 unknown bytes): anyone could guess it. Signing
    // with it (a webhook's, for its receivers) is unchanged.
    const bytes = (n: number) => `whsec_${btoa("k".repeat(n))}`;
    for (const [weak, verdict] of [
      ["whsec_Kg==", "invalid_signature"],
      ["whsec_AA", "invalid_signature"],
      [bytes(15), "invalid_signature"],
      [bytes(16), "accepted"],
      ["whsec_!!!!not-base64!", "invalid_signature"],
      ["whsec_!!!!not-base64!!!!", "accepted"],
    ] as const) {
      const signedWith = await standardWebhooks.sign(weak, body);
      expect(await outcome(standardWebhooks.verify(request(signedWith, body), [weak], 300)), weak).toBe(verdict);
      expect(await outcome(standardWebhooks.verify(request(signedWith, body), [weak, whsec()], 300)), weak).toBe(verdict);
    }
    const tiny = await signatureHeaders("whsec_Kg==", "evt_3", body, Date.now());
    expect(() => new Webhook("whsec_Kg==").verify(body, tiny)).not.toThrow();
  });

  it("signs with a malformed stored secret as it always did: its UTF-8 bytes (the one special case)", async () => {
    const stored = "whsec_!!!!not-base64!!!!";
    const headers = await signatureHeaders(stored, "evt_1", body, Date.now());
    expect(() => new Webhook(utf8(stored), { format: "raw" }).verify(body, headers)).not.toThrow();
    // A short but valid base64 key is signed with its short key, as the package does.
    const short = await signatureHeaders("whsec_Kg==", "evt_2", body, Date.now());
    expect(() => new Webhook("whsec_Kg==").verify(body, short)).not.toThrow();
  });
});

describe("outbound deliveries", () => {
  it("carry the Standard Webhooks and the Podium signature of one secret, id and time", async () => {
    const secret = whsec();
    const now = Date.now();
    const body = JSON.stringify({ metadata: { eventType: "message.received" } });
    const headers = await signatureHeaders(secret, "evt_abc", body, now);
    expect(headers).toEqual({
      ...(await standardWebhooks.sign(secret, body, { id: "evt_abc", now })),
      ...(await podium.sign(secret, body, { now })),
    });
    expect(headers["webhook-id"]).toBe("evt_abc");
    expect(headers["podium-timestamp"]).toBe(String(now));
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(await outcome(podium.verify(request(headers, body), [secret], 300))).toBe("accepted");
  });
});

describe("stripe, against the stripe package", () => {
  const secret = "whsec_stripe_scheme_secret_value";
  const body = JSON.stringify({ id: "evt_1", object: "event", type: "charge.succeeded" });
  const cryptoProvider = Stripe.createSubtleCryptoProvider();

  it("writes the header generateTestHeaderString writes, and the package verifies ours", async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const ours = await stripe.sign(secret, body, { timestamp: String(timestamp) });
    const theirs = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp, cryptoProvider });
    expect(ours["stripe-signature"]).toBe(theirs);
    const event = await Stripe.webhooks.constructEventAsync(body, ours["stripe-signature"]!, secret, 300, cryptoProvider);
    expect(event.id).toBe("evt_1");
    expect(await outcome(stripe.verify(request({ "stripe-signature": theirs }, body), [secret], 300))).toBe("accepted");
  });

  it("draws the tolerance's edge where the package does, at whole seconds, and takes a future timestamp as it does", async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp, cryptoProvider });
    // stripe-node refuses only `timestampAge > tolerance`: a timestamp ahead of the clock passes, here up to a day.
    for (const age of [300, 301, -301, -400, -86_400]) {
      const receivedAt = (timestamp + age) * 1000 + 999;
      const theirs = await Stripe.webhooks.constructEventAsync(body, header, secret, 300, cryptoProvider, receivedAt).then(
        () => "accepted",
        () => "timestamp_out_of_tolerance",
      );
      expect(await outcome(stripe.verify(request({ "stripe-signature": header }, body, receivedAt), [secret], 300))).toBe(theirs);
    }
    // Past a day ahead stripe-node would take it; Edgehook does not: sent again once its event is purged, it would be stored as new.
    await expect(stripe.verify(request({ "stripe-signature": header }, body, (timestamp - 86_401) * 1000), [secret], 300)).rejects.toMatchObject({
      code: "timestamp_out_of_tolerance",
      message: "The signature is right, but its timestamp is 86401 s ahead of the current time, more than the 86400 s allowed: sign each request as it is sent, with a clock that is right.",
    });
  });

  it("reads the header as the package's parseHeader does: split at commas, a key after a space is no t or v1", async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const good = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp, cryptoProvider });
    const other = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret: "whsec_other", timestamp, cryptoProvider });
    const [t, v1] = good.split(",");
    const otherV1 = other.split(",")[1];
    const headers = [`${t}, ${v1}`, `${t},${otherV1}, ${v1}`, `${v1}, ${t}`, `${t},${v1}`, `${t},${otherV1},${v1}`, `${other}, ${good}`, `${good}, ${other}`];
    const seen: string[] = [];
    for (const header of headers) {
      const theirs = await Stripe.webhooks.constructEventAsync(body, header, secret, 300, cryptoProvider).then(
        () => "accepted",
        () => "invalid_signature",
      );
      seen.push(theirs);
      expect(await outcome(stripe.verify(request({ "stripe-signature": header }, body), [secret], 300)), header).toBe(theirs);
    }
    // The package refuses the spaced ones, takes the others: both answers are tried.
    expect(seen).toEqual(["invalid_signature", "invalid_signature", "invalid_signature", "accepted", "accepted", "accepted", "accepted"]);
  });

  it("accepts any of several v1 signatures", async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const other = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret: "whsec_other", timestamp, cryptoProvider });
    const good = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp, cryptoProvider });
    const header = `${other},${good.split(",")[1]}`;
    expect(await outcome(stripe.verify(request({ "stripe-signature": header }, body), [secret], 300))).toBe("accepted");
    expect(await outcome(stripe.verify(request({ "stripe-signature": other }, body), [secret], 300))).toBe("invalid_signature");
  });

  it("refuses a v1 signature in upper-case hex, as the package does", async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const upper = upperHex(await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp, cryptoProvider }));
    await expect(Stripe.webhooks.constructEventAsync(body, upper, secret, 300, cryptoProvider)).rejects.toThrow();
    expect(await outcome(stripe.verify(request({ "stripe-signature": upper }, body), [secret], 300))).toBe("invalid_signature");
  });
});

describe("github, against @octokit/webhooks-methods", () => {
  it("writes the signature octokit writes, and each verifies the other's", async () => {
    const secret = "github-scheme-secret";
    const body = JSON.stringify({ action: "opened" });
    const ours = (await github.sign(secret, body))["x-hub-signature-256"]!;
    expect(ours).toBe(await octokitSign(secret, body));
    expect(await octokitVerify(secret, body, ours)).toBe(true);
    const theirs = await octokitSign(secret, body);
    expect(await outcome(github.verify(request({ "x-hub-signature-256": theirs }, body), [secret], 300))).toBe("accepted");
    expect(await outcome(github.verify(request({ "x-hub-signature-256": theirs.slice(7) }, body), [secret], 300))).toBe("invalid_signature");
  });

  // As octokit's Node build does (it compares `sha256=<hex>` with the one it computes, byte for byte)
  // and GitHub's own examples; the web build these tests import decodes hex in either case.
  it("refuses a signature in upper-case hex, as octokit's Node build does", async () => {
    const secret = "github-scheme-secret";
    const body = JSON.stringify({ action: "opened" });
    const upper = upperHex(await octokitSign(secret, body));
    expect(await outcome(github.verify(request({ "x-hub-signature-256": upper }, body), [secret], 300))).toBe("invalid_signature");
  });
});

/** The scheme each vector of scheme-vectors.json was made for, by the vector's name. */
const VECTOR_SCHEMES: Record<string, Scheme> = {
  shopify,
  slack,
  "hmac-sha1-hex": hmacScheme(hmacConfig({ algorithm: "SHA-1", prefix: "sha1=" })),
  "hmac-sha512-base64-timestamp": hmacScheme(hmacConfig({ algorithm: "SHA-512", encoding: "base64", timestampHeader: "x-ts" })),
};
type Vector = { secret: string; body: string; timestamp?: string; headers: Record<string, string> };
/** Every vector of the file (all but its `about`), so one added there is checked, or fails for want of its scheme. */
const VECTORS = Object.entries(vectors).flatMap(([name, v]): [string, Vector][] => (typeof v === "string" ? [] : [[name, v]]));

describe("shopify, slack and generic hmac, against vectors made with Node's createHmac", () => {
  it("reads the file's every vector", () => expect(VECTORS.map(([name]) => name)).toEqual(Object.keys(vectors).filter((k) => k !== "about")));

  it.each(VECTORS)("%s: its scheme signs the vector's headers and verifies them", async (name, v) => {
    const scheme = VECTOR_SCHEMES[name];
    if (!scheme) throw new Error(`no scheme for the vector ${name}: add it to VECTOR_SCHEMES`);
    expect(await scheme.sign(v.secret, v.body, { timestamp: v.timestamp })).toEqual(v.headers);
    expect(await outcome(scheme.verify(request(v.headers, v.body), [v.secret], 0))).toBe("accepted");
  });
});
