import { Body, Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@labelloop/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AcceptsUnstorableStrings } from '../common/refuse-unstorable-strings';
import { BasicAuthRequired, LabelStudioAccess, type LabelStudioCaller } from './label-studio-access.service';
import { LabelStudioBackendService } from './label-studio-backend.service';
import { WebhookIntakeService } from './webhook-intake.service';

/**
 * The ML-backend protocol Label Studio speaks, under the backend URL /v1/label-studio/<token>/. No API key:
 * the token is the credential (plus basic auth when the connector has it). Every answer LS reads is JSON.
 */
@Public()
@ApiExcludeController()
@Controller('v1/label-studio/:token')
export class LabelStudioBackendController {
  constructor(
    private readonly access: LabelStudioAccess,
    private readonly backend: LabelStudioBackendService,
    private readonly webhooks: WebhookIntakeService,
  ) {}

  @Get('health')
  async health(
    @Param('token') token: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.caller(token, request, reply, 'required');
    return { status: 'UP', model_class: 'labelloop' };
  }

  @Post('setup')
  @HttpCode(200)
  async setup(
    @Param('token') token: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.backend.setup(await this.caller(token, request, reply, 'required'), body);
  }

  @Post('predict')
  @HttpCode(200)
  async predict(
    @Param('token') token: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.backend.predict(await this.caller(token, request, reply, 'required'), body);
  }

  @Post('webhook')
  @AcceptsUnstorableStrings()
  async webhook(
    @Param('token') token: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const caller = await this.caller(token, request, reply, 'token-only');
    const answer = await this.challenge(reply, () =>
      this.webhooks.receive(caller, request.headers.authorization, body),
    );
    reply.status(answer.status).headers(answer.headers ?? {});
    return answer.body;
  }

  @Get('versions')
  async versions(
    @Param('token') token: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.backend.versions(await this.caller(token, request, reply, 'required'));
  }

  private caller(
    token: string,
    request: FastifyRequest,
    reply: FastifyReply,
    credentials: 'required' | 'token-only',
  ): Promise<LabelStudioCaller> {
    return this.challenge(reply, () =>
      this.access.resolve(token, request.headers.authorization, credentials),
    );
  }

  /** A 401 for basic auth carries the challenge, as LS (and browsers) expect. */
  private async challenge<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof BasicAuthRequired) reply.header('www-authenticate', 'Basic realm="labelloop"');
      throw error;
    }
  }
}
