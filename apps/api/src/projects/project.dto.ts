import { z } from 'zod';

export const labelSetSchema = z
  .array(z.string().trim().min(1).max(200))
  .min(2, 'needs at least 2 labels')
  .max(1000)
  .refine((labels) => new Set(labels).size === labels.length, 'labels must be unique');

/**
 * The model settings a project may set. Only what the client sends is stored; everything else takes the
 * defaults of the project's input kind when a model trains (libs/ml defaultModelSpec: text gets a linear
 * model over the n-grams it has seen, images and tables an MLP), so defaults live in one place.
 */
export const modelSpecSchema = z.strictObject({
  architecture: z.enum(['linear', 'mlp', 'cnn']).optional(),
  hiddenUnits: z.array(z.number().int().positive().max(8192)).max(8).optional(),
  dropout: z.number().min(0).max(0.9).optional(),
  epochs: z.number().int().min(1).max(1000).optional(),
  batchSize: z.number().int().min(1).max(4096).optional(),
  learningRate: z.number().positive().max(1).optional(),
  learningRateDecay: z.enum(['none', 'cosine']).optional(),
  patience: z.number().int().min(0).max(100).optional(),
  maxSteps: z.number().int().min(1).max(1_000_000).optional(),
  maxTrainRows: z.number().int().min(1).max(10_000_000).optional(),
  classWeights: z.boolean().optional(),
});

export const acquisitionSpecSchema = z.strictObject({
  strategy: z
    .enum(['random', 'least_confidence', 'margin', 'entropy', 'bald', 'mc_margin'])
    .default('margin'),
  diversity: z.boolean().default(true),
  classBalanced: z.boolean().default(false),
  batchSize: z.number().int().min(1).max(100_000).default(100),
  retrainThreshold: z.number().int().min(1).max(1_000_000).default(50),
  /** Share of every lease given to holdout items while unlabeled ones remain; unset: the project's holdoutFraction. */
  holdoutShare: z.number().min(0).max(1).optional(),
});

/** A seed for the cold-start order, holdout hashing and training: a non-negative 31-bit integer. */
export const seedSchema = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

export const createProjectSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  inputKind: z.enum(['image', 'text', 'tabular']),
  labels: labelSetSchema,
  holdoutFraction: z.number().min(0).max(0.5).default(0.1),
  seed: seedSchema.optional(),
  modelSpec: modelSpecSchema.default({}),
  acquisitionSpec: acquisitionSpecSchema.default(acquisitionSpecSchema.parse({})),
});

export const updateProjectSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  labels: labelSetSchema.optional(),
  modelSpec: modelSpecSchema.optional(),
  acquisitionSpec: acquisitionSpecSchema.partial().optional(),
});

export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.uuid().optional(),
});

export type CreateProject = z.infer<typeof createProjectSchema>;
export type UpdateProject = z.infer<typeof updateProjectSchema>;
