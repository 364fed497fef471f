import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { hasScope, type Principal } from "../domain/scopes";
import { cutShort } from "../domain/cut-short";
import { legible } from "../domain/legible";
import { DATA_SCOPE_OF_OBJECT } from "../domain/event-types";
import { NAV } from "./navigation";

/**
 * A dashboard page. Its banners: a notice, the API's warnings about what it saved (a notice too,
 * told apart by its colour), and errors, each shown once (an action that found a webhook gone
 * leads to its page, which finds it gone too, with the same message). `title` names the page
 * apart from every other (a webhook's by its URL); `heading`, its h1, may be shorter. A page
 * showing an error is titled "Error: …", the first thing a screen reader says of it.
 */
export function Layout(props: {
  title: string;
  heading?: string;
  path: string;
  principal?: Principal;
  notice?: string | undefined;
  warnings?: string[] | undefined;
  errors?: (string | undefined)[];
  /**
   * Its first error, else its notice (else first warning), takes the focus on load: a refused form's
   * page whose field none was marked (Invalid), or a page an action redirected back to, so a screen
   * reader says what happened and the keyboard goes on from there, not from the top.
   */
  focusBanner?: boolean;
  children: Child;
}) {
  const p = props.principal;
  const errors = [...new Set(props.errors?.filter((e): e is string => e !== undefined && e !== ""))];
  const focus = props.focusBanner ? (errors.length > 0 ? "error" : props.notice ? "notice" : "warning") : null;
  return (
    <>
    {raw("<!DOCTYPE html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${errors.length > 0 ? "Error: " : ""}${legible(props.title)} · Edgehook`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/dashboard/assets/app.css" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <span class="brand">Edgehook</span>
          {p && (
            <nav aria-label="Main">
              <ul>
                {NAV.filter((n) => hasScope(p, n.scope)).map((n) => (
                  <li>
                    <a href={n.href} aria-current={props.path === n.href ? "page" : undefined}>
                      {n.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {p && (
            <form method="post" action="/dashboard/logout">
              <button type="submit" class="secondary">
                Sign out
              </button>
            </form>
          )}
        </header>
        <main id="main">
          <h1>{legible(props.heading ?? props.title)}</h1>
          {props.notice && (
            <p class="notice" role="status" {...focused(focus === "notice")}>
              {legible(props.notice)}
            </p>
          )}
          {props.warnings?.map((w, i) => (
            <p class="notice warning" role="status" {...focused(i === 0 && focus === "warning")}>
              {legible(w)}
            </p>
          ))}
          {/* The first is the one a refused form's field names (aria-describedby) or, none marked, where the focus starts. */}
          {errors.map((e, i) => (
            <p class="notice error" role="alert" id={i === 0 ? ERROR_ID : undefined} {...focused(i === 0 && focus === "error")}>
              {legible(e)}
            </p>
          ))}
          {props.children}
        </main>
        <script src="/dashboard/assets/app.js" defer></script>
      </body>
    </html>
    </>
  );
}

/** A banner's attributes when it takes the focus on load (Layout's focusBanner). */
const focused = (on: boolean) => (on ? { tabindex: -1, autofocus: true } : {});

/** The id of a page's first error, which a refused form's field is described by. */
const ERROR_ID = "page-error";

/**
 * The attributes of a form's field named `name` when a refusal named it (`invalid`): marked invalid,
 * described by the page's error, and focused, so a screen reader says what to mend, there.
 * `focus`: false for a group's other boxes (the first takes it).
 */
export function Invalid(name: string, invalid: string | undefined, focus = true) {
  return name === invalid ? { "aria-invalid": "true", "aria-describedby": ERROR_ID, ...(focus ? { autofocus: true } : {}) } : {};
}

/** A table's one row when it has nothing to list, across its `cols` columns. */
export function EmptyRow(props: { cols: number; text: string }) {
  return (
    <tr>
      <td colspan={props.cols} class="muted">
        {props.text}
      </td>
    </tr>
  );
}

/**
 * What a list with nothing in it says. To a token limited to some organizations or locations, only
 * that it sees none: others' may exist ("yet" would deny them), and the words are the same whether
 * or not they do, so they tell nothing of what lies outside its grant.
 */
export function nothingSeen(limited: boolean, what: string, unlimited = `No ${what} yet.`): string {
  return limited ? `No ${what} this token may see.` : unlimited;
}

export function Badge(props: { status: string }) {
  return <span class={`badge ${props.status}`}>{props.status}</span>;
}

/**
 * The events a token does not see for want of their data scope. Its lists and counts leave them
 * out: a token with events:read alone read "No events yet." and 0 events beside thousands.
 */
export function HiddenEvents(props: { principal: Principal }) {
  const lacking = Object.entries(DATA_SCOPE_OF_OBJECT).filter(([, scope]) => !hasScope(props.principal, scope));
  if (lacking.length === 0) return null;
  return (
    <p class="muted" id="hidden-events">
      This token sees no {lacking.map(([object]) => `${object}.*`).join(", ")} events: they need {lacking.map(([, scope]) => scope).join(", ")}, which it
      does not hold.
    </p>
  );
}

/**
 * Text a person chose (a name) in a cell that keeps its words whole (td.word): a word too long to
 * fit any column (a name of 200 W's) breaks anywhere instead of holding the table past the screen.
 */
export function Words(props: { text: string }) {
  return <>{props.text.split(/(\s+)/).map((word) => (word.length > LONG_WORD ? <span class="anywhere">{word}</span> : word))}</>;
}
/** Longer than any real name's part (GitHub's repository_vulnerability_alert is 30): those stay whole. */
const LONG_WORD = 32;

/**
 * A required field's mark, in its label's text: seen, and read with the label, before the form is
 * sent (the browser's own check said so only after). A group (a fieldset) says what it needs instead.
 */
export function Required() {
  return <span class="required"> (required)</span>;
}

/** How every empty value of the dashboard reads. */
export function Blank() {
  return <span class="muted">—</span>;
}

/**
 * A dotted name (an event type) that a squeezed column breaks after a dot, not inside a part:
 * `td.word` keeps its parts whole and each dot offers a break; a part too long for any column breaks anywhere (Words).
 * `at: "_"`: a code's underscores offer the breaks instead (a refusal's reason).
 */
export function DottedName(props: { name: string; at?: "." | "_" }) {
  const at = props.at ?? ".";
  const parts = props.name.split(at);
  return <>{parts.map((part, i) => <><Words text={part} />{i < parts.length - 1 && <>{at}<wbr /></>}</>)}</>;
}

/** Dotted names, comma separated: a squeezed column broke "message.receiv ed" in a webhook's types, where a dot offered no break. */
export function DottedNames(props: { names: string[] }) {
  return <>{props.names.map((name, i) => <>{i > 0 && ", "}<DottedName name={name} /></>)}</>;
}

export function Time(props: { iso: string | null }) {
  if (!props.iso) return <Blank />;
  return <time datetime={props.iso}>{timeText(props.iso)}</time>;
}

/** A share of attempts that succeeded (0 to 1) as the dashboard writes it, in percent to a tenth: "93.3%"; none: "no attempts". */
export function attemptsShare(share: number | null | undefined): string {
  return share === null || share === undefined ? "no attempts" : `${sharePermille(share) / 10}%`;
}

/** A share as attemptsShare writes it, in tenths of a percent: what decides whether it reads under a bound. */
export const sharePermille = (share: number): number => Math.round(share * 1000);

/** A time as the dashboard writes it: UTC, to the second ("2026-01-01 12:00:00Z"). */
export function timeText(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/**
 * A table's box, which scrolls sideways when the table is wider than the screen (a phone, 200% zoom): no
 * column is hidden. A region the keyboard reaches (tabindex), named, so the scroll can be made without a mouse.
 */
export function Scroll(props: { label: string; children: Child }) {
  return (
    <div class="scroll" role="region" tabindex={0} aria-label={props.label}>
      {props.children}
    </div>
  );
}

/** Header names and values, one row each. */
export function HeaderTable(props: { headers: Record<string, string>; label?: string }) {
  return (
    <Scroll label={props.label ?? "Headers"}>
      <table aria-label={props.label}>
        <tbody>
          {Object.entries(props.headers).map(([k, v]) => (
            <tr>
              <th scope="row" class="mono">
                {legible(k)}
              </th>
              <td class="mono">{legible(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

/**
 * Text a person or a sender chose (a URL, a name), legible, cut to `max` characters: enough to tell
 * one from another in a button's name or a page's title, which a 1,500-character URL would swamp.
 */
export function shortened(text: string, max = 80): string {
  // Cut by code points, before escaping: never half a surrogate pair (an emoji) or half an escape.
  return legible(cutShort(text, max));
}

/**
 * A one-button form: every action is a POST, checked for same origin (CSRF) and by the API's scopes.
 * `name`: the button's accessible name when its label is the same on every row ("Replay"): the label
 * first, then what it acts on ("Replay dead letter 12"), so each reads apart in a list of buttons.
 */
export function Action(props: { action: string; label: string; name?: string; kind?: "secondary" | "danger"; fields?: Record<string, string> }) {
  return (
    <form method="post" action={props.action} class="inline">
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.kind} aria-label={props.name}>
        {props.label}
      </button>
    </form>
  );
}

/**
 * A button for what cannot be undone. As served it opens the action's confirm page (a GET to the
 * action's own address, ConfirmPage), so it asks without JavaScript too; app.js asks in a dialog
 * instead and, accepted, posts to that address itself: asking twice would teach a click-through.
 * `fields`: the confirm page's query (where it was pressed, for its way back); `name`, as Action's.
 */
export function ConfirmAction(props: { action: string; label: string; name?: string; confirm: string; fields?: Record<string, string> }) {
  return (
    <form method="get" action={props.action} class="inline" data-confirm={props.confirm}>
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class="danger" aria-label={props.name}>
        {props.label}
      </button>
    </form>
  );
}

/** The page a ConfirmAction opens without JavaScript: the question, the button that posts the action, and a way back. */
export function ConfirmPage(props: { question: string; action: string; label: string; back: string }) {
  return (
    <div class="stack narrow">
      <p>{legible(props.question)}</p>
      <div class="actions">
        <form method="post" action={props.action} class="inline">
          <button type="submit" class="danger">
            {props.label}
          </button>
        </form>
        <a href={props.back}>Cancel</a>
      </div>
    </div>
  );
}

/**
 * A small bar chart in SVG: null draws no bar (no data); `low` marks bars to draw in the warning colour.
 * `say`: a bar's value in words ("19% of attempts succeeded"); `notes`: said after it, by index (a step
 * still in progress: how far it has gone); `none`, said of a step with no bar. Each bar's title is seen
 * only on hovering it (role=img hides it from a screen reader, and no key reaches it): a table after the
 * chart, one row a step (`steps`: when each began), says the same, to the keyboard and a screen reader.
 */
export function BarChart(props: {
  label: string;
  steps: string[];
  values: (number | null)[];
  max?: number;
  low?: (v: number) => boolean;
  say: (v: number) => string;
  none: string;
  column: string;
  notes?: (string | null)[];
}) {
  const max = props.max ?? Math.max(1, ...props.values.map((v) => v ?? 0));
  const w = 100 / Math.max(1, props.values.length);
  const said = (v: number | null, i: number) => `${v === null ? props.none : props.say(v)}${props.notes?.[i] ? ` (${props.notes[i]})` : ""}`;
  return (
    <>
      <svg class="chart" viewBox="0 0 100 40" preserveAspectRatio="none" role="img" aria-label={`${props.label} (its values: the table below)`}>
        <title>{props.label}</title>
        {props.values.map((v, i) => {
          if (v === null) return null;
          const h = Math.max(0.5, (v / max) * 38);
          return (
            <rect x={i * w + 0.15} y={40 - h} width={w - 0.3} height={h} class={props.low?.(v) ? "low" : undefined}>
              <title>{said(v, i)}</title>
            </rect>
          );
        })}
      </svg>
      <details class="chart-table">
        <summary>{props.label}, as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">{props.column}</th>
            </tr>
          </thead>
          <tbody>
            {props.values.map((v, i) => (
              <tr>
                <td>
                  <Time iso={props.steps[i] ?? null} />
                </td>
                <td>{said(v, i)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
