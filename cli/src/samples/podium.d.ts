// Types of podium.js, for the workerd tests (their tsconfig checks no JavaScript).
export declare const FIXTURE_LOCATION: string;
export declare const FIXTURE_ORGANIZATION: string;
export declare const PODIUM_TYPES: string[];
export declare const PODIUM_OBJECTS: string[];
export declare function fixtureName(type: string): string;
export declare function podiumSample(
  fixture: Record<string, unknown>,
  o: { type: string; eventUid: string; locationUid: string; organizationUid: string },
): Record<string, unknown>;
