import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '@labelloop/config';

// No kubectl or kustomize on the build machines: the overlays are rendered here by a small subset of
// kustomize (the fields our kustomization files use; any other field fails the render), then checked.
const root = resolve(__dirname, '../..');
const k8s = join(root, 'k8s');

type Json = Record<string, unknown>;
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: Json & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Json;
  volumes?: ({ name: string } & Json)[];
  nodeSelector?: Record<string, string>;
  tolerations?: Json[];
  restartPolicy?: string;
  automountServiceAccountToken?: boolean;
}
type Workload = Resource & {
  spec: { replicas?: number; selector?: { matchLabels: Record<string, string> } } & {
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

// ---------------------------------------------------------------------------------------------------
// The kustomize subset

/** Lists merged by a key instead of replaced, as Kubernetes' strategic merge patch does for these fields. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
};

/** Strategic merge of `patch` into `base` (neither is modified): maps merge, null deletes, keyed lists merge. */
function strategicMerge(base: unknown, patch: unknown, field = ''): unknown {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[field];
    if (!key || !Array.isArray(base)) return structuredClone(patch);
    const merged = base.map((item) => structuredClone(item) as Json);
    for (const item of patch as Json[]) {
      const at = merged.findIndex((existing) => existing[key] === item[key]);
      if (at >= 0) merged[at] = strategicMerge(merged[at], item) as Json;
      else merged.push(structuredClone(item));
    }
    return merged;
  }
  if (patch === null || typeof patch !== 'object') return patch;
  const result: Json =
    base !== null && typeof base === 'object' && !Array.isArray(base) ? structuredClone(base as Json) : {};
  for (const [name, value] of Object.entries(patch as Json)) {
    if (value === null) delete result[name];
    else result[name] = strategicMerge(result[name], value, name);
  }
  return result;
}

/** kustomize's images transformer for one image reference. */
function retag(
  image: string,
  rules: { name: string; newName?: string; newTag?: string; digest?: string }[],
): string {
  const match = /^(.*?)(?::([\w.-]+))?(?:@(sha256:\w+))?$/.exec(image) as RegExpExecArray;
  const rule = rules.find((r) => r.name === match[1]);
  if (!rule) return image;
  const name = rule.newName ?? match[1];
  if (rule.digest) return `${name}@${rule.digest}`;
  const tag = rule.newTag ?? match[2];
  return tag ? `${name}:${tag}` : name;
}

function podSpecOf(resource: Resource): PodSpec | undefined {
  const spec = resource.spec as { template?: { spec?: PodSpec } } | undefined;
  return spec?.template?.spec;
}

const CLUSTER_SCOPED = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass'];
const KUSTOMIZATION_FIELDS = [
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'configMapGenerator',
  'generatorOptions',
  'patches',
  'images',
  'replicas',
];

const resourceId = (r: Resource) => `${r.kind}/${r.metadata.name}`;

function readDocuments(file: string): Resource[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
      return doc.toJS() as Resource;
    })
    .filter((doc) => doc !== null);
}

/** Renders a kustomization directory like `kustomize build` does, for the fields in KUSTOMIZATION_FIELDS. */
function kustomizeBuild(dir: string): Resource[] {
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Json;
  const unknown = Object.keys(kustomization).filter((field) => !KUSTOMIZATION_FIELDS.includes(field));
  if (unknown.length)
    throw new Error(`${dir}: kustomization fields not supported here: ${unknown.join(', ')}`);
  // kustomize's default load restrictor: files come from inside the kustomization's own directory.
  const inside = (path: string) => {
    const target = resolve(dir, path);
    if (relative(dir, target).startsWith('..'))
      throw new Error(`${path}: file outside ${dir} (load restrictor)`);
    return target;
  };
  const resources: Resource[] = [];
  for (const entry of (kustomization.resources as string[] | undefined) ?? []) {
    const path = resolve(dir, entry);
    if (existsSync(path) && statSync(path).isDirectory()) resources.push(...kustomizeBuild(path));
    else resources.push(...readDocuments(inside(entry)));
  }
  const options = (kustomization.generatorOptions ?? {}) as { disableNameSuffixHash?: boolean };
  for (const generator of (kustomization.configMapGenerator ?? []) as Json[]) {
    if (!options.disableNameSuffixHash)
      throw new Error('name suffix hashes are not rendered here; disable them');
    const generated = generator as {
      name: string;
      files: string[];
      options?: { labels?: Record<string, string> };
    };
    resources.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: generated.name, labels: generated.options?.labels },
      data: Object.fromEntries(
        generated.files.map((file) => [basename(file), readFileSync(inside(file), 'utf8')]),
      ),
    });
  }
  const seen = new Set<string>();
  for (const r of resources) {
    if (seen.has(resourceId(r))) throw new Error(`${dir}: ${resourceId(r)} is defined twice`);
    seen.add(resourceId(r));
  }
  let out = resources;
  if (kustomization.namespace) {
    out = out.map((r) =>
      CLUSTER_SCOPED.includes(r.kind)
        ? r
        : { ...r, metadata: { ...r.metadata, namespace: kustomization.namespace as string } },
    );
  }
  for (const { path } of (kustomization.patches ?? []) as { path: string }[]) {
    for (const patch of readDocuments(inside(path))) {
      const targets = out.filter((r) => r.kind === patch.kind && r.metadata.name === patch.metadata.name);
      if (targets.length !== 1)
        throw new Error(`${path}: patch ${resourceId(patch)} matches ${targets.length}`);
      out = out.map((r) => (r === targets[0] ? (strategicMerge(r, patch) as Resource) : r));
    }
  }
  const images = (kustomization.images ?? []) as { name: string }[];
  for (const r of out) {
    const pod = podSpecOf(r);
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])])
      c.image = retag(c.image, images);
  }
  for (const { name, count } of (kustomization.replicas ?? []) as { name: string; count: number }[]) {
    const targets = out.filter((r) => r.kind === 'Deployment' && r.metadata.name === name);
    if (targets.length !== 1) throw new Error(`replicas: no Deployment ${name}`);
    (targets[0].spec as { replicas: number }).replicas = count;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The invariants

/** Kubernetes quantities in base units (cores, bytes). */
function quantity(value: string | number | undefined): number {
  if (value === undefined) return NaN;
  const match = /^([\d.]+)(m|Ki|Mi|Gi|Ti|k|M|G)?$/.exec(String(value));
  if (!match) return NaN;
  const scale: Record<string, number> = {
    m: 1e-3,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
  };
  return Number(match[1]) * (match[2] ? scale[match[2]] : 1);
}

const IMAGE_USER = 1000; // USER 1000:1000 in both final Dockerfile stages (checked below).

/** What every container must have; `serves` = a long-running server with HTTP probes (not the migration Job). */
function containerProblems(pod: PodSpec, c: Container, serves: boolean): string[] {
  const problems: string[] = [];
  if (serves) {
    const http = c.ports?.find((p) => p.name === 'http');
    if (http?.containerPort !== 3000)
      problems.push('no container port "http" 3000 (the PORT in the ConfigMap)');
    for (const [probe, path] of [
      ['livenessProbe', '/health/live'],
      ['readinessProbe', '/health/ready'],
    ] as const) {
      const get = c[probe]?.httpGet;
      if (get?.path !== path || (get.port !== 'http' && get.port !== 3000))
        problems.push(`${probe} is not an HTTP GET of ${path} on the http port`);
    }
  }
  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (!(quantity(c.resources?.[kind]?.[resource]) > 0)) problems.push(`no ${resource} ${kind}`);
    }
  }
  for (const resource of Object.keys(c.resources?.requests ?? {})) {
    if (quantity(c.resources?.requests?.[resource]) > quantity(c.resources?.limits?.[resource]))
      problems.push(`${resource} request above its limit`);
  }
  const sc = c.securityContext ?? {};
  if (sc.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation is not false');
  if (sc.readOnlyRootFilesystem !== true) problems.push('root filesystem is not read-only');
  if (!sc.capabilities?.drop?.includes('ALL')) problems.push('capabilities not dropped');
  if (sc.privileged === true) problems.push('privileged');
  const podSc = { ...pod.securityContext, ...sc };
  if (podSc.runAsNonRoot !== true) problems.push('runAsNonRoot is not true');
  if (podSc.runAsUser !== IMAGE_USER) problems.push(`runAsUser is not the image's user ${IMAGE_USER}`);
  if ((podSc.seccompProfile as { type?: string } | undefined)?.type !== 'RuntimeDefault')
    problems.push('no RuntimeDefault seccomp profile');
  const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
  const volume = pod.volumes?.find((v) => v.name === tmp?.name);
  if (!volume?.emptyDir) problems.push('no writable emptyDir on /tmp');
  if (!/^registry\.example\.com\/labelloop:[\w.-]+$/.test(c.image))
    problems.push(`image ${c.image} not set by the overlay`);
  return problems;
}

/** Every workload container with the checks that apply to it. */
function containerReport(resources: Resource[]): Record<string, string[]> {
  const report: Record<string, string[]> = {};
  for (const r of resources.filter((r) => r.kind === 'Deployment' || r.kind === 'Job')) {
    const pod = podSpecOf(r) as PodSpec;
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])])
      report[`${resourceId(r)}/${c.name}`] = containerProblems(pod, c, r.kind === 'Deployment');
  }
  return report;
}

const labelsMatch = (selector: Record<string, string> | undefined, labels: Record<string, string> = {}) =>
  selector !== undefined && Object.entries(selector).every(([key, value]) => labels[key] === value);

// ---------------------------------------------------------------------------------------------------

const overlays = {
  dev: kustomizeBuild(join(k8s, 'overlays/dev')),
  prod: kustomizeBuild(join(k8s, 'overlays/prod')),
};
type Overlay = keyof typeof overlays;
const find = <T extends Resource = Resource>(overlay: Overlay, kind: string, name: string) =>
  overlays[overlay].find((r) => r.kind === kind && r.metadata.name === name) as T;
const workloads = (overlay: Overlay) =>
  overlays[overlay].filter((r) => r.kind === 'Deployment') as Workload[];
const container = (overlay: Overlay, name: string) =>
  find<Workload>(overlay, 'Deployment', `labelloop-${name}`).spec.template.spec.containers[0];

const COMMON = [
  'ConfigMap/labelloop-config',
  'ConfigMap/labelloop-grafana-dashboard',
  'Deployment/labelloop-api',
  'Deployment/labelloop-scorer',
  'Deployment/labelloop-trainer',
  'HorizontalPodAutoscaler/labelloop-api',
  'HorizontalPodAutoscaler/labelloop-scorer',
  'Ingress/labelloop-api',
  'Job/labelloop-migrate',
  'Namespace/labelloop',
  'NetworkPolicy/labelloop-api-from-ingress',
  'NetworkPolicy/labelloop-default-deny',
  'NetworkPolicy/labelloop-egress',
  'NetworkPolicy/labelloop-metrics-from-monitoring',
  'PodDisruptionBudget/labelloop-api',
  'PodDisruptionBudget/labelloop-scorer',
  'PodDisruptionBudget/labelloop-trainer',
  'Service/labelloop-api',
  'Service/labelloop-scorer',
  'Service/labelloop-trainer',
];

describe('kustomize subset', () => {
  it('merges maps, deletes on null, merges containers and env by name, replaces other lists', () => {
    const base = {
      spec: {
        minAvailable: 1,
        tolerations: [{ key: 'a' }],
        containers: [
          { name: 'app', image: 'x', env: [{ name: 'A', value: '1' }] },
          { name: 'side', image: 'y' },
        ],
      },
    };
    const before = structuredClone(base);
    const merged = strategicMerge(base, {
      spec: {
        minAvailable: null,
        maxUnavailable: 1,
        tolerations: [{ key: 'b' }],
        containers: [{ name: 'app', env: [{ name: 'B', value: '2' }] }],
      },
    });
    expect(merged).toEqual({
      spec: {
        maxUnavailable: 1,
        tolerations: [{ key: 'b' }],
        containers: [
          {
            name: 'app',
            image: 'x',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
          { name: 'side', image: 'y' },
        ],
      },
    });
    expect(base).toEqual(before);
  });

  it('retags images by name, leaving other images alone', () => {
    const rules = [
      { name: 'labelloop', newName: 'reg/labelloop', newTag: '1.0' },
      { name: 'pinned', digest: 'sha256:abc' },
    ];
    expect(retag('labelloop', rules)).toBe('reg/labelloop:1.0');
    expect(retag('labelloop:old', rules)).toBe('reg/labelloop:1.0');
    expect(retag('pinned:1', rules)).toBe('pinned@sha256:abc');
    expect(retag('labelloop-gpu', rules)).toBe('labelloop-gpu');
  });

  it('refuses what kustomize refuses: files outside the directory, unknown fields, duplicates, unmatched patches', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'kustomize-'));
    try {
      const overlay = join(scratch, 'overlay');
      mkdirSync(overlay);
      const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n';
      writeFileSync(join(scratch, 'outside.yaml'), deployment);
      writeFileSync(join(overlay, 'app.yaml'), deployment);
      writeFileSync(join(overlay, 'patch.yaml'), deployment.replace('name: app', 'name: other'));
      const build = (kustomization: string) => {
        writeFileSync(join(overlay, 'kustomization.yaml'), kustomization);
        return () => kustomizeBuild(overlay);
      };
      expect(build('resources: [app.yaml]')()).toEqual([parse(deployment)]);
      expect(build('resources: [../outside.yaml]')).toThrow('load restrictor');
      expect(build('resources: [app.yaml]\nnamePrefix: x-')).toThrow('not supported here: namePrefix');
      expect(build('resources: [app.yaml, app.yaml]')).toThrow('Deployment/app is defined twice');
      expect(build('resources: [app.yaml]\npatches: [{ path: patch.yaml }]')).toThrow(
        'Deployment/other matches 0',
      );
      expect(build('resources: [app.yaml]\nreplicas: [{ name: other, count: 2 }]')).toThrow(
        'no Deployment other',
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('quantities compare in base units', () => {
    expect(quantity('250m')).toBeCloseTo(0.25);
    expect(quantity('1536Mi')).toBe(1.5 * 2 ** 30);
    expect(quantity('2Gi')).toBeGreaterThan(quantity('1536Mi'));
    expect(quantity(1)).toBe(1);
    expect(quantity('lots')).toBeNaN();
  });
});

describe.each(['dev', 'prod'] as const)('k8s overlay %s', (overlay) => {
  const resources = overlays[overlay];

  it('renders exactly the expected kinds and names, all in the labelloop namespace', () => {
    const expected = overlay === 'dev' ? [...COMMON, 'Secret/labelloop-secrets'] : COMMON;
    expect(resources.map(resourceId).sort()).toEqual([...expected].sort());
    for (const r of resources)
      expect([resourceId(r), r.metadata.namespace]).toEqual([
        resourceId(r),
        r.kind === 'Namespace' ? undefined : 'labelloop',
      ]);
  });

  it.each(Object.keys(containerReport(overlays[overlay])))(
    '%s: probes, resources, non-root read-only security context, /tmp, image',
    (id) => {
      expect(containerReport(resources)[id]).toEqual([]);
    },
  );

  it('each Deployment runs its role, with a configuration the app accepts', () => {
    // prod's Secret is created out of band; the dev example stands in for its keys.
    const secret = find(overlay, 'Secret', 'labelloop-secrets') ?? find('dev', 'Secret', 'labelloop-secrets');
    const config = find(overlay, 'ConfigMap', 'labelloop-config').data as Record<string, string>;
    for (const role of ['api', 'scorer', 'trainer']) {
      const c = container(overlay, role);
      expect(c.envFrom).toEqual([
        { configMapRef: { name: 'labelloop-config' } },
        { secretRef: { name: 'labelloop-secrets' } },
      ]);
      const env = {
        ...config,
        ...(secret.stringData as Record<string, string>),
        ...Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value as string])),
      };
      const loaded = loadConfig(env);
      expect([role, loaded.role, loaded.storage.driver, loaded.http.port]).toEqual([role, role, 's3', 3000]);
    }
  });

  it('selectors match pod labels; Services, HPAs, PDBs and the Ingress point at what exists', () => {
    for (const d of workloads(overlay)) {
      expect(labelsMatch(d.spec.selector?.matchLabels, d.spec.template.metadata.labels)).toBe(true);
      const service = find<Resource & { spec: { selector: Record<string, string> } }>(
        overlay,
        'Service',
        d.metadata.name,
      );
      expect(labelsMatch(service.spec.selector, d.spec.template.metadata.labels)).toBe(true);
      const pdbs = resources.filter(
        (r) =>
          r.kind === 'PodDisruptionBudget' &&
          labelsMatch(
            (r.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
            d.spec.template.metadata.labels,
          ),
      );
      expect([d.metadata.name, pdbs.length]).toEqual([d.metadata.name, 1]);
      // A PDB must never block a node drain: minAvailable below the fewest replicas there can be.
      const hpa = find(overlay, 'HorizontalPodAutoscaler', d.metadata.name) as
        (Resource & { spec: Json }) | undefined;
      const fewest = (hpa?.spec.minReplicas as number | undefined) ?? d.spec.replicas ?? 1;
      const minAvailable = (pdbs[0].spec as { minAvailable?: number }).minAvailable;
      if (minAvailable !== undefined) expect(minAvailable).toBeLessThan(fewest);
    }
    for (const name of ['labelloop-api', 'labelloop-scorer']) {
      const hpa = find(overlay, 'HorizontalPodAutoscaler', name).spec as Json & { scaleTargetRef: Json };
      expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
      expect(hpa.minReplicas as number).toBeGreaterThanOrEqual(1);
      expect(hpa.maxReplicas as number).toBeGreaterThan(hpa.minReplicas as number);
    }
    const backend = (find(overlay, 'Ingress', 'labelloop-api').spec as { rules: Json[] }).rules.map(
      (rule) =>
        (rule as { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } })
          .http.paths[0].backend.service,
    );
    expect(backend).toEqual([{ name: 'labelloop-api', port: { name: 'http' } }]);
    const apiService = find(overlay, 'Service', 'labelloop-api').spec as { ports: { name: string }[] };
    expect(apiService.ports.map((p) => p.name)).toContain('http');
  });

  it('network policies deny by default and let in only the ingress controller and Prometheus', () => {
    const policies = resources.filter((r) => r.kind === 'NetworkPolicy') as (Resource & { spec: Json })[];
    const deny = policies.find(
      (p) => JSON.stringify(p.spec.podSelector) === '{}' && !p.spec.ingress && !p.spec.egress,
    );
    expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const allowedIn = (labels: Record<string, string>) =>
      policies
        .filter((p) => (p.spec.policyTypes as string[]).includes('Ingress') && p.spec.ingress)
        .filter((p) =>
          labelsMatch((p.spec.podSelector as { matchLabels: Record<string, string> }).matchLabels, labels),
        )
        .flatMap((p) => p.spec.ingress as { from: { namespaceSelector: { matchLabels: Json } }[] }[])
        .map((rule) => rule.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']);
    for (const d of workloads(overlay)) {
      const expected = d.metadata.name === 'labelloop-api' ? ['ingress-nginx', 'monitoring'] : ['monitoring'];
      expect([d.metadata.name, allowedIn(d.spec.template.metadata.labels).sort()]).toEqual([
        d.metadata.name,
        expected,
      ]);
    }
    const egress = policies.find((p) => p.metadata.name === 'labelloop-egress')?.spec.egress as {
      ports: { port: number }[];
    }[];
    expect(egress.flatMap((rule) => rule.ports.map((p) => p.port))).toEqual(
      expect.arrayContaining([53, 5432, 6379, 9000]),
    );
  });

  it('the migration Job runs the migration command once per release', () => {
    const job = find<Workload>(overlay, 'Job', 'labelloop-migrate');
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'dist/apps/server/src/migrate.js']);
    expect(job.spec.template.spec.restartPolicy).toBe('OnFailure');
    expect(job.spec.template.spec.containers[0].envFrom).toEqual([
      { secretRef: { name: 'labelloop-secrets' } },
    ]);
  });

  it('the namespace enforces the restricted Pod Security Standard the pods meet', () => {
    expect(find(overlay, 'Namespace', 'labelloop').metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });
});

describe('GPU', () => {
  const trainer = (overlay: Overlay) =>
    find<Workload>(overlay, 'Deployment', 'labelloop-trainer').spec.template.spec;

  it('prod runs the trainer on a GPU node with one GPU and the CUDA image', () => {
    const pod = trainer('prod');
    const c = pod.containers[0];
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(c.resources?.requests?.['nvidia.com/gpu']).toBe(1);
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(c.image).toBe('registry.example.com/labelloop:0.1.0-gpu');
    expect(c.env).toEqual([
      { name: 'LABELLOOP_ROLE', value: 'trainer' },
      { name: 'ML_BACKEND', value: 'tensorflow-gpu' },
    ]);
    // The patch kept everything else of the base container.
    expect(containerProblems(pod, c, true)).toEqual([]);
  });

  it('dev and the other prod workloads ask for no GPU', () => {
    const gpuAnywhere = (overlay: Overlay) =>
      workloads(overlay)
        .filter((d) => JSON.stringify(d).includes('nvidia.com/gpu'))
        .map((d) => d.metadata.name);
    expect(gpuAnywhere('dev')).toEqual([]);
    expect(gpuAnywhere('prod')).toEqual(['labelloop-trainer']);
    expect(container('dev', 'trainer').image).toBe('registry.example.com/labelloop:0.1.0');
  });
});

describe('the checks catch a broken manifest', () => {
  const api = () => structuredClone(find<Workload>('prod', 'Deployment', 'labelloop-api').spec.template.spec);

  it.each([
    [
      'no liveness probe',
      (c: Container) => delete c.livenessProbe,
      'livenessProbe is not an HTTP GET of /health/live on the http port',
    ],
    [
      'readiness on /health/live',
      (c: Container) => (c.readinessProbe = c.livenessProbe),
      'readinessProbe is not an HTTP GET of /health/ready on the http port',
    ],
    ['no memory limit', (c: Container) => delete c.resources?.limits?.memory, 'no memory limits'],
    [
      'request above limit',
      (c: Container) => c.resources?.requests && (c.resources.requests.cpu = '4'),
      'cpu request above its limit',
    ],
    [
      'writable root',
      (c: Container) => c.securityContext && (c.securityContext.readOnlyRootFilesystem = false),
      'root filesystem is not read-only',
    ],
    [
      'capabilities kept',
      (c: Container) => delete c.securityContext?.capabilities,
      'capabilities not dropped',
    ],
    ['no /tmp', (c: Container) => (c.volumeMounts = []), 'no writable emptyDir on /tmp'],
    [
      'image not retagged',
      (c: Container) => (c.image = 'labelloop'),
      'image labelloop not set by the overlay',
    ],
  ])('%s', (_, edit, problem) => {
    const pod = api();
    edit(pod.containers[0]);
    expect(containerProblems(pod, pod.containers[0], true)).toEqual([problem]);
  });

  it('a pod that may run as root', () => {
    const pod = api();
    delete pod.securityContext?.runAsNonRoot;
    pod.securityContext = { ...pod.securityContext, runAsUser: 0 };
    expect(containerProblems(pod, pod.containers[0], true)).toEqual([
      'runAsNonRoot is not true',
      "runAsUser is not the image's user 1000",
    ]);
  });
});

describe('beside the manifests', () => {
  it('the Dockerfile user is the uid the pods run as', () => {
    const users = [...readFileSync(join(root, 'Dockerfile'), 'utf8').matchAll(/^USER (\S+)$/gm)].map(
      (m) => m[1],
    );
    expect(users).toEqual([`${IMAGE_USER}:${IMAGE_USER}`, `${IMAGE_USER}:${IMAGE_USER}`]);
  });

  it('the Grafana dashboard is valid JSON, shipped as a ConfigMap, with a panel per required metric', () => {
    const file = join(k8s, 'base/grafana-dashboard.json');
    const text = readFileSync(file, 'utf8');
    const dashboard = JSON.parse(text) as {
      uid: string;
      panels: { id: number; title: string; targets: { expr: string }[] }[];
    };
    expect(find('prod', 'ConfigMap', 'labelloop-grafana-dashboard').data).toEqual({
      'grafana-dashboard.json': text,
    });
    expect(find('prod', 'ConfigMap', 'labelloop-grafana-dashboard').metadata.labels).toEqual({
      grafana_dashboard: '1',
    });
    const exprs = dashboard.panels.map((p) => p.targets.map((t) => t.expr).join('\n'));
    const panelWith = (pattern: RegExp) => exprs.filter((e) => pattern.test(e)).length;
    expect(panelWith(/sum by \(project, annotator\) \(rate\(labels_total\b/)).toBe(1);
    expect(panelWith(/tasks_open\b[\s\S]*tasks_leased\b/)).toBe(1);
    expect(
      panelWith(
        /histogram_quantile\(0\.5, sum by \(le, route\) \(rate\(http_request_duration_seconds_bucket/,
      ),
    ).toBe(1);
    expect(
      panelWith(
        /histogram_quantile\(0\.99, sum by \(le, route\) \(rate\(http_request_duration_seconds_bucket/,
      ),
    ).toBe(1);
    for (const metric of [
      'training_duration_seconds',
      'model_holdout_accuracy',
      'items_scored_total',
      'queue_jobs',
    ])
      expect([metric, panelWith(new RegExp(`\\b${metric}`))]).toEqual([metric, 1]);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    // The API's metric names are the ones the service registers.
    const registered = readFileSync(join(root, 'libs/observability/src/metrics.ts'), 'utf8');
    for (const metric of ['http_request_duration_seconds', 'labels_total', 'tasks_open', 'tasks_leased'])
      expect(registered).toContain(`name: '${metric}'`);
    expect(registered).toMatch(/labelNames: \['project', 'annotator'\]/);
    expect(registered).toMatch(/labelNames: \['method', 'route', 'status_code'\]/);
  });

  it('README documents deploying and scaling each part', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const deploy = readme.slice(readme.lastIndexOf('\n## Deploy\n'));
    expect(readme.lastIndexOf('\n## Deploy\n')).toBeGreaterThan(0);
    for (const needed of [
      'docker compose up',
      '--target trainer-gpu',
      'kubectl apply -k k8s/overlays/dev',
      'kubectl apply -k k8s/overlays/prod',
      'labelloop-secrets',
      'labelloop-migrate',
      'kubectl -n labelloop scale deployment/labelloop-trainer',
      'HorizontalPodAutoscaler',
      'nvidia.com/gpu',
    ])
      expect([needed, deploy.includes(needed)]).toEqual([needed, true]);
  });
});
