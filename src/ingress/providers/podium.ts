import { podium as scheme } from "../../schemes/podium";
import { eventObjectOf } from "../../domain/event-types";
import {
  dedupeKeyOr,
  jsonObject,
  stringAt,
  type Provider,
} from "./provider";

const STORED_HEADERS = ["podium-timestamp"] as const;
type Path = string[];
interface OwnerPaths {
  organization: Path[];
  location: Path[];
}

const LOCATION_OF_DATA: OwnerPaths = { organization: [["data", "location", "organizationUid"]], location: [["data", "location", "uid"]] };

/**
 * Where each Podium object documents its owner, in order of preference. A message
 * and an invoice name their location and its organization; a contact belongs to an
 * organization (`after`, or `before` once deleted; a `data.location` beside them
 * is read too); a review names only its locations, and the ingest consumer adds the
 * organization it knows for the first, while a review invite (the invite link types) names its
 * `location` with its organization. Other types read `data.location`. (A Map: the
 * object is the body's to name, and a plain object's lookup finds `__proto__` or `toString`.)
 */
const OWNER_PATHS = new Map<string, OwnerPaths>([
  ["message", LOCATION_OF_DATA],
  ["invoice", LOCATION_OF_DATA],
  [
    "contact",
    {
      organization: [["data", "after", "organization", "uid"], ["data", "before", "organization", "uid"], ...LOCATION_OF_DATA.organization],
      location: LOCATION_OF_DATA.location,
    },
  ],
  // A review names its locations only; a review invite (invite_link_*) its location and its organization.
  ["review", { organization: LOCATION_OF_DATA.organization, location: [["data", "locations", "0", "uid"], ...LOCATION_OF_DATA.location] }],
]);

/** After an object's own paths, for every type. */
const FALLBACK: OwnerPaths = { organization: [["metadata", "organizationUid"]], location: [["metadata", "locationUid"]] };

/** Podium: signed as src/schemes/podium.ts says; facts from where each object documents its owner. */
export const podium: Provider = {
  name: "podium",

  scheme: () => scheme,

  async facts(req, body) {
    const event = jsonObject(body, "Podium");
    const eventType = stringAt(event, "metadata", "eventType") ?? stringAt(event, "metadata", "event_type") ?? "unknown";
    const owner = OWNER_PATHS.get(eventObjectOf(eventType)) ?? LOCATION_OF_DATA;
    const first = (paths: Path[]) => paths.reduce<string | null>((found, path) => found ?? stringAt(event, ...path), null);
    return {
      dedupeKey: await dedupeKeyOr(stringAt(event, "metadata", "eventUid"), req.raw),
      eventType,
      locationUid: first([...owner.location, ...FALLBACK.location]),
      organizationUid: first([...owner.organization, ...FALLBACK.organization]),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
