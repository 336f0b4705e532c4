import tseslint from 'typescript-eslint';

/** Import patterns that reach into an app's sources (`../../trainer/src/...`, `../apps/api/src/...`). */
const appSources = (apps) => apps.map((app) => `**/${app}/src/**`);
const APPS = ['api', 'trainer', 'scorer', 'server'];

/** Each app imports libs only: shared code belongs in libs/, not in another app's src. */
const appBoundaries = APPS.filter((app) => app !== 'server').map((app) => ({
  files: [`apps/${app}/src/**/*.ts`],
  // Each role's main.ts starts the process through the launcher in apps/server.
  ignores: [`apps/${app}/src/main.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: appSources(APPS.filter((other) => other !== app)),
            message: "An app must not import another app's src: move shared code into a lib (libs/).",
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'libs/db/src/generated/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    // Plain CommonJS scripts run by npm and Jest's config.
    files: ['scripts/**/*.js', '*.config.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...appBoundaries,
  {
    // Libraries never depend on apps.
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/apps/**', ...appSources(APPS)], message: 'A lib must not import an app.' }] },
      ],
    },
  },
  {
    // libs/ml is the framework-free learning core: no Nest, database, queue or service libs.
    files: ['libs/ml/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/*', 'pg', '@prisma/*', 'bullmq', 'ioredis', '@labelloop/*', '**/apps/**'],
              message: 'libs/ml knows nothing of Nest, the database, queues or the other libs.',
            },
          ],
        },
      ],
    },
  },
);
