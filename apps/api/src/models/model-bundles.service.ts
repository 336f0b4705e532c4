import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import {
  CURRENT_LABELS,
  DatasetVersionsRepository,
  type ModelOrigin,
  ModelsRepository,
  type ProjectRecord,
} from '@labelloop/db';
import { type ArtifactManifest, BundleError, packBundle, unpackBundle } from '@labelloop/ml';
import {
  artifactPrefix,
  COMPUTE_ERRORS,
  ComputePool,
  modelInput,
  readArtifactFiles,
  storedBytes,
} from '@labelloop/pipeline';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { type Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { ProjectsService } from '../projects/projects.service';
import { modelView } from './model-view';
import { ModelsService } from './models.service';

/** Bodies a bundle import accepts (http-app registers a buffering parser with its own size limit). */
export const MODEL_BUNDLE_CONTENT_TYPES = ['application/gzip', 'application/octet-stream'];

/**
 * Models as packages: a ready model version exported as one .tar.gz (libs/ml bundle format) and a bundle
 * imported into a project as a ready model version. An import checks everything before it writes: the
 * archive, the checksums, the project's input kind and labels, and that the weights load.
 */
@Injectable()
export class ModelBundlesService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly compute: ComputePool,
    private readonly projects: ProjectsService,
    private readonly models: ModelsRepository,
    private readonly registry: ModelsService,
    private readonly datasets: DatasetVersionsRepository,
  ) {}

  /** The bundle of a ready model version and a file name for it. */
  async export(principal: Principal, id: string): Promise<{ fileName: string; body: Buffer }> {
    const model = await this.registry.find(principal, id);
    if (model.status !== 'ready' || !model.artifactKey) {
      throw ApiError.conflict(`model ${id} is ${model.status}, not ready`);
    }
    const artifact = await readArtifactFiles(this.store, model.artifactKey);
    const body = await packBundle(artifact, {
      projectId: model.projectId,
      modelVersionId: model.id,
      number: model.number,
      datasetVersion: model.datasetVersion,
    });
    return { fileName: `model-${model.number}-${model.id}.tar.gz`, body };
  }

  /**
   * Records the bundle's model as a ready version of the project (promoted and followed by a scoring when
   * `promote`). 415 for a body that is not a bundle upload, 400 for an unreadable or inconsistent bundle,
   * 422 for one made for other labels or another input kind; nothing is written then.
   */
  async import(principal: Principal, projectId: string, body: unknown, promote: boolean) {
    const project = await this.projects.get(principal, projectId);
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new ApiError(
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        `send the bundle as the raw body with Content-Type ${MODEL_BUNDLE_CONTENT_TYPES.join(' or ')}`,
      );
    }
    let bundle;
    try {
      bundle = await unpackBundle(body, this.config.models.bundleMaxBytes);
    } catch (error) {
      if (error instanceof BundleError) throw ApiError.badRequest(`invalid model bundle: ${error.message}`);
      throw error;
    }
    const { info, manifest, artifact } = bundle;
    if (info.inputKind !== project.inputKind) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        `the bundle's model takes ${info.inputKind} inputs; project ${project.id} is ${project.inputKind}`,
      );
    }
    const missing = project.labels.filter((label) => !manifest.labels.includes(label));
    const foreign = manifest.labels.filter((label) => !project.labels.includes(label));
    if (missing.length > 0 || foreign.length > 0) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        `the bundle's labels (${manifest.labels.join(', ')}) are not the project's (${project.labels.join(', ')})`,
        { missing, foreign },
      );
    }
    const metrics = await this.holdoutMetrics(project, manifest, artifact);

    const id = randomUUID();
    const prefix = artifactPrefix(project.id, id);
    let record;
    try {
      for (const [name, file] of artifact)
        await this.store.put(`${prefix}/${name}`, file, { size: file.length });
      record = await this.models.recordImported(
        project.id,
        {
          id,
          spec: manifest.spec,
          metrics,
          backend: manifest.backend,
          trainMs: null,
          artifactKey: prefix,
          origin: { ...originOf(info.source), metrics: manifest.metrics },
        },
        promote,
      );
    } catch (error) {
      await this.store.removePrefix(`${prefix}/`).catch(() => undefined);
      throw error;
    }
    const scoringJobId = promote ? await this.registry.followPromotion(project.id, id) : undefined;
    return { ...modelView(record), scoringJobId: scoringJobId ?? null };
  }

  /**
   * The imported model measured on this project's labeled holdout, as a training here would be, so that
   * promotion compares like with like (the bundle's own metrics come from another holdout and stay under
   * `origin.metrics`). Null without labeled holdout items. The weights are loaded (and so checked) in the
   * inference worker even then: a bundle whose model does not load is a 400.
   */
  private async holdoutMetrics(
    project: ProjectRecord,
    manifest: ArtifactManifest,
    files: Map<string, Buffer>,
  ) {
    const holdout = await this.datasets.labeledItems(project.id, CURRENT_LABELS, 'holdout');
    const bytes = await storedBytes(this.store, holdout);
    const inputs = holdout.map((item) => modelInput(project.inputKind, item.payload, bytes.get(item.id)));
    // Columns follow the bundle's label order, which may differ from the project's.
    const labels = holdout.map((item) => manifest.labels.indexOf(item.label));
    let metrics;
    try {
      metrics = await this.compute.evaluate({ files, inputs, labels });
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      if (code === COMPUTE_ERRORS.badArtifact) {
        throw ApiError.badRequest(`invalid model bundle: the model does not load (${message})`);
      }
      if (code === COMPUTE_ERRORS.badInput) {
        throw new ApiError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          `the bundle's model does not take this project's holdout items (${message})`,
        );
      }
      throw error;
    }
    return metrics ? { ...metrics, holdoutRows: holdout.length } : null;
  }
}

/** The bundle's note of where it came from, kept only in the shape the registry stores. */
function originOf(source: unknown): ModelOrigin {
  const s = (source ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const int = (v: unknown) => (Number.isInteger(v) ? (v as number) : null);
  return {
    projectId: text(s.projectId),
    modelVersionId: text(s.modelVersionId),
    number: int(s.number),
    datasetVersion: int(s.datasetVersion),
  };
}
