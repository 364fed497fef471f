// `edgehook send --type` with a type Podium does not send (a typo) warns, naming the nearest one, and sends it as given.
import { afterEach, describe, expect, it } from "vitest";
import { accepted, cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

const typeSent = (body: unknown) => (body as { metadata: { eventType: string } }).metadata.eventType;

describe("send --type", () => {
  it("warns on stderr of a type that is not Podium's, naming the closest, and sends it all the same, its exit status the answer's", async () => {
    const a = await fakeApi({ routes: { "POST /webhooks/podium": accepted(), "POST /webhooks/off": new Status(401, { error: { code: "invalid_signature", message: "…" } }) } });
    const h = cliHome();
    const typo = await h.edgehook(["send", "--type", "message.recieved", "--url", a.url, "--secret", "s", "--json"]);
    expect(typo.code, typo.stderr).toBe(0);
    expect(typo.stderr).toContain('warning: "message.recieved" is not a Podium event type; the closest is "message.received". Sending it as given.');
    expect(JSON.parse(typo.stdout)).toMatchObject({ type: "message.recieved", status: 202 }); // stdout stays JSON lines
    expect(a.seen.map((s) => typeSent(s.body))).toEqual(["message.recieved"]);

    const refused = await h.edgehook(["send", "--type", "invoice.refund_faild", "--url", `${a.url}/webhooks/off`, "--secret", "s"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the closest is "invoice.refund_failed"');

    for (const type of ["message.received", "review.invite_link_updated"]) {
      const known = await h.edgehook(["send", "--type", type, "--url", a.url, "--secret", "s"]);
      expect(known.code, known.stderr).toBe(0);
      expect(known.stderr, type).not.toContain("warning");
    }
    expect(a.seen.map((s) => typeSent(s.body))).toEqual(["message.recieved", "invoice.refund_faild", "message.received", "review.invite_link_updated"]);
  });
});
