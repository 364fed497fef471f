// The dashboard's only stylesheet and script, served from the Worker so the
// Content-Security-Policy can stay at 'self'. Each is pieces joined, its comments beside them in
// this file, never in what the browser downloads (the bundle's budget: docs/performance.md).

export const CSS = [
  `:root { --fg:#1b1f24; --muted:#5b6470; --bg:#fff; --line:#d9dee5; --accent:#0b57d0; --ok:#137333; --bad:#b3261e; --warn:#8a5a00; --chip:#f1f3f6; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible { outline:3px solid #f9ab00; outline-offset:2px; }
.skip { position:absolute; left:-999px; } .skip:focus { left:8px; top:8px; background:#fff; padding:4px 8px; z-index:2; }
header.top { display:flex; flex-wrap:wrap; gap:12px; align-items:center; padding:10px 20px; border-bottom:1px solid var(--line); background:#f8f9fb; }
header.top .brand { font-weight:700; margin-right:12px; }
nav ul { display:flex; flex-wrap:wrap; gap:4px; list-style:none; margin:0; padding:0; }
nav a { display:block; padding:6px 10px; border-radius:6px; text-decoration:none; color:var(--fg); }
nav a[aria-current="page"] { background:var(--chip); font-weight:600; }
header.top form { margin-left:auto; }
main { padding:16px 20px 40px; max-width:1240px; }
h1 { font-size:1.4rem; margin:4px 0 14px; } h2 { font-size:1.1rem; margin:22px 0 8px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:.8rem; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
th[scope="row"] { text-transform:none; letter-spacing:0; }
td, th, dd, h1, h2, p, .mono { overflow-wrap:anywhere; }`,
  // A list item's long value (a $or explanation's pattern, an attempt's error) ran past a phone's edge; not the nav's words.
  `main li { overflow-wrap:anywhere; }`,
  // Column headings and buttons are words: broken anywhere, a squeezed table showed "Revok e" and "ATTEMPT S".
  `th[scope="col"], button { overflow-wrap:normal; }`,
  // A name broken only where it offers a break (DottedName's dots); a longer part still wraps at the column's edge.
  `td.word { overflow-wrap:break-word; } .anywhere { overflow-wrap:anywhere; }`,
  // Prose beside a long value (a URL), of which auto layout crushed it to a letter's width: room for its words, while its own long values (a URL in an error) still break anywhere.
  `td.prose { min-width:12em; }`,
  // A table wider than the screen scrolls sideways in its own box (a region the keyboard reaches, Scroll), the page never does.
  `.scroll { overflow-x:auto; max-width:100%; }
.scroll:focus-visible { outline:3px solid #f9ab00; outline-offset:2px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:.85rem; }
pre { background:#f6f8fa; border:1px solid var(--line); border-radius:6px; padding:10px; overflow:auto; max-height:480px; }`,
  // A downstream's answer is read, not laid out: one long line (a JSON error, an HTML page) was cut at the screen's edge.
  `pre.snippet { white-space:pre-wrap; overflow-wrap:anywhere; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:.8rem; background:var(--chip); }
.badge.succeeded { background:#e6f4ea; color:var(--ok); } .badge.failed { background:#fce8e6; color:var(--bad); }
.badge.pending { background:#fef7e0; color:var(--warn); } .badge.held, .badge.expired { background:#eceff1; }
form.filters { display:flex; flex-wrap:wrap; gap:8px 12px; align-items:end; margin-bottom:12px; }
label { display:flex; flex-direction:column; font-size:.8rem; color:var(--muted); gap:2px; }
input, select, textarea { font:inherit; padding:5px 7px; border:1px solid #b8c0cc; border-radius:6px; min-width:0; }
button { font:inherit; padding:5px 12px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--accent); } button.danger { background:#fff; color:var(--bad); border-color:var(--bad); }
.inline { display:inline; } .actions { display:flex; flex-wrap:wrap; gap:6px; }
.notice { padding:8px 12px; border-radius:6px; background:#e8f0fe; margin-bottom:12px; }
.notice.error { background:#fce8e6; color:var(--bad); }
.notice.warning { background:#fef7e0; color:var(--warn); }
.secret { padding:10px; border:2px dashed var(--warn); border-radius:6px; background:#fffaf0; word-break:break-all; }
.grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap:16px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px; }`,
  // A card's first heading at its top, as its other sides: an h2's own margin put 34 px above it.
  `.card > :first-child { margin-top:0; }
.kpis { display:flex; flex-wrap:wrap; gap:16px; } .kpi b { display:block; font-size:1.4rem; }
ol.timeline { list-style:none; padding:0; margin:6px 0; border-left:3px solid var(--line); }
ol.timeline li { padding:4px 0 4px 12px; }
.muted { color:var(--muted); } .required { color:var(--bad); }
svg.chart { width:100%; height:120px; } details.chart-table { font-size:.85rem; } details.chart-table summary { cursor:pointer; } svg.chart rect { fill:#6f9de8; } svg.chart rect.low { fill:#e57373; }
.stack > * + * { margin-top:10px; }
.narrow { max-width:440px; } label.check { flex-direction:row; gap:6px; align-items:center; }`,
  // Below 900 px a column too many (.wide) is shown in another cell instead (.unwide), and an input in a table's cell shrinks with its column: at its default width it held a phone's table past the screen.
  `@media (max-width: 900px) { th.wide, td.wide { display:none; } td input { width:100%; } }
@media (min-width: 901px) { .unwide { display:none; } }`,
  // On a phone a cell's side padding is halved: the sources table's words, whole, were 20 px past the screen. No column is hidden (WCAG 1.4.10: a token's grant was nowhere else): a table too wide scrolls in its .scroll box.
  `@media (max-width: 640px) { main { padding:12px; } th, td { padding:6px 4px; } header.top form { margin-left:0; } }`,
].join("\n");

/**
 * A form with `data-confirm` (a delete: a GET to its confirm page, which asks without JavaScript)
 * asks in a dialog instead, and accepted, posts the action; a form that posts is sent once. Then the live refresh of the events
 * list: every 5 s, its rows and the link past them again (both, or a page would skip what the new
 * rows pushed down) when they changed, unless the reader paged away, keeping the keyboard's place
 * in them. A session that ended answers a redirect to sign in: the refresh stops and says so, with
 * a sign-in back to here. A list refused for good (a 4xx: its source deleted, the token's scope
 * gone) stops too, its rows kept, and says so, with a reload that shows why.
 */
export const JS = [
  // A form that posts is sent once: a second press while the first is under way (a slow network)
  // made a second webhook, token or replay. Its buttons are disabled once it is sent, after the
  // browser has read the form (a disabled submitter is not sent), and again usable when the page
  // comes back from the back-forward cache.
  `function sent(form) {
  form.dataset.sent = "1";
  setTimeout(function () {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
  }, 0);
}
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.dataset.sent) {
    e.preventDefault();
    return;
  }
  var ask = form.dataset.confirm;
  if (!ask) {
    if (form.method === "post") sent(form);
    return;
  }
  e.preventDefault();
  if (!window.confirm(ask)) return;`,
  // Accepted: the dialog was the question its confirm page asks, so post the action itself.
  `  form.method = "post";
  sent(form);
  form.submit();
});
window.addEventListener("pageshow", function (e) {
  if (!e.persisted) return;
  Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (form) {
    delete form.dataset.sent;
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = false; });
  });
});
(function () {
  var rows = document.getElementById("event-rows");
  if (!rows || rows.dataset.live !== "1") return;
  var next = document.getElementById("event-next");
  var status = document.getElementById("live-status");
  if (status) status.textContent = "Live: new events appear every 5 seconds.";`,
  // The refresh stops for good, its rows kept, and the status (a live region) says why, with a link onward.
  // (A refresh still under way when it stops, started before, is dropped: it would say "Updated" over why.)
  `  var stopped = false;
  function stop(why, href, words) {
    stopped = true;
    clearInterval(timer);
    if (status) {
      status.textContent = "Not live any more: " + why + " ";
      var link = document.createElement("a");
      link.href = href;
      link.textContent = words;
      status.appendChild(link);
    }
    return null;
  }
  var timer = setInterval(function () {
    var url = new URL(location.href);
    url.searchParams.set("partial", "1");
    var here = location.pathname + location.search;
    fetch(url, { credentials: "same-origin", redirect: "manual" }).then(function (r) {
      if (stopped) return null;
      if (r.type === "opaqueredirect" || r.redirected) return stop("your session has ended.", "/dashboard/login?next=" + encodeURIComponent(here), "Sign in again");`,
  // Refused for good (its source deleted, the token's scope or organization gone): asking again
  // every 5 s would be refused alike, and the list would go on looking live. A 408 or 429 (too
  // many tries), a 5xx or a network error passes: the next refresh tries again.
  `      if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
        return stop("this list can no longer be shown as filtered.", here, "Reload the page to see why");
      }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (stopped || html === null) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      var freshRows = doc.getElementById("live-rows");
      var freshNext = doc.getElementById("live-next");
      if (!freshRows || !freshNext) return;`,
  // Nothing new: the rows stay as they are (so does a selection in them), and the status, a
  // live region that a screen reader reads out at each change, says nothing every 5 s.
  `      if (freshRows.innerHTML === rows.innerHTML && (!next || freshNext.innerHTML === next.innerHTML)) return;`,
  // Replacing the links under the keyboard's focus drops it to the page's top: it goes back to
  // the same event's link. That event gone, no longer matching the filter (delivered, off a
  // status=pending list), the row that took its place has it: the first of those after it still
  // listed. None left after it: that event and those after it pushed to the next page, the link
  // to that page; else (the list's end) the last row, and, the list empty, the list's box.
  `      var focused = document.activeElement;
      var inRows = rows.contains(focused), inNext = !!next && next.contains(focused);
      var hrefs = function () { return Array.prototype.map.call(rows.querySelectorAll("a"), function (a) { return a.getAttribute("href"); }); };
      var before = inRows ? hrefs() : [];
      var at = inRows ? before.indexOf(focused.getAttribute("href")) : -1;
      rows.innerHTML = freshRows.innerHTML;
      if (next) next.innerHTML = freshNext.innerHTML;
      if (inRows || inNext) {
        var links = rows.querySelectorAll("a"), listed = hrefs(), again = null;
        for (var i = at; i >= 0 && i < before.length && !again; i++) {
          var j = listed.indexOf(before[i]);
          if (j >= 0) again = links[j];
        }
        if (!again && next) again = next.querySelector("a");
        if (!again) again = links[links.length - 1] || rows.closest("[role=region]");
        if (again) again.focus({ preventScroll: true });
      }`,
  // In UTC, as the page's other times (layout.tsx's Time): the browser's own zone would go unsaid.
  `      if (status) status.textContent = "Updated " + new Date().toISOString().slice(0, 19).replace("T", " ") + "Z";
    }).catch(function () {});
  }, 5000);
})();`,
].join("\n");
