// The Temporal server's config written by `npm run cluster` from the module's development-postgres12.yaml
// (scripts/cluster/temporal-server.ts): every port, the database and the cluster address rewritten,
// and a template that lost a line it rewrites is refused rather than started with a default port.
import { freeServerPorts, pgTarget, renderServerConfig, type ServerPorts } from '../../../scripts/cluster/temporal-server';

// The shape of config/development-postgres12.yaml in go.temporal.io/server v1.32.2 (trimmed).
const TEMPLATE = `log:
  stdout: true
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: "postgres12"
        databaseName: "temporal"
        connectAddr: "127.0.0.1:5432"
        user: "temporal"
        password: "temporal"
    postgres-visibility:
      sql:
        pluginName: "postgres12"
        databaseName: "temporal_visibility"
        connectAddr: "127.0.0.1:5432"
        user: "temporal"
        password: "temporal"
global:
  pprof:
    port: 7936
  metrics:
    prometheus:
      listenAddress: "127.0.0.1:8000"
services:
  frontend:
    rpc:
      grpcPort: 7233
      membershipPort: 6933
      bindOnLocalHost: true
      httpPort: 7243
  matching:
    rpc:
      grpcPort: 7235
      membershipPort: 6935
  history:
    rpc:
      grpcPort: 7234
      membershipPort: 6934
  worker:
    rpc:
      grpcPort: 7239
      membershipPort: 6939
clusterMetadata:
  clusterInformation:
    active:
      rpcName: "frontend"
      rpcAddress: "localhost:7233"
dynamicConfigClient:
  filepath: "config/dynamicconfig/development-sql.yaml"
  pollInterval: "10s"
`;

const PORTS: ServerPorts = { frontend: 21001, frontendHttp: 21002, frontendMembership: 21003, history: 21004, historyMembership: 21005, matching: 21006, matchingMembership: 21007, worker: 21008, workerMembership: 21009, metrics: 21010, pprof: 21011 };
const PG = pgTarget('postgresql://postgres:s3cret@127.0.0.1:45555/postgres?sslmode=disable');

describe('the cluster server config', () => {
  it('rewrites the database, every port, the shards, the rpc address and the dynamic config path', () => {
    const out = renderServerConfig(TEMPLATE, PG, PORTS, '/tmp/x/dynamicconfig/development-sql.yaml', 8);
    expect(out.match(/connectAddr: "127\.0\.0\.1:45555"/g)).toHaveLength(2);
    expect(out.match(/user: "postgres"/g)).toHaveLength(2);
    expect(out.match(/password: "s3cret"/g)).toHaveLength(2);
    expect(out).toContain('numHistoryShards: 8');
    expect(out).toContain('rpcAddress: "127.0.0.1:21001"');
    expect(out).toContain('filepath: "/tmp/x/dynamicconfig/development-sql.yaml"');
    expect(out).toContain('listenAddress: "127.0.0.1:21010"');
    expect(out).toContain('    port: 21011');
    // each service's own ports, in its own block
    expect(out).toMatch(/frontend:\n {4}rpc:\n {6}grpcPort: 21001\n {6}membershipPort: 21003\n {6}bindOnLocalHost: true\n {6}httpPort: 21002/);
    expect(out).toMatch(/matching:\n {4}rpc:\n {6}grpcPort: 21006\n {6}membershipPort: 21007/);
    expect(out).toMatch(/history:\n {4}rpc:\n {6}grpcPort: 21004\n {6}membershipPort: 21005/);
    expect(out).toMatch(/worker:\n {4}rpc:\n {6}grpcPort: 21008\n {6}membershipPort: 21009/);
    // none of the template's defaults is left
    for (const old of ['5432', '7233', '7234', '7235', '7239', '7243', '6933', '6934', '6935', '6939', '7936', '8000', '"temporal"\n']) expect(out).not.toContain(old === '"temporal"\n' ? `user: ${old}` : old);
  });

  it('refuses a template that lost a line it rewrites, naming it', () => {
    const broken = TEMPLATE.replace(/ {6}membershipPort: 6935\n/, '');
    expect(() => renderServerConfig(broken, PG, PORTS, '/d.yaml')).toThrow(/matching\.membershipPort/);
    expect(() => renderServerConfig(TEMPLATE.replace(/ {2}pprof:\n {4}port: 7936\n/, ''), PG, PORTS, '/d.yaml')).toThrow(/pprof/);
  });

  it('picks distinct free ports below 32768 (membership ports are a smallint in the server schema)', async () => {
    const ports = await freeServerPorts();
    const all = Object.values(ports);
    expect(new Set(all).size).toBe(all.length);
    for (const p of all) expect(p).toBeLessThan(32768);
  });
});
