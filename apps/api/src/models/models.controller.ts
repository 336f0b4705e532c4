import { Body, Controller, Get, HttpCode, Param, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { positiveDatabaseIntQuery } from '../common/database-integers';
import { ApiZodBody, ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { MODEL_BUNDLE_CONTENT_TYPES, ModelBundlesService } from './model-bundles.service';
import { ModelsService } from './models.service';
import { PREDICT_MAX_INPUTS, predictBody } from './predict-input';

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** The number of the last model of the previous page. */
  cursor: positiveDatabaseIntQuery.optional(),
});

const importQuery = z.strictObject({
  promote: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
});

@ApiTags('models')
@ApiBearerAuth()
@Controller('v1')
export class ModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly bundles: ModelBundlesService,
  ) {}

  @Get('projects/:id/models')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'Model versions, newest first: status, promoted, source (trained or imported), holdout metrics, spec, ' +
      'backend, train time, dataset version',
  })
  @ApiZodQuery(listQuery)
  list(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(listQuery, 'query')) query: z.infer<typeof listQuery>,
  ) {
    return this.models.list(principal, parseId('project', id), query.limit, query.cursor);
  }

  @Get('models/:id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One model version with its metrics, spec, dataset version and backend' })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.models.get(principal, parseId('model', id));
  }

  @Post('models/:id/promote')
  @HttpCode(200)
  @RequireRole('admin')
  @ApiOperation({
    summary:
      'Make a ready model the promoted one whatever its accuracy (also to roll back to an older one); ' +
      'the pool is rescored with it so pre-labels follow',
  })
  promote(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.models.promote(principal, parseId('model', id));
  }

  @Get('models/:id/bundle')
  @RequireRole('viewer')
  @ApiProduces('application/gzip')
  @ApiOperation({
    summary:
      'The model as one .tar.gz: model files, featurizer, labels, spec, metrics, provenance and sha256 checksums',
  })
  async bundle(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    const { fileName, body } = await this.bundles.export(principal, parseId('model', id));
    return new StreamableFile(body, {
      type: 'application/gzip',
      disposition: `attachment; filename="${fileName}"`,
      length: body.length,
    });
  }

  @Post('projects/:id/models/import')
  @HttpCode(201)
  @RequireRole('admin')
  @ApiConsumes(...MODEL_BUNDLE_CONTENT_TYPES)
  @ApiBody({
    schema: { type: 'string', format: 'binary' },
    description: 'a bundle from GET /v1/models/:id/bundle',
  })
  @ApiZodQuery(importQuery)
  @ApiOperation({
    summary:
      'Import a model bundle as a ready model version (checksums, labels and input kind verified); ' +
      'promoted and followed by a scoring unless promote=false',
  })
  import(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(importQuery, 'query')) query: z.infer<typeof importQuery>,
    @Body() body: unknown,
  ) {
    return this.bundles.import(principal, parseId('project', id), body, query.promote);
  }

  @Post('models/:id/predict')
  @HttpCode(200)
  @RequireRole('viewer')
  @ApiZodBody(
    predictBody,
    `up to ${PREDICT_MAX_INPUTS} inputs shaped like items of the project, without externalId`,
  )
  @ApiOperation({ summary: 'Class probabilities of a model version for ad-hoc inputs' })
  predict(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(predictBody)) body: z.infer<typeof predictBody>,
  ) {
    return this.models.predict(principal, parseId('model', id), body.inputs);
  }
}
