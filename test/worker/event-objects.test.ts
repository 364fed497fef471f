// The object of an event type, which decides the data scope a token needs to see or subscribe to
// it: what a reader cannot see, or a compatibility form, does not make it another object (letters
// of another script that look alike do).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canSeeEvent, missingDataScope } from "../../src/domain/access";
import { DATA_SCOPE_OF_OBJECT, dataScopesForPattern, eventObjectOf } from "../../src/domain/event-types";
import type { Principal } from "../../src/domain/scopes";

/** Every code point a reader cannot see: format characters (`\p{Cf}`), ignorables, controls and white space. */
const INVISIBLES = (() => {
  const unseen = /^[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cc}\p{White_Space}]$/u;
  const found: string[] = [];
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    const c = String.fromCodePoint(code);
    if (unseen.test(c)) found.push(c);
  }
  return found;
})();

/** The fullwidth form of a printable ASCII character (`ｃ`, `．`), which NFKC folds back. */
const fullwidth = (c: string) => String.fromCharCode(c.charCodeAt(0) + 0xfee0);

/** `text` as a source may spell it: each character in either case or fullwidth, with invisible characters anywhere. */
const disguised = (text: string) =>
  fc
    .tuple(
      ...[...text].map((c) =>
        fc.tuple(fc.array(fc.constantFrom(...INVISIBLES), { maxLength: 2 }), fc.constantFrom(c, c.toUpperCase(), fullwidth(c), fullwidth(c.toUpperCase()))),
      ),
      fc.array(fc.constantFrom(...INVISIBLES), { maxLength: 2 }),
    )
    .map((parts) => parts.flat(2).join(""));

const OBJECTS = Object.keys(DATA_SCOPE_OF_OBJECT);

describe("eventObjectOf", () => {
  it("finds the object through invisible characters, compatibility forms and case, anywhere in the type", () => {
    for (const type of ["contact\u200b.created", "contact\u2060.created", "\ufeffcontact.created", "con\u200dtact.created", "ｃｏｎｔａｃｔ.created", "contact\uff0ecreated", "con tact .created", "\u202econtact.created"]) {
      expect(eventObjectOf(type), JSON.stringify(type)).toBe("contact");
      expect(dataScopesForPattern(type), JSON.stringify(type)).toEqual(["read_contacts"]);
    }
    fc.assert(
      fc.property(
        fc.constantFrom(...OBJECTS).chain((object) => fc.tuple(fc.constant(object), disguised(`${object}.`), fc.string())),
        ([object, spelled, action]) => eventObjectOf(spelled + action) === object,
      ),
    );
  });

  it("keeps the objects a reader tells apart apart, and reads a plain type as before: the word before its first dot, in lower case", () => {
    for (const type of ["contacts.created", "c0ntact.created", "cont.act.created", "contact_created", "сontact.created" /* Cyrillic с */]) {
      expect(dataScopesForPattern(type), type).toEqual([]);
    }
    fc.assert(
      fc.property(fc.stringMatching(/^[!-~]*$/), (type) => eventObjectOf(type) === type.split(".")[0]!.toLowerCase()),
    );
  });

  it("decides what a token lacking the scope sees and subscribes to", () => {
    const messagesOnly: Principal = { tokenId: "tok", scopes: new Set(["events:read", "webhooks:write", "read_messages"]), organizationUids: ["org-1"], locationUids: null };
    const event = { eventType: "contact\u200b.created", sourceId: "podium", organizationUid: "org-1", locationUid: null };
    expect(canSeeEvent(messagesOnly, event)).toBe(false);
    expect(canSeeEvent(messagesOnly, { ...event, eventType: "message\u200b.received" })).toBe(true);
    expect(missingDataScope(messagesOnly, ["ｃｏｎｔａｃｔ.*"])).toEqual({ pattern: "ｃｏｎｔａｃｔ.*", scope: "read_contacts" });
  });
});
