import { z } from 'zod';

export const labelSetSchema = z
  .array(z.string().trim().min(1).max(200))
  .min(2, 'needs at least 2 labels')
  .max(1000)
  .refine((labels) => new Set(labels).size === labels.length, 'labels must be unique');

export const modelSpecSchema = z.strictObject({
  architecture: z.enum(['linear', 'mlp', 'cnn']).default('mlp'),
  hiddenUnits: z.array(z.number().int().positive().max(8192)).max(8).default([256, 128]),
  dropout: z.number().min(0).max(0.9).default(0.2),
  epochs: z.number().int().min(1).max(1000).default(30),
  batchSize: z.number().int().min(1).max(4096).default(64),
  learningRate: z.number().positive().max(1).default(0.001),
  patience: z.number().int().min(0).max(100).default(3),
  classWeights: z.boolean().default(true),
});

export const acquisitionSpecSchema = z.strictObject({
  strategy: z
    .enum(['random', 'least_confidence', 'margin', 'entropy', 'bald', 'mc_margin'])
    .default('margin'),
  diversity: z.boolean().default(true),
  classBalanced: z.boolean().default(false),
  batchSize: z.number().int().min(1).max(100_000).default(100),
  retrainThreshold: z.number().int().min(1).max(1_000_000).default(50),
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
  modelSpec: modelSpecSchema.default(modelSpecSchema.parse({})),
  acquisitionSpec: acquisitionSpecSchema.default(acquisitionSpecSchema.parse({})),
});

export const updateProjectSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  labels: labelSetSchema.optional(),
  modelSpec: modelSpecSchema.partial().optional(),
  acquisitionSpec: acquisitionSpecSchema.partial().optional(),
});

export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.uuid().optional(),
});

export type CreateProject = z.infer<typeof createProjectSchema>;
export type UpdateProject = z.infer<typeof updateProjectSchema>;
