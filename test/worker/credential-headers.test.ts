// Credential headers among a webhook's transformHeaders: write-only values, redacted in every read,
// kept when written back redacted, and sent for real by deliveries.
import { describe, expect, it } from "vitest";
import { isCredentialHeader, REDACTED, scrubCredentials } from "../../src/domain/credential-headers";
import { getWebhook } from "../../src/store/webhooks";
import { dashboardCookie, dashboardForm, call, type Answered } from "./helpers";
import { pipeline, received } from "./pipeline";
import { as, DATA_SCOPES, makeToken } from "./tokens";

// Values that must never come back from a read.
const BEARER = "Bearer sk_live_Zq81xW4vT0pLmN";
const API_KEY = "ak_7d1e5c0b9a3f";
const CREDENTIALS = {
  Authorization: `'${BEARER}'`,
  "X-Api-Key": `'${API_KEY}'`,
  "x-conversation": "metadata.eventType",
};

type P = ReturnType<typeof pipeline>;

/** A webhook on the fake downstream with the credential headers above. */
async function withCredentials(p: P) {
  return p.webhookOn("ok", { transformHeaders: CREDENTIALS });
}

/** Fails when an answer carries a credential's value anywhere in it. */
function expectNoCredential(answer: unknown, what: string) {
  const text = typeof answer === "string" ? answer : JSON.stringify(answer);
  expect(text, what).not.toContain("sk_live_Zq81xW4vT0pLmN");
  expect(text, what).not.toContain(API_KEY);
}

const SHOWN = { authorization: REDACTED, "x-api-key": REDACTED, "x-conversation": "metadata.eventType" };

/** What is stored for the webhook, as delivery reads it. */
async function stored(p: P, uid: string) {
  return (await getWebhook(p.env.DB, uid))?.transformHeaders;
}

/** The list page that holds the webhook, following cursors. */
async function listed(p: P, uid: string) {
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const res: Answered<"GET", "/v1/webhooks"> = await p.api("GET", `/v1/webhooks?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    expectNoCredential(res.json, "list");
    const found = res.json.data.find((w: { uid: string }) => w.uid === uid);
    if (found) return found;
    cursor = res.json.nextCursor;
    if (cursor === null) break;
  }
  throw new Error(`webhook ${uid} not listed`);
}

describe("credential headers are write-only", () => {
  it("takes names that look like credentials for credentials, in any case, and leaves the others", () => {
    for (const name of ["authorization", "Proxy-Authorization", "cookie", "Set-Cookie", "x-api-key", "X-Auth-Token", "x-client-secret", "x-hub-signature-256", "x-session-id", "x-db-password", "x-credentials", "X-Sig", "x-jwt", "x-passphrase", "x-bearer", "x-private", "x-hmac", "X-PWD", "x-otp", "x-pin", "X-Card-PIN", "x-access-code", "x_access_code", "x-otp.code"]) {
      expect(isCredentialHeader(name), name).toBe(true);
    }
    for (const name of ["x-conversation", "x-podium-event", "x-repository", "accept", "x-request-id", "x-shipping-method", "x-mapping", "x-typing", "x-ping", "x-opinion", "x-footprint", "x-hotpath", "x-country-code", "x-encoded-by", "x-access-level"]) {
      expect(isCredentialHeader(name), name).toBe(false);
    }
  });

  it("scrubs the credential values sent from what a downstream answers, one cut off by the snippet's end included", () => {
    const sent = { authorization: BEARER, "x-api-key": API_KEY, "x-trace": "trace-1234", cookie: "abc" };
    expect(scrubCredentials(`{"authorization":"${BEARER}","key":"${API_KEY}","trace":"trace-1234"}`, sent)).toBe(
      `{"authorization":"${REDACTED}","key":"${REDACTED}","trace":"trace-1234"}`,
    );
    expect(scrubCredentials(`echo: ${BEARER.slice(0, 11)}`, sent)).toBe(`echo: ${REDACTED}`);
    // Echoed without its scheme, or escaped as JSON writes it.
    const bare = BEARER.split(" ")[1]!;
    expect(scrubCredentials(`{"error":"invalid token ${bare}"}`, sent)).toBe(`{"error":"invalid token ${REDACTED}"}`);
    // As Go's encoding/json escapes <, > and & (\u003c…), and Python's json non-ASCII (\u00e9, a pair for an astral one), in either case of hex; cut off too.
    const odd = { "x-api-key": `k<&>é😀-${API_KEY}` };
    expect(scrubCredentials(`{"key":"k\\u003c\\u0026\\u003eé😀-${API_KEY}"}`, odd)).toBe(`{"key":"${REDACTED}"}`);
    expect(scrubCredentials(`{"key":"k<&>\\u00E9\\ud83d\\ude00-${API_KEY}"}`, odd)).toBe(`{"key":"${REDACTED}"}`);
    expect(scrubCredentials(`{"key":"k\\u003c\\u0026\\u003eé😀-${API_KEY.slice(0, 6)}`, odd)).toBe(`{"key":"${REDACTED}`);
    // A long value (a header holds up to 4,096 characters, its escaped forms more) is scrubbed as a short one.
    const long = { cookie: `sid=${"a1b2c3d4".repeat(1024)}` };
    expect(scrubCredentials(`echo ${encodeURIComponent(long.cookie)} end`, long)).toBe(`echo ${REDACTED} end`);
    // A value given with spaces round it is sent trimmed; a tab may part the scheme.
    expect(scrubCredentials(`got ${bare} back`, { authorization: `Bearer\t${bare} ` })).toBe(`got ${REDACTED} back`);
    const basic = { authorization: "Basic dXNlcjpwYXNz/d29yZA==" };
    expect(scrubCredentials(`{"sent":"Basic dXNlcjpwYXNz\\/d29yZA=="}`, basic)).toBe(`{"sent":"${REDACTED}"}`);
    // Quoted in a URL (a redirect's query, a logged request line) or in an HTML error page.
    expect(scrubCredentials(`<a href="/login?next=x&amp;t=${encodeURIComponent("Basic dXNlcjpwYXNz/d29yZA==")}">`, basic)).toBe(`<a href="/login?next=x&amp;t=${REDACTED}">`);
    const quoting = { "x-api-key": `k"<&>'${API_KEY}` };
    expect(scrubCredentials(`<p>bad key k&quot;&lt;&amp;&gt;'${API_KEY}</p>`, quoting)).toBe(`<p>bad key ${REDACTED}</p>`);
    expect(scrubCredentials(`<p>bad key k&#34;&#60;&#38;&#62;&#39;${API_KEY}</p>`, quoting)).toBe(`<p>bad key ${REDACTED}</p>`);
    // As Python's html.escape and Go's html.EscapeString write it; a base64 `+` as html/template writes it; lower-case hex.
    expect(scrubCredentials(`<p>k&quot;&lt;&amp;&gt;&#x27;${API_KEY}</p>`, quoting)).toBe(`<p>${REDACTED}</p>`);
    expect(scrubCredentials(`<p>k&#34;&lt;&amp;&gt;&#39;${API_KEY}</p>`, quoting)).toBe(`<p>${REDACTED}</p>`);
    // As PHP's htmlspecialchars writes it (the re-audit's).
    expect(scrubCredentials(`<p>k&quot;&lt;&amp;&gt;&#039;${API_KEY}</p>`, quoting)).toBe(`<p>${REDACTED}</p>`);
    const plus = { authorization: "Bearer abc+def/ghi+jkl=" };
    expect(scrubCredentials(`<p>abc&#43;def/ghi&#43;jkl=</p>`, plus)).toBe(`<p>${REDACTED}</p>`);
    expect(scrubCredentials(`next=abc%2bdef%2fghi%2bjkl%3d`, plus)).toBe(`next=${REDACTED}`);
    // A value of several words after its scheme: echoed without the scheme, whole (once), escaped, or in part.
    const words = { authorization: "Bearer acct-9F3K2 sk-7Qw9Zp2LmX" };
    expect(scrubCredentials("invalid credentials: acct-9F3K2 sk-7Qw9Zp2LmX", words)).toBe(`invalid credentials: ${REDACTED}`);
    expect(scrubCredentials(`{"error":"bad acct-9F3K2\tsk-7Qw9Zp2LmX"}`, { authorization: "Bearer acct-9F3K2\tsk-7Qw9Zp2LmX" })).toBe(`{"error":"bad ${REDACTED}"}`);
    expect(scrubCredentials("GET /cb?t=acct-9F3K2%20sk-7Qw9Zp2LmX", words)).toBe(`GET /cb?t=${REDACTED}`);
    expect(scrubCredentials("unknown account acct-9F3K2, key sk-7Qw9Zp2LmX", words)).toBe(`unknown account ${REDACTED}, key ${REDACTED}`);
    // With no scheme, the first word is a part too; a scheme's name, and a word under 8 characters, is not looked for alone.
    expect(scrubCredentials("unknown account acct-9F3K2", { "x-api-key": "acct-9F3K2 sk-7Qw9Zp2LmX" })).toBe(`unknown account ${REDACTED}`);
    expect(scrubCredentials("WWW-Authenticate: Negotiate; v1 only", { authorization: "Negotiate v1 YIIGhgYGKwYBBQUC" })).toBe("WWW-Authenticate: Negotiate; v1 only");
    // Words parted by `,` and `;` too, each looked for as its value: after `name=`, without quotes; a value's part before its first `/` alone.
    const cookie = { cookie: "sid=abcdef123456; theme=dark" };
    expect(scrubCredentials("invalid session: sid=abcdef123456 expired", cookie)).toBe(`invalid session: sid=${REDACTED} expired`);
    expect(scrubCredentials("theme=dark kept", cookie)).toBe("theme=dark kept");
    expect(scrubCredentials(`session "abcdef123456" unknown`, { cookie: `sid="abcdef123456"` })).toBe(`session "${REDACTED}" unknown`);
    const sigV4 = {
      authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    };
    expect(scrubCredentials("<AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><SignatureProvided>5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7</SignatureProvided>", sigV4)).toBe(
      `<AWSAccessKeyId>${REDACTED}</AWSAccessKeyId><SignatureProvided>${REDACTED}</SignatureProvided>`,
    );
    expect(scrubCredentials("bad scope AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request", sigV4)).toBe(`bad scope ${REDACTED}`);
    // Names are not secrets: a parameter's name, the scheme, a hyphenated name (a header's, an algorithm's), a SigV4 scope's other parts.
    expect(scrubCredentials("expected AWS4-HMAC-SHA256 with SignedHeaders=host;x-amz-date,", sigV4)).toBe("expected AWS4-HMAC-SHA256 with SignedHeaders=host;x-amz-date,");
    expect(scrubCredentials("region us-east-1 is wrong; expected aws4_request on 20260101", sigV4)).toBe("region us-east-1 is wrong; expected aws4_request on 20260101");
    const signature = { signature: `keyId="k-7Qw9Zp2LmX",algorithm="hmac-sha256",headers="(request-target) host date",signature="c2lnbmF0dXJlIGhlcmU="` };
    expect(scrubCredentials("unsupported algorithm hmac-sha256 for key k-7Qw9Zp2LmX: (request-target) host", signature)).toBe(
      `unsupported algorithm hmac-sha256 for key ${REDACTED}: (request-target) host`,
    );
    // A word cut off by the snippet's end counts from 8 characters (its first few, `acct`, are common text); the whole value as sent, and a single token after its scheme, from 4.
    expect(scrubCredentials(`{"account":"acct`, words)).toBe(`{"account":"acct`);
    expect(scrubCredentials(`{"account":"acct-9F3`, words)).toBe(`{"account":"${REDACTED}`);
    expect(scrubCredentials(`{"token":"sk_l`, sent)).toBe(`{"token":"${REDACTED}`);
    // So too a value with a `/`, whose part before it is also a form on its own: replacing that part first must not leave what follows.
    const slashed = "AbCdEfGhIj/KlMnOpQrStUvWxYz0123456789";
    const cutSlashed: [string, string][] = [
      [slashed, slashed],
      [`Bearer ${slashed}`, `Bearer ${slashed}`],
      [slashed, slashed.replace("/", "\\/")],
      [`Bearer ${slashed}`, encodeURIComponent(slashed)],
      ["sk_live_Abc/Def+Ghi=Jkl?Mno&Pqr", "sk_live_Abc/Def+Ghi=Jkl?Mno&Pqr"],
    ];
    for (const [header, echoed] of cutSlashed) {
      expect(scrubCredentials(`${"x".repeat(9)}${echoed.slice(0, 30)}`, { "x-api-key": header }), echoed).toBe(`${"x".repeat(9)}${REDACTED}`);
    }
    // In any case of letters (a receiver upper-casing what it echoes), whole or cut off.
    expect(scrubCredentials(`{"keyUpper":"${API_KEY.toUpperCase()}"}`, sent)).toBe(`{"keyUpper":"${REDACTED}"}`);
    expect(scrubCredentials(`TOKEN: ${BEARER.toUpperCase().slice(0, 12)}`, sent)).toBe(`TOKEN: ${REDACTED}`);
    // In base64, as sent and without its scheme (standard or URL-safe, padded or not), whole or cut off from 8 characters.
    const b64 = (s: string) => btoa(s);
    const pad = { authorization: "Bearer abc+def/ghi==XYZ123" };
    expect(scrubCredentials(`{"b64":"${b64(pad.authorization)}"}`, pad)).toBe(`{"b64":"${REDACTED}"}`);
    expect(scrubCredentials(`raw=${b64("abc+def/ghi==XYZ123").replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}.`, pad)).toBe(`raw=${REDACTED}.`);
    expect(scrubCredentials(`got ${b64("abc+def/ghi==XYZ123").slice(0, 10)}`, pad)).toBe(`got ${REDACTED}`);
    expect(scrubCredentials(`got ${b64(pad.authorization).slice(0, 20)}`, pad)).toBe(`got ${REDACTED}`);
    // What spells no more than the public scheme, in any case, whole or in base64, is ordinary text.
    for (const said of ["expected scheme: basic", "token type must be bearer", "token type must be BEARER a", `header ${b64("Bearer ")}`]) {
      expect(scrubCredentials(said, { authorization: "Bearer abc+def/ghi==XYZ123", cookie: `Basic ${b64("admin:hunter2-Secret!")}` }), said).toBe(said);
    }
    // A Basic value decoded: the pair, and each side of 8 characters or more (not a name) alone.
    const decoded = { authorization: `Basic ${b64("ops_user_7731:hunter2-Secret!")}` };
    expect(scrubCredentials("login ops_user_7731:hunter2-Secret! refused", decoded)).toBe(`login ${REDACTED} refused`);
    expect(scrubCredentials("unknown user ops_user_7731; password hunter2-Secret! wrong", decoded)).toBe(`unknown user ${REDACTED}; password ${REDACTED} wrong`);
    expect(scrubCredentials("Basic realm=api", { authorization: `Basic ${b64("\u00ff\u00fe:x")}` })).toBe("Basic realm=api");
    // The user name before the pair's colon is public: "role Admin" is no cut-off copy of "admin:…".
    expect(scrubCredentials("role Admin", { authorization: `Basic ${b64("admin:hunter2-Secret!")}` })).toBe("role Admin");
    // A value (or the part of one cut off) too short to be looked for: it would match by chance. A header not a credential's; nothing answered.
    expect(scrubCredentials("abc trace-1234 Bea", sent)).toBe("abc trace-1234 Bea");
    expect(scrubCredentials(null, sent)).toBeNull();
  });

  it("answers a credential header's value as the marker in create, get, list, PATCH, PUT and the test answer; other headers as stored", async () => {
    const p = pipeline();
    const { webhook, event, key } = await withCredentials(p);
    expectNoCredential(webhook, "create");
    expect(webhook.transformHeaders).toEqual(SHOWN);

    const got = await p.api("GET", `/v1/webhooks/${webhook.uid}`);
    expectNoCredential(got.json, "get");
    expect(got.json.transformHeaders).toEqual(SHOWN);
    expect((await listed(p, webhook.uid)).transformHeaders).toEqual(SHOWN);

    const patched = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { maxAttempts: 3 });
    expect(patched.status).toBe(200);
    expectNoCredential(patched.json, "patch");
    expect(patched.json.transformHeaders).toEqual(SHOWN);

    const put = await p.api("PUT", `/v1/webhooks/${webhook.uid}`, { url: webhook.url, eventTypes: ["*"], transformHeaders: SHOWN });
    expect(put.status).toBe(200);
    expectNoCredential(put.json, "put");
    expect(put.json.transformHeaders).toEqual(SHOWN);

    const id = await p.ingest(event());
    const test = await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id });
    expect(test.status).toBe(200);
    expectNoCredential(test.json, "test");
    expect(test.json.request.headers).toMatchObject({ authorization: REDACTED, "x-api-key": REDACTED, "x-conversation": "message.received" });

    // The delivery itself sends the real values.
    await p.deliver();
    const [req] = await received(key);
    expect(req!.headers).toMatchObject({ authorization: BEARER, "x-api-key": API_KEY, "x-conversation": "message.received" });
  });

  it("shows a credential header's failure in the test answer and the delivery's attempt without quoting its expression", async () => {
    const p = pipeline();
    // JSONata's message for this one quotes the literal: `Unable to cast value to a number: "Bearer sk_…"`.
    const { webhook, event } = await p.webhookOn("ok", { transformHeaders: { authorization: `$number('${BEARER}')`, "x-conversation": "metadata.eventType" } });
    const id = await p.ingest(event());
    const test = await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id });
    expect(test.status).toBe(200);
    expectNoCredential(test.json, "test of a failing credential header");
    expect(test.json.request).toBeNull();
    expect(test.json.transformError).toMatch(/^transformHeaders\["authorization"\]: JSONata error D3030 \(at position 8\); /);

    await p.deliver();
    const [d] = (await p.api("GET", `/v1/events/${id}`)).json.deliveries;
    expect(d).toMatchObject({ status: "failed", attemptCount: 1 });
    expectNoCredential(d, "attempt");
    // The test answer shows no more, so the attempt does not send there for it.
    expect(d.attempts[0].error).toBe(`transformation failed, not retried: ${test.json.transformError}`);
  });

  it("keeps a stored value written back as the marker (GET, edit one header, PATCH it all back), and the next delivery sends the real value", async () => {
    const p = pipeline();
    const { webhook, event, key } = await withCredentials(p);
    const shown = (await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.transformHeaders;
    const patched = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { transformHeaders: { ...shown, "x-conversation": "'changed'" } });
    expect(patched.status).toBe(200);
    expect(patched.json.transformHeaders).toEqual({ ...SHOWN, "x-conversation": "'changed'" });
    expect(await stored(p, webhook.uid)).toEqual({ authorization: `'${BEARER}'`, "x-api-key": `'${API_KEY}'`, "x-conversation": "'changed'" });

    await p.ingest(event());
    await p.deliver();
    const [req] = await received(key);
    expect(req!.headers).toMatchObject({ authorization: BEARER, "x-api-key": API_KEY, "x-conversation": "changed" });
  });

  it("refuses the marker for a header not stored, and on create, with 400 invalid_request naming the header, storing nothing", async () => {
    const p = pipeline();
    const { webhook, org } = await withCredentials(p);
    const unknown = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { transformHeaders: { ...SHOWN, "X-Session-Token": REDACTED }, maxAttempts: 2 });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe("invalid_request");
    expect(unknown.json.error.message).toContain("transformHeaders.x-session-token");
    expect(unknown.json.error.details.issues).toEqual([{ path: "transformHeaders.x-session-token", message: expect.stringContaining("stores none") }]);
    expect(await stored(p, webhook.uid)).toEqual({ authorization: `'${BEARER}'`, "x-api-key": `'${API_KEY}'`, "x-conversation": "metadata.eventType" });
    expect((await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.maxAttempts).not.toBe(2);

    const created = await p.api("POST", "/v1/webhooks", {
      url: "https://downstream.test/ok/never",
      eventTypes: ["*"],
      organizationUid: org,
      transformHeaders: { authorization: REDACTED },
    });
    expect(created.status).toBe(400);
    expect(created.json.error.code).toBe("invalid_request");
    expect(created.json.error.details.issues).toEqual([{ path: "transformHeaders.authorization", message: expect.stringContaining("stores none") }]);
  });

  it("takes stored credentials to a new URL only when they are given again, so a webhooks:write token cannot have them sent to itself", async () => {
    const p = pipeline();
    const { webhook, key, org, event } = await withCredentials(p);
    const writer = await makeToken(p, ["webhooks:write", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    const elsewhere = "https://collector.example.com/hook";
    const samehost = `https://downstream.test/ok/${key}-inbox-of-someone-else`;
    for (const change of [{ url: elsewhere }, { url: elsewhere, transformHeaders: SHOWN }, { url: samehost }]) {
      const refused = await as(p, writer.token, "PATCH", `/v1/webhooks/${webhook.uid}`, change);
      expect(refused.status).toBe(400);
      expect(refused.json.error.code).toBe("invalid_request");
      expect(refused.json.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(["transformHeaders.authorization", "transformHeaders.x-api-key"]);
    }
    // A URL that is none is refused as such, before what it would receive.
    for (const url of ["", "not a url"]) {
      const none = await as(p, writer.token, "PATCH", `/v1/webhooks/${webhook.uid}`, { url });
      expect(none.status).toBe(400);
      expect(none.json.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["url"]);
    }
    const put = await p.api("PUT", `/v1/webhooks/${webhook.uid}`, { url: elsewhere, eventTypes: ["*"], transformHeaders: SHOWN });
    expect(put.status).toBe(400);
    expect((await getWebhook(p.env.DB, webhook.uid))?.url).toBe(webhook.url);

    // Any other change keeps them; a new URL takes what is given anew, and nothing left out.
    expect((await as(p, writer.token, "PATCH", `/v1/webhooks/${webhook.uid}`, { maxAttempts: 3 })).status).toBe(200);
    const moved = await as(p, writer.token, "PATCH", `/v1/webhooks/${webhook.uid}`, {
      url: `https://downstream.test/ok/${key}-v2`,
      transformHeaders: { authorization: "'Bearer for the new place'", "x-conversation": REDACTED },
    });
    expect(moved.status).toBe(200);
    expect(await stored(p, webhook.uid)).toEqual({ authorization: "'Bearer for the new place'", "x-conversation": "metadata.eventType" });
    await p.ingest(event());
    await p.deliver();
    const [req] = await received(`${key}-v2`);
    expect(req!.headers.authorization).toBe("Bearer for the new place");
    expect(req!.headers["x-api-key"]).toBeUndefined();
  });

  it("removes a header left out of the object, and the next delivery does not send it", async () => {
    const p = pipeline();
    const { webhook, event, key } = await withCredentials(p);
    const { authorization: _gone, ...rest } = SHOWN;
    const patched = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { transformHeaders: rest });
    expect(patched.status).toBe(200);
    expect(patched.json.transformHeaders).toEqual(rest);
    expect(await stored(p, webhook.uid)).toEqual({ "x-api-key": `'${API_KEY}'`, "x-conversation": "metadata.eventType" });

    await p.ingest(event());
    await p.deliver();
    const [req] = await received(key);
    expect(req!.headers.authorization).toBeUndefined();
    expect(req!.headers["x-api-key"]).toBe(API_KEY);
  });

  it("shows the marker on the dashboard's webhook page, and saving the form as shown keeps the stored values", async () => {
    const p = pipeline();
    const { webhook, event, key } = await withCredentials(p);
    const cookie = await dashboardCookie();
    const html = await (await call(new Request(`https://edgehook.test/dashboard/webhooks/${webhook.uid}`, { headers: { cookie } }))).text();
    expectNoCredential(html, "dashboard page");
    const box = /<textarea[^>]*name="transformHeaders"[^>]*>([\s\S]*?)<\/textarea>/.exec(html)?.[1] ?? "";
    const shown = box.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
    expect(JSON.parse(shown)).toEqual(SHOWN);

    const saved = await dashboardForm(`/dashboard/webhooks/${webhook.uid}`, cookie, { url: String(webhook.url), eventTypes: "*", transformHeaders: shown });
    expect(saved.headers.get("location")).toContain("notice=");
    expect(await stored(p, webhook.uid)).toEqual({ authorization: `'${BEARER}'`, "x-api-key": `'${API_KEY}'`, "x-conversation": "metadata.eventType" });
    await p.ingest(event());
    await p.deliver();
    expect((await received(key))[0]!.headers.authorization).toBe(BEARER);
  });
});
