// The page a secret made through a form is shown on, once (reveal.ts keeps it until then).
import { Hono } from "hono";
import { SecretOnce } from "../pages/webhooks";
import { page } from "../respond";
import { takenReveal } from "../reveal";
import type { DashEnv } from "../session";

export const createdRoutes = new Hono<DashEnv>();

// Without a key (or once taken): what to do about a secret not copied.
createdRoutes.get("/created/:key?", async (c) => {
  const key = c.req.param("key");
  // A HEAD (a link checker, a prefetch) would take the secret with a page no one sees.
  const taken = key === undefined || c.req.method === "HEAD" ? null : await takenReveal(c, key);
  if (!taken) {
    return page(
      c,
      "Shown once",
      "/dashboard",
      <p>
        A signing secret is shown once, on the page right after the form that made it. If it was not copied then, give the
        webhook a new one through the API (<code>PATCH /v1/webhooks/&#123;uid&#125;</code> with <code>secret</code>, or{" "}
        <code>npx edgehook webhooks update &lt;uid&gt; --secret …</code>), or make the notification endpoint again. An API token
        is shown once too: make another on the <a href="/dashboard/tokens">Tokens</a> page and revoke the one not copied.
      </p>,
    );
  }
  return page(c, taken.reveal.title, taken.reveal.nav, <SecretOnce what={taken.reveal.what} secret={taken.secret} href={taken.reveal.href} />);
});
