import { uuidParam } from '../common/zod';

/** A version as addressed in a path: its number within the project, or its uuid. */
export type VersionRef = { number: number } | { id: string };

/** Null when the text can be neither, so no such version can exist. */
export function parseVersionRef(text: string): VersionRef | null {
  if (/^[1-9][0-9]{0,8}$/.test(text)) return { number: Number(text) };
  if (uuidParam.safeParse(text).success) return { id: text };
  return null;
}
