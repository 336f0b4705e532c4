import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { positiveDatabaseIntQuery } from '../common/database-integers';
import { ApiZodBody, ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { type ImportBody, importBody, LabelStudioIoService } from './label-studio-io.service';

const exportQuery = z.strictObject({
  datasetVersion: positiveDatabaseIntQuery.optional(),
});

@ApiTags('label-studio')
@ApiBearerAuth()
@Controller('v1/projects/:id/label-studio/tasks')
export class LabelStudioIoController {
  constructor(private readonly io: LabelStudioIoService) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      "Every item as a Label Studio task (JSON array to import into LS): label as annotation, the model's prediction as pre-annotation; ?datasetVersion=n for labels as of that version",
  })
  @ApiZodQuery(exportQuery)
  async export(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(exportQuery, 'query')) query: z.infer<typeof exportQuery>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const stream = await this.io.export(principal, parseId('project', id), query.datasetVersion);
    reply.header('content-type', 'application/json; charset=utf-8');
    return stream;
  }

  @Post()
  @RequireRole('admin')
  @ApiOperation({
    summary:
      'Import a Label Studio JSON export (tasks with annotations) as items keyed by task id, labeled with each task’s newest choice (admin)',
  })
  @ApiZodBody(importBody)
  import(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(importBody)) body: ImportBody,
  ) {
    return this.io.import(principal, parseId('project', id), body);
  }
}
