import { describe, expect, it } from "vitest";
import { call } from "./helpers";

const url = (path: string) => `https://edgehook.test${path}`;

async function signIn(token = "test-admin-token") {
  const res = await call(
    new Request(url("/dashboard/login"), {
      method: "POST",
      headers: { origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }),
    }),
  );
  return res;
}

describe("dashboard sessions and security", () => {
  it("sends visitors without a session to sign in", async () => {
    const res = await call(new Request(url("/dashboard/events")));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/login");
  });

  it("keeps the token in an HttpOnly, Secure, SameSite=Strict cookie, and refuses a wrong token", async () => {
    const ok = await signIn();
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^edgehook_session=/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Strict");
    const bad = await signIn("nope");
    expect(bad.headers.get("location")).toContain("/dashboard/login?error=");
    expect(bad.headers.get("set-cookie")).toBeNull();
  });

  it("refuses actions posted from another origin (CSRF)", async () => {
    const cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
    const res = await call(
      new Request(url("/dashboard/webhooks"), {
        method: "POST",
        headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ url: "https://downstream.test/ok/csrf", eventTypes: "*" }),
      }),
    );
    expect(res.status).toBe(403);
  });

  it("sends a strict Content-Security-Policy and the usual security headers", async () => {
    const cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
    const res = await call(new Request(url("/dashboard/events"), { headers: { cookie } }));
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    const html = await res.text();
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script
  });

  it("shows a catch-all webhook as such, in the list and on its page", async () => {
    const cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
    const key = crypto.randomUUID().slice(0, 8);
    const created = await call(
      new Request(url("/v1/webhooks"), {
        method: "POST",
        headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
        body: JSON.stringify({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], sourceIds: [`nothing-${key}`] }),
      }),
    );
    const { uid } = (await created.json()) as { uid: string };
    const list = await (await call(new Request(url("/dashboard/webhooks"), { headers: { cookie } }))).text();
    const row = list.slice(list.indexOf(`/dashboard/webhooks/${uid}`));
    expect(row.slice(0, row.indexOf("</tr>"))).toContain("catch-all");
    const page = await (await call(new Request(url(`/dashboard/webhooks/${uid}`), { headers: { cookie } }))).text();
    expect(page).toContain("catch-all");
  });

  it("serves /docs under a CSP that allows only its own inline scripts, by hash", async () => {
    const res = await call(new Request(url("/docs")));
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src [^;]*'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toMatch(/script-src [^;]*'unsafe-inline'/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});
