import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiError } from '../common/api-error';
import { ApiZodBody, ZodPipe, parseId } from '../common/zod';
import { ApiKeyService } from '../auth/api-key.service';
import { CurrentPrincipal, type Principal, assertProjectAccess } from '../auth/principal';
import { ProjectsService } from '../projects/projects.service';

const createKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: z.enum(['admin', 'annotator', 'viewer']),
  projectId: z.uuid().nullable().optional(),
});

@ApiTags('api-keys')
@ApiBearerAuth()
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly projects: ProjectsService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key (admin). The key is returned once and never again.' })
  @ApiZodBody(createKeySchema)
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createKeySchema)) body: z.infer<typeof createKeySchema>,
  ) {
    const projectId = body.projectId ?? null;
    // A project-scoped admin may only make keys scoped to its own project, never an unscoped one.
    if (principal.projectId !== null && projectId !== principal.projectId) {
      throw ApiError.forbidden(`this API key is scoped to project ${principal.projectId}`);
    }
    if (projectId) await this.projects.getUnscoped(projectId);
    return this.keys.create({ name: body.name, role: body.role, projectId });
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (admin); hashes are never shown' })
  async list(@CurrentPrincipal() principal: Principal, @Query('projectId') projectId?: string) {
    const only = projectId ? parseId('project', projectId) : (principal.projectId ?? undefined);
    if (only !== undefined) assertProjectAccess(principal, only);
    return { data: await this.keys.list(only) };
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key (admin)' })
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    const found = await this.keys.findById(parseId('API key', id));
    if (!found) throw ApiError.notFound('API key', id);
    if (principal.projectId !== null && found.projectId !== principal.projectId) {
      throw ApiError.forbidden(`this API key is scoped to project ${principal.projectId}`);
    }
    const revoked = await this.keys.revoke(id);
    if (!revoked) throw ApiError.notFound('API key', id);
    return revoked;
  }
}
