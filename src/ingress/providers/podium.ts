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
/** Where an organization is read, and where the object it is read from names a location, if it does. */
interface OrganizationPath {
  at: Path;
  location?: Path;
}
interface OwnerPaths {
  organization: OrganizationPath[];
  location: Path[];
}

const DATA_LOCATION: Path = ["data", "location", "uid"];
const OF_DATA_LOCATION: OrganizationPath = { at: ["data", "location", "organizationUid"], location: DATA_LOCATION };
const LOCATION_OF_DATA: OwnerPaths = { organization: [OF_DATA_LOCATION], location: [DATA_LOCATION] };

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
      organization: [{ at: ["data", "after", "organization", "uid"] }, { at: ["data", "before", "organization", "uid"] }, OF_DATA_LOCATION],
      location: [DATA_LOCATION],
    },
  ],
  // A review names its locations only; a review invite (invite_link_*) its location and its organization.
  ["review", { organization: [OF_DATA_LOCATION], location: [["data", "locations", "0", "uid"], DATA_LOCATION] }],
]);

/** After an object's own paths, for every type. */
const FALLBACK: OwnerPaths = { organization: [{ at: ["metadata", "organizationUid"], location: ["metadata", "locationUid"] }], location: [["metadata", "locationUid"]] };

/** Podium: signed as src/schemes/podium.ts says; facts from where each object documents its owner. */
export const podium: Provider = {
  name: "podium",

  scheme: () => scheme,

  async facts(req, body) {
    const event = jsonObject(body, "Podium");
    const eventType = stringAt(event, "metadata", "eventType") ?? stringAt(event, "metadata", "event_type") ?? "unknown";
    const owner = OWNER_PATHS.get(eventObjectOf(eventType)) ?? LOCATION_OF_DATA;
    const locationUid = [...owner.location, ...FALLBACK.location].reduce<string | null>((found, path) => found ?? stringAt(event, ...path), null);
    const from = [...owner.organization, ...FALLBACK.organization].find((o) => stringAt(event, ...o.at) !== null);
    const organizationUid = from ? stringAt(event, ...from.at) : null;
    // Only an object naming the event's location beside the organization read from it says where the location
    // belongs (docs/podium.md): a contact's own organization names no location, and may be another's.
    const paired = from?.location !== undefined && stringAt(event, ...from.location) === locationUid;
    return {
      dedupeKey: await dedupeKeyOr(stringAt(event, "metadata", "eventUid"), req.raw),
      eventType,
      locationUid,
      organizationUid,
      ...(locationUid !== null && organizationUid !== null && !paired ? { teaches: false as const } : {}),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
