import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { ApiZodBody, ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { createProjectSchema, listQuerySchema, updateProjectSchema } from './project.dto';
import { ProjectsService } from './projects.service';

@ApiTags('projects')
@ApiBearerAuth()
@Controller('v1/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a project (admin key not scoped to a project)' })
  @ApiZodBody(createProjectSchema)
  create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createProjectSchema)) body: z.infer<typeof createProjectSchema>,
  ) {
    return this.projects.create(principal, body);
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List projects the key can see, newest first (cursor-paginated)' })
  @ApiZodQuery(listQuerySchema)
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(listQuerySchema, 'query')) query: z.infer<typeof listQuerySchema>,
  ) {
    return this.projects.list(principal, query.limit, query.cursor);
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Get a project' })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.projects.get(principal, parseId('project', id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update name, label set (additions; labels in use cannot go) or specs (admin)' })
  @ApiZodBody(updateProjectSchema)
  update(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(updateProjectSchema)) body: z.infer<typeof updateProjectSchema>,
  ) {
    return this.projects.update(principal, parseId('project', id), body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a project and everything in it (admin)' })
  async delete(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    await this.projects.delete(principal, parseId('project', id));
  }
}
