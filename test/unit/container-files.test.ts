import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHUTDOWN_GRACE_MS } from '../../src/cli/commands/run.js';
import { REPO, runCli } from '../helpers/cli.js';

/**
 * The container files checked on paper, without a container engine: the Dockerfile (a small line
 * parser), docker/compose.yaml with its configs, and the Kubernetes manifests (parsed as YAML).
 * Every config they carry must pass `dnsquorum validate` with the environment the example gives.
 */

const REGIONS = ['us-east', 'eu-west', 'ap-south'] as const;
const STATE_DIR = '/var/lib/dnsquorum';
const API_PORT = 8053;
/** Variables whose values are secrets: they must come from the environment, never be written in a file. */
const SECRET_VARIABLES = ['DNSQUORUM_API_TOKEN', 'DNSQUORUM_CLUSTER_SECRET', 'NS1_API_KEY', 'AWS_SECRET_ACCESS_KEY'];

const repoFile = (path: string): Promise<string> => readFile(join(REPO, path), 'utf8');

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly name: string | undefined;
  /** The base image with ARG defaults substituted. */
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

interface Dockerfile {
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly stages: readonly Stage[];
  readonly comments: readonly string[];
}

/** Instructions with continuation lines joined; comment lines (parser directives included) set aside. */
function instructionsOf(text: string): { instructions: Instruction[]; comments: string[] } {
  const instructions: Instruction[] = [];
  const comments: string[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#')) {
      comments.push(line);
      return;
    }
    if (line === '' && pending === undefined) return;
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1).trim() : line;
    pending = pending === undefined ? { text: part, line: index + 1 } : { text: `${pending.text} ${part}`, line: pending.line };
    if (continued) return;
    const match = /^(\S+)\s*(.*)$/s.exec(pending.text);
    if (match !== null) instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim(), line: pending.line });
    pending = undefined;
  });
  return { instructions, comments };
}

function substitute(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => args.get(braced ?? bare ?? '') ?? whole);
}

function parseDockerfile(text: string): Dockerfile {
  const { instructions, comments } = instructionsOf(text);
  const globalArgs = new Map<string, string>();
  const stages: { name: string | undefined; base: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, base: substitute(image, globalArgs), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile:${instruction.line}: ${instruction.keyword} before the first FROM`);
      const [key = '', value = ''] = instruction.args.split('=', 2);
      globalArgs.set(key, value);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages, comments };
}

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
}

function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** An exec-form argument list (`["node", "x"]`); undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  return z.array(z.string()).parse(JSON.parse(args));
}

/** `KEY=value` pairs of ENV, or `key="value"` pairs of LABEL. */
function pairsOf(args: string): Map<string, string> {
  return new Map([...args.matchAll(/([\w.-]+)=(?:"([^"]*)"|(\S*))/g)].map((m) => [m[1] ?? '', m[2] ?? m[3] ?? '']));
}

/** ARG defaults declared in a stage. */
function stageArgs(stage: Stage): Map<string, string> {
  return new Map(all(stage, 'ARG').map((i) => i.args.split('=', 2) as [string, string?]).filter((kv): kv is [string, string] => kv[1] !== undefined));
}

/** Every module specifier a TypeScript file names: imports and re-exports (type-only ones too), dynamic imports. */
function specifiersOf(source: string): string[] {
  return [
    ...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm),
    ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1] ?? '');
}

/** The .ts files under a directory of the repository, as paths relative to the repository. */
async function tsFilesUnder(dir: string): Promise<string[]> {
  return (await readdir(join(REPO, dir), { recursive: true })).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
}

/**
 * Stages that hold the fakes: those that copy fakes/ (or their tsconfig) from the context, start
 * from such a stage, or copy from one.
 */
function stagesWithFakes(dockerfile: Dockerfile): Set<string | undefined> {
  const tainted = new Set<string | undefined>();
  for (const stage of dockerfile.stages) {
    const copies = all(stage, 'COPY');
    const fromContext = copies.filter((c) => !c.args.includes('--from=')).flatMap((c) => c.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1));
    const fromStages = copies.map((c) => /--from=(\S+)/.exec(c.args)?.[1]).filter((s) => s !== undefined);
    if (tainted.has(stage.base) || fromContext.some((s) => /^(\.\/)?(fakes\b|tsconfig\.fakes\.json$)/.test(s)) || fromStages.some((s) => tainted.has(s))) tainted.add(stage.name);
  }
  return tainted;
}

describe('Dockerfile', () => {
  let dockerfile: Dockerfile;
  let runtime: Stage;
  let version: string;
  beforeAll(async () => {
    dockerfile = parseDockerfile(await repoFile('Dockerfile'));
    const last = dockerfile.stages.at(-1);
    if (last === undefined) throw new Error('the Dockerfile has no FROM');
    runtime = last;
    version = z.object({ version: z.string() }).parse(JSON.parse(await repoFile('package.json'))).version;
  });

  const stageNamed = (name: string): Stage => only(dockerfile.stages.filter((s) => s.name === name), `stage ${name}`);
  const copiedFrom = (target: string): { stage: string; source: string } => {
    const copy = only(
      all(runtime, 'COPY').filter((c) => c.args.split(/\s+/).at(-1)?.replace(/\/$/, '') === target),
      `COPY into ${target}`,
    );
    const from = /--from=(\S+)/.exec(copy.args)?.[1];
    if (from === undefined) throw new Error(`COPY into ${target} does not come from a build stage`);
    return { stage: from, source: copy.args.split(/\s+/).at(-2) ?? '' };
  };

  it('builds in stages and runs from a stage that installed production dependencies only', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const modules = copiedFrom('./node_modules');
    expect(all(stageNamed(modules.stage), 'RUN').map((r) => r.args)).toContainEqual(expect.stringMatching(/^npm ci\b.*--omit=dev/));
    const dist = copiedFrom('./dist');
    expect(all(stageNamed(dist.stage), 'RUN').map((r) => r.args)).toContainEqual(expect.stringMatching(/^npm run build\b/));
    // The runtime stage neither installs nor builds anything itself.
    expect(all(runtime, 'RUN').map((r) => r.args).join('\n')).not.toMatch(/\bnpm (ci|install|run)\b/);
  });

  it('pins every stage to node:22-bookworm-slim by tag and says to pin by digest in production', () => {
    expect(dockerfile.stages.map((s) => s.base)).toEqual(dockerfile.stages.map(() => 'node:22-bookworm-slim'));
    expect(dockerfile.comments.join('\n')).toMatch(/pin .*by digest/i);
  });

  it('runs as a numeric non-root user that owns only the state directory', () => {
    const user = all(runtime, 'USER').at(-1)?.args ?? '';
    const match = /^(\d+)(?::(\d+))?$/.exec(user);
    expect(match, `USER ${user} must be numeric (uid or uid:gid)`).not.toBeNull();
    const uid = Number(match?.[1]);
    expect(uid).toBeGreaterThan(0);
    const setup = all(runtime, 'RUN').map((r) => r.args).join('\n');
    expect(setup).toContain(`chown ${user} ${STATE_DIR}`);
    expect(all(runtime, 'VOLUME').map((v) => execForm(v.args) ?? v.args.split(/\s+/)).flat()).toContain(STATE_DIR);
    // Nothing else is handed to the user: code and dependencies stay root's.
    expect(all(runtime, 'COPY').filter((c) => c.args.includes('--chown'))).toEqual([]);
  });

  it('starts node directly in exec form, never through npm or a shell', () => {
    const entrypoint = execForm(only(all(runtime, 'ENTRYPOINT'), 'ENTRYPOINT').args);
    const cmd = execForm(only(all(runtime, 'CMD'), 'CMD').args);
    expect(entrypoint, 'ENTRYPOINT must be in exec form').toEqual(['node', '/app/dist/cli/index.js']);
    expect(cmd, 'CMD must be in exec form').toBeDefined();
    expect(cmd?.[0]).toBe('run');
    for (const word of [...(entrypoint ?? []), ...(cmd ?? [])]) expect(word).not.toMatch(/\b(npm|npx|sh|bash)\b/);
    expect(only(all(runtime, 'STOPSIGNAL'), 'STOPSIGNAL').args).toBe('SIGTERM');
  });

  it('checks its health with node fetch against /healthz on the API port (no curl in the image)', () => {
    const healthcheck = only(all(runtime, 'HEALTHCHECK'), 'HEALTHCHECK').args;
    const [options = '', command = ''] = healthcheck.split(/\s+CMD\s+/, 2);
    expect(options).toMatch(/--interval=\d+s/);
    expect(options).toMatch(/--timeout=\d+s/);
    const argv = execForm(command);
    expect(argv?.[0]).toBe('node');
    expect(argv?.join(' ')).toContain(`fetch(process.env.DNSQUORUM_HEALTHCHECK_URL || 'http://127.0.0.1:${API_PORT}/healthz'`);
    expect(healthcheck).not.toMatch(/\b(curl|wget)\b/);
  });

  it('sets NODE_ENV=production, exposes the API and DNS ports and carries OCI labels', () => {
    const env = new Map(all(runtime, 'ENV').flatMap((e) => [...pairsOf(e.args)]));
    expect(env.get('NODE_ENV')).toBe('production');
    expect(env.get('DNSQUORUM_STATE_DIR')).toBe(STATE_DIR);
    const exposed = all(runtime, 'EXPOSE').flatMap((e) => e.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining([`${API_PORT}/tcp`, '53/udp', '53/tcp']));
    const labels = new Map(all(runtime, 'LABEL').flatMap((l) => [...pairsOf(l.args)]));
    for (const key of ['title', 'description', 'licenses', 'version', 'revision', 'created']) {
      expect(labels.get(`org.opencontainers.image.${key}`), key).toBeTruthy();
    }
    expect(labels.get('org.opencontainers.image.licenses')).toBe('Apache-2.0');
    expect(substitute(labels.get('org.opencontainers.image.version') ?? '', stageArgs(runtime))).toBe(version);
  });

  // The fakes' image (the `fakes` stage) carries the same production-only node_modules.
  it('needs no dev dependency at run time: everything src/ and fakes/ import is a production dependency', async () => {
    const manifest = z.object({ dependencies: z.record(z.string(), z.string()) }).loose().parse(JSON.parse(await repoFile('package.json')));
    const files = [...(await tsFilesUnder('src')), ...(await tsFilesUnder('fakes'))];
    const packages = new Set<string>();
    for (const file of files) {
      const source = await readFile(join(REPO, file), 'utf8');
      const specifiers = [
        ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?\sfrom\s+'([^']+)'/gm),
        ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
        ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
      ].map((m) => m[1] ?? '');
      for (const specifier of specifiers) {
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? ''));
      }
    }
    expect(packages.size).toBeGreaterThan(0);
    for (const name of packages) expect(Object.keys(manifest.dependencies), `src/ or fakes/ imports ${name}`).toContain(name);
  });

  it('keeps the fakes out of the image: dist/ is compiled from src/ alone, and nothing in src/ is or imports a fake', async () => {
    const dist = copiedFrom('./dist');
    const build = stageNamed(dist.stage);
    const copiedDirectories = all(build, 'COPY').flatMap((c) => c.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1)).filter((s) => s.endsWith('/'));
    expect(copiedDirectories).toEqual(['src/']);
    const tsconfig = z.object({ compilerOptions: z.looseObject({ rootDir: z.string() }), include: z.array(z.string()) }).loose().parse(JSON.parse(await repoFile('tsconfig.build.json')));
    expect(tsconfig.include).toEqual(['src']);
    expect(tsconfig.compilerOptions.rootDir).toBe('src');
    // The fakes have a stage of their own (for compose); the runtime stage copies nothing from it.
    const withFakes = stagesWithFakes(dockerfile);
    expect(withFakes).toContain('fakes');
    expect(withFakes.has(runtime.name), 'the runtime stage holds the fakes').toBe(false);
    expect(withFakes.has(dist.stage), `${dist.stage}, which dist/ comes from, holds the fakes`).toBe(false);
    const files = await tsFilesUnder('src');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(file.split(sep), `${file} is compiled into dist/`).not.toContain('fakes');
      for (const specifier of specifiersOf(await readFile(join(REPO, file), 'utf8')).filter((s) => s.startsWith('.'))) {
        const target = relative(REPO, resolve(dirname(join(REPO, file)), specifier));
        expect(target.split(sep)[0], `${file} imports ${specifier}, outside src/`).toBe('src');
        expect(target.split(sep), `${file} imports ${specifier}`).not.toContain('fakes');
      }
    }
  });

  it('.dockerignore keeps out everything but what the COPY lines need', async () => {
    const patterns = (await repoFile('.dockerignore')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    expect(patterns[0]).toBe('*');
    const allowed = new Set(patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/\/$/, '')));
    for (const banned of ['node_modules', 'dist', 'state', '.git', 'test', 'docker']) expect(allowed.has(banned), banned).toBe(false);
    const sources = dockerfile.stages
      .flatMap((s) => all(s, 'COPY'))
      .filter((c) => !c.args.includes('--from='))
      .flatMap((c) => c.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(allowed, `${source} is copied but .dockerignore keeps it out`).toContain(source.replace(/\/$/, ''));
  });
});

// ---------------------------------------------------------------------------------------------
// Compose

const ComposeService = z.looseObject({
  image: z.string(),
  build: z.looseObject({ context: z.string(), dockerfile: z.string(), target: z.string().optional() }),
  read_only: z.boolean().optional(),
  cap_drop: z.array(z.string()).optional(),
  security_opt: z.array(z.string()).optional(),
  stop_grace_period: z.string().optional(),
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  healthcheck: z.looseObject({ test: z.array(z.string()) }).optional(),
  depends_on: z.record(z.string(), z.looseObject({ condition: z.string() })).optional(),
  networks: z.union([z.array(z.string()), z.record(z.string(), z.looseObject({ ipv4_address: z.string().optional() }))]).optional(),
});
type ComposeService = z.infer<typeof ComposeService>;

const Compose = z.looseObject({
  services: z.record(z.string(), ComposeService),
  networks: z.record(z.string(), z.looseObject({ internal: z.boolean().optional() })),
  volumes: z.record(z.string(), z.unknown()),
});

/** The part of a dnsquorum config these tests compare. */
const ReplicaConfig = z.looseObject({
  region: z.string(),
  stateDir: z.string(),
  resolve: z.record(z.string(), z.string()).optional(),
  api: z.looseObject({ listen: z.string(), token: z.string() }),
  cluster: z.looseObject({ peers: z.array(z.object({ region: z.string(), url: z.string() })), secret: z.string() }),
  providers: z.record(z.string(), z.looseObject({ type: z.string(), endpoint: z.string().optional() })),
  zones: z.record(z.string(), z.unknown()),
});
type ReplicaConfig = z.infer<typeof ReplicaConfig>;

/** Everything but what may differ between regions: the region and its peers. */
function sharedPart(config: ReplicaConfig): unknown {
  return { ...config, region: null, cluster: { ...config.cluster, peers: null } };
}

function optionValue(argv: readonly string[] | undefined, flag: string): string | undefined {
  const at = argv?.indexOf(flag) ?? -1;
  return at < 0 ? undefined : argv?.[at + 1];
}

function ipv4Of(service: ComposeService | undefined): string | undefined {
  const networks = service?.networks;
  if (networks === undefined || Array.isArray(networks)) return undefined;
  return Object.values(networks).find((n) => n.ipv4_address !== undefined)?.ipv4_address;
}

/** `30s`, `1m30s`, `500ms` as seconds; compose's duration format. */
function composeSeconds(text: string | undefined): number {
  let seconds = 0;
  for (const [, amount, unit] of (text ?? '').matchAll(/(\d+)(ms|s|m|h)/g)) seconds += Number(amount) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  return seconds;
}

/**
 * The secret variables set empty (which the config refuses), so a variable the example forgets
 * cannot be filled in from the environment the tests run in.
 */
const NO_SECRETS = Object.fromEntries(SECRET_VARIABLES.map((v) => [v, '']));

async function envExample(): Promise<Record<string, string>> {
  const lines = (await repoFile('docker/.env.example')).split('\n').filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The compose services that run a fake. */
const FAKES = ['fake-route53', 'fake-ns1'];

describe('docker/compose.yaml', () => {
  let text: string;
  let compose: z.infer<typeof Compose>;
  let replicas: [string, ComposeService][];
  let configs: Map<string, ReplicaConfig>;
  beforeAll(async () => {
    text = await repoFile('docker/compose.yaml');
    compose = Compose.parse(parse(text, { merge: true }));
    replicas = Object.entries(compose.services).filter(([, s]) => s.entrypoint === undefined && s.command?.[0] === 'run');
    configs = new Map();
    for (const [name, service] of replicas) {
      const path = service.environment?.DNSQUORUM_CONFIG ?? '';
      expect(path, `${name}: DNSQUORUM_CONFIG`).toMatch(/^\/etc\/dnsquorum\/[\w-]+\.yaml$/);
      configs.set(name, ReplicaConfig.parse(parse(await repoFile(`docker/config/${path.slice('/etc/dnsquorum/'.length)}`))));
    }
  });

  it('runs one replica in each of the three regions, each on its own config', () => {
    expect(replicas.map(([name]) => name).sort()).toEqual(REGIONS.map((r) => `dq-${r}`).sort());
    for (const [name] of replicas) expect(configs.get(name)?.region, name).toBe(name.slice('dq-'.length));
  });

  it('hardens every service: read-only root, no capabilities, no privilege escalation, a grace period above ours', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.read_only, `${name}: read_only`).toBe(true);
      expect(service.cap_drop, `${name}: cap_drop`).toContain('ALL');
      expect(service.security_opt, `${name}: security_opt`).toContain('no-new-privileges:true');
      expect(service.image, `${name}: image`).toBe(FAKES.includes(name) ? 'dnsquorum-fakes:local' : 'dnsquorum:local');
      expect(composeSeconds(service.stop_grace_period), `${name}: stop_grace_period`).toBeGreaterThan(SHUTDOWN_GRACE_MS / 1000);
    }
  });

  it('gives each replica its own state volume, the config directory read-only, and waits for healthy fakes', () => {
    const stateVolumes = replicas.map(([name, service]) => {
      expect(service.volumes, name).toContain('./config:/etc/dnsquorum:ro');
      const state = service.volumes?.find((v) => v.endsWith(`:${STATE_DIR}`));
      expect(state, `${name}: a volume on ${STATE_DIR}`).toBeDefined();
      expect(service.depends_on, name).toEqual({ 'fake-route53': { condition: 'service_healthy' }, 'fake-ns1': { condition: 'service_healthy' } });
      expect(configs.get(name)?.stateDir).toBe(STATE_DIR);
      return state?.split(':')[0] ?? '';
    });
    expect(new Set(stateVolumes).size).toBe(replicas.length);
    for (const volume of stateVolumes) expect(Object.keys(compose.volumes)).toContain(volume);
  });

  it('runs the fakes from the Dockerfile\'s fakes stage and everything else from the dnsquorum image', async () => {
    const entry = (name: string): string | undefined => compose.services[name]?.entrypoint?.join(' ');
    expect(entry('fake-route53')).toBe('node /app/dist-fakes/fakes/route53/cli.js');
    expect(entry('fake-ns1')).toBe('node /app/dist-fakes/fakes/ns1/cli.js');
    const stages = parseDockerfile(await repoFile('Dockerfile')).stages;
    expect(stages.map((s) => s.name)).toContain('fakes');
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.build.dockerfile, name).toBe('Dockerfile');
      // No target means the last stage: the runtime image.
      expect(service.build.target, `${name}: build target`).toBe(FAKES.includes(name) ? 'fakes' : undefined);
    }
    expect(stages.at(-1)?.name).not.toBe('fakes');
  });

  it('gives each service with its own entrypoint its own health check (the image one asks /healthz)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.entrypoint === undefined) continue;
      expect(service.healthcheck?.test[0], `${name}: a service with its own entrypoint needs its own healthcheck`).toBe('CMD');
      expect(service.healthcheck?.test.join(' '), name).not.toMatch(/\b(curl|wget)\b/);
    }
  });

  it('takes every secret from the environment, and .env.example names every variable it uses', async () => {
    const example = await envExample();
    for (const [name, service] of replicas) {
      for (const key of SECRET_VARIABLES) expect(service.environment?.[key], `${name}: ${key}`).toMatch(new RegExp(`^\\$\\{${key}:\\?[^}]+\\}$`));
    }
    const used = new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(:?[-?][^}]*)?\}/g)].filter((m) => !/^:?-/.test(m[2] ?? '')).map((m) => m[1] ?? ''));
    expect(used.size).toBeGreaterThan(0);
    for (const variable of used) expect(Object.keys(example), variable).toContain(variable);
    for (const value of Object.values(example)) expect(text).not.toContain(value);
  });

  it('keeps the network internal and the replicas identical apart from region and peers', () => {
    expect(Object.values(compose.networks).map((n) => n.internal)).toEqual([true]);
    const [first, ...others] = [...configs.values()];
    for (const other of others) expect(sharedPart(other)).toEqual(sharedPart(first as ReplicaConfig));
    for (const [name, config] of configs) {
      const expected = REGIONS.filter((r) => r !== config.region).map((r) => ({ region: r, url: `http://dq-${r}:${API_PORT}` }));
      expect(config.cluster.peers, name).toEqual(expected);
      expect(config.api.listen).toBe(`0.0.0.0:${API_PORT}`);
    }
  });

  it('points the configs at the fakes and backends where compose puts them', () => {
    const config = configs.values().next().value as ReplicaConfig;
    const ns1 = compose.services['fake-ns1'];
    const ns1Dns = `${ipv4Of(ns1) ?? '?'}:${optionValue(ns1?.command, '--dns-port') ?? '?'}`;
    const r53 = compose.services['fake-route53'];
    const r53Dns = `${ipv4Of(r53) ?? '?'}:${optionValue(r53?.command, '--dns-port') ?? '?'}`;
    // Every name server of both fakes is mapped to the fake that serves it: Route53's fixed delegation set, NS1's four.
    const delegation = (optionValue(r53?.command, '--delegation-set') ?? '').split(',');
    expect(delegation).toHaveLength(4);
    expect(config.resolve).toEqual({
      ...Object.fromEntries(delegation.map((host) => [host, r53Dns])),
      ...Object.fromEntries(['dns1', 'dns2', 'dns3', 'dns4'].map((n) => [`${n}.p01.nsone.net`, ns1Dns])),
    });
    for (const [name, provider] of Object.entries(config.providers)) {
      const url = new URL(provider.endpoint ?? '');
      const fake = compose.services[url.hostname];
      expect(fake, `${name}: ${url.hostname} is a compose service`).toBeDefined();
      expect(optionValue(fake?.command, '--port'), `${name}: port`).toBe(url.port);
    }
    const backends = new Set(Object.values(compose.services).map(ipv4Of));
    const poolValues = [...JSON.stringify(config.zones).matchAll(/"values":\[([^\]]*)\]/g)].flatMap((m) => z.array(z.string()).parse(JSON.parse(`[${m[1] ?? ''}]`)));
    expect(poolValues.length).toBeGreaterThan(0);
    for (const value of poolValues) expect(backends, `${value} is a compose service's address`).toContain(value);
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

const Probe = z.looseObject({ httpGet: z.looseObject({ path: z.string(), port: z.union([z.string(), z.number()]) }) });
const Container = z.looseObject({
  name: z.string(),
  image: z.string(),
  args: z.array(z.string()),
  env: z.array(z.looseObject({ name: z.string(), valueFrom: z.looseObject({ secretKeyRef: z.looseObject({ name: z.string(), key: z.string(), optional: z.boolean().optional() }) }).optional() })),
  ports: z.array(z.looseObject({ name: z.string(), containerPort: z.number() })),
  securityContext: z.looseObject({
    runAsNonRoot: z.boolean().optional(),
    readOnlyRootFilesystem: z.boolean(),
    allowPrivilegeEscalation: z.boolean(),
    capabilities: z.looseObject({ drop: z.array(z.string()) }),
  }),
  livenessProbe: Probe,
  readinessProbe: Probe,
  resources: z.looseObject({
    requests: z.looseObject({ cpu: z.string(), memory: z.string() }),
    limits: z.looseObject({ memory: z.string() }),
  }),
  volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string(), readOnly: z.boolean().optional(), subPath: z.string().optional() })),
});
const Deployment = z.looseObject({
  kind: z.literal('Deployment'),
  metadata: z.looseObject({ name: z.string(), labels: z.record(z.string(), z.string()) }),
  spec: z.looseObject({
    replicas: z.number(),
    strategy: z.looseObject({ type: z.string() }),
    template: z.looseObject({
      metadata: z.looseObject({ labels: z.record(z.string(), z.string()) }),
      spec: z.looseObject({
        terminationGracePeriodSeconds: z.number(),
        securityContext: z.looseObject({ runAsNonRoot: z.boolean(), runAsUser: z.number(), seccompProfile: z.looseObject({ type: z.string() }) }),
        containers: z.array(Container),
        volumes: z.array(
          z.looseObject({
            name: z.string(),
            configMap: z.looseObject({ name: z.string() }).optional(),
            persistentVolumeClaim: z.looseObject({ claimName: z.string() }).optional(),
            emptyDir: z.looseObject({}).optional(),
          }),
        ),
      }),
    }),
  }),
});
type Deployment = z.infer<typeof Deployment>;
const ConfigMap = z.looseObject({ kind: z.literal('ConfigMap'), metadata: z.looseObject({ name: z.string() }), data: z.record(z.string(), z.string()) });
const Secret = z.looseObject({ kind: z.literal('Secret'), metadata: z.looseObject({ name: z.string() }), stringData: z.record(z.string(), z.string()) });
const Service = z.looseObject({
  kind: z.literal('Service'),
  metadata: z.looseObject({ name: z.string(), namespace: z.string() }),
  spec: z.looseObject({
    selector: z.record(z.string(), z.string()),
    publishNotReadyAddresses: z.boolean().optional(),
    ports: z.array(z.looseObject({ port: z.number(), targetPort: z.union([z.string(), z.number()]) })),
  }),
});
const Kind = z.looseObject({ apiVersion: z.string(), kind: z.string(), metadata: z.looseObject({ name: z.string() }).optional() });

interface Manifests {
  readonly files: readonly string[];
  readonly kustomizeResources: readonly string[];
  readonly deployments: readonly Deployment[];
  readonly configMaps: readonly z.infer<typeof ConfigMap>[];
  readonly secrets: readonly z.infer<typeof Secret>[];
  readonly services: readonly z.infer<typeof Service>[];
  readonly pvcs: readonly string[];
}

async function loadManifests(): Promise<Manifests> {
  const dir = join(REPO, 'docker/k8s');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const docs: unknown[] = [];
  let kustomizeResources: string[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value: unknown = doc.toJS();
      if (value === null) continue;
      const { kind } = Kind.parse(value);
      if (kind === 'Kustomization') kustomizeResources = z.object({ resources: z.array(z.string()) }).loose().parse(value).resources;
      else docs.push(value);
    }
  }
  const ofKind = (kind: string): unknown[] => docs.filter((d) => Kind.parse(d).kind === kind);
  return {
    files,
    kustomizeResources,
    deployments: ofKind('Deployment').map((d) => Deployment.parse(d)),
    configMaps: ofKind('ConfigMap').map((d) => ConfigMap.parse(d)),
    secrets: ofKind('Secret').map((d) => Secret.parse(d)),
    services: ofKind('Service').map((d) => Service.parse(d)),
    pvcs: ofKind('PersistentVolumeClaim').map((d) => Kind.parse(d).metadata?.name ?? ''),
  };
}

function regionOf(deployment: Deployment): string {
  return deployment.spec.template.metadata.labels['dnsquorum/region'] ?? '';
}

function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The config a Deployment runs: its ConfigMap's key named by `--config`, mounted without subPath. */
function configOf(manifests: Manifests, deployment: Deployment): string {
  const container = deployment.spec.template.spec.containers[0];
  const path = optionValue(container?.args, '--config') ?? '';
  const mount = container?.volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`));
  if (mount === undefined) throw new Error(`${deployment.metadata.name}: no volume holds ${path}`);
  const volume = deployment.spec.template.spec.volumes.find((v) => v.name === mount.name);
  const map = manifests.configMaps.find((c) => c.metadata.name === volume?.configMap?.name);
  const text = map?.data[path.slice(mount.mountPath.length + 1)];
  if (text === undefined) throw new Error(`${deployment.metadata.name}: ${path} is not a key of a ConfigMap`);
  return text;
}

/** The environment a Deployment's container gets from its Secrets. */
function secretEnv(manifests: Manifests, deployment: Deployment): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of deployment.spec.template.spec.containers[0]?.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref === undefined) continue;
    const value = manifests.secrets.find((s) => s.metadata.name === ref.name)?.stringData[ref.key];
    if (value === undefined && ref.optional !== true) throw new Error(`${deployment.metadata.name}: ${variable.name} refers to ${ref.name}/${ref.key}, which the example Secret lacks`);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

describe('docker/k8s', () => {
  let manifests: Manifests;
  let dockerUid: number;
  beforeAll(async () => {
    manifests = await loadManifests();
    const runtime = parseDockerfile(await repoFile('Dockerfile')).stages.at(-1);
    dockerUid = Number(/^(\d+)/.exec(runtime?.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args ?? '')?.[1]);
  });

  it('kustomization.yaml lists every manifest', () => {
    expect([...manifests.kustomizeResources].sort()).toEqual(manifests.files.filter((f) => f !== 'kustomization.yaml'));
  });

  it('has one Deployment per region, one replica each, replaced with Recreate', () => {
    expect(manifests.deployments.map(regionOf).sort()).toEqual([...REGIONS].sort());
    for (const d of manifests.deployments) {
      expect(d.spec.replicas, d.metadata.name).toBe(1);
      expect(d.spec.strategy.type, d.metadata.name).toBe('Recreate');
      expect(d.spec.template.spec.containers, d.metadata.name).toHaveLength(1);
    }
  });

  it('runs non-root with a read-only root filesystem, no privilege escalation and no capabilities', () => {
    for (const d of manifests.deployments) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, d.metadata.name).toBe(true);
      expect(pod.securityContext.runAsUser, d.metadata.name).toBe(dockerUid);
      expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      for (const c of pod.containers) {
        expect(c.securityContext.readOnlyRootFilesystem, d.metadata.name).toBe(true);
        expect(c.securityContext.allowPrivilegeEscalation, d.metadata.name).toBe(false);
        expect(c.securityContext.capabilities.drop, d.metadata.name).toContain('ALL');
      }
    }
  });

  it('probes /healthz for liveness and /readyz for readiness on the API port, and outlasts the shutdown grace', () => {
    for (const d of manifests.deployments) {
      const pod = d.spec.template.spec;
      const container = pod.containers[0];
      const portOf = (port: string | number): number | undefined => (typeof port === 'number' ? port : container?.ports.find((p) => p.name === port)?.containerPort);
      expect(container?.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container?.readinessProbe.httpGet.path).toBe('/readyz');
      expect(portOf(container?.livenessProbe.httpGet.port ?? '')).toBe(API_PORT);
      expect(portOf(container?.readinessProbe.httpGet.port ?? '')).toBe(API_PORT);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(SHUTDOWN_GRACE_MS / 1000);
      expect(container?.resources.limits.memory).toMatch(/^\d+(Mi|Gi)$/);
    }
  });

  it('keeps state on a claim (or emptyDir) at the state directory and mounts the config without subPath', () => {
    for (const d of manifests.deployments) {
      const pod = d.spec.template.spec;
      const mounts = pod.containers[0]?.volumeMounts ?? [];
      const state = pod.volumes.find((v) => v.name === mounts.find((m) => m.mountPath === STATE_DIR)?.name);
      expect(state, `${d.metadata.name}: a volume on ${STATE_DIR}`).toBeDefined();
      const claim = state?.persistentVolumeClaim?.claimName;
      if (claim !== undefined) expect(manifests.pvcs).toContain(claim);
      else expect(state?.emptyDir).toBeDefined();
      for (const m of mounts) expect(m.subPath, `${d.metadata.name}: ${m.mountPath}`).toBeUndefined();
      const config = mounts.find((m) => m.mountPath === '/etc/dnsquorum');
      expect(config?.readOnly).toBe(true);
    }
    const claims = manifests.deployments.map((d) => d.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim !== undefined)?.persistentVolumeClaim?.claimName);
    expect(new Set(claims).size).toBe(manifests.deployments.length);
  });

  it('gives each region a Service that peers reach before it is ready', () => {
    for (const d of manifests.deployments) {
      const labels = d.spec.template.metadata.labels;
      const own = manifests.services.filter((s) => s.spec.publishNotReadyAddresses === true && selects(s.spec.selector, labels));
      const service = only(own, `peer Service of ${d.metadata.name}`);
      expect(manifests.deployments.filter((other) => selects(service.spec.selector, other.spec.template.metadata.labels))).toEqual([d]);
      expect(service.spec.ports.map((p) => p.port)).toContain(API_PORT);
    }
  });

  it('points every region at the other regions through their peer Services, with identical zones', () => {
    const configs = manifests.deployments.map((d) => ({ d, config: ReplicaConfig.parse(parse(configOf(manifests, d))) }));
    for (const { d, config } of configs) {
      expect(config.region).toBe(regionOf(d));
      expect(config.stateDir).toBe(STATE_DIR);
      const expected = manifests.deployments
        .filter((other) => other !== d)
        .map((other) => {
          const service = manifests.services.find((s) => s.spec.publishNotReadyAddresses === true && selects(s.spec.selector, other.spec.template.metadata.labels));
          return { region: regionOf(other), url: `http://${service?.metadata.name ?? '?'}.${service?.metadata.namespace ?? '?'}.svc.cluster.local:${API_PORT}` };
        });
      expect([...config.cluster.peers].sort((a, b) => a.region.localeCompare(b.region))).toEqual(expected.sort((a, b) => a.region.localeCompare(b.region)));
    }
    const [first, ...others] = configs;
    for (const other of others) expect(sharedPart(other.config)).toEqual(sharedPart(first?.config as ReplicaConfig));
  });
});

// ---------------------------------------------------------------------------------------------
// Every config the examples carry passes `dnsquorum validate`.

describe('dnsquorum validate on every container config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-container-configs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(REGIONS)('docker/config/%s.yaml with docker/.env.example', async (region) => {
    const result = await runCli(['validate', '--config', join(REPO, `docker/config/${region}.yaml`)], { env: { ...NO_SECRETS, ...(await envExample()), DNSQUORUM_REGION: '' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each(REGIONS)('the ConfigMap of %s with the example Secret', async (region) => {
    const manifests = await loadManifests();
    const deployment = only(manifests.deployments.filter((d) => regionOf(d) === region), `Deployment of ${region}`);
    const file = join(dir, `${region}.yaml`);
    await writeFile(file, configOf(manifests, deployment));
    const result = await runCli(['validate', '--config', file], { env: { ...NO_SECRETS, ...secretEnv(manifests, deployment), DNSQUORUM_REGION: '' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
