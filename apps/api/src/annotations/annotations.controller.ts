import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import type { FastifyRequest } from 'fastify';
import { IdempotentWrites } from '../common/idempotent-writes';
import { ApiZodBody, parseId, parseInput } from '../common/zod';
import { AnnotationsService } from './annotations.service';

const appendSchema = z.strictObject({
  label: z.string().min(1),
  source: z.enum(['human', 'review']).default('review'),
  leadTimeMs: z.number().int().min(0).max(86_400_000).optional(),
  annotator: z.string().trim().min(1).max(200).optional(),
});

@ApiTags('annotations')
@ApiBearerAuth()
@Controller('v1')
export class AnnotationsController {
  constructor(
    private readonly annotations: AnnotationsService,
    private readonly idempotent: IdempotentWrites,
  ) {}

  @Post('items/:id/annotations')
  @HttpCode(201)
  @RequireRole('annotator')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays return the first answer' })
  @ApiOperation({
    summary: 'Append an annotation to an item (review, correction); the newest annotation is the label',
  })
  @ApiZodBody(appendSchema)
  append(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    return this.idempotent.run(request, principal, 201, () =>
      this.annotations.append(principal, parseId('item', id), parseInput(appendSchema, body)),
    );
  }

  @Post('annotations/:id/revert')
  @HttpCode(201)
  @RequireRole('annotator')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays return the first answer' })
  @ApiOperation({
    summary:
      'Revert an annotation: a new annotation (source review) restoring the label the item had just before it, ' +
      'or a retraction when it had none; nothing is deleted',
  })
  revert(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.idempotent.run(request, principal, 201, () =>
      this.annotations.revert(principal, parseId('annotation', id)),
    );
  }
}
