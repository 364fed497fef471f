// Where `edgehook send` posts: an ingress URL under a base URL's path, the source it names, and a
// redirect, which is reported (exit 1) rather than followed as a GET to another URL.
import { afterEach, describe, expect, it } from "vitest";
import { accepted, cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

describe("send's target", () => {
  it("is an ingress URL when its path ends in /webhooks/<source>, under a base URL's path too; one ending in /webhooks gets the source", async () => {
    const a = await fakeApi({ routes: { "POST /prefix/webhooks/podium": accepted(), "POST /webhooks/mine": accepted() } });
    const h = cliHome();
    for (const url of [`${a.url}/prefix/webhooks/podium`, `${a.url}/prefix`, `${a.url}/prefix/webhooks`, `${a.url}/webhooks/`]) {
      const r = await h.edgehook(["send", "--url", url, "--secret", "s", ...(url.endsWith("/webhooks/") ? ["--source", "mine"] : [])]);
      expect(r.code, `${url}: ${r.stderr}`).toBe(0);
    }
    expect(a.seen.map((s) => s.path)).toEqual(["/prefix/webhooks/podium", "/prefix/webhooks/podium", "/prefix/webhooks/podium", "/webhooks/mine"]);
  });

  it("--source must be a source id, and agree with the one an ingress --url names: else a usage error (exit 2), nothing sent", async () => {
    const a = await fakeApi({ routes: { "POST /webhooks/podium": accepted() } });
    const h = cliHome();
    for (const [args, said] of [
      [["--source", "podium?x=1"], '--source: "podium?x=1" is no source id (lowercase letters, digits and -, at most 64).'],
      [["--source", "../v1/tokens"], '--source: "../v1/tokens" is no source id'],
      [["--source", "Podium"], "is no source id"],
      [["--source", "x".repeat(65)], "is no source id"],
      [["--url", `${a.url}/webhooks/other`, "--source", "podium"], '--url names the source "other" and --source "podium": give one (an ingress URL names its source).'],
    ] as const) {
      const r = await h.edgehook(["send", "--secret", "s", ...(args[0] === "--url" ? [] : ["--url", a.url]), ...args]);
      expect(r.code, said).toBe(2);
      expect(r.stderr, said).toMatch(/^error: --(source:|url names) /);
      expect(r.stderr, said).toContain(said);
    }
    expect(a.seen).toEqual([]);
    // Given alike, they agree.
    expect((await h.edgehook(["send", "--secret", "s", "--url", `${a.url}/webhooks/podium`, "--source", "podium"])).code).toBe(0);
    expect(a.seen).toHaveLength(1);
  });

  it("a --type, --location, --organization or --event-uid given empty is a usage error naming it (exit 2), nothing sent", async () => {
    const a = await fakeApi({ routes: { "POST /webhooks/podium": accepted() } });
    const h = cliHome();
    for (const flag of ["--type", "--location", "--organization", "--event-uid"]) {
      const r = await h.edgehook(["send", "--url", a.url, "--secret", "s", flag, ""]);
      expect(r.code, flag).toBe(2);
      expect(r.stderr, flag).toMatch(new RegExp(`^error: ${flag}: empty; give an? [a-z ]+, or leave it out\\.\\n`));
    }
    expect(a.seen).toEqual([]);
  });

  it("answering 2xx but not as the ingress does (another program on the port) is no event sent: exit 1, as the API commands say it", async () => {
    const h = cliHome();
    for (const [answer, why] of [
      [new Status(200, { status: "ok" }), "the ingress answers an event 202"],
      [new Status(200, "ok", { "content-type": "text/plain" }), "not its JSON"],
      [new Status(202, { status: "ok" }), 'its JSON has no "eventId"'],
    ] as const) {
      const other = await fakeApi({ routes: { "POST /webhooks/podium": answer } });
      const r = await h.edgehook(["send", "--port", String(other.port), "--secret", "s"]);
      expect(r.code, why).toBe(1);
      expect(r.stdout, why).toBe("");
      expect(r.stderr, why).toBe(`error The URL answered ${answer.status}, but not as the Edgehook API does (${why}): is it the Worker's base URL?\n`);
    }
  });

  it("that redirects is reported as a redirect (status, Location without its query), exit 1, with a hint; never followed", async () => {
    const a = await fakeApi({ routes: { "GET /landing": { ok: true } } });
    const there = (location: string) => ({ "POST /webhooks/podium": new Status(302, undefined, { location }) });
    const moved = await fakeApi({ routes: { ...there(`${a.url}/landing?key=sekrit`) } });
    const h = cliHome();
    const r = await h.edgehook(["send", "--url", moved.url, "--secret", "s", "--count", "2"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout.trimEnd().split("\n")).toEqual(Array(2).fill(`POST ${moved.url}/webhooks/podium (message.received) → 302 redirect to ${a.url}/landing?…`));
    // Once a run; its target is no ingress URL to give.
    // Another server (another port) is not suggested.
    expect(r.stderr).toBe("The ingress URL redirects, and send does not follow (the POST would go on as a GET, without its event): is the URL right (https?).\n");
    expect(r.stdout + r.stderr).not.toContain("sekrit");
    expect(a.seen).toEqual([]);
    const json = await h.edgehook(["send", "--url", moved.url, "--secret", "s", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ url: `${moved.url}/webhooks/podium`, type: "message.received", status: 302, location: `${a.url}/landing?…` });
    // Moved on the same host (as http:// to https://): the URL to give instead; on another host, not.
    const samePlace = await fakeApi({ routes: there("/v2/webhooks/podium") });
    const moved2 = await h.edgehook(["send", "--url", samePlace.url, "--secret", "s"]);
    expect(moved2.code).toBe(1);
    expect(moved2.stderr).toContain(`give the URL it redirects to: --url ${samePlace.url}/v2/webhooks/podium.`);
    const https = await fakeApi({ routes: there("https://hooks.example.test/webhooks/podium") });
    const toHttps = await h.edgehook(["send", "--url", https.url, "--secret", "s"]);
    expect(toHttps.code).toBe(1);
    expect(toHttps.stderr).toContain("is the URL right (https?).");
  });
});
