import { Scalar } from "@scalar/hono-api-reference";
import type { Context, Next } from "hono";
import { bytesToBase64, utf8 } from "../domain/crypto";

/**
 * The reference's browser bundle, served same-origin by Workers Static Assets
 * (public/, filled by scripts/docs-assets.mjs from the pinned
 * @scalar/api-reference): nothing on this origin comes from a CDN.
 */
const DOCS_BUNDLE_PATH = "/docs/api-reference.js";

const reference = Scalar({
  url: "/openapi.json",
  pageTitle: "Edgehook API",
  cdn: DOCS_BUNDLE_PATH,
  // Fonts and telemetry would come from Scalar's servers: system fonts, and nothing sent.
  withDefaultFonts: false,
  telemetry: false,
  // Nothing that offers Scalar's hosted services (its AI chat, SDK generation, sharing) on a self-hosted page.
  agent: { disabled: true },
  showDeveloperTools: "never",
  // Every group open, as the reference was before its operations had tags: Scalar opens only the
  // first by default, and the rest would be out of the page until clicked (nor found by the browser's find).
  defaultOpenAllTags: true,
});

async function sha256Base64(text: string): Promise<string> {
  return bytesToBase64(await crypto.subtle.digest("SHA-256", utf8(text)));
}

/**
 * GET /docs: the interactive reference, under a Content-Security-Policy that
 * allows scripts from this origin and its own inline scripts (by hash) only;
 * nothing else may run or be framed.
 */
export async function docsPage(c: Context, next: Next): Promise<Response> {
  const res = await reference(c, next);
  if (!(res instanceof Response)) return c.text("The API reference is unavailable.", 500);
  // No icon of its own: say so, as the dashboard does, rather than have browsers ask for /favicon.ico.
  const html = (await res.text()).replace("</head>", '  <link rel="icon" href="data:," />\n  </head>');
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
  const hashes = await Promise.all(inline.map(async (s) => `'sha256-${await sha256Base64(s)}'`));
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(" ")}`.trim(),
    // The reference styles itself at run time.
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return new Response(html, {
    status: res.status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
    },
  });
}
