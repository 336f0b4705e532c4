import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { CurrentPrincipal, type Principal, assertProjectAccess } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { ApiError } from '../common/api-error';
import type { FastifyRequest } from 'fastify';
import { IdempotentWrites } from '../common/idempotent-writes';
import { ApiZodBody, parseId, parseInput } from '../common/zod';
import { TasksService } from './tasks.service';

export const annotateSchema = z.strictObject({
  label: z.string().min(1),
  leadTimeMs: z.number().int().min(0).max(86_400_000).optional(),
  /** Who labeled, when one key serves many people (a labeling tool); defaults to the key's name. */
  annotator: z.string().trim().min(1).max(200).optional(),
});

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('v1')
export class TasksController {
  constructor(
    private readonly tasks: TasksService,
    private readonly idempotent: IdempotentWrites,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('projects/:id/tasks/next')
  @HttpCode(200)
  @RequireRole('annotator')
  @ApiOperation({
    summary: 'Lease the n most useful open tasks to the caller (expired leases are offered again)',
  })
  async next(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query('limit') limitText: string | undefined,
  ) {
    const projectId = parseId('project', id);
    assertProjectAccess(principal, projectId);
    const max = this.config.tasks.nextMax;
    const limit = limitText === undefined ? 1 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > max) {
      throw ApiError.badRequest(`limit: must be an integer from 1 to ${max}`, { field: 'limit', max });
    }
    return this.tasks.next(principal, projectId, limit);
  }

  @Post('tasks/:id/annotation')
  @HttpCode(201)
  @RequireRole('annotator')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays return the first answer' })
  @ApiOperation({
    summary: 'Label a leased task: stores the annotation and closes the task in one transaction',
  })
  @ApiZodBody(annotateSchema)
  annotate(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    return this.idempotent.run(request, principal, 201, () =>
      this.tasks.annotate(principal, parseId('task', id), parseInput(annotateSchema, body)),
    );
  }

  @Post('tasks/:id/skip')
  @HttpCode(200)
  @RequireRole('annotator')
  @ApiOperation({ summary: 'Skip a leased task: it leaves the queue until the next rescoring' })
  skip(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.tasks.endLease(principal, parseId('task', id), 'skipped');
  }

  @Post('tasks/:id/release')
  @HttpCode(200)
  @RequireRole('annotator')
  @ApiOperation({ summary: 'Give a leased task back to the queue for anyone' })
  release(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.tasks.endLease(principal, parseId('task', id), 'open');
  }
}
