import { type ArtifactFiles, MANIFEST_FILE, MODEL_FILE, WEIGHTS_FILE } from '@labelloop/ml';
import type { ObjectStore } from '@labelloop/storage';

// Where model artifacts live in the object store, shared by the trainer (writes), the scorer and the API
// (serving and bundles), which all read the same three files.

/** Object-store prefix of a model version's artifact files. */
export function artifactPrefix(projectId: string, modelVersionId: string): string {
  return `projects/${projectId}/models/${modelVersionId}`;
}

/** The artifact files stored under a model version's artifact key. */
export async function readArtifactFiles(store: ObjectStore, artifactKey: string): Promise<ArtifactFiles> {
  const files: ArtifactFiles = new Map();
  for (const name of [MANIFEST_FILE, MODEL_FILE, WEIGHTS_FILE]) {
    files.set(name, await store.get(`${artifactKey}/${name}`));
  }
  return files;
}
