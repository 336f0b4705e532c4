import type { TestApp } from './app';

// Plays Label Studio against the real service: the calls LS makes to an ML backend, with LS's JSON shapes
// (see the wire contract: /setup, /predict, /webhook, /versions; basic auth only where LS sends it).

export const textConfig = (choices: string[]) => `<View>
  <Text name="text" value="$text"/>
  <View style="box-shadow: 2px 2px 5px #999; padding: 20px; margin-top: 2em; border-radius: 5px;">
    <Header value="Choose text sentiment"/>
    <Choices name="sentiment" toName="text" choice="single" showInLine="true">
${choices.map((c) => `      <Choice value="${c}"/>`).join('\n')}
    </Choices>
  </View>
</View>`;

export const imageConfig = (choices: string[]) => `<View>
  <Image name="image" value="$image"/>
  <Choices name="choice" toName="image">
${choices.map((c) => `    <Choice value="${c}"/>`).join('\n')}
  </Choices>
</View>`;

export interface LsResponse {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
  ms: number;
}

/** A connector created over the admin API, and a client that calls its backend URL like LS does. */
export class LabelStudioPlayer {
  constructor(
    readonly t: TestApp,
    readonly projectId: string,
    readonly backendPath: string,
    readonly basicAuth: { username: string; password: string } | null,
  ) {}

  static async connect(
    t: TestApp,
    projectId: string,
    basicAuth: { username: string; password: string } | null = null,
  ): Promise<LabelStudioPlayer> {
    const created = await t.call(
      'POST',
      `/v1/projects/${projectId}/connectors/label-studio`,
      basicAuth ? { basicAuth } : {},
    );
    if (created.status !== 201) throw new Error(`connector: ${JSON.stringify(created.body)}`);
    return new LabelStudioPlayer(t, projectId, created.body.backendPath, basicAuth);
  }

  /** A call as MLApi makes it: JSON, the heartex User-Agent and basic auth when configured. */
  call(method: 'GET' | 'POST', endpoint: string, body?: unknown, credentials = true): Promise<LsResponse> {
    const headers: Record<string, string> = { 'user-agent': 'heartex/test' };
    if (credentials && this.basicAuth) {
      const { username, password } = this.basicAuth;
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    return timed(this.t, method, this.backendPath + endpoint, body, headers);
  }

  health = () => this.call('GET', 'health');
  versions = () => this.call('GET', 'versions');

  setup(schema: string, extra: Record<string, unknown> = {}) {
    return this.call('POST', 'setup', {
      project: '1.1748509856',
      schema,
      hostname: 'http://localhost:8080',
      access_token: '9c1d0a4f5e3b2a1908f7e6d5c4b3a29180f7e6d5',
      extra_params: null,
      ...extra,
    });
  }

  predict(tasks: { id: number; data: Record<string, unknown> }[], labelConfig: string) {
    return this.call('POST', 'predict', {
      tasks: tasks.map((task) => lsTask(task.id, task.data)),
      project: '1.1748509856',
      label_config: labelConfig,
      params: { login: null, password: null, context: null },
    });
  }

  /** An event webhook: LS's webhook subsystem sends no credentials. */
  event(body: unknown) {
    return timed(this.t, 'POST', this.backendPath + 'webhook', body, {
      'user-agent': 'python-requests/2.32',
    });
  }

  startTraining(labelConfig: string, credentials = true) {
    return this.call(
      'POST',
      'webhook',
      { action: 'START_TRAINING', project: lsProject(labelConfig) },
      credentials,
    );
  }

  /** Waits until every stored webhook event was applied (or given up on). */
  async eventsSettled(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.t.call('GET', `/v1/projects/${this.projectId}/connectors/label-studio`);
      if (status.status !== 200) throw new Error(JSON.stringify(status.body));
      if (status.body.events.pending === 0) return status.body;
      if (Date.now() > deadline)
        throw new Error(`events still pending: ${JSON.stringify(status.body.events)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function timed(
  t: TestApp,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<LsResponse> {
  const started = performance.now();
  const response = await fetch(t.baseUrl + path, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the test asserts on it
  }
  return {
    status: response.status,
    body: parsed,
    headers: response.headers,
    ms: performance.now() - started,
  };
}

/** A task as TaskSimpleSerializer sends it (2025 key set). */
export function lsTask(id: number, data: Record<string, unknown>) {
  return {
    id,
    data,
    meta: {},
    created_at: '2025-05-29T09:12:01.481235Z',
    updated_at: '2025-05-29T09:12:01.481250Z',
    is_labeled: false,
    overlap: 1,
    inner_id: id,
    total_annotations: 0,
    cancelled_annotations: 0,
    total_predictions: 0,
    comment_count: 0,
    unresolved_comment_count: 0,
    last_comment_updated_at: null,
    project: 1,
    updated_by: null,
    file_upload: 1,
    comment_authors: [],
    annotations: [],
    predictions: [],
  };
}

export function lsProject(labelConfig: string) {
  return {
    id: 1,
    title: 'Movie review sentiment',
    label_config: labelConfig,
    model_version: '',
    sampling: 'Uncertainty sampling',
    created_at: '2025-05-29T09:10:56.123456Z',
    task_number: 100,
  };
}

/** ANNOTATION_CREATED / ANNOTATION_UPDATED as LS's webhook subsystem sends it. */
export function annotationEvent(input: {
  action?: 'ANNOTATION_CREATED' | 'ANNOTATION_UPDATED';
  annotationId: number;
  taskId: number;
  data: Record<string, unknown>;
  choice: string | null;
  labelConfig: string;
  fromName?: string;
  toName?: string;
  userId?: number;
  updatedAt?: string;
}) {
  const updatedAt = input.updatedAt ?? '2025-05-29T09:20:44.120419Z';
  return {
    action: input.action ?? 'ANNOTATION_CREATED',
    annotation: {
      id: input.annotationId,
      result:
        input.choice === null
          ? []
          : [
              {
                id: `r${input.annotationId}`,
                type: 'choices',
                value: { choices: [input.choice] },
                origin: 'manual',
                to_name: input.toName ?? 'text',
                from_name: input.fromName ?? 'sentiment',
              },
            ],
      was_cancelled: input.choice === null,
      ground_truth: false,
      created_at: '2025-05-29T09:20:44.120391Z',
      updated_at: updatedAt,
      lead_time: 6.203,
      task: input.taskId,
      project: 1,
      completed_by: input.userId ?? 1,
      updated_by: input.userId ?? 1,
    },
    project: lsProject(input.labelConfig),
    task: { ...lsTask(input.taskId, input.data), is_labeled: true },
  };
}
