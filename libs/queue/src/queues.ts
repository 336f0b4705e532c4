/** Queue names; the prefix (QUEUE_PREFIX, default `{labelloop}`) carries a Redis Cluster hash tag. */
export const QUEUE_NAMES = {
  training: 'training',
  scoring: 'scoring',
  suspects: 'suspects',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];
